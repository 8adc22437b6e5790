//! `/metrics` (Prometheus text format 0.0.4, through the `prometheus-client` crate) and
//! `/readyz`. Request counts and latencies are recorded by a middleware on every route; the
//! store's counters and a snapshot of its tables are read at each scrape. `/metrics` answers
//! only a loopback client or one that presents the configured token.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::{ApiError, AppState};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CommandLabels {
    command: String,
    outcome: String,
}

fn latency_histogram() -> Histogram {
    // 1 ms … ~16 s.
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

/// What the HTTP layer records itself.
pub struct HttpMetrics {
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram, fn() -> Histogram>,
}

impl Default for HttpMetrics {
    fn default() -> Self {
        HttpMetrics { requests: Family::default(), latency: Family::new_with_constructor(latency_histogram) }
    }
}

/// Records every request by its route pattern (never the raw path, so ids do not explode the
/// label set), and writes one access-log line per request: request id (the client's
/// `X-Request-Id` when it is a short token, else a new one, echoed in the answer), method, route,
/// status, latency and the client's address (through the trusted-proxy setting).
pub async fn record(State(s): State<AppState>, mut req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().as_str().to_owned();
    let route = req.extensions().get::<MatchedPath>().map_or_else(|| "unmatched".to_owned(), |m| m.as_str().to_owned());
    let peer = req.extensions().get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|c| c.0.ip());
    let client = crate::auth::client_ip(peer, req.headers(), &s.net.trusted_proxies).map_or_else(|| "-".to_owned(), |ip| ip.to_string());
    let request_id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 64 && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
        .map_or_else(|| hex::encode(rand::random::<[u8; 8]>()), str::to_owned);
    if let Ok(v) = header::HeaderValue::from_str(&request_id) {
        req.headers_mut().insert("x-request-id", v);
    }
    let mut resp = next.run(req).await;
    let status = resp.status().as_u16();
    let elapsed = started.elapsed();
    tracing::info!(
        target: "access",
        request_id = %request_id,
        method = %method,
        route = %route,
        status,
        latency_ms = elapsed.as_secs_f64() * 1000.0,
        client = %client,
        "request"
    );
    if let Ok(v) = header::HeaderValue::from_str(&request_id) {
        resp.headers_mut().insert("x-request-id", v);
    }
    s.metrics.requests.get_or_create(&RequestLabels { method, route: route.clone(), status }).inc();
    s.metrics.latency.get_or_create(&RouteLabels { route }).observe(elapsed.as_secs_f64());
    resp
}

fn gauge(registry: &mut Registry, name: &str, help: &str, value: i64) {
    let g: Gauge = Gauge::default();
    g.set(value);
    registry.register(name, help, g);
}

/// May this request read the metrics? With a token configured, only a request that presents it;
/// without, only a client on this machine. A reverse proxy on this machine connects from
/// loopback for every client it forwards, so when it is a trusted proxy the client it names in
/// `X-Forwarded-For` must be on this machine too.
pub fn allowed(s: &AppState, req: &Request) -> bool {
    match &s.net.metrics_token {
        Some(token) => crate::auth::bearer(req.headers()).is_some_and(|t| constant_time_eq(t.as_bytes(), token.as_bytes())),
        None => {
            let peer = req.extensions().get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|c| c.0.ip());
            // `client_ip` is `None` when the trusted proxies name no client beyond themselves.
            peer.is_some_and(|p| p.is_loopback())
                && crate::auth::client_ip(peer, req.headers(), &s.net.trusted_proxies).is_none_or(|c| c.is_loopback())
        }
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The metrics (the route table's `Monitoring` access decides who may ask).
pub async fn metrics(State(s): State<AppState>) -> Response {
    let snap = match s.store.snapshot(s.clock.today()).await {
        Ok(snap) => snap,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let mut registry = Registry::with_prefix("dingdian");
    registry.register("http_requests", "HTTP requests by method, route and status", s.metrics.requests.clone());
    registry.register("http_request_duration_seconds", "HTTP request latency by route", s.metrics.latency.clone());
    let commands = Family::<CommandLabels, Counter>::default();
    for (command, outcome, n) in s.store.counters().commands() {
        commands.get_or_create(&CommandLabels { command: command.to_owned(), outcome }).inc_by(n);
    }
    registry.register("commands", "Commands decided by this process, by command and outcome (ok or the refusal's code)", commands);
    let (fired, held, failed) = s.store.counters().timer_totals();
    for (name, help, n) in [
        ("timers_fired", "Time limits fired by this process", fired),
        ("timers_held", "Due time limits that could not fire yet (e.g. an open complaint)", held),
        ("timer_passes_failed", "Timer passes that failed as a whole", failed),
    ] {
        let c: Counter = Counter::default();
        c.inc_by(n);
        registry.register(name, help, c);
    }
    let to_i64 = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
    let today = s.clock.today();
    let oldest_due_days = snap.oldest_due.map_or(0, |d| (today - d).get_days().into());
    let uncovered_in_days = snap.first_uncovered.map_or(-1, |d| (d - today).get_days().into());
    gauge(&mut registry, "timers_due", "Time limits due and not yet fired", snap.timers_due);
    gauge(&mut registry, "timers_oldest_due_age_days", "Days since the oldest due time limit fell due (0 when none)", oldest_due_days);
    gauge(&mut registry, "outbox_pending", "E-mails waiting to be sent", snap.outbox_pending);
    gauge(&mut registry, "outbox_failed", "E-mails that failed for good", snap.outbox_failed);
    gauge(
        &mut registry,
        "upload_bytes",
        "Bytes of uploads received by this process",
        i64::try_from(s.files.received_bytes()).unwrap_or(i64::MAX),
    );
    gauge(&mut registry, "calendar_years", "Working-day calendar years known", to_i64(snap.calendar_years));
    gauge(
        &mut registry,
        "calendar_uncovered_in_days",
        "Days from today to the first day no calendar covers (0: today is not covered)",
        uncovered_in_days,
    );
    gauge(&mut registry, "db_pool_connections", "Open database connections", i64::from(snap.pool_size));
    gauge(&mut registry, "db_pool_idle", "Idle database connections", to_i64(snap.pool_idle));
    gauge(&mut registry, "db_pool_max", "Largest database pool size", i64::from(snap.pool_max));
    let mut text = String::new();
    if let Err(e) = prometheus_client::encoding::prometheus_text::encode(&mut text, &registry) {
        tracing::error!(error = %e, "encoding metrics");
        return ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "服务器内部错误，请稍后重试；问题已记录。").into_response();
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text).into_response()
}

/// Readiness: the database takes a write and the file store answers. 200 `ready`, or 503
/// `not ready: database, files` naming what is not.
pub async fn readyz(State(s): State<AppState>) -> Response {
    let instance = format!("{}-{}", hostname(), std::process::id());
    let limit = std::time::Duration::from_secs(5);
    let db = tokio::time::timeout(limit, async { s.store.probe(&instance, s.clock.now()).await.map_err(|e| e.to_string()) }).await;
    let files = tokio::time::timeout(limit, async { s.files.probe().await.map_err(|e| e.to_string()) }).await;
    let mut problems = Vec::new();
    for (name, outcome) in [("database", db.map_err(|_| "timed out".to_owned())), ("files", files.map_err(|_| "timed out".to_owned()))] {
        if let Err(e) = outcome.and_then(|r| r) {
            tracing::warn!(error = %e, part = name, "not ready");
            problems.push(name);
        }
    }
    if problems.is_empty() {
        return (StatusCode::OK, "ready").into_response();
    }
    // Plain text for load balancers and probes: `not ready: database, files`.
    (StatusCode::SERVICE_UNAVAILABLE, format!("not ready: {}", problems.join(", "))).into_response()
}

fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname").map(|h| h.trim().to_owned()).unwrap_or_else(|_| "host".to_owned())
}
