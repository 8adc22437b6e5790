//! Input at the ends of the calendar reaches the pages and the API without dropping the
//! connection (issue 13, item 6): an operating date of 9999-12-01 saved on a draft used to panic
//! the application page and the submission (LAW-MONTH counting in HRB-COND-1).

#[macro_use]
mod common;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use common::TestApp;
use dingdian_store::testing::Backend;
use serde_json::json;

/// GET a page with a bearer token: (status, body text).
async fn page(t: &TestApp, path: &str, token: &str) -> (StatusCode, String) {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let req = Request::builder().uri(path).header(header::AUTHORIZATION, format!("Bearer {token}")).body(Body::empty()).unwrap();
    let resp = t.router.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

async fn hrb_cond_1_operating_since_year_9999_is_served(b: Backend) {
    let t = TestApp::new(b).await;
    let inst = t.login("hrb-hospital").await;
    let (status, body) = t.call(Method::POST, "/api/applications", Some(&inst), None).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let id = body["id"].as_i64().unwrap();
    let mut facts = common::full_facts("H23010200001");
    facts["operating_since"] = json!("9999-12-01");
    t.cmd(&inst, id, json!({ "command": "update_draft", "facts": facts })).await;

    let read = t.get_app(&inst, id).await;
    assert_eq!(read["application"]["state"], "draft", "{read}");
    let (status, html) = page(&t, &format!("/applications/{id}"), &inst).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("9999-12-01"), "the page shows the declared date");

    // Harbin flags unmet conditions at submission: the finding explains the date, nothing panics.
    let (status, body) = t.try_cmd(&inst, id, json!({ "command": "submit" })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let unmet = body["application"]["data"]["unmet_conditions"].to_string();
    assert!(unmet.contains("HRB-COND-1") && unmet.contains("超出可计算的日期范围"), "{body}");
    let (status, html) = page(&t, &format!("/applications/{id}"), &inst).await;
    assert_eq!(status, StatusCode::OK, "{html}");
}
both!(hrb_cond_1_operating_since_year_9999_is_served);

/// A page form whose field name nests thousands of levels deep (about 10 KB of dots) used to
/// overflow the stack and abort the whole server; it is refused like any bad field, and
/// changes nothing.
async fn a_deeply_nested_form_field_is_refused(b: Backend) {
    let t = TestApp::new(b).await;
    let inst = t.login("hrb-hospital").await;
    let (_, body) = t.call(Method::POST, "/api/applications", Some(&inst), None).await;
    let id = body["id"].as_i64().unwrap();
    let deep = format!("facts{}:str", ".a".repeat(5_000));
    let fields = [("command", "update_draft".to_owned()), ("expected_version:int", "0".into()), (deep.as_str(), "x".into())];
    let (status, html, _) = t.post_form(&format!("/applications/{id}/act"), &inst, &fields).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
    assert!(html.contains("表单字段名无效"), "{html}");
    assert_eq!(t.get_app(&inst, id).await["application"]["version"], 0, "nothing changed");
    // The normal depth still works.
    let fields = [("command", "update_draft".to_owned()), ("expected_version:int", "0".into()), ("facts.beds:int", "12".into())];
    let (status, _, _) = t.post_form(&format!("/applications/{id}/act"), &inst, &fields).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
}
both!(a_deeply_nested_form_field_is_refused);
