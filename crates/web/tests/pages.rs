//! The minimal pages: Chinese home page, login with a session cookie, the application page with
//! state, clocks and history, and its buttons, with cross-site posts refused.

#[macro_use]
mod common;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use common::{PASSWORD, TestApp};
use dingdian_store::testing::Backend;
use serde_json::{Value, json};

fn form(path: &str, body: &str, cookie: Option<&str>, origin: Option<&str>) -> Request<Body> {
    let mut r = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header(header::HOST, "dingdian.test")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(c) = cookie {
        r = r.header(header::COOKIE, c);
    }
    if let Some(o) = origin {
        r = r.header(header::ORIGIN, o);
    }
    r.body(Body::from(body.to_owned())).unwrap()
}

fn get(path: &str, cookie: Option<&str>) -> Request<Body> {
    let mut r = Request::builder().uri(path);
    if let Some(c) = cookie {
        r = r.header(header::COOKIE, c);
    }
    r.body(Body::empty()).unwrap()
}

async fn raw(t: &TestApp, req: Request<Body>) -> (StatusCode, axum::http::HeaderMap, String) {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let resp = t.router.clone().oneshot(req).await.unwrap();
    let (parts, body) = resp.into_parts();
    let bytes = body.collect().await.unwrap().to_bytes();
    (parts.status, parts.headers, String::from_utf8_lossy(&bytes).into_owned())
}

async fn pages_work_without_javascript(b: Backend) {
    let t = TestApp::new(b).await;
    let (status, headers, html) = raw(&t, get("/", None)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("<html lang=\"zh-CN\">") && html.contains("医保定点协议管理平台"), "{html}");
    assert!(html.contains("哈尔滨市") && html.contains("乌鲁木齐市"), "both profiles are listed");
    assert_eq!(headers.get(header::X_FRAME_OPTIONS).unwrap(), "DENY");

    let (status, _, html) = raw(&t, form("/login", "username=hrb-hospital&password=wrong", None, None)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(html.contains("用户名或密码错误"), "{html}");

    let (status, headers, _) = raw(&t, form("/login", &format!("username=hrb-agency&password={PASSWORD}"), None, None)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let set = headers.get(header::SET_COOKIE).unwrap().to_str().unwrap().to_owned();
    assert!(set.contains("HttpOnly") && set.contains("SameSite=Lax"), "{set}");
    let cookie = set.split(';').next().unwrap().to_owned();

    let inst = t.login("hrb-hospital").await;
    let id = t.submitted(&inst).await;
    let (status, _, html) = raw(&t, get(&format!("/applications/{id}"), Some(&cookie))).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("已提交，待受理"), "state in Chinese: {html}");
    assert!(html.contains("受理审核（一次性告知）时限") && html.contains("HRB-ACC-1"), "clocks: {html}");
    assert!(html.contains("截止 2026-03-09 24:00"), "the deadline explains itself: {html}");
    assert!(html.contains("提交申请"), "history: {html}");
    assert!(html.contains(">受理</button>"), "the agency is offered accept: {html}");
    assert!(!html.contains(">提交申请</button>"), "but not the institution's commands");

    let (_, _, list) = raw(&t, get("/applications", Some(&cookie))).await;
    assert!(list.contains(&format!("/applications/{id}")), "{list}");

    // A cross-site post riding on the cookie is refused and changes nothing.
    let act = "command=accept&expected_version=2".to_owned();
    let (status, _, body) = raw(&t, form(&format!("/applications/{id}/act"), &act, Some(&cookie), Some("https://evil.example"))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["code"], "cross_origin");
    assert_eq!(t.state_of(id).await, "submitted");

    // Accepting is confirmed on a second page first (issue #16 item 3), then recorded.
    let (status, _, html) = raw(&t, form(&format!("/applications/{id}/act"), &act, Some(&cookie), Some("http://dingdian.test"))).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("请确认：受理") && html.contains("受理后不能撤销受理"), "{html}");
    assert_eq!(t.state_of(id).await, "submitted");
    let act = format!("{act}&confirmed=1");
    let (status, headers, _) = raw(&t, form(&format!("/applications/{id}/act"), &act, Some(&cookie), Some("http://dingdian.test"))).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let loc = headers.get(header::LOCATION).unwrap().to_str().unwrap().to_owned();
    assert_eq!(loc, format!("/applications/{id}?done=accept"));
    let (_, _, html) = raw(&t, get(&loc, Some(&cookie))).await;
    assert!(html.contains("已办理：受理。"), "{html}");
    assert_eq!(t.state_of(id).await, "accepted");

    // Only known commands are shown as done: a crafted link cannot inject text.
    let (_, _, html) = raw(&t, get(&format!("/applications/{id}?done=%E5%B7%B2%E9%80%9A%E8%BF%87"), Some(&cookie))).await;
    assert!(!html.contains("已通过") && !html.contains("class=\"ok\""), "{html}");

    // A stale button shows a Chinese error on the page instead of acting twice.
    let (status, _, html) = raw(&t, form(&format!("/applications/{id}/act"), &act, Some(&cookie), None)).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(html.contains("该申请已被他人更新"), "{html}");
    assert_eq!(t.state_of(id).await, "accepted");

    // Another institution's application is not shown.
    let clinic = t.login("hrb-clinic").await;
    let (status, body) = t.call(Method::GET, &format!("/api/applications/{id}"), Some(&clinic), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, _) = t.call(Method::GET, "/api/me", Some(&clinic), None).await;
    assert_eq!(status, StatusCode::OK);
}
both!(pages_work_without_javascript);

/// The OpenAPI document lists every API route and every command.
async fn openapi_document(b: Backend) {
    let t = TestApp::new(b).await;
    let (status, doc) = t.call(Method::GET, "/api/openapi.json", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(doc["openapi"], "3.1.0");
    for path in ["/api/session", "/api/applications", "/api/applications/{id}", "/api/applications/{id}/commands", "/api/rounds"] {
        assert!(doc["paths"].get(path).is_some(), "{path} documented");
    }
    // Every API route of the route table is in the document.
    for def in dingdian_web::route_table().iter().filter(|d| d.path.starts_with("/api/")) {
        assert!(doc["paths"][def.path].get(def.method.to_ascii_lowercase()).is_some(), "{} {} documented", def.method, def.path);
        // Every path parameter is declared (schemathesis refuses the operation otherwise:
        // GET /api/rounds/{id}/filing did not declare `id`).
        let op = &doc["paths"][def.path][def.method.to_ascii_lowercase()];
        for name in def.path.split('/').filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}'))) {
            let declared = op["parameters"].as_array().into_iter().flatten().any(|p| p["name"] == name && p["in"] == "path");
            assert!(declared, "{} {}: path parameter {name} declared", def.method, def.path);
        }
    }
    let commands = doc["components"]["schemas"]["CommandRequest"]["properties"]["command"]["enum"].as_array().unwrap();
    assert_eq!(commands.len(), dingdian_core::lifecycle::COMMAND_NAMES.len());
    assert!(commands.contains(&json!("issue_supplement_notice")));
}
both!(openapi_document);
