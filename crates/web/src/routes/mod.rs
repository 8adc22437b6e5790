//! Every route of the service, in one place.

mod api;
mod draws;
mod pages;
mod registry;

use axum::Router;
use axum::routing::{get, post};

use crate::AppState;

/// A CSV import of tens of thousands of institutions fits in this.
pub const IMPORT_LIMIT: usize = 32 * 1024 * 1024;

pub fn router() -> Router<AppState> {
    Router::new()
        // Pages (Simplified Chinese, no JavaScript needed).
        .route("/", get(pages::home))
        .route("/login", get(pages::login_form).post(pages::login))
        .route("/logout", post(pages::logout))
        .route("/applications", get(pages::applications).post(pages::create_application))
        .route("/applications/{id}", get(pages::application))
        .route("/applications/{id}/act", post(pages::act))
        .route("/rounds", get(pages::rounds))
        .route("/healthz", get(api::health))
        .route("/static/app.css", get(pages::stylesheet))
        // JSON API.
        .route("/api/openapi.json", get(api::openapi))
        .route("/api/session", post(api::login).delete(api::logout))
        .route("/api/me", get(api::me))
        .route("/api/profiles", get(api::profiles))
        .route("/api/applications", get(api::list_applications).post(api::create_application))
        .route("/api/applications/{id}", get(api::get_application))
        .route("/api/applications/{id}/commands", post(api::command))
        .route("/api/rounds", get(api::list_rounds).post(api::create_round))
        .route("/api/rounds/{id}/start", post(api::start_round))
        .route("/api/rounds/{id}/commitment", post(draws::commit))
        .route("/api/rounds/{id}/draw", get(draws::get).post(draws::run))
        .route("/api/rounds/{id}/draw/export", get(draws::export))
        .route("/api/rounds/{id}/replacements", post(draws::replace))
        .route("/api/rounds/{id}/decision", post(draws::decide))
        .route("/api/rounds/{id}/filing", get(draws::filing))
        .route("/api/evaluators", get(draws::pool))
        .route("/api/evaluators/import", post(draws::import_pool).layer(axum::extract::DefaultBodyLimit::max(IMPORT_LIMIT)))
        .route("/api/me/assignments", get(draws::my_assignments))
        .route("/api/applications/{id}/evaluators", get(draws::application_group))
        .route("/api/institutions", get(registry::list).post(registry::create))
        .route("/api/institutions/import", post(registry::import).layer(axum::extract::DefaultBodyLimit::max(IMPORT_LIMIT)))
        .route("/api/institutions/{id}", get(registry::get))
        .route("/api/institutions/{id}/persons", post(registry::add_person))
        .route("/api/institutions/{id}/records", post(registry::add_record))
        .route("/api/ids/check", post(registry::check_id))
        .route("/api/audit/verify", get(api::verify_audit))
        .route("/api/audit/heads", get(api::audit_heads))
        .route("/audit", get(pages::audit_heads))
        .route("/api/calendar", get(api::calendar_years))
        .route("/api/calendar/years", post(api::load_calendar_year))
        .fallback(api::fallback)
}
