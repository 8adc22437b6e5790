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

/// URC-RES-1: the agency files the round's passed list with the administrative department; the
/// department (the city's `admin`) acknowledges it; the notice (URC-RES-2) is published only
/// then (`filing_not_acknowledged` before). Harbin has no filing and publishes as before.
async fn urc_res_1_filing_acknowledged_before_notice(b: Backend) {
    let t = TestApp::new(b).await;
    let inst = t.login("urc-pharmacy").await;
    let agency = t.login("urc-agency").await;
    let expert = t.login("urc-expert").await;
    let admin = t.login("urc-admin").await;
    let hrb_admin = t.login("hrb-admin").await;
    let (id, round_id) = urc_to_expert_review(&t, &inst).await;
    assert_eq!(t.cmd(&expert, id, pass_review()).await, "collective_decision");

    // Not before the round is decided.
    let filing = format!("/api/rounds/{round_id}/filing");
    let ack = format!("/api/rounds/{round_id}/filing/acknowledgement");
    let (status, body) = t.call(Method::POST, &filing, Some(&agency), None).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::CONFLICT, Some("not_allowed_now")), "{body}");
    assert_eq!(t.cmd(&agency, id, decide_pass()).await, "passed");

    let refused = |body: &Value, filed: bool| {
        assert_eq!(body["code"], "filing_not_acknowledged", "{body}");
        assert_eq!(body["detail"]["filed"], filed, "{body}");
    };
    let (status, body) = t.try_cmd(&agency, id, json!({ "command": "publish_notice" })).await;
    assert_eq!(status, StatusCode::CONFLICT);
    refused(&body, false);
    // The acts are the round's, not one application's: the command API does not take them.
    let (status, body) = t.try_cmd(&agency, id, json!({ "command": "file_with_administration", "round_id": round_id })).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::BAD_REQUEST, Some("unknown_command")), "{body}");
    // Nothing to acknowledge yet; only the administrator files are acknowledged by.
    let (status, _) = t.call(Method::POST, &ack, Some(&admin), None).await;
    assert_eq!(status, StatusCode::CONFLICT);

    // The agency files (the page button); then publishing still waits for the acknowledgement.
    let (status, _, location) = t.post_form(&format!("/rounds/{round_id}/file"), &agency, &[]).await;
    assert_eq!((status, location.as_deref()), (StatusCode::SEE_OTHER, Some("/rounds?done=file")));
    let (status, body) = t.call(Method::POST, &filing, Some(&agency), None).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::CONFLICT, Some("already_filed")), "filed once: {body}");
    let (status, body) = t.try_cmd(&agency, id, json!({ "command": "publish_notice" })).await;
    assert_eq!(status, StatusCode::CONFLICT);
    refused(&body, true);

    // Only the administration of that city acknowledges.
    let (status, _) = t.call(Method::POST, &ack, Some(&agency), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = t.call(Method::POST, &ack, Some(&hrb_admin), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, page) = t.get_text("/admin", &admin).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("评估合格名单备案") && page.contains("确认备案"), "the administrator's page lists the filing");
    let (status, _, _) = t.post_form(&format!("/admin/rounds/{round_id}/acknowledge"), &admin, &[]).await;
    assert_eq!(status, StatusCode::OK);
    let (_, page) = t.get_text("/admin", &admin).await;
    assert!(page.contains("已确认备案"));

    let view = t.get_app(&agency, id).await;
    let kinds: Vec<&str> = view["events"].as_array().unwrap().iter().filter_map(|e| e["kind"].as_str()).collect();
    assert!(kinds.ends_with(&["result_decided", "passed_list_filed", "filing_acknowledged"]), "{kinds:?}");
    assert_eq!(t.cmd(&agency, id, json!({ "command": "publish_notice" })).await, "public_notice");

    // Harbin: no filing step; the notice follows the result directly.
    let hosp = t.login("hrb-hospital").await;
    let hid = t.harbin_passed(&hosp).await;
    let hrb_agency = t.login("hrb-agency").await;
    assert_eq!(t.cmd(&hrb_agency, hid, json!({ "command": "publish_notice" })).await, "public_notice");
}
both!(urc_res_1_filing_acknowledged_before_notice);

/// URC-REV-1: the initial review is held against the plan (设置规划) the city's administrator
/// keeps per district and kind on /admin; the designated count is the system's own signed
/// agreements; a full district refuses the pass (`outside_plan`) and the rejection cites the plan.
async fn urc_rev_1_initial_review_against_the_plan(b: Backend) {
    let t = TestApp::new(b).await;
    let agency = t.login("urc-agency").await;
    let branch = t.login("urc-branch").await;
    let admin = t.login("urc-admin").await;
    let expert = t.login("urc-expert").await;

    // One pharmacy of district 650102 signs its agreement: the district's one designated pharmacy.
    let pharmacy2 = t.login("urc-pharmacy2").await;
    let (signed, round_id) = urc_to_expert_review(&t, &pharmacy2).await;
    t.cmd(&expert, signed, pass_review()).await;
    t.cmd(&agency, signed, decide_pass()).await;
    t.file_and_acknowledge(&agency, round_id).await;
    t.cmd(&agency, signed, json!({ "command": "publish_notice" })).await;
    t.advance_days(11);
    t.tick().await;
    t.cmd(&pharmacy2, signed, json!({ "command": "sign" })).await;
    assert_eq!(t.cmd(&agency, signed, json!({ "command": "countersign" })).await, "signed");

    // The administrator keeps the plan; only the administrator, only for their own city.
    let plan = |ceiling: &str, density: &str| {
        vec![
            ("district", "650102".to_owned()),
            ("kind", "pharmacy".to_owned()),
            ("population", "200000".to_owned()),
            ("ceiling", ceiling.to_owned()),
            ("density", density.to_owned()),
        ]
    };
    let (status, _, _) = t.post_form("/admin/planning", &agency, &plan("2", "")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let hrb_admin = t.login("hrb-admin").await;
    let (status, page, _) = t.post_form("/admin/planning", &hrb_admin, &plan("2", "")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "Harbin has no planning");
    assert!(page.contains("没有设置规划环节"));
    let (status, page, _) = t.post_form("/admin/planning", &admin, &plan("2", "1.555")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("最多两位小数"));
    let (status, page, _) = t.post_form("/admin/planning", &admin, &plan("", "1.5")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("已保存设置规划") && page.contains("天山区") && page.contains("1.50"), "the plan is listed");

    let inst = t.login("urc-pharmacy").await;
    let id = t.submitted(&inst).await;
    assert_eq!(t.state_of(id).await, "initial_review");
    // 200,000 residents at 1.5 per 10,000: 30; one designated — fits.
    let (status, a) = t.call(Method::GET, &format!("/api/applications/{id}/planning"), Some(&branch), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!((a["designated"].as_u64(), a["capacity"].as_u64(), a["fits"].as_bool()), (Some(1), Some(30), Some(true)), "{a}");
    let cite = json!({ "command": "reject", "reasons": [{ "rule": "URC-REV-1", "text": "已达规划数" }] });
    let (status, body) = t.try_cmd(&branch, id, cite.clone()).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_input")), "room left: {body}");

    // The ceiling of 1 is reached by the signed agreement: the pass is refused.
    let (status, _, _) = t.post_form("/admin/planning", &admin, &plan("1", "1.5")).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = t.try_cmd(&branch, id, json!({ "command": "pass_initial_review" })).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::CONFLICT, Some("outside_plan")), "{body}");
    assert_eq!((body["detail"]["designated"].as_u64(), body["detail"]["capacity"].as_u64()), (Some(1), Some(1)));
    let (_, page) = t.get_text(&format!("/applications/{id}"), &branch).await;
    for s in ["设置规划（初审依据）", "200000", "不符合（已达规划数）", "以不符合设置规划为由不予受理"] {
        assert!(page.contains(s), "{s} on the page");
    }
    assert!(!page.contains("初审通过</button>"), "no pass button when the plan is full");
    // The page's refusal for planning cites the rule.
    let version = t.store().application(id).await.unwrap().unwrap().version.to_string();
    let fields = [
        ("command", "reject".to_owned()),
        ("expected_version:int", version),
        ("reasons:cite:URC-REV-1", "天山区零售药店现有定点 1 家，已达设置规划数 1 家。".to_owned()),
        ("confirmed", "1".to_owned()),
    ];
    let (status, _, _) = t.post_form(&format!("/applications/{id}/act"), &branch, &fields).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(t.state_of(id).await, "rejected");
    let view = t.get_app(&branch, id).await;
    let rejected = view["events"].as_array().unwrap().iter().find(|e| e["kind"] == "rejected").unwrap().clone();
    assert_eq!(rejected["event"]["reasons"][0]["rule"], "URC-REV-1", "{rejected}");
}
both!(urc_rev_1_initial_review_against_the_plan);
