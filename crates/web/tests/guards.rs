//! Authorization, optimistic concurrency and bad input, on SQLite and on PostgreSQL.

#[macro_use]
mod common;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use common::TestApp;
use dingdian_store::testing::Backend;
use serde_json::json;

/// An institution cannot read or act on another institution's application; a Harbin agency
/// user cannot act on an Urumqi application; a branch reviewer only in their district.
async fn scope_is_enforced(b: Backend) {
    let t = TestApp::new(b).await;
    let hosp = t.login("hrb-hospital").await;
    let clinic = t.login("hrb-clinic").await;
    let hrb_agency = t.login("hrb-agency").await;
    let pharmacy = t.login("urc-pharmacy").await;
    let other_branch = t.login("urc-branch-other").await;
    let hosp_app = t.submitted(&hosp).await;
    let urc_app = t.submitted(&pharmacy).await;

    let (status, body) = t.call(Method::GET, &format!("/api/applications/{hosp_app}"), Some(&clinic), None).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::FORBIDDEN, Some("not_your_institution")));
    let (status, body) = t.try_cmd(&clinic, hosp_app, json!({ "command": "withdraw" })).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::FORBIDDEN, Some("not_your_institution")));
    let (_, list) = t.call(Method::GET, "/api/applications", Some(&clinic), None).await;
    assert_eq!(list.as_array().unwrap().len(), 0, "the clinic lists nothing of the hospital's: {list}");

    let (status, body) = t.try_cmd(&hrb_agency, urc_app, json!({ "command": "pass_initial_review" })).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::FORBIDDEN, Some("not_your_region")));
    let (status, _) = t.call(Method::GET, &format!("/api/applications/{urc_app}"), Some(&hrb_agency), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = t.try_cmd(&other_branch, urc_app, json!({ "command": "pass_initial_review" })).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::FORBIDDEN, Some("not_your_region")));
    let (_, list) = t.call(Method::GET, "/api/applications", Some(&hrb_agency), None).await;
    assert!(list.as_array().unwrap().iter().all(|a| a["city"] == "harbin"), "{list}");

    assert_eq!(t.state_of(hosp_app).await, "submitted");
    assert_eq!(t.state_of(urc_app).await, "initial_review");
    // One application at a time: the open one is continued, not duplicated.
    let (status, body) = t.call(Method::POST, "/api/applications", Some(&hosp), None).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::CONFLICT, Some("application_open")), "{body}");
    let (status, body) = t.call(Method::GET, "/api/applications", None, None).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("unauthenticated")));
}
both!(scope_is_enforced);

/// Each role is refused every command that belongs to another role.
async fn roles_are_enforced(b: Backend) {
    let t = TestApp::new(b).await;
    let hrb = t.login("hrb-hospital").await;
    let urc = t.login("urc-pharmacy").await;
    let hrb_app = t.submitted(&hrb).await;
    let urc_app = t.submitted(&urc).await;
    // (command, the role it belongs to in that city's profile)
    let hrb_cmds = [
        (json!({ "command": "submit" }), "institution"),
        (json!({ "command": "withdraw" }), "institution"),
        (json!({ "command": "supplement" }), "institution"),
        (json!({ "command": "sign" }), "institution"),
        (json!({ "command": "accept" }), "agency"),
        (supplement_notice(), "agency"),
        (json!({ "command": "publish_notice" }), "agency"),
        (json!({ "command": "countersign" }), "agency"),
        (json!({ "command": "record_expert_review", "recommendation": "pass", "attendees": ["专家甲", "专家乙", "专家丙"] }), "expert"),
        (json!({ "command": "end_notice" }), "system"),
        (json!({ "command": "deem_withdrawn" }), "system"),
    ];
    let urc_cmds = [
        (json!({ "command": "confirm_score_sheet" }), "institution"),
        (json!({ "command": "pass_initial_review" }), "branch_reviewer"),
        (
            json!({ "command": "terminate", "reason": "x", "sources": { "credit_system": { "checked_on": "2026-03-02" } } }),
            "branch_reviewer",
        ),
        (json!({ "command": "join_round", "round_id": 1 }), "agency"),
        (json!({ "command": "decide", "outcome": "pass" }), "agency"),
        (json!({ "command": "record_site_evaluation", "score": 80 }), "evaluator"),
        (json!({ "command": "record_expert_review", "recommendation": "pass", "attendees": ["专家甲", "专家乙", "专家丙"] }), "expert"),
        (json!({ "command": "deem_given_up" }), "system"),
    ];
    let hrb_users = [
        ("hrb-hospital", "institution"),
        ("hrb-agency", "agency"),
        ("hrb-expert", "expert"),
        ("hrb-evaluator", "evaluator"),
        ("hrb-supervisor", "supervisor"),
        ("hrb-admin", "admin"),
    ];
    let urc_users = [
        ("urc-pharmacy", "institution"),
        ("urc-branch", "branch_reviewer"),
        ("urc-agency", "agency"),
        ("urc-evaluator", "evaluator"),
        ("urc-expert", "expert"),
        ("urc-supervisor", "supervisor"),
    ];
    let before = t.store().fingerprint().await.unwrap();
    let mut checked = 0;
    for (app, cmds, users) in [(hrb_app, &hrb_cmds[..], &hrb_users[..]), (urc_app, &urc_cmds[..], &urc_users[..])] {
        for (user, role) in users {
            let token = t.login(user).await;
            for (cmd, owner) in cmds {
                if owner == role {
                    continue;
                }
                let (status, body) = t.try_cmd(&token, app, cmd.clone()).await;
                assert_eq!(status, StatusCode::FORBIDDEN, "{user} sending {cmd}: {body}");
                if *role == "evaluator" {
                    // G-VISIBILITY: an evaluator not grouped with the institution does not even
                    // see the application, so it learns nothing of who may act on it.
                    assert_eq!(body["code"], "not_assigned", "{user} sending {cmd}: {body}");
                    checked += 1;
                    continue;
                }
                assert_eq!(body["code"], "not_your_role", "{user} sending {cmd}: {body}");
                assert_eq!(body["detail"]["required_role"], *owner, "{cmd}");
                checked += 1;
            }
        }
    }
    assert!(checked > 80, "{checked}");
    assert_eq!(t.store().fingerprint().await.unwrap(), before, "refusals change nothing");
}
both!(roles_are_enforced);

fn supplement_notice() -> serde_json::Value {
    json!({ "command": "issue_supplement_notice", "items": [{ "slot": "licence", "problem": "missing", "reason": "缺执业许可证" }] })
}

/// Two conflicting commands on one application at once: exactly one wins, the other gets a
/// conflict, and the event list shows exactly the winner.
async fn concurrent_commands_one_wins(b: Backend) {
    let t = TestApp::new(b).await;
    let hosp = t.login("hrb-hospital").await;
    let agency = t.login("hrb-agency").await;
    for round in 0..5 {
        let id = t.submitted(&hosp).await;
        let version = t.store().application(id).await.unwrap().unwrap().version;
        let path = format!("/api/applications/{id}/commands");
        let send = |cmd: serde_json::Value| {
            let mut cmd = cmd;
            cmd["expected_version"] = json!(version);
            t.call(Method::POST, &path, Some(&agency), Some(cmd))
        };
        let (a, b2) = tokio::join!(send(json!({ "command": "accept" })), send(supplement_notice()));
        let statuses = [a.0, b2.0];
        assert_eq!(statuses.iter().filter(|s| **s == StatusCode::OK).count(), 1, "round {round}: {a:?} {b2:?}");
        let loser = if a.0 == StatusCode::OK { &b2 } else { &a };
        assert_eq!(loser.0, StatusCode::CONFLICT, "{loser:?}");
        assert!(matches!(loser.1["code"].as_str(), Some("conflict" | "stale_version")), "{loser:?}");
        let events = t.store().events(id).await.unwrap();
        assert_eq!(events.len() as i64, version + 1, "exactly one new event");
        let app = t.store().application(id).await.unwrap().unwrap();
        let winner_state = if a.0 == StatusCode::OK { "accepted" } else { "awaiting_supplement" };
        assert_eq!(app.state.as_str(), winner_state);
        assert_eq!(app.version, version + 1);
        t.cmd(&hosp, id, json!({ "command": "withdraw" })).await;
    }
}
both!(concurrent_commands_one_wins);

/// Bad input gets a 4xx with a stable code and changes nothing.
async fn bad_input_changes_nothing(b: Backend) {
    let t = TestApp::new(b).await;
    let hosp = t.login("hrb-hospital").await;
    let agency = t.login("hrb-agency").await;
    let id = t.submitted(&hosp).await;
    let before = t.store().fingerprint().await.unwrap();
    let path = format!("/api/applications/{id}/commands");
    let raw = |body: String, ctype: &str| {
        Request::builder()
            .method(Method::POST)
            .uri(&path)
            .header(header::AUTHORIZATION, format!("Bearer {agency}"))
            .header(header::CONTENT_TYPE, ctype)
            .body(Body::from(body))
            .unwrap()
    };
    let cases: Vec<(&str, Request<Body>, StatusCode, &str)> = vec![
        ("malformed json", raw("{\"command\": \"accept\", ".into(), "application/json"), StatusCode::BAD_REQUEST, "malformed_json"),
        ("not an object", raw("[1,2]".into(), "application/json"), StatusCode::UNPROCESSABLE_ENTITY, "invalid_input"),
        (
            "wrong version type",
            raw(r#"{"command":"accept","expected_version":"2"}"#.into(), "application/json"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
        ),
        ("missing version", raw(r#"{"command":"accept"}"#.into(), "application/json"), StatusCode::UNPROCESSABLE_ENTITY, "invalid_input"),
        (
            "wrong field type",
            raw(r#"{"command":"issue_supplement_notice","expected_version":2,"items":"all"}"#.into(), "application/json"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
        ),
        (
            "unknown field",
            raw(r#"{"command":"accept","expected_version":2,"force":true}"#.into(), "application/json"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
        ),
        (
            "unknown command",
            raw(r#"{"command":"approve_everything","expected_version":2}"#.into(), "application/json"),
            StatusCode::BAD_REQUEST,
            "unknown_command",
        ),
        (
            "oversized body",
            raw(format!(r#"{{"command":"accept","expected_version":2,"pad":"{}"}}"#, "x".repeat(200 * 1024)), "application/json"),
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        ),
        (
            "not json",
            raw("command=accept".into(), "application/x-www-form-urlencoded"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            "stale version",
            raw(r#"{"command":"accept","expected_version":1}"#.into(), "application/json"),
            StatusCode::CONFLICT,
            "stale_version",
        ),
        (
            "unknown slot",
            raw(
                r#"{"command":"issue_supplement_notice","expected_version":2,"items":[{"slot":"nope","problem":"missing","reason":"x"}]}"#
                    .into(),
                "application/json",
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
        ),
    ];
    for (what, req, status, code) in cases {
        let (got, body) = t.send(req).await;
        assert_eq!(got, status, "{what}: {body}");
        assert_eq!(body["code"], code, "{what}: {body}");
        assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()), "{what}: a Chinese message: {body}");
    }
    let (status, body) = t.call(Method::POST, "/api/applications/abc/commands", Some(&agency), Some(json!({}))).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")));
    let (status, body) = t
        .call(Method::POST, "/api/applications/999999/commands", Some(&agency), Some(json!({ "command": "accept", "expected_version": 0 })))
        .await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")));
    let (status, body) =
        t.call(Method::POST, "/api/session", None, Some(json!({ "username": "hrb-agency", "password": "wrong-password" }))).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_credentials")));
    assert_eq!(t.store().fingerprint().await.unwrap(), before, "bad input changed the database");
    // G-ONE-NOTICE over HTTP: a second notice in the same round is refused.
    t.cmd(&agency, id, supplement_notice()).await;
    t.upload_pdf(&hosp, id, "licence").await;
    t.cmd(&hosp, id, json!({ "command": "supplement" })).await;
    let (status, body) = t.try_cmd(&agency, id, supplement_notice()).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::CONFLICT, Some("second_supplement_notice")));
}
both!(bad_input_changes_nothing);
