//! The HTTP server around the router: connection timeouts (so a client that sends half a
//! header or trickles a body cannot hold a connection for ever), graceful shutdown with a drain
//! time, and the response headers that depend on who asked (`Cache-Control`, HSTS).

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::{ConnectInfo, Request};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tower::ServiceExt;
use tower_http::timeout::RequestBodyTimeoutLayer;

/// How long the server waits for a client.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    /// From the moment a connection waits for a request until its whole header has arrived.
    /// On a kept-alive connection this is also how long it may sit idle between requests.
    pub header_read: Duration,
    /// The longest pause between two pieces of a request body (an upload that stalls this long
    /// is abandoned; nothing of it is kept).
    pub body_idle: Duration,
    /// After a shutdown signal: how long requests in flight may take to finish.
    pub drain: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts { header_read: Duration::from_secs(30), body_idle: Duration::from_secs(60), drain: Duration::from_secs(30) }
    }
}

/// Serves `app` on `listener` until `shutdown` completes, then stops accepting and lets the
/// requests in flight finish (at most `timeouts.drain`). Each request carries the peer's
/// address (`ConnectInfo<SocketAddr>`).
pub async fn serve(listener: TcpListener, app: Router, timeouts: Timeouts, shutdown: impl Future<Output = ()>) -> std::io::Result<()> {
    let app = app.layer(RequestBodyTimeoutLayer::new(timeouts.body_idle));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(timeouts.header_read).keep_alive(true);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(e) => {
                    // Out of file descriptors and the like: wait a moment rather than spin.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let service = hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
            req.extensions_mut().insert(ConnectInfo::<SocketAddr>(peer));
            app.clone().oneshot(req)
        });
        let conn = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, %peer, "connection ended with an error");
            }
        });
    }
    drop(listener);
    tracing::info!(drain_secs = timeouts.drain.as_secs(), "no longer accepting connections; finishing requests in flight");
    tokio::select! {
        () = graceful.shutdown() => tracing::info!("all connections closed"),
        () = tokio::time::sleep(timeouts.drain) => tracing::warn!("drain time over; closing the remaining connections"),
    }
    Ok(())
}

/// Pages and answers anyone may cache: the same for every visitor and naming nobody.
const SHAREABLE: &[&str] = &[
    "/",
    "/login",
    "/register",
    "/notices",
    "/notices.atom",
    "/audit",
    "/complaints/new",
    "/healthz",
    "/api/audit/heads",
    "/api/calendar",
    "/api/openapi.json",
];

/// `Cache-Control: no-store` on every answer to a signed-in request and on every answer that is
/// not the same for everyone (a query page shows its code, a complaint its receipt), so a shared
/// computer's back button or a proxy keeps nothing. HSTS when the request came over TLS.
pub async fn cache_and_transport_headers(req: Request, next: Next) -> Response {
    let signed_in = crate::auth::token(req.headers()).is_some();
    let path = req.uri().path().to_owned();
    let tls = crate::auth::over_tls(req.headers());
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    let shareable = path.starts_with("/static/") || (!signed_in && SHAREABLE.contains(&path.as_str()));
    if !shareable {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if tls {
        h.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=31536000"));
    }
    resp
}
