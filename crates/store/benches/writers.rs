//! Concurrent writers across cities (run by hand: `cargo bench -p dingdian-store --bench writers`;
//! PostgreSQL at `DINGDIAN_TEST_PG`, default `postgres://postgres@127.0.0.1:5432/test`).
//!
//! Three stores (three instances' connection pools, 16 connections each) on one PostgreSQL
//! database; 50 writers, spread over the three, fire due timers — each a full command with its
//! event and audit-chain entry — for applications of 14 cities. Reports commands per second and
//! how many backends were seen waiting on a lock while the writers ran (sampled from
//! `pg_stat_activity`). Options: `WRITERS` (50), `TIMERS` (20000), `CITIES` (14), `INSTANCES` (3).

#[path = "support/mod.rs"]
mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use dingdian_core::lifecycle::{AppState, State};
use dingdian_core::policy::Profile;
use dingdian_store::testing::{Backend, TestDb};
use jiff::Timestamp;
use sqlx::Connection;

fn at(s: &str) -> Timestamp {
    s.parse().expect("timestamp")
}

fn env(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

#[tokio::main]
async fn main() {
    let (writers, timers, cities, instances) = (env("WRITERS", 50), env("TIMERS", 20_000), env("CITIES", 14), env("INSTANCES", 3));
    let db = TestDb::new(Backend::Postgres).await.expect("PostgreSQL test server");
    let store = db.open().await.unwrap();
    let now = at("2026-03-02T02:00:00Z");
    // Fourteen cities: Harbin's profile under fourteen ids (the decision logic is the same; what
    // is measured is whether writes of different cities wait for each other).
    let (file, text) = dingdian_core::policy::SHIPPED.iter().find(|(f, _)| f.contains("harbin")).unwrap();
    let harbin = Profile::parse(file, text).unwrap();
    for k in 0..cities {
        let text = text.replacen("id = \"harbin\"", &format!("id = \"city{k:02}\""), 1);
        store.register_profile(Profile::parse(file, &text).unwrap(), now).await.unwrap();
    }
    support::institution(&store, "city00", now).await;
    let data = serde_json::to_string(&AppState {
        state: State::AwaitingSupplement,
        entered_on: Some("2026-03-02".parse().unwrap()),
        supplement_notices: 1,
        ..AppState::default()
    })
    .unwrap();
    let mut c = sqlx::PgConnection::connect(&db.url).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "insert into applications (institution_id, city, district, kind, profile_id, profile_version, state, version,
           data, due_on, due_action, created_at, updated_at)
         select 1, 'city' || lpad((x % {cities})::text, 2, '0'), '230102', 'medical', 'city' || lpad((x % {cities})::text, 2, '0'),
           '{version}', 'awaiting_supplement', 2, $1, '2026-03-09', 'deem_withdrawn', 'x', 'x'
         from generate_series(1, {timers}) as x",
        version = harbin.version
    )))
    .bind(&data)
    .execute(&mut c)
    .await
    .unwrap();
    sqlx::query("analyze applications").execute(&mut c).await.unwrap();
    store.close().await;

    let mut stores = Vec::new();
    for _ in 0..instances {
        stores.push(Arc::new(db.open().await.unwrap()));
    }
    // Sample lock waits while the writers run.
    let done = Arc::new(AtomicBool::new(false));
    let (samples, waiting, peak) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let sampler = {
        let (done, samples, waiting, peak) = (done.clone(), samples.clone(), waiting.clone(), peak.clone());
        let url = db.url.clone();
        tokio::spawn(async move {
            let mut c = sqlx::PgConnection::connect(&url).await.unwrap();
            while !done.load(Ordering::Relaxed) {
                let (n,): (i64,) =
                    sqlx::query_as("select count(*) from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'")
                        .fetch_one(&mut c)
                        .await
                        .unwrap();
                samples.fetch_add(1, Ordering::Relaxed);
                waiting.fetch_add(n as u64, Ordering::Relaxed);
                peak.fetch_max(n as u64, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };
    let fire_at = at("2026-03-10T02:00:00Z");
    let t = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..writers {
        let store = stores[w % instances].clone();
        tasks.push(tokio::spawn(async move { store.run_due_as(&format!("writer{w}"), fire_at).await.unwrap().fired.len() }));
    }
    let mut fired = 0;
    for task in tasks {
        fired += task.await.unwrap();
    }
    let took = t.elapsed();
    done.store(true, Ordering::Relaxed);
    sampler.await.unwrap();
    assert_eq!(fired, timers, "every timer fired once");
    let report = stores[0].verify_audit().await.unwrap();
    assert!(report.ok, "{:?}", report.first_bad);
    let s = samples.load(Ordering::Relaxed).max(1);
    println!(
        "PostgreSQL, {instances} instances, {writers} writers, {cities} cities: {fired} commands in {took:.2?} = {:.0} commands/s; \
         backends waiting on a lock: mean {:.1}, peak {} ({} samples)",
        fired as f64 / took.as_secs_f64(),
        waiting.load(Ordering::Relaxed) as f64 / s as f64,
        peak.load(Ordering::Relaxed),
        s
    );
    for s in stores {
        s.close().await;
    }
}
