//! The two-stage draw over HTTP (URC-EVAL-1 "随机抽取现场评估人员，并于现场评估前日随机抽取评估人员
//! 与医药机构的分组", G-DRAW, G-VISIBILITY), on SQLite and PostgreSQL: stage 1 draws who evaluates,
//! the timer draws the grouping on the day before the visit (once), nobody — the agency included —
//! sees a grouping before, nobody scores before it, and a visit on a rest day must be confirmed.

#[macro_use]
mod common;

use axum::http::{Method, StatusCode};
use common::TestApp;
use dingdian_core::ids::Uscc;
use dingdian_store::testing::Backend;
use jiff::civil::date;
use serde_json::json;

/// Two Urumqi pharmacies in one round, ready to draw on Mon 2026-03-02.
struct Round {
    t: TestApp,
    agency: String,
    /// (application id, institution token, institution name, USCC)
    apps: Vec<(i64, String, String, String)>,
    round_id: i64,
    /// Evaluator tokens by pool id.
    evaluators: std::collections::BTreeMap<String, String>,
}

async fn round(b: Backend) -> Round {
    let t = TestApp::new(b).await;
    let agency = t.login("urc-agency").await;
    let branch = t.login("urc-branch").await;
    let mut apps = Vec::new();
    for (username, code17) in [("urc-pharmacy", "91650102MA6G7H8J9"), ("urc-pharmacy2", "91650102MA7H8J9K0")] {
        let token = t.login(username).await;
        let (status, body) = t.call(Method::POST, "/api/applications", Some(&token), None).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let id = body["id"].as_i64().unwrap();
        t.upload_pdf(&token, id, "pharmacy_licence").await;
        t.cmd(&token, id, json!({ "command": "update_draft", "facts": common::full_facts("P65010200001") })).await;
        t.cmd(&token, id, json!({ "command": "submit" })).await;
        t.cmd(&branch, id, json!({ "command": "pass_initial_review" })).await;
        t.cmd(&branch, id, json!({ "command": "pass_verification", "sources": { "written_review": { "checked_on": "2026-03-02" } } }))
            .await;
        let (_, app) = t.call(Method::GET, &format!("/api/applications/{id}"), Some(&token), None).await;
        let name = app["application"]["institution_name"].as_str().unwrap().to_owned();
        apps.push((id, token, name, Uscc::with_check(code17).unwrap().to_string()));
    }
    let evaluators = t.evaluator_pool(&agency, "E", 10).await;
    let (_, round) = t.call(Method::POST, "/api/rounds", Some(&agency), Some(json!({ "name": "2026年第一期" }))).await;
    let round_id = round["id"].as_i64().unwrap();
    for (id, ..) in &apps {
        t.cmd(&agency, *id, json!({ "command": "join_round", "round_id": round_id })).await;
    }
    Round { t, agency, apps, round_id, evaluators }
}

fn ids(v: &serde_json::Value) -> Vec<String> {
    v.as_array().unwrap().iter().map(|x| x.as_str().unwrap().to_owned()).collect()
}

/// URC-EVAL-1: between the two stages nobody knows who visits which institution — not the
/// evaluators, not the institutions, not the agency that ran the draw; nobody may score even on
/// the visit day if the grouping was not drawn. On the day before the visit the timer draws the
/// grouping, and each evaluator then sees their own institution.
async fn urc_eval_1_grouping_unknown_until_day_before_visit(b: Backend) {
    let r = round(b).await;
    let t = &r.t;
    let drawn = t.draw(&r.agency, r.round_id, date(2026, 3, 10)).await;
    assert_eq!(drawn["reveal_on"], "2026-03-09", "the day before the visit");
    assert_eq!(drawn["record"]["groups"], json!({}));
    assert!(drawn["record"].get("stage2").is_none());
    let drawn_ids = ids(&drawn["record"]["stage1"]["drawn"]);
    assert_eq!(drawn_ids.len(), 6);
    let supervisor = t.login("urc-supervisor").await;

    for day in [date(2026, 3, 2), date(2026, 3, 8)] {
        t.clock.set_date(day);
        assert!(t.tick().await.grouped.is_empty(), "{day}: not due yet");
        // The agency and the supervisor: the stage-1 record, no group.
        for who in [&r.agency, &supervisor] {
            let (_, d) = t.call(Method::GET, &format!("/api/rounds/{}/draw", r.round_id), Some(who), None).await;
            assert_eq!((&d["record"]["groups"], d["record"].get("stage2")), (&json!({}), None), "{d}");
            for (app, ..) in &r.apps {
                let (_, g) = t.call(Method::GET, &format!("/api/applications/{app}/evaluators"), Some(who), None).await;
                assert_eq!(g["evaluators"], json!([]), "{day}: {g}");
                let (status, page) = t.get_text(&format!("/applications/{app}"), who).await;
                assert_eq!(status, StatusCode::OK);
                assert!(!page.contains("评估员"), "{day}: the page names no evaluator: {page}");
            }
        }
        // The institutions: no names.
        for (app, token, ..) in &r.apps {
            let (_, g) = t.call(Method::GET, &format!("/api/applications/{app}/evaluators"), Some(token), None).await;
            assert_eq!((&g["revealed"], &g["evaluators"]), (&json!(false), &json!([])), "{g}");
        }
        // Every drawn evaluator: drawn, the days, nothing else — the same answer for both.
        for e in &drawn_ids {
            let me = &r.evaluators[e];
            let (_, mine) = t.call(Method::GET, "/api/me/assignments", Some(me), None).await;
            assert_eq!(mine.as_array().unwrap().len(), 1, "{mine}");
            assert_eq!(
                (&mine[0]["visit_on"], &mine[0]["revealed"], &mine[0]["institution"]),
                (&json!("2026-03-10"), &json!(false), &json!(null))
            );
            let (_, page) = t.get_text("/assignments", me).await;
            assert!(page.contains("2026-03-10") && page.contains("已被抽取"), "{page}");
            for (app, _, name, uscc) in &r.apps {
                assert!(!page.contains(name.as_str()) && !page.contains(uscc.as_str()), "{page}");
                let (status, body) = t.call(Method::GET, &format!("/api/applications/{app}"), Some(me), None).await;
                assert_eq!((status, body["code"].as_str()), (StatusCode::FORBIDDEN, Some("not_revealed")), "{body}");
            }
        }
    }

    // URC-EVAL-2: the visit day came but the grouping was never drawn (no timer ran): nobody
    // may score.
    t.clock.set_date(date(2026, 3, 10));
    for e in &drawn_ids {
        for (app, ..) in &r.apps {
            let (status, body) = t.try_cmd(&r.evaluators[e], *app, json!({ "command": "record_site_evaluation", "score": 90 })).await;
            assert_eq!((status, body["code"].as_str()), (StatusCode::FORBIDDEN, Some("not_revealed")), "{body}");
        }
    }

    // The grouping day: the timer draws the grouping; each evaluator sees their institution.
    t.clock.set_date(date(2026, 3, 9));
    let report = t.tick().await;
    assert_eq!(report.grouped, vec![r.round_id], "{report:?}");
    let (_, d) = t.call(Method::GET, &format!("/api/rounds/{}/draw", r.round_id), Some(&r.agency), None).await;
    assert!(d["grouped_at"].is_string(), "{d}");
    assert!(d["record"]["stage2"]["public_value"].as_str().unwrap().starts_with("audit:"), "{d}");
    let record: dingdian_core::draw::DrawRecord = serde_json::from_value(d["record"].clone()).unwrap();
    assert_eq!(dingdian_core::draw::verify(&record), Ok(()));
    for (app, token, name, uscc) in &r.apps {
        let group = ids(&d["record"]["groups"][uscc]);
        assert_eq!(group.len(), 3);
        for e in &group {
            let (_, mine) = t.call(Method::GET, "/api/me/assignments", Some(&r.evaluators[e]), None).await;
            assert_eq!((mine[0]["institution"].as_str(), mine[0]["application_id"].as_i64()), (Some(name.as_str()), Some(*app)), "{mine}");
        }
        let (_, g) = t.call(Method::GET, &format!("/api/applications/{app}/evaluators"), Some(token), None).await;
        let shown: Vec<String> = g["evaluators"].as_array().unwrap().iter().map(|e| e["id"].as_str().unwrap().to_owned()).collect();
        assert_eq!(shown, group, "the institution sees its group's names");
    }

    // The visit day: a grouped evaluator scores; one of the other group may not.
    t.clock.set_date(date(2026, 3, 10));
    let (app, _, _, uscc) = &r.apps[0];
    let group = ids(&d["record"]["groups"][uscc]);
    t.cmd(&r.evaluators[&group[0]], *app, json!({ "command": "record_site_evaluation", "score": 90 })).await;
    let other = ids(&d["record"]["groups"][&r.apps[1].3]);
    let (status, body) = t.try_cmd(&r.evaluators[&other[0]], *app, json!({ "command": "record_site_evaluation", "score": 90 })).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::FORBIDDEN, Some("not_assigned")), "{body}");

    // 回避 after the grouping: the replacement takes the place in that institution's group.
    let (status, rep) = t
        .call(
            Method::POST,
            &format!("/api/rounds/{}/replacements", r.round_id),
            Some(&r.agency),
            Some(json!({ "institution_uscc": r.apps[1].3, "evaluator_id": other[1], "reason": "回避" })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{rep}");
    let record = t.store().round_draw(r.round_id).await.unwrap().unwrap().record.unwrap();
    assert_eq!(dingdian_core::draw::final_groups(&record)[&r.apps[1].3][1], rep["replacement"].as_str().unwrap());
    assert_eq!(dingdian_core::draw::verify(&record), Ok(()));
}
both!(urc_eval_1_grouping_unknown_until_day_before_visit);

/// URC-EVAL-1 stage 2 is drawn exactly once, whatever the number of timer passes running at
/// the same time (several instances), and a pass that finds it drawn does nothing.
async fn urc_eval_1_grouping_drawn_once_by_concurrent_timers(b: Backend) {
    let r = round(b).await;
    let t = &r.t;
    let drawn = t.draw(&r.agency, r.round_id, date(2026, 3, 10)).await;
    assert_eq!(drawn["reveal_on"], "2026-03-09");
    t.clock.set_date(date(2026, 3, 9));
    let now = t.now();
    let store = t.store();
    let (a, b2, c) = tokio::join!(store.group_due_rounds(now), store.group_due_rounds(now), store.run_due(now));
    let total = a.unwrap().0.len() + b2.unwrap().0.len() + c.unwrap().grouped.len();
    assert_eq!(total, 1, "one grouping stored");
    let d = store.round_draw(r.round_id).await.unwrap().unwrap();
    assert_eq!(dingdian_core::draw::verify(d.record.as_ref().unwrap()), Ok(()));
    let before = d.record.clone();
    assert!(t.tick().await.grouped.is_empty());
    assert_eq!(store.round_draw(r.round_id).await.unwrap().unwrap().record, before, "unchanged by later passes");
}
both!(urc_eval_1_grouping_drawn_once_by_concurrent_timers);

/// URC-EVAL-1 (the calendar, LAW-WD): a visit on a rest day or holiday is drawn only when the
/// agency confirms it; otherwise refused with `rest_day_visit` and a Chinese message, nothing
/// drawn.
async fn urc_eval_1_rest_day_visit_needs_confirmation(b: Backend) {
    let r = round(b).await;
    let t = &r.t;
    let (status, _) = t.call(Method::POST, &format!("/api/rounds/{}/commitment", r.round_id), Some(&r.agency), None).await;
    assert_eq!(status, StatusCode::CREATED);
    let saturday = json!({ "public_value": "福彩3D 472", "visit_on": "2026-03-07" });
    let (status, body) = t.call(Method::POST, &format!("/api/rounds/{}/draw", r.round_id), Some(&r.agency), Some(saturday.clone())).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("rest_day_visit")), "{body}");
    assert!(body["message"].as_str().unwrap().contains("休息日"), "{body}");
    let (_, d) = t.call(Method::GET, &format!("/api/rounds/{}/draw", r.round_id), Some(&r.apps[0].1), None).await;
    assert_eq!(d["drawn"], false, "nothing drawn: {d}");
    assert_eq!(t.state_of(r.apps[0].0).await, "evaluator_draw");
    // The page form: the confirmation page warns that the day is a rest day (in Chinese, no
    // code) and asks to confirm it; confirming the draw without that box draws nothing.
    let fields = [("public_value", "福彩3D 472".to_owned()), ("visit_on", "2026-03-07".to_owned())];
    let (status, page, _) = t.post_form(&format!("/rounds/{}/draw", r.round_id), &r.agency, &fields).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("2026-03-07（星期六）是休息日") && page.contains("确认在该日进行现场评估"), "{page}");
    assert!(!page.contains("rest_day_visit"), "{page}");
    let mut without_box = fields.to_vec();
    without_box.push(("confirmed", "1".to_owned()));
    let (status, page, _) = t.post_form(&format!("/rounds/{}/draw", r.round_id), &r.agency, &without_box).await;
    assert_eq!(status, StatusCode::OK, "asked again: {page}");
    assert!(page.contains("确认在该日进行现场评估"), "{page}");
    let (_, d) = t.call(Method::GET, &format!("/api/rounds/{}/draw", r.round_id), Some(&r.agency), None).await;
    assert!(d["record"].is_null(), "still nothing drawn: {d}");
    // A working day needs nothing; a confirmed rest day is drawn, grouped the day before.
    let mut confirmed = saturday;
    confirmed["confirm_rest_day"] = json!(true);
    let (status, body) = t.call(Method::POST, &format!("/api/rounds/{}/draw", r.round_id), Some(&r.agency), Some(confirmed)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["reveal_on"], "2026-03-06");
}
both!(urc_eval_1_rest_day_visit_needs_confirmation);
