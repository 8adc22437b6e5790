//! dingdian-web: the HTTP layer. A JSON API (with an OpenAPI document) and server-rendered
//! pages in Simplified Chinese, over one `Store`. Handlers stay thin: extract, call the store
//! (which calls the core), render. Not responsible for any rule: those live in `dingdian_core`.

mod auth;
mod error;
pub mod extract;
pub mod metrics;
pub mod notify;
mod openapi;
pub mod refill;
mod routes;
mod server;

use std::ops::Deref;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, header};
use dingdian_store::Store;
use dingdian_store::clock::Clock;
use tower_http::set_header::SetResponseHeaderLayer;

pub use auth::{client_ip, parse_proxies};
pub use error::ApiError;
pub use routes::{Access, RouteDef, route_table};
pub use server::{Timeouts, serve};

/// A demo account shown on the home page (demo mode only).
#[derive(Debug, Clone)]
pub struct DemoAccount {
    pub username: String,
    pub password: String,
    pub role: String,
    pub city: String,
    pub note: String,
}

/// Everything a handler needs.
pub struct App {
    /// The database and the rules in force.
    pub store: Store,
    /// The only source of the current time.
    pub clock: Arc<dyn Clock>,
    /// Demo accounts to list on the home page; empty outside demo mode.
    pub demo_accounts: Vec<DemoAccount>,
    /// Uploaded materials and generated documents.
    pub files: dingdian_store::files::FileStore,
    /// Where the service sits on the network.
    pub net: Net,
    /// What the HTTP layer counts for `/metrics`.
    pub metrics: metrics::HttpMetrics,
}

/// How the service sits on the network.
#[derive(Debug, Clone, Default)]
pub struct Net {
    /// Reverse proxies whose `X-Forwarded-For` names the client (none by default: the
    /// connection's peer is the client). See `auth::ClientAddr`.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// The bearer token `/metrics` asks for; without one only clients on this machine may read it.
    pub metrics_token: Option<String>,
}

/// Shared application state, cheap to clone.
#[derive(Clone)]
pub struct AppState(pub Arc<App>);

impl Deref for AppState {
    type Target = App;
    fn deref(&self) -> &App {
        &self.0
    }
}

/// Largest JSON body the API accepts. Uploads (their own issue) get their own limit.
pub const BODY_LIMIT: usize = 64 * 1024;

/// The whole router: pages, API and health check.
pub fn router(state: AppState) -> Router {
    routes::router(state.clone())
        .layer(axum::middleware::from_fn_with_state(state.clone(), metrics::record))
        .layer(axum::middleware::from_fn(refill::keep_typed))
        .layer(axum::middleware::from_fn(routes::pages_never_show_json))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(axum::middleware::from_fn(auth::same_origin_for_cookies))
        .layer(axum::middleware::from_fn(server::cache_and_transport_headers))
        .layer(SetResponseHeaderLayer::if_not_present(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .layer(SetResponseHeaderLayer::if_not_present(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
        .layer(SetResponseHeaderLayer::if_not_present(header::REFERRER_POLICY, HeaderValue::from_static("same-origin")))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"),
        ))
        .with_state(state)
}
