//! What operators watch: readiness (a write round trip to the database) and the figures behind
//! `/metrics` — commands by kind and outcome and timers fired or held (counted as they happen,
//! in this process), and the due timers, the outbox, the calendar's reach and the pool (read
//! when asked).

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use jiff::Timestamp;
use jiff::civil::Date;

use crate::{Pool, Result, Store, with_pool};

/// Counters kept by this process since it started.
#[derive(Debug, Default)]
pub struct Counters {
    /// (command, outcome) → count; the outcome is `ok` or the refusal's code.
    commands: Mutex<BTreeMap<(&'static str, String), u64>>,
    timers_fired: AtomicU64,
    timers_held: AtomicU64,
    timer_passes_failed: AtomicU64,
}

impl Counters {
    pub(crate) fn command(&self, name: &'static str, outcome: &str) {
        // A poisoned lock only means a panic elsewhere while counting; the counts stay usable.
        let mut map = self.commands.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        *map.entry((name, outcome.to_owned())).or_default() += 1;
    }

    pub(crate) fn timers(&self, fired: usize, held: usize) {
        self.timers_fired.fetch_add(fired as u64, Ordering::Relaxed);
        self.timers_held.fetch_add(held as u64, Ordering::Relaxed);
    }

    /// A whole timer pass failed (the database went away, say).
    pub fn timer_pass_failed(&self) {
        self.timer_passes_failed.fetch_add(1, Ordering::Relaxed);
    }

    pub fn commands(&self) -> Vec<(&'static str, String, u64)> {
        let map = self.commands.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        map.iter().map(|((c, o), n)| (*c, o.clone(), *n)).collect()
    }

    /// (fired, held, failed passes).
    pub fn timer_totals(&self) -> (u64, u64, u64) {
        (
            self.timers_fired.load(Ordering::Relaxed),
            self.timers_held.load(Ordering::Relaxed),
            self.timer_passes_failed.load(Ordering::Relaxed),
        )
    }
}

/// The figures read from the database when `/metrics` is asked.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// Time limits due (their day has passed) and not yet fired.
    pub timers_due: i64,
    /// The earliest day of a due time limit, if any.
    pub oldest_due: Option<Date>,
    pub outbox_pending: i64,
    pub outbox_failed: i64,
    /// Calendar years known (shipped and loaded).
    pub calendar_years: usize,
    /// The first day from today on that no loaded calendar covers.
    pub first_uncovered: Option<Date>,
    pub pool_size: u32,
    pub pool_idle: usize,
    pub pool_max: u32,
}

impl Store {
    /// Readiness: a write round trip (one row per instance, rewritten), so a database that is
    /// down, read-only or full answers an error here instead of `ok`.
    pub async fn probe(&self, instance: &str, now: Timestamp) -> Result<()> {
        with_pool!(self, p => {
            sqlx::query(
                "insert into readiness (instance, at) values ($1, $2) on conflict (instance) do update set at = excluded.at",
            )
            .bind(instance)
            .bind(now.as_second())
            .execute(p)
            .await?;
        });
        Ok(())
    }

    /// The counters of this process.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    pub async fn snapshot(&self, today: Date) -> Result<Snapshot> {
        let (timers_due, oldest): (i64, Option<String>) = with_pool!(self, p => {
            sqlx::query_as("select count(*), min(due_on) from applications where due_action is not null and due_on < $1")
                .bind(today.to_string())
                .fetch_one(p)
                .await?
        });
        let (outbox_pending, _, outbox_failed) = self.outbox_counts().await?;
        let years: Vec<i16> = self.calendar_years().iter().map(|y| y.year).collect();
        let mut year = today.year();
        while years.contains(&year) {
            year += 1;
        }
        let first_uncovered = if year == today.year() { Some(today) } else { Date::new(year, 1, 1).ok() };
        let (pool_size, pool_idle, pool_max) = match &self.pool {
            Pool::Sqlite(p) => (p.size(), p.num_idle(), p.options().get_max_connections()),
            Pool::Postgres(p) => (p.size(), p.num_idle(), p.options().get_max_connections()),
        };
        Ok(Snapshot {
            timers_due,
            oldest_due: oldest.and_then(|d| d.parse().ok()),
            outbox_pending,
            outbox_failed,
            calendar_years: years.len(),
            first_uncovered,
            pool_size,
            pool_idle,
            pool_max,
        })
    }
}
