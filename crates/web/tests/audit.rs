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
    assert_eq!(heads[0]["hash"], report["head"]);

    // A changed event.
    tamper(&t.db_url, "update events set actor_user_id = 999 where audit_seq = 4").await;
    let r = t.store().verify_audit().await.unwrap();
    assert!(!r.ok);
    assert_eq!(r.first_bad.as_ref().unwrap().audit_seq, 4, "{r:?}");
    assert!(r.first_bad.unwrap().reason.contains("changed"));
    let (_, page) = t.call(Method::GET, "/audit/verify", Some(&supervisor), None).await;
    assert!(page.as_str().unwrap().contains("校验未通过：第 4 条记录"), "{page}");
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
