//! The authorization matrix: every route of the route table × every role (and anonymous, and
//! another city's agency) — each refusal shown and asserted. Because the router is built from
//! the same table, a new route cannot be added without an entry here.

#[macro_use]
mod common;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use common::TestApp;
use dingdian_store::testing::Backend;
use dingdian_web::{Access, route_table};
use serde_json::json;

async fn send(t: &TestApp, method: &str, path: &str, token: Option<&str>) -> (StatusCode, serde_json::Value) {
    let mut req = Request::builder().method(Method::from_bytes(method.as_bytes()).unwrap()).uri(path);
    if let Some(tok) = token {
        req = req.header(header::AUTHORIZATION, format!("Bearer {tok}"));
    }
    let req = if method == "GET" || method == "DELETE" {
        req.body(Body::empty())
    } else if path.starts_with("/api/") {
        req.header(header::CONTENT_TYPE, "application/json").body(Body::from("{}"))
    } else {
        // Pages post forms.
        req.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded").body(Body::from("command=accept&expected_version=0"))
    }
    .unwrap();
    let (status, body) = t.send(req).await;
    // Pages answer with a Chinese page that carries the API's code in `data-code`.
    match body.as_str().and_then(|html| html.split_once("data-code=\"")).and_then(|(_, rest)| rest.split_once('"')) {
        Some((code, _)) => (status, serde_json::json!({ "code": code, "page": true })),
        None => (status, body),
    }
}

async fn authorization_matrix(b: Backend) {
    let t = TestApp::new(b).await;
    let hosp = t.login("hrb-hospital").await;
    let app_id = t.submitted(&hosp).await;
    let inst_id = t.store().application(app_id).await.unwrap().unwrap().institution_id;
    let hrb_agency = t.login("hrb-agency").await;
    let (_, round) = t.call(Method::POST, "/api/rounds", Some(&hrb_agency), Some(json!({ "name": "矩阵测试" }))).await;
    let round_id = round["id"].as_i64().unwrap();

    let roles = [
        ("hrb-hospital", "institution"),
        ("hrb-agency", "agency"),
        ("hrb-expert", "expert"),
        ("hrb-evaluator", "evaluator"),
        ("hrb-supervisor", "supervisor"),
        ("hrb-admin", "admin"),
        ("urc-branch", "branch_reviewer"),
    ];
    let mut tokens = Vec::new();
    for (user, role) in roles {
        tokens.push((user, role, t.login(user).await));
    }
    // Issue #17 item 10: Harbin's provincial administrator (Heilongjiang), made by the operator.
    let province_password = "松花江 冰灯 七盏 省里 渡口";
    let provincial = dingdian_store::NewStaff {
        username: "hlj-province",
        display_name: "黑龙江省医保局",
        password: province_password,
        role: dingdian_core::lifecycle::Role::ProvincialAdmin,
        city: "",
        district: None,
        province: Some("230000"),
    };
    t.store().create_staff(dingdian_store::By::OPERATOR, provincial, t.now()).await.expect("provincial admin");
    tokens.push(("hlj-province", "provincial_admin", t.login_with("hlj-province", province_password).await));
    let other_city = t.login("urc-agency").await;

    let table = route_table();
    assert!(table.len() >= 40, "the table lists every route");
    let mut matrix = String::new();
    let mut refusals = 0;
    for def in &table {
        let path = def.path.replace("{person}", "1");
        let path = if def.path.starts_with("/api/rounds/") {
            path.replace("{id}", &round_id.to_string())
        } else if def.path.starts_with("/api/institutions/") {
            path.replace("{id}", &inst_id.to_string())
        } else {
            path.replace("{id}", &app_id.to_string())
        };
        // The route exists (the fallback answers 404 `not_found` for anything else).
        let (anon, body) = send(&t, def.method, &path, None).await;
        assert_ne!(anon, StatusCode::METHOD_NOT_ALLOWED, "{} {}", def.method, def.path);
        match def.access {
            Access::Public => {
                assert!(anon != StatusCode::UNAUTHORIZED && anon != StatusCode::FORBIDDEN, "{} {}: {anon} {body}", def.method, def.path)
            }
            Access::Page => assert_eq!(anon, StatusCode::SEE_OTHER, "{} {} sends anonymous visitors to log in", def.method, def.path),
            // Not from this machine and without the metrics token: refused whoever asks.
            Access::Monitoring => {
                assert_eq!((anon, body["code"].as_str()), (StatusCode::FORBIDDEN, Some("metrics_forbidden")), "{}", def.path)
            }
            _ => {
                assert_eq!(
                    (anon, body["code"].as_str()),
                    (StatusCode::UNAUTHORIZED, Some("unauthenticated")),
                    "{} {}",
                    def.method,
                    def.path
                );
                refusals += 1;
            }
        }
        let mut row = format!("{:<6} {:<40} anon={}", def.method, def.path, anon.as_u16());
        for (user, role, token) in &tokens {
            if def.method == "DELETE" || def.path == "/logout" {
                continue; // would end the session used by the rest of the matrix
            }
            let (status, body) = send(&t, def.method, &path, Some(token)).await;
            let allowed = match def.access {
                Access::Roles(rs) => rs.iter().any(|r| r.as_str() == *role),
                _ => true,
            };
            // A page open to every signed-in user may still show its own "not your role" page
            // (the handler asks the core); the table's gate is what this matrix checks.
            let gated_by_handler = def.access == Access::Page && body["page"] == true;
            if allowed {
                assert!(
                    status != StatusCode::UNAUTHORIZED && (body["code"] != "not_your_role" || gated_by_handler),
                    "{user} on {} {}: {status} {body}",
                    def.method,
                    def.path
                );
            } else {
                assert_eq!(
                    (status, body["code"].as_str()),
                    (StatusCode::FORBIDDEN, Some("not_your_role")),
                    "{user} on {} {}",
                    def.method,
                    def.path
                );
                refusals += 1;
            }
            row.push_str(&format!(" {role}={}", status.as_u16()));
        }
        // Another city's agency: refused on every route that names a Harbin record.
        if def.path.contains("{id}") && def.method != "DELETE" {
            let (status, body) = send(&t, def.method, &path, Some(&other_city)).await;
            let allowed = match def.access {
                Access::Roles(rs) => rs.contains(&dingdian_core::lifecycle::Role::Agency),
                _ => true,
            };
            if allowed {
                // Refused: outside the region, or (for per-user records such as inbox messages)
                // simply not theirs to find.
                let refused = (status == StatusCode::FORBIDDEN && matches!(body["code"].as_str(), Some("not_your_region") | None))
                    || (status == StatusCode::NOT_FOUND && body["code"] == "not_found");
                assert!(refused, "urc-agency on {} {}: {status} {body}", def.method, def.path);
                refusals += 1;
            }
            row.push_str(&format!(" other-city-agency={}", status.as_u16()));
        }
        matrix.push_str(&row);
        matrix.push('\n');
    }
    println!("{matrix}");
    assert!(refusals > 120, "{refusals} refusals");
}
both!(authorization_matrix);
