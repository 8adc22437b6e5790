//! G-VISIBILITY over HTTP, on SQLite and PostgreSQL: every read route of the route table walked
//! by a drawn evaluator before the reveal day (nothing identifies the institution), after it (its
//! own group only), no score before the visit day (URC-EVAL-2), and no write across cities.

#[macro_use]
mod common;

use axum::http::{Method, StatusCode};
use common::TestApp;
use dingdian_core::ids::Uscc;
use dingdian_store::testing::Backend;
use jiff::civil::date;
use serde_json::json;

/// Two Urumqi pharmacies in one round, drawn on Mon 2026-03-02 for a visit on Tue 03-10 (so the
/// grouping is revealed on Mon 03-09).
struct Drawn {
    t: TestApp,
    /// (application id, institution name, USCC, a material's digest)
    apps: Vec<(i64, String, String, String)>,
    institution_id: i64,
    round_id: i64,
    /// Evaluator tokens by pool id.
    evaluators: std::collections::BTreeMap<String, String>,
    /// The pool ids grouped with the first pharmacy.
    group: Vec<String>,
}

async fn drawn(b: Backend) -> Drawn {
    let t = TestApp::new(b).await;
    let agency = t.login("urc-agency").await;
    let branch = t.login("urc-branch").await;
    let mut apps = Vec::new();
    for (username, code17) in [("urc-pharmacy", "91650102MA6G7H8J9"), ("urc-pharmacy2", "91650102MA7H8J9K0")] {
        let token = t.login(username).await;
        let (status, body) = t.call(Method::POST, "/api/applications", Some(&token), None).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let id = body["id"].as_i64().unwrap();
        let uploaded = t.upload_pdf(&token, id, "pharmacy_licence").await;
        let sha = uploaded["application"]["data"]["materials"]["pharmacy_licence"][0]["sha256"].as_str().unwrap().to_owned();
        t.cmd(&token, id, json!({ "command": "update_draft", "facts": common::full_facts("P65010200001") })).await;
        t.cmd(&token, id, json!({ "command": "submit" })).await;
        t.cmd(&branch, id, json!({ "command": "pass_initial_review" })).await;
        t.cmd(&branch, id, json!({ "command": "pass_verification", "sources": { "written_review": { "checked_on": "2026-03-02" } } }))
            .await;
        apps.push((id, username.to_owned(), Uscc::with_check(code17).unwrap().to_string(), sha));
    }
    let institution_id = t.store().application(apps[0].0).await.unwrap().unwrap().institution_id;
    let evaluators = t.evaluator_pool(&agency, "E", 10).await;
    let (_, round) = t.call(Method::POST, "/api/rounds", Some(&agency), Some(json!({ "name": "2026年第一期" }))).await;
    let round_id = round["id"].as_i64().unwrap();
    for (id, ..) in &apps {
        t.cmd(&agency, *id, json!({ "command": "join_round", "round_id": round_id })).await;
    }
    let drawn = t.draw(&agency, round_id, date(2026, 3, 10)).await;
    assert_eq!(drawn["reveal_on"], "2026-03-09");
    let group = t.group_of(&drawn, apps[0].0).await;
    Drawn { t, apps, institution_id, round_id, evaluators, group }
}

/// Every GET route of the route table, with its path parameters filled in for this round.
fn read_paths(d: &Drawn) -> Vec<String> {
    let (app, _, _, sha) = &d.apps[0];
    dingdian_web::route_table()
        .into_iter()
        .filter(|r| r.method == "GET")
        .map(|r| {
            let id = if r.path.starts_with("/api/rounds/") || r.path.starts_with("/rounds/") {
                d.round_id.to_string()
            } else if r.path.starts_with("/api/institutions/") {
                d.institution_id.to_string()
            } else {
                app.to_string()
            };
            r.path
                .replace("{id}", &id)
                .replace("{sha256}", sha)
                .replace("{kind}", "application_form")
                .replace("{receipt}", "X")
                .replace("{person}", "1")
        })
        .collect()
}

/// G-VISIBILITY / URC-EVAL-1: the drawn evaluator learns nothing that identifies "its"
/// institution before the reveal day, on any read route; from the reveal day it sees its own
/// group's application and no other.
async fn g_visibility_evaluator_before_and_after_the_reveal(b: Backend) {
    let d = drawn(b).await;
    let t = &d.t;
    let (app, name, uscc, _) = d.apps[0].clone();
    let me = d.evaluators[&d.group[0]].clone();
    let paths = read_paths(&d);
    assert!(paths.len() > 30, "the route table has every read route: {paths:?}");
    for day in [date(2026, 3, 2), date(2026, 3, 8)] {
        t.clock.set_date(day);
        for path in &paths {
            let (status, body) = t.get_text(path, &me).await;
            assert!(status != StatusCode::INTERNAL_SERVER_ERROR, "{path}: {body}");
            for secret in [name.as_str(), uscc.as_str()] {
                assert!(!body.contains(secret), "{day} {path} ({status}) shows {secret}: {body}");
            }
        }
        let (status, body) = t.call(Method::GET, &format!("/api/applications/{app}"), Some(&me), None).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::FORBIDDEN, Some("not_revealed")), "{body}");
        let (_, list) = t.call(Method::GET, "/api/applications?state=on_site_evaluation", Some(&me), None).await;
        assert_eq!(list, json!([]), "{day}");
        // Nor may it score, through the API or the page form.
        let (status, body) = t.try_cmd(&me, app, json!({ "command": "record_site_evaluation", "score": 90 })).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::FORBIDDEN, Some("not_revealed")), "{body}");
        let fields = [("command", "record_site_evaluation".to_owned()), ("expected_version:int", "0".into()), ("score:int", "90".into())];
        let (status, page, _) = t.post_form(&format!("/applications/{app}/act"), &me, &fields).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert!(!page.contains(&name), "{page}");
    }
    assert_eq!(t.state_of(app).await, "on_site_evaluation");
    assert!(t.get_app(&t.login("urc-agency").await, app).await["application"]["data"]["site_scores"].as_array().unwrap().is_empty());

    // The reveal day: its own group's institution, and only that.
    t.clock.set_date(date(2026, 3, 9));
    let (status, body) = t.call(Method::GET, &format!("/api/applications/{app}"), Some(&me), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["application"]["institution_name"], name.as_str());
    assert!(body["query_code"].is_null(), "HRB-QUERY's code is not the evaluator's");
    let (_, list) = t.call(Method::GET, "/api/applications", Some(&me), None).await;
    let ids: Vec<i64> = list.as_array().unwrap().iter().map(|a| a["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, vec![app], "only its own group's application");
    let (_, mine) = t.call(Method::GET, "/api/me/assignments", Some(&me), None).await;
    assert_eq!((mine[0]["institution"].as_str(), mine[0]["application_id"].as_i64()), (Some(name.as_str()), Some(app)), "{mine}");
    let (status, page) = t.get_text(&format!("/applications/{app}"), &me).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!page.contains("name=\"command\" value=\"record_site_evaluation\""), "no score form before the visit day");
    // An evaluator of another group still sees nothing of this one.
    let outsider = d.evaluators.iter().find(|(id, _)| !d.group.contains(id)).map(|(_, tok)| tok.clone()).unwrap();
    let (status, body) = t.call(Method::GET, &format!("/api/applications/{app}"), Some(&outsider), None).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::FORBIDDEN, Some("not_assigned")), "{body}");
    let (status, _) = t.get_text(&format!("/api/applications/{app}/files/{}", d.apps[0].3), &outsider).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // The registry is not an evaluator's to browse.
    let (status, body) = t.call(Method::GET, "/api/institutions", Some(&me), None).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::FORBIDDEN, Some("not_your_role")), "{body}");
}
both!(g_visibility_evaluator_before_and_after_the_reveal);

/// URC-EVAL-2: no score is accepted before the visit day, even once the grouping is known; on
/// the visit day the grouped evaluator scores, an evaluator of another group cannot.
async fn urc_eval_2_no_score_before_the_visit_day(b: Backend) {
    let d = drawn(b).await;
    let t = &d.t;
    let app = d.apps[0].0;
    let me = d.evaluators[&d.group[0]].clone();
    let items = json!({ "layout": 20, "management": 20, "operations": 15, "conditions": 30 });
    let score = json!({ "command": "record_site_evaluation", "score": 85, "items": items });
    t.clock.set_date(date(2026, 3, 9));
    let (status, body) = t.try_cmd(&me, app, score.clone()).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("too_early")), "{body}");
    assert_eq!(body["detail"]["earliest"], "2026-03-10");
    t.clock.set_date(date(2026, 3, 10));
    let outsider = d.evaluators.iter().find(|(id, _)| !d.group.contains(id)).map(|(_, tok)| tok.clone()).unwrap();
    let (status, body) = t.try_cmd(&outsider, app, score.clone()).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::FORBIDDEN, Some("not_assigned")), "{body}");
    let (status, page) = t.get_text(&format!("/applications/{app}"), &me).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("value=\"record_site_evaluation\""), "the score form on the visit day");
    t.cmd(&me, app, score).await;
}
both!(urc_eval_2_no_score_before_the_visit_day);

/// Nothing crosses cities: a Harbin agency cannot rename or deactivate an Urumqi evaluator by
/// importing its id, cannot read an Urumqi round, and registering an Urumqi institution's USCC
/// answers a conflict without the Urumqi record.
async fn g_visibility_no_write_across_cities(b: Backend) {
    let d = drawn(b).await;
    let t = &d.t;
    let hrb = t.login("hrb-agency").await;
    let urc = t.login("urc-agency").await;
    let before = t.call(Method::GET, "/api/evaluators", Some(&urc), None).await.1;
    let csv = "id,name,department,employer,specialty,active,ties\nE000,改名,health,某单位,内科,0,\n".to_owned();
    let (status, body) = t.post_csv("/api/evaluators/import", &hrb, csv).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::CONFLICT, Some("not_your_region")), "{body}");
    assert_eq!(t.call(Method::GET, "/api/evaluators", Some(&urc), None).await.1, before, "the Urumqi pool is unchanged");
    let (_, harbin_pool) = t.call(Method::GET, "/api/evaluators", Some(&hrb), None).await;
    assert_eq!(harbin_pool, json!([]));

    let (status, body) = t.call(Method::GET, &format!("/api/rounds/{}/draw", d.round_id), Some(&hrb), None).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::FORBIDDEN, Some("not_your_region")));

    let (_, name, uscc, _) = &d.apps[0];
    let new = json!({
        "uscc": uscc, "name": "冒名医院", "kind": "medical", "category": "综合医院", "city": "harbin",
        "district": "230102", "address": "道里区", "beds": "10"
    });
    let (status, body) = t.call(Method::POST, "/api/institutions", Some(&hrb), Some(new.clone())).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::CONFLICT, Some("already_registered")), "{body}");
    assert!(!body.to_string().contains(name.as_str()) && !body.to_string().contains("urumqi"), "{body}");
    let mut urumqi = new;
    urumqi["city"] = json!("urumqi");
    urumqi["district"] = json!("650102");
    urumqi["uscc"] = json!(Uscc::with_check("91650102MA8J9K0L1").unwrap().to_string());
    let (status, body) = t.call(Method::POST, "/api/institutions", Some(&hrb), Some(urumqi)).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::FORBIDDEN, Some("not_your_region")), "{body}");
    let (status, body) = t.call(Method::GET, &format!("/api/institutions/{}", d.institution_id), Some(&hrb), None).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::FORBIDDEN, Some("not_your_region")));
}
both!(g_visibility_no_write_across_cities);
