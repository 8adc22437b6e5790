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
