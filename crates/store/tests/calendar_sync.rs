//! LAW-WD across instances (issue: operable in production): a calendar year loaded or replaced
//! through one instance is what every other instance counts with after its next timer sweep
//! (`sync_calendar`), without a restart.

use dingdian_store::testing::{Backend, TestDb};

const FIRST: &str = r#"year = 2027
source = "国务院办公厅关于2027年部分节假日安排的通知"

[[holidays]]
name = "元旦"
from = "2027-01-01"
to = "2027-01-03"
"#;

/// The corrected notice: 元旦 one day longer (2027-01-04, a Monday, becomes a holiday).
const CORRECTED: &str = r#"year = 2027
source = "国务院办公厅关于2027年部分节假日安排的通知（更正）"

[[holidays]]
name = "元旦"
from = "2027-01-01"
to = "2027-01-04"
"#;

async fn replaced_year_reaches_every_instance(b: Backend) {
    let db = TestDb::new(b).await.expect("test database (is PostgreSQL running?)");
    let a = db.open().await.unwrap();
    let b = db.open().await.unwrap();
    let now = jiff::Timestamp::from_second(1_790_000_000).unwrap();
    let monday = jiff::civil::date(2027, 1, 4);
    assert!(!b.calendar().has_year(2027));

    a.load_calendar_year("2027.toml", FIRST, None, now).await.unwrap();
    b.sync_calendar().await.unwrap();
    assert_eq!(b.calendar().is_working_day(monday), Ok(true), "the first notice reached instance b");

    a.load_calendar_year("2027.toml", CORRECTED, None, now).await.unwrap();
    assert_eq!(b.calendar().is_working_day(monday), Ok(true), "b has not swept yet");
    b.sync_calendar().await.unwrap();
    assert_eq!(b.calendar().is_working_day(monday), Ok(false), "the correction reached instance b within one sweep");
    // A sweep with nothing new changes nothing.
    b.sync_calendar().await.unwrap();
    assert_eq!(b.calendar().is_working_day(monday), Ok(false));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn law_wd_replaced_year_reaches_every_instance_sqlite() {
    replaced_year_reaches_every_instance(Backend::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn law_wd_replaced_year_reaches_every_instance_postgres() {
    replaced_year_reaches_every_instance(Backend::Postgres).await
}
