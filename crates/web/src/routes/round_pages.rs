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
    /// Sent by the confirmation page (issue #16 item 3).
    #[serde(default)]
    confirmed: Option<String>,
}

/// What the confirmation page warns about the visit day (URC-EVAL-1, LAW-WD): a rest day or
/// holiday, or a day the calendar cannot tell.
fn rest_day_warning(s: &AppState, day: jiff::civil::Date) -> Option<String> {
    const WEEKDAYS: [&str; 7] = ["星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期日"];
    let weekday = WEEKDAYS[usize::from(day.weekday().to_monday_zero_offset().unsigned_abs())];
    match s.store.calendar().is_working_day(day) {
        Ok(true) => None,
        Ok(false) => Some(format!("所选现场评估日期 {day}（{weekday}）是休息日或法定节假日。")),
        Err(_) => Some(format!("尚未载入 {} 年的节假日安排，无法确定 {day}（{weekday}）是否为工作日。", day.year())),
    }
}

/// `POST /rounds/{id}/draw`
pub async fn draw(State(s): State<AppState>, MaybeUser(user): MaybeUser, Path(raw): Path<String>, Form(f): Form<DrawForm>) -> Response {
    let Some(u) = user else { return Redirect::to("/login").into_response() };
    let outcome = async {
        let id = own_round(&s, &raw, &u).await?;
        let visit_on: jiff::civil::Date =
            f.visit_on.trim().parse().map_err(|_| ApiError::invalid("invalid_input", "请填写现场评估日期（年-月-日）。"))?;
        let yes = |v: &Option<String>| v.as_deref().is_some_and(|v| !v.is_empty() && v != "0" && v != "false");
        let rest_day = rest_day_warning(&s, visit_on);
        // Issue #16 item 3: the draw cannot be undone, so it is confirmed on a second page,
        // which also asks to confirm a visit on a rest day.
        if !yes(&f.confirmed) || (rest_day.is_some() && !yes(&f.confirm_rest_day)) {
            // Only a draw that would be taken is offered for confirmation.
            s.store.check_draw(id, &u.actor(), &f.public_value, visit_on, s.clock.now()).await?;
            return Ok(Err((id, visit_on, rest_day)));
        }
        s.store.draw_round(id, &u.actor(), &f.public_value, visit_on, yes(&f.confirm_rest_day), s.clock.now()).await?;
        Ok(Ok("draw"))
    }
    .await;
    match outcome {
        Ok(Ok(done)) => finish(&s, u, Ok(done)).await,
        Ok(Err((id, visit_on, rest_day))) => {
            let Some(c) = dingdian_core::lifecycle::confirmation("draw_round") else { return finish(&s, u, Ok("draw")).await };
            let page = super::pages::ConfirmPage {
                role_zh: u.role().zh(),
                user: Some(u),
                action: format!("/rounds/{id}/draw"),
                back: "/rounds".to_owned(),
                subject: format!("评估批次 {id}，现场评估日期 {visit_on}"),
                c,
                fields: vec![("public_value".to_owned(), f.public_value.clone()), ("visit_on".to_owned(), visit_on.to_string())],
                agreement: None,
                unread: false,
                rest_day,
            };
            super::pages::render(page)
        }
        Err(e) => finish(&s, u, Err(e)).await,
    }
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

/// A drawn round's record as tables (URC-EVAL-1, G-DRAW): the frozen pool, the groups, the
/// replacements. What each part holds is the core's answer for the viewer; the JSON download
/// stays the record to verify.
pub struct DrawDetail {
    /// The frozen pool, when the viewer may see the pool (`visibility::sees_evaluator_pool`).
    pub pool: Vec<PoolRow>,
    /// The groups, once drawn and only for those the core lets see them
    /// (`visibility::sees_round_groups`); `None` otherwise.
    pub groups: Option<Vec<GroupRow>>,
    pub replacements: Vec<ReplacementRow>,
    /// How many institutions the round visits.
    pub institutions: usize,
}

/// One evaluator of the frozen pool.
pub struct PoolRow {
    pub id: String,
    pub name: String,
    pub department: &'static str,
    pub employer: String,
    pub active: bool,
    /// Drawn for the round (after replacements).
    pub drawn: bool,
}

/// One institution's group.
pub struct GroupRow {
    pub institution: String,
    pub members: Vec<String>,
}

/// One replacement, in the order drawn.
pub struct ReplacementRow {
    pub stage: &'static str,
    pub institution: String,
    pub declined: String,
    pub replacement: String,
    pub reason: String,
}

impl DrawDetail {
    /// The tables of `record` for `actor`; `institutions` names the city's institutions by code.
    pub fn new(
        actor: &dingdian_core::lifecycle::Actor,
        record: &dingdian_core::draw::DrawRecord,
        institutions: &std::collections::BTreeMap<String, String>,
    ) -> DrawDetail {
        use dingdian_core::{draw, visibility};
        let candidates = &record.input.candidates;
        let person = |id: &str| match candidates.iter().find(|c| c.id == id) {
            Some(c) => format!("{}（{}，{}，{}）", c.name, c.id, c.department.zh(), c.employer),
            None => id.to_owned(),
        };
        let institution = |uscc: &str| match institutions.get(uscc) {
            Some(name) => format!("{name}（{uscc}）"),
            None => uscc.to_owned(),
        };
        let sees_pool = visibility::sees_evaluator_pool(actor);
        let sees_groups = visibility::sees_round_groups(actor, draw::is_grouped(record));
        let drawn = draw::drawn_evaluators(record);
        let pool = if sees_pool {
            candidates
                .iter()
                .map(|c| PoolRow {
                    id: c.id.clone(),
                    name: c.name.clone(),
                    department: c.department.zh(),
                    employer: c.employer.clone(),
                    active: c.active,
                    drawn: drawn.contains(&c.id),
                })
                .collect()
        } else {
            Vec::new()
        };
        let groups = sees_groups.then(|| {
            draw::final_groups(record)
                .into_iter()
                .map(|(uscc, members)| GroupRow { institution: institution(&uscc), members: members.iter().map(|m| person(m)).collect() })
                .collect()
        });
        let before = record.stage1.iter().flat_map(|s| s.replacements.iter()).map(|r| ("分组前", r));
        let after = record.replacements.iter().map(|r| ("分组后", r));
        let replacements = if sees_pool {
            before
                .chain(after)
                .map(|(stage, r)| ReplacementRow {
                    stage,
                    // Which institution a replacement is for tells the group: only with the groups.
                    institution: if r.institution.is_empty() || !sees_groups { "—".to_owned() } else { institution(&r.institution) },
                    declined: person(&r.declined),
                    replacement: person(&r.replacement),
                    reason: r.reason.clone(),
                })
                .collect()
        } else {
            Vec::new()
        };
        DrawDetail { pool, groups, replacements, institutions: record.input.institutions.len() }
    }
}
