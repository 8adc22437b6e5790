//! Evaluation rounds' draws over HTTP (URC-EVAL-1, G-DRAW): pool import, the commitments, stage 1
//! of the draw with its public value, replacements, the verifiable record, and who may see which
//! names when. The grouping (stage 2) is drawn by the timer on the day before the visit: before
//! it nobody — the agency included — can know who visits which institution; from it the agency
//! and supervisors see every group, each evaluator its own institution, each institution its
//! group's names.

use crate::extract::Path;
use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use dingdian_core::draw;
use dingdian_core::lifecycle::{Refusal, Role};
use dingdian_core::visibility;
use serde::{Deserialize, Serialize};

use super::api::JsonObject;
use crate::auth::ApiUser;
use crate::{ApiError, AppState};

fn id(raw: &str) -> Result<i64, ApiError> {
    raw.parse().map_err(|_| ApiError::not_found())
}

/// The round named in the path, if it is in the caller's city (checked before any body is read).
async fn own_round(s: &AppState, raw: &str, u: &dingdian_store::User) -> Result<dingdian_store::RoundRecord, ApiError> {
    let round = s.store.round(id(raw)?).await?.ok_or_else(ApiError::not_found)?;
    visibility::can_read_round(&u.actor(), &round.city)?;
    Ok(round)
}

pub async fn import_pool(State(s): State<AppState>, ApiUser(u): ApiUser, body: String) -> Result<impl IntoResponse, ApiError> {
    let n = s.store.import_evaluators(&u.actor(), &body, s.clock.now()).await?;
    Ok((StatusCode::CREATED, Json(serde_json::json!({ "evaluators": n }))))
}

pub async fn pool(State(s): State<AppState>, ApiUser(u): ApiUser) -> Result<Json<Vec<draw::Evaluator>>, ApiError> {
    if !visibility::sees_evaluator_pool(&u.actor()) {
        return Err(Refusal::NotYourRole { required: Role::Agency }.into());
    }
    Ok(Json(s.store.evaluators(&u.city).await?))
}

pub async fn commit(State(s): State<AppState>, ApiUser(u): ApiUser, Path(raw): Path<String>) -> Result<impl IntoResponse, ApiError> {
    let d = s.store.commit_draw(id(&raw)?, &u.actor(), s.clock.now()).await?;
    Ok((
        StatusCode::CREATED,
        Json(serde_json::json!({ "round_id": d.round_id, "commitment": d.commitment, "committed_at": d.committed_at })),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DrawBody {
    public_value: String,
    visit_on: jiff::civil::Date,
    /// URC-EVAL-1: a visit on a rest day or holiday must be confirmed (`rest_day_visit` otherwise).
    #[serde(default)]
    confirm_rest_day: bool,
}

pub async fn run(
    State(s): State<AppState>,
    ApiUser(u): ApiUser,
    Path(raw): Path<String>,
    body: JsonObject,
) -> Result<impl IntoResponse, ApiError> {
    let round = own_round(&s, &raw, &u).await?;
    let b: DrawBody = body.into_typed()?;
    let d = s.store.draw_round(round.id, &u.actor(), &b.public_value, b.visit_on, b.confirm_rest_day, s.clock.now()).await?;
    Ok(Json(d))
}

#[derive(Serialize)]
pub struct PublicDraw {
    round_id: i64,
    commitment: String,
    committed_at: String,
    public_value: Option<String>,
    visit_on: Option<jiff::civil::Date>,
    reveal_on: Option<jiff::civil::Date>,
    drawn: bool,
    /// The grouping (stage 2) is drawn.
    grouped: bool,
    grouping_commitment: Option<String>,
}

/// The draw: the full record for the agency and supervisors; for everyone else in the city only
/// the public facts (commitment, public value, dates).
pub async fn get(State(s): State<AppState>, ApiUser(u): ApiUser, Path(raw): Path<String>) -> Result<axum::response::Response, ApiError> {
    let round = own_round(&s, &raw, &u).await?;
    let d = s.store.round_draw(round.id).await?.ok_or_else(ApiError::not_found)?;
    if visibility::sees_draw_record(&u.actor()) {
        return Ok(Json(d).into_response());
    }
    let p = PublicDraw {
        round_id: d.round_id,
        drawn: d.record.is_some(),
        grouped: d.record.as_ref().is_some_and(draw::is_grouped),
        grouping_commitment: d.grouping_commitment,
        commitment: d.commitment,
        committed_at: d.committed_at,
        public_value: d.public_value,
        visit_on: d.visit_on,
        reveal_on: d.reveal_on,
    };
    Ok(Json(p).into_response())
}

/// The record as canonical JSON, for `dingdian draw verify`.
pub async fn export(State(s): State<AppState>, ApiUser(u): ApiUser, Path(raw): Path<String>) -> Result<impl IntoResponse, ApiError> {
    if !visibility::sees_draw_record(&u.actor()) {
        return Err(Refusal::NotYourRole { required: Role::Supervisor }.into());
    }
    let round = own_round(&s, &raw, &u).await?;
    let record = s.store.round_draw(round.id).await?.and_then(|d| d.record).ok_or_else(ApiError::not_found)?;
    let disposition = format!("attachment; filename=\"draw-{}.json\"", round.id);
    Ok(([(header::CONTENT_TYPE, "application/json".to_owned()), (header::CONTENT_DISPOSITION, disposition)], draw::canonical_json(&record)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReplaceBody {
    /// Before the grouping nobody is placed with an institution: may be omitted then.
    #[serde(default)]
    institution_uscc: String,
    evaluator_id: String,
    reason: String,
}

pub async fn replace(
    State(s): State<AppState>,
    ApiUser(u): ApiUser,
    Path(raw): Path<String>,
    body: JsonObject,
) -> Result<impl IntoResponse, ApiError> {
    let round = own_round(&s, &raw, &u).await?;
    let b: ReplaceBody = body.into_typed()?;
    let chosen = s.store.replace_evaluator(round.id, &u.actor(), &b.institution_uscc, &b.evaluator_id, &b.reason).await?;
    Ok((StatusCode::CREATED, Json(serde_json::json!({ "replacement": chosen }))))
}

#[derive(Serialize)]
pub struct Assignment {
    round_id: i64,
    visit_on: Option<jiff::civil::Date>,
    reveal_on: Option<jiff::civil::Date>,
    revealed: bool,
    /// Only after the reveal.
    institution: Option<String>,
    address: Option<String>,
    /// The application to score, only after the reveal.
    application_id: Option<i64>,
}

/// An evaluator's assignments: dates always, the institution only from the reveal on.
pub async fn my_assignments(State(s): State<AppState>, ApiUser(u): ApiUser) -> Result<Json<Vec<Assignment>>, ApiError> {
    let rows = s.store.assignments(&u.actor(), s.clock.today()).await?;
    Ok(Json(
        rows.into_iter()
            .map(|a| Assignment {
                round_id: a.round_id,
                visit_on: a.visit_on,
                reveal_on: a.reveal_on,
                revealed: a.revealed,
                institution: a.institution.as_ref().map(|i| i.name.clone()),
                address: a.institution.map(|i| i.address),
                application_id: a.application,
            })
            .collect(),
    ))
}

#[derive(Serialize)]
pub struct Group {
    revealed: bool,
    reveal_on: Option<jiff::civil::Date>,
    visit_on: Option<jiff::civil::Date>,
    /// Names (and departments) only from the reveal on, or always for the agency and supervisors.
    evaluators: Vec<serde_json::Value>,
}

/// The evaluators drawn for an application's institution.
pub async fn application_group(State(s): State<AppState>, ApiUser(u): ApiUser, Path(raw): Path<String>) -> Result<Json<Group>, ApiError> {
    let today = s.clock.today();
    let (app, scope) = s.store.readable(id(&raw)?, &u.actor(), today).await?;
    let round_id = app.round_id.ok_or_else(ApiError::not_found)?;
    let d = s.store.round_draw(round_id).await?.ok_or_else(ApiError::not_found)?;
    let revealed = scope.grouping.as_ref().is_some_and(|g| g.revealed(today));
    let mut evaluators = Vec::new();
    if visibility::sees_evaluator_names(&u.actor(), &scope, today)
        && let Some(g) = &scope.grouping
    {
        let pool = s.store.evaluators(&app.city).await?;
        for eid in &g.evaluators {
            if let Some(e) = pool.iter().find(|e| &e.id == eid) {
                evaluators
                    .push(serde_json::json!({ "id": e.id, "name": e.name, "department": e.department.zh(), "specialty": e.specialty }));
            }
        }
    }
    Ok(Json(Group { revealed, reveal_on: d.reveal_on, visit_on: d.visit_on, evaluators }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DecisionBody {
    minutes: String,
    /// URC-EVAL-4: who attended the meeting (recorded on every decision of the round).
    #[serde(default)]
    attendees: Vec<String>,
    decisions: Vec<OneDecision>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OneDecision {
    application_id: i64,
    outcome: dingdian_core::lifecycle::Outcome,
    #[serde(default)]
    reasons: Vec<String>,
    #[serde(default)]
    rectification: Option<String>,
    /// Why this outcome departs from the expert review's recommendation.
    #[serde(default)]
    departure_reason: Option<String>,
}

/// URC-EVAL-4: the collective decision on the whole round, with minutes.
pub async fn decide(
    State(s): State<AppState>,
    ApiUser(u): ApiUser,
    Path(raw): Path<String>,
    body: JsonObject,
) -> Result<impl IntoResponse, ApiError> {
    let round = own_round(&s, &raw, &u).await?;
    let b: DecisionBody = body.into_typed()?;
    let decisions: Vec<(i64, dingdian_core::lifecycle::Command)> = b
        .decisions
        .into_iter()
        .map(|d| {
            (
                d.application_id,
                dingdian_core::lifecycle::Command::Decide {
                    outcome: d.outcome,
                    reasons: d.reasons,
                    rectification: d.rectification,
                    minutes: Some(b.minutes.clone()),
                    attendees: b.attendees.clone(),
                    departure_reason: d.departure_reason,
                },
            )
        })
        .collect();
    let decided = s.store.decide_round(round.id, &u.actor(), &b.minutes, &decisions, s.clock.now()).await?;
    Ok(Json(serde_json::json!({ "decided": decided })))
}

#[derive(Serialize)]
pub struct Filed {
    application_id: i64,
    number: String,
    institution: String,
    uscc: String,
}

/// URC-RES-1: the passed list of a round, for filing (备案) with the administrative department.
pub async fn filing(State(s): State<AppState>, ApiUser(u): ApiUser, Path(raw): Path<String>) -> Result<Json<Vec<Filed>>, ApiError> {
    let round = own_round(&s, &raw, &u).await?;
    let rows = s.store.filing_list(round.id).await?;
    Ok(Json(
        rows.into_iter().map(|(application_id, number, institution, uscc)| Filed { application_id, number, institution, uscc }).collect(),
    ))
}

// --- urc: filing the passed list (URC-RES-1) ---

/// URC-RES-1: the agency files the round's passed list with the administrative department.
pub async fn file(State(s): State<AppState>, ApiUser(u): ApiUser, Path(raw): Path<String>) -> Result<impl IntoResponse, ApiError> {
    let round = own_round(&s, &raw, &u).await?;
    let filed = s.store.file_round(round.id, &u.actor(), s.clock.now()).await?;
    Ok(Json(serde_json::json!({ "filed": filed })))
}

/// URC-RES-1: the administrative department acknowledges the round's filing.
pub async fn acknowledge(State(s): State<AppState>, ApiUser(u): ApiUser, Path(raw): Path<String>) -> Result<impl IntoResponse, ApiError> {
    let round = own_round(&s, &raw, &u).await?;
    let acknowledged = s.store.acknowledge_filing(round.id, &u.actor(), s.clock.now()).await?;
    Ok(Json(serde_json::json!({ "acknowledged": acknowledged })))
}
