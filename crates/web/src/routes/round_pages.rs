//! The agency's page forms for evaluation rounds (URC-EVAL-1): create a round, publish the
//! commitment, draw with the public value, start the site evaluations. The same store calls as
//! the API; results and refusals are shown on the rounds page.

use crate::extract::Form;
use crate::extract::Path;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use dingdian_store::User;
use serde::Deserialize;

use super::pages::{message, rounds_page};
use crate::auth::MaybeUser;
use crate::{ApiError, AppState};

async fn own_round(s: &AppState, raw: &str, u: &User) -> Result<i64, ApiError> {
    let id: i64 = raw.parse().map_err(|_| ApiError::not_found())?;
    let round = s.store.round(id).await?.ok_or_else(ApiError::not_found)?;
    if round.city != u.city {
        return Err(dingdian_core::lifecycle::Refusal::NotYourRegion.into());
    }
    Ok(round.id)
}

async fn finish(s: &AppState, u: User, outcome: Result<&'static str, ApiError>) -> Response {
    match outcome {
        Ok(done) => Redirect::to(&format!("/rounds?done={done}")).into_response(),
        // Out of scope or missing: a plain error page with that status.
        Err(e) if matches!(e.status.as_u16(), 403 | 404) => super::pages::error_page(e),
        Err(e) => rounds_page(s, u, Some(message(e)), None).await,
    }
}

#[derive(Deserialize)]
pub struct NewRoundForm {
    #[serde(default)]
    name: String,
}

/// `POST /rounds`
pub async fn create(State(s): State<AppState>, MaybeUser(user): MaybeUser, Form(f): Form<NewRoundForm>) -> Response {
    let Some(u) = user else { return Redirect::to("/login").into_response() };
    let outcome = s.store.create_round(&u.actor(), &f.name, s.clock.now()).await.map(|_| "create").map_err(ApiError::from);
    finish(&s, u, outcome).await
}

/// `POST /rounds/{id}/commit`
pub async fn commit(State(s): State<AppState>, MaybeUser(user): MaybeUser, Path(raw): Path<String>) -> Response {
    let Some(u) = user else { return Redirect::to("/login").into_response() };
    let outcome = async {
        let id = own_round(&s, &raw, &u).await?;
        s.store.commit_draw(id, &u.actor(), s.clock.now()).await?;
        Ok("commit")
    }
    .await;
    finish(&s, u, outcome).await
}

/// Fields default to empty so that scope is checked before the form's content.
#[derive(Deserialize)]
pub struct DrawForm {
    #[serde(default)]
    public_value: String,
    #[serde(default)]
    visit_on: String,
    /// URC-EVAL-1: the agency confirms a visit on a rest day or holiday.
    #[serde(default)]
    confirm_rest_day: Option<String>,
}

/// `POST /rounds/{id}/draw`
pub async fn draw(State(s): State<AppState>, MaybeUser(user): MaybeUser, Path(raw): Path<String>, Form(f): Form<DrawForm>) -> Response {
    let Some(u) = user else { return Redirect::to("/login").into_response() };
    let outcome = async {
        let id = own_round(&s, &raw, &u).await?;
        let visit_on: jiff::civil::Date =
            f.visit_on.trim().parse().map_err(|_| ApiError::invalid("invalid_input", "请填写现场评估日期（年-月-日）。"))?;
        let confirm = f.confirm_rest_day.as_deref().is_some_and(|v| !v.is_empty() && v != "0" && v != "false");
        s.store.draw_round(id, &u.actor(), &f.public_value, visit_on, confirm, s.clock.now()).await?;
        Ok("draw")
    }
    .await;
    finish(&s, u, outcome).await
}

/// `POST /rounds/{id}/start`
pub async fn start(State(s): State<AppState>, MaybeUser(user): MaybeUser, Path(raw): Path<String>) -> Response {
    let Some(u) = user else { return Redirect::to("/login").into_response() };
    let outcome = async {
        let id = own_round(&s, &raw, &u).await?;
        s.store.start_round(id, &u.actor(), s.clock.now()).await?;
        Ok("start")
    }
    .await;
    finish(&s, u, outcome).await
}

/// `POST /rounds/{id}/file`: URC-RES-1, the round's passed list filed with the administration.
pub async fn file(State(s): State<AppState>, MaybeUser(user): MaybeUser, Path(raw): Path<String>) -> Response {
    let Some(u) = user else { return Redirect::to("/login").into_response() };
    let outcome = async {
        let id = own_round(&s, &raw, &u).await?;
        s.store.file_round(id, &u.actor(), s.clock.now()).await?;
        Ok("file")
    }
    .await;
    finish(&s, u, outcome).await
}
