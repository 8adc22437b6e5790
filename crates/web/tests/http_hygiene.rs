//! HTTP hygiene (issue #15): the client's address behind trusted proxies (OWASP ASVS 2.2.1:
//! per-address limits only on addresses that are one client's), the project's own error for
//! every request that does not parse, authorization before state, `Cache-Control: no-store` on
//! what is personal, HSTS over TLS.

#[macro_use]
mod common;

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Method, Request, StatusCode, header};
use common::{PASSWORD, TestApp, percent};
use dingdian_store::testing::Backend;
use http_body_util::BodyExt;
use serde_json::json;
use tower::ServiceExt;

const PROXY: &str = "10.0.0.5";

fn behind_proxy() -> dingdian_web::Net {
    dingdian_web::Net { trusted_proxies: dingdian_web::parse_proxies("10.0.0.0/24, ::1").unwrap(), ..Default::default() }
}

/// Sends `req` as if it arrived on a connection from `peer`.
async fn from(t: &TestApp, peer: &str, mut req: Request<Body>) -> (StatusCode, axum::http::HeaderMap, String) {
    req.extensions_mut().insert(ConnectInfo(format!("{peer}:40000").parse::<SocketAddr>().unwrap()));
    let resp = t.router.clone().oneshot(req).await.unwrap();
    let (status, headers) = (resp.status(), resp.headers().clone());
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (status, headers, String::from_utf8_lossy(&bytes).into_owned())
}

fn login_req(user: &str, password: &str, forwarded_for: Option<&str>) -> Request<Body> {
    let mut req = Request::builder().method(Method::POST).uri("/api/session").header(header::CONTENT_TYPE, "application/json");
    if let Some(f) = forwarded_for {
        req = req.header("x-forwarded-for", f);
    }
    req.body(Body::from(json!({ "username": user, "password": password }).to_string())).unwrap()
}

#[test]
fn client_address_is_the_rightmost_untrusted_forwarded_address() {
    let trusted = behind_proxy().trusted_proxies;
    let ip = |s: &str| s.parse::<std::net::IpAddr>().unwrap();
    let xff = |v: &str| {
        let mut h = axum::http::HeaderMap::new();
        h.insert("x-forwarded-for", v.parse().unwrap());
        h
    };
    let client = |peer: &str, h: &axum::http::HeaderMap| dingdian_web::client_ip(Some(ip(peer)), h, &trusted);
    // Off by default: no trusted proxies, the peer is the client whatever the header says.
    assert_eq!(dingdian_web::client_ip(Some(ip("203.0.113.1")), &xff("198.51.100.7"), &[]), Some(ip("203.0.113.1")));
    // An untrusted peer cannot choose its address with the header.
    assert_eq!(client("203.0.113.1", &xff("198.51.100.7")), Some(ip("203.0.113.1")));
    // Behind the proxy: the address the proxy appended; whatever the client put left of it is ignored.
    assert_eq!(client(PROXY, &xff("198.51.100.7")), Some(ip("198.51.100.7")));
    assert_eq!(client(PROXY, &xff("1.2.3.4, garbage, 198.51.100.7")), Some(ip("198.51.100.7")));
    // Two trusted hops.
    assert_eq!(client(PROXY, &xff("198.51.100.7, 10.0.0.9")), Some(ip("198.51.100.7")));
    // The proxy did not say whom for, or said nothing usable: no one client's address.
    assert_eq!(client(PROXY, &axum::http::HeaderMap::new()), None);
    assert_eq!(client(PROXY, &xff("10.0.0.9")), None);
    assert_eq!(client(PROXY, &xff("1.2.3.4, unknown")), None);
    assert_eq!(dingdian_web::client_ip(None, &xff("1.2.3.4"), &trusted), None);
    assert!(dingdian_web::parse_proxies("10.0.0.0/33").is_err());
    assert!(dingdian_web::parse_proxies("nginx").is_err());
    assert_eq!(dingdian_web::parse_proxies("").unwrap(), vec![]);
}

/// Behind a trusted proxy every user arrives from the proxy's address; the address window
/// must count each client, not the proxy, so one client's 30 wrong passwords stop nobody else.
async fn sign_in_limits_count_clients_behind_a_trusted_proxy(b: Backend) {
    let t = TestApp::with_net(b, behind_proxy()).await;
    let attacker = "198.51.100.66";
    let users = ["hrb-expert", "hrb-evaluator", "hrb-supervisor", "hrb-admin", "urc-agency", "urc-branch"];
    for i in 0..dingdian_store::MAX_PER_ADDRESS as usize {
        let (status, _, _) = from(&t, PROXY, login_req(users[i % users.len()], "wrong-password", Some(attacker))).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    // The attacker's address now waits the window out, even when it lies about itself…
    let (status, _, body) = from(&t, PROXY, login_req("hrb-agency", PASSWORD, Some(&format!("192.0.2.1, {attacker}")))).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    // …while another client through the same proxy, new device and all, signs in at once.
    let (status, _, body) = from(&t, PROXY, login_req("hrb-agency", PASSWORD, Some("198.51.100.67"))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}
both!(sign_in_limits_count_clients_behind_a_trusted_proxy);

/// Without a trusted proxy, X-Forwarded-For is ignored: a client cannot escape its address
/// limit by sending the header itself.
async fn forwarded_header_from_an_untrusted_peer_is_ignored(b: Backend) {
    let t = TestApp::new(b).await;
    let users = ["hrb-expert", "hrb-evaluator", "hrb-supervisor", "hrb-admin", "urc-agency", "urc-branch"];
    for i in 0..dingdian_store::MAX_PER_ADDRESS as usize {
        let forged = format!("192.0.2.{i}");
        from(&t, "203.0.113.50", login_req(users[i % users.len()], "wrong-password", Some(&forged))).await;
    }
    let (status, _, body) = from(&t, "203.0.113.50", login_req("hrb-agency", PASSWORD, Some("192.0.2.200"))).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
}
both!(forwarded_header_from_an_untrusted_peer_is_ignored);

fn complaint_req(number: &str, forwarded_for: &str) -> Request<Body> {
    let body = format!("number={}&content={}", percent(number), percent("该机构夜间无药师值守。"));
    Request::builder()
        .method(Method::POST)
        .uri("/complaints")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header("x-forwarded-for", forwarded_for)
        .body(Body::from(body))
        .unwrap()
}

/// Public complaints are limited per client, not per proxy: one client at its hourly limit
/// does not stop the rest of the city.
async fn complaint_limit_is_per_client_behind_a_proxy(b: Backend) {
    let t = TestApp::with_net(b, behind_proxy()).await;
    for _ in 0..dingdian_store::COMPLAINTS_PER_HOUR {
        let (status, _, _) = from(&t, PROXY, complaint_req("no-such-number", "198.51.100.1")).await;
        assert_ne!(status, StatusCode::TOO_MANY_REQUESTS);
    }
    let (status, _, _) = from(&t, PROXY, complaint_req("no-such-number", "198.51.100.1")).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    let (status, _, body) = from(&t, PROXY, complaint_req("no-such-number", "198.51.100.2")).await;
    assert_ne!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
}
both!(complaint_limit_is_per_client_behind_a_proxy);

fn has_no_parser_text(s: &str) -> bool {
    !["Failed to", "deserialize", "missing field", "invalid type", "expected", "Cannot parse", "invalid digit"]
        .iter()
        .any(|w| s.contains(w))
}

/// Every request that does not parse gets the project's answer: a stable code and a Chinese
/// message on the API (the parser's English only under detail.reason), a Chinese page on forms.
async fn unparseable_requests_get_the_projects_error(b: Backend) {
    let t = TestApp::new(b).await;
    let agency = t.login("hrb-agency").await;
    // A form missing a field.
    let req = Request::builder()
        .method(Method::POST)
        .uri("/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from("username=hrb-agency"))
        .unwrap();
    let (status, headers, body) = from(&t, "192.0.2.9", req).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(headers[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/html"), "{headers:?}");
    assert!(body.contains("表单内容不完整或格式有误"), "{body}");
    assert!(has_no_parser_text(&body), "{body}");
    // A form sent as something else.
    let req = Request::builder().method(Method::POST).uri("/login").body(Body::from("x")).unwrap();
    let (status, _, body) = from(&t, "192.0.2.9", req).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(has_no_parser_text(&body) && body.contains("表单"), "{body}");
    // A query parameter of the wrong type, on a page and on the API.
    let (status, body) = t.get_text("/workbench?state=a&state=b", &agency).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(has_no_parser_text(&body) && body.contains("查询条件有误"), "{body}");
    let (status, body) = t.call(Method::GET, "/api/applications?limit=many", Some(&agency), None).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_query")), "{body}");
    assert!(has_no_parser_text(body["message"].as_str().unwrap()), "{body}");
    assert!(body["detail"]["reason"].is_string(), "{body}");
    // A JSON field of the wrong type.
    let (status, body) = t.call(Method::POST, "/api/session", None, Some(json!({ "username": 7, "password": "x" }))).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_input")), "{body}");
    assert!(has_no_parser_text(body["message"].as_str().unwrap()), "{body}");
    // Command forms: bounded field names and counts, refused before anything is built.
    let inst = t.login("hrb-hospital").await;
    let (status, body) = t.call(Method::POST, "/api/applications", Some(&inst), None).await;
    let id = body["id"].as_i64().unwrap_or_else(|| panic!("{status} {body}"));
    let long_name = vec![("x".repeat(500), "1".to_owned()), ("command".to_owned(), "update_draft".to_owned())];
    let many: Vec<(String, String)> = (0..1000).map(|i| (format!("f{i}"), "1".to_owned())).collect();
    for fields in [long_name, many] {
        let fields: Vec<(&str, String)> = fields.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
        let (status, page, _) = t.post_form(&format!("/applications/{id}/act"), &inst, &fields).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
        assert!(page.contains("表单字段"), "{page}");
    }
    // A path that is not an id names no record.
    let (status, body) = t.call(Method::GET, "/api/rounds/abc/draw", Some(&agency), None).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")), "{body}");
}
both!(unparseable_requests_get_the_projects_error);

/// Authorization before state: a supervisor who tries to open an application is told it is not
/// their role (403), not that something conflicts (409).
async fn authorization_is_checked_before_state(b: Backend) {
    let t = TestApp::new(b).await;
    let supervisor = t.login("hrb-supervisor").await;
    let (status, body, _) = t.post_form("/applications", &supervisor, &[]).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, body) = t.call(Method::POST, "/api/applications", Some(&supervisor), Some(json!({}))).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::FORBIDDEN, Some("not_your_role")), "{body}");
    // A reader in the wrong role, with a stale version: the role is refused, not the version.
    let inst = t.login("hrb-hospital").await;
    let id = t.submitted(&inst).await;
    let cmd = json!({ "command": "accept", "expected_version": 999 });
    let (status, body) = t.call(Method::POST, &format!("/api/applications/{id}/commands"), Some(&supervisor), Some(cmd)).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::FORBIDDEN, Some("not_your_role")), "{body}");
}
both!(authorization_is_checked_before_state);

fn get(path: &str, token: Option<&str>, https: bool) -> Request<Body> {
    let mut req = Request::builder().method(Method::GET).uri(path);
    if let Some(t) = token {
        req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    if https {
        req = req.header("x-forwarded-proto", "https");
    }
    req.body(Body::empty()).unwrap()
}

/// What is personal is never kept by a browser or a proxy: every signed-in answer, the query
/// page (it shows the query code) and a complaint's status carry `Cache-Control: no-store`.
/// Public pages the same for everyone may be cached. HSTS only over TLS.
async fn personal_answers_are_not_stored_and_tls_is_sticky(b: Backend) {
    let t = TestApp::new(b).await;
    let agency = t.login("hrb-agency").await;
    let no_store = |h: &axum::http::HeaderMap| h.get(header::CACHE_CONTROL).is_some_and(|v| v.to_str().unwrap().contains("no-store"));
    for path in ["/applications", "/workbench", "/api/me", "/api/applications", "/notices", "/"] {
        let (status, h, _) = from(&t, "192.0.2.9", get(path, Some(&agency), false)).await;
        assert!(status.is_success(), "{path}: {status}");
        assert!(no_store(&h), "{path} signed in: {h:?}");
    }
    for path in ["/query?number=X&code=Y", "/complaints/NOPE", "/api/me"] {
        let (_, h, _) = from(&t, "192.0.2.9", get(path, None, false)).await;
        assert!(no_store(&h), "{path} anonymous: {h:?}");
    }
    for path in ["/notices", "/notices.atom", "/static/app.css"] {
        let (status, h, _) = from(&t, "192.0.2.9", get(path, None, false)).await;
        assert!(status.is_success() && !no_store(&h), "{path} may be cached: {h:?}");
    }
    let (_, h, _) = from(&t, "192.0.2.9", get("/", None, false)).await;
    assert!(h.get(header::STRICT_TRANSPORT_SECURITY).is_none(), "no HSTS over plain HTTP");
    let (_, h, _) = from(&t, "192.0.2.9", get("/", None, true)).await;
    let hsts = h.get(header::STRICT_TRANSPORT_SECURITY).expect("HSTS over TLS").to_str().unwrap().to_owned();
    assert!(hsts.starts_with("max-age=") && hsts["max-age=".len()..].parse::<u64>().unwrap() >= 31_536_000, "{hsts}");
}
both!(personal_answers_are_not_stored_and_tls_is_sticky);
