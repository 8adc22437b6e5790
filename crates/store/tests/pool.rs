//! The connection pool is sized by `PoolSettings` on both backends, and a size out of range is
//! refused before anything is opened.

use dingdian_store::testing::{Backend, TestDb};
use dingdian_store::{PoolSettings, Schema, Store, StoreError};

async fn pool_max(backend: Backend, settings: PoolSettings) -> u32 {
    let db = TestDb::new(backend).await.expect("test database (is PostgreSQL running?)");
    let store = Store::open_with_pool(&db.url, Schema::Upgrade, settings).await.expect("open");
    let today = jiff::civil::date(2026, 12, 1);
    let max = store.snapshot(today).await.expect("snapshot").pool_max;
    store.close().await;
    max
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configured_pool_size_is_used_on_both_backends() {
    let three = PoolSettings::new(Some(3), Some(7)).expect("in range");
    assert_eq!(pool_max(Backend::Sqlite, three).await, 3);
    assert_eq!(pool_max(Backend::Postgres, three).await, 3);
    assert_eq!(pool_max(Backend::Sqlite, PoolSettings::default()).await, PoolSettings::SQLITE_MAX_CONNECTIONS);
    assert_eq!(pool_max(Backend::Postgres, PoolSettings::default()).await, PoolSettings::POSTGRES_MAX_CONNECTIONS);
}

#[test]
fn pool_settings_out_of_range_are_refused() {
    for (max, secs) in [(Some(0), None), (Some(1001), None), (None, Some(0)), (None, Some(3601))] {
        match PoolSettings::new(max, secs) {
            Err(StoreError::Rejected { code: "pool_settings", message }) => assert!(message.contains("must be"), "{message}"),
            other => panic!("{max:?} {secs:?} accepted: {other:?}"),
        }
    }
    assert!(PoolSettings::new(Some(1), Some(1)).is_ok());
    assert!(PoolSettings::new(Some(1000), Some(3600)).is_ok());
}
