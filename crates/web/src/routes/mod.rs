//! Every route of the service, in one table: method, path, who may call it, handler. The router
//! is built from the table, and the table's access column is enforced before any handler runs
//! (handlers still check scope — region, district, own institution — themselves). The
//! authorization-matrix test walks the same table, so no route can escape it.

mod account;
mod admin;
mod api;
mod documents;
mod draws;
mod holidays;
mod letters;
mod materials;
mod pages;
mod portal;
mod registry;
mod round_pages;
mod workbench;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, delete, get, post, put};
use dingdian_core::lifecycle::{Refusal, Role};

use crate::{ApiError, AppState};
pub(crate) use pages::{error_page, error_page_with};

/// A stored instant (RFC 3339, UTC) as Beijing time for people: `2026-11-27 10:00`. Text that is
/// not an instant is shown as it is.
pub fn beijing(ts: &str) -> String {
    match ts.parse::<jiff::Timestamp>() {
        Ok(t) => jiff::tz::offset(8).to_datetime(t).strftime("%Y-%m-%d %H:%M").to_string(),
        Err(_) => ts.chars().take(16).collect::<String>().replace('T', " "),
    }
}

/// A stored instant (RFC 3339, UTC) as Beijing time written out in Chinese, for records people
/// read in full: `2026年12月1日 14:05`. Text that is not an instant is shown as `beijing` shows it.
pub fn beijing_zh(ts: &str) -> String {
    match ts.parse::<jiff::Timestamp>() {
        Ok(t) => {
            let d = jiff::tz::offset(8).to_datetime(t);
            format!("{}年{}月{}日 {:02}:{:02}", d.year(), d.month(), d.day(), d.hour(), d.minute())
        }
        Err(_) => beijing(ts),
    }
}

/// A CSV import of tens of thousands of institutions fits in this.
pub const IMPORT_LIMIT: usize = 32 * 1024 * 1024;

/// The whole public complaint form: its attachments at their largest (each file's own limit is
/// enforced as its bytes stream in) plus the text fields and the multipart framing.
pub const COMPLAINT_LIMIT: usize =
    dingdian_store::COMPLAINT_MAX_FILES * dingdian_store::COMPLAINT_MAX_BYTES as usize + COMPLAINT_FORM_OVERHEAD;
/// The text fields (at most a few thousand characters) and the part headers of a complaint form.
const COMPLAINT_FORM_OVERHEAD: usize = 64 * 1024;

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, signed in or not.
    Public,
    /// A page for signed-in users; anonymous visitors are sent to the login page.
    Page,
    /// Any signed-in user (finer checks in the handler or the core).
    Signed,
    /// Signed-in users with one of these roles.
    Roles(&'static [Role]),
    /// Monitoring: clients on this machine, or any client with the configured metrics token
    /// (no session needed).
    Monitoring,
}

/// One row of the route table.
#[derive(Debug, Clone, Copy)]
pub struct RouteDef {
    pub method: &'static str,
    pub path: &'static str,
    pub access: Access,
}

const AGENCY: &[Role] = &[Role::Agency];
const AGENCY_ADMIN: &[Role] = &[Role::Agency, Role::Admin];
const OVERSIGHT: &[Role] = &[Role::Agency, Role::Supervisor];
const STAFF: &[Role] = &[Role::Agency, Role::BranchReviewer, Role::Supervisor, Role::Admin];
/// The administrators: a city's, and a provincial one for the cities of its province (the
/// handlers scope it with `province::administer`).
const ADMINS: &[Role] = &[Role::Admin, Role::ProvincialAdmin];
/// Statistics: the staff of a city, and a provincial administrator city by city.
const STATS: &[Role] = &[Role::Agency, Role::BranchReviewer, Role::Supervisor, Role::Admin, Role::ProvincialAdmin];
/// G-VISIBILITY: evaluators and experts meet institutions only through their applications
/// (`visibility::can_read_institution` decides each entry).
const REGISTRY_READERS: &[Role] = &[Role::Institution, Role::Agency, Role::BranchReviewer, Role::Supervisor, Role::Admin];

fn table() -> Vec<(RouteDef, MethodRouter<AppState>)> {
    use Access::*;
    let r = |method, path, access, handler: MethodRouter<AppState>| (RouteDef { method, path, access }, handler);
    let big = || axum::extract::DefaultBodyLimit::max(IMPORT_LIMIT);
    // Uploads enforce their slot's limit themselves, as the bytes stream in.
    let unlimited = axum::extract::DefaultBodyLimit::disable;
    vec![
        // Pages (Simplified Chinese, no JavaScript needed).
        r("GET", "/", Public, get(pages::home)),
        r("GET", "/login", Public, get(pages::login_form)),
        r("POST", "/login", Public, post(pages::login)),
        r("POST", "/logout", Public, post(pages::logout)),
        r("GET", "/register", Public, get(pages::register_form)),
        r("POST", "/register", Public, post(pages::register)),
        r("GET", "/applications", Page, get(pages::applications)),
        r("POST", "/applications", Page, post(pages::create_application)),
        r("GET", "/applications/{id}", Page, get(pages::application)),
        r("POST", "/applications/bulk", Roles(&[Role::Agency, Role::BranchReviewer]), post(pages::bulk)),
        r("POST", "/applications/{id}/act", Page, post(pages::act)),
        r("POST", "/applications/{id}/materials/{slot}", Page, post(materials::upload_form).layer(unlimited())),
        r("GET", "/applications/{id}/files/{sha256}", Page, get(materials::download)),
        r("GET", "/applications/{id}/documents/{kind}", Page, get(documents::view)),
        r("GET", "/applications/{id}/documents/{kind}/pdf", Page, get(documents::pdf)),
        r("GET", "/applications/{id}/letters/{seq}", Page, get(letters::view)),
        r("GET", "/applications/{id}/letters/{seq}/pdf", Page, get(letters::pdf)),
        r("GET", "/inbox", Page, get(letters::inbox)),
        r("POST", "/inbox/{id}/read", Page, post(letters::read)),
        r("GET", "/static/print.css", Public, get(documents::print_css)),
        r("GET", "/rounds", Page, get(pages::rounds)),
        r("POST", "/rounds", Roles(AGENCY), post(round_pages::create)),
        r("POST", "/rounds/{id}/commit", Roles(AGENCY), post(round_pages::commit)),
        r("POST", "/rounds/{id}/draw", Roles(AGENCY), post(round_pages::draw)),
        r("POST", "/rounds/{id}/start", Roles(AGENCY), post(round_pages::start)),
        r("POST", "/rounds/{id}/file", Roles(AGENCY), post(round_pages::file)),
        r("GET", "/audit", Public, get(pages::audit_heads)),
        r("GET", "/query", Public, get(pages::query)),
        r("GET", "/notices", Public, get(pages::notices)),
        r("GET", "/notices.atom", Public, get(pages::notices_feed)),
        r("GET", "/complaints/new", Public, get(pages::complaint_form)),
        r("POST", "/complaints", Public, post(pages::file_complaint).layer(axum::extract::DefaultBodyLimit::max(COMPLAINT_LIMIT))),
        r("GET", "/complaints/{receipt}", Public, get(pages::complaint_status)),
        r("GET", "/audit/verify", Roles(&[Role::Supervisor, Role::Admin]), get(pages::audit_verify)),
        r("GET", "/admin", Roles(ADMINS), get(admin::index)),
        r("POST", "/admin/users", Roles(ADMINS), post(admin::create_user)),
        r("POST", "/admin/users/{id}", Roles(ADMINS), post(account::act)),
        r("GET", "/account/password", Page, get(account::password_form)),
        r("POST", "/account/password", Page, post(account::change_password)),
        r("POST", "/admin/calendar", Roles(ADMINS), post(admin::load_calendar).layer(big())),
        r("GET", "/admin/holidays", Roles(ADMINS), get(holidays::form)),
        r("POST", "/admin/holidays", Roles(ADMINS), post(holidays::submit)),
        r("POST", "/admin/rounds/{id}/acknowledge", Roles(&[Role::Admin]), post(admin::acknowledge_filing)),
        r("POST", "/admin/planning", Roles(&[Role::Admin]), post(admin::set_plan)),
        r("GET", "/assignments", Roles(&[Role::Evaluator]), get(admin::assignments)),
        r("GET", "/healthz", Public, get(api::health)),
        // Readiness: the database takes a write, the file store answers.
        r("GET", "/readyz", Public, get(crate::metrics::readyz)),
        r("GET", "/metrics", Monitoring, get(crate::metrics::metrics)),
        r("GET", "/static/app.css", Public, get(pages::stylesheet)),
        r("GET", "/static/app.js", Public, get(pages::script)),
        // Workbench (agency).
        r("GET", "/workbench", Roles(STAFF), get(workbench::queue)),
        r("GET", "/workbench/export.csv", Roles(STAFF), get(workbench::export_csv)),
        r("GET", "/workbench/export.xlsx", Roles(STAFF), get(workbench::export_xlsx)),
        r("GET", "/stats", Roles(STATS), get(workbench::stats)),
        // JSON API.
        r("GET", "/api/openapi.json", Public, get(api::openapi)),
        r("POST", "/api/session", Public, post(api::login)),
        r("DELETE", "/api/session", Signed, delete(api::logout)),
        r("GET", "/api/me", Signed, get(api::me)),
        r("POST", "/api/account/password", Signed, post(account::api_change_password)),
        r("GET", "/api/profiles", Signed, get(api::profiles)),
        r("GET", "/api/applications", Signed, get(api::list_applications)),
        r("POST", "/api/applications", Roles(&[Role::Institution]), post(api::create_application)),
        r("GET", "/api/applications/{id}", Signed, get(api::get_application)),
        r("POST", "/api/applications/{id}/commands", Signed, post(api::command)),
        r("GET", "/api/applications/{id}/evaluators", Signed, get(draws::application_group)),
        r("GET", "/api/applications/{id}/complaints", Roles(OVERSIGHT), get(api::complaints)),
        r("GET", "/api/applications/{id}/materials", Signed, get(materials::list)),
        // Who fills which slot is the core's (the institution; URC-REV-2: a verification slot
        // the verification step's actor), decided before a byte is read.
        r("PUT", "/api/applications/{id}/materials/{slot}", Signed, put(materials::upload).layer(unlimited())),
        r("GET", "/api/applications/{id}/files/{sha256}", Signed, get(materials::download)),
        r("GET", "/api/applications/{id}/documents/{kind}/pdf", Signed, get(documents::pdf)),
        r("GET", "/api/rounds", Signed, get(api::list_rounds)),
        r("POST", "/api/rounds", Roles(AGENCY), post(api::create_round)),
        r("POST", "/api/rounds/{id}/start", Roles(AGENCY), post(api::start_round)),
        r("POST", "/api/rounds/{id}/commitment", Roles(AGENCY), post(draws::commit)),
        r("GET", "/api/rounds/{id}/draw", Signed, get(draws::get)),
        r("POST", "/api/rounds/{id}/draw", Roles(AGENCY), post(draws::run)),
        r("GET", "/api/rounds/{id}/draw/export", Roles(OVERSIGHT), get(draws::export)),
        r("POST", "/api/rounds/{id}/replacements", Roles(AGENCY), post(draws::replace)),
        r("POST", "/api/rounds/{id}/decision", Roles(AGENCY), post(draws::decide)),
        r("GET", "/api/rounds/{id}/filing", Roles(STAFF), get(draws::filing)),
        // --- urc: URC-RES-1 filing; URC-REV-1 planning ---
        r("POST", "/api/rounds/{id}/filing", Roles(AGENCY), post(draws::file)),
        r("GET", "/api/applications/{id}/planning", Roles(STAFF), get(api::planning)),
        r("POST", "/api/rounds/{id}/filing/acknowledgement", Roles(&[Role::Admin]), post(draws::acknowledge)),
        r("GET", "/api/evaluators", Roles(&[Role::Agency, Role::Supervisor, Role::Admin]), get(draws::pool)),
        r("POST", "/api/evaluators/import", Roles(AGENCY), post(draws::import_pool).layer(big())),
        r("GET", "/api/me/assignments", Roles(&[Role::Evaluator]), get(draws::my_assignments)),
        r("GET", "/api/institutions", Roles(REGISTRY_READERS), get(registry::list)),
        r("POST", "/api/institutions", Roles(AGENCY_ADMIN), post(registry::create)),
        r("POST", "/api/institutions/import", Roles(AGENCY_ADMIN), post(registry::import).layer(big())),
        r("GET", "/api/institutions/{id}", Roles(REGISTRY_READERS), get(registry::get)),
        r("POST", "/api/institutions/{id}/persons", Roles(AGENCY_ADMIN), post(registry::add_person)),
        r("POST", "/api/institutions/{id}/records", Roles(AGENCY_ADMIN), post(registry::add_record)),
        r("POST", "/api/institutions/{id}/persons/{person}/reveal", Roles(AGENCY_ADMIN), post(registry::reveal_person)),
        r("POST", "/api/ids/check", Signed, post(registry::check_id)),
        r("GET", "/api/audit/verify", Roles(&[Role::Supervisor, Role::Admin]), get(api::verify_audit)),
        r("GET", "/api/audit/heads", Public, get(api::audit_heads)),
        r("GET", "/api/inbox", Signed, get(api::inbox)),
        r("POST", "/api/inbox/{id}/read", Signed, post(api::mark_read)),
        r("GET", "/api/notifications/failed", Roles(AGENCY_ADMIN), get(api::failed_notifications)),
        r("GET", "/api/calendar", Public, get(api::calendar_years)),
        r("POST", "/api/calendar/years", Roles(ADMINS), post(api::load_calendar_year)),
    ]
}

/// The route table without handlers (for tests and documentation).
pub fn route_table() -> Vec<RouteDef> {
    table().into_iter().map(|(d, _)| d).collect()
}

pub fn router(state: AppState) -> Router<AppState> {
    table()
        .into_iter()
        .fold(Router::new(), |router, (def, handler)| {
            router.route(def.path, handler.route_layer(from_fn_with_state((state.clone(), def), guard)))
        })
        .fallback(api::fallback)
}

/// Enforces a route's access column. The signed-in user is left in the request for the
/// handler's extractors, so the session is looked up once.
async fn guard(State((state, def)): State<(AppState, RouteDef)>, mut req: Request, next: Next) -> Response {
    let access = def.access;
    if access == Access::Public {
        return next.run(req).await;
    }
    if access == Access::Monitoring {
        if !crate::metrics::allowed(&state, &req) {
            return ApiError::new(StatusCode::FORBIDDEN, "metrics_forbidden", "监控指标仅对本机或持有监控令牌的请求开放。").into_response();
        }
        return next.run(req).await;
    }
    let user = match crate::auth::token(req.headers()) {
        Some(token) => match state.store.session_user(&token, state.clock.now()).await {
            Ok(u) => u,
            Err(e) if def.path.starts_with("/api/") => return ApiError::from(e).into_response(),
            Err(e) => return error_page(ApiError::from(e)),
        },
        None => None,
    };
    let Some(user) = user else {
        return match access {
            Access::Page => axum::response::Redirect::to("/login").into_response(),
            _ => ApiError::unauthenticated().into_response(),
        };
    };
    if let Access::Roles(roles) = access
        && !roles.contains(&user.role())
    {
        let required = roles[0];
        let e = ApiError::from(Refusal::NotYourRole { required });
        return (StatusCode::FORBIDDEN, e).into_response();
    }
    // A password an administrator reset must be replaced before anything else.
    if user.must_change_password() && !ALLOWED_BEFORE_NEW_PASSWORD.contains(&def.path) {
        return if def.path.starts_with("/api/") {
            let e = ApiError::new(
                StatusCode::FORBIDDEN,
                "password_change_required",
                "管理员已重置您的密码，请先修改密码（POST /api/account/password）。",
            );
            e.into_response()
        } else {
            axum::response::Redirect::to("/account/password").into_response()
        };
    }
    req.extensions_mut().insert(user);
    next.run(req).await
}

/// What a user whose password was reset may still do: choose a new one, see who they are, leave.
const ALLOWED_BEFORE_NEW_PASSWORD: &[&str] = &["/account/password", "/api/account/password", "/api/me", "/api/session", "/logout"];

/// Pages answer people: an error a page handler passed on as the API's JSON (`{code, message}`)
/// is shown as a Chinese page instead, with the same status. The API keeps its JSON.
pub async fn pages_never_show_json(req: Request, next: Next) -> Response {
    if req.uri().path().starts_with("/api/") {
        return next.run(req).await;
    }
    let resp = next.run(req).await;
    let json = resp.headers().get(axum::http::header::CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !json || resp.status().is_success() || resp.status().is_redirection() {
        return resp;
    }
    let (parts, body) = resp.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 64 * 1024).await else {
        return error_page(ApiError::new(parts.status, "internal", "服务器内部错误，请稍后重试；问题已记录。"));
    };
    #[derive(serde::Deserialize)]
    struct Body {
        code: String,
        message: String,
    }
    let (code, message) = serde_json::from_slice::<Body>(&bytes)
        .map(|b| (b.code, b.message))
        .unwrap_or_else(|_| ("internal".to_owned(), "请求未能办理，请返回上一页重试。".to_owned()));
    let mut page = error_page_with(parts.status, &code, message);
    for (name, value) in parts.headers.iter().filter(|(n, _)| *n == axum::http::header::RETRY_AFTER || *n == axum::http::header::SET_COOKIE)
    {
        page.headers_mut().append(name, value.clone());
    }
    page
}
