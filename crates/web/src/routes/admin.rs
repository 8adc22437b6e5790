//! Administrator screens (the city's medical-security department): accounts and roles, the
//! profiles in force with their versions, and the holiday calendar years. A provincial
//! administrator lands on its province's cities and opens the same screens for each of them
//! (`?city=`; `province::administer` decides). Plus the evaluator's phone screen of assignments.
//!
//! Not responsible for who may do what here: the core decides, the store applies.

use crate::extract::Form;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use dingdian_core::accounts::{Creator, may_create};
use dingdian_core::lifecycle::{ALL_ROLES, Actor, Role};
use dingdian_core::province;
use dingdian_store::{CalendarYearInfo, InstitutionRecord, QueueFilter, User};
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
    /// The city's name.
    city_name: String,
    /// For a provincial administrator: the city, carried by every form, and the province's name.
    city_param: Option<String>,
    province_name: Option<&'static str>,
    /// URC-REV-1, URC-RES-1: the city's own department sets the plan and acknowledges filings.
    may_plan: bool,
    may_acknowledge: bool,
    /// Each account of the city, its role in Chinese, and whether it is the administrator's own.
    users: Vec<(dingdian_store::AccountRow, &'static str, bool)>,
    /// The city's districts (code, name), for branch reviewers.
    districts: Vec<(String, String)>,
    institutions: Vec<InstitutionRecord>,
    roles: Vec<(&'static str, &'static str)>,
    profiles: Vec<ProfileRow>,
    years: Vec<CalendarYearInfo>,
    /// The next year's holidays are missing (from 1 November).
    calendar_warning: Option<String>,
    filings: Vec<FilingRow>,
    /// URC-REV-1: the plan, when the city's profile has planning; with the districts and kinds
    /// to choose from.
    plan: Option<Vec<PlanView>>,
    kinds: Vec<(&'static str, &'static str)>,
    error: Option<String>,
    done: Option<String>,
}

/// The actor `u` acts as on the administrator screens of `city` (their own city when none is
/// named): the core decides (`province::administer`, G-VISIBILITY).
pub(super) fn acting(s: &AppState, u: &User, city: Option<&str>) -> Result<Actor, ApiError> {
    let city = city.map(str::trim).filter(|c| !c.is_empty()).unwrap_or(&u.city);
    let profile = s.store.current_profile(city).ok_or_else(ApiError::not_found)?;
    Ok(province::administer(&u.actor(), &profile)?)
}

/// The screens of the city `acting` is scoped to.
pub(super) async fn page(s: &AppState, u: User, acting: &Actor, error: Option<String>, done: Option<String>) -> Result<Response, ApiError> {
    let users = s
        .store
        .accounts(Some(&acting.city))
        .await?
        .into_iter()
        .map(|x| {
            let zh = Role::parse(&x.role).map(Role::zh).unwrap_or("未知角色");
            let me = x.id == u.id;
            (x, zh, me)
        })
        .collect();
    let institutions = s.store.institutions(Some(&acting.city)).await?;
    let profiles = s
        .store
        .current_profiles()
        .into_iter()
        .filter(|p| p.id == acting.city)
        .map(|p| ProfileRow {
            id: p.id.clone(),
            version: p.version.clone(),
            name: p.name.clone(),
            sha256: p.sha256.clone(),
            steps: p.steps.iter().map(|(k, v)| format!("{}（{}，{}）", k.zh(), v.actor.zh(), v.rule)).collect(),
            clocks: p.clocks.iter().map(|c| format!("{}：{}（{}）", c.name, c.budget, c.rule)).collect(),
            materials: p.materials.len(),
        })
        .collect();
    // URC-RES-1: the rounds whose passed list was filed with this department.
    let mut filings = Vec::new();
    for r in s.store.rounds(&acting.city).await? {
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
    let profile = s.store.current_profile(&acting.city);
    let districts: Vec<(String, String)> =
        profile.as_ref().map(|p| p.districts.iter().map(|d| (d.code.clone(), d.name.clone())).collect()).unwrap_or_default();
    let plan = match profile.as_ref().filter(|p| p.planning.is_some()) {
        Some(_) => Some(
            s.store
                .planning(&acting.city)
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
    // The roles this administrator may give in this city (never a provincial administrator).
    let roles = ALL_ROLES
        .iter()
        .filter(|r| may_create(Creator::Admin(acting), **r, profile.as_deref()).is_ok())
        .map(|r| (r.as_str(), r.zh()))
        .collect();
    let status = if error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let page = AdminPage {
        city_name: profile.as_ref().map_or_else(|| acting.city.clone(), |p| p.name.clone()),
        city_param: (acting.role == Role::ProvincialAdmin).then(|| acting.city.clone()),
        province_name: province::province_of(acting).map(|p| p.name()),
        may_plan: dingdian_core::visibility::can_edit_planning(acting, &acting.city).is_ok(),
        may_acknowledge: dingdian_core::visibility::can_acknowledge_filing(acting, &acting.city).is_ok(),
        role_zh: u.role().zh(),
        user: Some(u),
        users,
        districts,
        institutions,
        roles,
        profiles,
        years: s.store.calendar_years(),
        calendar_warning: calendar_warning(s),
        filings,
        plan,
        kinds,
        error,
        done,
    };
    Ok((status, render(page)).into_response())
}

#[derive(Deserialize, Default)]
pub struct CityQuery {
    #[serde(default)]
    city: Option<String>,
}

/// Renders the screens of `city` for `u` (or, for a provincial administrator naming no city,
/// its province's overview), with a message; a refusal to act in that city is an error page.
pub(super) async fn respond(s: &AppState, u: User, city: Option<&str>, error: Option<String>, done: Option<String>) -> Response {
    let overview = u.role() == Role::ProvincialAdmin && city.is_none_or(|c| c.trim().is_empty());
    let result = if overview {
        province_page(s, u, error, done).await
    } else {
        match acting(s, &u, city) {
            Ok(a) => page(s, u, &a, error, done).await,
            Err(e) => return super::pages::error_page(e),
        }
    };
    result.unwrap_or_else(IntoResponse::into_response)
}

/// `GET /admin`: a city's administrator sees their city; a provincial administrator its
/// province's cities, or one of them with `?city=`.
pub async fn index(
    State(s): State<AppState>,
    MaybeUser(user): MaybeUser,
    crate::extract::Query(q): crate::extract::Query<CityQuery>,
) -> Response {
    let Some(u) = user else { return Redirect::to("/login").into_response() };
    respond(&s, u, q.city.as_deref(), None, None).await
}

/// One city of a province, as the provincial administrator's overview lists it.
pub struct CityRow {
    pub id: String,
    pub name: String,
    pub division: String,
    pub version: String,
    pub accounts: usize,
    pub admins: usize,
    /// Applications (drafts left out), those still open, and those signed.
    pub applications: i64,
    pub open: i64,
    pub signed: i64,
}

#[derive(Template)]
#[template(path = "province.html")]
struct ProvincePage<'a> {
    user: Option<User>,
    role_zh: &'a str,
    province_name: &'static str,
    cities: Vec<CityRow>,
    /// The province's totals: applications, open, signed, accounts.
    totals: (i64, i64, i64, usize),
    years: Vec<CalendarYearInfo>,
    /// The next year's holidays are missing (from 1 November).
    calendar_warning: Option<String>,
    error: Option<String>,
    done: Option<String>,
}

/// LAW-WD: the warning shown from 1 November (China date) while next year's holiday
/// arrangement is not loaded; the core decides when.
fn calendar_warning(s: &AppState) -> Option<String> {
    s.store.calendar().next_year_missing(s.clock.today()).map(|y| {
        format!("尚未载入 {y} 年的节假日安排。请在国务院办公厅发布 {y} 年部分节假日安排的通知后尽快载入；在此之前，凡跨入 {y} 年的期限都显示为“无法确定”。")
    })
}

/// The provincial administrator's overview: every city of its province (G-VISIBILITY,
/// `province::cities`), with its profile in force, accounts and statistics, and the totals.
async fn province_page(s: &AppState, u: User, error: Option<String>, done: Option<String>) -> Result<Response, ApiError> {
    let me = u.actor();
    let province_name = province::province_of(&me).map(|p| p.name()).unwrap_or("未知省份");
    let profiles = s.store.current_profiles();
    let today = s.clock.today();
    let mut cities = Vec::new();
    for p in province::cities(&me, profiles.iter().map(|p| &**p)) {
        let scoped = province::administer(&me, p)?;
        let stats = s.store.stats(&scoped, &QueueFilter::default(), today).await?;
        let accounts = s.store.accounts(Some(&p.id)).await?;
        let count =
            |f: &dyn Fn(dingdian_core::lifecycle::State) -> bool| stats.by_state.iter().filter(|(st, _)| f(*st)).map(|(_, n)| n).sum();
        cities.push(CityRow {
            id: p.id.clone(),
            name: p.name.clone(),
            division: p.division.clone(),
            version: p.version.clone(),
            admins: accounts.iter().filter(|a| a.role == Role::Admin.as_str() && a.disabled_at.is_none()).count(),
            accounts: accounts.len(),
            applications: count(&|_| true),
            open: count(&|st| !st.is_terminal()),
            signed: count(&|st| st == dingdian_core::lifecycle::State::Signed),
        });
    }
    let totals = cities.iter().fold((0, 0, 0, 0), |t, c| (t.0 + c.applications, t.1 + c.open, t.2 + c.signed, t.3 + c.accounts));
    let status = if error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let page = ProvincePage {
        role_zh: u.role().zh(),
        user: Some(u),
        province_name,
        cities,
        totals,
        years: s.store.calendar_years(),
        calendar_warning: calendar_warning(s),
        error,
        done,
    };
    Ok((status, render(page)).into_response())
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
    /// The city, for a provincial administrator (a city's administrator: their own).
    #[serde(default)]
    city: String,
}

/// `POST /admin/users`: a new account in the administrator's city (a provincial
/// administrator: in the city of its province the form names). Staff accounts follow the
/// core's rules (`dingdian_core::accounts`); an institution's account belongs to a registered
/// institution of the city.
pub async fn create_user(State(s): State<AppState>, MaybeUser(user): MaybeUser, Form(f): Form<NewUserForm>) -> Response {
    let Some(u) = user else { return Redirect::to("/login").into_response() };
    let acting = match acting(&s, &u, Some(&f.city)) {
        Ok(a) => a,
        Err(e) => return super::pages::error_page(e),
    };
    let outcome: Result<String, ApiError> = async {
        let role = Role::parse(&f.role).filter(|r| *r != Role::System).ok_or_else(|| ApiError::invalid("invalid_input", "请选择角色。"))?;
        let district = Some(f.district.trim()).filter(|d| !d.is_empty());
        let now = s.clock.now();
        let created = if role == Role::Institution {
            let id: i64 =
                f.institution_id.trim().parse().map_err(|_| ApiError::invalid("invalid_input", "申请机构账号须选择所属机构。"))?;
            let inst = s.store.institution(id).await?.filter(|i| i.city == acting.city);
            let inst = inst.ok_or_else(|| ApiError::invalid("invalid_input", "所选机构不在本市。"))?;
            s.store.create_institution_account(&acting, inst.id, &f.username, &f.display_name, &f.password, now).await?
        } else {
            let new = dingdian_store::NewStaff {
                username: &f.username,
                display_name: &f.display_name,
                password: &f.password,
                role,
                city: &acting.city,
                district,
                province: None,
            };
            s.store.create_staff_as(&acting, new, now).await?
        };
        tracing::info!(admin = u.id, account = created.id, role = role.as_str(), "account created");
        Ok(format!("已创建账号“{}”（{}）。", created.username, role.zh()))
    }
    .await;
    let (error, done, refused) = match outcome {
        Ok(m) => (None, Some(m), None),
        Err(e) if e.status == StatusCode::FORBIDDEN => return super::pages::error_page(e),
        Err(e) => (None, None, Some(e)),
    };
    let error = error.or_else(|| refused.as_ref().map(|e| e.message.clone()));
    let shown = page(&s, u, &acting, error, done).await.unwrap_or_else(IntoResponse::into_response);
    match refused {
        Some(e) => crate::refill::at_field(shown, &e),
        None => shown,
    }
}

#[derive(Deserialize)]
pub struct CalendarForm {
    name: String,
    toml: String,
    /// The city screen to come back to, for a provincial administrator.
    #[serde(default)]
    city: String,
}

/// `POST /admin/calendar`: load or replace a year (LAW-WD data) without a release.
pub async fn load_calendar(State(s): State<AppState>, MaybeUser(user): MaybeUser, Form(f): Form<CalendarForm>) -> Response {
    let Some(u) = user else { return Redirect::to("/login").into_response() };
    if let Err(r) = province::may_load_calendar(&u.actor()) {
        return super::pages::error_page(r.into());
    }
    let name = if f.name.trim().is_empty() { "calendar.toml" } else { f.name.trim() };
    let (error, done) = match s.store.load_calendar_year(name, &f.toml, Some(u.id), s.clock.now()).await {
        Ok(load) => (None, Some(format!("已载入 {} 年节假日安排，重新计算了 {} 件申请的期限。", load.year, load.reprojected.len()))),
        Err(e) => (Some(message(e.into())), None),
    };
    respond(&s, u, Some(&f.city), error, done).await
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
    respond(&s, u, None, error, done).await
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
    respond(&s, u, None, error, done).await
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
