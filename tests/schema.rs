//! Only `dingdian migrate` (and `serve`, which upgrades the embedded database by default)
//! changes the schema (issue: operable in production): a newer binary's `audit verify` or
//! `user list` refuses a database with an older schema, with a clear message, and leaves it as
//! it was; `migrate` upgrades it, then every command works.

mod support;

use support::{dingdian, http, start};

/// Makes a migrated embedded database look like one of the release before the latest
/// migration (0022 added the readiness table).
async fn downgrade(db: &std::path::Path) {
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display())).await.unwrap();
    sqlx::query("drop table readiness").execute(&pool).await.unwrap();
    sqlx::query("delete from _sqlx_migrations where version = 22").execute(&pool).await.unwrap();
    pool.close().await;
}

async fn has_readiness_table(db: &std::path::Path) -> bool {
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display())).await.unwrap();
    let (n,): (i64,) = sqlx::query_as("select count(*) from sqlite_master where name = 'readiness'").fetch_one(&pool).await.unwrap();
    pool.close().await;
    n == 1
}

#[tokio::test]
async fn only_migrate_and_serve_upgrade_the_schema() {
    let dir = std::env::temp_dir().join(format!("dingdian-schema-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let db = dir.join("dingdian.db");
    let run = |args: &[&str]| dingdian().args(args).arg("--data-dir").arg(&dir).output().unwrap();
    assert!(run(&["migrate"]).status.success());
    downgrade(&db).await;

    for args in [&["audit", "verify"][..], &["user", "list"][..], &["check"][..]] {
        let out = run(args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} ran on an older schema");
        assert!(err.contains("older than this dingdian") && err.contains("dingdian migrate"), "{args:?}: {err}");
        assert!(!has_readiness_table(&db).await, "{args:?} changed the schema");
    }
    let out = run(&["migrate"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(has_readiness_table(&db).await);
    assert!(run(&["audit", "verify"]).status.success());

    // `serve` upgrades the embedded database by itself.
    downgrade(&db).await;
    let (mut child, port) = start(&dir);
    assert_eq!(http(port, "GET", "/readyz", None, None).map(|r| r.0), Some(200));
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(has_readiness_table(&db).await);
    let _ = std::fs::remove_dir_all(&dir);
}
