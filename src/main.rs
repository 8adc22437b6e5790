//! The `dingdian` command line: serve, demo data, policy checks, and the operator's tools.

mod config;
mod demo;
mod ops;

use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};
use dingdian_core::policy::Profile;
use dingdian_store::clock::{Clock, SystemClock};
use dingdian_store::files::{self, FileStore};
use dingdian_store::{Schema, Store};
use dingdian_web::{App, AppState};

/// jemalloc with background threads (issue #18 item 3): memory freed after a burst (a login
/// storm's Argon2 blocks, a demo seeding's PDFs) goes back to the system within seconds even
/// when the server is idle; glibc's per-thread arenas kept it.
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[derive(Parser)]
#[command(name = "dingdian", version, about = "医保定点协议管理 — admission of institutions to medical-insurance designated management")]
struct Cli {
    /// A TOML file with settings (keys named as the flags, `db_max_connections = 32`). A flag
    /// beats its environment variable, which beats the file, which beats the built-in default.
    /// Read before the other arguments, so `--help` shows the file's values as defaults.
    // Only declared here for `--help` and validation; `config::path` reads it first.
    #[arg(long, global = true, env = config::ENV, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Log lines as JSON objects or text; auto: text with colours on a terminal, JSON otherwise.
    #[arg(long, global = true, env = "DINGDIAN_LOG_FORMAT", value_enum, default_value_t = config::LogFormat::Auto)]
    log_format: config::LogFormat,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run the web service (pages and JSON API).
    Serve {
        #[command(flatten)]
        db: DbArgs,
        /// Address to listen on.
        #[arg(long, env = "DINGDIAN_ADDR", default_value = "127.0.0.1:8080")]
        addr: SocketAddr,
        /// Seed demo data first (only what is missing) and list the demo accounts on the home page.
        #[arg(long, env = "DINGDIAN_DEMO")]
        demo: bool,
        #[command(flatten)]
        smtp: SmtpArgs,
        /// Do not fire time limits (tests that pin the data to a date).
        #[arg(long, hide = true)]
        no_timers: bool,
        /// Upgrade the database schema before serving. Always on for the embedded database; with
        /// PostgreSQL run `dingdian migrate` (after a backup) or pass this flag.
        #[arg(long, env = "DINGDIAN_MIGRATE")]
        migrate: bool,
        #[command(flatten)]
        net: NetArgs,
    },
    /// Send the e-mails that are due from the outbox once, then exit. `serve` does this by itself
    /// when SMTP is configured.
    Notify {
        #[command(flatten)]
        db: DbArgs,
        #[command(flatten)]
        smtp: SmtpArgs,
    },
    /// Seed demo data into a data directory or database. Running it twice adds nothing.
    Demo {
        #[command(flatten)]
        db: DbArgs,
        /// Seed as if it were this instant (RFC 3339); for reproducible tests.
        #[arg(long, hide = true)]
        now: Option<jiff::Timestamp>,
    },
    /// Create or upgrade the database schema, then exit.
    Migrate {
        #[command(flatten)]
        db: DbArgs,
    },
    /// Fire every time-driven consequence that is due now (deemed withdrawal, end of notice,
    /// deemed give-up, the grouping of a round's evaluators on the day before the visit), then
    /// exit. `serve` does this every minute by itself.
    Tick {
        #[command(flatten)]
        db: DbArgs,
        /// Act as if it were this instant (RFC 3339); for replay and tests.
        #[arg(long, hide = true)]
        now: Option<jiff::Timestamp>,
    },
    /// The working-day calendar (LAW-WD): due dates, day kinds, loading a new year.
    Calendar {
        #[command(subcommand)]
        command: CalendarCmd,
    },
    /// Identifiers: `dingdian ids check CODE` prints `valid <kind>` (uscc, institution-code,
    /// staff-code, resident-id) and exits 0, or prints the reason and exits 1.
    Ids {
        #[command(subcommand)]
        command: IdsCmd,
    },
    /// The institution registry.
    Institutions {
        #[command(subcommand)]
        command: InstitutionsCmd,
    },
    /// Evaluator draws (G-DRAW): list rounds, export a round's record, verify a record.
    Draw {
        #[command(subcommand)]
        command: DrawCmd,
    },
    /// The tamper-evident audit chain (G-AUDIT).
    Audit {
        #[command(subcommand)]
        command: AuditCmd,
    },
    /// Write one archive (tar) with a copy of the embedded database, taken while the service
    /// may be running, and every stored file a record refers to (with S3: a list of them; back
    /// the bucket up as the README says), plus a manifest. For PostgreSQL use pg_dump for the
    /// database and `--files-only` for the files. Exits 1 naming any referenced file that is
    /// missing or corrupt (the archive is still written).
    Backup {
        /// Where to write the archive (must not exist).
        output: PathBuf,
        /// Archive only the stored files (with PostgreSQL, whose database pg_dump backs up).
        #[arg(long)]
        files_only: bool,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Replace the embedded database and files with a backup archive. Refused while any
    /// dingdian process uses the data directory. The archive is checked (manifest, every file's
    /// SHA-256, audit chain) before anything is replaced; what it replaces is moved to
    /// `<data-dir>/replaced-<time>/`; then `dingdian check` runs.
    Restore {
        input: PathBuf,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Verify the audit chain and that every file a record refers to is stored with its SHA-256:
    /// exit 0 with a summary line, or 1 listing each missing or corrupt file.
    Check {
        #[command(flatten)]
        db: DbArgs,
    },
    /// Policy profiles.
    Policy {
        #[command(subcommand)]
        command: PolicyCmd,
    },
    /// Stored files (uploads and generated documents).
    Files {
        #[command(subcommand)]
        command: FilesCmd,
    },
    /// Staff accounts: create the first administrator of a fresh installation, recover one, or
    /// manage accounts from the server's shell. Every change is an entry of the audit chain.
    User {
        #[command(subcommand)]
        command: UserCmd,
    },
}

#[derive(Subcommand)]
enum UserCmd {
    /// Create a staff account; the password is read from standard input (one line). Prints the
    /// account. Refuses a weak password, an unknown city, a district outside the city and a
    /// username that exists already (ignoring case). A provincial administrator
    /// (`--role provincial_admin --province 230000`) belongs to a province instead of a city and
    /// can only be created here (docs/province.md).
    Add {
        username: String,
        /// admin, agency, branch_reviewer, evaluator, expert, supervisor or provincial_admin.
        #[arg(long)]
        role: String,
        /// The city's profile id, e.g. harbin (every role but provincial_admin).
        #[arg(long, required_unless_present = "province")]
        city: Option<String>,
        /// The province's GB/T 2260 code, e.g. 230000 (provincial_admin only).
        #[arg(long)]
        province: Option<String>,
        /// The district code (GB/T 2260); branch reviewers only.
        #[arg(long)]
        district: Option<String>,
        /// The name shown in the interface (default: the username).
        #[arg(long)]
        display_name: Option<String>,
        /// Read the password from standard input (required: passwords never go on the command line).
        #[arg(long, required = true)]
        password_stdin: bool,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Set an account's password (read from standard input); ends its sessions.
    Passwd {
        username: String,
        #[arg(long, required = true)]
        password_stdin: bool,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Disable an account: it can no longer sign in, and its sessions end at once.
    Disable {
        username: String,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Enable a disabled account again.
    Enable {
        username: String,
        #[command(flatten)]
        db: DbArgs,
    },
    /// List accounts, one per line: username, role, city, district, state.
    List {
        #[arg(long)]
        city: Option<String>,
        #[command(flatten)]
        db: DbArgs,
    },
}

#[derive(Subcommand)]
enum PolicyCmd {
    /// Validate profile files: exit 0 when all are valid, 1 with every problem (file:line: what).
    Check {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

#[derive(Subcommand)]
enum DrawCmd {
    /// Print one drawn round id per line (first column), then its city, name and visit date.
    List {
        #[command(flatten)]
        db: DbArgs,
    },
    /// Print a round's draw record as canonical JSON.
    Export {
        round: i64,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Recompute everything from a record file (both stages of a two-stage record): print `OK`
    /// (exit 0) or what differs, each line naming its stage (exit 1).
    Verify { file: PathBuf },
}

#[derive(Subcommand)]
enum AuditCmd {
    /// Recompute the whole chain: exit 0 printing `OK <n> entries`, or exit 1 naming the first
    /// entry that does not match.
    Verify {
        #[command(flatten)]
        db: DbArgs,
    },
}

#[derive(Subcommand)]
enum IdsCmd {
    /// Check one code.
    Check { code: String },
}

#[derive(Subcommand)]
enum FilesCmd {
    /// Remove stored files that no record refers to (left by refused or interrupted uploads),
    /// once they are older than the grace period; prints what it removed. `serve` does this
    /// every hour by itself with the default grace period.
    Gc {
        #[command(flatten)]
        db: DbArgs,
        /// Keep unreferenced files younger than this many hours (an upload being recorded is
        /// young); at least 1.
        #[arg(long, default_value_t = DEFAULT_GRACE_HOURS, value_parser = clap::value_parser!(u64).range(1..))]
        grace: u64,
        /// Only list what would be removed.
        #[arg(long)]
        dry_run: bool,
    },
}

/// The grace period of the file garbage collection, in hours.
const DEFAULT_GRACE_HOURS: u64 = 24;
/// How often `serve` collects unreferenced files.
const GC_EVERY: Duration = Duration::from_secs(3600);

#[derive(Subcommand)]
enum InstitutionsCmd {
    /// Import institutions from a CSV file (UTF-8, BOM tolerated; columns uscc, name, kind,
    /// category, city, district, national_code, address, beds). All or nothing: every bad line
    /// is reported and nothing is written.
    Import {
        file: PathBuf,
        #[command(flatten)]
        db: DbArgs,
    },
}

#[derive(Subcommand)]
enum CalendarCmd {
    /// Print the last day of a period: `dingdian calendar due 2026-09-30 5 wd`. UNIT is wd
    /// (working days), d (calendar days), m (months) or y (years).
    Due {
        start: String,
        amount: String,
        unit: String,
        /// Explain the computation after the date.
        #[arg(long)]
        explain: bool,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Print `workday` or `rest` for a date.
    IsWorkday {
        date: String,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Load (or replace) a year from a calendar file and re-project every open deadline.
    Load {
        file: PathBuf,
        #[command(flatten)]
        db: DbArgs,
    },
    /// List the loaded years.
    List {
        #[command(flatten)]
        db: DbArgs,
    },
}

#[derive(Args)]
struct NetArgs {
    /// Reverse proxies (addresses or networks, comma-separated, e.g. `127.0.0.1,10.0.0.0/8`)
    /// whose X-Forwarded-For header names the client. Off by default: the connection's peer is
    /// the client. Set it when the service runs behind nginx or a load balancer, or every user
    /// shares the proxy's address for sign-in, complaint and registration limits.
    #[arg(long, env = "DINGDIAN_TRUSTED_PROXIES", default_value = "")]
    trusted_proxies: String,
    /// Seconds a client may take to send a request's headers (and a kept-alive connection may
    /// stay idle).
    #[arg(long, env = "DINGDIAN_HEADER_TIMEOUT", default_value_t = 30)]
    header_timeout: u64,
    /// Seconds a request body (an upload) may pause before the request is abandoned.
    #[arg(long, env = "DINGDIAN_BODY_IDLE_TIMEOUT", default_value_t = 60)]
    body_idle_timeout: u64,
    /// The bearer token `/metrics` asks for. Without it, only clients on this machine (loopback)
    /// may read `/metrics`.
    #[arg(long, env = "DINGDIAN_METRICS_TOKEN", hide_env_values = true)]
    metrics_token: Option<String>,
    /// Seconds requests in flight may take to finish after SIGTERM or Ctrl-C.
    #[arg(long, env = "DINGDIAN_DRAIN", default_value_t = 30)]
    drain: u64,
}

impl NetArgs {
    fn config(&self) -> Result<(dingdian_web::Net, dingdian_web::Timeouts)> {
        let trusted_proxies = dingdian_web::parse_proxies(&self.trusted_proxies).map_err(|e| anyhow::anyhow!("--trusted-proxies: {e}"))?;
        let secs = |name: &str, n: u64| {
            if n == 0 { Err(anyhow::anyhow!("--{name} must be at least 1 second")) } else { Ok(Duration::from_secs(n)) }
        };
        Ok((
            dingdian_web::Net { trusted_proxies, metrics_token: self.metrics_token.clone().filter(|t| !t.is_empty()) },
            dingdian_web::Timeouts {
                header_read: secs("header-timeout", self.header_timeout)?,
                body_idle: secs("body-idle-timeout", self.body_idle_timeout)?,
                drain: Duration::from_secs(self.drain),
            },
        ))
    }
}

#[derive(Args)]
struct SmtpArgs {
    /// SMTP server as HOST:PORT; without it e-mail stays in the outbox (the in-app inbox always works).
    #[arg(long, env = "DINGDIAN_SMTP")]
    smtp: Option<String>,
    /// The From address of notification e-mails.
    #[arg(long, env = "DINGDIAN_SMTP_FROM", default_value = "dingdian@localhost")]
    smtp_from: String,
}

impl SmtpArgs {
    fn config(&self) -> Result<Option<dingdian_web::notify::SmtpConfig>> {
        let Some(hp) = &self.smtp else { return Ok(None) };
        let (host, port) = hp.rsplit_once(':').ok_or_else(|| anyhow::anyhow!("--smtp must be HOST:PORT"))?;
        let port = port.parse().with_context(|| format!("bad SMTP port in {hp}"))?;
        Ok(Some(dingdian_web::notify::SmtpConfig { host: host.to_owned(), port, from: self.smtp_from.clone() }))
    }
}

#[derive(Args)]
struct DbArgs {
    /// Directory for the embedded database (created on first run).
    #[arg(long, default_value = "data", env = "DINGDIAN_DATA_DIR")]
    data_dir: PathBuf,
    /// A postgres:// URL; when set, PostgreSQL is used instead of the embedded SQLite file.
    #[arg(long, env = "DINGDIAN_DATABASE_URL", hide_env_values = true)]
    database: Option<String>,
    /// Most database connections this process holds (1 to 1000; default 16 for PostgreSQL, 8
    /// for the embedded database). With several instances on one PostgreSQL, keep their sum
    /// below its max_connections.
    #[arg(long, env = "DINGDIAN_DB_MAX_CONNECTIONS", value_parser = clap::value_parser!(u32).range(1..=1000))]
    db_max_connections: Option<u32>,
    /// Seconds a request waits for a free database connection before it fails (1 to 3600;
    /// default 3 for PostgreSQL, 30 for the embedded database).
    #[arg(long, env = "DINGDIAN_DB_ACQUIRE_TIMEOUT", value_parser = clap::value_parser!(u64).range(1..=3600))]
    db_acquire_timeout: Option<u64>,
    /// Load city profiles from this directory (*.toml) instead of the shipped ones.
    #[arg(long, env = "DINGDIAN_POLICY_DIR")]
    policy_dir: Option<PathBuf>,
    /// Directory for uploaded files (default: <data-dir>/files).
    #[arg(long, env = "DINGDIAN_FILES_DIR")]
    files_dir: Option<PathBuf>,
    /// Directory where uploads are received before they are stored (default: <files-dir>/spool
    /// with --files-dir, else <data-dir>/spool). It needs room for the largest uploads under way;
    /// on the file system of the files directory, storing an upload is a rename.
    #[arg(long, env = "DINGDIAN_SPOOL_DIR")]
    spool_dir: Option<PathBuf>,
    /// Store files in an S3-compatible bucket instead, e.g. s3://dingdian-files; endpoint and
    /// credentials come from AWS_ENDPOINT, AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY
    /// (and AWS_ALLOW_HTTP=true for a plain-HTTP endpoint).
    #[arg(long, env = "DINGDIAN_S3_URL", conflicts_with = "files_dir")]
    s3: Option<String>,
    /// Time limit of one S3 request in seconds (retries stop once it has passed).
    #[arg(long, env = "DINGDIAN_S3_TIMEOUT", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    s3_timeout: u64,
    /// Time limit for connecting to the S3 endpoint in seconds.
    #[arg(long, env = "DINGDIAN_S3_CONNECT_TIMEOUT", default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..))]
    s3_connect_timeout: u64,
}

impl DbArgs {
    /// The file store; spool files a crash left behind are removed.
    fn open_files(&self) -> Result<FileStore> {
        let timeouts =
            files::S3Timeouts { request: Duration::from_secs(self.s3_timeout), connect: Duration::from_secs(self.s3_connect_timeout) };
        let backend = match (&self.s3, &self.files_dir) {
            (Some(url), _) => files::Backend::S3 { url: url.clone(), options: Vec::new(), timeouts },
            (None, Some(dir)) => files::Backend::Local(dir.clone()),
            (None, None) => files::Backend::Local(self.data_dir.join("files")),
        };
        let spool = self.spool_root();
        let store = FileStore::open_with_spool(&backend, &spool)
            .with_context(|| format!("opening file storage {backend:?} (spool {})", spool.display()))?;
        let swept = store.sweep_spool(Duration::from_secs(3600))?;
        if swept > 0 {
            tracing::info!(swept, "removed unfinished uploads left by an earlier run");
        }
        Ok(store)
    }

    /// Where uploads are spooled: `--spool-dir`, else beside the stored files (`<files-dir>/spool`,
    /// or `<data-dir>/spool` next to `<data-dir>/files` and with S3).
    fn spool_root(&self) -> PathBuf {
        match (&self.spool_dir, &self.files_dir, &self.s3) {
            (Some(dir), _, _) => dir.clone(),
            (None, Some(files), None) => files.join("spool"),
            _ => self.data_dir.join("spool"),
        }
    }

    /// Opens the database, holding the data directory's shared lock for the rest of the
    /// process (so `restore` refuses while this process runs).
    /// The schema must be this binary's: only `migrate` and `serve` upgrade it.
    async fn open(&self, clock: &dyn Clock) -> Result<Store> {
        self.open_with(clock, Schema::Require).await
    }

    /// As `open`, choosing whether the schema may be upgraded.
    async fn open_with(&self, clock: &dyn Clock, schema: Schema) -> Result<Store> {
        ops::hold_shared(&self.data_dir)?;
        self.open_unlocked_with(clock, schema).await
    }

    /// Opens the database without the lock (`restore`, which holds it exclusively).
    async fn open_unlocked(&self, clock: &dyn Clock) -> Result<Store> {
        self.open_unlocked_with(clock, Schema::Require).await
    }

    async fn open_unlocked_with(&self, clock: &dyn Clock, schema: Schema) -> Result<Store> {
        let url = match &self.database {
            Some(url) => url.clone(),
            None => self.data_dir.join("dingdian.db").to_string_lossy().into_owned(),
        };
        let pool = dingdian_store::PoolSettings::new(self.db_max_connections, self.db_acquire_timeout)?;
        let store = Store::open_with_pool(&url, schema, pool).await.with_context(|| format!("opening the database {}", redact(&url)))?;
        for profile in self.profiles()? {
            let id = profile.id.clone();
            store.register_profile(profile, clock.now()).await.with_context(|| format!("registering profile {id}"))?;
        }
        Ok(store)
    }

    fn profiles(&self) -> Result<Vec<Profile>> {
        let Some(dir) = &self.policy_dir else { return Ok(Profile::shipped()) };
        let mut out = Vec::new();
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .with_context(|| format!("reading {}", dir.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        files.sort();
        let mut named = Vec::new();
        for f in files {
            named.push((f.display().to_string(), load_profile(&f).map_err(|errs| anyhow::anyhow!(errs.join("\n")))?));
        }
        // One city, one file named after it (docs/province.md).
        let problems = dingdian_core::province::check_cities(&named.iter().map(|(f, p)| (f.clone(), p)).collect::<Vec<_>>(), true);
        if !problems.is_empty() {
            anyhow::bail!("the policy directory {} is inconsistent:\n{}", dir.display(), problems.join("\n"));
        }
        out.extend(named.into_iter().map(|(_, p)| p));
        Ok(out)
    }
}

/// Hides a password in a database URL.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}://***@{}", &url[..s], &url[at + 1..]),
        _ => url.to_owned(),
    }
}

fn load_profile(path: &Path) -> Result<Profile, Vec<String>> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| vec![format!("{name}: cannot read: {e}")])?;
    Profile::parse(&name, &text).map_err(|errs| errs.iter().map(ToString::to_string).collect())
}

fn main() -> ExitCode {
    let cli = match parse_cli(std::env::args_os().collect()) {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    init_logs(cli.log_format);
    run_main(cli)
}

/// The command line over the configuration file's values. Errors are printed here; the exit
/// code is 2 for any bad setting (as clap's own), 0 for `--help` and `--version`.
fn parse_cli(args: Vec<OsString>) -> Result<Cli, ExitCode> {
    let path = config::path(&args);
    let file = match path.as_deref().map(config::FileConfig::load).transpose() {
        Ok(file) => file.unwrap_or_default(),
        Err(e) => {
            eprintln!("error: {e}");
            return Err(ExitCode::from(2));
        }
    };
    let parsed = config::apply(Cli::command(), &file.defaults()).try_get_matches_from(args).and_then(|m| Cli::from_arg_matches(&m));
    parsed.map_err(|e| {
        let _ = e.print();
        if e.use_stderr() {
            if let Some(p) = &path {
                eprintln!("(settings not given as flags or environment variables come from {})", p.display());
            }
            ExitCode::from(2)
        } else {
            ExitCode::SUCCESS
        }
    })
}

#[tokio::main]
async fn run_main(cli: Cli) -> ExitCode {
    match run(cli).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<ExitCode> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    match cli.command {
        Cmd::Policy { command: PolicyCmd::Check { files } } => {
            let mut ok = true;
            let mut loaded = Vec::new();
            for f in &files {
                match load_profile(f) {
                    Ok(p) => {
                        println!(
                            "{}: ok (profile {} version {}, {} steps, {} clocks)",
                            f.display(),
                            p.id,
                            p.version,
                            p.steps.len(),
                            p.clocks.len()
                        );
                        loaded.push((f.display().to_string(), p));
                    }
                    Err(errs) => {
                        ok = false;
                        for e in errs {
                            println!("{e}");
                        }
                    }
                }
            }
            // The files checked together are one deployment's cities: each city once.
            for problem in dingdian_core::province::check_cities(&loaded.iter().map(|(f, p)| (f.clone(), p)).collect::<Vec<_>>(), false) {
                ok = false;
                println!("{problem}");
            }
            Ok(if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
        }
        Cmd::Migrate { db } => {
            db.open_with(&*clock, Schema::Upgrade).await?;
            println!("database is up to date");
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Demo { db, now } => {
            let store = db.open(&*clock).await?;
            let files = db.open_files()?;
            store.use_files(files.clone());
            let n = demo::seed(&store, &files, now.unwrap_or_else(|| clock.now())).await?;
            println!("demo data ready ({n} new applications); every demo account's password is {}", demo::PASSWORD);
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Tick { db, now } => {
            let store = db.open(&*clock).await?;
            let report = store.run_due(now.unwrap_or_else(|| clock.now())).await?;
            for (id, cmd) in &report.fired {
                println!("fired {cmd} on application {id}");
            }
            for (id, why) in &report.held {
                println!("held application {id}: {why}");
            }
            for id in &report.grouped {
                println!("grouped round {id}");
            }
            for (id, why) in &report.grouping_held {
                println!("grouping of round {id} held: {why}");
            }
            println!("fired {}, held {}", report.fired.len(), report.held.len());
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Calendar { command } => calendar(command, &*clock).await,
        Cmd::Backup { output, files_only, db } => ops::backup(&output, files_only, &db, &*clock).await,
        Cmd::Check { db } => ops::check(&db, &*clock).await,
        Cmd::Restore { input, db } => ops::restore(&input, &db, &*clock).await,
        Cmd::Draw { command } => draw_cmd(command, &*clock).await,
        Cmd::User { command } => user_cmd(command, &*clock).await,
        Cmd::Files { command: FilesCmd::Gc { db, grace, dry_run } } => {
            let store = db.open(&*clock).await?;
            let files = db.open_files()?;
            let report = store.collect_garbage(&files, Duration::from_secs(grace * 3600), clock.now(), dry_run).await?;
            let verb = if dry_run { "would remove" } else { "removed" };
            for (sha256, size) in &report.removed {
                println!("{verb} {sha256} ({size} bytes)");
            }
            println!(
                "{verb} {} files ({} bytes); kept {} referenced, {} younger than {grace} h",
                report.removed.len(),
                report.removed_bytes(),
                report.referenced,
                report.young
            );
            store.close().await;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Audit { command: AuditCmd::Verify { db } } => {
            let store = db.open(&*clock).await?;
            let report = store.verify_audit().await?;
            match &report.first_bad {
                None => {
                    println!("OK {} entries in {} chains", report.entries, report.chains.len());
                    for c in &report.chains {
                        println!("chain {}: {} entries, head {}", dingdian_core::audit::chain_label(&c.chain), c.entries, c.head);
                    }
                    Ok(ExitCode::SUCCESS)
                }
                Some(bad) => {
                    println!(
                        "MISMATCH at entry {} of chain {} (application {}, event {}): {}",
                        bad.audit_seq,
                        dingdian_core::audit::chain_label(&bad.chain),
                        bad.application_id,
                        bad.app_seq,
                        bad.reason
                    );
                    Ok(ExitCode::FAILURE)
                }
            }
        }
        Cmd::Ids { command: IdsCmd::Check { code } } => match dingdian_core::ids::check(&code) {
            Ok((kind, warnings)) => {
                println!("valid {kind}");
                for w in warnings {
                    eprintln!("warning: {w}");
                }
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => {
                println!("invalid: {} ({})", e.message_zh(), e.code());
                Ok(ExitCode::FAILURE)
            }
        },
        Cmd::Institutions { command: InstitutionsCmd::Import { file, db } } => {
            let text = std::fs::read_to_string(&file).with_context(|| format!("reading {} (it must be UTF-8)", file.display()))?;
            let store = db.open(&*clock).await?;
            match store.import_institutions(&text, clock.now()).await {
                Ok(n) => {
                    println!("imported {n} institutions");
                    Ok(ExitCode::SUCCESS)
                }
                Err(dingdian_store::ImportError::Rows(errors)) => {
                    for e in &errors {
                        println!("{}:{}: {}", file.display(), e.line, e.reason);
                    }
                    println!("nothing imported: {} bad rows", errors.len());
                    Ok(ExitCode::FAILURE)
                }
                Err(dingdian_store::ImportError::Store(e)) => Err(e.into()),
            }
        }
        Cmd::Serve { db, addr, demo, smtp, no_timers, migrate, net } => {
            let schema = if migrate || db.database.is_none() { Schema::Upgrade } else { Schema::Require };
            serve(db, schema, addr, demo, smtp.config()?, net.config()?, !no_timers, clock).await
        }
        Cmd::Notify { db, smtp } => {
            let cfg = smtp.config()?.ok_or_else(|| anyhow::anyhow!("--smtp HOST:PORT is required"))?;
            let store = db.open(&*clock).await?;
            let d = dingdian_web::notify::deliver(&store, &cfg, &format!("notify-{}", std::process::id()), clock.now()).await?;
            println!("sent {}, retrying {}, failed {}", d.sent, d.retried, d.failed);
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// One line of standard input, without its line ending.
fn password_from_stdin() -> Result<String> {
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).context("reading the password from standard input")?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

/// Prints a refusal of an account change (Chinese message, stable code) and exits 1; other
/// errors propagate.
fn account_outcome<T>(r: dingdian_store::Result<T>, ok: impl FnOnce(T)) -> Result<ExitCode> {
    match r {
        Ok(v) => {
            ok(v);
            Ok(ExitCode::SUCCESS)
        }
        Err(dingdian_store::StoreError::Refused(r)) => {
            eprintln!("refused ({}): {}", r.code(), r.message_zh());
            Ok(ExitCode::FAILURE)
        }
        Err(dingdian_store::StoreError::NotFound) => {
            eprintln!("no such account");
            Ok(ExitCode::FAILURE)
        }
        Err(e) => Err(e.into()),
    }
}

/// One account: id, username, role, city (a provincial administrator's province), district.
fn print_user(u: &dingdian_store::User) {
    let place = u.province.as_deref().unwrap_or(&u.city);
    println!("{}\t{}\t{}\t{}\t{}", u.id, u.username, u.role, place, u.district.as_deref().unwrap_or("-"));
}

async fn user_cmd(command: UserCmd, clock: &dyn Clock) -> Result<ExitCode> {
    use dingdian_store::{By, NewStaff};
    match command {
        UserCmd::Add { username, role, city, province, district, display_name, password_stdin: _, db } => {
            let Some(role) = dingdian_core::lifecycle::Role::parse(&role) else {
                eprintln!(
                    "refused (invalid_input): unknown role {role:?}: admin, agency, branch_reviewer, evaluator, expert, supervisor or provincial_admin"
                );
                return Ok(ExitCode::FAILURE);
            };
            let password = password_from_stdin()?;
            let store = db.open(clock).await?;
            let new = NewStaff {
                username: &username,
                display_name: display_name.as_deref().unwrap_or(""),
                password: &password,
                role,
                city: city.as_deref().unwrap_or(""),
                district: district.as_deref(),
                province: province.as_deref(),
            };
            account_outcome(store.create_staff(By::OPERATOR, new, clock.now()).await, |u| print_user(&u))
        }
        UserCmd::Passwd { username, password_stdin: _, db } => {
            let password = password_from_stdin()?;
            let store = db.open(clock).await?;
            account_outcome(store.set_password(By::OPERATOR, &username, &password, clock.now()).await, |u| print_user(&u))
        }
        UserCmd::Disable { username, db } => set_disabled(&username, true, db, clock).await,
        UserCmd::Enable { username, db } => set_disabled(&username, false, db, clock).await,
        UserCmd::List { city, db } => {
            let store = db.open(clock).await?;
            for a in store.accounts(city.as_deref()).await? {
                let state = match (&a.disabled_at, a.must_change_password != 0) {
                    (Some(_), _) => "disabled",
                    (None, true) => "must_change_password",
                    (None, false) => "active",
                };
                let place = a.province.as_deref().unwrap_or(&a.city);
                println!("{}\t{}\t{}\t{}\t{}", a.username, a.role, place, a.district.as_deref().unwrap_or("-"), state);
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn set_disabled(username: &str, disabled: bool, db: DbArgs, clock: &dyn Clock) -> Result<ExitCode> {
    let store = db.open(clock).await?;
    let Some(user) = store.user_by_username(username).await? else {
        eprintln!("no such account: {username}");
        return Ok(ExitCode::FAILURE);
    };
    let r = store.set_disabled(dingdian_store::By::OPERATOR, user.id, disabled, clock.now()).await;
    account_outcome(r, |_| println!("{} {}", user.username, if disabled { "disabled" } else { "enabled" }))
}

async fn draw_cmd(command: DrawCmd, clock: &dyn Clock) -> Result<ExitCode> {
    use dingdian_core::draw;
    match command {
        DrawCmd::List { db } => {
            let store = db.open(clock).await?;
            for id in store.drawn_rounds().await? {
                let round = store.round(id).await?;
                let d = store.round_draw(id).await?;
                let visit = d.and_then(|d| d.visit_on).map(|v| v.to_string()).unwrap_or_default();
                let (city, name) = round.map(|r| (r.city, r.name)).unwrap_or_default();
                println!("{id}\t{city}\t{name}\t{visit}");
            }
            Ok(ExitCode::SUCCESS)
        }
        DrawCmd::Export { round, db } => {
            let store = db.open(clock).await?;
            let Some(record) = store.round_draw(round).await?.and_then(|d| d.record) else {
                eprintln!("round {round} has no completed draw");
                return Ok(ExitCode::FAILURE);
            };
            println!("{}", draw::canonical_json(&record));
            Ok(ExitCode::SUCCESS)
        }
        DrawCmd::Verify { file } => {
            let text = std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
            let record: draw::DrawRecord = match serde_json::from_str(&text) {
                Ok(r) => r,
                Err(e) => {
                    println!("not a draw record: {e}");
                    return Ok(ExitCode::FAILURE);
                }
            };
            match draw::verify(&record) {
                Ok(()) => {
                    println!("OK");
                    Ok(ExitCode::SUCCESS)
                }
                Err(diffs) => {
                    for d in diffs {
                        println!("{d}");
                    }
                    Ok(ExitCode::FAILURE)
                }
            }
        }
    }
}

/// The calendar for read-only questions: shipped years plus those in an existing database.
async fn calendar_for(db: &DbArgs, clock: &dyn Clock) -> Result<Arc<dingdian_core::calendar::Calendar>> {
    let has_db = db.database.is_some() || db.data_dir.join("dingdian.db").exists();
    if has_db { Ok(db.open(clock).await?.calendar()) } else { Ok(Arc::new(dingdian_core::calendar::Calendar::shipped())) }
}

/// At most 40 characters of an argument, for quoting it back in a message.
fn quoted(s: &str) -> String {
    let mut out: String = s.chars().take(40).collect();
    if out.len() < s.len() {
        out.push('…');
    }
    format!("“{}”", out.escape_debug())
}

fn parse_date(s: &str) -> Result<jiff::civil::Date> {
    use jiff::civil::Date;
    s.parse().map_err(|_| anyhow::anyhow!("{} 不是有效日期：请按 YYYY-MM-DD 填写（{} 至 {}）", quoted(s), Date::MIN, Date::MAX))
}

async fn calendar(command: CalendarCmd, clock: &dyn Clock) -> Result<ExitCode> {
    use dingdian_core::deadline::{self, Budget, Unit};
    match command {
        CalendarCmd::Due { start, amount, unit, explain, db } => {
            let start = parse_date(&start)?;
            let amount: u16 = amount
                .parse()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| anyhow::anyhow!("{} 不是有效的期限数量：应为 1 至 {} 的整数", quoted(&amount), u16::MAX))?;
            let unit = match unit.as_str() {
                "wd" => Unit::WorkingDays,
                "d" => Unit::CalendarDays,
                "m" => Unit::Months,
                "y" => Unit::Years,
                other => anyhow::bail!("{} 不是期限单位：应为 wd（工作日）、d（日）、m（月）或 y（年）", quoted(other)),
            };
            let cal = calendar_for(&db, clock).await?;
            let due = deadline::compute(start, Budget { amount, unit }, &[], &cal);
            let Some(d) = due.due else {
                // The last line says why: a calendar year not loaded, or past 9999-12-31.
                eprintln!("{}", due.explanation.last().map(String::as_str).unwrap_or("无法确定截止日期"));
                return Ok(ExitCode::FAILURE);
            };
            println!("{d}");
            if explain {
                for line in &due.explanation {
                    println!("{line}");
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        CalendarCmd::IsWorkday { date, db } => {
            let date = parse_date(&date)?;
            let cal = calendar_for(&db, clock).await?;
            match cal.is_working_day(date) {
                Ok(true) => println!("workday"),
                Ok(false) => println!("rest"),
                Err(missing) => {
                    eprintln!("{missing}");
                    return Ok(ExitCode::FAILURE);
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        CalendarCmd::Load { file, db } => {
            let text = std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
            let store = db.open(clock).await?;
            let load = store.load_calendar_year(&file.display().to_string(), &text, None, clock.now()).await?;
            println!("loaded {} ({}); re-projected {} open applications", load.year, load.source, load.reprojected.len());
            Ok(ExitCode::SUCCESS)
        }
        CalendarCmd::List { db } => {
            let store = db.open(clock).await?;
            for y in store.calendar_years() {
                println!("{}\t{}\t{} holidays\t{}", y.year, y.origin, y.holidays, y.source);
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn serve(
    db: DbArgs,
    schema: Schema,
    addr: SocketAddr,
    demo: bool,
    smtp: Option<dingdian_web::notify::SmtpConfig>,
    (net, timeouts): (dingdian_web::Net, dingdian_web::Timeouts),
    timers: bool,
    clock: Arc<dyn Clock>,
) -> Result<ExitCode> {
    let store = db.open_with(&*clock, schema).await?;
    let files = db.open_files()?;
    store.use_files(files.clone());
    tracing::info!(spool = %files.spool_dir().display(), "uploads are spooled here");
    let demo_accounts = if demo { demo::accounts() } else { Vec::new() };
    let state = AppState(Arc::new(App { store, clock: clock.clone(), demo_accounts, files, net, metrics: Default::default() }));
    let shutdown = shutdown_signal()?;
    let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| format!("listening on {addr}"))?;
    let local = listener.local_addr()?;
    println!("dingdian is running: open http://{local}/ in a browser ({} database)", state.store.backend());
    if demo {
        println!("demo accounts (password {} for all):", demo::PASSWORD);
        for a in &state.demo_accounts {
            println!("  {:<24} {}  {}", a.username, a.role, a.note);
        }
    }
    // The demo data is seeded while the server already answers (issue #18: `serve --demo` answers
    // within half a second); scripts wait for the "demo data ready" line.
    if demo {
        let seeder = state.clone();
        tokio::spawn(async move {
            match demo::seed(&seeder.store, &seeder.files, seeder.clock.now()).await {
                Ok(n) => {
                    tracing::info!(new_applications = n, "demo data ready");
                    println!("demo data ready ({n} new applications)");
                }
                Err(e) => {
                    tracing::error!(error = %format!("{e:#}"), "seeding the demo data failed");
                    println!("the demo data could not be seeded: {e:#}");
                }
            }
        });
    }
    let ticker = state.clone();
    tokio::spawn(async move {
        if !timers {
            return;
        }
        let mut every = tokio::time::interval(Duration::from_secs(60));
        loop {
            every.tick().await;
            if let Err(e) = ticker.store.sync_calendar().await {
                tracing::error!(error = %e, "reading calendar years failed");
            }
            match ticker.store.run_due(ticker.clock.now()).await {
                Ok(r) if !r.grouped.is_empty() => tracing::info!(rounds = ?r.grouped, fired = r.fired.len(), "groupings drawn"),
                Ok(r) if !r.fired.is_empty() => tracing::info!(fired = r.fired.len(), held = r.held.len(), "time limits fired"),
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "firing time limits failed"),
            }
        }
    });
    // Files nothing refers to (refused or interrupted uploads) go after the grace period.
    let collector = state.clone();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(GC_EVERY);
        loop {
            every.tick().await;
            let grace = Duration::from_secs(DEFAULT_GRACE_HOURS * 3600);
            match collector.store.collect_garbage(&collector.files, grace, collector.clock.now(), false).await {
                Ok(r) if !r.removed.is_empty() => {
                    tracing::info!(removed = r.removed.len(), bytes = r.removed_bytes(), "removed stored files nothing refers to")
                }
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "collecting unreferenced files failed"),
            }
        }
    });
    let app = dingdian_web::router(state.clone());
    if let Some(cfg) = smtp {
        let sender = state.clone();
        tokio::spawn(async move {
            let worker = format!("serve-{}", std::process::id());
            let mut every = tokio::time::interval(Duration::from_secs(15));
            loop {
                every.tick().await;
                if let Err(e) = dingdian_web::notify::deliver(&sender.store, &cfg, &worker, sender.clock.now()).await {
                    tracing::error!(error = %e, "e-mail delivery pass failed");
                }
            }
        });
    }
    dingdian_web::serve(listener, app, timeouts, shutdown).await?;
    match state.store.release_timer_leases().await {
        Ok(n) if n > 0 => tracing::info!(released = n, "timer leases given back"),
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "giving back timer leases failed; they run out by themselves"),
    }
    tracing::info!("stopped");
    Ok(ExitCode::SUCCESS)
}

/// Logs go to standard error: text with colours on a terminal, one JSON object per line
/// otherwise (files, journald, containers). `--log-format json|text` overrides the choice;
/// `RUST_LOG` the levels.
fn init_logs(format: config::LogFormat) {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info,sqlx=warn".into());
    let terminal = std::io::stderr().is_terminal();
    let json = match format {
        config::LogFormat::Json => true,
        config::LogFormat::Text => false,
        config::LogFormat::Auto => !terminal,
    };
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if json {
        builder.json().flatten_event(true).with_current_span(false).init();
    } else {
        builder.with_ansi(terminal).init();
    }
}

/// SIGTERM (what systemd and container runtimes send) or SIGINT (Ctrl-C). The handlers are
/// installed when this is called, not when the future is first polled: a SIGTERM sent as soon
/// as the "running" line is out must drain, not kill the process.
fn shutdown_signal() -> Result<impl Future<Output = ()>> {
    #[cfg(unix)]
    let (mut term, mut int) = {
        use tokio::signal::unix::{SignalKind, signal};
        (
            signal(SignalKind::terminate()).context("listening for SIGTERM")?,
            signal(SignalKind::interrupt()).context("listening for SIGINT")?,
        )
    };
    Ok(async move {
        #[cfg(unix)]
        tokio::select! {
            _ = int.recv() => tracing::info!("SIGINT received; shutting down"),
            _ = term.recv() => tracing::info!("SIGTERM received; shutting down"),
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
            tracing::info!("Ctrl-C received; shutting down");
        }
    })
}
