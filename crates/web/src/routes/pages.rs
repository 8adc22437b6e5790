//! Server-rendered pages in Simplified Chinese. They work without JavaScript; a refused action
//! is shown as a Chinese message on the same page and changes nothing.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use dingdian_core::lifecycle::{self, Command, Ctx, Role, can_read};
use dingdian_store::{StoreError, User};
use serde::Deserialize;

use crate::auth::{COOKIE, MaybeUser};
use crate::{ApiError, AppState, DemoAccount};

/// Page sessions live 8 hours.
const SESSION_TTL: i64 = 8 * 3600;

fn render(t: impl Template) -> Response {
    match t.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template error");
            (StatusCode::INTERNAL_SERVER_ERROR, Html("<p>页面生成失败，请稍后重试。</p>".to_owned())).into_response()
        }
    }
}

fn role_zh(user: &Option<User>) -> &'static str {
    user.as_ref().map(|u| u.role().zh()).unwrap_or("")
}

/// A person-facing message for any error.
fn message(e: ApiError) -> String {
    e.message
}

pub struct ProfileRow {
    name: String,
    version: String,
    kinds: String,
    steps: usize,
    clocks: usize,
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage<'a> {
    user: Option<User>,
    role_zh: &'a str,
    profiles: Vec<ProfileRow>,
    demo: &'a [DemoAccount],
}

pub async fn home(State(s): State<AppState>, MaybeUser(user): MaybeUser) -> Response {
    let profiles = s
        .store
        .current_profiles()
        .iter()
        .map(|p| ProfileRow {
            name: p.name.clone(),
            version: p.version.clone(),
            kinds: p.kinds.iter().map(|k| k.zh()).collect::<Vec<_>>().join("、"),
            steps: p.steps.len(),
            clocks: p.clocks.len(),
        })
        .collect();
    render(HomePage { role_zh: role_zh(&user), user, profiles, demo: &s.demo_accounts })
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage<'a> {
    user: Option<User>,
    role_zh: &'a str,
    error: Option<String>,
    username: String,
}

pub async fn login_form(MaybeUser(user): MaybeUser) -> Response {
    render(LoginPage { role_zh: role_zh(&user), user, error: None, username: String::new() })
}

#[derive(Deserialize)]
pub struct LoginForm {
    username: String,
    password: String,
}

pub async fn login(State(s): State<AppState>, Form(f): Form<LoginForm>) -> Response {
    let user = match s.store.authenticate(&f.username, &f.password).await {
        Ok(Some(u)) => u,
        Ok(None) => {
            let page = LoginPage {
                user: None, role_zh: "", error: Some("用户名或密码错误，请重新输入。".into()), username: f.username
            };
            return (StatusCode::UNAUTHORIZED, render(page)).into_response();
        }
        Err(e) => return ApiError::from(e).into_response(),
    };
    match s.store.create_session(user.id, "cookie", SESSION_TTL, s.clock.now()).await {
        Ok(token) => {
            tracing::info!(user_id = user.id, "page login");
            let cookie = format!("{COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={SESSION_TTL}");
            let mut resp = Redirect::to("/applications").into_response();
            if let Ok(v) = HeaderValue::from_str(&cookie) {
                resp.headers_mut().insert(header::SET_COOKIE, v);
            }
            resp
        }
        Err(e) => ApiError::from(e).into_response(),
    }
}

pub async fn logout(State(s): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(token) = crate::auth::token(&headers)
        && let Err(e) = s.store.end_session(&token).await
    {
        return ApiError::from(e).into_response();
    }
    let mut resp = Redirect::to("/").into_response();
    resp.headers_mut().insert(header::SET_COOKIE, HeaderValue::from_static("dd_session=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"));
    resp
}

pub struct Row {
    id: i64,
    number: String,
    institution: String,
    city: String,
    district: String,
    state: &'static str,
    due: String,
    overdue: bool,
    updated: String,
}

#[derive(Template)]
#[template(path = "applications.html")]
struct ListPage<'a> {
    user: Option<User>,
    role_zh: &'a str,
    rows: Vec<Row>,
    can_create: bool,
    error: Option<String>,
}

#[derive(Deserialize)]
pub struct Flash {
    error: Option<String>,
    done: Option<String>,
}

pub async fn applications(State(s): State<AppState>, MaybeUser(user): MaybeUser, Query(flash): Query<Flash>) -> Response {
    let Some(u) = user else { return Redirect::to("/login").into_response() };
    let today = s.clock.today();
    let apps = match s.store.applications_for(&u.actor(), None, 500).await {
        Ok(a) => a,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let rows = apps
        .into_iter()
        .map(|a| Row {
            id: a.id,
            number: a.number,
            institution: a.institution_name,
            city: s.store.current_profile(&a.city).map(|p| p.name.clone()).unwrap_or(a.city),
            district: a.district,
            state: a.state.zh(),
            due: a.due_on.map(|d| d.to_string()).unwrap_or_default(),
            overdue: a.due_on.is_some_and(|d| today > d),
            updated: a.updated_at.chars().take(19).collect::<String>().replace('T', " "),
        })
        .collect();
    let can_create = u.role() == Role::Institution;
    render(ListPage { role_zh: u.role().zh(), user: Some(u), rows, can_create, error: flash.error })
}

pub async fn create_application(State(s): State<AppState>, MaybeUser(user): MaybeUser) -> Response {
    let Some(u) = user else { return Redirect::to("/login").into_response() };
    match s.store.create_application(&u.actor(), s.clock.now()).await {
        Ok(app) => Redirect::to(&format!("/applications/{}", app.id)).into_response(),
        Err(e) => Redirect::to(&format!("/applications?error={}", urlencode(&message(e.into())))).into_response(),
    }
}

pub struct ClockRow {
    name: String,
    rule: String,
    budget: String,
    started: String,
    due: String,
    status: &'static str,
    overdue: bool,
    explanation: Vec<String>,
}

pub struct EventRow {
    seq: i64,
    at: String,
    label: String,
    role: &'static str,
    change: String,
}

#[derive(Template)]
#[template(path = "application.html")]
struct AppPage<'a> {
    user: Option<User>,
    role_zh: &'a str,
    app: dingdian_store::AppRecord,
    state_zh: &'static str,
    profile_name: String,
    clocks: Vec<ClockRow>,
    events: Vec<EventRow>,
    actions: Vec<(&'static str, &'static str)>,
    error: Option<String>,
    done: Option<String>,
}

/// Commands without parameters that a page can offer as buttons, with their labels.
const BUTTONS: &[(&str, &str)] = &[
    ("submit", "提交申请"),
    ("supplement", "已补正，重新提交"),
    ("accept", "受理"),
    ("schedule_evaluation", "安排现场踏查"),
    ("pass_initial_review", "初审通过"),
    ("pass_verification", "信息核查通过"),
    ("confirm_score_sheet", "确认评分表"),
    ("request_reevaluation", "申请再次评估"),
    ("publish_notice", "发布公示"),
    ("complete_preparation", "签约前准备完成"),
    ("sign", "签订协议"),
    ("countersign", "经办机构签订协议"),
    ("withdraw", "撤回申请"),
];

fn button_command(name: &str) -> Option<Command> {
    serde_json::from_value(serde_json::json!({ "command": name })).ok()
}

pub async fn application(
    State(s): State<AppState>,
    MaybeUser(user): MaybeUser,
    Path(raw): Path<String>,
    Query(flash): Query<Flash>,
) -> Response {
    let Some(u) = user else { return Redirect::to("/login").into_response() };
    match application_page(&s, u, &raw, flash).await {
        Ok(r) => r,
        Err(e) => {
            let status = e.status;
            (status, Html(format!("<!doctype html><html lang=\"zh-CN\"><meta charset=\"utf-8\"><title>无法查看</title><p>{}</p><p><a href=\"/applications\">返回申请列表</a></p></html>", askama_escape(&e.message)))).into_response()
        }
    }
}

async fn application_page(s: &AppState, u: User, raw: &str, flash: Flash) -> Result<Response, ApiError> {
    let id: i64 = raw.parse().map_err(|_| ApiError::not_found())?;
    let app = s.store.application(id).await?.ok_or_else(ApiError::not_found)?;
    let actor = u.actor();
    can_read(&actor, &app.scope())?;
    let today = s.clock.today();
    let profile = s.store.profile_for(&app)?;
    let calendar = s.store.calendar();
    let ctx = Ctx { profile: &profile, calendar: &calendar, today, bans: &[] };
    let actions = BUTTONS
        .iter()
        .filter(|(name, _)| button_command(name).is_some_and(|cmd| lifecycle::decide(&ctx, &app.scope(), &app.data, &actor, &cmd).is_ok()))
        .copied()
        .collect();
    let clocks = s
        .store
        .clocks(&app, today)
        .await?
        .into_iter()
        .map(|c| ClockRow {
            overdue: c.status == dingdian_core::clocks::ClockStatus::Overdue,
            status: c.status.zh(),
            name: c.name,
            rule: c.rule,
            budget: c.budget.to_string(),
            started: c.started_on.to_string(),
            due: c.due.due.map(|d| format!("{d} 24:00")).unwrap_or_else(|| "无法确定".into()),
            explanation: c.due.explanation,
        })
        .collect();
    let events = s
        .store
        .events(app.id)
        .await?
        .into_iter()
        .map(|e| EventRow {
            seq: e.seq,
            at: e.occurred_at.chars().take(19).collect::<String>().replace('T', " "),
            label: e.label,
            role: Role::parse(&e.actor_role).map(Role::zh).unwrap_or(""),
            change: if e.from_state == e.to_state { String::new() } else { format!("{} → {}", e.from_state.zh(), e.to_state.zh()) },
        })
        .collect();
    let page = AppPage {
        role_zh: u.role().zh(),
        user: Some(u),
        state_zh: app.state.zh(),
        profile_name: profile.name.clone(),
        app,
        clocks,
        events,
        actions,
        error: flash.error,
        done: flash.done,
    };
    Ok(render(page))
}

#[derive(Deserialize)]
pub struct ActForm {
    command: String,
    expected_version: i64,
}

pub async fn act(State(s): State<AppState>, MaybeUser(user): MaybeUser, Path(raw): Path<String>, Form(f): Form<ActForm>) -> Response {
    let Some(u) = user else { return Redirect::to("/login").into_response() };
    let back = format!("/applications/{raw}");
    let Ok(id) = raw.parse::<i64>() else { return ApiError::not_found().into_response() };
    let Some(cmd) = BUTTONS.iter().find(|(n, _)| *n == f.command).and_then(|(n, _)| button_command(n)) else {
        return Redirect::to(&format!("{back}?error={}", urlencode("该操作需要填写内容，请通过接口办理。"))).into_response();
    };
    match s.store.execute(id, &u.actor(), f.expected_version, &cmd, s.clock.now()).await {
        Ok(_) => Redirect::to(&format!("{back}?done={}", urlencode("操作已完成。"))).into_response(),
        Err(StoreError::NotFound) => ApiError::not_found().into_response(),
        Err(e) => Redirect::to(&format!("{back}?error={}", urlencode(&message(e.into())))).into_response(),
    }
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn askama_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}
