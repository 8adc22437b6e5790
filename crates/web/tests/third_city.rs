//! G-PROFILE: a city is a file. A third city, unlike both shipped ones, is loaded from
//! `fixtures/third_city.toml` beside them and runs through the real router and JSON API — the
//! registry's checks, an application from creation to the signed agreement, the notices, the
//! documents and the pages — with nothing in the code naming it.

#[macro_use]
mod common;

use axum::http::{Method, StatusCode};
use common::{PASSWORD, TestApp, pdf};
use dingdian_core::ids::Uscc;
use dingdian_core::lifecycle::Role;
use dingdian_core::policy::Profile;
use dingdian_store::NewUser;
use dingdian_store::testing::Backend;
use serde_json::{Value, json};

const THIRD: &str = include_str!("fixtures/third_city.toml");
const CITY: &str = "shifan";

/// The test app with the third city's profile registered beside the shipped ones, and its staff.
async fn third_city_app(b: Backend) -> TestApp {
    let t = TestApp::new(b).await;
    let profile = Profile::parse("fixtures/third_city.toml", THIRD).unwrap_or_else(|e| panic!("{e:#?}"));
    t.store().register_profile(profile, t.now()).await.expect("register the third city");
    for (username, role) in [("sfn-agency", Role::Agency), ("sfn-expert", Role::Expert)] {
        let u = NewUser { username, display_name: username, password: PASSWORD, role, city: CITY, district: None, institution_id: None };
        t.store().ensure_user(u, t.now()).await.expect("staff");
    }
    t
}

fn institution(uscc: &Uscc, kind: &str, category: &str, district: &str) -> Value {
    json!({
        "uscc": uscc.as_str(), "name": "示范市东城惠民大药房", "kind": kind, "category": category, "city": CITY,
        "district": district, "national_code": "P99010200001", "address": "示范市东城区和平路 8 号", "beds": 0
    })
}

/// Facts meeting the third city's conditions (SFN-COND-1…3), operating since `since`.
fn facts(since: &str) -> Value {
    json!({
        "operating_since": since, "national_code": "P99010200001",
        "pharmacists": [{ "name": "药师甲", "contract_start": "2025-01-01" }],
        "systems": [], "equipment": []
    })
}

fn squeeze(text: &str) -> String {
    text.split_whitespace().collect()
}

async fn pdf_text(t: &TestApp, token: &str, path: &str) -> String {
    let req = axum::http::Request::builder()
        .uri(path)
        .header(axum::http::header::AUTHORIZATION, format!("Bearer {token}"))
        .body(axum::body::Body::empty())
        .unwrap();
    let resp = tower::ServiceExt::oneshot(t.router.clone(), req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK, "{path}");
    let bytes = http_body_util::BodyExt::collect(resp.into_body()).await.unwrap().to_bytes();
    squeeze(&pdf_extract::extract_text_from_mem(&bytes).expect("a PDF"))
}

async fn g_profile_third_city_pharmacy_from_registry_to_signed_agreement(b: Backend) {
    let t = third_city_app(b).await;
    let agency = t.login("sfn-agency").await;
    let expert = t.login("sfn-expert").await;
    let uscc = Uscc::with_check("91990102MA1X2Y3W4").unwrap();

    // The registry checks the third city's own scope, categories and districts.
    let create = |body: Value| t.call(Method::POST, "/api/institutions", Some(&agency), Some(body));
    for (body, want) in [
        (institution(&uscc, "medical", "诊所", "990102"), "不受理医疗机构（SFN-SCOPE）"),
        (institution(&uscc, "pharmacy", "诊所", "990102"), "（SFN-ELIG）"),
        (institution(&uscc, "pharmacy", "零售药店", "990199"), "不是示范市的区县"),
    ] {
        let (status, err) = create(body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
        assert!(err["message"].as_str().unwrap().contains(want), "{want}: {err}");
    }
    let (status, inst) = create(institution(&uscc, "pharmacy", "连锁药店门店", "990102")).await;
    assert_eq!(status, StatusCode::CREATED, "{inst}");
    let inst_id = inst["id"].as_i64().unwrap();
    let u = NewUser {
        username: "sfn-pharmacy",
        display_name: "惠民大药房",
        password: PASSWORD,
        role: Role::Institution,
        city: CITY,
        district: None,
        institution_id: Some(inst_id),
    };
    t.store().ensure_user(u, t.now()).await.unwrap();
    let pharmacy = t.login("sfn-pharmacy").await;

    // Apply: the profile's materials; unmet conditions refuse the submission here (SFN-COND-1).
    let (status, app) = t.call(Method::POST, "/api/applications", Some(&pharmacy), None).await;
    assert_eq!(status, StatusCode::CREATED, "{app}");
    assert_eq!((app["city"].as_str(), app["profile_version"].as_str()), (Some(CITY), Some("2026.1")));
    let id = app["id"].as_i64().unwrap();
    assert!(app["number"].as_str().unwrap().starts_with("990100-2026-"), "{app}");
    for slot in ["licence", "pharmacist"] {
        t.upload_pdf(&pharmacy, id, slot).await;
    }
    t.cmd(&pharmacy, id, json!({ "command": "update_draft", "facts": facts("2025-12-01") })).await;
    let (status, err) = t.try_cmd(&pharmacy, id, json!({ "command": "submit" })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
    assert!(err.to_string().contains("SFN-COND-1"), "{err}");
    t.cmd(&pharmacy, id, json!({ "command": "update_draft", "facts": facts("2025-06-01") })).await;
    assert_eq!(t.cmd(&pharmacy, id, json!({ "command": "submit" })).await, "initial_review");

    // Review and evaluation: no acceptance step, no draw, no rounds.
    assert_eq!(t.cmd(&agency, id, json!({ "command": "pass_initial_review" })).await, "on_site_evaluation");
    assert_eq!(t.cmd(&agency, id, json!({ "command": "record_site_evaluation", "score": 85 })).await, "expert_review");
    let review = json!({ "command": "record_expert_review", "recommendation": "pass", "attendees": ["专家甲"] });
    assert_eq!(t.cmd(&expert, id, review).await, "passed");

    // The notice: 7 calendar days from Mon 2026-03-02 → Mon 2026-03-09 (LAW-START).
    assert_eq!(t.cmd(&agency, id, json!({ "command": "publish_notice" })).await, "public_notice");
    let app = t.store().application(id).await.unwrap().unwrap();
    assert_eq!(app.due_on.map(|d| d.to_string()).as_deref(), Some("2026-03-09"));
    let (_, notices) = t.call(Method::GET, "/notices", None, None).await;
    let notices = notices.as_str().unwrap();
    assert!(notices.contains("东城区") && !notices.contains("990102"), "the district's name from the profile, not its code");
    t.advance_days(7);
    assert!(t.tick().await.fired.is_empty(), "the last day is the notice's own");
    t.advance_days(1);
    assert_eq!(t.tick().await.fired, vec![(id, "end_notice")]);
    assert_eq!(t.state_of(id).await, "ready_to_sign", "no pre-signing preparation in this city");

    // Signing: 15 working days from Tue 2026-03-10 → Tue 2026-03-31; the institution is told so.
    let app = t.store().application(id).await.unwrap().unwrap();
    assert_eq!(app.due_on.map(|d| d.to_string()).as_deref(), Some("2026-03-31"));
    let (_, inbox) = t.call(Method::GET, "/api/inbox", Some(&pharmacy), None).await;
    let sign = inbox.as_array().unwrap().iter().find(|m| m["subject"].as_str().unwrap().contains("请签订协议")).expect("told to sign");
    let body = sign["body"].as_str().unwrap();
    assert!(body.contains("15 个工作日") && body.contains("SFN-SIGN"), "{body}");
    assert_eq!(t.cmd(&pharmacy, id, json!({ "command": "sign" })).await, "ready_to_sign");
    assert_eq!(t.cmd(&agency, id, json!({ "command": "countersign" })).await, "signed");

    let view = t.get_app(&agency, id).await;
    let kinds: Vec<&str> = view["events"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "material_attached",
            "material_attached",
            "draft_updated",
            "draft_updated",
            "submitted",
            "initial_review_passed",
            "site_evaluation_recorded",
            "expert_review_recorded",
            "result_decided",
            "notice_published",
            "notice_ended",
            "agreement_issued",
            "institution_signed",
            "countersigned"
        ]
    );

    // The documents carry the third city's titles and text.
    let agreement = pdf_text(&t, &pharmacy, &format!("/api/applications/{id}/documents/agreement/pdf")).await;
    assert!(agreement.contains("示范市医疗保障定点零售药店服务协议") && agreement.contains("示范市医疗保障事务中心"), "{agreement}");
    let form = pdf_text(&t, &pharmacy, &format!("/api/applications/{id}/documents/application-form/pdf")).await;
    assert!(form.contains("示范市零售药店申请医保定点申请表"), "{form}");
    // The workbench names the district from the profile too.
    let (_, page) = t.call(Method::GET, "/workbench?state=all", Some(&agency), None).await;
    assert!(page.as_str().unwrap().contains("东城区"), "workbench district");
}
both!(g_profile_third_city_pharmacy_from_registry_to_signed_agreement);

// SFN-RES (the third city's HRB-EVAL-3): a failure is told the profile's own re-evaluation wait.
async fn g_profile_third_city_failure_quotes_its_own_wait(b: Backend) {
    let t = third_city_app(b).await;
    let agency = t.login("sfn-agency").await;
    let expert = t.login("sfn-expert").await;
    let uscc = Uscc::with_check("91990103MA5X6Y7W8").unwrap();
    let (status, inst) =
        t.call(Method::POST, "/api/institutions", Some(&agency), Some(institution(&uscc, "pharmacy", "零售药店", "990103"))).await;
    assert_eq!(status, StatusCode::CREATED, "{inst}");
    let u = NewUser {
        username: "sfn-pharmacy2",
        display_name: "药房",
        password: PASSWORD,
        role: Role::Institution,
        city: CITY,
        district: None,
        institution_id: inst["id"].as_i64(),
    };
    t.store().ensure_user(u, t.now()).await.unwrap();
    let pharmacy = t.login("sfn-pharmacy2").await;
    let (_, app) = t.call(Method::POST, "/api/applications", Some(&pharmacy), None).await;
    let id = app["id"].as_i64().unwrap();
    let (status, _) = t.upload(&pharmacy, id, "licence", "licence.pdf", pdf("sfn")).await;
    assert_eq!(status, StatusCode::CREATED);
    t.cmd(&pharmacy, id, json!({ "command": "update_draft", "facts": facts("2025-06-01") })).await;
    t.cmd(&pharmacy, id, json!({ "command": "submit" })).await;
    t.cmd(&agency, id, json!({ "command": "pass_initial_review" })).await;
    t.cmd(&agency, id, json!({ "command": "record_site_evaluation", "score": 50 })).await;
    let review = json!({
        "command": "record_expert_review", "recommendation": "fail", "reasons": ["药品陈列不规范"],
        "rectification": "按 GSP 分区陈列", "attendees": ["专家甲"]
    });
    assert_eq!(t.cmd(&expert, id, review).await, "failed_rectifying");
    let (_, inbox) = t.call(Method::GET, "/api/inbox", Some(&pharmacy), None).await;
    let failed = inbox.as_array().unwrap().iter().find(|m| m["subject"].as_str().unwrap().contains("评估未通过")).expect("told");
    let body = failed["body"].as_str().unwrap();
    assert!(body.contains("6 个月后申请再次评估（SFN-RES）") && !body.contains("3 个月"), "{body}");
}
both!(g_profile_third_city_failure_quotes_its_own_wait);
