//! What the public sees without signing in: progress by number and query code (HRB-QUERY), the
//! notices and their Atom feed (HRB-NOTICE) — and never a resident ID number, a phone number or
//! an internal note.

#[macro_use]
mod common;

use axum::http::{Method, StatusCode};
use common::TestApp;
use dingdian_store::testing::Backend;
use serde_json::json;

async fn public_pages_show_progress_and_notices_but_nothing_private(b: Backend) {
    let t = TestApp::new(b).await;
    let hosp = t.login("hrb-hospital").await;
    let agency = t.login("hrb-agency").await;
    let expert = t.login("hrb-expert").await;
    let id = t.submitted(&hosp).await;
    let inst_id = t.store().application(id).await.unwrap().unwrap().institution_id;

    // Private things that must never reach a public page.
    let rid = "230102198001011236";
    let (status, body) = t
        .call(
            Method::POST,
            &format!("/api/institutions/{inst_id}/persons"),
            Some(&agency),
            Some(json!({ "resident_id": rid, "name": "张三", "role": "legal_representative" })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let secret_note = "内部备注：联系电话 13912345678";
    t.call(
        Method::POST,
        &format!("/api/institutions/{inst_id}/records"),
        Some(&agency),
        Some(json!({ "kind": "penalty", "occurred_on": "2025-01-01", "fulfilled": true, "source": "内部核查", "note": secret_note })),
    )
    .await;
    t.cmd(
        &agency,
        id,
        json!({ "command": "issue_supplement_notice", "items": [{ "slot": "licence", "problem": "missing", "reason": secret_note }] }),
    )
    .await;
    t.upload_pdf(&hosp, id, "licence").await;
    t.cmd(&hosp, id, json!({ "command": "supplement" })).await;
    t.cmd(&agency, id, json!({ "command": "accept" })).await;
    t.cmd(&agency, id, json!({ "command": "schedule_evaluation", "note": secret_note })).await;
    t.cmd(&agency, id, json!({ "command": "record_site_evaluation", "score": 88, "notes": secret_note })).await;
    t.cmd(&expert, id, json!({ "command": "record_expert_review", "recommendation": "pass" })).await;
    assert_eq!(t.cmd(&agency, id, json!({ "command": "publish_notice" })).await, "public_notice");

    // HRB-QUERY.
    let view = t.get_app(&hosp, id).await;
    let code = view["query_code"].as_str().expect("the institution sees its query code").to_owned();
    let number = view["application"]["number"].as_str().unwrap().to_owned();
    let (status, page) = t.call(Method::GET, &format!("/query?number={number}&code={}", code.to_lowercase()), None, None).await;
    assert_eq!(status, StatusCode::OK);
    let page = page.as_str().unwrap().to_owned();
    assert!(page.contains("当前环节：<strong>公示中</strong>") && page.contains("2026-03-09 24:00"), "{page}");
    let (status, wrong) = t.call(Method::GET, &format!("/query?number={number}&code=WRONG"), None, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(wrong.as_str().unwrap().contains("未找到"));

    // HRB-NOTICE: the notice and the feed.
    let (status, notices) = t.call(Method::GET, "/notices", None, None).await;
    assert_eq!(status, StatusCode::OK);
    let notices = notices.as_str().unwrap().to_owned();
    assert!(notices.contains("hrb-hospital") && notices.contains("2026-03-09 24:00") && notices.contains("公示中"), "{notices}");
    let (status, feed) = t.call(Method::GET, "/notices.atom", None, None).await;
    assert_eq!(status, StatusCode::OK);
    let feed = feed.as_str().unwrap().to_owned();
    assert!(feed.starts_with("<?xml") && feed.contains("<entry>") && feed.contains("公示：hrb-hospital"), "{feed}");

    // Every public page and feed: nothing private.
    let pages = [
        "/".to_owned(),
        "/login".to_owned(),
        "/audit".to_owned(),
        "/notices".to_owned(),
        "/notices.atom".to_owned(),
        format!("/query?number={number}&code={code}"),
        "/api/audit/heads".to_owned(),
        "/api/calendar".to_owned(),
        "/api/openapi.json".to_owned(),
        "/healthz".to_owned(),
    ];
    for path in pages {
        let (status, body) = t.call(Method::GET, &path, None, None).await;
        assert!(status.is_success(), "{path}: {status}");
        let text = body.to_string();
        for private in [rid, "13912345678", "内部备注", "张三", "内部核查"] {
            assert!(!text.contains(private), "{path} shows {private}");
        }
    }
    // And the query code is not shown to an evaluator or expert.
    let view = t.get_app(&expert, id).await;
    assert!(view["query_code"].is_null());
}
both!(public_pages_show_progress_and_notices_but_nothing_private);

// HRB-HOTLINE / URC-CHANNEL: the public sees each city's channels, taken from its profile — on
// the home page, the notices and their feed, the progress query and the complaint pages; an
// application's own pages name its own city's.
async fn hrb_hotline_and_urc_channel_on_the_public_pages(b: Backend) {
    let t = TestApp::new(b).await;
    for path in ["/", "/notices", "/query", "/complaints/new"] {
        let (status, page) = t.call(Method::GET, path, None, None).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        let page = page.as_str().unwrap();
        assert!(page.contains("咨询与监督") && page.contains("哈尔滨市：监督电话：0451-12393"), "{path}: {page}");
        assert!(page.contains("通知 QQ 群：656693658"), "{path}: {page}");
    }
    let hosp = t.login("hrb-hospital").await;
    let agency = t.login("hrb-agency").await;
    let expert = t.login("hrb-expert").await;
    let id = t.submitted(&hosp).await;
    t.cmd(&agency, id, json!({ "command": "accept" })).await;
    t.cmd(&agency, id, json!({ "command": "schedule_evaluation" })).await;
    t.cmd(&agency, id, json!({ "command": "record_site_evaluation", "score": 88 })).await;
    t.cmd(&expert, id, json!({ "command": "record_expert_review", "recommendation": "pass" })).await;
    t.cmd(&agency, id, json!({ "command": "publish_notice" })).await;
    let (_, feed) = t.call(Method::GET, "/notices.atom", None, None).await;
    assert!(feed.as_str().unwrap().contains("咨询与监督：监督电话：0451-12393。</summary>"), "{feed}");
    let view = t.get_app(&hosp, id).await;
    let (code, number) = (view["query_code"].as_str().unwrap().to_owned(), view["application"]["number"].as_str().unwrap().to_owned());
    let (_, page) = t.call(Method::GET, &format!("/query?number={number}&code={code}"), None, None).await;
    let page = page.as_str().unwrap();
    assert!(page.contains("0451-12393") && !page.contains("656693658"), "only Harbin's channels for a Harbin application: {page}");
}
both!(hrb_hotline_and_urc_channel_on_the_public_pages);
