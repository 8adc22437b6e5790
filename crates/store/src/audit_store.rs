//! Reading and verifying the audit chain (G-AUDIT). Writing happens with each command, in the
//! same transaction (see `applications.rs`).

use dingdian_core::audit::{self, Entry};
use serde::Serialize;

use crate::{Pool, Result, Store, StoreError, with_pool};

/// The outcome of verifying every chain.
#[derive(Debug, Clone, Serialize)]
pub struct AuditReport {
    pub ok: bool,
    /// Entries verified, over all chains.
    pub entries: i64,
    /// The first entry that does not match, and why.
    pub first_bad: Option<BadEntry>,
    /// Each chain as verified, the shared one (`chain` empty) first, then the cities by code.
    pub chains: Vec<ChainHead>,
}

/// A chain's verified length and head.
#[derive(Debug, Clone, Serialize)]
pub struct ChainHead {
    /// The city's code; empty for the shared chain.
    pub chain: String,
    pub entries: i64,
    pub head: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct BadEntry {
    /// The chain (a city's code; empty for the shared chain).
    pub chain: String,
    pub audit_seq: i64,
    pub application_id: i64,
    pub app_seq: i64,
    pub reason: String,
}

/// The last entry of a day in one chain: the day's head, published so later rewriting shows.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct DailyHead {
    /// The city's code; empty for the shared chain.
    pub chain: String,
    pub day: String,
    pub seq: i64,
    pub hash: String,
}

#[derive(sqlx::FromRow)]
struct Row {
    chain: String,
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

/// Takes the head of chain `$chain` inside transaction `$tx` and evaluates to its (seq, hash):
/// locked until commit — on PostgreSQL the chain's own row (`for update`), on SQLite the write
/// lock, which the insert takes before anything is read. A city's first entry creates its head.
/// Only entries of the same chain wait for each other.
macro_rules! lock_chain {
    ($tx:ident, $pg:expr, $chain:expr, $ts:expr) => {{
        let chain: &str = $chain;
        let create = "insert into audit_heads (chain, seq, hash, created_at, updated_at) values ($1, 0, $2, $3, $3)
                      on conflict (chain) do nothing";
        let read = if $pg {
            "select seq, hash from audit_heads where chain = $1 for update"
        } else {
            sqlx::query(create).bind(chain).bind(dingdian_core::audit::GENESIS).bind($ts).execute(&mut *$tx).await?;
            "select seq, hash from audit_heads where chain = $1"
        };
        let head: Option<(i64, String)> = sqlx::query_as(sqlx::AssertSqlSafe(read)).bind(chain).fetch_optional(&mut *$tx).await?;
        match head {
            Some(head) => head,
            None => {
                sqlx::query(create).bind(chain).bind(dingdian_core::audit::GENESIS).bind($ts).execute(&mut *$tx).await?;
                sqlx::query_as::<_, (i64, String)>(sqlx::AssertSqlSafe(read)).bind(chain).fetch_one(&mut *$tx).await?
            }
        }
    }};
}
pub(crate) use lock_chain;

/// Moves the head of chain `$chain` to (`$seq`, `$hash`) inside `$tx`.
macro_rules! advance_chain {
    ($tx:ident, $chain:expr, $seq:expr, $hash:expr, $ts:expr) => {
        sqlx::query("update audit_heads set seq = $1, hash = $2, updated_at = $3 where chain = $4")
            .bind($seq)
            .bind($hash)
            .bind($ts)
            .bind($chain)
            .execute(&mut *$tx)
            .await?
    };
}
pub(crate) use advance_chain;

/// Walks the entries in (chain, seq) order, one at a time.
struct Verifier {
    /// The heads as stored, by chain.
    heads: std::collections::BTreeMap<String, (i64, String)>,
    done: Vec<ChainHead>,
    current: Option<ChainHead>,
    entries: i64,
    first_bad: Option<BadEntry>,
}

impl Verifier {
    fn new(heads: Vec<(String, i64, String)>) -> Verifier {
        let heads = heads.into_iter().map(|(c, s, h)| (c, (s, h))).collect();
        Verifier { heads, done: Vec::new(), current: None, entries: 0, first_bad: None }
    }

    fn bad(&mut self, r: &Row, reason: String) -> bool {
        self.first_bad = Some(BadEntry {
            chain: r.chain.clone(),
            audit_seq: r.audit_seq.unwrap_or(0),
            application_id: r.application_id,
            app_seq: r.seq,
            reason,
        });
        false
    }

    /// Checks one entry; false once something does not verify.
    fn push(&mut self, r: &Row) -> bool {
        if self.current.as_ref().is_none_or(|c| c.chain != r.chain) {
            if !self.close_chain() {
                return false;
            }
            self.current = Some(ChainHead { chain: r.chain.clone(), entries: 0, head: audit::GENESIS.to_owned() });
        }
        let Some(cur) = self.current.as_mut() else { return false };
        let expected_seq = cur.entries + 1;
        let Some(seq) = r.audit_seq else {
            return self.bad(r, "entry is not in the chain".into());
        };
        if seq != expected_seq {
            return self.bad(r, format!("sequence {seq} where {expected_seq} was expected (an entry is missing or out of order)"));
        }
        if r.prev_hash.as_deref() != Some(cur.head.as_str()) {
            return self.bad(r, "does not link to the previous entry (an entry was removed, inserted or reordered)".into());
        }
        let payload: serde_json::Value = serde_json::from_str(&r.payload).unwrap_or(serde_json::Value::Null);
        let entry = Entry {
            chain: &r.chain,
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
        match audit::hash(&entry, &cur.head, alg) {
            Some(h) if Some(&h) == r.hash.as_ref() => {
                cur.head = h;
                cur.entries += 1;
                self.entries += 1;
                true
            }
            Some(_) => self.bad(r, "content does not match its hash (the entry was changed)".into()),
            None => self.bad(r, format!("unknown hash algorithm {alg:?}")),
        }
    }

    /// Compares the chain just walked with its stored head; false when they differ.
    fn close_chain(&mut self) -> bool {
        let Some(cur) = self.current.take() else { return true };
        let stored = self.heads.remove(&cur.chain);
        let ok = match &stored {
            Some((seq, hash)) => *seq == cur.entries && *hash == cur.head,
            None => false,
        };
        if !ok {
            let (seq, what) = match stored {
                Some((seq, _)) => {
                    (seq, format!("the chain head says {seq} entries but {} verify (entries were removed from the end)", cur.entries))
                }
                None => (0, "the chain has entries but no head (its head was removed)".to_owned()),
            };
            self.first_bad = Some(BadEntry { chain: cur.chain.clone(), audit_seq: seq, application_id: 0, app_seq: 0, reason: what });
        }
        self.done.push(cur);
        ok
    }

    fn finish(mut self) -> AuditReport {
        if self.first_bad.is_none() && self.close_chain() {
            // Heads of chains with no entry left: all of them were removed.
            for (chain, (seq, hash)) in std::mem::take(&mut self.heads) {
                if seq != 0 {
                    self.first_bad = Some(BadEntry {
                        chain: chain.clone(),
                        audit_seq: seq,
                        application_id: 0,
                        app_seq: 0,
                        reason: format!("the chain head says {seq} entries but none remain (entries were removed)"),
                    });
                    break;
                }
                self.done.push(ChainHead { chain, entries: 0, head: hash });
            }
        }
        self.done.sort_by(|a, b| a.chain.cmp(&b.chain));
        AuditReport { ok: self.first_bad.is_none(), entries: self.entries, first_bad: self.first_bad, chains: self.done }
    }
}

impl Store {
    pub(crate) fn is_postgres(&self) -> bool {
        matches!(self.pool, Pool::Postgres(_))
    }

    /// Recomputes every hash of every chain in order and checks the links, the sequence and
    /// each chain's head. Each chain is read as a stream (memory does not grow with history)
    /// and hashed on a blocking thread, never on the async workers that answer requests; the
    /// chains are independent, so several are verified at once (up to the cores, at most 4).
    pub async fn verify_audit(&self) -> Result<AuditReport> {
        use futures_util::{StreamExt, TryStreamExt};
        let heads: Vec<(String, i64, String)> = with_pool!(self, p => {
            sqlx::query_as("select chain, seq, hash from audit_heads order by chain").fetch_all(p).await?
        });
        // Entries of a chain that has no head: its head was removed.
        let orphan: Option<(String,)> = with_pool!(self, p => {
            sqlx::query_as(
                "select chain from (select chain from events union all select chain from personal_data_reads
                 union all select chain from account_events) c
                 where chain not in (select chain from audit_heads) order by chain limit 1",
            )
            .fetch_optional(p)
            .await?
        });
        let parallel = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).clamp(1, 4);
        let reports: Vec<AuditReport> =
            futures_util::stream::iter(heads.into_iter().map(|h| self.verify_chain(h))).buffered(parallel).try_collect().await?;
        let mut out = AuditReport { ok: true, entries: 0, first_bad: None, chains: Vec::new() };
        for r in reports {
            out.entries += r.entries;
            out.chains.extend(r.chains);
            if out.first_bad.is_none() {
                out.first_bad = r.first_bad;
            }
        }
        if let Some((chain,)) = orphan
            && out.first_bad.as_ref().is_none_or(|b| chain < b.chain)
        {
            let reason = "the chain has entries but no head (its head was removed)".to_owned();
            out.first_bad = Some(BadEntry { chain, audit_seq: 0, application_id: 0, app_seq: 0, reason });
        }
        out.chains.sort_by(|a, b| a.chain.cmp(&b.chain));
        out.ok = out.first_bad.is_none();
        Ok(out)
    }

    /// Verifies one chain against its stored head: rows stream from the database in batches to a
    /// blocking thread that hashes them.
    async fn verify_chain(&self, head: (String, i64, String)) -> Result<AuditReport> {
        use futures_util::TryStreamExt;
        const BATCH: usize = 512;
        let chain = head.0.clone();
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<Row>>(4);
        let hasher = tokio::task::spawn_blocking(move || {
            let mut v = Verifier::new(vec![head]);
            'rows: while let Some(batch) = rx.blocking_recv() {
                for r in &batch {
                    if !v.push(r) {
                        break 'rows;
                    }
                }
            }
            v.finish()
        });
        let mut batch = Vec::with_capacity(BATCH);
        with_pool!(self, p => {
            // Events, personal-data reads and account events share their city's chain.
            let mut rows = sqlx::query_as::<_, Row>(
                "select chain, audit_seq, application_id, seq, kind, payload, from_state, to_state, actor_user_id, actor_role,
                 occurred_at, prev_hash, hash, alg from events where chain = $1
                 union all
                 select chain, audit_seq, 0, 0, 'personal_data_read', payload, '-', '-', user_id, actor_role,
                 occurred_at, prev_hash, hash, alg from personal_data_reads where chain = $1
                 union all
                 select chain, audit_seq, 0, 0, kind, payload, '-', '-', user_id, actor_role,
                 occurred_at, prev_hash, hash, alg from account_events where chain = $1
                 order by 2",
            )
            .bind(&chain)
            .fetch(p);
            while let Some(r) = rows.try_next().await? {
                batch.push(r);
                if batch.len() == BATCH {
                    // The hasher stops reading at the first bad entry: nothing more to send.
                    if tx.send(std::mem::replace(&mut batch, Vec::with_capacity(BATCH))).await.is_err() {
                        break;
                    }
                }
            }
        });
        if !batch.is_empty() {
            let _ = tx.send(batch).await;
        }
        drop(tx);
        hasher.await.map_err(|e| StoreError::Internal(format!("audit verification: {e}")))
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
        let row: Option<(String, String)> = with_pool!(self, p => {
            sqlx::query_as(
                "select p.resident_id, i.city from persons p join institution_persons ip on ip.person_id = p.id
                 join institutions i on i.id = ip.institution_id
                 where ip.institution_id = $1 and p.id = $2",
            )
            .bind(institution_id)
            .bind(person_id)
            .fetch_optional(p)
            .await?
        });
        let Some((resident_id, city)) = row else { return Ok(None) };
        // G-AUDIT: the read is an entry of the institution's city's chain.
        let chain = audit::chain_of(Some(&city));
        let payload = serde_json::json!({ "institution_id": institution_id, "person_id": person_id, "purpose": purpose.trim() });
        let ts = now.to_string();
        let pg = self.is_postgres();
        with_pool!(self, p => {
            let mut tx = p.begin().await?;
            let (seq, prev) = lock_chain!(tx, pg, chain, &ts);
            let entry = Entry {
                chain,
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
                "insert into personal_data_reads (audit_seq, user_id, actor_role, payload, occurred_at, occurred_on, prev_hash, hash, alg, chain)
                 values ($1, $2, $3, $4, $5, $9, $6, $7, $8, $10)",
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
            .bind(chain)
            .execute(&mut *tx)
            .await?;
            advance_chain!(tx, chain, seq + 1, &hash, &ts);
            tx.commit().await?;
        });
        Ok(Some(resident_id))
    }

    /// Each chain's last entry of each of the last `days` days with entries, newest day first.
    pub async fn daily_heads(&self, days: i64) -> Result<Vec<DailyHead>> {
        Ok(with_pool!(self, p => {
            sqlx::query_as::<_, DailyHead>(
                "with entries as (
                    select chain, audit_seq, hash, occurred_on as day from events where audit_seq is not null
                    union all
                    select chain, audit_seq, hash, occurred_on from personal_data_reads
                    union all
                    select chain, audit_seq, hash, occurred_on from account_events)
                 select e.chain as chain, e.day as day, e.audit_seq as seq, e.hash as hash from entries e
                 join (select chain, day, max(audit_seq) as last from entries group by chain, day) d
                   on d.chain = e.chain and d.last = e.audit_seq
                 where e.day in (select day from (select distinct day from entries) x order by day desc limit $1)
                 order by e.day desc, e.chain",
            )
            .bind(days)
            .fetch_all(p)
            .await?
        }))
    }
}
