//! Hardening: sign-in throttling that cannot lock a user out for good, security headers with a
//! CSP that forbids inline script and style, and no inline script or style in any page.

#[macro_use]
mod common;

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Method, Request, StatusCode, header};
use common::{PASSWORD, TestApp};
use dingdian_store::testing::Backend;
use http_body_util::BodyExt;
use serde_json::json;
use tower::ServiceExt;

/// Signs in from `ip`, with the device cookie if given; returns the status, the body and the
/// device cookie the server set.
async fn sign_in(
    t: &TestApp,
    user: &str,
    password: &str,
    ip: &str,
    device: Option<&str>,
) -> (StatusCode, serde_json::Value, Option<String>) {
    let mut req = Request::builder().method(Method::POST).uri("/api/session").header(header::CONTENT_TYPE, "application/json");
    if let Some(d) = device {
        req = req.header(header::COOKIE, format!("dd_device={d}"));
    }
    let mut req = req.body(Body::from(json!({ "username": user, "password": password }).to_string())).unwrap();
    let addr: SocketAddr = format!("{ip}:40000").parse().unwrap();
    req.extensions_mut().insert(ConnectInfo(addr));
    let resp = t.router.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let device = resp
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix("dd_device=").map(|rest| rest.split(';').next().unwrap_or_default().to_owned()));
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap_or_default(), device)
}

async fn login_from(t: &TestApp, user: &str, password: &str, ip: &str) -> (StatusCode, serde_json::Value) {
    let (status, body, _) = sign_in(t, user, password, ip, None).await;
    (status, body)
}

/// OWASP ASVS 2.2.1: failures slow an attacker down (each try on the account waits longer,
/// at most a minute) and spraying from one address waits a window out — but a correct password
/// from a device the user signed in from before always passes, and every wait ends by itself.
async fn login_is_throttled_without_lockout(b: Backend) {
    let t = TestApp::new(b).await;
    // The agency signs in from the office once: that browser is now a known device.
    let (status, _, office) = sign_in(&t, "hrb-agency", PASSWORD, "10.1.1.1", None).await;
    assert_eq!(status, StatusCode::CREATED);
    let office = office.expect("a device cookie");
    // An attacker elsewhere guesses: after 5 failures each further try must wait, even with the
    // right password…
    for _ in 0..dingdian_store::MAX_PER_ACCOUNT {
        assert_eq!(login_from(&t, "hrb-agency", "guess-123", "203.0.113.9").await.0, StatusCode::UNAUTHORIZED);
    }
    let (status, body) = login_from(&t, "hrb-agency", PASSWORD, "203.0.113.77").await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::TOO_MANY_REQUESTS, Some("login_throttled")), "{body}");
    assert!(body["message"].as_str().unwrap().contains("后再试"), "{body}");
    // …but the user's own browser is not locked out, from any address.
    assert_eq!(sign_in(&t, "hrb-agency", PASSWORD, "10.1.1.1", Some(&office)).await.0, StatusCode::CREATED);
    assert_eq!(sign_in(&t, "hrb-agency", PASSWORD, "192.0.2.44", Some(&office)).await.0, StatusCode::CREATED);
    // A new device only waits a little: the wait is seconds, not a window.
    let wait = dingdian_store::account_delay(dingdian_store::MAX_PER_ACCOUNT);
    t.clock.set(dingdian_store::clock::Clock::now(&*t.clock).checked_add(jiff::SignedDuration::from_secs(wait + 1)).unwrap());
    assert_eq!(login_from(&t, "hrb-agency", PASSWORD, "203.0.113.77").await.0, StatusCode::CREATED);

    // One address spraying many accounts waits the window out; other addresses do not.
    let users = ["hrb-expert", "hrb-evaluator", "hrb-supervisor", "hrb-admin", "urc-agency", "urc-branch"];
    for i in 0..dingdian_store::MAX_PER_ADDRESS {
        login_from(&t, users[i as usize % users.len()], "wrong-password", "198.51.100.5").await;
    }
    let (status, _) = login_from(&t, "urc-expert", PASSWORD, "198.51.100.5").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(login_from(&t, "urc-expert", PASSWORD, "198.51.100.6").await.0, StatusCode::CREATED);
}
both!(login_is_throttled_without_lockout);

/// The issue's scenario: 1,000 wrong passwords from one address (the proxy every user shares),
/// aimed at the victim; then the victim and another user sign in from their usual devices, at
/// once, through the same address — both get in.
async fn a_thousand_wrong_logins_lock_nobody_out(b: Backend) {
    let t = TestApp::new(b).await;
    let proxy = "10.0.0.1";
    let (_, _, victim_device) = sign_in(&t, "hrb-agency", PASSWORD, proxy, None).await;
    let (_, _, other_device) = sign_in(&t, "hrb-expert", PASSWORD, proxy, None).await;
    let (victim_device, other_device) = (victim_device.unwrap(), other_device.unwrap());
    let mut refused = 0;
    for i in 0..1000 {
        let (status, _, _) = sign_in(&t, "hrb-agency", &format!("guess-{i}"), proxy, None).await;
        assert!(matches!(status, StatusCode::UNAUTHORIZED | StatusCode::TOO_MANY_REQUESTS), "{status}");
        refused += usize::from(status == StatusCode::TOO_MANY_REQUESTS);
    }
    assert!(refused > 900, "the attacker is slowed down: {refused} of 1000 tries had to wait");
    let (victim, other) = tokio::join!(
        sign_in(&t, "hrb-agency", PASSWORD, proxy, Some(&victim_device)),
        sign_in(&t, "hrb-expert", PASSWORD, proxy, Some(&other_device)),
    );
    assert_eq!((victim.0, other.0), (StatusCode::CREATED, StatusCode::CREATED), "{victim:?} {other:?}");
}
both!(a_thousand_wrong_logins_lock_nobody_out);

async fn security_headers_and_no_inline_code(b: Backend) {
    let t = TestApp::new(b).await;
    let inst = t.login("hrb-hospital").await;
    let id = t.submitted(&inst).await;
    for path in ["/", "/login", "/audit", &format!("/applications/{id}"), "/applications", "/nope"] {
        let req = Request::builder().uri(path).header(header::AUTHORIZATION, format!("Bearer {inst}")).body(Body::empty()).unwrap();
        use http_body_util::BodyExt;
        use tower::ServiceExt;
        let resp = t.router.clone().oneshot(req).await.unwrap();
        let csp = resp.headers().get(header::CONTENT_SECURITY_POLICY).expect("CSP").to_str().unwrap().to_owned();
        assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe-inline"), "{csp}");
        assert_eq!(resp.headers().get(header::X_CONTENT_TYPE_OPTIONS).unwrap(), "nosniff");
        assert_eq!(resp.headers().get(header::REFERRER_POLICY).unwrap(), "same-origin");
        let html = String::from_utf8_lossy(&resp.into_body().collect().await.unwrap().to_bytes()).into_owned();
        // The one script is an external file (progressive enhancement); nothing inline.
        let html = html.replace(r#"<script src="/static/app.js" defer></script>"#, "");
        assert!(!html.contains("<script") && !html.contains("style=") && !html.contains("<style"), "{path}: inline code");
    }
}
both!(security_headers_and_no_inline_code);

/// Control and invisible characters (U+0000, U+0001, U+000B, U+202E …) are refused wherever text
/// is stored — the registry, commands, complaints — so `/notices.atom` stays valid XML for
/// every subscriber.
async fn control_characters_never_reach_storage_or_feeds(b: Backend) {
    let t = TestApp::new(b).await;
    let agency = t.login("hrb-agency").await;
    for bad in ["诊所\u{0}", "诊所\u{1}", "诊所\u{b}", "诊\u{202e}所"] {
        let body = json!({ "uscc": "91230102MA1B2C3D4X", "name": bad, "kind": "medical", "category": "诊所", "city": "harbin",
                           "district": "230102", "address": "道里区", "beds": 0 });
        let (status, body) = t.call(Method::POST, "/api/institutions", Some(&agency), Some(body)).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_input")), "{bad:?}: {body}");
        assert!(body["message"].as_str().unwrap().contains("控制字符"), "{body}");
    }
    let hosp = t.login("hrb-hospital").await;
    let (_, created) = t.call(Method::POST, "/api/applications", Some(&hosp), None).await;
    let id = created["id"].as_i64().unwrap();
    let mut facts = common::full_facts("H23010200001");
    facts["pharmacists"][0]["name"] = json!("药师\u{202e}甲");
    let (status, body) = t.try_cmd(&hosp, id, json!({ "command": "update_draft", "facts": common::full_facts("H23010200001") })).await;
    assert_eq!(status, StatusCode::OK, "the same facts without the character are taken: {body}");
    let (status, body) = t.try_cmd(&hosp, id, json!({ "command": "update_draft", "facts": facts })).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_input")), "{body}");
    let before = t.get_app(&hosp, id).await["application"]["version"].clone();
    let (status, _) = t.try_cmd(&hosp, id, json!({ "command": "withdraw", "reason": "撤回\u{0}" })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(t.get_app(&hosp, id).await["application"]["version"], before, "nothing changed");
    // Line breaks stay allowed where a text may span lines.
    assert_eq!(t.cmd(&hosp, id, json!({ "command": "withdraw", "reason": "第一行\n第二行" })).await, "withdrawn");
    let (status, feed) = t.call(Method::GET, "/notices.atom", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!feed.as_str().unwrap().chars().any(|c| c.is_control() && c != '\n'), "the feed is clean XML text");
}
both!(control_characters_never_reach_storage_or_feeds);
