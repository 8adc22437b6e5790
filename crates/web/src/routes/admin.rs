//! Administrator screens (the city's medical-security department): accounts and roles, the
//! profiles in force with their versions, and the holiday calendar years. Plus the evaluator's
//! phone screen of assignments.

use crate::extract::Form;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use dingdian_core::lifecycle::{ALL_ROLES, Role};
use dingdian_store::{CalendarYearInfo, InstitutionRecord, User};
use serde::Deserialize;

use super::pages::{message, render, role_zh};
use crate::auth::MaybeUser;
use crate::{ApiError, AppState};

/// A profile as listed.
pub struct ProfileRow {
    pub id: String,
    pub version: String,
    pub name: String,
    pub sha256: String,
    pub steps: Vec<String>,
    pub clocks: Vec<String>,
    pub materials: usize,
}

/// URC-RES-1: a round's passed list filed with the department, as the administrator sees it.
pub struct FilingRow {
    pub round_id: i64,
    pub round: String,
    pub filed_at: String,
    pub acknowledged_at: Option<String>,
    /// (number, institution, USCC).
    pub list: Vec<(String, String, String)>,
}

/// URC-REV-1: one row of the city's plan, as shown.
pub struct PlanView {
    pub district: String,
    pub kind: &'static str,
    pub population: u64,
    pub ceiling: String,
    pub density: String,
}

#[derive(Template)]
#[template(path = "admin.html")]
struct AdminPage<'a> {
    user: Option<User>,
    role_zh: &'a str,
    /// Each account of the city, its role in Chinese, and whether it is the administrator's own.
    users: Vec<(dingdian_store::AccountRow, &'static str, bool)>,
    /// The city's districts (code, name), for branch reviewers.
    districts: Vec<(String, String)>,
    institutions: Vec<InstitutionRecord>,
    roles: Vec<(&'static str, &'static str)>,
    profiles: Vec<ProfileRow>,
    years: Vec<CalendarYearInfo>,
    filings: Vec<FilingRow>,
    /// URC-REV-1: the plan, when the city's profile has planning; with the districts and kinds
    /// to choose from.
    plan: Option<Vec<PlanView>>,
    kinds: Vec<(&'static str, &'static str)>,
    error: Option<String>,
    done: Option<String>,
}

pub(super) async fn page(s: &AppState, u: User, error: Option<String>, done: Option<String>) -> Result<Response, ApiError> {
    let users = s
        .store
        .accounts(Some(&u.city))
        .await?
        .into_iter()
        .map(|x| {
            let zh = Role::parse(&x.role).map(Role::zh).unwrap_or("未知角色");
            let me = x.id == u.id;
            (x, zh, me)
        })
        .collect();
    let institutions = s.store.institutions(Some(&u.city)).await?;
    let profiles = s
        .store
        .current_profiles()
        .into_iter()
        .filter(|p| p.id == u.city)
        .map(|p| ProfileRow {
            id: p.id.clone(),
            version: p.version.clone(),
            name: p.name.clone(),
            sha256: p.sha256.clone(),
            steps: p.steps.iter().map(|(k, v)| format!("{k:?}（{}，{}）", v.rule, v.actor.zh())).collect(),
            clocks: p.clocks.iter().map(|c| format!("{}：{}（{}）", c.name, c.budget, c.rule)).collect(),
            materials: p.materials.len(),
        })
        .collect();
    // URC-RES-1: the rounds whose passed list was filed with this department.
    let mut filings = Vec::new();
    for r in s.store.rounds(&u.city).await? {
        let Some(filed_at) = r.filed_at.as_deref() else { continue };
        let list = s.store.filing_list(r.id).await?.into_iter().map(|(_, number, name, uscc)| (number, name, uscc)).collect();
        filings.push(FilingRow {
            round_id: r.id,
            round: r.name.clone(),
            filed_at: super::beijing(filed_at),
            acknowledged_at: r.filing_acknowledged_at.as_deref().map(super::beijing),
            list,
        });
    }
    // URC-REV-1: the city's plan, per district and kind.
    let profile = s.store.current_profile(&u.city);
    let districts: Vec<(String, String)> =
        profile.as_ref().map(|p| p.districts.iter().map(|d| (d.code.clone(), d.name.clone())).collect()).unwrap_or_default();
    let plan = match profile.as_ref().filter(|p| p.planning.is_some()) {
        Some(_) => Some(
            s.store
                .planning(&u.city)
                .await?
                .into_iter()
                .map(|r| PlanView {
                    district: districts.iter().find(|d| d.0 == r.district).map_or_else(|| r.district.clone(), |d| d.1.clone()),
                    kind: r.kind.zh(),
                    population: r.population,
                    ceiling: r.ceiling.map(|c| c.to_string()).unwrap_or_default(),
                    density: r.density_centi.map(|d| dingdian_core::planning::centi_label(d.into())).unwrap_or_default(),
                })
                .collect(),
        ),
        None => None,
    };
    let kinds = profile
        .as_ref()
        .map(|p| {
            p.kinds
                .iter()
                .map(|k| (if *k == dingdian_core::policy::InstitutionKind::Pharmacy { "pharmacy" } else { "medical" }, k.zh()))
                .collect()
        })
        .unwrap_or_default();
    let roles = ALL_ROLES.iter().filter(|r| **r != Role::System).map(|r| (r.as_str(), r.zh())).collect();
    let status = if error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let page = AdminPage {
        role_zh: u.role().zh(),
        user: Some(u),
        users,
        districts,
        institutions,
        roles,
        profiles,
        years: s.store.calendar_years(),
        filings,
        plan,
        kinds,
        error,
        done,
    };
    Ok((status, render(page)).into_response())
}

/// `GET /admin`
pub async fn index(State(s): State<AppState>, MaybeUser(user): MaybeUser) -> Response {
    let Some(u) = user else { return Redirect::to("/login").into_response() };
    page(&s, u, None, None).await.unwrap_or_else(IntoResponse::into_response)
}

#[derive(Deserialize)]
pub struct NewUserForm {
    username: String,
    display_name: String,
    role: String,
    password: String,
    #[serde(default)]
    district: String,
    #[serde(default)]
    institution_id: String,
}

/// `POST /admin/users`: a new account in the administrator's city. Staff accounts follow the
/// core's rules (`dingdian_core::accounts`); an institution's account belongs to a registered
/// institution of the city.
pub async fn create_user(State(s): State<AppState>, MaybeUser(user): MaybeUser, Form(f): Form<NewUserForm>) -> Response {
    let Some(u) = user else { return Redirect::to("/login").into_response() };
    let outcome: Result<String, ApiError> = async {
        let role = Role::parse(&f.role).filter(|r| *r != Role::System).ok_or_else(|| ApiError::invalid("invalid_input", "请选择角色。"))?;
        let district = Some(f.district.trim()).filter(|d| !d.is_empty());
        let now = s.clock.now();
        let created = if role == Role::Institution {
            let id: i64 =
                f.institution_id.trim().parse().map_err(|_| ApiError::invalid("invalid_input", "申请机构账号须选择所属机构。"))?;
            let inst = s.store.institution(id).await?.filter(|i| i.city == u.city);
            let inst = inst.ok_or_else(|| ApiError::invalid("invalid_input", "所选机构不在本市。"))?;
            s.store.create_institution_account(&u.actor(), inst.id, &f.username, &f.display_name, &f.password, now).await?
        } else {
            let new = dingdian_store::NewStaff {
                username: &f.username,
                display_name: &f.display_name,
                password: &f.password,
                role,
                city: &u.city,
                district,
            };
            s.store.create_staff(dingdian_store::By::actor(&u.actor()), new, now).await?
        };
        tracing::info!(admin = u.id, account = created.id, role = role.as_str(), "account created");
        Ok(format!("已创建账号“{}”（{}）。", created.username, role.zh()))
    }
    .await;
    let (error, done) = match outcome {
        Ok(m) => (None, Some(m)),
        Err(e) => (Some(message(e)), None),
    };
    page(&s, u, error, done).await.unwrap_or_else(IntoResponse::into_response)
}

#[derive(Deserialize)]
pub struct CalendarForm {
    name: String,
    toml: String,
}

/// `POST /admin/calendar`: load or replace a year (LAW-WD data) without a release.
pub async fn load_calendar(State(s): State<AppState>, MaybeUser(user): MaybeUser, Form(f): Form<CalendarForm>) -> Response {
    let Some(u) = user else { return Redirect::to("/login").into_response() };
    let name = if f.name.trim().is_empty() { "calendar.toml" } else { f.name.trim() };
    let (error, done) = match s.store.load_calendar_year(name, &f.toml, Some(u.id), s.clock.now()).await {
        Ok(load) => (None, Some(format!("已载入 {} 年节假日安排，重新计算了 {} 件申请的期限。", load.year, load.reprojected.len()))),
        Err(e) => (Some(message(e.into())), None),
    };
    page(&s, u, error, done).await.unwrap_or_else(IntoResponse::into_response)
}

/// `POST /admin/rounds/{id}/acknowledge`: URC-RES-1, the department acknowledges a round's
/// filed passed list (the notice may be published from then on).
pub async fn acknowledge_filing(
    State(s): State<AppState>,
    MaybeUser(user): MaybeUser,
    axum::extract::Path(raw): axum::extract::Path<String>,
) -> Response {
    let Some(u) = user else { return Redirect::to("/login").into_response() };
    let outcome: Result<String, ApiError> = async {
        let id: i64 = raw.parse().map_err(|_| ApiError::not_found())?;
        let n = s.store.acknowledge_filing(id, &u.actor(), s.clock.now()).await?.len();
        Ok(format!("已确认备案（{n} 家医药机构），经办机构可发布公示。"))
    }
    .await;
    let (error, done) = match outcome {
        Ok(m) => (None, Some(m)),
        Err(e) if matches!(e.status.as_u16(), 403 | 404) => return super::pages::error_page(e),
        Err(e) => (Some(message(e)), None),
    };
    page(&s, u, error, done).await.unwrap_or_else(IntoResponse::into_response)
}

#[derive(Deserialize)]
pub struct PlanForm {
    #[serde(default)]
    district: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    population: String,
    #[serde(default)]
    ceiling: String,
    #[serde(default)]
    density: String,
}

/// `POST /admin/planning`: URC-REV-1, the administrator sets one district's plan for one kind.
pub async fn set_plan(State(s): State<AppState>, MaybeUser(user): MaybeUser, Form(f): Form<PlanForm>) -> Response {
    let Some(u) = user else { return Redirect::to("/login").into_response() };
    let outcome: Result<String, ApiError> = async {
        let kind = match f.kind.trim() {
            "medical" => dingdian_core::policy::InstitutionKind::Medical,
            "pharmacy" => dingdian_core::policy::InstitutionKind::Pharmacy,
            _ => return Err(ApiError::invalid("invalid_input", "请选择机构类别。")),
        };
        let population: u64 = f.population.trim().parse().map_err(|_| ApiError::invalid("invalid_input", "常住人口须为正整数。"))?;
        let ceiling = match f.ceiling.trim() {
            "" => None,
            c => Some(c.parse::<u32>().map_err(|_| ApiError::invalid("invalid_input", "规划上限须为非负整数。"))?),
        };
        let density_centi = match f.density.trim() {
            "" => None,
            d => Some(
                dingdian_core::planning::parse_centi(d)
                    .ok_or_else(|| ApiError::invalid("invalid_input", "每万人规划密度须为数字，最多两位小数，如 1.5。"))?,
            ),
        };
        let row = dingdian_core::planning::PlanRow { district: f.district.trim().to_owned(), kind, population, ceiling, density_centi };
        s.store.set_plan(&u.actor(), &row, s.clock.now()).await?;
        Ok("已保存设置规划。".to_owned())
    }
    .await;
    let (error, done) = match outcome {
        Ok(m) => (None, Some(m)),
        Err(e) if e.status.as_u16() == 403 => return super::pages::error_page(e),
        Err(e) => (Some(message(e)), None),
    };
    page(&s, u, error, done).await.unwrap_or_else(IntoResponse::into_response)
}

/// One assignment on the evaluator's phone.
pub struct AssignmentRow {
    pub visit_on: String,
    pub reveal_on: String,
    pub institution: Option<String>,
    pub address: Option<String>,
    pub application: Option<i64>,
}

#[derive(Template)]
#[template(path = "assignments.html")]
struct AssignmentsPage<'a> {
    user: Option<User>,
    role_zh: &'a str,
    rows: Vec<AssignmentRow>,
}

/// `GET /assignments`: the evaluator's tasks (URC-EVAL-1: the institution shows from the reveal
/// on), each linking to the application to score.
pub async fn assignments(State(s): State<AppState>, MaybeUser(user): MaybeUser) -> Response {
    let Some(u) = user else { return Redirect::to("/login").into_response() };
    let result: Result<Vec<AssignmentRow>, ApiError> = async {
        let rows = s.store.assignments(&u.actor(), s.clock.today()).await?;
        Ok(rows
            .into_iter()
            .map(|a| AssignmentRow {
                visit_on: a.visit_on.map(|v| v.to_string()).unwrap_or_default(),
                reveal_on: a.reveal_on.map(|v| v.to_string()).unwrap_or_default(),
                institution: a.institution.as_ref().map(|i| i.name.clone()),
                address: a.institution.map(|i| i.address),
                application: a.application,
            })
            .collect())
    }
    .await;
    match result {
        Ok(rows) => render(AssignmentsPage { role_zh: role_zh(&Some(u.clone())), user: Some(u), rows }),
        Err(e) => e.into_response(),
    }
}
