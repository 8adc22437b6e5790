//! Timer benchmarks (run by hand: `cargo bench -p dingdian-store --bench timers`; add
//! `DINGDIAN_BENCH_PG=1` for PostgreSQL at `DINGDIAN_TEST_PG`, default
//! `postgres://postgres@127.0.0.1:5432/test`). Reports:
//! - the time to import 10,000 institutions from CSV (all-or-nothing, one transaction);
//! - the time to fire 10,000 due timers through the full command path;
//! - the cost of an idle sweep (nothing due) with 10,000 and with 1,000,000 open deadlines,
//!   which must not grow with the number of open deadlines (partial index on `due_on`).
//!
//! - one command (`update_draft`) on an application with 15, 305 and 2,005 events, which must
//!   not grow with the application's history;
//! - a raw durable commit (one-row insert, commit) on the same database, measured in the same
//!   run, that the figures above are reported against as ratios.
//!
//! Rows are seeded with plain SQL so the benchmark measures the sweep, not the seeding.

#[path = "support/mod.rs"]
mod support;

use std::time::Instant;

use dingdian_core::lifecycle::{AppState, State};
use dingdian_core::policy::Profile;
use dingdian_store::Store;
use dingdian_store::testing::{Backend, TestDb};
use jiff::Timestamp;

fn at(s: &str) -> Timestamp {
    s.parse().expect("timestamp")
}

async fn seed(url: &str, n: i64, due_on: &str, entered_on: &str) {
    use sqlx::Connection;
    let data = serde_json::to_string(&AppState {
        state: State::AwaitingSupplement,
        entered_on: Some(entered_on.parse().unwrap()),
        supplement_notices: 1,
        ..AppState::default()
    })
    .unwrap();
    // The shipped Harbin profile's version (the one `fresh` registers).
    let version = Profile::shipped().into_iter().find(|p| p.id == "harbin").expect("harbin").version;
    let sql = format!(
        "with recursive c(x) as (select 1 union all select x + 1 from c where x < {n})
         insert into applications (institution_id, city, district, kind, profile_id, profile_version, state, version,
           data, due_on, due_action, created_at, updated_at)
         select 1, 'harbin', '230102', 'medical', 'harbin', '{version}', 'awaiting_supplement', 2, $1, $2, 'deem_withdrawn', 'x', 'x' from c"
    );
    if url.starts_with("postgres") {
        let mut c = sqlx::PgConnection::connect(url).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(sql)).bind(&data).bind(due_on).execute(&mut c).await.unwrap();
        sqlx::query("analyze applications").execute(&mut c).await.unwrap();
    } else {
        let mut c = sqlx::SqliteConnection::connect(&format!("sqlite://{url}")).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(sql)).bind(&data).bind(due_on).execute(&mut c).await.unwrap();
        sqlx::query("analyze").execute(&mut c).await.unwrap();
    }
}

async fn fresh(backend: Backend) -> (TestDb, Store) {
    let db = TestDb::new(backend).await.unwrap();
    let store = db.open().await.unwrap();
    let now = at("2026-03-02T02:00:00Z");
    for p in Profile::shipped() {
        store.register_profile(p, now).await.unwrap();
    }
    support::institution(&store, "harbin", now).await;
    (db, store)
}

async fn idle_sweep(backend: Backend, open: i64) {
    let (db, store) = fresh(backend).await;
    let t0 = Instant::now();
    seed(&db.url, open, "2026-12-31", "2026-12-20").await;
    let seeded = t0.elapsed();
    let now = at("2026-03-10T02:00:00Z");
    let rounds = 200;
    let t = Instant::now();
    for _ in 0..rounds {
        assert!(store.claim_due("bench", now, 60, 200).await.unwrap().is_empty());
    }
    let per = t.elapsed() / rounds;
    println!("{backend:?}: idle sweep with {open:>9} open deadlines: {per:?} per sweep (seeded in {seeded:?})");
    store.close().await;
}

async fn fire(backend: Backend, n: i64, raw: std::time::Duration) {
    let (db, store) = fresh(backend).await;
    seed(&db.url, n, "2026-03-09", "2026-03-02").await;
    let now = at("2026-03-10T02:00:00Z");
    let t = Instant::now();
    let report = store.run_due(now).await.unwrap();
    let took = t.elapsed();
    assert_eq!(report.fired.len() as i64, n, "held: {:?}", report.held.first());
    println!(
        "{backend:?}: fired {n} due timers in {took:?} ({:.0} per second; {:.1}x a raw durable commit per timer)",
        n as f64 / took.as_secs_f64(),
        took.as_secs_f64() / n as f64 / raw.as_secs_f64()
    );
    store.close().await;
}

/// A raw durable commit on the store's database (SQLite: WAL, `synchronous = full`, as the
/// store opens it): one-row insert, commit. Returns the time per commit.
async fn raw_commit(backend: Backend) -> std::time::Duration {
    use sqlx::Connection;
    let (db, store) = fresh(backend).await;
    store.close().await;
    let rounds = 300;
    let per = if db.url.starts_with("postgres") {
        let mut c = sqlx::PgConnection::connect(&db.url).await.unwrap();
        sqlx::query("create table raw_commit (x bigint)").execute(&mut c).await.unwrap();
        let t = Instant::now();
        for i in 0..rounds {
            let mut tx = c.begin().await.unwrap();
            sqlx::query("insert into raw_commit (x) values ($1)").bind(i as i64).execute(&mut *tx).await.unwrap();
            tx.commit().await.unwrap();
        }
        t.elapsed() / rounds
    } else {
        use sqlx::ConnectOptions;
        use std::str::FromStr;
        let mut c = sqlx::sqlite::SqliteConnectOptions::from_str(&format!("sqlite://{}", db.url))
            .unwrap()
            .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
            .synchronous(sqlx::sqlite::SqliteSynchronous::Full)
            .connect()
            .await
            .unwrap();
        sqlx::query("create table raw_commit (x integer)").execute(&mut c).await.unwrap();
        let t = Instant::now();
        for i in 0..rounds {
            let mut tx = c.begin().await.unwrap();
            sqlx::query("insert into raw_commit (x) values ($1)").bind(i as i64).execute(&mut *tx).await.unwrap();
            tx.commit().await.unwrap();
        }
        t.elapsed() / rounds
    };
    println!("{backend:?}: raw durable commit: {per:?}");
    per
}

/// One `update_draft` command on a draft with `events` events (seeded with plain SQL, outside
/// the audit chains: nothing here verifies them). Returns the time per command.
async fn command_cost(backend: Backend, events: i64, raw: std::time::Duration) {
    use dingdian_core::lifecycle::{Actor, Command, Role};
    use sqlx::Connection;
    let (db, store) = fresh(backend).await;
    let now = at("2026-03-02T02:00:00Z");
    let actor = Actor { role: Role::Institution, institution_id: Some(1), user_id: 1, ..Actor::system("harbin") };
    let app = store.create_application(&actor, now).await.unwrap();
    let seed = [
        format!(
            "with recursive c(x) as (select 1 union all select x + 1 from c where x < {events})
             insert into events (application_id, seq, kind, payload, from_state, to_state, actor_user_id, actor_role,
               occurred_at, occurred_on, created_at, chain)
             select {id}, x, 'draft_updated', '{{\"type\":\"draft_updated\",\"facts\":{{\"beds\":1}}}}', 'draft', 'draft', 1,
               'institution', '2026-03-02T01:00:00Z', '2026-03-02', '2026-03-02T01:00:00Z', 'bench' from c",
            id = app.id
        ),
        format!("update applications set version = {events} where id = {}", app.id),
    ];
    if db.url.starts_with("postgres") {
        let mut c = sqlx::PgConnection::connect(&db.url).await.unwrap();
        for q in &seed {
            sqlx::query(sqlx::AssertSqlSafe(q.clone())).execute(&mut c).await.unwrap();
        }
    } else {
        let mut c = sqlx::SqliteConnection::connect(&format!("sqlite://{}", db.url)).await.unwrap();
        for q in &seed {
            sqlx::query(sqlx::AssertSqlSafe(q.clone())).execute(&mut c).await.unwrap();
        }
    }
    let facts = |i: i64| {
        let mut m = serde_json::Map::new();
        m.insert("beds".into(), serde_json::Value::from(i % 50 + 1));
        m
    };
    // One warm-up command (it also brings a row stored before this release up to date).
    let mut version =
        store.execute(app.id, &actor, events, &Command::UpdateDraft { facts: facts(0) }, now).await.unwrap().application.version;
    let rounds = 40;
    let t = Instant::now();
    for i in 1..=rounds {
        version = store.execute(app.id, &actor, version, &Command::UpdateDraft { facts: facts(i) }, now).await.unwrap().application.version;
    }
    let per = t.elapsed() / rounds as u32;
    println!(
        "{backend:?}: one command on an application with {events:>5} events: {per:?} ({:.1}x a raw durable commit)",
        per.as_secs_f64() / raw.as_secs_f64()
    );
    store.close().await;
}

async fn import(backend: Backend, n: usize) {
    let (_db, store) = fresh(backend).await;
    let mut csv = String::from("uscc,name,kind,category,city,district,national_code,address,beds\n");
    for i in 0..n {
        let uscc = dingdian_core::ids::Uscc::with_check(&format!("9165010{i:07}MA0")).unwrap();
        csv.push_str(&format!("{uscc},药店{i},pharmacy,零售药店,urumqi,650102,P65010200{:03},地址{i},0\n", i % 1000));
    }
    let t = Instant::now();
    let imported = store.import_institutions(&csv, at("2026-03-02T02:00:00Z")).await.map_err(|e| e.to_string()).unwrap();
    println!("{backend:?}: imported {imported} institutions from CSV in {:?}", t.elapsed());
    store.close().await;
}

#[tokio::main]
async fn main() {
    let mut backends = vec![Backend::Sqlite];
    // PostgreSQL too when asked; the server is the one tests use (DINGDIAN_TEST_PG).
    if std::env::var_os("DINGDIAN_BENCH_PG").is_some() {
        backends.push(Backend::Postgres);
    }
    for b in backends {
        let raw = raw_commit(b).await;
        for events in [15, 305, 2_005] {
            command_cost(b, events, raw).await;
        }
        fire(b, 10_000, raw).await;
        raw_commit(b).await;
        import(b, 10_000).await;
        idle_sweep(b, 10_000).await;
        idle_sweep(b, 1_000_000).await;
    }
}
