//! Who is calling: a session cookie (pages) or a bearer token (API). Tokens are looked up by
//! digest and never logged.

use std::net::IpAddr;

use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use dingdian_store::User;
use ipnet::IpNet;

use crate::{ApiError, AppState};

pub const COOKIE: &str = "dd_session";

/// The bearer token of a request, if any.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer ")).map(str::trim)
}

/// The session token a request carries, bearer first.
pub fn token(headers: &HeaderMap) -> Option<String> {
    if let Some(v) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        return v.strip_prefix("Bearer ").map(|t| t.trim().to_owned());
    }
    cookie_token(headers)
}

fn cookie_token(headers: &HeaderMap) -> Option<String> {
    cookie(headers, COOKIE)
}

/// The cookie that marks a device a user signed in from before (see `Store::login`).
pub const DEVICE_COOKIE: &str = "dd_device";

/// The device token a request carries, if any.
pub fn device(headers: &HeaderMap) -> Option<String> {
    cookie(headers, DEVICE_COOKIE).filter(|d| d.len() == 64 && d.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The `Set-Cookie` value that keeps a device known for `DEVICE_SECS`.
pub fn device_cookie(token: &str, headers: &HeaderMap) -> Option<axum::http::HeaderValue> {
    let secure = if over_tls(headers) { "; Secure" } else { "" };
    let max_age = dingdian_store::DEVICE_SECS;
    axum::http::HeaderValue::from_str(&format!("{DEVICE_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}")).ok()
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

async fn lookup(parts: &Parts, state: &AppState) -> Result<Option<User>, ApiError> {
    // The route guard already looked the session up.
    if let Some(user) = parts.extensions.get::<User>() {
        return Ok(Some(user.clone()));
    }
    let Some(token) = token(&parts.headers) else { return Ok(None) };
    Ok(state.store.session_user(&token, state.clock.now()).await?)
}

/// A signed-in user, required (API).
pub struct ApiUser(pub User);

impl FromRequestParts<AppState> for ApiUser {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        lookup(parts, state).await?.map(ApiUser).ok_or_else(ApiError::unauthenticated)
    }
}

/// A signed-in user, if any (pages).
pub struct MaybeUser(pub Option<User>);

impl FromRequestParts<AppState> for MaybeUser {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        Ok(MaybeUser(lookup(parts, state).await?))
    }
}

/// The client's address, for per-client limits (sign-in, complaints, registration). Without
/// trusted proxies (the default) it is the connection's peer. When the peer is a trusted proxy,
/// it is the right-most address of `X-Forwarded-For` that is not itself a trusted proxy (the
/// left-hand entries are whatever the client chose to send). `None` when no address belongs to
/// one client: a trusted proxy that did not say whom for, or no connection (in-process tests).
/// Per-address limits apply only to `Some`.
pub struct ClientAddr(pub Option<String>);

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let peer = parts.extensions.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|c| c.0.ip());
        Ok(ClientAddr(client_ip(peer, &parts.headers, &state.net.trusted_proxies).map(|ip| ip.to_string())))
    }
}

/// The address of the client behind `peer` (see `ClientAddr`).
pub fn client_ip(peer: Option<IpAddr>, headers: &HeaderMap, trusted: &[IpNet]) -> Option<IpAddr> {
    let peer = peer?;
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return Some(peer);
    }
    // Right to left: the entries our proxies appended come last; the first one that is not a
    // trusted proxy is the client. Anything left of it is the client's own say and is ignored.
    let entries: Vec<&str> =
        headers.get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).map(str::trim).collect();
    for entry in entries.into_iter().rev() {
        match entry.parse::<IpAddr>() {
            Ok(ip) if is_trusted(&ip) => continue,
            Ok(ip) => return Some(ip),
            Err(_) => return None,
        }
    }
    None
}

/// Parses a list of trusted proxies: addresses or networks, separated by commas or spaces
/// (`127.0.0.1, 10.0.0.0/8, ::1`).
pub fn parse_proxies(list: &str) -> Result<Vec<IpNet>, String> {
    list.split([',', ' '])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<IpNet>().or_else(|_| s.parse::<IpAddr>().map(IpNet::from)).map_err(|_| format!("not an address or network: {s}"))
        })
        .collect()
}

/// Whether the page was reached over TLS (directly, or through a proxy that says so), so the
/// session cookie can be marked `Secure`.
pub fn over_tls(headers: &HeaderMap) -> bool {
    headers.get("x-forwarded-proto").and_then(|v| v.to_str().ok()).is_some_and(|v| v.eq_ignore_ascii_case("https"))
}

/// The error for a throttled sign-in.
pub fn throttled(retry_after: i64) -> ApiError {
    let wait = match retry_after.max(1) {
        s if s < 60 => format!("{s} 秒"),
        s => format!("{} 分钟", (s + 59) / 60),
    };
    let mut e = ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "login_throttled",
        format!("登录失败次数过多，请 {wait}后再试。在您以前登录过的浏览器上用正确的密码登录不受此限制。"),
    );
    e.detail = Some(serde_json::json!({ "retry_after": retry_after.max(1) }));
    e
}

/// Refuses state-changing requests that ride on a cookie from another site (CSRF). Bearer-token
/// requests are not affected: a browser never attaches those by itself.
pub async fn same_origin_for_cookies(req: Request, next: Next) -> Response {
    let h = req.headers();
    let unsafe_method = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    let cookie_auth = h.get(header::AUTHORIZATION).is_none() && cookie_token(h).is_some();
    if unsafe_method && cookie_auth {
        let cross_site = h.get("sec-fetch-site").and_then(|v| v.to_str().ok()).is_some_and(|v| v == "cross-site");
        let host = h.get(header::HOST).and_then(|v| v.to_str().ok());
        let origin_host =
            h.get(header::ORIGIN).and_then(|v| v.to_str().ok()).map(|o| o.split_once("://").map(|(_, rest)| rest).unwrap_or(o).to_owned());
        let foreign_origin = matches!((origin_host.as_deref(), host), (Some(o), Some(h)) if o != h);
        if cross_site || foreign_origin {
            return ApiError::new(StatusCode::FORBIDDEN, "cross_origin", "请求来自其他网站，已拒绝。请在本站页面中操作。").into_response();
        }
    }
    next.run(req).await
}
