//! End-to-end over HTTP: both city profiles from draft to signed, and every terminal state, on
//! SQLite and on PostgreSQL.

#[macro_use]
mod common;

use axum::http::{Method, StatusCode};
use common::TestApp;
use dingdian_store::testing::Backend;
use serde_json::json;

fn supplement_notice() -> serde_json::Value {
    json!({ "command": "issue_supplement_notice", "items": [
        { "slot": "integrity_letter", "problem": "missing", "reason": "未上传诚信承诺书" },
        { "slot": "his_evidence", "problem": "defective", "reason": "销售记录不足 3 个月" }
    ]})
}

fn pass_review() -> serde_json::Value {
    json!({ "command": "record_expert_review", "recommendation": "pass", "attendees": ["专家甲", "专家乙", "专家丙"] })
}

fn fail_review() -> serde_json::Value {
    json!({ "command": "record_expert_review", "recommendation": "fail", "reasons": ["制度不健全"], "rectification": "补充制度", "attendees": ["专家甲"] })
}

/// Drives a Harbin application to `passed`.
async fn hrb_to_passed(t: &TestApp, inst: &str, agency: &str, expert: &str) -> i64 {
    let id = t.submitted(inst).await;
    assert_eq!(t.cmd(agency, id, json!({ "command": "accept" })).await, "accepted");
    assert_eq!(t.cmd(agency, id, json!({ "command": "schedule_evaluation", "note": "线下踏查" })).await, "on_site_evaluation");
    assert_eq!(t.cmd(agency, id, json!({ "command": "record_site_evaluation", "score": 88 })).await, "expert_review");
    assert_eq!(t.cmd(expert, id, pass_review()).await, "passed");
    id
}

/// HRB-APPLY … HRB-SIGN: a Harbin hospital from draft to signed, including the one-time
/// supplement notice (HRB-ACC-1/2), the 5-working-day notice fired by the timer (HRB-NOTICE),
/// pre-signing preparation and signing by both sides.
async fn hrb_hospital_draft_to_signed(b: Backend) {
    let t = TestApp::new(b).await;
    let inst = t.login("hrb-hospital").await;
    let agency = t.login("hrb-agency").await;
    let expert = t.login("hrb-expert").await;

    let (status, draft) = t.call(Method::POST, "/api/applications", Some(&inst), None).await;
    assert_eq!(status, StatusCode::CREATED, "{draft}");
    let id = draft["id"].as_i64().unwrap();
    assert_eq!(draft["state"], "draft");
    assert!(draft["number"].as_str().unwrap().starts_with("230100-2026-"), "{draft}");
    let mut facts = common::full_facts("H23010200001");
    facts["beds"] = json!(150);
    t.cmd(&inst, id, json!({ "command": "update_draft", "facts": facts })).await;
    assert_eq!(t.cmd(&inst, id, json!({ "command": "submit" })).await, "submitted");

    // HRB-ACC-1: the agency's 5-working-day limit is visible as a running clock.
    let view = t.get_app(&agency, id).await;
    let clock = view["clocks"].as_array().unwrap().iter().find(|c| c["id"] == "acceptance_notice").expect("HRB-ACC-1 clock").clone();
    assert_eq!(clock["status"], "running");
    assert_eq!(clock["due"], "2026-03-09", "{clock}");

    assert_eq!(t.cmd(&agency, id, supplement_notice()).await, "awaiting_supplement");
    t.advance_days(2);
    t.upload_pdf(&inst, id, "integrity_letter").await;
    t.upload_pdf(&inst, id, "his_evidence").await;
    assert_eq!(t.cmd(&inst, id, json!({ "command": "supplement", "note": "已补传" })).await, "submitted");
    assert_eq!(t.cmd(&agency, id, json!({ "command": "accept" })).await, "accepted");
    assert_eq!(t.cmd(&agency, id, json!({ "command": "schedule_evaluation" })).await, "on_site_evaluation");
    assert_eq!(t.cmd(&agency, id, json!({ "command": "record_site_evaluation", "score": 90 })).await, "expert_review");
    assert_eq!(t.cmd(&expert, id, pass_review()).await, "passed");

    // HRB-NOTICE: published Wed 2026-03-04, 5 working days → ends Wed 2026-03-11.
    assert_eq!(t.cmd(&agency, id, json!({ "command": "publish_notice" })).await, "public_notice");
    let app = t.store().application(id).await.unwrap().unwrap();
    assert_eq!(app.due_on.map(|d| d.to_string()).as_deref(), Some("2026-03-11"));
    t.advance_days(7); // 2026-03-11, the last day: nothing fires.
    assert!(t.tick().await.fired.is_empty());
    assert_eq!(t.state_of(id).await, "public_notice");
    t.advance_days(1);
    let fired = t.tick().await.fired;
    assert_eq!(fired, vec![(id, "end_notice")]);
    assert_eq!(t.state_of(id).await, "presign_preparation");

    assert_eq!(t.complete_harbin_preparation(&inst, id).await, "ready_to_sign");
    // The agency cannot sign before the institution (HRB-SIGN).
    let (status, body) = t.try_cmd(&agency, id, json!({ "command": "countersign" })).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_input")), "{body}");
    assert_eq!(t.cmd(&inst, id, json!({ "command": "sign" })).await, "ready_to_sign");
    assert_eq!(t.cmd(&agency, id, json!({ "command": "countersign" })).await, "signed");

    let view = t.get_app(&inst, id).await;
    let kinds: Vec<&str> = view["events"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "draft_updated",
            "submitted",
            "supplement_notice_issued",
            "material_attached",
            "material_attached",
            "supplemented",
            "accepted",
            "evaluation_scheduled",
            "site_evaluation_recorded",
            "expert_review_recorded",
            "result_decided",
            "notice_published",
            "notice_ended",
            "training_recorded",
            "material_attached",
            "material_attached",
            "material_attached",
            "material_attached",
            "material_attached",
            "annex1_filed",
            "annex2_requested",
            "annex2_reviewed",
            "checklist_item_verified",
            "checklist_item_verified",
            "checklist_item_verified",
            "station_accepted",
            "preparation_completed",
            "agreement_issued",
            "institution_signed",
            "countersigned"
        ]
    );
    assert_eq!(view["application"]["profile_version"], "2026.5");
    let notice = view["events"].as_array().unwrap().iter().find(|e| e["kind"] == "notice_ended").unwrap();
    assert_eq!(notice["actor_role"], "system");
}
both!(hrb_hospital_draft_to_signed);

/// URC-APPLY … URC-SIGN: an Urumqi pharmacy through the district branch's initial review and
/// verification, an evaluation round (当期), site scoring confirmed by the pharmacy, expert
/// review, the collective decision, a 10-day notice and signing.
async fn urc_pharmacy_draft_to_signed(b: Backend) {
    let t = TestApp::new(b).await;
    let inst = t.login("urc-pharmacy").await;
    let branch = t.login("urc-branch").await;
    let agency = t.login("urc-agency").await;
    let evaluator = t.login("urc-evaluator").await;
    let expert = t.login("urc-expert").await;

    let id = t.submitted(&inst).await;
    assert_eq!(t.state_of(id).await, "initial_review");
    assert_eq!(t.cmd(&branch, id, json!({ "command": "pass_initial_review" })).await, "info_verification");
    assert_eq!(
        t.cmd(&branch, id, json!({ "command": "pass_verification", "sources": { "written_review": { "checked_on": "2026-03-02" } } }))
            .await,
        "evaluator_draw"
    );

    let (status, round) = t.call(Method::POST, "/api/rounds", Some(&agency), Some(json!({ "name": "2026年第一期" }))).await;
    assert_eq!(status, StatusCode::CREATED, "{round}");
    let round_id = round["id"].as_i64().unwrap();
    assert_eq!(t.cmd(&agency, id, json!({ "command": "join_round", "round_id": round_id })).await, "evaluator_draw");
    // URC-EVAL-1: a round of a profile that draws evaluators starts only with its draw.
    let (status, body) = t.call(Method::POST, &format!("/api/rounds/{round_id}/start"), Some(&agency), None).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::CONFLICT, Some("not_allowed_now")), "{body}");
    assert_eq!(t.state_of(id).await, "evaluator_draw");
    let groups = t.draw_for_visit(&agency, round_id, &[id]).await;
    assert_eq!(t.state_of(id).await, "on_site_evaluation");

    // URC-EVAL-2: the pharmacy cannot confirm before the evaluators score; an evaluator who was
    // not drawn for it cannot score.
    let (status, body) = t.try_cmd(&inst, id, json!({ "command": "confirm_score_sheet" })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, body) = t.try_cmd(&evaluator, id, json!({ "command": "record_site_evaluation", "score": 92 })).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::FORBIDDEN, Some("not_assigned")), "{body}");
    for e in &groups[0] {
        assert_eq!(t.cmd(e, id, json!({ "command": "record_site_evaluation", "score": 92 })).await, "on_site_evaluation");
    }
    assert_eq!(t.cmd(&inst, id, json!({ "command": "confirm_score_sheet" })).await, "expert_review");
    assert_eq!(t.cmd(&expert, id, pass_review()).await, "collective_decision");
    assert_eq!(
        t.cmd(
            &agency,
            id,
            json!({ "command": "decide", "outcome": "pass", "minutes": "集体研究会议纪要", "attendees": ["主任", "副主任"] })
        )
        .await,
        "passed"
    );
    t.file_and_acknowledge(&agency, round_id).await;

    // URC-RES-2: 10 days from Mon 2026-03-02 → Thu 2026-03-12.
    assert_eq!(t.cmd(&agency, id, json!({ "command": "publish_notice" })).await, "public_notice");
    t.advance_days(10);
    assert!(t.tick().await.fired.is_empty(), "the last day of the notice is still inside it");
    t.advance_days(1);
    assert_eq!(t.tick().await.fired, vec![(id, "end_notice")]);
    assert_eq!(t.state_of(id).await, "ready_to_sign");
    assert_eq!(t.cmd(&inst, id, json!({ "command": "sign" })).await, "ready_to_sign");
    assert_eq!(t.cmd(&agency, id, json!({ "command": "countersign" })).await, "signed");
}
both!(urc_pharmacy_draft_to_signed);

/// Every terminal state: withdrawn (by the applicant, and deemed under HRB-ACC-2), rejected
/// (URC-REV-1), terminated (URC-REV-2), not_signed (URC-RES-2 founded complaint), given_up
/// (HRB-SIGN window missed, HRB-PRE-4 failed preparation) and failed_final (HRB-EVAL-3).
async fn every_terminal_state(b: Backend) {
    let t = TestApp::new(b).await;
    let hosp = t.login("hrb-hospital").await;
    let clinic = t.login("hrb-clinic").await;
    let hrb_agency = t.login("hrb-agency").await;
    let pharmacy = t.login("urc-pharmacy").await;
    let pharmacy2 = t.login("urc-pharmacy2").await;
    let urc_clinic = t.login("urc-clinic").await;
    let branch = t.login("urc-branch").await;
    let branch_other = t.login("urc-branch-other").await;

    // withdrawn, by the applicant.
    let id = t.submitted(&hosp).await;
    assert_eq!(t.cmd(&hosp, id, json!({ "command": "withdraw", "reason": "暂不申请" })).await, "withdrawn");
    let (status, body) = t.try_cmd(&hosp, id, json!({ "command": "submit" })).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::CONFLICT, Some("not_allowed_in_state")));

    // withdrawn, deemed (HRB-ACC-2): notice Mon 03-02, 5 working days → due Mon 03-09.
    let id = t.submitted(&clinic).await;
    t.cmd(&hrb_agency, id, supplement_notice()).await;
    t.advance_days(7);
    assert!(t.tick().await.fired.is_empty());
    t.advance_days(1);
    assert_eq!(t.tick().await.fired, vec![(id, "deem_withdrawn")]);
    assert_eq!(t.state_of(id).await, "withdrawn");
    assert!(t.tick().await.fired.is_empty(), "fires exactly once");

    // rejected (URC-REV-1), with its reasons.
    let id = t.submitted(&pharmacy).await;
    let (status, body) = t.try_cmd(&branch, id, json!({ "command": "reject", "reasons": [] })).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_input")));
    let reject = json!({ "command": "reject", "reasons": [{ "rule": "URC-REJ-PHA-1", "text": "行政处罚未履行完毕" }] });
    assert_eq!(t.cmd(&branch, id, reject).await, "rejected");

    // terminated (URC-REV-2), by the branch of the clinic's own district.
    let id = t.submitted(&urc_clinic).await;
    t.cmd(&branch_other, id, json!({ "command": "pass_initial_review" })).await;
    assert_eq!(t.cmd(&branch_other, id, json!({ "command": "terminate", "reason": "信息核查与申报不符", "sources": { "credit_system": { "checked_on": "2026-03-02" } } })).await, "terminated");

    // not_signed (URC-RES-2): a founded complaint during the notice.
    let urc_agency = t.login("urc-agency").await;
    let id = common::urc_to_notice(&t, &pharmacy2, &branch, &urc_agency).await;
    t.cmd(&urc_agency, id, json!({ "command": "record_complaint", "summary": "实际未配备执业药师" })).await;
    t.advance_days(15);
    let report = t.tick().await;
    assert_eq!(report.held, vec![(id, "open_complaints".to_owned())], "an open complaint holds the notice");
    let founded = json!({ "command": "resolve_complaint", "number": 1, "founded": true, "finding": "经查属实，条件不符" });
    assert_eq!(t.cmd(&urc_agency, id, founded).await, "not_signed");
}
both!(every_terminal_state);

/// given_up: HRB-SIGN (10 working days missed, fired by the timer) and HRB-PRE-4 (failed
/// preparation, with a 1-year ban that refuses the next application, G-BANS).
async fn given_up_paths(b: Backend) {
    let t = TestApp::new(b).await;
    let hosp = t.login("hrb-hospital").await;
    let clinic = t.login("hrb-clinic").await;
    let agency = t.login("hrb-agency").await;
    let expert = t.login("hrb-expert").await;

    let id = hrb_to_passed(&t, &hosp, &agency, &expert).await;
    t.cmd(&agency, id, json!({ "command": "publish_notice" })).await;
    t.advance_days(10);
    t.tick().await;
    t.complete_harbin_preparation(&hosp, id).await;
    // Entered ready_to_sign Thu 2026-03-12; 10 working days → Thu 2026-03-26.
    let app = t.store().application(id).await.unwrap().unwrap();
    assert_eq!(app.due_on.map(|d| d.to_string()).as_deref(), Some("2026-03-26"));
    t.advance_days(14);
    assert!(t.tick().await.fired.is_empty());
    t.advance_days(1);
    assert_eq!(t.tick().await.fired, vec![(id, "deem_given_up")]);
    assert_eq!(t.state_of(id).await, "given_up");

    let id = hrb_to_passed(&t, &clinic, &agency, &expert).await;
    t.cmd(&agency, id, json!({ "command": "publish_notice" })).await;
    t.advance_days(10);
    t.tick().await;
    let fail = json!({ "command": "fail_preparation", "reason": "两次培训考试未通过" });
    assert_eq!(t.cmd(&agency, id, fail).await, "given_up");
    let (status, body) = t.call(Method::POST, "/api/applications", Some(&clinic), None).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = t.try_cmd(&clinic, body["id"].as_i64().unwrap(), json!({ "command": "submit" })).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("banned")), "{body}");
    assert!(body["message"].as_str().unwrap().contains("2027-"), "the ban's end date is stated: {body}");
}
both!(given_up_paths);

/// failed_final (HRB-EVAL-3): a failure, rectification, re-evaluation not before 3 months
/// (LAW-MONTH), a second failure ⇒ final, with a 1-year ban. Both periods cover their
/// corresponding day (民法典 arts. 201–202): the first permitted day is the day after.
async fn hrb_eval_3_law_month_wait_and_ban_cover_corresponding_day(b: Backend) {
    let t = TestApp::new(b).await;
    let hosp = t.login("hrb-hospital").await;
    let agency = t.login("hrb-agency").await;
    let expert = t.login("hrb-expert").await;
    let id = t.submitted(&hosp).await;
    t.cmd(&agency, id, json!({ "command": "accept" })).await;
    t.cmd(&agency, id, json!({ "command": "schedule_evaluation" })).await;
    t.cmd(&agency, id, json!({ "command": "record_site_evaluation", "score": 50 })).await;
    assert_eq!(t.cmd(&expert, id, fail_review()).await, "failed_rectifying");
    // Served 2026-03-02: the 3 months cover 2026-06-02; re-evaluation from 2026-06-03.
    t.advance_days(92);
    let (status, body) = t.try_cmd(&hosp, id, json!({ "command": "request_reevaluation" })).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("too_early")), "{body}");
    assert_eq!(body["detail"]["earliest"], "2026-06-03");
    t.advance_days(1);
    assert_eq!(t.cmd(&hosp, id, json!({ "command": "request_reevaluation" })).await, "on_site_evaluation");
    t.cmd(&agency, id, json!({ "command": "record_site_evaluation", "score": 55 })).await;
    assert_eq!(t.cmd(&expert, id, fail_review()).await, "failed_final");
    let view = t.get_app(&hosp, id).await;
    let ban = view["events"].as_array().unwrap().iter().find(|e| e["kind"] == "ban_imposed").expect("ban event");
    // Failed again on 2026-06-03: the 1-year ban covers 2027-06-03.
    assert_eq!(ban["event"]["until"], "2027-06-03");
    let (status, body) = t.call(Method::POST, "/api/applications", Some(&hosp), None).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let again = body["id"].as_i64().unwrap();
    t.cmd(&hosp, again, json!({ "command": "update_draft", "facts": common::full_facts("H23010200001") })).await;
    t.clock.set_date(jiff::civil::date(2027, 6, 3));
    let (status, body) = t.try_cmd(&hosp, again, json!({ "command": "submit" })).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("banned")), "{body}");
    assert!(body["message"].as_str().unwrap().contains("2027-06-04 起方可申请"), "{body}");
    t.clock.set_date(jiff::civil::date(2027, 6, 4));
    assert_eq!(t.cmd(&hosp, again, json!({ "command": "submit" })).await, "submitted");
}
both!(hrb_eval_3_law_month_wait_and_ban_cover_corresponding_day);

/// G-FOLLOWS (HRB-EVAL-3): a failure follows the institution, not the application. An institution
/// that failed, withdrew and applied again the same day is held to the 3-month rectification
/// wait, and its second failure is final with the 1-year ban (G-BANS) — it cannot start afresh.
async fn g_follows_failure_survives_withdrawal_and_reapplication(b: Backend) {
    let t = TestApp::new(b).await;
    let hosp = t.login("hrb-hospital").await;
    let agency = t.login("hrb-agency").await;
    let expert = t.login("hrb-expert").await;
    let first = t.submitted(&hosp).await;
    t.cmd(&agency, first, json!({ "command": "accept" })).await;
    t.cmd(&agency, first, json!({ "command": "schedule_evaluation" })).await;
    t.cmd(&agency, first, json!({ "command": "record_site_evaluation", "score": 50 })).await;
    assert_eq!(t.cmd(&expert, first, fail_review()).await, "failed_rectifying");
    assert_eq!(t.cmd(&hosp, first, json!({ "command": "withdraw" })).await, "withdrawn");

    // The same day: a new draft may be written, but not submitted before 2026-06-03.
    let (status, body) = t.call(Method::POST, "/api/applications", Some(&hosp), None).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let second = body["id"].as_i64().unwrap();
    t.cmd(&hosp, second, json!({ "command": "update_draft", "facts": common::full_facts("H23010200001") })).await;
    let (status, body) = t.try_cmd(&hosp, second, json!({ "command": "submit" })).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("too_early")), "{body}");
    assert_eq!((body["detail"]["earliest"].as_str(), body["detail"]["rule"].as_str()), (Some("2026-06-03"), Some("HRB-EVAL-3")));
    t.advance_days(93);
    assert_eq!(t.cmd(&hosp, second, json!({ "command": "submit" })).await, "submitted");
    assert_eq!(t.get_app(&hosp, second).await["application"]["data"]["failures"], 1, "the failure came along");

    // The second failure is final, with the ban, as if it had stayed one application.
    t.cmd(&agency, second, json!({ "command": "accept" })).await;
    t.cmd(&agency, second, json!({ "command": "schedule_evaluation" })).await;
    t.cmd(&agency, second, json!({ "command": "record_site_evaluation", "score": 55 })).await;
    assert_eq!(t.cmd(&expert, second, fail_review()).await, "failed_final");
    let (status, body) = t.call(Method::POST, "/api/applications", Some(&hosp), None).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let third = body["id"].as_i64().unwrap();
    t.cmd(&hosp, third, json!({ "command": "update_draft", "facts": common::full_facts("H23010200001") })).await;
    let (status, body) = t.try_cmd(&hosp, third, json!({ "command": "submit" })).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("banned")), "{body}");
}
both!(g_follows_failure_survives_withdrawal_and_reapplication);
