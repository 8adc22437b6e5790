//! To the letter: the agency's own time limit binds the agency (G-AGENCY-TIME, HRB-ACC-1),
//! Urumqi's signing window counts from the end of the notice (URC-SIGN), complaints close with
//! the notice period by date (URC-RES-2, HRB-NOTICE) — each on SQLite and PostgreSQL, with time
//! moved through the injected clock.

#[macro_use]
mod common;

use axum::http::{Method, StatusCode};
use common::TestApp;
use dingdian_core::calendar::Calendar;
use dingdian_core::deadline::{self, Budget, Pause, Unit};
use dingdian_core::policy::Profile;
use dingdian_store::testing::Backend;
use jiff::civil::{Date, date};
use serde_json::{Value, json};

fn supplement_notice() -> Value {
    json!({ "command": "issue_supplement_notice", "items": [{ "slot": "licence", "problem": "defective", "reason": "执业许可证副本不清晰" }] })
}

/// G-AGENCY-TIME (HRB-ACC-1; 行政许可法 art. 32): the one-time supplement notice is due within 5
/// working days of receipt. On the last day it is still taken; the day after it is refused, the
/// application stays as it stands and the agency accepts it with what it has. The queue shows
/// the limit.
async fn g_agency_time_late_supplement_notice_refused(b: Backend) {
    let t = TestApp::new(b).await;
    let hosp = t.login("hrb-hospital").await;
    let clinic = t.login("hrb-clinic").await;
    let agency = t.login("hrb-agency").await;
    // Received Mon 2026-03-02: 5 working days end Mon 2026-03-09.
    let late = t.submitted(&hosp).await;
    let in_time = t.submitted(&clinic).await;
    let (status, page) = t.get_text("/workbench", &agency).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("受理审核（一次性告知）时限") && page.contains("2026-03-09"), "the queue shows the agency's limit");

    t.clock.set_date(date(2026, 3, 9));
    assert_eq!(t.cmd(&agency, in_time, supplement_notice()).await, "awaiting_supplement", "the last day is inside the limit");

    t.clock.set_date(date(2026, 3, 10));
    let before = t.get_app(&agency, late).await["application"]["version"].clone();
    let (status, body) = t.try_cmd(&agency, late, supplement_notice()).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("agency_limit_passed")), "{body}");
    assert_eq!((body["detail"]["due"].as_str(), body["detail"]["rule"].as_str()), (Some("2026-03-09"), Some("HRB-ACC-1")));
    assert!(body["message"].as_str().unwrap().contains("第三十二条"), "{body}");
    assert_eq!(t.get_app(&agency, late).await["application"]["version"], before, "nothing changed");
    assert_eq!(t.state_of(late).await, "submitted");
    // The form is no longer offered; the agency accepts the application as it stands.
    let (_, page) = t.get_text(&format!("/applications/{late}"), &agency).await;
    assert!(!page.contains("value=\"issue_supplement_notice\""), "no late notice form");
    assert_eq!(t.cmd(&agency, late, json!({ "command": "accept" })).await, "accepted");
}
both!(g_agency_time_late_supplement_notice_refused);

/// G-AGENCY-TIME, the other consequence a profile may choose (`on_expiry = "deem_accepted"`):
/// when the limit runs out without a notice, the system accepts the application as it stands,
/// exactly once, and tells the applicant why.
async fn g_agency_time_deemed_accepted_when_profile_says_so(b: Backend) {
    let t = TestApp::new(b).await;
    let text = dingdian_core::policy::SHIPPED[0].1.replacen("version = \"2026.5\"", "version = \"2026.9\"", 1).replacen(
        "bounds = \"supplement_notice\"",
        "bounds = \"supplement_notice\"\non_expiry = \"deem_accepted\"",
        1,
    );
    let v2 = Profile::parse("harbin-2026.9.toml", &text).expect("valid");
    t.store().register_profile(v2, t.now()).await.unwrap();
    let hosp = t.login("hrb-hospital").await;
    let clinic = t.login("hrb-clinic").await;
    let agency = t.login("hrb-agency").await;
    let quiet = t.submitted(&hosp).await;
    let noticed = t.submitted(&clinic).await;
    t.cmd(&agency, noticed, supplement_notice()).await;
    t.cmd(&clinic, noticed, json!({ "command": "withdraw" })).await;

    t.clock.set_date(date(2026, 3, 9));
    assert!(t.tick().await.fired.is_empty(), "the last day belongs to the agency");
    t.clock.set_date(date(2026, 3, 10));
    assert_eq!(t.tick().await.fired, vec![(quiet, "deem_accepted")]);
    assert_eq!(t.state_of(quiet).await, "accepted");
    assert!(t.tick().await.fired.is_empty(), "fires exactly once");
    let view = t.get_app(&hosp, quiet).await;
    let event = view["events"].as_array().unwrap().iter().find(|e| e["kind"] == "deemed_accepted").expect("event").clone();
    assert_eq!((event["event"]["rule"].as_str(), event["event"]["received_on"].as_str()), (Some("HRB-ACC-1"), Some("2026-03-02")));
    let (_, inbox) = t.call(Method::GET, "/api/inbox", Some(&hosp), None).await;
    assert!(inbox.to_string().contains("第三十二条"), "the applicant is told why: {inbox}");
}
both!(g_agency_time_deemed_accepted_when_profile_says_so);

/// The notice's last day, from the application's `notice_published` event.
async fn notice_last_day(t: &TestApp, token: &str, id: i64) -> Date {
    let view = t.get_app(token, id).await;
    let e = view["events"].as_array().unwrap().iter().find(|e| e["kind"] == "notice_published").expect("notice published").clone();
    e["event"]["ends_on"].as_str().expect("notice end").parse().unwrap()
}

fn signing_due(start: Date, pauses: &[Pause]) -> Date {
    deadline::compute(start, Budget { amount: 10, unit: Unit::CalendarDays }, pauses, &Calendar::shipped()).due.unwrap()
}

/// URC-SIGN ("公示期满后，10日内"): the signing window counts from the notice's last day, not from
/// the day the timer closed the notice; missing it is giving up, on the day after it ends.
async fn urc_sign_window_counts_from_end_of_notice(b: Backend) {
    let t = TestApp::new(b).await;
    let pharmacy = t.login("urc-pharmacy").await;
    let branch = t.login("urc-branch").await;
    let agency = t.login("urc-agency").await;
    let id = common::urc_to_notice(&t, &pharmacy, &branch, &agency).await;
    let last = notice_last_day(&t, &agency, id).await;
    t.clock.set_date(last.tomorrow().unwrap());
    assert_eq!(t.tick().await.fired, vec![(id, "end_notice")]);
    let due = signing_due(last, &[]);
    let view = t.get_app(&agency, id).await;
    let clock = view["clocks"].as_array().unwrap().iter().find(|c| c["id"] == "signing").expect("signing clock").clone();
    assert_eq!(clock["started_on"].as_str(), Some(last.to_string().as_str()), "{clock}");
    assert_eq!(clock["due"].as_str(), Some(due.to_string().as_str()), "{clock}");
    assert_eq!(t.store().application(id).await.unwrap().unwrap().due_on, Some(due));

    t.clock.set_date(due);
    assert!(t.tick().await.fired.is_empty(), "the last day is still the institution's");
    t.clock.set_date(due.tomorrow().unwrap());
    let (status, body) = t.try_cmd(&pharmacy, id, json!({ "command": "sign" })).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("deadline_passed")), "{body}");
    assert_eq!(t.tick().await.fired, vec![(id, "deem_given_up")]);
    assert_eq!(t.state_of(id).await, "given_up");
}
both!(urc_sign_window_counts_from_end_of_notice);

/// URC-SIGN with a complaint holding the notice past its last day: the days on which the
/// institution could not sign do not count against it (LAW-SUSPEND).
async fn urc_sign_window_after_complaint_hold(b: Backend) {
    let t = TestApp::new(b).await;
    let pharmacy = t.login("urc-pharmacy").await;
    let branch = t.login("urc-branch").await;
    let agency = t.login("urc-agency").await;
    let id = common::urc_to_notice(&t, &pharmacy, &branch, &agency).await;
    let last = notice_last_day(&t, &agency, id).await;
    t.cmd(&agency, id, json!({ "command": "record_complaint", "summary": "反映药师不在岗" })).await;
    let resolved_on = last.checked_add(jiff::Span::new().days(4)).unwrap();
    t.clock.set_date(resolved_on);
    let unfounded = json!({ "command": "resolve_complaint", "number": 1, "founded": false, "finding": "经核实不属实" });
    assert_eq!(t.cmd(&agency, id, unfounded).await, "ready_to_sign");
    let held = Pause { from: last, to: resolved_on.yesterday().unwrap() };
    let due = signing_due(last, &[held]);
    assert_eq!(t.store().application(id).await.unwrap().unwrap().due_on, Some(due));
    let view = t.get_app(&agency, id).await;
    let clock = view["clocks"].as_array().unwrap().iter().find(|c| c["id"] == "signing").unwrap().clone();
    assert!(clock["explanation"].to_string().contains("LAW-SUSPEND"), "{clock}");
    t.clock.set_date(due);
    assert_eq!(t.cmd(&pharmacy, id, json!({ "command": "sign" })).await, "ready_to_sign");
}
both!(urc_sign_window_after_complaint_hold);

/// URC-RES-2: complaints are taken during the notice period — by date. The day after its last
/// day a complaint is refused, although the sweep has not closed the notice yet.
async fn urc_res_2_complaints_close_with_the_notice_period(b: Backend) {
    let t = TestApp::new(b).await;
    let pharmacy = t.login("urc-pharmacy").await;
    let branch = t.login("urc-branch").await;
    let agency = t.login("urc-agency").await;
    let id = common::urc_to_notice(&t, &pharmacy, &branch, &agency).await;
    let last = notice_last_day(&t, &agency, id).await;
    let number = t.store().application(id).await.unwrap().unwrap().number;
    t.clock.set_date(last);
    let complaint = json!({ "command": "record_complaint", "summary": "最后一日收到的投诉" });
    t.cmd(&agency, id, complaint).await;
    let resolve = json!({ "command": "resolve_complaint", "number": 1, "founded": false, "finding": "不属实" });
    t.cmd(&agency, id, resolve).await;

    t.clock.set_date(last.tomorrow().unwrap());
    assert_eq!(t.state_of(id).await, "public_notice", "the sweep has not run");
    let (status, body) = t.try_cmd(&agency, id, json!({ "command": "record_complaint", "summary": "迟到的投诉" })).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("deadline_passed")), "{body}");
    let filed = t.store().file_complaint_with(&number, None, None, "公示期满后的投诉", Vec::new(), t.now()).await.unwrap();
    let refusal = filed.expect_err("refused after the period");
    assert!(format!("{refusal:?}").contains(&last.to_string()), "{refusal:?}");
    assert_eq!(t.tick().await.fired, vec![(id, "end_notice")]);
}
both!(urc_res_2_complaints_close_with_the_notice_period);

/// LAW-WD with the State Council's 2026 notice: 2026-09-20 (Sunday) is worked for 国庆节, not for
/// 中秋节. A 5-working-day supplement period from Monday 2026-09-14 counts it as its 5th day, and
/// its explanation names the holiday it was worked for.
async fn law_wd_2026_09_20_worked_for_national_day(b: Backend) {
    let t = TestApp::new(b).await;
    t.clock.set_date(date(2026, 9, 14));
    let hosp = t.login("hrb-hospital").await;
    let agency = t.login("hrb-agency").await;
    let id = t.submitted(&hosp).await;
    t.cmd(&agency, id, supplement_notice()).await;
    let view = t.get_app(&hosp, id).await;
    let clock = view["clocks"].as_array().unwrap().iter().find(|c| c["id"] == "supplement").expect("supplement clock").clone();
    assert_eq!(clock["due"], "2026-09-20", "{clock}");
    assert!(clock["explanation"].to_string().contains("2026-09-20 为国庆节调休上班日"), "{clock}");
}
both!(law_wd_2026_09_20_worked_for_national_day);
