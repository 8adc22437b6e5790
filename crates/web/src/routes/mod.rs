//! Every route of the service, in one place.

mod api;
mod pages;

use axum::Router;
use axum::routing::{get, post};

use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        // Pages (Simplified Chinese, no JavaScript needed).
        .route("/", get(pages::home))
        .route("/login", get(pages::login_form).post(pages::login))
        .route("/logout", post(pages::logout))
        .route("/applications", get(pages::applications).post(pages::create_application))
        .route("/applications/{id}", get(pages::application))
        .route("/applications/{id}/act", post(pages::act))
        .route("/healthz", get(api::health))
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
        .route("/api/calendar", get(api::calendar_years))
        .route("/api/calendar/years", post(api::load_calendar_year))
        .fallback(api::fallback)
}
