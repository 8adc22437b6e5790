//! Issue "a public service people can use", item 7: the application form follows the applicant's
//! kind — a pharmacy never sees hospital fields — and the negative declarations are separate
//! yes/no questions, not checkboxes among the conditions ("tick all" must not declare a violation).

#[macro_use]
mod common;

use axum::http::{Method, StatusCode};
use common::TestApp;
use dingdian_store::testing::Backend;

async fn draft_page(t: &TestApp, user: &str) -> String {
    let token = t.login(user).await;
    let (status, body) = t.call(Method::POST, "/api/applications", Some(&token), None).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let id = body["id"].as_i64().unwrap();
    t.get_text(&format!("/applications/{id}"), &token).await.1
}

async fn form_follows_the_kind(b: Backend) {
    let t = TestApp::new(b).await;
    let pharmacy = draft_page(&t, "urc-pharmacy").await;
    for hospital in ["核定床位数", "首注医师人数", "医院信息系统", "设有医保管理部门", "非基本医疗服务"] {
        assert!(!pharmacy.contains(hospital), "a pharmacy is not asked {hospital}: {pharmacy}");
    }
    assert!(pharmacy.contains("药学技术人员") && pharmacy.contains("信息系统符合医保接口标准"), "{pharmacy}");

    let clinic = draft_page(&t, "urc-clinic").await;
    // URC-REJ-MED-1/-2: asked as their own yes/no questions, with radio buttons.
    assert!(clinic.contains("主要执业范围是否为医疗美容、辅助生殖、生活照护、种植牙等非基本医疗服务？"), "{clinic}");
    assert!(clinic.contains(r#"type="radio" name="facts.non_basic_main_practice:bool" value="false" checked"#), "{clinic}");
    assert!(!clinic.contains(r#"type="checkbox" name="facts.non_basic_main_practice:bool""#), "{clinic}");
    assert!(!clinic.contains(r#"type="checkbox" name="facts.price_policy_violation:bool""#), "{clinic}");

    let hospital = draft_page(&t, "hrb-hospital").await;
    assert!(hospital.contains("核定床位数") && hospital.contains("首注医师人数"), "{hospital}");
}
both!(form_follows_the_kind);

/// Issue #16 item 2: the application page opens with the step bar from the profile's steps,
/// where the application stands, and each time limit beside its stage (HRB-ACC-1: working days).
async fn step_bar_with_limits_beside_their_stage(b: Backend) {
    let t = TestApp::new(b).await;
    let inst = t.login("hrb-hospital").await;
    let id = t.submitted(&inst).await;
    let (_, page) = t.get_text(&format!("/applications/{id}"), &inst).await;
    let bar =
        page.split(r#"<nav aria-label="办理进度" class="stepbar">"#).nth(1).and_then(|r| r.split("</nav>").next()).expect("a step bar");
    for stage in ["填报", "提交", "受理", "评估", "公示", "签约前准备", "签约"] {
        assert!(bar.contains(&format!(r#"<span class="step-name">{stage}</span>"#)), "{stage}: {bar}");
    }
    assert!(!bar.contains(r#"<span class="step-name">审核</span>"#), "Harbin has no separate review stage: {bar}");
    let current = bar.split(r#"aria-current="step""#).nth(1).expect("a current stage");
    assert!(current.starts_with(r#"><span class="step-name">受理</span>"#), "{bar}");
    assert!(current.contains("工作日，截止 2026-03-09"), "the acceptance limit beside 受理, in working days: {bar}");

    // The public progress query shows the same bar, and no rule IDs.
    let number = t.store().application(id).await.unwrap().unwrap().number;
    let code = t.store().query_code(id).await.unwrap().expect("query code");
    let (status, query) = t.call(Method::GET, &format!("/query?number={number}&code={code}"), None, None).await;
    assert_eq!(status, StatusCode::OK);
    let query = query.as_str().unwrap();
    assert!(query.contains(r#"aria-current="step"><span class="step-name">受理</span>"#), "{query}");
    assert!(!query.contains("HRB-"), "no rule IDs for the public: {query}");

    let urc = t.submitted(&t.login("urc-pharmacy").await).await;
    let (_, page) = t.get_text(&format!("/applications/{urc}"), &t.login("urc-agency").await).await;
    assert!(
        page.contains(r#"<span class="step-name">审核</span>"#) && !page.contains(r#"<span class="step-name">签约前准备</span>"#),
        "Urumqi's own stages"
    );
}
both!(step_bar_with_limits_beside_their_stage);
