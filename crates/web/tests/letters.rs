//! Letters to the applicant (issue #16 item 4), on SQLite and PostgreSQL: every kind produced in
//! a flow and read back from its PDF (text extracted) and its print view; who may read one (the
//! institution, staff of its city; not another institution, another city, nor an evaluator
//! before the reveal); the inbox page with its links and the header's unread count.

#[macro_use]
mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::TestApp;
use dingdian_store::testing::Backend;
use http_body_util::BodyExt;
use jiff::civil::date;
use serde_json::json;
use tower::ServiceExt;

fn squeeze(text: &str) -> String {
    text.split_whitespace().collect()
}

async fn get_bytes(t: &TestApp, path: &str, token: &str) -> (StatusCode, Vec<u8>) {
    let req = Request::builder().uri(path).header(header::AUTHORIZATION, format!("Bearer {token}")).body(Body::empty()).unwrap();
    let resp = t.router.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    (status, resp.into_body().collect().await.unwrap().to_bytes().to_vec())
}

/// The letters of an application as (seq, title) from the core, through the store.
async fn letters(t: &TestApp, id: i64, token_user: &str) -> Vec<(i64, String, String)> {
    let user = t.store().user_by_username(token_user).await.unwrap().unwrap();
    let today = dingdian_store::clock::Clock::today(&*t.clock);
    let (_, ls) = t.store().letters(id, &user.actor(), today).await.unwrap();
    ls.into_iter().map(|l| (l.seq, l.kind.title().to_owned(), l.number)).collect()
}

/// Reads a letter back from its PDF and its print view; checks the title, the number, the
/// hotline (HRB-HOTLINE / URC-CHANNEL) and that no internal vocabulary shows.
async fn read_back(t: &TestApp, token: &str, id: i64, seq: i64, title: &str, number: &str, contact: &str) -> String {
    let (status, bytes) = get_bytes(t, &format!("/applications/{id}/letters/{seq}/pdf"), token).await;
    assert_eq!(status, StatusCode::OK, "{title}");
    let text = squeeze(&pdf_extract::extract_text_from_mem(&bytes).expect("a PDF a parser can read"));
    assert!(text.contains(&squeeze(title)), "{title} in {text}");
    assert!(text.contains(number), "{number} in {text}");
    assert!(text.contains(contact), "{contact} in {text}");
    let (status, html) = t.get_text(&format!("/applications/{id}/letters/{seq}"), token).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(title) && html.contains(number) && html.contains("<svg"), "{html}");
    // No internal vocabulary: with the numbers, the profile's contact channels, the institution's (test) name and
    // the query address taken out, nothing Latin is left (no rule IDs, state names, slot ids).
    let app = t.store().application(id).await.unwrap().unwrap();
    let mut plain = text.clone();
    for c in &t.store().profile_for(&app).unwrap().contacts {
        plain = plain.replace(&squeeze(&c.value), "").replace(&squeeze(&c.label), "");
    }
    let plain = plain
        .replace(number, "")
        .replace(&app.number, "")
        .replace(contact, "")
        .replace(&app.institution_name, "")
        .replace("/query?number=", "");
    let latin: String = plain.chars().filter(|c| c.is_ascii_alphabetic()).collect();
    assert!(latin.is_empty(), "{title}: Latin letters {latin:?} in {plain}");
    text
}

fn supplement_notice() -> serde_json::Value {
    json!({ "command": "issue_supplement_notice", "items": [
        { "slot": "integrity_letter", "problem": "missing", "reason": "未上传诚信承诺书" }
    ]})
}

async fn every_letter_kind(b: Backend) {
    let t = TestApp::new(b).await;
    let hosp = t.login("hrb-hospital").await;
    let clinic = t.login("hrb-clinic").await;
    let agency = t.login("hrb-agency").await;
    let expert = t.login("hrb-expert").await;
    let hotline = "0451-12393";

    // 补正材料通知书 → 受理通知书 → 评估结果告知书 (fail, with the re-evaluation date).
    let a = t.submitted(&hosp).await;
    t.cmd(&agency, a, supplement_notice()).await;
    t.upload_pdf(&hosp, a, "integrity_letter").await;
    t.cmd(&hosp, a, json!({ "command": "supplement" })).await;
    t.cmd(&agency, a, json!({ "command": "accept" })).await;
    t.cmd(&agency, a, json!({ "command": "schedule_evaluation" })).await;
    t.cmd(&agency, a, json!({ "command": "record_site_evaluation", "score": 50 })).await;
    let fail = json!({ "command": "record_expert_review", "recommendation": "fail", "reasons": ["制度不健全"], "rectification": "补充制度", "attendees": ["专家甲"] });
    t.cmd(&expert, a, fail).await;
    let ls = letters(&t, a, "hrb-hospital").await;
    let titles: Vec<&str> = ls.iter().map(|(_, k, _)| k.as_str()).collect();
    assert_eq!(titles, ["补正材料通知书（一次性告知书）", "受理通知书", "评估结果告知书"]);
    let (seq, title, number) = &ls[0];
    let text = read_back(&t, &hosp, a, *seq, title, number, hotline).await;
    // HRB-ACC-1/2: the material by its name, the period with its date, the consequence.
    assert!(text.contains("诚信承诺书") && text.contains("5个工作日") && text.contains("2026-03-09"), "{text}");
    assert!(text.contains("逾期未补正的，视为撤回申请"), "{text}");
    read_back(&t, &hosp, a, ls[1].0, &ls[1].1, &ls[1].2, hotline).await;
    let text = read_back(&t, &hosp, a, ls[2].0, &ls[2].1, &ls[2].2, hotline).await;
    assert!(text.contains("制度不健全") && text.contains("申请再次评估"), "HRB-EVAL-3: {text}");
    // Numbers are unique and stable across re-renders.
    assert_eq!(letters(&t, a, "hrb-agency").await, ls);

    // 视为撤回申请通知书 (HRB-ACC-2, fired by the timer).
    let b_id = t.submitted(&clinic).await;
    t.cmd(&agency, b_id, supplement_notice()).await;
    t.advance_days(8);
    assert_eq!(t.tick().await.fired, vec![(b_id, "deem_withdrawn")]);
    let ls = letters(&t, b_id, "hrb-clinic").await;
    let (seq, title, number) = ls.last().unwrap();
    assert_eq!(title, "视为撤回申请通知书");
    read_back(&t, &clinic, b_id, *seq, title, number, hotline).await;

    // 评估结果告知书 (pass) → 签订协议通知书 (with the signing period) → 视为放弃通知书.
    let c = t.harbin_to_preparation(&clinic).await;
    t.complete_harbin_preparation(&clinic, c).await;
    t.advance_days(30);
    t.tick().await;
    assert_eq!(t.state_of(c).await, "given_up");
    let ls = letters(&t, c, "hrb-clinic").await;
    let titles: Vec<&str> = ls.iter().map(|(_, k, _)| k.as_str()).collect();
    assert_eq!(titles, ["受理通知书", "评估结果告知书", "签订协议通知书", "视为放弃通知书"]);
    let text = read_back(&t, &clinic, c, ls[2].0, &ls[2].1, &ls[2].2, hotline).await;
    assert!(text.contains("10个工作日") && text.contains("视为放弃"), "HRB-SIGN: {text}");
    read_back(&t, &clinic, c, ls[3].0, &ls[3].1, &ls[3].2, hotline).await;

    // 不予受理告知书 (URC-REJ) and 终止申请通知书 (URC-REV-2), with Urumqi's channels.
    let pharmacy = t.login("urc-pharmacy").await;
    let urc_clinic = t.login("urc-clinic").await;
    let branch = t.login("urc-branch").await;
    let branch_other = t.login("urc-branch-other").await;
    let d = t.submitted(&pharmacy).await;
    let reject = json!({ "command": "reject", "reasons": [{ "rule": "URC-REJ-PHA-1", "text": "行政处罚未履行完毕" }] });
    t.cmd(&branch, d, reject).await;
    let ls = letters(&t, d, "urc-pharmacy").await;
    assert_eq!(ls[0].1, "不予受理告知书");
    let text = read_back(&t, &pharmacy, d, ls[0].0, &ls[0].1, &ls[0].2, "656693658").await;
    assert!(text.contains("行政处罚未履行完毕"), "{text}");
    let e = t.submitted(&urc_clinic).await;
    t.cmd(&branch_other, e, json!({ "command": "pass_initial_review" })).await;
    let terminate =
        json!({ "command": "terminate", "reason": "信息核查与申报不符", "sources": { "credit_system": { "checked_on": "2026-03-02" } } });
    t.cmd(&branch_other, e, terminate).await;
    let ls = letters(&t, e, "urc-clinic").await;
    assert_eq!(ls[0].1, "终止申请通知书");
    let text = read_back(&t, &urc_clinic, e, ls[0].0, &ls[0].1, &ls[0].2, "656693658").await;
    assert!(text.contains("信息核查与申报不符"), "{text}");
}
both!(every_letter_kind);

/// 处方流转验收结果告知书 (HRB-ANNEX2): a failed acceptance with its resubmission window.
async fn annex2_result_letter(b: Backend) {
    let t = TestApp::new(b).await;
    let hosp = t.login("hrb-hospital").await;
    let agency = t.login("hrb-agency").await;
    let hotline = "0451-12393";
    let h = t.harbin_to_preparation(&hosp).await;
    let (status, body) = t.upload(&hosp, h, "annex2_package", &t.annex2_name(h).await, common::annex2_zip()).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    t.cmd(&hosp, h, json!({ "command": "request_annex2_acceptance" })).await;
    t.cmd(&agency, h, json!({ "command": "review_annex2", "passed": false, "reason": "录屏不连续" })).await;
    let ls = letters(&t, h, "hrb-hospital").await;
    let (seq, title, number) = ls.last().unwrap();
    assert_eq!(title, "处方流转验收结果告知书");
    let text = read_back(&t, &hosp, h, *seq, title, number, hotline).await;
    assert!(text.contains("录屏不连续") && text.contains("5个工作日") && text.contains("24:00"), "{text}");
}
both!(annex2_result_letter);

/// G-VISIBILITY for letters: another institution, another city, a branch of another district
/// and an evaluator before the reveal are refused; the city's agency reads it.
async fn letter_refusals(b: Backend) {
    let t = TestApp::new(b).await;
    let hosp = t.login("hrb-hospital").await;
    let agency = t.login("hrb-agency").await;
    let a = t.submitted(&hosp).await;
    t.cmd(&agency, a, json!({ "command": "accept" })).await;
    let seq = letters(&t, a, "hrb-hospital").await[0].0;
    let html = format!("/applications/{a}/letters/{seq}");
    let pdf = format!("{html}/pdf");
    for path in [&html, &pdf] {
        assert_eq!(get_bytes(&t, path, &agency).await.0, StatusCode::OK, "the city's agency reads {path}");
        for (who, code) in
            [("hrb-clinic", "not_your_institution"), ("urc-agency", "not_your_region"), ("urc-supervisor", "not_your_region")]
        {
            let tok = t.login(who).await;
            let (status, body) = t.get_text(path, &tok).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{who} {path}");
            assert!(body.contains(code), "{who}: {body}");
            assert!(!body.contains("受理通知书"), "{who} learns nothing: {body}");
        }
    }
    // A letter that does not exist, and bad input: not found, no panic.
    for path in [format!("/applications/{a}/letters/999"), format!("/applications/{a}/letters/x/pdf"), "/applications/x/letters/1".into()] {
        assert_eq!(t.get_text(&path, &hosp).await.0, StatusCode::NOT_FOUND, "{path}");
    }
    // Anonymous visitors are sent to log in.
    let resp = t.router.clone().oneshot(Request::builder().uri(&html).body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);

    // URC-EVAL-1: a drawn evaluator before the reveal sees no letter of the application.
    let urc_agency = t.login("urc-agency").await;
    let branch = t.login("urc-branch").await;
    let pharmacy = t.login("urc-pharmacy").await;
    let u = t.submitted(&pharmacy).await;
    t.cmd(&branch, u, json!({ "command": "pass_initial_review" })).await;
    t.cmd(&branch, u, json!({ "command": "pass_verification", "sources": { "written_review": { "checked_on": "2026-03-02" } } })).await;
    let evaluators = t.evaluator_pool(&urc_agency, "E", 10).await;
    let (_, round) = t.call(axum::http::Method::POST, "/api/rounds", Some(&urc_agency), Some(json!({ "name": "当期" }))).await;
    let round_id = round["id"].as_i64().unwrap();
    t.cmd(&urc_agency, u, json!({ "command": "join_round", "round_id": round_id })).await;
    let drawn = t.draw(&urc_agency, round_id, date(2026, 3, 10)).await;
    let group = t.group_of(&drawn, u).await;
    let evaluator = &evaluators[&group[0]];
    let (status, body) = t.get_text(&format!("/applications/{u}/letters/1"), evaluator).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body.contains("not_revealed"), "{body}");
}
both!(letter_refusals);

/// The inbox page: newest first, unread marked, each message linking to its letter; opening it
/// marks it read and the header's count goes down; nobody marks another's message.
async fn inbox_page_and_badge(b: Backend) {
    let t = TestApp::new(b).await;
    let hosp = t.login("hrb-hospital").await;
    let agency = t.login("hrb-agency").await;
    let a = t.submitted(&hosp).await;
    t.cmd(&agency, a, supplement_notice()).await;
    t.upload_pdf(&hosp, a, "integrity_letter").await;
    t.cmd(&hosp, a, json!({ "command": "supplement" })).await;
    t.cmd(&agency, a, json!({ "command": "accept" })).await;
    let ls = letters(&t, a, "hrb-hospital").await;

    let (status, page) = t.get_text("/inbox", &hosp).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("消息（2）"), "the header counts unread messages: {page}");
    let accepted = page.find("已受理").expect("acceptance message");
    let supplement = page.find("请补正材料").expect("supplement message");
    assert!(accepted < supplement, "newest first");
    assert_eq!(page.matches("未读</span>").count(), 2);
    for (seq, ..) in &ls {
        assert!(page.contains(&format!("/applications/{a}/letters/{seq}/pdf")), "links to letter {seq}: {page}");
    }
    let messages = t.store().inbox(t.store().user_by_username("hrb-hospital").await.unwrap().unwrap().id, 10).await.unwrap();
    let newest = messages[0].id;

    // Someone else cannot mark it read.
    let (status, _, location) = t.post_form(&format!("/inbox/{newest}/read"), &agency, &[]).await;
    assert_eq!((status, location), (StatusCode::NOT_FOUND, None));
    assert!(t.get_text("/inbox", &hosp).await.1.contains("消息（2）"));

    // Opening it marks it read and goes to its letter.
    let (status, _, location) = t.post_form(&format!("/inbox/{newest}/read"), &hosp, &[]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location, Some(format!("/applications/{a}/letters/{}", ls[1].0)));
    let (_, page) = t.get_text("/inbox", &hosp).await;
    assert!(page.contains("消息（1）"), "{page}");
    assert_eq!(page.matches("未读</span>").count(), 1);
    // Bad input: a clear page, nothing changed.
    assert_eq!(t.post_form("/inbox/abc/read", &hosp, &[]).await.0, StatusCode::NOT_FOUND);
    // Staff have an inbox page too (empty here) and the badge.
    let (status, page) = t.get_text("/inbox", &agency).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("消息（0）") && page.contains("暂无消息"), "{page}");
}
both!(inbox_page_and_badge);

/// HRB-ACC-1/2 on the application page: after submitting, a receipt (number, time, next step);
/// while a supplement is due, the last day and 「逾期未补正的，视为撤回申请」; the letters listed.
async fn receipt_and_supplement_banner(b: Backend) {
    let t = TestApp::new(b).await;
    let hosp = t.login("hrb-hospital").await;
    let agency = t.login("hrb-agency").await;
    let a = t.submitted(&hosp).await;
    let number = t.store().application(a).await.unwrap().unwrap().number;
    let (_, page) = t.get_text(&format!("/applications/{a}"), &hosp).await;
    let receipt = &page[page.find("id=\"receipt\"").expect("a receipt")..];
    assert!(receipt.contains(&number) && receipt.contains("2026年3月2日") && receipt.contains("下一步"), "{receipt}");
    assert!(receipt.contains("5个工作日"), "HRB-ACC-1: {receipt}");
    let (_, staff_page) = t.get_text(&format!("/applications/{a}"), &agency).await;
    assert!(!staff_page.contains("id=\"receipt\""), "the receipt is the applicant's");

    t.cmd(&agency, a, supplement_notice()).await;
    let (_, page) = t.get_text(&format!("/applications/{a}"), &hosp).await;
    assert!(!page.contains("id=\"receipt\""));
    let banner = &page[page.find("id=\"supplement-banner\"").expect("a banner")..];
    let banner = &banner[..banner.find("</p>").unwrap()];
    assert!(banner.contains("2026-03-09 24:00") && banner.contains("逾期未补正的，视为撤回申请"), "{banner}");
    let seq = letters(&t, a, "hrb-hospital").await[0].0;
    assert!(page.contains(&format!("/applications/{a}/letters/{seq}")) && page.contains("补正材料通知书"), "the letters card");

    // HRB-QUERY: the QR code's address (number only) opens the query form with the number
    // filled in, waiting for the code; nothing is shown without it.
    let resp =
        t.router.clone().oneshot(Request::builder().uri(format!("/query?number={number}")).body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let page = String::from_utf8(resp.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap();
    assert!(page.contains(&format!("value=\"{number}\"")) && !page.contains("未找到") && !page.contains("hrb-hospital"), "{page}");
}
both!(receipt_and_supplement_banner);
