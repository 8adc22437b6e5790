//! Signing in, throttled (issue: hardening). Failures are counted per account and per client
//! address over a sliding window. Too many from one address blocks that address for a while;
//! too many on one account blocks further tries on it — except from addresses the account has
//! signed in from before, so an attacker cannot lock a user out, and every block ends by itself.

use jiff::Timestamp;

use crate::{Result, Store, User, with_pool};

/// The sliding window and the thresholds.
pub const WINDOW_SECS: i64 = 15 * 60;
pub const MAX_PER_ACCOUNT: i64 = 5;
pub const MAX_PER_ADDRESS: i64 = 30;
/// How long an address stays "known" for an account after a successful sign-in.
const KNOWN_SECS: i64 = 30 * 86400;

/// Why a sign-in did not succeed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginError {
    /// Wrong username or password (deliberately not saying which).
    Invalid,
    /// Too many failures; try again after this many seconds.
    Throttled { retry_after: i64 },
}

impl Store {
    /// Checks a username and password from a client address, with throttling.
    pub async fn login(&self, username: &str, password: &str, addr: &str, now: Timestamp) -> Result<Result<User, LoginError>> {
        let t = now.as_second();
        let since = t - WINDOW_SECS;
        let user_key = format!("user:{username}");
        let addr_key = format!("addr:{addr}");
        let count = |key: String| async move {
            let r: (i64, Option<i64>) = with_pool!(self, p => {
                sqlx::query_as("select count(*), min(at) from login_failures where key = $1 and at > $2").bind(key).bind(since).fetch_one(p).await?
            });
            Ok::<_, crate::StoreError>(r)
        };
        let (by_addr, first_addr) = count(addr_key.clone()).await?;
        if by_addr >= MAX_PER_ADDRESS {
            return Ok(Err(LoginError::Throttled { retry_after: first_addr.unwrap_or(t) + WINDOW_SECS - t }));
        }
        let (by_user, first_user) = count(user_key.clone()).await?;
        if by_user >= MAX_PER_ACCOUNT {
            let known: Option<(i64,)> = with_pool!(self, p => {
                sqlx::query_as("select last_success from login_known where username = $1 and addr = $2 and last_success > $3")
                    .bind(username)
                    .bind(addr)
                    .bind(t - KNOWN_SECS)
                    .fetch_optional(p)
                    .await?
            });
            if known.is_none() {
                return Ok(Err(LoginError::Throttled { retry_after: first_user.unwrap_or(t) + WINDOW_SECS - t }));
            }
        }
        match self.authenticate(username, password).await? {
            Some(user) => {
                with_pool!(self, p => {
                    sqlx::query(
                        "insert into login_known (username, addr, last_success) values ($1, $2, $3)
                         on conflict (username, addr) do update set last_success = excluded.last_success",
                    )
                    .bind(username)
                    .bind(addr)
                    .bind(t)
                    .execute(p)
                    .await?;
                });
                Ok(Ok(user))
            }
            None => {
                with_pool!(self, p => {
                    let mut tx = p.begin().await?;
                    for key in [&user_key, &addr_key] {
                        sqlx::query("insert into login_failures (key, at) values ($1, $2)").bind(key).bind(t).execute(&mut *tx).await?;
                    }
                    // Forget failures older than a day.
                    sqlx::query("delete from login_failures where at < $1").bind(t - 86400).execute(&mut *tx).await?;
                    tx.commit().await?;
                });
                Ok(Err(LoginError::Invalid))
            }
        }
    }
}
