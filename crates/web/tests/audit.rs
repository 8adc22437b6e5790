//! G-AUDIT: the audit chain verifies on real data and detects a single changed, deleted or
//! reordered event; the supervisor runs the check; daily heads are public.

#[macro_use]
mod common;

use axum::http::{Method, StatusCode};
use common::TestApp;
use dingdian_store::testing::Backend;
use serde_json::json;

async fn tamper(url: &str, sql: &str) {
    use sqlx::Connection;
    if url.starts_with("postgres") {
        let mut c = sqlx::PgConnection::connect(url).await.unwrap();
        for stmt in sql.split(';').filter(|s| !s.trim().is_empty()) {
            sqlx::query(sqlx::AssertSqlSafe(stmt.to_owned())).execute(&mut c).await.unwrap();
        }
    } else {
        let mut c = sqlx::SqliteConnection::connect(&format!("sqlite://{url}")).await.unwrap();
        for stmt in sql.split(';').filter(|s| !s.trim().is_empty()) {
            sqlx::query(sqlx::AssertSqlSafe(stmt.to_owned())).execute(&mut c).await.unwrap();
        }
    }
}

async fn g_audit_chain_detects_tampering(b: Backend) {
    let t = TestApp::new(b).await;
    let hosp = t.login("hrb-hospital").await;
    let agency = t.login("hrb-agency").await;
    let supervisor = t.login("hrb-supervisor").await;
    let id = t.submitted(&hosp).await;
    t.cmd(&agency, id, json!({ "command": "accept" })).await;
    t.cmd(&agency, id, json!({ "command": "schedule_evaluation" })).await;
    let other = t.submitted(&t.login("hrb-clinic").await).await;
    t.cmd(&agency, other, json!({ "command": "reject", "reasons": [{ "text": "不符合" }] })).await;

    let (status, report) = t.call(Method::GET, "/api/audit/verify", Some(&supervisor), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["entries"], 7);
    let (status, body) = t.call(Method::GET, "/api/audit/verify", Some(&agency), None).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::FORBIDDEN, Some("not_your_role")));
    let (status, page) = t.call(Method::GET, "/audit/verify", Some(&supervisor), None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.as_str().unwrap().contains("校验通过：共 7 条记录"), "{page}");
    let (status, heads) = t.call(Method::GET, "/api/audit/heads", None, None).await;
    assert_eq!(status, StatusCode::OK, "public");
    let harbin = report["chains"].as_array().unwrap().iter().find(|c| c["chain"] == "harbin").expect("Harbin's chain").clone();
    assert_eq!(harbin["entries"], 7, "{report}");
    assert_eq!(heads[0]["chain"], "harbin");
    assert_eq!(heads[0]["hash"], harbin["head"]);

    // A changed event.
    tamper(&t.db_url, "update events set actor_user_id = 999 where audit_seq = 4").await;
    let r = t.store().verify_audit().await.unwrap();
    assert!(!r.ok);
    assert_eq!(r.first_bad.as_ref().unwrap().audit_seq, 4, "{r:?}");
    assert!(r.first_bad.unwrap().reason.contains("changed"));
    let (_, page) = t.call(Method::GET, "/audit/verify", Some(&supervisor), None).await;
    assert!(page.as_str().unwrap().contains("校验未通过：哈尔滨市的第 4 条记录"), "{page}");
    tamper(&t.db_url, "update events set actor_user_id = (select id from users where username = 'hrb-agency') where audit_seq = 4").await;
    assert!(t.store().verify_audit().await.unwrap().ok, "restored");

    // Two events swapped in order.
    tamper(&t.db_url, "update events set audit_seq = -1 where audit_seq = 5; update events set audit_seq = 5 where audit_seq = 6; update events set audit_seq = 6 where audit_seq = -1").await;
    let r = t.store().verify_audit().await.unwrap();
    assert_eq!(r.first_bad.as_ref().map(|b| b.audit_seq), Some(5), "{r:?}");
    tamper(&t.db_url, "update events set audit_seq = -1 where audit_seq = 5; update events set audit_seq = 5 where audit_seq = 6; update events set audit_seq = 6 where audit_seq = -1").await;
    assert!(t.store().verify_audit().await.unwrap().ok, "restored");

    // A deleted event, in the middle and at the end.
    tamper(&t.db_url, "delete from events where audit_seq = 7").await;
    let r = t.store().verify_audit().await.unwrap();
    assert!(!r.ok && r.first_bad.unwrap().reason.contains("removed"), "deleting the last entry shows against the head");
    tamper(&t.db_url, "delete from events where audit_seq = 3").await;
    let r = t.store().verify_audit().await.unwrap();
    assert_eq!(r.first_bad.map(|b| b.audit_seq), Some(4));
}
both!(g_audit_chain_detects_tampering);

/// Issue "operable in production", item 6: each city has its own chain, numbered from 1; both
/// verify; an entry moved to another city's chain, or a whole city's chain removed, shows.
async fn g_audit_one_chain_per_city(b: Backend) {
    let t = TestApp::new(b).await;
    let hrb = t.submitted(&t.login("hrb-hospital").await).await;
    t.cmd(&t.login("hrb-agency").await, hrb, json!({ "command": "accept" })).await;
    t.submitted(&t.login("urc-pharmacy").await).await;
    // Each chain numbers its entries from 1 (verification checks the sequence).
    let r = t.store().verify_audit().await.unwrap();
    assert!(r.ok, "{r:?}");
    let chains: Vec<(&str, i64)> = r.chains.iter().map(|c| (c.chain.as_str(), c.entries)).collect();
    assert_eq!(chains.iter().find(|c| c.0 == "harbin").map(|c| c.1), Some(3), "{chains:?}");
    assert_eq!(chains.iter().find(|c| c.0 == "urumqi").map(|c| c.1), Some(2), "{chains:?}");
    let (_, heads) = t.call(Method::GET, "/api/audit/heads", None, None).await;
    let heads = heads.as_array().unwrap();
    assert!(heads.iter().any(|h| h["chain"] == "harbin" && h["seq"] == 3), "{heads:?}");
    assert!(heads.iter().any(|h| h["chain"] == "urumqi" && h["seq"] == 2), "{heads:?}");
    let (_, page) = t.call(Method::GET, "/audit", None, None).await;
    let page = page.as_str().unwrap().to_owned();
    assert!(page.contains("哈尔滨市") && page.contains("乌鲁木齐市"), "{page}");

    // An entry moved into the other city's chain (renumbered to fit) does not verify: the chain
    // is part of what the hash covers.
    tamper(&t.db_url, "update events set chain = 'urumqi', audit_seq = 3 where chain = 'harbin' and audit_seq = 3").await;
    let r = t.store().verify_audit().await.unwrap();
    assert!(!r.ok, "{r:?}");
    tamper(&t.db_url, "update events set chain = 'harbin', audit_seq = 3 where chain = 'urumqi' and audit_seq = 3").await;
    assert!(t.store().verify_audit().await.unwrap().ok, "restored");

    // A whole city's chain removed shows against its head.
    tamper(&t.db_url, "delete from events where chain = 'urumqi'").await;
    let r = t.store().verify_audit().await.unwrap();
    let bad = r.first_bad.expect("the removed chain shows");
    assert_eq!(bad.chain, "urumqi");
    assert!(bad.reason.contains("removed"), "{}", bad.reason);
}
both!(g_audit_one_chain_per_city);

/// Issue "operable in production", item 6: while one city's chain head is locked (a long write
/// in Harbin), a command of another city commits — writes of different cities never queue on
/// one row. PostgreSQL only: SQLite writes one transaction at a time by design.
#[tokio::test]
async fn g_audit_writes_of_different_cities_do_not_wait_for_each_other() {
    use sqlx::Connection;
    let t = TestApp::new(Backend::Postgres).await;
    let hrb = t.submitted(&t.login("hrb-hospital").await).await;
    let urc_pharmacy = t.login("urc-pharmacy").await;
    let mut holder = sqlx::PgConnection::connect(&t.db_url).await.unwrap();
    sqlx::query("begin").execute(&mut holder).await.unwrap();
    sqlx::query("select seq from audit_heads where chain = 'harbin' for update").execute(&mut holder).await.unwrap();
    // Bounded, not a sleep: the command either commits at once or the test fails.
    let done = tokio::time::timeout(std::time::Duration::from_secs(20), t.submitted(&urc_pharmacy)).await;
    assert!(done.is_ok(), "an Urumqi application waited for Harbin's chain");
    sqlx::query("rollback").execute(&mut holder).await.unwrap();
    t.cmd(&t.login("hrb-agency").await, hrb, json!({ "command": "accept" })).await;
    assert!(t.store().verify_audit().await.unwrap().ok);
}
