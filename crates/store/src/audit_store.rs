//! Reading and verifying the audit chain (G-AUDIT). Writing happens with each command, in the
//! same transaction (see `applications.rs`).

use dingdian_core::audit::{self, Entry};
use serde::Serialize;

use crate::{Pool, Result, Store, with_pool};

/// The outcome of verifying the whole chain.
#[derive(Debug, Clone, Serialize)]
pub struct AuditReport {
    pub ok: bool,
    pub entries: i64,
    /// The first entry that does not match, and why.
    pub first_bad: Option<BadEntry>,
    pub head: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct BadEntry {
    pub audit_seq: i64,
    pub application_id: i64,
    pub app_seq: i64,
    pub reason: String,
}

/// The last entry of a day: the day's chain head, published so later rewriting shows.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct DailyHead {
    pub day: String,
    pub seq: i64,
    pub hash: String,
}

#[derive(sqlx::FromRow)]
struct Row {
    audit_seq: Option<i64>,
    application_id: i64,
    seq: i64,
    kind: String,
    payload: String,
    from_state: String,
    to_state: String,
    actor_user_id: i64,
    actor_role: String,
    occurred_at: String,
    prev_hash: Option<String>,
    hash: Option<String>,
    alg: Option<String>,
}

impl Store {
    /// The statement that reads the chain head, locking it on PostgreSQL until commit (SQLite
    /// transactions already write one at a time).
    pub(crate) fn head_sql(&self) -> &'static str {
        match self.pool {
            Pool::Postgres(_) => "select seq, hash from audit_head where id = 1 for update",
            Pool::Sqlite(_) => "select seq, hash from audit_head where id = 1",
        }
    }

    /// Recomputes every hash in chain order and checks the links, the sequence and the head.
    pub async fn verify_audit(&self) -> Result<AuditReport> {
        // Events, personal-data reads and account events share one chain, ordered by audit_seq.
        let rows: Vec<Row> = with_pool!(self, p => {
            sqlx::query_as(
                "select audit_seq, application_id, seq, kind, payload, from_state, to_state, actor_user_id, actor_role,
                 occurred_at, prev_hash, hash, alg from events
                 union all
                 select audit_seq, 0, 0, 'personal_data_read', payload, '-', '-', user_id, actor_role,
                 occurred_at, prev_hash, hash, alg from personal_data_reads
                 union all
                 select audit_seq, 0, 0, kind, payload, '-', '-', user_id, actor_role,
                 occurred_at, prev_hash, hash, alg from account_events
                 order by 1",
            )
            .fetch_all(p)
            .await?
        });
        let (head_seq, head_hash): (i64, String) = with_pool!(self, p => {
            sqlx::query_as("select seq, hash from audit_head where id = 1").fetch_one(p).await?
        });
        let mut prev = audit::GENESIS.to_owned();
        let mut expected_seq = 0;
        let bad = |r: &Row, reason: String| BadEntry {
            audit_seq: r.audit_seq.unwrap_or(0),
            application_id: r.application_id,
            app_seq: r.seq,
            reason,
        };
        let mut first_bad = None;
        for r in &rows {
            expected_seq += 1;
            let payload: serde_json::Value = serde_json::from_str(&r.payload).unwrap_or(serde_json::Value::Null);
            let Some(seq) = r.audit_seq else {
                first_bad = Some(bad(r, "entry is not in the chain".into()));
                break;
            };
            if seq != expected_seq {
                first_bad = Some(bad(r, format!("sequence {seq} where {expected_seq} was expected (an entry is missing or out of order)")));
                break;
            }
            if r.prev_hash.as_deref() != Some(prev.as_str()) {
                first_bad = Some(bad(r, "does not link to the previous entry (an entry was removed, inserted or reordered)".into()));
                break;
            }
            let entry = Entry {
                seq,
                application_id: r.application_id,
                app_seq: r.seq,
                kind: &r.kind,
                payload: &payload,
                from_state: &r.from_state,
                to_state: &r.to_state,
                actor_user_id: r.actor_user_id,
                actor_role: &r.actor_role,
                occurred_at: &r.occurred_at,
            };
            let alg = r.alg.as_deref().unwrap_or("");
            match audit::hash(&entry, &prev, alg) {
                Some(h) if Some(&h) == r.hash.as_ref() => prev = h,
                Some(_) => {
                    first_bad = Some(bad(r, "content does not match its hash (the entry was changed)".into()));
                    break;
                }
                None => {
                    first_bad = Some(bad(r, format!("unknown hash algorithm {alg:?}")));
                    break;
                }
            }
        }
        let entries = rows.len() as i64;
        if first_bad.is_none() && (head_seq != entries || head_hash != prev) {
            first_bad = Some(BadEntry {
                audit_seq: head_seq,
                application_id: 0,
                app_seq: 0,
                reason: format!("the chain head says {head_seq} entries but {entries} verify (entries were removed from the end)"),
            });
        }
        Ok(AuditReport { ok: first_bad.is_none(), entries, first_bad, head: prev })
    }

    /// Records that a user saw a full resident ID number, as an entry of the audit chain, and
    /// only then returns it.
    pub async fn reveal_resident_id(
        &self,
        actor: &dingdian_core::lifecycle::Actor,
        institution_id: i64,
        person_id: i64,
        purpose: &str,
        now: jiff::Timestamp,
    ) -> Result<Option<String>> {
        let row: Option<(String,)> = with_pool!(self, p => {
            sqlx::query_as(
                "select p.resident_id from persons p join institution_persons ip on ip.person_id = p.id
                 where ip.institution_id = $1 and p.id = $2",
            )
            .bind(institution_id)
            .bind(person_id)
            .fetch_optional(p)
            .await?
        });
        let Some((resident_id,)) = row else { return Ok(None) };
        let payload = serde_json::json!({ "institution_id": institution_id, "person_id": person_id, "purpose": purpose.trim() });
        let ts = now.to_string();
        let head_sql = self.head_sql();
        with_pool!(self, p => {
            let mut tx = p.begin().await?;
            // Take the write lock first (SQLite), then the head (locked on PostgreSQL).
            sqlx::query("update audit_head set updated_at = updated_at where id = 1").execute(&mut *tx).await?;
            let (seq, prev): (i64, String) = sqlx::query_as(sqlx::AssertSqlSafe(head_sql)).fetch_one(&mut *tx).await?;
            let entry = Entry {
                seq: seq + 1,
                application_id: 0,
                app_seq: 0,
                kind: "personal_data_read",
                payload: &payload,
                from_state: "-",
                to_state: "-",
                actor_user_id: actor.user_id,
                actor_role: actor.role.as_str(),
                occurred_at: &ts,
            };
            // `hash` returns `None` only for an unknown algorithm; ALG is the one it implements.
            let hash = audit::hash(&entry, &prev, audit::ALG).expect("known algorithm");
            sqlx::query(
                "insert into personal_data_reads (audit_seq, user_id, actor_role, payload, occurred_at, occurred_on, prev_hash, hash, alg)
                 values ($1, $2, $3, $4, $5, $9, $6, $7, $8)",
            )
            .bind(seq + 1)
            .bind(actor.user_id)
            .bind(actor.role.as_str())
            .bind(payload.to_string())
            .bind(&ts)
            .bind(&prev)
            .bind(&hash)
            .bind(audit::ALG)
            .bind(dingdian_core::china_date(now).to_string())
            .execute(&mut *tx)
            .await?;
            sqlx::query("update audit_head set seq = $1, hash = $2, updated_at = $3 where id = 1").bind(seq + 1).bind(&hash).bind(&ts).execute(&mut *tx).await?;
            tx.commit().await?;
        });
        Ok(Some(resident_id))
    }

    /// Each day's last chain entry, newest first.
    pub async fn daily_heads(&self, limit: i64) -> Result<Vec<DailyHead>> {
        Ok(with_pool!(self, p => {
            sqlx::query_as::<_, DailyHead>(
                "with chain as (
                    select audit_seq, hash, occurred_on as day from events where audit_seq is not null
                    union all
                    select audit_seq, hash, occurred_on from personal_data_reads
                    union all
                    select audit_seq, hash, occurred_on from account_events)
                 select c.day as day, c.audit_seq as seq, c.hash as hash from chain c
                 join (select day, max(audit_seq) as last from chain group by day) d on d.last = c.audit_seq
                 order by c.audit_seq desc limit $1",
            )
            .bind(limit)
            .fetch_all(p)
            .await?
        }))
    }
}
