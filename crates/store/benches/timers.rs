//! Timer benchmarks (run by hand: `cargo bench -p dingdian-store --bench timers`; add
//! `DINGDIAN_BENCH_PG=postgres://postgres@127.0.0.1:5432/test` for PostgreSQL). Reports:
//! - the time to fire 10,000 due timers through the full command path;
//! - the cost of an idle sweep (nothing due) with 10,000 and with 1,000,000 open deadlines,
//!   which must not grow with the number of open deadlines (partial index on `due_on`).
//!
//! Rows are seeded with plain SQL so the benchmark measures the sweep, not the seeding.

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
    let sql = format!(
        "with recursive c(x) as (select 1 union all select x + 1 from c where x < {n})
         insert into applications (institution_id, city, district, kind, profile_id, profile_version, state, version,
           data, due_on, due_action, created_at, updated_at)
         select 1, 'harbin', '230102', 'medical', 'harbin', '2026.1', 'awaiting_supplement', 2, $1, $2, 'deem_withdrawn', 'x', 'x' from c"
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
    let uscc = dingdian_core::ids::Uscc::with_check("91230102MA0000000").unwrap();
    store
        .ensure_institution(
            dingdian_store::NewInstitution {
                uscc: &uscc,
                name: "基准机构",
                kind: dingdian_core::policy::InstitutionKind::Medical,
                category: "诊所",
                city: "harbin",
                district: "230102",
                national_code: None,
                address: "-",
                beds: 0,
            },
            now,
        )
        .await
        .unwrap();
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

async fn fire(backend: Backend, n: i64) {
    let (db, store) = fresh(backend).await;
    seed(&db.url, n, "2026-03-09", "2026-03-02").await;
    let now = at("2026-03-10T02:00:00Z");
    let t = Instant::now();
    let report = store.run_due(now).await.unwrap();
    let took = t.elapsed();
    assert_eq!(report.fired.len() as i64, n, "held: {:?}", report.held.first());
    println!("{backend:?}: fired {n} due timers in {took:?} ({:.0} per second)", n as f64 / took.as_secs_f64());
    store.close().await;
}

#[tokio::main]
async fn main() {
    let mut backends = vec![Backend::Sqlite];
    if let Ok(url) = std::env::var("DINGDIAN_BENCH_PG") {
        // SAFETY-free: TestDb reads the server from DINGDIAN_TEST_PG.
        if std::env::var_os("DINGDIAN_TEST_PG").is_none() {
            println!("using {url} (set DINGDIAN_TEST_PG to the same URL to be explicit)");
        }
        backends.push(Backend::Postgres);
    }
    for b in backends {
        fire(b, 10_000).await;
        idle_sweep(b, 10_000).await;
        idle_sweep(b, 1_000_000).await;
    }
}
