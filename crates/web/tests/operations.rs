//! What operators watch (issue: operable in production): `/readyz` proves the database takes a
//! write and the file store answers, and says 503 when the database is gone, recovering by
//! itself; `/metrics` is Prometheus text that a parser reads, open only to this machine or the
//! configured token; a page asked while the database is gone answers 503 quickly, in Chinese.

#[macro_use]
mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Method, Request, StatusCode, header};
use common::TestApp;
use dingdian_store::testing::Backend;
use http_body_util::BodyExt;
use serde_json::json;
use tower::ServiceExt;

async fn get(t: &TestApp, path: &str, peer: &str, token: Option<&str>) -> (StatusCode, String) {
    let mut req = Request::builder().method(Method::GET).uri(path);
    if let Some(tok) = token {
        req = req.header(header::AUTHORIZATION, format!("Bearer {tok}"));
    }
    let mut req = req.body(Body::empty()).unwrap();
    req.extensions_mut().insert(ConnectInfo(format!("{peer}:40000").parse::<SocketAddr>().unwrap()));
    let resp = t.router.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

/// The value of a sample, by its name and (a subset of) its labels.
fn sample(scrape: &prometheus_parse::Scrape, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    scrape.samples.iter().find(|s| s.metric == name && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v))).map(|s| match s.value {
        prometheus_parse::Value::Counter(v) | prometheus_parse::Value::Gauge(v) | prometheus_parse::Value::Untyped(v) => v,
        _ => f64::NAN,
    })
}

async fn ready_and_metrics(b: Backend) {
    let t = TestApp::new(b).await;
    let (status, body) = get(&t, "/readyz", "192.0.2.1", None).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "ready"));
    // Some traffic: a refused and an accepted command.
    let inst = t.login("hrb-hospital").await;
    let id = t.submitted(&inst).await;
    let (status, _) = t
        .call(
            Method::POST,
            &format!("/api/applications/{id}/commands"),
            Some(&inst),
            Some(json!({ "command": "accept", "expected_version": 0 })),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Another machine may not read the metrics; this one may.
    let (status, _) = get(&t, "/metrics", "192.0.2.1", None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, text) = get(&t, "/metrics", "127.0.0.1", None).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let lines = text.lines().map(|l| Ok(l.to_owned()));
    let scrape = prometheus_parse::Scrape::parse(lines).expect("Prometheus text format");
    assert!(sample(&scrape, "dingdian_commands_total", &[("command", "submit"), ("outcome", "ok")]).unwrap_or(0.0) >= 1.0, "{text}");
    assert!(
        sample(&scrape, "dingdian_commands_total", &[("command", "accept"), ("outcome", "not_your_role")]).unwrap_or(0.0) >= 1.0,
        "{text}"
    );
    let created = sample(&scrape, "dingdian_http_requests_total", &[("route", "/api/applications"), ("method", "POST"), ("status", "201")]);
    assert!(created.unwrap_or(0.0) >= 1.0, "{text}");
    assert!(
        scrape
            .samples
            .iter()
            .any(|s| s.metric == "dingdian_http_request_duration_seconds" && matches!(s.value, prometheus_parse::Value::Histogram(_))),
        "{text}"
    );
    for gauge in [
        "dingdian_timers_due",
        "dingdian_outbox_pending",
        "dingdian_outbox_failed",
        "dingdian_calendar_years",
        "dingdian_calendar_uncovered_in_days",
        "dingdian_db_pool_connections",
        "dingdian_upload_bytes",
        "dingdian_timers_fired_total",
    ] {
        assert!(sample(&scrape, gauge, &[]).is_some(), "{gauge} missing:\n{text}");
    }
    assert!(sample(&scrape, "dingdian_calendar_years", &[]).unwrap() >= 1.0);
}
both!(ready_and_metrics);

/// With a token configured, only a request that presents it reads the metrics — loopback or not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_token_is_required_when_configured() {
    let net = dingdian_web::Net { metrics_token: Some("s3cret-metrics".to_owned()), ..Default::default() };
    let t = TestApp::with_net(Backend::Sqlite, net).await;
    assert_eq!(get(&t, "/metrics", "127.0.0.1", None).await.0, StatusCode::FORBIDDEN);
    assert_eq!(get(&t, "/metrics", "127.0.0.1", Some("wrong")).await.0, StatusCode::FORBIDDEN);
    assert_eq!(get(&t, "/metrics", "198.51.100.3", Some("s3cret-metrics")).await.0, StatusCode::OK);
}

/// Behind a reverse proxy on this machine every request arrives from loopback: with the proxy
/// trusted, the client it names in `X-Forwarded-For` decides, so the world cannot read the
/// metrics through nginx while the machine's own monitoring (direct or through nginx) can.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_through_a_trusted_proxy_follow_the_forwarded_client() {
    let net = dingdian_web::Net { trusted_proxies: dingdian_web::parse_proxies("127.0.0.1,::1").unwrap(), ..Default::default() };
    let t = TestApp::with_net(Backend::Sqlite, net).await;
    let via_proxy = |xff: &'static str| {
        let mut req = Request::builder().uri("/metrics").header("x-forwarded-for", xff).body(Body::empty()).unwrap();
        req.extensions_mut().insert(ConnectInfo("127.0.0.1:40000".parse::<SocketAddr>().unwrap()));
        t.router.clone().oneshot(req)
    };
    assert_eq!(via_proxy("203.0.113.9").await.unwrap().status(), StatusCode::FORBIDDEN);
    assert_eq!(via_proxy("127.0.0.1, 203.0.113.9").await.unwrap().status(), StatusCode::FORBIDDEN);
    assert_eq!(via_proxy("203.0.113.9, 127.0.0.1").await.unwrap().status(), StatusCode::FORBIDDEN);
    assert_eq!(via_proxy("127.0.0.1").await.unwrap().status(), StatusCode::OK);
    assert_eq!(get(&t, "/metrics", "127.0.0.1", None).await.0, StatusCode::OK);
}

/// PostgreSQL goes away: `/readyz` says 503 `not_ready`, a page says 503 in Chinese within a few
/// seconds (not a hang, not `500 internal`), and both recover by themselves when it is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_gone_is_503_quickly_and_recovers() {
    let t = TestApp::new(Backend::Postgres).await;
    let agency = t.login("hrb-agency").await;
    let name = t.db_url.rsplit('/').next().unwrap().to_owned();
    let admin = sqlx::PgPool::connect("postgres://postgres@127.0.0.1:5432/postgres").await.unwrap();
    let cut = |allow: bool| {
        let admin = admin.clone();
        let name = name.clone();
        async move {
            sqlx::query(sqlx::AssertSqlSafe(format!("alter database \"{name}\" allow_connections {allow}"))).execute(&admin).await.unwrap();
            if !allow {
                sqlx::query("select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()")
                    .bind(&name)
                    .execute(&admin)
                    .await
                    .unwrap();
            }
        }
    };
    cut(false).await;
    let (status, body) = get(&t, "/readyz", "192.0.2.1", None).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body, "not ready: database");
    let started = Instant::now();
    let (status, body) = get(&t, "/applications", "192.0.2.1", Some(&agency)).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(body.contains("数据库暂时不可用") && body.contains("data-code=\"database_unavailable\""), "{body}");
    assert!(started.elapsed() < Duration::from_secs(8), "took {:?}", started.elapsed());
    let (status, body) = t.call(Method::GET, "/api/me", Some(&agency), None).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::SERVICE_UNAVAILABLE, Some("database_unavailable")), "{body}");
    cut(true).await;
    let (status, body) = get(&t, "/readyz", "192.0.2.1", None).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "ready"));
    assert_eq!(get(&t, "/applications", "192.0.2.1", Some(&agency)).await.0, StatusCode::OK);
}
