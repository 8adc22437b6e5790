//! dingdian-store: persistence. One `Store` over SQLite (embedded, the default) or PostgreSQL
//! (when given a `postgres://` URL); callers never know which. Events are appended and the
//! current-state projection updated in one transaction, guarded by the application's version
//! (optimistic concurrency). Also accounts, sessions, institutions, rounds and bans.
//!
//! Not responsible for deciding anything: every decision is `dingdian_core`'s.

mod accounts;
mod applications;
mod audit_store;
mod blob_gc;
mod calendar_store;
pub mod clock;
mod complaints;
mod documents;
mod evaluation;
mod file_check;
pub mod files;
mod letters;
mod login;
mod materials;
pub mod monitoring;
mod outbox;
mod planning;
mod public;
mod registry;
mod reports;
pub mod testing;
mod users;

use std::collections::BTreeMap;
use std::path::Path;
use std::str::FromStr;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use dingdian_core::calendar::Calendar;
use dingdian_core::lifecycle::Refusal;
use dingdian_core::policy::Profile;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};

pub use accounts::{InstitutionRecord, NewInstitution, NewUser, User};
pub use applications::{AppRecord, Available, EventRecord, Executed, RoundRecord, TickReport};
pub use audit_store::{AuditReport, BadEntry, ChainHead, DailyHead};
pub use blob_gc::GcReport;
pub use calendar_store::{CalendarLoad, CalendarPreview, CalendarYearInfo, DeadlineChange};
pub use complaints::{
    Attachment, COMPLAINT_MAX_BYTES, COMPLAINT_MAX_FILES, COMPLAINTS_PER_HOUR, ComplaintError, ComplaintRecord, ComplaintStatus,
};
pub use documents::DocKind;
pub use evaluation::{Assignment, RoundDraw};
pub use file_check::{FileCheck, FileReference};
pub use letters::letter_document;
pub use login::{DEVICE_SECS, LoginError, MAX_PER_ACCOUNT, MAX_PER_ADDRESS, SignedIn, WINDOW_SECS, account_delay};
pub use materials::{Upload, check_file_name};
pub use outbox::{InboxMessage, MAX_ATTEMPTS, OutboxMessage};
pub use public::{NoticeEntry, Progress, ProgressStep};
pub use registry::{ImportError, NewRecord, PERSON_ROLES, PersonView, REGISTRATIONS_PER_HOUR, RecordView};
pub use reports::{QueueCounts, QueueFilter, QueueRow, ResultStats, StateFilter, Stats, StepStat};
pub use users::{AccountRow, By, NewStaff};

/// Runs `$body` with `$p` bound to the concrete pool. The body is compiled once per backend, so
/// it may use anything both drivers support (SQL with `$n` placeholders, i64, String, Option).
macro_rules! with_pool {
    ($store:expr, $p:ident => $body:expr) => {
        match &$store.pool {
            $crate::Pool::Sqlite($p) => $body,
            $crate::Pool::Postgres($p) => $body,
        }
    };
}
pub(crate) use with_pool;

pub(crate) enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Errors of the storage layer. Domain refusals travel inside `Refused`.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("not found")]
    NotFound,
    #[error("conflict: the application changed meanwhile (now version {actual})")]
    Conflict { actual: i64 },
    #[error("{0}")]
    Refused(#[from] Refusal),
    #[error("{code}: {message}")]
    Rejected { code: &'static str, message: String },
    #[error("profile {id} version {version} changed without a new version number")]
    ProfileChanged { id: String, version: String },
    #[error("internal: {0}")]
    Internal(String),
    #[error("file: {0}")]
    File(#[from] files::IngestError),
    /// The database's schema is older than this binary; only `dingdian migrate` (or `serve`)
    /// upgrades it.
    #[error(
        "the database schema is older than this dingdian (migrations {missing:?} not applied): back it up, then run `dingdian migrate`"
    )]
    SchemaOutdated { missing: Vec<i64> },
    /// The database was upgraded by a newer dingdian than this one.
    #[error("the database schema is newer than this dingdian (migrations {versions:?} unknown): use the newer dingdian")]
    SchemaNewer { versions: Vec<i64> },
    /// Input that cannot be accepted, with a stable code and a Chinese message.
    #[error("{code}: {message}")]
    Unacceptable { code: &'static str, message: String },
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// The loaded profiles, every version ever registered, and the current one per city.
#[derive(Default)]
struct Profiles {
    versions: BTreeMap<(String, String), Arc<Profile>>,
    current: BTreeMap<String, Arc<Profile>>,
}

impl Profiles {
    /// Gives every other version of `newer`'s city the names and titles its stored text
    /// predates (`Profile::inherit_missing`); their rules stay their own.
    fn inherit_from(&mut self, newer: &Profile) {
        for ((id, version), p) in self.versions.iter_mut() {
            if *id == newer.id && *version != newer.version {
                let mut filled = (**p).clone();
                filled.inherit_missing(newer);
                if filled != **p {
                    *p = Arc::new(filled);
                }
            }
        }
    }
}

/// The database plus the rules in force.
pub struct Store {
    pool: Pool,
    /// File storage, for documents the store generates itself (the agreement) and for the
    /// attachments of complaints it accepts.
    files: std::sync::OnceLock<files::FileStore>,
    // The two locks are held only to clone or replace a value, which cannot panic, so they are
    // never poisoned and the `expect`s on them cannot fire.
    profiles: RwLock<Profiles>,
    calendar: RwLock<Arc<Calendar>>,
    counters: monitoring::Counters,
    /// The (year, digest) of every stored calendar year this instance has loaded.
    calendar_stamp: std::sync::Mutex<Vec<(i64, String)>>,
}

/// Whether opening a database may change its schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schema {
    /// Apply every migration this binary has (`dingdian migrate`, `serve`).
    Upgrade,
    /// Accept the schema only if it is exactly this binary's (an empty database is created).
    Require,
}

/// The size of the database connection pool and how long a request waits for a connection.
/// Unset values take the backend's default. Built only through `PoolSettings::new`, so a value
/// is always in range.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolSettings {
    max_connections: Option<u32>,
    acquire_timeout: Option<Duration>,
}

impl PoolSettings {
    /// The allowed pool sizes.
    pub const MAX_CONNECTIONS: std::ops::RangeInclusive<u32> = 1..=1000;
    /// The allowed acquire timeouts, in seconds.
    pub const ACQUIRE_TIMEOUT_SECS: std::ops::RangeInclusive<u64> = 1..=3600;
    pub const POSTGRES_MAX_CONNECTIONS: u32 = 16;
    pub const POSTGRES_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);
    // SQLite serialises writers anyway; a few readers beside them are enough.
    pub const SQLITE_MAX_CONNECTIONS: u32 = 8;
    // sqlx's default: writers queue behind SQLite's busy timeout (15 s) as well.
    pub const SQLITE_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(30);

    /// Checks the ranges: 1 to 1000 connections, 1 to 3600 seconds.
    pub fn new(max_connections: Option<u32>, acquire_timeout_secs: Option<u64>) -> Result<PoolSettings> {
        if let Some(n) = max_connections.filter(|n| !Self::MAX_CONNECTIONS.contains(n)) {
            return Err(StoreError::Rejected {
                code: "pool_settings",
                message: format!("the database pool size must be 1 to 1000 connections, not {n}"),
            });
        }
        if let Some(s) = acquire_timeout_secs.filter(|s| !Self::ACQUIRE_TIMEOUT_SECS.contains(s)) {
            return Err(StoreError::Rejected {
                code: "pool_settings",
                message: format!("the database acquire timeout must be 1 to 3600 seconds, not {s}"),
            });
        }
        Ok(PoolSettings { max_connections, acquire_timeout: acquire_timeout_secs.map(Duration::from_secs) })
    }
}

/// Refuses a schema this binary must not touch (`Schema::Require` and some migration missing),
/// and one that is newer than this binary in any case. `applied` is `None` for an empty database.
fn check_schema(migrator: &sqlx::migrate::Migrator, applied: Option<Vec<(i64,)>>, schema: Schema) -> Result<()> {
    let Some(applied) = applied else { return Ok(()) };
    let known: Vec<i64> = migrator.iter().map(|m| m.version).collect();
    let newer: Vec<i64> = applied.iter().map(|(v,)| *v).filter(|v| !known.contains(v)).collect();
    if !newer.is_empty() {
        return Err(StoreError::SchemaNewer { versions: newer });
    }
    let missing: Vec<i64> = known.into_iter().filter(|v| !applied.iter().any(|(a,)| a == v)).collect();
    if schema == Schema::Require && !missing.is_empty() {
        return Err(StoreError::SchemaOutdated { missing });
    }
    Ok(())
}

impl Store {
    /// Gives the store file storage for the documents it generates (the agreement) and the
    /// complaint attachments it accepts. Set once.
    pub fn use_files(&self, files: files::FileStore) {
        let _ = self.files.set(files);
    }

    /// Opens `database`: a `postgres://` URL, or else the path of a SQLite file (created with its
    /// directory on first use). Runs migrations.
    pub async fn open(database: &str) -> Result<Store> {
        Store::open_with(database, Schema::Upgrade).await
    }

    /// Opens `database`, upgrading its schema or only accepting it as it is (`Schema::Require`:
    /// an older schema is refused with `StoreError::SchemaOutdated`, so a newer binary's
    /// `audit verify` never upgrades production; an empty database is still created).
    pub async fn open_with(database: &str, schema: Schema) -> Result<Store> {
        Store::open_with_pool(database, schema, PoolSettings::default()).await
    }

    /// As `open_with`, with the connection pool sized by `settings`.
    pub async fn open_with_pool(database: &str, schema: Schema, settings: PoolSettings) -> Result<Store> {
        let pool = if database.starts_with("postgres://") || database.starts_with("postgresql://") {
            let pool = PgPoolOptions::new()
                .max_connections(settings.max_connections.unwrap_or(PoolSettings::POSTGRES_MAX_CONNECTIONS))
                .acquire_timeout(settings.acquire_timeout.unwrap_or(PoolSettings::POSTGRES_ACQUIRE_TIMEOUT))
                .connect(database)
                .await?;
            let migrator = sqlx::migrate!("./migrations/postgres");
            let applied = match sqlx::query_as::<_, (bool,)>("select to_regclass('_sqlx_migrations') is not null").fetch_one(&pool).await?.0
            {
                true => Some(sqlx::query_as::<_, (i64,)>("select version from _sqlx_migrations where success").fetch_all(&pool).await?),
                false => None,
            };
            check_schema(&migrator, applied, schema)?;
            migrator.run(&pool).await?;
            Pool::Postgres(pool)
        } else {
            let path = Path::new(database);
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(|e| StoreError::Internal(format!("cannot create {}: {e}", dir.display())))?;
            }
            let opts = SqliteConnectOptions::from_str(&format!("sqlite://{database}"))?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                // Full: an acknowledged commit survives power loss, not only a process crash.
                .synchronous(SqliteSynchronous::Full)
                .busy_timeout(Duration::from_secs(15))
                .foreign_keys(true);
            let pool = SqlitePoolOptions::new()
                .max_connections(settings.max_connections.unwrap_or(PoolSettings::SQLITE_MAX_CONNECTIONS))
                .acquire_timeout(settings.acquire_timeout.unwrap_or(PoolSettings::SQLITE_ACQUIRE_TIMEOUT))
                .connect_with(opts)
                .await?;
            let migrator = sqlx::migrate!("./migrations/sqlite");
            let exists: (i64,) = sqlx::query_as("select count(*) from sqlite_master where type = 'table' and name = '_sqlx_migrations'")
                .fetch_one(&pool)
                .await?;
            let applied = match exists.0 {
                0 => None,
                _ => Some(sqlx::query_as::<_, (i64,)>("select version from _sqlx_migrations where success").fetch_all(&pool).await?),
            };
            check_schema(&migrator, applied, schema)?;
            migrator.run(&pool).await?;
            Pool::Sqlite(pool)
        };
        let store = Store {
            pool,
            files: std::sync::OnceLock::new(),
            profiles: RwLock::default(),
            calendar: RwLock::new(Arc::new(Calendar::shipped())),
            counters: monitoring::Counters::default(),
            calendar_stamp: std::sync::Mutex::default(),
        };
        store.load_stored_profiles().await?;
        store.load_stored_calendar().await?;
        Ok(store)
    }

    pub fn backend(&self) -> &'static str {
        match self.pool {
            Pool::Sqlite(_) => "sqlite",
            Pool::Postgres(_) => "postgres",
        }
    }

    pub async fn close(&self) {
        with_pool!(self, p => p.close().await)
    }

    /// The working-day calendar in force.
    pub fn calendar(&self) -> Arc<Calendar> {
        self.calendar.read().expect("calendar lock").clone()
    }

    /// Registers a profile as the current one for its city. A version seen before must have the
    /// same text; a changed text needs a new version number, so submitted applications keep
    /// their rules.
    pub async fn register_profile(&self, profile: Profile, now: jiff::Timestamp) -> Result<()> {
        let existing: Option<(String,)> = with_pool!(self, p => {
            sqlx::query_as("select sha256 from profiles where profile_id = $1 and version = $2")
                .bind(&profile.id)
                .bind(&profile.version)
                .fetch_optional(p)
                .await?
        });
        match existing {
            Some((sha,)) if sha != profile.sha256 => {
                return Err(StoreError::ProfileChanged { id: profile.id.clone(), version: profile.version.clone() });
            }
            Some(_) => {}
            None => with_pool!(self, p => {
                sqlx::query("insert into profiles (profile_id, version, sha256, source, created_at) values ($1, $2, $3, $4, $5) on conflict do nothing")
                    .bind(&profile.id)
                    .bind(&profile.version)
                    .bind(&profile.sha256)
                    .bind(&profile.source)
                    .bind(now.to_string())
                    .execute(p)
                    .await?;
            }),
        }
        let profile = Arc::new(profile);
        let mut ps = self.profiles.write().expect("profiles lock");
        ps.versions.insert((profile.id.clone(), profile.version.clone()), profile.clone());
        ps.inherit_from(&profile);
        ps.current.insert(profile.id.clone(), profile);
        Ok(())
    }

    async fn load_stored_profiles(&self) -> Result<()> {
        let rows: Vec<(String, String)> = with_pool!(self, p => {
            sqlx::query_as("select profile_id, source from profiles order by created_at").fetch_all(p).await?
        });
        let mut ps = self.profiles.write().expect("profiles lock");
        let mut loaded = Vec::new();
        for (id, source) in rows {
            // Texts stored by an earlier release may predate fields that are now required.
            let profile = Profile::parse_stored(&format!("<stored profile {id}>"), &source)
                .map_err(|e| StoreError::Corrupt(format!("stored profile {id} no longer parses: {e:?}")))?;
            let profile = Arc::new(profile);
            ps.versions.insert((profile.id.clone(), profile.version.clone()), profile.clone());
            loaded.push(profile);
        }
        // Newest first: a gap is filled from the most recent version that has the field.
        for p in loaded.iter().rev() {
            ps.inherit_from(p);
        }
        Ok(())
    }

    /// The current profile of a city.
    pub fn current_profile(&self, id: &str) -> Option<Arc<Profile>> {
        self.profiles.read().expect("profiles lock").current.get(id).cloned()
    }

    /// A specific version, as an application was submitted under it.
    pub fn profile_version(&self, id: &str, version: &str) -> Option<Arc<Profile>> {
        self.profiles.read().expect("profiles lock").versions.get(&(id.to_owned(), version.to_owned())).cloned()
    }

    /// A district's name from the current profile of `city` (`None` when it does not list it).
    pub fn district_name(&self, city: &str, code: &str) -> Option<String> {
        self.current_profile(city).and_then(|p| p.district_name(code).map(str::to_owned))
    }

    /// A district's name from whichever current profile lists the code (GB/T 2260 codes are
    /// unique across cities), for pages that show codes without their city.
    pub fn any_district_name(&self, code: &str) -> Option<String> {
        self.profiles.read().expect("profiles lock").current.values().find_map(|p| p.district_name(code).map(str::to_owned))
    }

    pub fn current_profiles(&self) -> Vec<Arc<Profile>> {
        self.profiles.read().expect("profiles lock").current.values().cloned().collect()
    }

    /// Reads a metadata value.
    pub async fn meta(&self, key: &str) -> Result<Option<String>> {
        let row: Option<(String,)> = with_pool!(self, p => {
            sqlx::query_as("select value from meta where key = $1").bind(key).fetch_optional(p).await?
        });
        Ok(row.map(|r| r.0))
    }

    pub async fn set_meta(&self, key: &str, value: &str) -> Result<()> {
        with_pool!(self, p => {
            sqlx::query("insert into meta (key, value) values ($1, $2) on conflict (key) do update set value = excluded.value")
                .bind(key)
                .bind(value)
                .execute(p)
                .await?;
        });
        Ok(())
    }

    /// The newest migration applied to this database (its schema version).
    pub async fn schema_version(&self) -> Result<i64> {
        let v: Option<i64> = with_pool!(self, p => {
            sqlx::query_scalar("select max(version) from _sqlx_migrations where success").fetch_one(p).await?
        });
        Ok(v.unwrap_or(0))
    }

    /// Writes a consistent copy of the SQLite database to `path` while the service runs
    /// (`VACUUM INTO`). PostgreSQL is backed up with `pg_dump` instead (see the README).
    pub async fn backup_to(&self, path: &Path) -> Result<()> {
        match &self.pool {
            Pool::Sqlite(p) => {
                if path.exists() {
                    return Err(StoreError::Rejected { code: "exists", message: format!("{} already exists", path.display()) });
                }
                sqlx::query("vacuum into $1").bind(path.to_string_lossy().into_owned()).execute(p).await?;
                Ok(())
            }
            Pool::Postgres(_) => Err(StoreError::Rejected {
                code: "use_pg_dump",
                message: "PostgreSQL: use pg_dump --format=custom and pg_restore (see the README)".into(),
            }),
        }
    }

    /// A fingerprint of everything stored, for tests asserting that bad input changed nothing.
    pub async fn fingerprint(&self) -> Result<String> {
        let mut parts = Vec::new();
        for table in ["applications", "events", "users", "institutions", "rounds", "bans", "profiles"] {
            let (n, v): (i64, Option<i64>) = with_pool!(self, p => {
                let sql = if table == "applications" {
                    "select count(*), cast(sum(version) as bigint) from applications".to_owned()
                } else {
                    format!("select count(*), cast(null as bigint) from {table}")
                };
                sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).fetch_one(p).await?
            });
            parts.push(format!("{table}={n}/{}", v.unwrap_or(0)));
        }
        let states: Vec<(i64, String, i64, String)> = with_pool!(self, p => {
            sqlx::query_as("select id, state, version, data from applications order by id").fetch_all(p).await?
        });
        for (id, state, version, data) in states {
            parts.push(format!("{id}:{state}:{version}:{}", data.len()));
        }
        Ok(parts.join(";"))
    }
}
