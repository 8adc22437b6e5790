//! Who may apply, over HTTP: the registry's people and history, not-accepted rules that follow a
//! person to another institution, conditions flagged for the reviewer, and the CSV import.

#[macro_use]
mod common;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use common::TestApp;
use dingdian_core::ids::Uscc;
use dingdian_store::testing::Backend;
use serde_json::{Value, json};

/// A valid resident ID number (GB 11643) built from its first 17 digits.
fn resident_id(first17: &str) -> String {
    let w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = first17.chars().zip(w).map(|(c, w)| c.to_digit(10).unwrap() * w).sum();
    format!("{first17}{}", "10X98765432".chars().nth((sum % 11) as usize).unwrap())
}

async fn institution_id(t: &TestApp, token: &str) -> i64 {
    let (_, me) = t.call(Method::GET, "/api/me", Some(token), None).await;
    me["institution_id"].as_i64().unwrap()
}

/// URC-REJ-PHA-5 / URC-REJ-MED-7: a person who caused a designated institution's termination is
/// barred for 5 years, and the bar follows the person to every institution they run.
async fn urc_rej_pha_5_follows_the_person(b: Backend) {
    let t = TestApp::new(b).await;
    let agency = t.login("urc-agency").await;
    let first = t.login("urc-pharmacy").await;
    let second = t.login("urc-pharmacy2").await;
    let (first_id, second_id) = (institution_id(&t, &first).await, institution_id(&t, &second).await);
    let rid = resident_id("65010219800101123");

    let person = json!({ "resident_id": rid, "name": "张三", "role": "legal_representative" });
    let (status, body) = t.call(Method::POST, &format!("/api/institutions/{first_id}/persons"), Some(&agency), Some(person)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["resident_id"].as_str().unwrap().matches('*').count(), 8, "masked: {body}");
    let record = json!({ "kind": "person_caused_termination", "occurred_on": "2025-06-01", "source": "乌鲁木齐市医保局处理决定",
                         "note": "原定点药店因严重违规被解除协议", "person_resident_id": rid });
    let (status, body) = t.call(Method::POST, &format!("/api/institutions/{first_id}/records"), Some(&agency), Some(record)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    // The same person becomes the actual controller of a second pharmacy.
    let person = json!({ "resident_id": rid, "name": "张三", "role": "actual_controller" });
    let (status, _) = t.call(Method::POST, &format!("/api/institutions/{second_id}/persons"), Some(&agency), Some(person)).await;
    assert_eq!(status, StatusCode::CREATED);

    let (status, draft) = t.call(Method::POST, "/api/applications", Some(&second), None).await;
    assert_eq!(status, StatusCode::CREATED);
    let id = draft["id"].as_i64().unwrap();
    t.cmd(&second, id, json!({ "command": "update_draft", "facts": common::full_facts("P65010200001") })).await;
    let (status, body) = t.try_cmd(&second, id, json!({ "command": "submit" })).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("not_accepted")), "{body}");
    let finding = &body["detail"]["findings"][0];
    assert_eq!(finding["rule"], "URC-REJ-PHA-5");
    assert_eq!(finding["until"], "2030-06-01");
    assert!(body["message"].as_str().unwrap().contains("张*"), "the person is named, masked: {body}");
    assert_eq!(t.state_of(id).await, "draft", "nothing changed");

    // The registry never shows the full number…
    let (status, view) = t.call(Method::GET, &format!("/api/institutions/{second_id}"), Some(&agency), None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!view.to_string().contains(&rid), "{view}");
    // …unless agency staff ask for it with a purpose, and the read is chained (G-AUDIT).
    let person_id = view["persons"][0]["id"].as_i64().unwrap();
    let reveal = format!("/api/institutions/{second_id}/persons/{person_id}/reveal");
    let (status, _) = t.call(Method::POST, &reveal, Some(&agency), Some(json!({ "purpose": " " }))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let before = t.store().verify_audit().await.unwrap().entries;
    let (status, body) =
        t.call(Method::POST, &reveal, Some(&agency), Some(json!({ "purpose": "核对法定代表人身份（URC-REJ-PHA-5）" }))).await;
    assert_eq!((status, body["resident_id"].as_str()), (StatusCode::OK, Some(rid.as_str())), "{body}");
    let after = t.store().verify_audit().await.unwrap();
    assert!(after.ok && after.entries == before + 1, "{after:?}");
    let (status, _) = t.call(Method::POST, &reveal, Some(&second), Some(json!({ "purpose": "x" }))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(view["records"].as_array().unwrap().len(), 1, "the person's record shows at the second institution");

    // Only the agency or administrator of the city writes the registry.
    let hrb_agency = t.login("hrb-agency").await;
    let record = json!({ "kind": "fraud", "occurred_on": "2026-01-01", "source": "x" });
    let (status, body) =
        t.call(Method::POST, &format!("/api/institutions/{first_id}/records"), Some(&hrb_agency), Some(record.clone())).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::FORBIDDEN, Some("not_your_region")));
    let (status, body) = t.call(Method::POST, &format!("/api/institutions/{first_id}/records"), Some(&first), Some(record)).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::FORBIDDEN, Some("not_your_role")));
    let (status, _) = t.call(Method::GET, &format!("/api/institutions/{first_id}"), Some(&second), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "an institution sees only its own record");
}
both!(urc_rej_pha_5_follows_the_person);

/// URC-REV-2 / URC-REJ-MED-4: the not-accepted rules are checked again at information
/// verification, against the record as it is then.
async fn urc_rev_2_rechecks_not_accepted(b: Backend) {
    let t = TestApp::new(b).await;
    let agency = t.login("urc-agency").await;
    let clinic = t.login("urc-clinic").await;
    let branch = t.login("urc-branch-other").await;
    let id = t.submitted(&clinic).await;
    t.cmd(&branch, id, json!({ "command": "pass_initial_review" })).await;
    let inst = institution_id(&t, &clinic).await;
    let record = json!({ "kind": "fraud", "occurred_on": "2026-02-20", "source": "信用中国核查", "note": "申报材料弄虚作假" });
    let (status, _) = t.call(Method::POST, &format!("/api/institutions/{inst}/records"), Some(&agency), Some(record)).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, body) = t
        .try_cmd(&branch, id, json!({ "command": "pass_verification", "sources": { "written_review": { "checked_on": "2026-03-02" } } }))
        .await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("not_accepted")), "{body}");
    assert_eq!(body["detail"]["findings"][0]["rule"], "URC-REJ-MED-4");
    assert_eq!(body["detail"]["findings"][0]["until"], "2029-02-20");
    assert_eq!(t.cmd(&branch, id, json!({ "command": "terminate", "reason": "核查发现弄虚作假（URC-REJ-MED-4）", "sources": { "credit_system": { "checked_on": "2026-03-02" } } })).await, "terminated");
}
both!(urc_rev_2_rechecks_not_accepted);

/// HRB-COND-*: unmet conditions are all listed at submission; the agency must override with a
/// recorded reason (or reject) before accepting.
async fn hrb_cond_unmet_flagged_then_overridden(b: Backend) {
    let t = TestApp::new(b).await;
    let inst = t.login("hrb-clinic").await;
    let agency = t.login("hrb-agency").await;
    let (_, draft) = t.call(Method::POST, "/api/applications", Some(&inst), None).await;
    let id = draft["id"].as_i64().unwrap();
    let mut facts = common::full_facts("H23010200001");
    facts["first_registered_physicians"] = json!(0);
    facts["operating_since"] = json!("2026-01-15");
    t.cmd(&inst, id, json!({ "command": "update_draft", "facts": facts })).await;
    let (status, body) = t.try_cmd(&inst, id, json!({ "command": "update_draft", "facts": { "floors": 3 } })).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_input")), "unknown facts: {body}");
    assert_eq!(t.cmd(&inst, id, json!({ "command": "submit" })).await, "submitted");
    let view = t.get_app(&agency, id).await;
    let unmet: Vec<&str> =
        view["application"]["data"]["unmet_conditions"].as_array().unwrap().iter().map(|f| f["rule"].as_str().unwrap()).collect();
    assert_eq!(unmet, ["HRB-COND-1", "HRB-COND-2"]);
    let (status, body) = t.try_cmd(&agency, id, json!({ "command": "accept" })).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("conditions_unmet")), "{body}");
    let (status, _) = t.try_cmd(&agency, id, json!({ "command": "override_conditions", "reason": " " })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    t.cmd(&agency, id, json!({ "command": "override_conditions", "reason": "经现场核实，首注医师已办理变更，运营时间以营业执照为准" }))
        .await;
    assert_eq!(t.cmd(&agency, id, json!({ "command": "accept" })).await, "accepted");
    let events = t.store().events(id).await.unwrap();
    assert!(events.iter().any(|e| e.kind == "conditions_overridden"));
}
both!(hrb_cond_unmet_flagged_then_overridden);

fn csv_rows(n: usize, bad: &[usize]) -> String {
    let mut out = String::from("\u{feff}uscc,name,kind,category,city,district,national_code,address,beds\n");
    for i in 0..n {
        let line = i + 2;
        let uscc = Uscc::with_check(&format!("9165010{i:07}MA0")).unwrap();
        let row = match bad.iter().position(|b| *b == line) {
            Some(0) => format!("{uscc},药店{i},pharmacy,零售药店,urumqi,650102,,地址{i},-3"),
            Some(1) => format!("91350100M000100Y44,药店{i},pharmacy,零售药店,urumqi,650102,,地址{i},0"),
            Some(_) => format!("{uscc},药店{i},pharmacy,零售药店,urumqi,230102,,地址{i},0"),
            None => format!("{uscc},药店{i},pharmacy,零售药店,urumqi,650102,P65010200{:03},\"地址{i}，一楼\",0", i % 1000),
        };
        out.push_str(&row);
        out.push('\n');
    }
    out
}

async fn import(t: &TestApp, token: &str, csv: String) -> (StatusCode, Value) {
    let req = Request::builder()
        .method(Method::POST)
        .uri("/api/institutions/import")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "text/csv; charset=utf-8")
        .body(Body::from(csv))
        .unwrap();
    t.send(req).await
}

/// A 10,000-row import with 3 bad rows reports exactly those lines and writes nothing; the
/// fixed file imports whole.
async fn csv_import_is_all_or_nothing(b: Backend) {
    let t = TestApp::new(b).await;
    let agency = t.login("urc-agency").await;
    let before = t.store().institutions(None).await.unwrap().len();
    let (status, body) = import(&t, &agency, csv_rows(10_000, &[17, 4_321, 9_999])).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{}", &body.to_string()[..200.min(body.to_string().len())]);
    assert_eq!(body["code"], "import_rejected");
    let lines: Vec<i64> = body["errors"].as_array().unwrap().iter().map(|e| e["line"].as_i64().unwrap()).collect();
    assert_eq!(lines, [17, 4_321, 9_999], "{}", body["errors"]);
    assert!(body["errors"][0]["reason"].as_str().unwrap().contains("床位数"));
    assert!(body["errors"][1]["reason"].as_str().unwrap().contains("统一社会信用代码"));
    assert!(body["errors"][2]["reason"].as_str().unwrap().contains("区县代码"));
    assert_eq!(t.store().institutions(None).await.unwrap().len(), before, "nothing written");

    let (status, body) = import(&t, &agency, csv_rows(10_000, &[])).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["imported"], 10_000);
    assert_eq!(t.store().institutions(None).await.unwrap().len(), before + 10_000);

    // Importing the same file again: every row already registered, nothing written.
    let (status, body) = import(&t, &agency, csv_rows(3, &[])).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["errors"].as_array().unwrap().len(), 3);
    // Another city's agency cannot import Urumqi rows.
    let hrb = t.login("hrb-agency").await;
    let (status, body) = import(&t, &hrb, csv_rows(1, &[])).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
}
both!(csv_import_is_all_or_nothing);

async fn ids_check_api(b: Backend) {
    let t = TestApp::new(b).await;
    let agency = t.login("hrb-agency").await;
    let (status, body) = t.call(Method::POST, "/api/ids/check", Some(&agency), Some(json!({ "code": "91350100M000100Y43" }))).await;
    assert_eq!((status, body["kind"].as_str()), (StatusCode::OK, Some("uscc")));
    let (status, body) = t.call(Method::POST, "/api/ids/check", Some(&agency), Some(json!({ "code": "91350100M000100Y4I" }))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["code"], "id_char");
    assert!(body["message"].as_str().unwrap().contains("第 18 位"), "{body}");
}
both!(ids_check_api);
