//! Legal time end to end: a deadline reaching into a year without a calendar is flagged, never
//! guessed; loading the year re-projects it and records why; due timers fire exactly once even
//! with two workers racing; a missing calendar year blocks nothing silently.

#[macro_use]
mod common;

use std::sync::Arc;

use axum::http::{Method, StatusCode};
use common::TestApp;
use dingdian_core::ids::Uscc;
use dingdian_core::lifecycle::{Actor, Command, Problem, Role, SupplementItem};
use dingdian_core::policy::InstitutionKind;
use dingdian_store::testing::Backend;
use dingdian_store::{NewInstitution, Store};
use serde_json::json;

const Y2027: &str = r#"
year = 2027
source = "测试用 2027 年安排"

[[holidays]]
name = "元旦"
from = "2027-01-01"
to = "2027-01-03"
"#;

/// LAW-WD / G-CLOCKS: "2027 年节假日安排未载入" until an administrator loads 2027 through the
/// API; then the open deadline is re-projected and the application records it.
async fn loading_a_year_reprojects_open_deadlines(b: Backend) {
    let t = TestApp::new(b).await;
    t.clock.set(jiff::tz::offset(8).to_timestamp(jiff::civil::date(2026, 12, 28).at(10, 0, 0, 0)).unwrap());
    let hosp = t.login("hrb-hospital").await;
    let agency = t.login("hrb-agency").await;
    let id = t.submitted(&hosp).await;
    t.cmd(
        &agency,
        id,
        json!({ "command": "issue_supplement_notice", "items": [{ "slot": "licence", "problem": "missing", "reason": "缺" }] }),
    )
    .await;

    let view = t.get_app(&agency, id).await;
    let supplement = view["clocks"].as_array().unwrap().iter().find(|c| c["id"] == "supplement").unwrap().clone();
    assert_eq!(supplement["due"], serde_json::Value::Null, "never guessed: {supplement}");
    assert_eq!(supplement["missing_year"], 2027);
    assert!(supplement["explanation"].to_string().contains("2027 年节假日安排未载入"), "{supplement}");
    assert_eq!(t.store().application(id).await.unwrap().unwrap().due_on, None, "no timer without a date");

    // Only an administrator may load a year; a broken file is refused with its line.
    let admin = t.login("hrb-admin").await;
    let (status, body) = t.call(Method::POST, "/api/calendar/years", Some(&agency), Some(json!({ "toml": Y2027 }))).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::FORBIDDEN, Some("not_your_role")));
    let broken = Y2027.replace("2027-01-03", "2027-01-32");
    let (status, body) =
        t.call(Method::POST, "/api/calendar/years", Some(&admin), Some(json!({ "name": "2027.toml", "toml": broken }))).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_calendar")), "{body}");
    assert!(body["message"].as_str().unwrap().contains("2027.toml:8:"), "{body}");

    let (status, body) =
        t.call(Method::POST, "/api/calendar/years", Some(&admin), Some(json!({ "name": "2027.toml", "toml": Y2027 }))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["reprojected"], json!([id]));
    // Notice Mon 2026-12-28: 12-29, 12-30, 12-31, (2027-01-01..03 off), 01-04, 01-05.
    let app = t.store().application(id).await.unwrap().unwrap();
    assert_eq!(app.due_on.map(|d| d.to_string()).as_deref(), Some("2027-01-05"));
    let events = t.store().events(id).await.unwrap();
    assert_eq!(events.last().unwrap().kind, "deadlines_recalculated");
    assert_eq!(events.last().unwrap().actor_role, "system");
    let (_, years) = t.call(Method::GET, "/api/calendar", None, None).await;
    assert!(years.as_array().unwrap().iter().any(|y| y["year"] == 2027 && y["origin"] == "loaded"), "{years}");

    // Loading the same year again changes no deadline and records nothing.
    let (_, body) = t.call(Method::POST, "/api/calendar/years", Some(&admin), Some(json!({ "toml": Y2027 }))).await;
    assert_eq!(body["reprojected"], json!([]));

    // After a restart the loaded year is still there.
    let reopened = Store::open(&t.db_url).await.unwrap();
    assert!(reopened.calendar().has_year(2027));
    reopened.close().await;

    // And the deadline fires after its last day.
    t.clock.set(jiff::tz::offset(8).to_timestamp(jiff::civil::date(2027, 1, 6).at(9, 0, 0, 0)).unwrap());
    assert_eq!(t.tick().await.fired, vec![(id, "deem_withdrawn")]);
}
both!(loading_a_year_reprojects_open_deadlines);

/// G-CLOCKS: two workers (separate connection pools, as two server processes would have)
/// racing over many due deadlines fire each exactly once, asserted from the events.
async fn racing_workers_fire_each_timer_once(b: Backend) {
    let n: usize = if b == Backend::Postgres { 1000 } else { 300 };
    let t = TestApp::new(b).await;
    let store = t.store();
    let now = dingdian_store::clock::Clock::now(&*t.clock);
    let agency = Actor {
        user_id: 1,
        role: Role::Agency,
        city: "harbin".into(),
        district: None,
        institution_id: None,
        evaluator_id: None,
        province: None,
    };
    let notice = Command::IssueSupplementNotice {
        items: vec![SupplementItem { slot: "licence".into(), problem: Problem::Missing, reason: "缺".into() }],
    };
    let mut ids = Vec::new();
    for i in 0..n {
        let uscc = Uscc::with_check(&format!("9123010{i:07}MA0")).unwrap();
        let inst = NewInstitution {
            uscc: &uscc,
            name: "测试机构",
            kind: InstitutionKind::Medical,
            category: "诊所",
            city: "harbin",
            district: "230102",
            national_code: None,
            address: "测试",
            beds: 0,
        };
        let inst_id = store.ensure_institution(inst, now).await.unwrap();
        let actor = Actor {
            user_id: 0,
            role: Role::Institution,
            city: "harbin".into(),
            district: None,
            institution_id: Some(inst_id),
            evaluator_id: None,
            province: None,
        };
        let app = store.create_application(&actor, now).await.unwrap();
        store.execute(app.id, &actor, 0, &Command::Submit, now).await.unwrap();
        store.execute(app.id, &agency, 1, &notice, now).await.unwrap();
        ids.push(app.id);
    }
    // Notice on Mon 2026-03-02 → due 03-09; on 03-10 all are due.
    let later = now.checked_add(jiff::SignedDuration::from_hours(24 * 8)).unwrap();
    let a = Arc::new(Store::open(&t.db_url).await.unwrap());
    let b2 = Arc::new(Store::open(&t.db_url).await.unwrap());
    for s in [&a, &b2] {
        for p in dingdian_core::policy::Profile::shipped() {
            s.register_profile(p, now).await.unwrap();
        }
    }
    let (ra, rb) = tokio::join!(
        {
            let a = a.clone();
            tokio::spawn(async move { a.run_due_as("worker-a", later).await.unwrap() })
        },
        {
            let b2 = b2.clone();
            tokio::spawn(async move { b2.run_due_as("worker-b", later).await.unwrap() })
        }
    );
    let (ra, rb) = (ra.unwrap(), rb.unwrap());
    assert_eq!(ra.fired.len() + rb.fired.len(), n, "a fired {}, b fired {}", ra.fired.len(), rb.fired.len());
    for id in &ids {
        let events = store.events(*id).await.unwrap();
        let withdrawn = events.iter().filter(|e| e.kind == "withdrawn").count();
        assert_eq!(withdrawn, 1, "application {id}");
    }
    // A later sweep finds nothing.
    assert!(a.run_due_as("worker-a", later).await.unwrap().fired.is_empty());
    a.close().await;
    b2.close().await;
}
both!(racing_workers_fire_each_timer_once);

/// A worker that claimed timers and died before committing leaves only leases: nothing fires
/// while the lease holds, and the timer fires once after it runs out.
async fn abandoned_claim_fires_once_after_lease(b: Backend) {
    let t = TestApp::new(b).await;
    let hosp = t.login("hrb-hospital").await;
    let agency = t.login("hrb-agency").await;
    let id = t.submitted(&hosp).await;
    t.cmd(
        &agency,
        id,
        json!({ "command": "issue_supplement_notice", "items": [{ "slot": "licence", "problem": "missing", "reason": "缺" }] }),
    )
    .await;
    t.advance_days(8);
    let now = dingdian_store::clock::Clock::now(&*t.clock);
    let claimed = t.store().claim_due("dead-worker", now, 60, 100).await.unwrap();
    assert_eq!(claimed.len(), 1);
    // The dead worker never commits. Another worker within the lease does nothing…
    assert!(t.store().run_due_as("live-worker", now).await.unwrap().fired.is_empty());
    assert_eq!(t.state_of(id).await, "awaiting_supplement");
    // …and fires it once after the lease.
    let later = now.checked_add(jiff::SignedDuration::from_secs(61)).unwrap();
    assert_eq!(t.store().run_due_as("live-worker", later).await.unwrap().fired, vec![(id, "deem_withdrawn")]);
    assert!(t.store().run_due_as("live-worker", later).await.unwrap().fired.is_empty());
    assert_eq!(t.store().events(id).await.unwrap().iter().filter(|e| e.kind == "withdrawn").count(), 1);
}
both!(abandoned_claim_fires_once_after_lease);
