//! G-CLOCKS, G-AUDIT: due timers fire in batches (many per transaction), and each still fires
//! exactly once, with its own event, audit entry, inbox entry and e-mail: with a sweeper process
//! killed between claiming a batch and committing it (the batch written, not committed), and
//! with two sweepers racing for the same timers, on SQLite and PostgreSQL.
//!
//! The killed sweeper is this test binary run again as a child process (the ignored test
//! `killed_sweeper`), which the fault `DINGDIAN_FAULT_CRASH_BEFORE_COMMIT` aborts just before
//! its first batch would commit.

#[path = "../benches/support/mod.rs"]
mod support;

use std::collections::BTreeSet;

use dingdian_core::lifecycle::{AppState, State};
use dingdian_core::policy::Profile;
use dingdian_store::Store;
use dingdian_store::testing::{Backend, TestDb};
use jiff::Timestamp;

/// More than two batches.
const TIMERS: i64 = 450;

/// How many timers a sweep claims and fires in one transaction (`TIMER_BATCH` in the store).
const BATCH: i64 = 200;

fn at(s: &str) -> Timestamp {
    s.parse().expect("timestamp")
}

/// The sweeps' clock: the timers are due (their last day, 2026-03-09, has passed).
const SWEEP: &str = "2026-03-10T02:00:00Z";

/// Runs one SQL statement against the test database with a connection of its own.
async fn sql(url: &str, q: &str) -> i64 {
    use sqlx::Connection;
    let q = sqlx::AssertSqlSafe(q.to_owned());
    if url.starts_with("postgres") {
        let mut c = sqlx::PgConnection::connect(url).await.unwrap();
        if q.0.starts_with("select") {
            sqlx::query_as::<_, (i64,)>(q).fetch_one(&mut c).await.unwrap().0
        } else {
            sqlx::query(q).execute(&mut c).await.unwrap().rows_affected() as i64
        }
    } else {
        let mut c = sqlx::SqliteConnection::connect(&format!("sqlite://{url}")).await.unwrap();
        if q.0.starts_with("select") {
            sqlx::query_as::<_, (i64,)>(q).fetch_one(&mut c).await.unwrap().0
        } else {
            sqlx::query(q).execute(&mut c).await.unwrap().rows_affected() as i64
        }
    }
}

/// A fresh database with `TIMERS` applications whose supplement period ran out (HRB-ACC-2), and
/// one institution account with an e-mail address.
async fn seeded(backend: Backend) -> TestDb {
    let db = TestDb::new(backend).await.unwrap();
    let store = db.open().await.unwrap();
    let now = at("2026-03-02T02:00:00Z");
    for p in Profile::shipped() {
        store.register_profile(p, now).await.unwrap();
    }
    support::institution(&store, "harbin", now).await;
    store.close().await;
    sql(
        &db.url,
        "insert into users (username, username_key, display_name, password_hash, role, city, institution_id, email, created_at, updated_at)
         values ('inst', 'inst', '机构', 'x', 'institution', 'harbin', 1, 'inst@example.com', 'x', 'x')",
    )
    .await;
    let data = serde_json::to_string(&AppState {
        state: State::AwaitingSupplement,
        entered_on: Some("2026-03-02".parse().unwrap()),
        supplement_notices: 1,
        ..AppState::default()
    })
    .unwrap();
    let data = data.replace('\'', "''");
    let version = Profile::shipped().into_iter().find(|p| p.id == "harbin").expect("harbin").version;
    let series = if db.url.starts_with("postgres") {
        format!("generate_series(1, {TIMERS}) as c(x)")
    } else {
        format!("(with recursive c(x) as (select 1 union all select x + 1 from c where x < {TIMERS}) select x from c)")
    };
    sql(
        &db.url,
        &format!(
            "insert into applications (institution_id, city, district, kind, profile_id, profile_version, state, version,
               data, due_on, due_action, created_at, updated_at)
             select 1, 'harbin', '230102', 'medical', 'harbin', '{version}', 'awaiting_supplement', 2, '{data}', '2026-03-09',
               'deem_withdrawn', 'x', 'x' from {series}"
        ),
    )
    .await;
    db
}

/// Sweeps with two stores (two connection pools, as two processes would have) at once; returns
/// what each fired.
async fn race(url: &str, now: Timestamp) -> (Vec<i64>, Vec<i64>) {
    let (a, b) = (Store::open(url).await.unwrap(), Store::open(url).await.unwrap());
    let (ra, rb) = tokio::join!(a.run_due_as("sweeper-a", now), b.run_due_as("sweeper-b", now));
    let (ra, rb) = (ra.unwrap(), rb.unwrap());
    assert!(ra.held.is_empty() && rb.held.is_empty(), "{:?} {:?}", ra.held.first(), rb.held.first());
    a.close().await;
    b.close().await;
    (ra.fired.iter().map(|f| f.0).collect(), rb.fired.iter().map(|f| f.0).collect())
}

/// Each application fired by exactly one of the two, and together they fired `expected`.
fn once_each(a: &[i64], b: &[i64], expected: i64) -> BTreeSet<i64> {
    let all: BTreeSet<i64> = a.iter().chain(b).copied().collect();
    assert_eq!(all.len(), a.len() + b.len(), "no timer fired twice");
    assert_eq!(all.len() as i64, expected);
    all
}

async fn fires_each_timer_once(backend: Backend) {
    let db = seeded(backend).await;
    let leases = "select count(*) from applications where timer_owner = 'killed'";

    // A sweeper killed with its first batch written but not committed: nothing of it stays
    // but its leases.
    let child = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["killed_sweeper", "--exact", "--ignored", "--nocapture", "--test-threads=1"])
        .env("DINGDIAN_TIMERS_TEST_DB", &db.url)
        .env("DINGDIAN_FAULT_CRASH_BEFORE_COMMIT", "1")
        .output()
        .unwrap();
    {
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(child.status.signal(), Some(6), "aborted by the fault: {}", String::from_utf8_lossy(&child.stderr));
    }
    assert_eq!(sql(&db.url, "select count(*) from events").await, 0, "the killed batch left no event");
    assert_eq!(sql(&db.url, "select count(*) from inbox").await, 0);
    assert_eq!(sql(&db.url, "select count(*) from outbox").await, 0);
    assert_eq!(sql(&db.url, "select count(*) from applications where version = 2 and state = 'awaiting_supplement'").await, TIMERS);
    assert_eq!(sql(&db.url, leases).await, BATCH, "the killed sweeper's leases remain");

    // Within the dead sweeper's lease, two racing sweepers fire the other timers, once each.
    let (a, b) = race(&db.url, at("2026-03-10T02:00:30Z")).await;
    let first = once_each(&a, &b, TIMERS - BATCH);
    assert_eq!(sql(&db.url, leases).await, BATCH);

    // Once the lease has run out, two racing sweepers fire the rest, once each.
    let (a, b) = race(&db.url, at("2026-03-10T02:02:00Z")).await;
    let second = once_each(&a, &b, BATCH);
    assert!(first.is_disjoint(&second));
    assert_eq!(sql(&db.url, leases).await, 0);

    // Every timer fired once: one event, one audit entry, one inbox entry and one e-mail each.
    assert_eq!(
        sql(&db.url, "select count(*) from applications where version = 3 and state = 'withdrawn' and due_on is null").await,
        TIMERS
    );
    assert_eq!(sql(&db.url, "select count(*) from events where kind = 'withdrawn' and seq = 3").await, TIMERS);
    assert_eq!(sql(&db.url, "select count(*) from events").await, TIMERS);
    assert_eq!(sql(&db.url, "select count(distinct audit_seq) from events where chain = 'harbin'").await, TIMERS);
    assert_eq!(sql(&db.url, "select count(*) from inbox").await, TIMERS);
    assert_eq!(sql(&db.url, "select count(*) from outbox").await, TIMERS);
    let store = db.open().await.unwrap();
    let audit = store.verify_audit().await.unwrap();
    assert!(audit.ok, "{:?}", audit.first_bad);
    assert_eq!(audit.entries, TIMERS);
    // The clocks read after the batch are those of the events (the stored state changes agree).
    let app = store.application(first.iter().next().copied().unwrap()).await.unwrap().unwrap();
    assert_eq!(app.data.state, State::Withdrawn);

    // Nothing is left to fire.
    let again = store.run_due_as("sweeper-c", at("2026-03-11T02:00:00Z")).await.unwrap();
    assert!(again.fired.is_empty() && again.held.is_empty());
    store.close().await;
}

#[tokio::test]
async fn batch_fires_each_timer_once_with_a_killed_and_two_racing_sweepers_sqlite() {
    fires_each_timer_once(Backend::Sqlite).await;
}

#[tokio::test]
async fn batch_fires_each_timer_once_with_a_killed_and_two_racing_sweepers_postgres() {
    fires_each_timer_once(Backend::Postgres).await;
}

/// The sweeper that the tests above run as a child process and kill (see the module's doc).
#[test]
#[ignore = "a child process of batch_fires_each_timer_once_*, which sets its database and fault"]
fn killed_sweeper() {
    let url = std::env::var("DINGDIAN_TIMERS_TEST_DB").expect("DINGDIAN_TIMERS_TEST_DB");
    assert!(std::env::var_os("DINGDIAN_FAULT_CRASH_BEFORE_COMMIT").is_some());
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let store = Store::open(&url).await.unwrap();
        let _ = store.run_due_as("killed", at(SWEEP)).await;
    });
    panic!("the fault should have aborted the sweeper before its first commit");
}
