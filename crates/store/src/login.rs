//! Signing in, throttled so that an attacker is slowed down and no user is locked out (OWASP
//! ASVS 2.2.1: anti-automation that is effective against brute force without allowing account
//! lock-out). A device a user has signed in from before carries a long-lived random cookie;
//! from such a known device a correct password always signs in, whatever happened on the
//! account or the address. From other devices, failures on one account make each further try
//! wait a little longer (2, 4, 8 … seconds, at most a minute), and an address with many failures
//! in a short time waits a window out. Every wait ends by itself.

use jiff::Timestamp;
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::{Result, Store, User, with_pool};

/// The sliding window and the thresholds.
pub const WINDOW_SECS: i64 = 15 * 60;
/// Failures on one account (from unknown devices) before each try has to wait.
pub const MAX_PER_ACCOUNT: i64 = 5;
/// Failures from one address (from unknown devices) before it waits the window out.
pub const MAX_PER_ADDRESS: i64 = 30;
/// The longest wait between tries on one account.
pub const MAX_ACCOUNT_DELAY_SECS: i64 = 60;
/// How long a device stays known after a successful sign-in.
pub const DEVICE_SECS: i64 = 180 * 86400;

/// Why a sign-in did not succeed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginError {
    /// Wrong username or password (deliberately not saying which).
    Invalid,
    /// Too many failures; try again after this many seconds.
    Throttled { retry_after: i64 },
}

/// A successful sign-in: the account, and the device token to keep (set as a cookie).
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub user: User,
    pub device: String,
}

fn device_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The wait before the next try on an account with `failures` recent failures (from unknown
/// devices): none up to the limit, then 2, 4, 8 … seconds, at most a minute.
pub fn account_delay(failures: i64) -> i64 {
    if failures < MAX_PER_ACCOUNT {
        return 0;
    }
    let doublings = u32::try_from(failures - MAX_PER_ACCOUNT + 1).unwrap_or(u32::MAX).min(6);
    (1i64 << doublings).min(MAX_ACCOUNT_DELAY_SECS)
}

impl Store {
    /// Checks a username and password from a client address (`None` when the address is not
    /// one client's, e.g. a proxy's: then only the account is throttled) and (if the client has
    /// one) a device token, with throttling.
    pub async fn login(
        &self,
        username: &str,
        password: &str,
        addr: Option<&str>,
        device: Option<&str>,
        now: Timestamp,
    ) -> Result<Result<SignedIn, LoginError>> {
        let t = now.as_second();
        let since = t - WINDOW_SECS;
        let key = dingdian_core::accounts::username_key(username);
        let user_key = format!("user:{key}");
        let addr_key = addr.map(|a| format!("addr:{a}"));
        let known = match device {
            Some(d) => {
                let row: Option<(i64,)> = with_pool!(self, p => {
                    sqlx::query_as("select last_success from login_devices where username_key = $1 and device_hash = $2 and last_success > $3")
                        .bind(&key)
                        .bind(device_hash(d))
                        .bind(t - DEVICE_SECS)
                        .fetch_optional(p)
                        .await?
                });
                row.is_some()
            }
            None => false,
        };
        if !known {
            let count = |key: String| async move {
                let r: (i64, Option<i64>, Option<i64>) = with_pool!(self, p => {
                    sqlx::query_as("select count(*), min(at), max(at) from login_failures where key = $1 and at > $2")
                        .bind(key)
                        .bind(since)
                        .fetch_one(p)
                        .await?
                });
                Ok::<_, crate::StoreError>(r)
            };
            if let Some(addr_key) = &addr_key {
                let (by_addr, first_addr, _) = count(addr_key.clone()).await?;
                if by_addr >= MAX_PER_ADDRESS {
                    return Ok(Err(LoginError::Throttled { retry_after: first_addr.unwrap_or(t) + WINDOW_SECS - t }));
                }
            }
            let (by_user, _, last_user) = count(user_key.clone()).await?;
            let wait = last_user.unwrap_or(t) + account_delay(by_user) - t;
            if wait > 0 {
                return Ok(Err(LoginError::Throttled { retry_after: wait }));
            }
        }
        match self.authenticate(username, password).await? {
            Some(user) => {
                let token = match device.filter(|_| known) {
                    Some(d) => d.to_owned(),
                    None => {
                        let mut raw = [0u8; 32];
                        rand::rng().fill_bytes(&mut raw);
                        hex::encode(raw)
                    }
                };
                with_pool!(self, p => {
                    sqlx::query(
                        "insert into login_devices (username_key, device_hash, last_success) values ($1, $2, $3)
                         on conflict (username_key, device_hash) do update set last_success = excluded.last_success",
                    )
                    .bind(&key)
                    .bind(device_hash(&token))
                    .bind(t)
                    .execute(p)
                    .await?;
                });
                Ok(Ok(SignedIn { user, device: token }))
            }
            None => {
                // A known device's typo counts against the account (for unknown devices), never
                // against the device itself.
                with_pool!(self, p => {
                    let mut tx = p.begin().await?;
                    for key in std::iter::once(&user_key).chain(addr_key.as_ref()) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_account_delay_grows_and_is_bounded() {
        assert_eq!((0..=4).map(account_delay).collect::<Vec<_>>(), vec![0; 5]);
        assert_eq!((5..=12).map(account_delay).collect::<Vec<_>>(), vec![2, 4, 8, 16, 32, 60, 60, 60]);
        assert_eq!(account_delay(i64::MAX), 60);
    }
}
