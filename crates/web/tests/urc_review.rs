//! Urumqi's review, planning, filing and expert reasons (issue #14 items 7, 9, 10, 11), over
//! HTTP on SQLite and on PostgreSQL.

#[macro_use]
mod common;

use axum::http::{Method, StatusCode};
use common::TestApp;
use dingdian_store::testing::Backend;
use serde_json::{Value, json};

fn pass_review() -> Value {
    json!({ "command": "record_expert_review", "recommendation": "pass", "attendees": ["专家甲", "专家乙", "专家丙"] })
}

fn decide_pass() -> Value {
    json!({ "command": "decide", "outcome": "pass", "minutes": "集体研究会议纪要", "attendees": ["主任", "副主任"] })
}

/// URC-REV-2: the sources checked during information verification.
fn verification(command: &str) -> Value {
    json!({ "command": command, "sources": {
        "written_review": { "checked_on": "2026-03-02" },
        "credit_system": { "checked_on": "2026-03-02", "note": "无经营异常记录" }
    }})
}

/// Drives an Urumqi application through the initial review and verification into a new round,
/// then to the expert review. Returns (application, round).
async fn urc_to_expert_review(t: &TestApp, inst: &str) -> (i64, i64) {
    let branch = t.login("urc-branch").await;
    let agency = t.login("urc-agency").await;
    let id = t.submitted(inst).await;
    assert_eq!(t.cmd(&branch, id, json!({ "command": "pass_initial_review" })).await, "info_verification");
    assert_eq!(t.cmd(&branch, id, verification("pass_verification")).await, "evaluator_draw");
    let (_, round) = t.call(Method::POST, "/api/rounds", Some(&agency), Some(json!({ "name": "当期" }))).await;
    let round_id = round["id"].as_i64().unwrap();
    t.cmd(&agency, id, json!({ "command": "join_round", "round_id": round_id })).await;
    for e in &t.draw_for_visit(&agency, round_id, &[id]).await[0] {
        t.cmd(e, id, json!({ "command": "record_site_evaluation", "score": 80 })).await;
    }
    assert_eq!(t.cmd(inst, id, json!({ "command": "confirm_score_sheet" })).await, "expert_review");
    (id, round_id)
}

/// URC-EVAL-3 / URC-EVAL-4: an expert's "not passed" needs its reasons; the collective decision
/// records minutes and attendees, shown on the page as in the API; departing from the experts'
/// recommendation needs a reason.
async fn urc_eval_3_4_reasons_minutes_and_departure(b: Backend) {
    let t = TestApp::new(b).await;
    let inst = t.login("urc-pharmacy").await;
    let agency = t.login("urc-agency").await;
    let expert = t.login("urc-expert").await;
    let (id, _) = urc_to_expert_review(&t, &inst).await;

    let before = t.store().application(id).await.unwrap().unwrap().version;
    let fail = json!({ "command": "record_expert_review", "recommendation": "fail", "reasons": [" "], "attendees": ["专家甲"] });
    let (status, body) = t.try_cmd(&expert, id, fail).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("reasons_required")), "{body}");
    assert_eq!(t.store().application(id).await.unwrap().unwrap().version, before, "nothing changed");
    assert_eq!(t.cmd(&expert, id, pass_review()).await, "collective_decision");

    let (status, body) = t.try_cmd(&agency, id, json!({ "command": "decide", "outcome": "pass", "attendees": ["主任"] })).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_input")), "minutes: {body}");
    let (status, body) = t.try_cmd(&agency, id, json!({ "command": "decide", "outcome": "pass", "minutes": "纪要" })).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_input")), "attendees: {body}");
    let departs = json!({
        "command": "decide", "outcome": "fail", "reasons": ["台账不全"], "rectification": "补建台账",
        "minutes": "纪要", "attendees": ["主任"]
    });
    let (status, body) = t.try_cmd(&agency, id, departs.clone()).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("departure_reason_required")), "{body}");
    assert_eq!(t.state_of(id).await, "collective_decision");

    let mut departs = departs;
    departs["minutes"] = json!("2026年第一期集体研究会议：复核现场评估记录");
    departs["attendees"] = json!(["中心主任", "分管副主任"]);
    departs["departure_reason"] = json!("会议复核发现进销存台账缺失三个月");
    assert_eq!(t.cmd(&agency, id, departs).await, "failed_rectifying");

    // The API carries the record …
    let view = t.get_app(&agency, id).await;
    let decided = view["events"].as_array().unwrap().iter().find(|e| e["kind"] == "result_decided").expect("decided").clone();
    let text = decided.to_string();
    for s in ["2026年第一期集体研究会议", "中心主任", "分管副主任", "会议复核发现进销存台账缺失三个月"] {
        assert!(text.contains(s), "{s} in {text}");
    }
    // … and the page shows the same, to the institution as well.
    for token in [&agency, &inst] {
        let (status, page) = t.get_text(&format!("/applications/{id}"), token).await;
        assert_eq!(status, StatusCode::OK);
        for s in ["专家评审意见", "专家甲", "集体决策结果", "2026年第一期集体研究会议", "中心主任", "会议复核发现进销存台账缺失三个月"]
        {
            assert!(page.contains(s), "{s} on the page");
        }
    }
}
both!(urc_eval_3_4_reasons_minutes_and_departure);

/// URC-REV-2: information verification records its sources (书面审核、部门函询、国家企业信用信息
/// 公示系统查询), each with the day checked and optional files uploaded like materials; refused
/// without one; shown on the page.
async fn urc_rev_2_verification_records_its_sources(b: Backend) {
    let t = TestApp::new(b).await;
    let inst = t.login("urc-pharmacy").await;
    let branch = t.login("urc-branch").await;
    let id = t.submitted(&inst).await;
    assert_eq!(t.cmd(&branch, id, json!({ "command": "pass_initial_review" })).await, "info_verification");

    // Without a source: refused, nothing changed.
    let version = t.store().application(id).await.unwrap().unwrap().version;
    for cmd in [json!({ "command": "pass_verification" }), json!({ "command": "terminate", "reason": "不符", "sources": {} })] {
        let (status, body) = t.try_cmd(&branch, id, cmd).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("verification_sources_required")), "{body}");
    }
    assert_eq!(t.store().application(id).await.unwrap().unwrap().version, version);
    // A day after today, or a file not uploaded: refused.
    let later = json!({ "command": "pass_verification", "sources": { "written_review": { "checked_on": "2026-03-03" } } });
    assert_eq!(t.try_cmd(&branch, id, later).await.0, StatusCode::UNPROCESSABLE_ENTITY);
    let stray = json!({ "command": "pass_verification", "sources": { "department_letter": { "checked_on": "2026-03-02", "attachments": ["a".repeat(64)] } } });
    assert_eq!(t.try_cmd(&branch, id, stray).await.0, StatusCode::UNPROCESSABLE_ENTITY);

    // The letter's reply is uploaded through the material upload path, by the reviewer only.
    let (status, _) = t.upload(&inst, id, "verification_evidence", "回函.pdf", common::pdf("inst")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "the institution does not upload verification evidence");
    let (status, body) = t.upload(&branch, id, "verification_evidence", "市场监管局回函.pdf", common::pdf("letter")).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let app = t.store().application(id).await.unwrap().unwrap();
    let sha = app.data.materials["verification_evidence"][0].sha256.clone();

    // The page form, as the reviewer sends it.
    let version = app.version.to_string();
    let fields = [
        ("command", "pass_verification".to_owned()),
        ("expected_version:int", version),
        ("sources.written_review.checked_on", "2026-03-02".to_owned()),
        ("sources.written_review.note", "材料与申报一致".to_owned()),
        ("sources.department_letter.checked_on", "2026-03-02".to_owned()),
        ("sources.department_letter.attachments:many", sha.clone()),
        ("sources.credit_system.checked_on", "".to_owned()),
        ("sources.credit_system.note", "".to_owned()),
    ];
    let (status, _, location) = t.post_form(&format!("/applications/{id}/act"), &branch, &fields).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{location:?}");
    assert_eq!(t.state_of(id).await, "evaluator_draw");

    let view = t.get_app(&branch, id).await;
    let passed = view["events"].as_array().unwrap().iter().find(|e| e["kind"] == "verification_passed").unwrap()["event"].clone();
    let sources = passed["sources"].as_array().unwrap();
    assert_eq!(sources.len(), 2, "{passed}");
    assert_eq!(sources[0]["source"], "written_review");
    assert_eq!(sources[1]["attachments"][0]["sha256"], sha.as_str());
    let (_, page) = t.get_text(&format!("/applications/{id}"), &branch).await;
    for s in ["信息核查记录", "书面审核", "材料与申报一致", "部门函询", "市场监管局回函.pdf"] {
        assert!(page.contains(s), "{s} on the page");
    }
}
both!(urc_rev_2_verification_records_its_sources);
