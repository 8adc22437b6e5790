//! Accounts, sessions and institutions. Passwords are stored as Argon2id hashes and tokens as
//! SHA-256 digests; neither a password nor a token is ever logged or stored in the clear.

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use dingdian_core::ids::Uscc;
use dingdian_core::lifecycle::{Actor, Role};
use dingdian_core::policy::InstitutionKind;
use jiff::Timestamp;
use rand::RngCore;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::{Result, Store, StoreError, with_pool};

/// A user account.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub role: String,
    pub city: String,
    pub district: Option<String>,
    pub institution_id: Option<i64>,
    /// For evaluators: their id in the city's evaluator pool.
    pub evaluator_id: Option<String>,
    /// For provincial administrators: the province (GB/T 2260, e.g. 230000); their `city` is
    /// empty.
    pub province: Option<String>,
    /// Non-zero when an administrator reset the password: the user must choose a new one before
    /// doing anything else.
    #[serde(skip)]
    pub must_change_password: i64,
    /// Unread inbox messages, counted in the same query that loads the session (the header's
    /// badge); 0 where a user is loaded otherwise.
    #[serde(skip)]
    #[sqlx(default)]
    pub unread: i64,
}

impl User {
    /// The account's role. A role the code does not know (a corrupt row) acts as an institution
    /// account without an institution: it sees and may do nothing (G-VISIBILITY), rather than
    /// everything a supervisor sees.
    /// Must the user choose a new password before doing anything else?
    pub fn must_change_password(&self) -> bool {
        self.must_change_password != 0
    }

    pub fn role(&self) -> Role {
        Role::parse(&self.role).unwrap_or(Role::Institution)
    }

    /// The actor this account acts as.
    pub fn actor(&self) -> Actor {
        Actor {
            user_id: self.id,
            role: self.role(),
            city: self.city.clone(),
            district: self.district.clone(),
            institution_id: if Role::parse(&self.role).is_some() { self.institution_id } else { None },
            evaluator_id: self.evaluator_id.clone(),
            province: self.province.clone(),
        }
    }
}

/// A new account.
pub struct NewUser<'a> {
    pub username: &'a str,
    pub display_name: &'a str,
    pub password: &'a str,
    pub role: Role,
    pub city: &'a str,
    pub district: Option<&'a str>,
    pub institution_id: Option<i64>,
}

/// A new institution in the registry, keyed by its 统一社会信用代码.
pub struct NewInstitution<'a> {
    pub uscc: &'a Uscc,
    pub name: &'a str,
    pub kind: InstitutionKind,
    /// Category of HRB-ELIG-TYPE, or 零售药店.
    pub category: &'a str,
    pub city: &'a str,
    pub district: &'a str,
    pub national_code: Option<&'a str>,
    pub address: &'a str,
    pub beds: i64,
}

/// An institution as stored.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Institution {
    pub id: i64,
    pub uscc: String,
    pub name: String,
    pub kind: String,
    pub category: String,
    pub city: String,
    pub district: String,
    pub national_code: Option<String>,
    pub address: String,
    pub beds: i64,
}

const USER_COLUMNS: &str = "id, username, display_name, role, city, district, institution_id, evaluator_id, province, must_change_password";

fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// At most this many Argon2 computations at once (each holds a 19 MiB block): one per core.
/// A login storm queues here instead of multiplying memory; the waiters cost nothing (no
/// thread, no database connection: callers read the stored hash before they queue).
fn hashing_permits() -> &'static tokio::sync::Semaphore {
    static PERMITS: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    PERMITS.get_or_init(|| tokio::sync::Semaphore::new(hashing_limit()))
}

/// How many Argon2 computations may run at once: the number of cores.
pub fn hashing_limit() -> usize {
    std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get)
}

/// Argon2 computations running now, and the most seen at once (tests check the bound).
static HASHING_NOW: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
static HASHING_PEAK: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Runs one Argon2 computation on a blocking thread (never on the async workers), holding a
/// permit. The permit moves into the blocking task, so a caller that gives up (a client that
/// disconnects mid-login) does not free its slot while its hash still runs.
async fn hashing<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    use std::sync::atomic::Ordering;
    let permit = hashing_permits().acquire().await.map_err(|e| StoreError::Internal(e.to_string()))?;
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        let now = HASHING_NOW.fetch_add(1, Ordering::SeqCst) + 1;
        HASHING_PEAK.fetch_max(now, Ordering::SeqCst);
        let out = work();
        HASHING_NOW.fetch_sub(1, Ordering::SeqCst);
        out
    })
    .await
    .map_err(|e| StoreError::Internal(e.to_string()))
}

/// Hashes a password with Argon2id on a blocking thread.
pub async fn hash_password(password: &str) -> Result<String> {
    let password = password.to_owned();
    hashing(move || {
        let mut salt = [0u8; 16];
        rand::rng().fill_bytes(&mut salt);
        Argon2::default()
            .hash_password_with_salt(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| StoreError::Internal(e.to_string()))
    })
    .await?
}

async fn verify_password(hash: String, password: &str) -> bool {
    let password = password.to_owned();
    hashing(move || PasswordHash::new(hash.as_str()).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok()))
        .await
        .unwrap_or(false)
}

impl Store {
    /// Creates an account, or returns the existing one with that username unchanged.
    pub async fn ensure_user(&self, u: NewUser<'_>, now: Timestamp) -> Result<i64> {
        if let Some(existing) = self.user_by_username(u.username).await? {
            return Ok(existing.id);
        }
        if u.password.chars().count() < 8 {
            return Err(StoreError::Rejected { code: "weak_password", message: "密码至少 8 位。".into() });
        }
        let hash = hash_password(u.password).await?;
        let now = now.to_string();
        let id: (i64,) = with_pool!(self, p => {
            sqlx::query_as(
                "insert into users (username, display_name, password_hash, role, city, district, institution_id, created_at, updated_at, username_key)
                 values ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9) returning id",
            )
            .bind(u.username)
            .bind(u.display_name)
            .bind(hash)
            .bind(u.role.as_str())
            .bind(u.city)
            .bind(u.district)
            .bind(u.institution_id)
            .bind(now)
            .bind(dingdian_core::accounts::username_key(u.username))
            .fetch_one(p)
            .await?
        });
        Ok(id.0)
    }

    /// Links an evaluator account to its entry in the pool.
    pub async fn link_evaluator(&self, user_id: i64, evaluator_id: &str) -> Result<()> {
        with_pool!(self, p => {
            sqlx::query("update users set evaluator_id = $1 where id = $2 and role = 'evaluator'").bind(evaluator_id).bind(user_id).execute(p).await?;
        });
        Ok(())
    }

    /// The account with this username, ignoring case (`HRB-AGENCY` is `hrb-agency`).
    pub async fn user_by_username(&self, username: &str) -> Result<Option<User>> {
        let sql = format!("select {USER_COLUMNS} from users where username_key = $1");
        let key = dingdian_core::accounts::username_key(username);
        Ok(with_pool!(self, p => sqlx::query_as::<_, User>(sqlx::AssertSqlSafe(sql.as_str())).bind(&key).fetch_optional(p).await?))
    }

    pub async fn user(&self, id: i64) -> Result<Option<User>> {
        let sql = format!("select {USER_COLUMNS} from users where id = $1");
        Ok(with_pool!(self, p => sqlx::query_as::<_, User>(sqlx::AssertSqlSafe(sql.as_str())).bind(id).fetch_optional(p).await?))
    }

    pub async fn users(&self) -> Result<Vec<User>> {
        let sql = format!("select {USER_COLUMNS} from users order by city, id");
        Ok(with_pool!(self, p => sqlx::query_as::<_, User>(sqlx::AssertSqlSafe(sql.as_str())).fetch_all(p).await?))
    }

    /// Checks a username and password. Unknown users cost the same hashing time as known ones.
    pub async fn authenticate(&self, username: &str, password: &str) -> Result<Option<User>> {
        // A valid Argon2id hash of a random string, so unknown users take as long as known ones.
        const DUMMY: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$9Qw4Fbb1dGzFTWcIlqvUmfESCCnCwkUC7y3X7dS0V2E";
        // A disabled account cannot sign in; it takes as long as any other failure.
        let key = dingdian_core::accounts::username_key(username);
        let row: Option<(i64, String)> = with_pool!(self, p => {
            sqlx::query_as("select id, password_hash from users where username_key = $1 and disabled_at is null").bind(&key).fetch_optional(p).await?
        });
        let (id, hash) = row.unwrap_or((0, DUMMY.to_owned()));
        if verify_password(hash, password).await && id != 0 { self.user(id).await } else { Ok(None) }
    }

    /// Starts a session and returns its secret token (shown once, stored only as a digest).
    pub async fn create_session(&self, user_id: i64, kind: &str, ttl_secs: i64, now: Timestamp) -> Result<String> {
        let mut raw = [0u8; 32];
        rand::rng().fill_bytes(&mut raw);
        let token = hex::encode(raw);
        with_pool!(self, p => {
            sqlx::query("insert into sessions (token_hash, user_id, kind, expires_at, created_at) values ($1, $2, $3, $4, $5)")
                .bind(hash_token(&token))
                .bind(user_id)
                .bind(kind)
                .bind(now.as_second() + ttl_secs)
                .bind(now.to_string())
                .execute(p)
                .await?;
        });
        Ok(token)
    }

    /// The user behind a live session token.
    pub async fn session_user(&self, token: &str, now: Timestamp) -> Result<Option<User>> {
        let sql = format!(
            "select {}, (select count(*) from inbox i where i.user_id = u.id and i.read_at is null) as unread
             from users u join sessions s on s.user_id = u.id where s.token_hash = $1 and s.expires_at > $2 and u.disabled_at is null",
            USER_COLUMNS.split(", ").map(|c| format!("u.{c}")).collect::<Vec<_>>().join(", ")
        );
        Ok(with_pool!(self, p => {
            sqlx::query_as::<_, User>(sqlx::AssertSqlSafe(sql.as_str())).bind(hash_token(token)).bind(now.as_second()).fetch_optional(p).await?
        }))
    }

    pub async fn end_session(&self, token: &str) -> Result<()> {
        with_pool!(self, p => { sqlx::query("delete from sessions where token_hash = $1").bind(hash_token(token)).execute(p).await?; });
        Ok(())
    }

    /// Adds an institution, or returns the existing one with that 统一社会信用代码 unchanged.
    pub async fn ensure_institution(&self, i: NewInstitution<'_>, now: Timestamp) -> Result<i64> {
        let existing: Option<(i64,)> = with_pool!(self, p => {
            sqlx::query_as("select id from institutions where uscc = $1").bind(i.uscc.as_str()).fetch_optional(p).await?
        });
        if let Some((id,)) = existing {
            return Ok(id);
        }
        self.create_institution(i, now).await
    }

    /// Enters a new institution in the registry. A USCC already registered, in any city, is a
    /// conflict (`already_registered`, 409) and returns nothing of the existing record.
    pub async fn create_institution(&self, i: NewInstitution<'_>, now: Timestamp) -> Result<i64> {
        let kind = match i.kind {
            InstitutionKind::Medical => "medical",
            InstitutionKind::Pharmacy => "pharmacy",
        };
        let now = now.to_string();
        let id: std::result::Result<(i64,), sqlx::Error> = with_pool!(self, p => {
            sqlx::query_as(
                "insert into institutions (uscc, name, kind, category, city, district, national_code, address, beds, created_at, updated_at)
                 values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) returning id",
            )
            .bind(i.uscc.as_str())
            .bind(i.name)
            .bind(kind)
            .bind(i.category)
            .bind(i.city)
            .bind(i.district)
            .bind(i.national_code)
            .bind(i.address)
            .bind(i.beds)
            .bind(now)
            .fetch_one(p)
            .await
        });
        match id {
            Ok((id,)) => Ok(id),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Err(StoreError::Rejected {
                code: "already_registered",
                message: format!("统一社会信用代码 {} 已在登记库中。", i.uscc.as_str()),
            }),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn institution(&self, id: i64) -> Result<Option<Institution>> {
        Ok(with_pool!(self, p => {
            sqlx::query_as::<_, Institution>(
                "select id, uscc, name, kind, category, city, district, national_code, address, beds from institutions where id = $1",
            )
            .bind(id)
            .fetch_optional(p)
            .await?
        }))
    }

    pub async fn institutions(&self, city: Option<&str>) -> Result<Vec<Institution>> {
        Ok(with_pool!(self, p => {
            sqlx::query_as::<_, Institution>(
                "select id, uscc, name, kind, category, city, district, national_code, address, beds from institutions
                 where $1 is null or city = $1 order by id",
            )
            .bind(city)
            .fetch_all(p)
            .await?
        }))
    }
}

pub use Institution as InstitutionRecord;

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;

    use super::*;

    // Issue #18 item 3: a login storm runs at most one Argon2 computation per core, also when
    // callers give up while theirs runs (each holds a 19 MiB block).
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn password_hashing_is_bounded_by_the_cores_even_when_callers_give_up() {
        let limit = hashing_limit();
        let stored = hash_password("correct horse").await.expect("hash");
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..limit * 6 {
            let stored = stored.clone();
            tasks.spawn(async move { verify_password(stored, if i % 2 == 0 { "correct horse" } else { "wrong" }).await });
        }
        // Give up on half of them: aborted callers must not free slots of hashes still running.
        let abandoned: Vec<_> = (0..limit * 3).map(|_| tokio::spawn(hash_password("abandoned password"))).collect();
        tokio::task::yield_now().await;
        for a in &abandoned {
            a.abort();
        }
        let mut right = 0;
        while let Some(ok) = tasks.join_next().await {
            right += usize::from(ok.expect("task"));
        }
        assert_eq!(right, limit * 3, "every correct password verified, every wrong one refused");
        // Hashes of abandoned callers may still be running: wait for every permit to come back.
        let all = hashing_permits().acquire_many(u32::try_from(limit).expect("few cores")).await.expect("permits");
        assert_eq!(HASHING_NOW.load(Ordering::SeqCst), 0, "no hash runs without a permit");
        drop(all);
        let peak = HASHING_PEAK.load(Ordering::SeqCst);
        assert!((1..=limit).contains(&peak), "at most {limit} Argon2 computations at once, saw {peak}");
    }
}
