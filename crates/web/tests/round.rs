//! A full Urumqi evaluation round over HTTP (URC-EVAL-1…4, URC-RES-1, G-DRAW): 12 institutions,
//! a 40-person pool, commitment, draw, reveal, scoring, confirmation, expert review, collective
//! decision and results — with who sees which names when.

#[macro_use]
mod common;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use common::TestApp;
use dingdian_core::ids::Uscc;
use dingdian_core::lifecycle::Role;
use dingdian_core::policy::InstitutionKind;
use dingdian_store::testing::Backend;
use dingdian_store::{NewInstitution, NewUser};
use serde_json::{Value, json};

fn pool_csv(n: usize) -> String {
    // 13 from each of the three required departments and one from an industry association.
    let departments = ["insurance", "health", "market_regulation"];
    let mut csv = String::from("id,name,department,employer,specialty,active,ties\n");
    for i in 0..n {
        let department = if i == n - 1 { "industry_association" } else { departments[i % 3] };
        // Evaluator 1 is tied to the first institution: the draw must never send them there.
        let ties = if i == 0 { format!("{}:worked_for:2025-06-01", inst_uscc(0)) } else { String::new() };
        // Every evaluator from a different employer: the pool is exactly large enough, so the
        // test does not depend on which seed the draw gets (employer rules: see draw's proptests).
        csv.push_str(&format!("E{i:02},评估员{i},{department},单位{i},医疗管理,1,{ties}\n"));
    }
    csv
}

fn inst_uscc(i: usize) -> Uscc {
    Uscc::with_check(&format!("91650102MA{i:07}")).unwrap()
}

async fn urc_eval_full_round(b: Backend) {
    let t = TestApp::new(b).await;
    let store = t.store();
    let now = dingdian_store::clock::Clock::now(&*t.clock);
    let agency = t.login("urc-agency").await;
    let branch = t.login("urc-branch").await;
    let expert = t.login("urc-expert").await;
    let supervisor = t.login("urc-supervisor").await;

    // 12 pharmacies apply and pass initial review and verification.
    let mut apps = Vec::new();
    for i in 0..12 {
        let uscc = inst_uscc(i);
        let name = format!("药店{i}");
        let new = NewInstitution {
            uscc: &uscc,
            name: &name,
            kind: InstitutionKind::Pharmacy,
            category: "零售药店",
            city: "urumqi",
            district: "650102",
            national_code: None,
            address: "天山区",
            beds: 0,
        };
        let inst_id = store.ensure_institution(new, now).await.unwrap();
        let username = format!("pharmacy-{i}");
        let u = NewUser {
            username: &username,
            display_name: &name,
            password: common::PASSWORD,
            role: Role::Institution,
            city: "urumqi",
            district: None,
            institution_id: Some(inst_id),
        };
        store.ensure_user(u, now).await.unwrap();
        let token = t.login(&username).await;
        let id = t.submitted(&token).await;
        t.cmd(&branch, id, json!({ "command": "pass_initial_review" })).await;
        t.cmd(&branch, id, json!({ "command": "pass_verification", "sources": { "written_review": { "checked_on": "2026-03-02" } } }))
            .await;
        apps.push((id, token, uscc));
    }

    // The pool: 40 people, every change audited.
    let (status, body) = t.post_csv("/api/evaluators/import", &agency, pool_csv(40)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let mut evaluator_tokens = std::collections::BTreeMap::new();
    for i in 0..40 {
        let username = format!("evaluator-{i:02}");
        let u = NewUser {
            username: &username,
            display_name: &username,
            password: common::PASSWORD,
            role: Role::Evaluator,
            city: "urumqi",
            district: None,
            institution_id: None,
        };
        let uid = store.ensure_user(u, now).await.unwrap();
        store.link_evaluator(uid, &format!("E{i:02}")).await.unwrap();
        evaluator_tokens.insert(format!("E{i:02}"), t.login(&username).await);
    }

    let (_, round) = t.call(Method::POST, "/api/rounds", Some(&agency), Some(json!({ "name": "2026年第一期" }))).await;
    let round_id = round["id"].as_i64().unwrap();
    for (id, _, _) in &apps {
        t.cmd(&agency, *id, json!({ "command": "join_round", "round_id": round_id })).await;
    }
    // The commitment comes first; drawing without one is refused.
    let (status, _) = t
        .call(
            Method::POST,
            &format!("/api/rounds/{round_id}/draw"),
            Some(&agency),
            Some(json!({ "public_value": "123", "visit_on": "2026-03-10" })),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, committed) = t.call(Method::POST, &format!("/api/rounds/{round_id}/commitment"), Some(&agency), None).await;
    assert_eq!(status, StatusCode::CREATED, "{committed}");
    assert_eq!(committed["commitment"].as_str().unwrap().len(), 64);
    // Visit Tue 2026-03-10: stage 1 draws the evaluators now; the grouping is drawn on the day
    // before the visit, Mon 03-09.
    let (status, drawn) = t
        .call(
            Method::POST,
            &format!("/api/rounds/{round_id}/draw"),
            Some(&agency),
            Some(json!({ "public_value": "福彩3D 2026-03-02 第058期 472", "visit_on": "2026-03-10" })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{drawn}");
    assert_eq!(drawn["reveal_on"], "2026-03-09");
    assert_eq!(drawn["record"]["alg"], "dingdian-draw-v2");
    assert_eq!(drawn["record"]["groups"], json!({}), "no grouping at stage 1");
    let drawn_ids: std::collections::BTreeSet<String> =
        drawn["record"]["stage1"]["drawn"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_owned()).collect();
    assert_eq!(drawn_ids.len(), 36);
    for (id, _, _) in &apps {
        assert_eq!(t.state_of(*id).await, "on_site_evaluation");
    }

    // Before the grouping: nobody sees a group — institutions, evaluators, the agency; the
    // supervisor sees the stage-1 record.
    let (first_app, first_token, first_uscc) = &apps[0];
    for who in [first_token, &agency, &supervisor] {
        let (_, g) = t.call(Method::GET, &format!("/api/applications/{first_app}/evaluators"), Some(who), None).await;
        assert_eq!((g["revealed"].as_bool(), g["evaluators"].as_array().unwrap().len()), (Some(false), 0), "{g}");
    }
    let some_drawn = drawn_ids.iter().next().unwrap().clone();
    let (_, mine) = t.call(Method::GET, "/api/me/assignments", Some(&evaluator_tokens[&some_drawn]), None).await;
    assert_eq!((mine.as_array().unwrap().len(), &mine[0]["revealed"], &mine[0]["institution"]), (1, &json!(false), &Value::Null), "{mine}");
    assert_eq!(mine[0]["visit_on"], "2026-03-10");
    let (_, public) = t.call(Method::GET, &format!("/api/rounds/{round_id}/draw"), Some(first_token), None).await;
    assert!(public.get("record").is_none() && public["drawn"] == true && public["grouped"] == false, "{public}");
    let (_, full) = t.call(Method::GET, &format!("/api/rounds/{round_id}/draw"), Some(&supervisor), None).await;
    assert_eq!(full["record"]["stage1"]["drawn"].as_array().unwrap().len(), 36);

    // A drawn evaluator declines before the grouping: the replacement takes their place among
    // those drawn (no institution to name yet), reproducibly from the same record.
    let declined = drawn_ids.iter().nth(1).unwrap().clone();
    let (status, rep) = t
        .call(
            Method::POST,
            &format!("/api/rounds/{round_id}/replacements"),
            Some(&agency),
            Some(json!({ "evaluator_id": declined, "reason": "出差无法参加" })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{rep}");
    let replacement = rep["replacement"].as_str().unwrap().to_owned();
    assert!(!drawn_ids.contains(&replacement), "drawn from those not yet drawn");

    // The grouping day, Mon 2026-03-09: the timer draws the grouping, once.
    t.clock.set_date(jiff::civil::date(2026, 3, 9));
    let report = t.tick().await;
    assert_eq!(report.grouped, vec![round_id]);
    assert!(t.tick().await.grouped.is_empty(), "exactly once");
    let (_, full) = t.call(Method::GET, &format!("/api/rounds/{round_id}/draw"), Some(&supervisor), None).await;
    let groups = full["record"]["groups"].as_object().unwrap().clone();
    assert_eq!(groups.len(), 12);
    let mut seen = std::collections::BTreeSet::new();
    for (uscc, ids) in &groups {
        let ids: Vec<&str> = ids.as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
        assert_eq!(ids.len(), 3, "group size (policies/urumqi.toml)");
        assert!(ids.iter().all(|id| seen.insert(id.to_string())), "nobody in two groups");
        if *uscc == inst_uscc(0).to_string() {
            assert!(!ids.contains(&"E00"), "URC-EVAL-1: the tied evaluator is excluded");
        }
    }
    assert!(seen.contains(&replacement) && !seen.contains(&declined));

    // The exported record verifies; changing any input makes it fail.
    let req = Request::builder()
        .uri(format!("/api/rounds/{round_id}/draw/export"))
        .header(header::AUTHORIZATION, format!("Bearer {supervisor}"))
        .body(Body::empty())
        .unwrap();
    let (status, exported) = t.send(req).await;
    assert_eq!(status, StatusCode::OK);
    let record: dingdian_core::draw::DrawRecord = serde_json::from_value(exported.clone()).unwrap();
    assert_eq!(dingdian_core::draw::verify(&record), Ok(()));
    let mut forged = exported.clone();
    forged["input"]["public_value"] = json!("福彩3D 2026-03-02 第058期 473");
    let forged: dingdian_core::draw::DrawRecord = serde_json::from_value(forged).unwrap();
    assert!(dingdian_core::draw::verify(&forged).is_err());
    let (status, _) = t.call(Method::GET, &format!("/api/rounds/{round_id}/draw/export"), Some(first_token), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // The supervisor's page lists the round with its commitment and the record to download.
    let (status, page) = t.call(Method::GET, "/rounds", Some(&supervisor), None).await;
    assert_eq!(status, StatusCode::OK);
    let page = page.as_str().unwrap().to_owned();
    assert!(
        page.contains(committed["commitment"].as_str().unwrap()) && page.contains(&format!("/api/rounds/{round_id}/draw/export")),
        "{page}"
    );
    assert!(page.contains("重新计算一致"), "URC-EVAL-1: the server recomputes the draw for the supervisor");
    let (status, _) = t.call(Method::GET, "/rounds", Some(first_token), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // The reveal: Mon 2026-03-09, the grouping day.
    let group: Vec<String> = groups[&first_uscc.to_string()].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_owned()).collect();
    let (_, g) = t.call(Method::GET, &format!("/api/applications/{first_app}/evaluators"), Some(first_token), None).await;
    assert_eq!(g["revealed"], true);
    let names: Vec<&str> = g["evaluators"].as_array().unwrap().iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(names, group.iter().map(String::as_str).collect::<Vec<_>>(), "{g}");
    let (_, mine) = t.call(Method::GET, "/api/me/assignments", Some(&evaluator_tokens[&group[0]]), None).await;
    assert_eq!(mine[0]["institution"], "药店0", "{mine}");

    // URC-EVAL-2: only a drawn evaluator scores; the institution confirms the sheet.
    t.clock.set_date(jiff::civil::date(2026, 3, 10));
    let outsider = evaluator_tokens.keys().find(|e| !names.contains(&e.as_str())).unwrap().clone();
    let (status, body) =
        t.try_cmd(&evaluator_tokens[&outsider], *first_app, json!({ "command": "record_site_evaluation", "score": 90 })).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::FORBIDDEN, Some("not_assigned")), "{body}");
    for (i, (id, token, uscc)) in apps.iter().enumerate() {
        let group: Vec<String> = groups[&uscc.to_string()].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_owned()).collect();
        let score: u16 = if i == 11 { 52 } else { 85 };
        let items = if i == 11 {
            json!({ "layout": 15, "management": 10, "operations": 12, "conditions": 15 })
        } else {
            json!({ "layout": 20, "management": 20, "operations": 15, "conditions": 30 })
        };
        for (k, e) in group.iter().enumerate() {
            t.cmd(&evaluator_tokens[e], *id, json!({ "command": "record_site_evaluation", "score": score, "items": items })).await;
            if k == 0 {
                // URC-EVAL-2: the sheet is confirmed only after every drawn evaluator scored, and
                // each evaluator scores once.
                let (status, _) = t.try_cmd(token, *id, json!({ "command": "confirm_score_sheet" })).await;
                assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
                let (status, _) = t
                    .try_cmd(&evaluator_tokens[e], *id, json!({ "command": "record_site_evaluation", "score": score, "items": items }))
                    .await;
                assert_eq!(status, StatusCode::CONFLICT);
            }
        }
        assert_eq!(t.cmd(token, *id, json!({ "command": "confirm_score_sheet" })).await, "expert_review");
        // URC-EVAL-3, then URC-EVAL-4: the collective decision on the round's list.
        let review = if i == 11 {
            json!({ "command": "record_expert_review", "recommendation": "fail", "reasons": ["进销存管理混乱"], "rectification": "整改进销存台账", "attendees": ["专家甲", "专家乙"] })
        } else {
            json!({ "command": "record_expert_review", "recommendation": "pass", "attendees": ["专家甲", "专家乙", "专家丙"] })
        };
        assert_eq!(t.cmd(&expert, *id, review).await, "collective_decision");
    }
    // URC-EVAL-4: one collective decision for the whole round, with minutes.
    let decisions: Vec<Value> = apps
        .iter()
        .enumerate()
        .map(|(i, (id, _, _))| {
            if i == 11 {
                json!({ "application_id": id, "outcome": "fail", "reasons": ["现场评估未达标"], "rectification": "整改后 3 个月可再次申请评估" })
            } else {
                json!({ "application_id": id, "outcome": "pass" })
            }
        })
        .collect();
    let (status, body) = t
        .call(
            Method::POST,
            &format!("/api/rounds/{round_id}/decision"),
            Some(&agency),
            Some(json!({ "minutes": "", "decisions": decisions })),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "minutes required: {body}");
    let (status, body) = t
        .call(
            Method::POST,
            &format!("/api/rounds/{round_id}/decision"),
            Some(&agency),
            Some(json!({ "minutes": "纪要", "decisions": &decisions[..11] })),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "all of the round at once: {body}");
    let (status, body) = t
        .call(
            Method::POST,
            &format!("/api/rounds/{round_id}/decision"),
            Some(&agency),
            Some(json!({
                "minutes": "2026年第一期定点评估集体研究会议：11 家通过，1 家未通过。",
                "attendees": ["中心主任", "分管副主任", "评估科科长"],
                "decisions": decisions
            })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    for (i, (id, _, _)) in apps.iter().enumerate() {
        assert_eq!(t.state_of(*id).await, if i == 11 { "failed_rectifying" } else { "passed" });
    }
    // URC-RES-1: the passed list for filing.
    let (status, filed) = t.call(Method::GET, &format!("/api/rounds/{round_id}/filing"), Some(&agency), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(filed.as_array().unwrap().len(), 11, "{filed}");
    assert!(!filed.to_string().contains(&apps[11].2.to_string()));
}
both!(urc_eval_full_round);
