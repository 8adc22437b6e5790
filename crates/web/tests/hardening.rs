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
use serde_json::json;

async fn login_from(t: &TestApp, user: &str, password: &str, ip: &str) -> (StatusCode, serde_json::Value) {
    let mut req = Request::builder()
        .method(Method::POST)
        .uri("/api/session")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(json!({ "username": user, "password": password }).to_string()))
        .unwrap();
    let addr: SocketAddr = format!("{ip}:40000").parse().unwrap();
    req.extensions_mut().insert(ConnectInfo(addr));
    t.send(req).await
}

async fn login_is_throttled_without_lockout(b: Backend) {
    let t = TestApp::new(b).await;
    // The agency signs in from the office once.
    assert_eq!(login_from(&t, "hrb-agency", PASSWORD, "10.1.1.1").await.0, StatusCode::CREATED);
    // An attacker elsewhere guesses: after 5 failures the account refuses further tries from
    // unknown addresses, even with the right password…
    for _ in 0..dingdian_store::MAX_PER_ACCOUNT {
        assert_eq!(login_from(&t, "hrb-agency", "guess-123", "203.0.113.9").await.0, StatusCode::UNAUTHORIZED);
    }
    let (status, body) = login_from(&t, "hrb-agency", PASSWORD, "203.0.113.77").await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::TOO_MANY_REQUESTS, Some("login_throttled")), "{body}");
    assert!(body["message"].as_str().unwrap().contains("分钟后再试"));
    // …but the user at the office is not locked out.
    assert_eq!(login_from(&t, "hrb-agency", PASSWORD, "10.1.1.1").await.0, StatusCode::CREATED);
    // And the block ends by itself.
    t.clock.set(
        dingdian_store::clock::Clock::now(&*t.clock).checked_add(jiff::SignedDuration::from_secs(dingdian_store::WINDOW_SECS + 1)).unwrap(),
    );
    assert_eq!(login_from(&t, "hrb-agency", PASSWORD, "203.0.113.77").await.0, StatusCode::CREATED);

    // One address spraying many accounts is blocked, other addresses are not.
    let users = ["hrb-expert", "hrb-evaluator", "hrb-supervisor", "hrb-admin", "urc-agency", "urc-branch"];
    for i in 0..dingdian_store::MAX_PER_ADDRESS {
        login_from(&t, users[i as usize % users.len()], "wrong-password", "198.51.100.5").await;
    }
    let (status, _) = login_from(&t, "urc-expert", PASSWORD, "198.51.100.5").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(login_from(&t, "urc-expert", PASSWORD, "198.51.100.6").await.0, StatusCode::CREATED);
}
both!(login_is_throttled_without_lockout);

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
