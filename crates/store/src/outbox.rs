//! Notifications: the in-app inbox (written with the event) and the e-mail outbox. An outbox
//! row is committed with the change that caused it; a sender claims due rows with a lease,
//! sends, and marks them sent. A sender that dies between claim and send leaves only a lease;
//! the row is sent after it expires. Failures retry with exponential backoff and finally fail,
//! which the agency sees as an alert. Each message carries its idempotency key as Message-ID.

use jiff::Timestamp;
use serde::Serialize;

use crate::{Pool, Result, Store, with_pool};

/// How many attempts before a message is given up as failed.
pub const MAX_ATTEMPTS: i64 = 5;
const LEASE_SECS: i64 = 120;

/// An e-mail to send.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct OutboxMessage {
    pub id: i64,
    pub idempotency_key: String,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    pub attempts: i64,
}

/// An inbox entry.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct InboxMessage {
    pub id: i64,
    pub application_id: Option<i64>,
    pub subject: String,
    pub body: String,
    pub read_at: Option<String>,
    pub created_at: String,
}

impl Store {
    pub async fn set_email(&self, user_id: i64, email: &str) -> Result<()> {
        with_pool!(self, p => {
            sqlx::query("update users set email = $1 where id = $2").bind(email).bind(user_id).execute(p).await?;
        });
        Ok(())
    }

    pub async fn inbox(&self, user_id: i64, limit: i64) -> Result<Vec<InboxMessage>> {
        Ok(with_pool!(self, p => {
            sqlx::query_as::<_, InboxMessage>(
                "select id, application_id, subject, body, read_at, created_at from inbox where user_id = $1 order by id desc limit $2",
            )
            .bind(user_id)
            .bind(limit)
            .fetch_all(p)
            .await?
        }))
    }

    pub async fn mark_read(&self, user_id: i64, id: i64, now: Timestamp) -> Result<bool> {
        let n = with_pool!(self, p => {
            sqlx::query("update inbox set read_at = $1 where id = $2 and user_id = $3 and read_at is null")
                .bind(now.to_string())
                .bind(id)
                .bind(user_id)
                .execute(p)
                .await?
                .rows_affected()
        });
        Ok(n == 1)
    }

    /// Claims up to `limit` messages due now for `owner`.
    pub async fn claim_outbox(&self, owner: &str, now: Timestamp, limit: i64) -> Result<Vec<OutboxMessage>> {
        let t = now.as_second();
        let lock = match self.pool {
            Pool::Postgres(_) => " for update skip locked",
            Pool::Sqlite(_) => "",
        };
        let sql = format!(
            "update outbox set lease_owner = $1, lease_until = $2 where id in (
                select id from outbox where status = 'pending' and next_attempt_at <= $3
                and (lease_until is null or lease_until < $3) order by id limit $4{lock})
             and (lease_until is null or lease_until < $3)
             returning id, idempotency_key, recipient, subject, body, attempts"
        );
        Ok(with_pool!(self, p => {
            sqlx::query_as::<_, OutboxMessage>(sqlx::AssertSqlSafe(sql)).bind(owner).bind(t + LEASE_SECS).bind(t).bind(limit).fetch_all(p).await?
        }))
    }

    pub async fn outbox_sent(&self, id: i64, now: Timestamp) -> Result<()> {
        with_pool!(self, p => {
            sqlx::query("update outbox set status = 'sent', sent_at = $1, attempts = attempts + 1, lease_owner = null, lease_until = null where id = $2")
                .bind(now.to_string())
                .bind(id)
                .execute(p)
                .await?;
        });
        Ok(())
    }

    /// Records a failed attempt: retry after 2^attempts minutes, or give up after `MAX_ATTEMPTS`.
    pub async fn outbox_failed(&self, msg: &OutboxMessage, error: &str, now: Timestamp) -> Result<bool> {
        let attempts = msg.attempts + 1;
        let last = attempts >= MAX_ATTEMPTS;
        let next = now.as_second() + 60 * (1_i64 << attempts.min(10));
        with_pool!(self, p => {
            sqlx::query(
                "update outbox set attempts = $1, next_attempt_at = $2, last_error = $3, status = $4, lease_owner = null, lease_until = null
                 where id = $5",
            )
            .bind(attempts)
            .bind(next)
            .bind(error)
            .bind(if last { "failed" } else { "pending" })
            .bind(msg.id)
            .execute(p)
            .await?;
        });
        Ok(last)
    }

    /// Messages that finally failed in a city: the agency dashboard's alert.
    pub async fn failed_notifications(&self, city: &str) -> Result<Vec<(i64, String, String, Option<String>)>> {
        Ok(with_pool!(self, p => {
            sqlx::query_as("select id, recipient, subject, last_error from outbox where status = 'failed' and city = $1 order by id desc")
                .bind(city)
                .fetch_all(p)
                .await?
        }))
    }

    /// (pending, sent, failed) counts, for tests and monitoring.
    pub async fn outbox_counts(&self) -> Result<(i64, i64, i64)> {
        let rows: Vec<(String, i64)> = with_pool!(self, p => {
            sqlx::query_as("select status, count(*) from outbox group by status").fetch_all(p).await?
        });
        let get = |s: &str| rows.iter().find(|(k, _)| k == s).map(|(_, n)| *n).unwrap_or(0);
        Ok((get("pending"), get("sent"), get("failed")))
    }
}
