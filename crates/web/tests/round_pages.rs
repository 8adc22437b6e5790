//! The agency's round forms (URC-EVAL-1) without JavaScript: create a round, join an
//! application to it from its page, publish the commitment, draw (which starts the site
//! evaluation).

mod common;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use common::TestApp;
use dingdian_store::testing::Backend;
use serde_json::json;

async fn form(t: &TestApp, path: &str, token: &str, fields: &[(&str, String)]) -> (StatusCode, String, Option<String>) {
    t.post_form(path, token, fields).await
}

async fn urc_round_through_the_pages(b: Backend) {
    let t = TestApp::new(b).await;
    let agency = t.login("urc-agency").await;
    let branch = t.login("urc-branch").await;
    let pharmacy = t.login("urc-pharmacy").await;
    let id = t.submitted(&pharmacy).await;
    t.cmd(&branch, id, json!({ "command": "pass_initial_review" })).await;
    t.cmd(&branch, id, json!({ "command": "pass_verification", "sources": { "written_review": { "checked_on": "2026-03-02" } } })).await;
    let departments = ["insurance", "health", "market_regulation"];
    let mut csv = String::from("id,name,department,employer,specialty,active,ties\n");
    for i in 0..6 {
        csv.push_str(&format!("E{i:02},评估员{i},{},单位{i},医疗管理,1,\n", departments[i % 3]));
    }
    let req = Request::builder()
        .method(Method::POST)
        .uri("/api/evaluators/import")
        .header(header::AUTHORIZATION, format!("Bearer {agency}"))
        .header(header::CONTENT_TYPE, "text/csv")
        .body(Body::from(csv))
        .unwrap();
    assert_eq!(t.send(req).await.0, StatusCode::CREATED);

    let (status, _, location) = form(&t, "/rounds", &agency, &[("name", "2026年第九期".into())]).await;
    assert_eq!((status, location.as_deref()), (StatusCode::SEE_OTHER, Some("/rounds?done=create")));
    let round_id = t.store().rounds("urumqi").await.unwrap()[0].id;
    // The application page offers the open round.
    let (_, page) = t.call(Method::GET, &format!("/applications/{id}"), Some(&agency), None).await;
    assert!(page.as_str().unwrap().contains("2026年第九期"), "join form lists the open round");
    let version = t.store().application(id).await.unwrap().unwrap().version;
    let fields =
        [("command", "join_round".to_owned()), ("expected_version:int", version.to_string()), ("round_id:int", round_id.to_string())];
    let (status, _, _) = form(&t, &format!("/applications/{id}/act"), &agency, &fields).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(t.store().application(id).await.unwrap().unwrap().round_id, Some(round_id));

    // Drawing before the commitment is refused on the page, in Chinese.
    let visit = "2026-03-10".to_owned();
    let (status, page, _) =
        form(&t, &format!("/rounds/{round_id}/draw"), &agency, &[("public_value", "472".into()), ("visit_on", visit.clone())]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
    assert!(page.contains("id=\"error-summary\""), "the refusal is shown in the error summary: {page}");
    assert_eq!(form(&t, &format!("/rounds/{round_id}/commit"), &agency, &[]).await.0, StatusCode::SEE_OTHER);
    // Issue #16 item 3: the draw is confirmed on a second page first; nothing is drawn before.
    let fields = [("public_value", "福彩3D 第058期 472".to_owned()), ("visit_on", visit)];
    let (status, page, _) = form(&t, &format!("/rounds/{round_id}/draw"), &agency, &fields).await;
    assert_eq!(status, StatusCode::OK, "{}", page_error(&page));
    assert!(page.contains("请确认：抽取评估人员") && page.contains("不能重新抽取") && !page.contains("休息日"), "{page}");
    assert!(t.store().round_draw(round_id).await.unwrap().unwrap().record.is_none(), "nothing drawn before confirming");
    let mut confirmed = fields.to_vec();
    confirmed.push(("confirmed", "1".to_owned()));
    let (status, _page, _) = form(&t, &format!("/rounds/{round_id}/draw"), &agency, &confirmed).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{}", page_error(&_page));
    let (_, page) = t.call(Method::GET, "/rounds?done=draw", Some(&agency), None).await;
    let page = page.as_str().unwrap().to_owned();
    assert!(page.contains("重新计算一致") && page.contains("已抽取现场评估人员") && page.contains("待分组"), "{page}");
    // The draw starts the site evaluation of every application in the round.
    assert_eq!(t.state_of(id).await, "on_site_evaluation");
    let (status, page, _) = form(&t, &format!("/rounds/{round_id}/start"), &agency, &[]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "a started round is not started twice");
    assert!(page_error(&page).contains("已开始"), "{}", page_error(&page));
    // Only the agency runs rounds.
    let supervisor = t.login("urc-supervisor").await;
    assert_eq!(form(&t, "/rounds", &supervisor, &[("name", "x".into())]).await.0, StatusCode::FORBIDDEN);
}
both!(urc_round_through_the_pages);

fn page_error(page: &str) -> &str {
    page.split("id=\"error-summary\"").nth(1).and_then(|s| s.split("</ul>").next()).unwrap_or(page)
}
