//! From the notice to the agreement: pre-signing preparation (HRB-PRE-1…4, HRB-ANNEX1/2), the
//! agreement PDF and the signature records (HRB-SIGN), and the printable documents (HRB-MAT).

mod common;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use common::{PASSWORD, TestApp};
use dingdian_core::ids::Uscc;
use dingdian_core::lifecycle::Role;
use dingdian_core::policy::InstitutionKind;
use dingdian_store::testing::Backend;
use dingdian_store::{NewInstitution, NewUser};
use http_body_util::BodyExt;
use serde_json::json;
use sha2::{Digest, Sha256};
use tower::ServiceExt;

const NAME: &str = "哈尔滨市南岗区康宁医院";
const NATIONAL: &str = "H23010300123";

/// A Harbin hospital with a Chinese name and a national code on record; returns its token.
async fn kangning(t: &TestApp) -> String {
    let now = t.now();
    let uscc = Uscc::with_check("12230103MB7A8B9C0").expect("code");
    let inst = NewInstitution {
        uscc: &uscc,
        name: NAME,
        kind: InstitutionKind::Medical,
        category: "综合医院",
        city: "harbin",
        district: "230103",
        national_code: Some(NATIONAL),
        address: "哈尔滨市南岗区学府路 100 号",
        beds: 120,
    };
    let id = t.store().ensure_institution(inst, now).await.expect("institution");
    let user = NewUser {
        username: "kangning",
        display_name: "康宁医院医保办",
        password: PASSWORD,
        role: Role::Institution,
        city: "harbin",
        district: None,
        institution_id: Some(id),
    };
    t.store().ensure_user(user, now).await.expect("user");
    t.login("kangning").await
}

async fn get_bytes(t: &TestApp, path: &str, token: &str) -> (StatusCode, Vec<u8>) {
    let req = Request::builder().uri(path).header(header::AUTHORIZATION, format!("Bearer {token}")).body(Body::empty()).unwrap();
    let resp = t.router.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    (status, resp.into_body().collect().await.unwrap().to_bytes().to_vec())
}

fn pdf_text(bytes: &[u8]) -> String {
    pdf_extract::extract_text_from_mem(bytes).expect("a PDF a parser can read")
}

/// The text without white space, so a title wrapped over two lines still matches.
fn squeeze(text: &str) -> String {
    text.split_whitespace().collect()
}

/// HRB-NOTICE → HRB-PRE-1…3 → HRB-SIGN: an unfounded complaint does not stop the application;
/// preparation is done item by item; the agreement is generated from the profile's template as a
/// PDF naming the institution, and each signature records who, when and the document's SHA-256.
async fn notice_unfounded_complaint_preparation_signed(b: Backend) {
    let t = TestApp::new(b).await;
    let hosp = kangning(&t).await;
    let agency = t.login("hrb-agency").await;
    let id = t.harbin_passed(&hosp).await;
    t.cmd(&agency, id, json!({ "command": "publish_notice" })).await;
    t.cmd(&agency, id, json!({ "command": "record_complaint", "summary": "反映床位不足" })).await;
    t.advance_days(12);
    assert!(t.tick().await.fired.is_empty(), "an open complaint holds the end of the notice");
    assert_eq!(t.state_of(id).await, "public_notice");
    t.cmd(&agency, id, json!({ "command": "resolve_complaint", "number": 1, "founded": false, "finding": "经查不属实" })).await;
    t.advance_days(1);
    t.tick().await;
    assert_eq!(t.state_of(id).await, "presign_preparation", "an unfounded complaint lets the application continue");

    // HRB-PRE: completing before every item is done is refused, listing what is missing.
    let (status, body) = t.try_cmd(&agency, id, json!({ "command": "complete_preparation" })).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::CONFLICT, Some("preparation_incomplete")), "{body}");
    assert_eq!(body["detail"]["missing"].as_array().unwrap().len(), 7, "{body}");
    // HRB-ANNEX1: the form must name the institution itself.
    let mut wrong = t.annex1_form(id).await;
    wrong["institution_name"] = json!("别的医院");
    let (status, body) = t.try_cmd(&hosp, id, json!({ "command": "file_annex1", "form": wrong })).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_input")), "{body}");
    // HRB-PRE-2: the agency verifies against evidence, not before it is uploaded.
    let (status, body) =
        t.try_cmd(&agency, id, json!({ "command": "verify_checklist_item", "item": "network_security", "note": "属实" })).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_input")), "{body}");

    assert_eq!(t.complete_harbin_preparation(&hosp, id).await, "ready_to_sign");
    // HRB-ANNEX1 as a printable PDF, under the title the profile gives it (the guide's).
    let (status, annex1) = get_bytes(&t, &format!("/api/applications/{id}/documents/annex1/pdf"), &hosp).await;
    assert_eq!(status, StatusCode::OK);
    let title = t.store().current_profile("harbin").unwrap().preparation.clone().unwrap().annex1_title.unwrap();
    assert_eq!(title, "哈尔滨市定点医药机构医疗保障业务专线连接申请备案表");
    assert!(squeeze(&pdf_text(&annex1)).contains(&title));
    // HRB-MAT item 1: the application form, titled as the profile says.
    let (status, form) = get_bytes(&t, &format!("/api/applications/{id}/documents/application-form/pdf"), &hosp).await;
    assert_eq!(status, StatusCode::OK);
    assert!(squeeze(&pdf_text(&form)).contains("黑龙江省哈尔滨市医疗机构申请定点协议管理申请表"));

    // The agreement was issued on entering ready_to_sign.
    let app = t.store().application(id).await.unwrap().unwrap();
    let agreement = app.data.agreement.clone().expect("agreement issued (HRB-SIGN)");
    let (status, pdf) = get_bytes(&t, &format!("/api/applications/{id}/files/{}", agreement.sha256), &hosp).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(hex::encode(Sha256::digest(&pdf)), agreement.sha256, "the stored document is the one recorded");
    let text = pdf_text(&pdf);
    assert!(text.contains(NAME), "agreement names the institution: {text}");
    assert!(text.contains(NATIONAL), "agreement carries the national code: {text}");
    assert!(text.contains("哈尔滨市基本医疗保险定点医疗机构服务协议"));
    // The document route serves the same stored file.
    let (_, same) = get_bytes(&t, &format!("/api/applications/{id}/documents/agreement/pdf"), &agency).await;
    assert_eq!(same, pdf);

    assert_eq!(t.cmd(&hosp, id, json!({ "command": "sign" })).await, "ready_to_sign");
    assert_eq!(t.cmd(&agency, id, json!({ "command": "countersign" })).await, "signed");
    let view = t.get_app(&agency, id).await;
    let sigs: Vec<&serde_json::Value> =
        view["events"].as_array().unwrap().iter().filter(|e| e["kind"] == "institution_signed" || e["kind"] == "countersigned").collect();
    assert_eq!(sigs.len(), 2);
    for s in &sigs {
        assert_eq!(s["event"]["document_sha256"], agreement.sha256.as_str(), "{s}");
        assert!(s["actor_user_id"].as_i64().unwrap() > 0 && s["occurred_at"].as_str().is_some());
    }
    assert_eq!(sigs[0]["actor_role"], "institution");
    assert_eq!(sigs[1]["actor_role"], "agency");
    // The page shows the signature records.
    let (_, page) = t.call(Method::GET, &format!("/applications/{id}"), Some(&agency), None).await;
    let page = page.as_str().unwrap().to_owned();
    assert!(page.contains(&agreement.sha256) && page.contains("乙方（申请机构）"), "signature records on the page");
}
both!(notice_unfounded_complaint_preparation_signed);

/// HRB-PRE-1 / HRB-PRE-4: failing the test and then the retest ends in `given_up` with a 1-year
/// ban; a new application is refused while it lasts.
async fn failed_training_twice_gives_up_with_ban(b: Backend) {
    let t = TestApp::new(b).await;
    let hosp = t.login("hrb-hospital").await;
    let agency = t.login("hrb-agency").await;
    let id = t.harbin_to_preparation(&hosp).await;
    let fail = json!({ "command": "record_training", "session": "第 1 期", "attended": true, "passed": false });
    assert_eq!(t.cmd(&agency, id, fail).await, "presign_preparation", "one retest");
    let fail = json!({ "command": "record_training", "session": "补考", "attended": true, "passed": false });
    assert_eq!(t.cmd(&agency, id, fail).await, "given_up");
    let view = t.get_app(&agency, id).await;
    let ban = view["events"].as_array().unwrap().iter().find(|e| e["kind"] == "ban_imposed").expect("ban").clone();
    assert_eq!(ban["event"]["rule"], "HRB-PRE-4");

    let (status, body) = t.call(Method::POST, "/api/applications", Some(&hosp), None).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let again = body["id"].as_i64().unwrap();
    t.cmd(&hosp, again, json!({ "command": "update_draft", "facts": common::full_facts("H23010200001") })).await;
    let (status, body) = t.try_cmd(&hosp, again, json!({ "command": "submit" })).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("banned")), "{body}");
}
both!(failed_training_twice_gives_up_with_ban);

/// HRB-MAT item 1: the application form (with its staff roster) as a PDF whose text a parser
/// finds the institution's Chinese name and national code in; and its HTML print view.
async fn application_form_pdf_and_print_view(b: Backend) {
    let t = TestApp::new(b).await;
    let hosp = kangning(&t).await;
    let id = t.submitted(&hosp).await;
    let (status, pdf) = get_bytes(&t, &format!("/api/applications/{id}/documents/application-form/pdf"), &hosp).await;
    assert_eq!(status, StatusCode::OK);
    assert!(pdf.starts_with(b"%PDF"));
    let text = pdf_text(&pdf);
    assert!(text.contains(NAME) && text.contains(NATIONAL), "{text}");
    assert!(text.contains("人员花名册"));
    let (status, html) = t.call(Method::GET, &format!("/applications/{id}/documents/application-form"), Some(&hosp), None).await;
    assert_eq!(status, StatusCode::OK);
    let html = html.as_str().unwrap().to_owned();
    assert!(html.contains(NAME) && html.contains("/static/print.css"), "{html}");
    // Another institution sees neither.
    let other = t.login("hrb-clinic").await;
    let (status, _) = get_bytes(&t, &format!("/api/applications/{id}/documents/application-form/pdf"), &other).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Documents that do not exist yet are a clear 404.
    let (status, body) = t.call(Method::GET, &format!("/api/applications/{id}/documents/agreement/pdf"), Some(&hosp), None).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::NOT_FOUND, Some("document_not_ready")), "{body}");
}
both!(application_form_pdf_and_print_view);

/// The page forms need no JavaScript: the completeness review posts one verdict per slot and
/// becomes the one supplement notice (HRB-ACC-1, G-ONE-NOTICE).
async fn completeness_review_form_issues_the_notice(b: Backend) {
    let t = TestApp::new(b).await;
    let hosp = t.login("hrb-hospital").await;
    let agency = t.login("hrb-agency").await;
    let id = t.submitted(&hosp).await;
    let version = t.store().application(id).await.unwrap().unwrap().version;
    // Confirmed on the second page (issue #16 item 3; tests/confirm.rs shows the page itself).
    let mut form = vec![
        ("command".to_owned(), "issue_supplement_notice".to_owned()),
        ("expected_version:int".into(), version.to_string()),
        ("confirmed".into(), "1".into()),
    ];
    for slot in [
        "application_form",
        "licence",
        "legal_entity",
        "internal_rules",
        "his_evidence",
        "forecast_report",
        "integrity_letter",
        "self_evaluation",
    ] {
        let verdict = match slot {
            "licence" => "missing",
            "his_evidence" => "defective",
            _ => "complete",
        };
        form.push((format!("items.{slot}:problem"), verdict.into()));
        form.push((format!("items.{slot}:reason"), if verdict == "complete" { String::new() } else { format!("{slot} 有问题") }));
    }
    let body = form.iter().map(|(k, v)| format!("{}={}", common::percent(k), common::percent(v))).collect::<Vec<_>>().join("&");
    let req = Request::builder()
        .method(Method::POST)
        .uri(format!("/applications/{id}/act"))
        .header(header::AUTHORIZATION, format!("Bearer {agency}"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body))
        .unwrap();
    let resp = t.router.clone().oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let app = t.store().application(id).await.unwrap().unwrap();
    assert_eq!(app.state.as_str(), "awaiting_supplement");
    assert_eq!(app.data.open_slots, vec!["licence".to_owned(), "his_evidence".to_owned()]);
}
both!(completeness_review_form_issues_the_notice);

/// Drives an Urumqi pharmacy's application through the evaluation and the notice (URC-RES-2,
/// ended by the timer) into the signing window; returns its id, in `ready_to_sign`.
async fn urc_ready_to_sign(t: &TestApp, inst: &str) -> i64 {
    let branch = t.login("urc-branch").await;
    let agency = t.login("urc-agency").await;
    let id = common::urc_to_notice(t, inst, &branch, &agency).await;
    t.advance_days(11);
    t.tick().await;
    assert_eq!(t.state_of(id).await, "ready_to_sign");
    id
}

fn refused(status: StatusCode, body: &serde_json::Value) -> (StatusCode, Option<&str>) {
    (status, body["code"].as_str())
}

/// URC-NEGOTIATE / URC-SIGN: the pharmacy comments on the platform's text (from the page form);
/// the agency issues a revised version — the template plus the agreed clauses, rendered and
/// stored with its own SHA-256, the first kept; a signature naming the withdrawn version is
/// refused; both sign version 2 and record its SHA-256; the countersignature cannot name another
/// version, and no version follows the institution's signature.
async fn urc_negotiate_revised_version_signed_by_both(b: Backend) {
    let t = TestApp::new(b).await;
    let inst = t.login("urc-pharmacy").await;
    let agency = t.login("urc-agency").await;
    let id = urc_ready_to_sign(&t, &inst).await;
    let v1 = t.store().application(id).await.unwrap().unwrap().data.agreement.expect("version 1 issued");

    // The institution comments through the page form.
    let version = t.store().application(id).await.unwrap().unwrap().version;
    let fields = [
        ("command", "comment_agreement".to_owned()),
        ("expected_version:int", version.to_string()),
        ("text", "第五条有效期建议写明起止日期".to_owned()),
    ];
    let (status, _, location) = t.post_form(&format!("/applications/{id}/act"), &inst, &fields).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{location:?}");
    let (_, page) = t.get_text(&format!("/applications/{id}"), &agency).await;
    assert!(page.contains("第五条有效期建议写明起止日期") && page.contains("发布修订版本"), "the agency sees the comment and the form");
    // An empty comment is refused, nothing recorded.
    let (status, body) = t.try_cmd(&inst, id, json!({ "command": "comment_agreement", "text": "  " })).await;
    assert_eq!(refused(status, &body), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_input")), "{body}");
    // Only the agency revises; and a revision must change something.
    let revise = json!({ "command": "revise_agreement", "clauses": ["本协议有效期自 2026 年 4 月 1 日起至 2027 年 3 月 31 日止。"], "reply": "已采纳，补充有效期起止日期。" });
    let (status, body) = t.try_cmd(&inst, id, revise.clone()).await;
    assert_eq!(refused(status, &body), (StatusCode::FORBIDDEN, Some("not_your_role")), "{body}");
    let (status, body) = t.try_cmd(&agency, id, json!({ "command": "revise_agreement", "clauses": [], "reply": "无修改" })).await;
    assert_eq!(refused(status, &body), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_input")), "{body}");

    assert_eq!(t.cmd(&agency, id, revise).await, "ready_to_sign");
    let app = t.store().application(id).await.unwrap().unwrap();
    let v2 = app.data.agreement.clone().expect("version 2 rendered and issued");
    assert_ne!(v2.sha256, v1.sha256);
    let versions = &app.data.negotiation.versions;
    assert_eq!(versions.len(), 2);
    assert_eq!(versions[0].document.as_ref(), Some(&v1), "version 1 kept");
    assert_eq!((versions[1].number, versions[1].reply.as_deref()), (2, Some("已采纳，补充有效期起止日期。")));
    assert_eq!(app.data.negotiation.comments.len(), 1);
    assert_eq!(app.data.negotiation.comments[0].version, 1);
    // Both versions are downloadable, each the file its SHA-256 names; version 2 carries the clause.
    let (status, pdf1) = get_bytes(&t, &format!("/api/applications/{id}/files/{}", v1.sha256), &inst).await;
    assert_eq!((status, hex::encode(Sha256::digest(&pdf1))), (StatusCode::OK, v1.sha256.clone()));
    let (status, pdf2) = get_bytes(&t, &format!("/api/applications/{id}/files/{}", v2.sha256), &inst).await;
    assert_eq!((status, hex::encode(Sha256::digest(&pdf2))), (StatusCode::OK, v2.sha256.clone()));
    let text2 = squeeze(&pdf_text(&pdf2));
    assert!(text2.contains("补充条款") && text2.contains("2027年3月31日止"), "{text2}");
    assert!(text2.contains("乌鲁木齐市医疗保障定点服务协议"), "the template's text stays: {text2}");
    assert!(!squeeze(&pdf_text(&pdf1)).contains("补充条款"));
    let (_, page) = t.get_text(&format!("/applications/{id}"), &inst).await;
    assert!(
        page.contains("第 2 版") && page.contains("已采纳，补充有效期起止日期。") && page.contains(&v1.sha256) && page.contains(&v2.sha256)
    );

    // Signing names the version: the withdrawn one is refused.
    let (status, body) = t.try_cmd(&inst, id, json!({ "command": "sign", "document_sha256": v1.sha256 })).await;
    assert_eq!(refused(status, &body), (StatusCode::CONFLICT, Some("agreement_version_mismatch")), "{body}");
    // The page's signing button names the current version; signing through it.
    let (_, page) = t.get_text(&format!("/applications/{id}"), &inst).await;
    assert!(page.contains(&format!("name=\"document_sha256\" value=\"{}\"", v2.sha256)), "the sign form names version 2");
    let version = t.store().application(id).await.unwrap().unwrap().version;
    let fields = [
        ("command", "sign".to_owned()),
        ("expected_version:int", version.to_string()),
        ("document_sha256", v2.sha256.clone()),
        ("confirmed", "1".to_owned()),
        ("read_agreement", "1".to_owned()),
    ];
    let (status, _, _) = t.post_form(&format!("/applications/{id}/act"), &inst, &fields).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(t.store().application(id).await.unwrap().unwrap().data.institution_signed);
    // No new version after the institution signed; no countersignature of another version.
    let again = json!({ "command": "revise_agreement", "clauses": ["另一条"], "reply": "再改" });
    let (status, body) = t.try_cmd(&agency, id, again).await;
    assert_eq!(refused(status, &body), (StatusCode::CONFLICT, Some("not_allowed_now")), "{body}");
    let (status, body) = t.try_cmd(&inst, id, json!({ "command": "comment_agreement", "text": "还有意见" })).await;
    assert_eq!(refused(status, &body), (StatusCode::CONFLICT, Some("not_allowed_now")), "{body}");
    let (status, body) = t.try_cmd(&agency, id, json!({ "command": "countersign", "document_sha256": v1.sha256 })).await;
    assert_eq!(refused(status, &body), (StatusCode::CONFLICT, Some("agreement_version_mismatch")), "{body}");
    assert_eq!(t.state_of(id).await, "ready_to_sign", "refusals change nothing");
    assert_eq!(t.cmd(&agency, id, json!({ "command": "countersign", "document_sha256": v2.sha256 })).await, "signed");
    let view = t.get_app(&agency, id).await;
    let sigs: Vec<&serde_json::Value> =
        view["events"].as_array().unwrap().iter().filter(|e| e["kind"] == "institution_signed" || e["kind"] == "countersigned").collect();
    assert_eq!(sigs.len(), 2);
    for s in sigs {
        assert_eq!(s["event"]["document_sha256"], v2.sha256.as_str(), "{s}");
    }
}
both!(urc_negotiate_revised_version_signed_by_both);

/// URC-NEGOTIATE (自愿签订): declining, with a reason, ends the application as not signed —
/// without a ban: the institution may apply again at once.
async fn urc_negotiate_decline_ends_without_ban(b: Backend) {
    let t = TestApp::new(b).await;
    let inst = t.login("urc-pharmacy").await;
    let agency = t.login("urc-agency").await;
    let id = urc_ready_to_sign(&t, &inst).await;
    let (status, body) = t.try_cmd(&inst, id, json!({ "command": "decline_agreement", "reason": "" })).await;
    assert_eq!(refused(status, &body), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_input")), "{body}");
    let (status, body) = t.try_cmd(&agency, id, json!({ "command": "decline_agreement", "reason": "代为拒签" })).await;
    assert_eq!(refused(status, &body), (StatusCode::FORBIDDEN, Some("not_your_role")), "{body}");
    let (_, page) = t.get_text(&format!("/applications/{id}"), &inst).await;
    assert!(page.contains("不同意签订协议") && page.contains("提交意见"), "the institution's forms");
    assert_eq!(t.cmd(&inst, id, json!({ "command": "decline_agreement", "reason": "结算周期条款未能协商一致" })).await, "not_signed");
    let view = t.get_app(&inst, id).await;
    let kinds: Vec<&str> = view["events"].as_array().unwrap().iter().filter_map(|e| e["kind"].as_str()).collect();
    assert!(kinds.contains(&"agreement_declined") && !kinds.contains(&"ban_imposed"), "{kinds:?}");
    let (_, page) = t.get_text(&format!("/applications/{id}"), &inst).await;
    assert!(page.contains("结算周期条款未能协商一致"));
    // The last version issued stays readable.
    let (status, _) = get_bytes(&t, &format!("/api/applications/{id}/documents/agreement/pdf"), &inst).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = t.get_text(&format!("/applications/{id}/documents/agreement"), &inst).await;
    assert_eq!(status, StatusCode::OK);
    // No ban: a new application is taken.
    let again = t.submitted(&inst).await;
    assert_eq!(t.state_of(again).await, "initial_review");
}
both!(urc_negotiate_decline_ends_without_ban);

/// URC-NEGOTIATE refusals: the negotiation lives inside the signing window (URC-SIGN) and within
/// the city; another city's agency learns nothing and changes nothing.
async fn urc_negotiate_refusals(b: Backend) {
    let t = TestApp::new(b).await;
    let inst = t.login("urc-pharmacy").await;
    let agency = t.login("urc-agency").await;
    let hrb_agency = t.login("hrb-agency").await;
    let id = urc_ready_to_sign(&t, &inst).await;
    let revise = json!({ "command": "revise_agreement", "clauses": ["新增条款"], "reply": "修订" });
    let (status, body) = t.try_cmd(&hrb_agency, id, revise.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let version = t.store().application(id).await.unwrap().unwrap().version;
    // Past the window (10 days after the notice), before the timer fired: refused.
    t.advance_days(11);
    let (status, body) = t.try_cmd(&inst, id, json!({ "command": "comment_agreement", "text": "意见" })).await;
    assert_eq!(refused(status, &body), (StatusCode::UNPROCESSABLE_ENTITY, Some("deadline_passed")), "{body}");
    let (status, body) = t.try_cmd(&agency, id, revise).await;
    assert_eq!(refused(status, &body), (StatusCode::UNPROCESSABLE_ENTITY, Some("deadline_passed")), "{body}");
    let (status, body) = t.try_cmd(&inst, id, json!({ "command": "decline_agreement", "reason": "不签" })).await;
    assert_eq!(refused(status, &body), (StatusCode::UNPROCESSABLE_ENTITY, Some("deadline_passed")), "{body}");
    assert_eq!(t.store().application(id).await.unwrap().unwrap().version, version, "nothing recorded");
    let (_, page) = t.get_text(&format!("/applications/{id}"), &inst).await;
    assert!(!page.contains("提交意见") && !page.contains("不同意签订协议</summary>"), "no forms after the window");
}
both!(urc_negotiate_refusals);

/// HRB-SIGN: Harbin signs the platform's text online; the negotiation commands are refused with
/// a stable code, and their forms are not offered.
async fn hrb_sign_no_negotiation(b: Backend) {
    let t = TestApp::new(b).await;
    let hosp = t.login("hrb-hospital").await;
    let agency = t.login("hrb-agency").await;
    let id = t.harbin_to_preparation(&hosp).await;
    assert_eq!(t.complete_harbin_preparation(&hosp, id).await, "ready_to_sign");
    for (who, cmd) in [
        (&hosp, json!({ "command": "comment_agreement", "text": "意见" })),
        (&hosp, json!({ "command": "decline_agreement", "reason": "不签" })),
        (&agency, json!({ "command": "revise_agreement", "clauses": ["新增条款"], "reply": "修订" })),
    ] {
        let (status, body) = t.try_cmd(who, id, cmd).await;
        assert_eq!(refused(status, &body), (StatusCode::CONFLICT, Some("negotiation_not_offered")), "{body}");
    }
    let (_, page) = t.get_text(&format!("/applications/{id}"), &hosp).await;
    assert!(!page.contains("提交意见") && !page.contains("协议协商记录"), "no negotiation on the page");
    assert_eq!(t.cmd(&hosp, id, json!({ "command": "sign" })).await, "ready_to_sign");
    assert_eq!(t.cmd(&agency, id, json!({ "command": "countersign" })).await, "signed");
}
both!(hrb_sign_no_negotiation);

// ---------------------------------------------------------------------------------------------
// HRB-ANNEX2: acceptance retries, each failure with its own resubmission window.

/// A Harbin application in pre-signing preparation whose Annex 2 package is uploaded.
async fn preparing_with_package(t: &TestApp, inst: &str) -> i64 {
    let id = t.harbin_to_preparation(inst).await;
    let (status, body) = t.upload(inst, id, "annex2_package", &t.annex2_name(id).await, common::annex2_zip()).await;
    assert_eq!(status, StatusCode::CREATED, "annex2 package: {body}");
    id
}

fn fail_annex2() -> serde_json::Value {
    json!({ "command": "review_annex2", "passed": false, "reason": "录屏不连续" })
}

fn request_annex2() -> serde_json::Value {
    json!({ "command": "request_annex2_acceptance" })
}

/// Registers the shipped Harbin profile as version 2026.9 with `[preparation]` lines replaced;
/// applications submitted afterwards are bound to it.
async fn harbin_profile_with(t: &TestApp, replace: &[(&str, &str)]) {
    let mut text = dingdian_core::policy::SHIPPED[0].1.replacen("version = \"2026.5\"", "version = \"2026.9\"", 1);
    for (from, to) in replace {
        assert!(text.contains(from), "{from} in the shipped profile");
        text = text.replacen(from, to, 1);
    }
    let profile = dingdian_core::policy::Profile::parse("harbin-2026.9.toml", &text).expect("valid");
    t.store().register_profile(profile, t.now()).await.expect("register");
}

/// The application's clock with this id, as the API lists it.
async fn clock(t: &TestApp, token: &str, id: i64, clock: &str) -> serde_json::Value {
    let view = t.get_app(token, id).await;
    view["clocks"].as_array().unwrap().iter().find(|c| c["id"] == clock).cloned().unwrap_or_else(|| panic!("no clock {clock}: {view}"))
}

/// HRB-ANNEX2 ("验收不合格的医疗机构按照线上告知原因5个工作日内重新提交验收材料"): every failed
/// result opens a new window, so a second failure no longer leaves the item impossible to pass.
async fn hrb_annex2_second_failure_opens_new_window(b: Backend) {
    let t = TestApp::new(b).await;
    let hosp = t.login("hrb-hospital").await;
    let agency = t.login("hrb-agency").await;
    let id = preparing_with_package(&t, &hosp).await;
    t.cmd(&hosp, id, request_annex2()).await;
    t.cmd(&agency, id, fail_annex2()).await;
    t.advance_days(1);
    t.cmd(&hosp, id, request_annex2()).await;
    t.cmd(&agency, id, fail_annex2()).await;
    let app = t.store().application(id).await.unwrap().unwrap();
    let a = &app.data.prep.annex2;
    assert_eq!((a.requests, a.windows.len()), (2, 2), "{a:?}");
    assert!(a.windows[0].closed_on.is_some() && !a.windows[0].missed, "the first window closed by the resubmission");
    assert!(a.open_window().is_some() && a.resubmit_due.is_some(), "the second failure opens a window: {a:?}");
    assert_eq!(app.due_action, Some(dingdian_core::policy::Expiry::Annex2Withdrawn));
    assert_eq!(app.due_on, a.resubmit_due);
    // A third try in the new window, and it passes: ④ is verified.
    t.advance_days(1);
    t.cmd(&hosp, id, request_annex2()).await;
    t.cmd(&agency, id, json!({ "command": "review_annex2", "passed": true })).await;
    let app = t.store().application(id).await.unwrap().unwrap();
    assert!(app.data.prep.annex2.accepted);
    assert!(app.data.prep.verified.contains_key(&dingdian_core::lifecycle::ChecklistItem::EPrescription));
    assert_eq!(app.due_action, None, "no window left open");
    assert_eq!(clock(&t, &agency, id, "annex2_resubmit_2").await["status"], "met");
}
both!(hrb_annex2_second_failure_opens_new_window);

/// HRB-ANNEX2 ("逾期未提交验收材料的视为自动撤回申请"): missing the window withdraws what the profile
/// says — by default the acceptance request only (the item is back to "not requested", preparation
/// goes on); with `annex2_missed_window = "application"` the whole application. The timer fires
/// exactly once; before it fires, the late resubmission is refused all the same.
async fn hrb_annex2_missed_window_deemed_withdrawn_per_profile(b: Backend) {
    let t = TestApp::new(b).await;
    let hosp = t.login("hrb-hospital").await;
    let agency = t.login("hrb-agency").await;
    let id = preparing_with_package(&t, &hosp).await;
    t.cmd(&hosp, id, request_annex2()).await;
    t.cmd(&agency, id, fail_annex2()).await;
    let due = t.store().application(id).await.unwrap().unwrap().data.prep.annex2.resubmit_due.expect("window");
    t.advance_days(10);
    assert!(jiff::tz::offset(8).to_datetime(t.now()).date() > due);
    let (status, body) = t.try_cmd(&hosp, id, request_annex2()).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("deadline_passed")), "{body}");
    let fired = t.tick().await.fired;
    assert_eq!(fired, vec![(id, "deem_annex2_withdrawn")]);
    assert!(t.tick().await.fired.is_empty(), "the timer fires exactly once");
    assert_eq!(t.state_of(id).await, "presign_preparation", "preparation goes on");
    let app = t.store().application(id).await.unwrap().unwrap();
    assert!(app.data.prep.annex2.withdrawn && app.data.prep.annex2.windows[0].missed);
    assert_eq!(app.due_action, None);
    assert_eq!(clock(&t, &agency, id, "annex2_resubmit_1").await["status"], "expired");
    // Back to "not requested": the institution may ask for acceptance again.
    t.cmd(&hosp, id, request_annex2()).await;
    assert!(t.store().application(id).await.unwrap().unwrap().data.prep.annex2.pending);

    // The other reading, from the profile: the application itself is deemed withdrawn.
    harbin_profile_with(&t, &[("annex2_missed_window = \"acceptance_request\"", "annex2_missed_window = \"application\"")]).await;
    let clinic = t.login("hrb-clinic").await;
    let id = preparing_with_package(&t, &clinic).await;
    assert_eq!(t.store().application(id).await.unwrap().unwrap().profile_version, "2026.9");
    t.cmd(&clinic, id, request_annex2()).await;
    t.cmd(&agency, id, fail_annex2()).await;
    t.advance_days(10);
    let fired = t.tick().await.fired;
    assert!(fired.contains(&(id, "deem_annex2_withdrawn")), "{fired:?}");
    assert!(t.tick().await.fired.is_empty(), "the timer fires exactly once");
    assert_eq!(t.state_of(id).await, "withdrawn");
    let view = t.get_app(&agency, id).await;
    let kinds: Vec<&str> = view["events"].as_array().unwrap().iter().filter_map(|e| e["kind"].as_str()).collect();
    assert!(kinds.ends_with(&["annex2_withdrawn", "withdrawn"]), "{kinds:?}");
}
both!(hrb_annex2_missed_window_deemed_withdrawn_per_profile);

/// G-CLOCKS for HRB-ANNEX2: each window is a clock like the others — in the API's list and the
/// page's table, with its start, its 5 working days and the explanation of its last day.
async fn hrb_annex2_window_in_clocks(b: Backend) {
    let t = TestApp::new(b).await;
    let hosp = t.login("hrb-hospital").await;
    let agency = t.login("hrb-agency").await;
    let id = preparing_with_package(&t, &hosp).await;
    t.cmd(&hosp, id, request_annex2()).await;
    t.cmd(&agency, id, fail_annex2()).await;
    let app = t.store().application(id).await.unwrap().unwrap();
    let due = app.data.prep.annex2.resubmit_due.expect("window").to_string();
    let today = jiff::tz::offset(8).to_datetime(t.now()).date().to_string();
    let c = clock(&t, &hosp, id, "annex2_resubmit_1").await;
    assert_eq!(c["rule"], "HRB-ANNEX2");
    assert_eq!((c["budget"]["amount"].as_u64(), c["budget"]["unit"].as_str()), (Some(5), Some("working_days")));
    assert_eq!((c["started_on"].as_str(), c["due"].as_str()), (Some(today.as_str()), Some(due.as_str())));
    assert_eq!((c["status"].as_str(), c["on_expiry"].as_str()), (Some("running"), Some("annex2_withdrawn")));
    let lines: Vec<&str> = c["explanation"].as_array().unwrap().iter().filter_map(|l| l.as_str()).collect();
    assert!(lines[0].contains(&today) && lines[0].contains("5个工作日") && lines[0].contains("LAW-START"), "{lines:?}");
    assert_eq!(lines.last().copied(), Some(format!("截止 {due} 24:00").as_str()));
    // The page's clock table shows it with its explanation.
    let (status, page) = t.get_text(&format!("/applications/{id}"), &hosp).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("处方流转验收重新提交期限") && page.contains(&format!("{due} 24:00")), "{page}");
    // Issue #16 item 10: the institution reads the statute the rule restates, not its ID.
    let for_people = dingdian_core::visibility::for_people(lines[0]);
    assert!(for_people.contains("《民法典》第二百零一条") && !for_people.contains("LAW-START"), "{for_people}");
    assert!(page.contains(&for_people), "the explanation is on the page, as people read it");
    assert!(!page.contains("LAW-START"), "no rule ID for the institution");
}
both!(hrb_annex2_window_in_clocks);

/// HRB-ANNEX2 tries come from the profile: unlimited in the shipped one, capped when
/// `annex2_attempts` is set; a failure on the last try opens no window, and another request is
/// refused with its own code.
async fn hrb_annex2_attempt_limit_from_profile(b: Backend) {
    let t = TestApp::new(b).await;
    let shipped = t.store().current_profile("harbin").unwrap().preparation.clone().unwrap();
    assert_eq!(shipped.annex2_attempts, 0, "unlimited by default");
    harbin_profile_with(&t, &[("annex2_attempts = 0", "annex2_attempts = 2")]).await;
    let hosp = t.login("hrb-hospital").await;
    let agency = t.login("hrb-agency").await;
    let id = preparing_with_package(&t, &hosp).await;
    t.cmd(&hosp, id, request_annex2()).await;
    t.cmd(&agency, id, fail_annex2()).await;
    t.cmd(&hosp, id, request_annex2()).await;
    t.cmd(&agency, id, fail_annex2()).await;
    let app = t.store().application(id).await.unwrap().unwrap();
    let a = &app.data.prep.annex2;
    assert_eq!((a.requests, a.windows.len(), a.resubmit_due), (2, 1, None), "the last try opens no window: {a:?}");
    assert_eq!(app.due_action, None);
    let (status, body) = t.try_cmd(&hosp, id, request_annex2()).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::CONFLICT, Some("annex2_attempts_used")), "{body}");
    assert!(body["message"].as_str().unwrap().contains("验收次数已用完"), "{body}");
    assert_eq!(t.store().application(id).await.unwrap().unwrap().version, app.version, "nothing changed");
}
both!(hrb_annex2_attempt_limit_from_profile);

/// HRB-ANNEX1: the printed form carries the legal representative's signature and the seal; its
/// scan goes with the structured form through the ordinary upload path. Filing without it is
/// refused; with it, the agency of the city downloads it, another city's agency cannot.
async fn hrb_annex1_needs_signed_sealed_form(b: Backend) {
    let t = TestApp::new(b).await;
    let hosp = t.login("hrb-hospital").await;
    let agency = t.login("hrb-agency").await;
    let id = t.harbin_to_preparation(&hosp).await;
    let form = json!({ "command": "file_annex1", "form": t.annex1_form(id).await });
    let (status, body) = t.try_cmd(&hosp, id, form.clone()).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("annex1_unsigned")), "{body}");
    let message = body["message"].as_str().unwrap();
    assert!(message.contains("签字") && message.contains("公章") && message.contains("专线备案表签字盖章件"), "{message}");
    assert!(t.store().application(id).await.unwrap().unwrap().data.prep.annex1.is_none());
    // Not a file type the slot takes.
    let (status, body) = t.upload(&hosp, id, "annex1_signed", "签字盖章件.zip", common::annex2_zip()).await;
    assert!(status.is_client_error(), "{body}");

    let scan = common::pdf("annex1 signed and sealed");
    let (status, body) = t.upload(&hosp, id, "annex1_signed", "专线备案表签字盖章.pdf", scan.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    t.cmd(&hosp, id, form).await;
    let app = t.store().application(id).await.unwrap().unwrap();
    assert!(app.data.prep.annex1.is_some());
    let file = app.data.materials["annex1_signed"][0].clone();
    assert_eq!(file.sha256, hex::encode(Sha256::digest(&scan)));

    let (status, bytes) = get_bytes(&t, &format!("/api/applications/{id}/files/{}", file.sha256), &agency).await;
    assert_eq!((status, bytes == scan), (StatusCode::OK, true));
    let (_, page) = t.call(Method::GET, &format!("/applications/{id}"), Some(&agency), None).await;
    let page = page.as_str().unwrap().to_owned();
    assert!(page.contains("签字盖章件") && page.contains(&format!("/applications/{id}/files/{}", file.sha256)), "{page}");
    let urumqi = t.login("urc-agency").await;
    let (status, _) = get_bytes(&t, &format!("/api/applications/{id}/files/{}", file.sha256), &urumqi).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}
both!(hrb_annex1_needs_signed_sealed_form);
