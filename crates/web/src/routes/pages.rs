//! Server-rendered pages in Simplified Chinese. They work without JavaScript; a refused action
//! is shown as a Chinese message on the same page and changes nothing.

use crate::extract::Form;
use crate::extract::{Path, Query};
use askama::Template;
use axum::extract::{FromRequest, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use dingdian_core::lifecycle::{Command, Role};
use dingdian_core::policy::FileType;
use dingdian_core::visibility;
use dingdian_store::User;
use serde::Deserialize;

use crate::auth::{COOKIE, ClientAddr, MaybeUser};
use crate::{ApiError, AppState, DemoAccount};
use dingdian_store::LoginError;

/// Page sessions live 8 hours.
const SESSION_TTL: i64 = 8 * 3600;

pub(super) fn render(t: impl Template) -> Response {
    match t.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template error");
            (StatusCode::INTERNAL_SERVER_ERROR, Html("<p>页面生成失败，请稍后重试。</p>".to_owned())).into_response()
        }
    }
}

pub(super) fn role_zh(user: &Option<User>) -> &'static str {
    user.as_ref().map(|u| u.role().zh()).unwrap_or("")
}

/// A person-facing message for any error.
pub(super) fn message(e: ApiError) -> String {
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
    contacts: Vec<(String, String)>,
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
    let contacts = contacts(&s, None);
    render(HomePage { role_zh: role_zh(&user), user, profiles, demo: &s.demo_accounts, contacts })
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

pub async fn login(State(s): State<AppState>, ClientAddr(addr): ClientAddr, headers: HeaderMap, Form(f): Form<LoginForm>) -> Response {
    let refuse = |status: StatusCode, error: String, username: String| {
        (status, render(LoginPage { user: None, role_zh: "", error: Some(error), username })).into_response()
    };
    let device = crate::auth::device(&headers);
    let (user, device) = match s.store.login(&f.username, &f.password, addr.as_deref(), device.as_deref(), s.clock.now()).await {
        Ok(Ok(signed)) => (signed.user, signed.device),
        Ok(Err(LoginError::Invalid)) => return refuse(StatusCode::UNAUTHORIZED, "用户名或密码错误，请重新输入。".into(), f.username),
        Ok(Err(LoginError::Throttled { retry_after })) => {
            let e = crate::auth::throttled(retry_after);
            return refuse(e.status, e.message, f.username);
        }
        Err(e) => return ApiError::from(e).into_response(),
    };
    match s.store.create_session(user.id, "cookie", SESSION_TTL, s.clock.now()).await {
        Ok(token) => {
            tracing::info!(user_id = user.id, "page login");
            // A provincial administrator handles no application: it lands on its province's cities.
            let landing = if user.role() == Role::ProvincialAdmin { "/admin" } else { "/applications" };
            let mut resp = signed_in(&token, &headers, landing);
            if let Some(v) = crate::auth::device_cookie(&device, &headers) {
                resp.headers_mut().append(header::SET_COOKIE, v);
            }
            resp
        }
        Err(e) => ApiError::from(e).into_response(),
    }
}

/// Signs a user in with a session cookie and sends them on.
fn signed_in(token: &str, headers: &HeaderMap, to: &str) -> Response {
    let secure = if crate::auth::over_tls(headers) { "; Secure" } else { "" };
    let cookie = format!("{COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={SESSION_TTL}{secure}");
    let mut resp = Redirect::to(to).into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    resp
}

#[derive(Template)]
#[template(path = "register.html")]
struct RegisterPage<'a> {
    user: Option<User>,
    role_zh: &'a str,
    error: Option<String>,
    uscc: String,
    username: String,
    display_name: String,
}

#[derive(Deserialize)]
pub struct RegisterForm {
    uscc: String,
    legal_rep_id: String,
    username: String,
    #[serde(default)]
    display_name: String,
    password: String,
    password2: String,
}

/// `GET /register`: an institution in the registry opens its account.
pub async fn register_form() -> Response {
    render(RegisterPage { user: None, role_zh: "", error: None, uscc: String::new(), username: String::new(), display_name: String::new() })
}

/// `POST /register`: checked against the registry (the legal representative's ID on record),
/// throttled per address in the database; signs the new account in.
pub async fn register(
    State(s): State<AppState>,
    ClientAddr(addr): ClientAddr,
    headers: HeaderMap,
    Form(f): Form<RegisterForm>,
) -> Response {
    let refuse = |status: StatusCode, error: String| {
        let page = RegisterPage {
            user: None,
            role_zh: "",
            error: Some(error),
            uscc: f.uscc.clone(),
            username: f.username.clone(),
            display_name: f.display_name.clone(),
        };
        (status, render(page)).into_response()
    };
    match s.store.registration_attempt(addr.as_deref(), s.clock.now()).await {
        Ok(true) => {}
        Ok(false) => return refuse(StatusCode::TOO_MANY_REQUESTS, "注册尝试过于频繁，请一小时后再试。".into()),
        Err(e) => return ApiError::from(e).into_response(),
    }
    if f.password != f.password2 {
        return refuse(StatusCode::UNPROCESSABLE_ENTITY, "两次输入的密码不一致，请重新输入。".into());
    }
    let user = match s
        .store
        .register_institution_account(&f.uscc, &f.legal_rep_id, &f.username, &f.display_name, &f.password, s.clock.now())
        .await
    {
        Ok(u) => u,
        Err(e) => {
            let e = ApiError::from(e);
            return refuse(e.status, e.message);
        }
    };
    tracing::info!(user_id = user.id, institution = user.institution_id, "institution registered");
    match s.store.create_session(user.id, "cookie", SESSION_TTL, s.clock.now()).await {
        Ok(token) => signed_in(&token, &headers, "/applications"),
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

impl AppPage<'_> {
    /// The national code as declared (for prefilling Annex 1).
    fn national_code(&self) -> String {
        self.app.data.facts.get("national_code").and_then(|v| v.as_str()).unwrap_or_default().to_owned()
    }
}

/// After a redirect, which command succeeded. Only a known command name is shown (as its
/// label), so a crafted link cannot put arbitrary text into the page.
#[derive(Deserialize, Default)]
pub struct Flash {
    done: Option<String>,
}

pub async fn applications(State(s): State<AppState>, MaybeUser(user): MaybeUser, Query(flash): Query<Flash>) -> Response {
    let Some(u) = user else { return Redirect::to("/login").into_response() };
    list_page(&s, u, flash, None).await
}

async fn list_page(s: &AppState, u: User, flash: Flash, error: Option<ApiError>) -> Response {
    let today = s.clock.today();
    let apps = match s.store.applications_for(&u.actor(), None, 500, today).await {
        Ok(a) => a,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let rows = apps
        .into_iter()
        .map(|a| Row {
            id: a.id,
            number: a.number,
            institution: a.institution_name,
            district: s.store.district_name(&a.city, &a.district).unwrap_or(a.district),
            city: s.store.current_profile(&a.city).map(|p| p.name.clone()).unwrap_or(a.city),
            state: a.state.zh(),
            due: a.due_on.map(|d| d.to_string()).unwrap_or_default(),
            overdue: a.due_on.is_some_and(|d| today > d),
            updated: super::beijing(&a.updated_at),
        })
        .collect();
    let can_create = u.role() == Role::Institution;
    let status = error.as_ref().map_or(StatusCode::OK, |e| e.status);
    let error = error.map(message);
    // The agency's alert: e-mails that finally failed.
    let error = match error {
        None if matches!(u.role(), Role::Agency | Role::Admin) => match s.store.failed_notifications(&u.city).await {
            Ok(f) if !f.is_empty() => Some(format!("有 {} 封通知邮件多次重试后仍发送失败，请核对收件地址或联系申请机构。", f.len())),
            _ => None,
        },
        other => other,
    };
    let _ = flash;
    (status, render(ListPage { role_zh: u.role().zh(), user: Some(u), rows, can_create, error })).into_response()
}

pub async fn create_application(State(s): State<AppState>, MaybeUser(user): MaybeUser) -> Response {
    let Some(u) = user else { return Redirect::to("/login").into_response() };
    match s.store.create_application(&u.actor(), s.clock.now()).await {
        Ok(app) => Redirect::to(&format!("/applications/{}", app.id)).into_response(),
        Err(e) => list_page(&s, u, Flash::default(), Some(e.into())).await,
    }
}

/// One stage of the step bar as shown: its name, where it stands (text and a class for the
/// style) and the time limits that run in it.
pub struct StageRow {
    name: &'static str,
    status: &'static str,
    class: &'static str,
    limits: Vec<String>,
}

/// The step bar (issue #16 item 2): the core's stages for this application, each with its time
/// limits — the budget as the rule counts it (working or calendar days) and the last day.
fn step_bar(
    profile: &dingdian_core::policy::Profile,
    app: &dingdian_store::AppRecord,
    clocks: &[dingdian_core::clocks::ClockView],
    records: &[dingdian_store::EventRecord],
) -> Vec<StageRow> {
    let last_open = records.iter().rev().find(|e| e.to_state.is_terminal() && e.from_state != e.to_state).map(|e| e.from_state);
    stage_rows(dingdian_core::lifecycle::stages(profile, app.state, last_open), clocks)
}

/// The core's stages as shown, each with the limits of `clocks` that run in it.
fn stage_rows(stages: Vec<dingdian_core::lifecycle::Stage>, clocks: &[dingdian_core::clocks::ClockView]) -> Vec<StageRow> {
    use dingdian_core::lifecycle::StageStatus;
    stages
        .into_iter()
        .map(|st| StageRow {
            name: st.name,
            status: st.status.zh(),
            class: match st.status {
                StageStatus::Done => "done",
                StageStatus::Current => "current",
                StageStatus::Ended => "ended",
                StageStatus::Ahead | StageStatus::Skipped => "ahead",
            },
            limits: st
                .clocks
                .iter()
                .filter_map(|id| clocks.iter().find(|c| &c.id == id))
                .map(|c| match c.due.due {
                    Some(d) => format!("{}：{}，截止 {d}", c.name, c.budget),
                    None => format!("{}：{}", c.name, c.budget),
                })
                .collect(),
        })
        .collect()
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
    /// The step bar.
    steps: Vec<StageRow>,
    clocks: Vec<ClockRow>,
    events: Vec<EventRow>,
    actions: Vec<(&'static str, &'static str)>,
    is_institution: bool,
    /// Rule IDs as a small reference (staff only: `visibility::sees_rule_ids`).
    show_rules: bool,
    awaiting_supplement: bool,
    /// What the institution must do and by when, from the core's letters module.
    notes: super::letters::PageNotes,
    today: String,
    portal: super::portal::Portal,
    query_code: Option<String>,
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
    ("confirm_score_sheet", "确认评分表"),
    ("request_reevaluation", "申请再次评估"),
    ("publish_notice", "发布公示"),
    ("complete_preparation", "签约前准备完成"),
    ("sign", "签订协议"),
    ("countersign", "经办机构签订协议"),
    ("withdraw", "撤回申请"),
];

/// What a page form did, for the confirmation after its redirect. Only known names are shown,
/// so a crafted link cannot put text into the page.
fn done_label(name: &str) -> Option<&'static str> {
    if let Some((_, label)) = BUTTONS.iter().find(|(n, _)| *n == name) {
        return Some(label);
    }
    Some(match name {
        "upload" => "文件已上传并保存",
        "update_draft" => "申报信息已保存",
        "remove_material" => "已移除该文件（历史版本仍保留）",
        "issue_supplement_notice" => "已发出一次性补正告知",
        "reject" => "不予受理",
        "override_conditions" => "已记录核实理由",
        "record_site_evaluation" => "评分已提交",
        "record_expert_review" => "专家评审意见已提交",
        "decide" => "集体决策结果已记录",
        "record_complaint" => "投诉举报已记录",
        "resolve_complaint" => "调查结论已记录",
        "record_training" => "培训考试结果已记录",
        "verify_checklist_item" => "核验结果已记录",
        "file_annex1" => "专线备案表已提交",
        "request_annex2_acceptance" => "验收申请已提交",
        "review_annex2" => "验收结果已通知机构",
        "record_station_acceptance" => "服务站点验收已记录",
        "fail_preparation" => "已记录为视为放弃",
        "terminate" => "已终止审核",
        "pass_verification" => "信息核查通过",
        "join_round" => "已纳入评估批次",
        "comment_agreement" => "协议意见已提交",
        "revise_agreement" => "已发布修订后的协议文本",
        "decline_agreement" => "已记录不同意签订协议",
        _ => return None,
    })
}

pub async fn application(
    State(s): State<AppState>,
    MaybeUser(user): MaybeUser,
    Path(raw): Path<String>,
    Query(flash): Query<Flash>,
) -> Response {
    let Some(u) = user else { return Redirect::to("/login").into_response() };
    let done = flash.done.as_deref().and_then(done_label).map(|label| format!("已办理：{label}。"));
    match application_page(&s, u, &raw, done, None, None).await {
        Ok(r) => r,
        Err(e) => error_page(e),
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    user: Option<User>,
    role_zh: &'a str,
    heading: &'a str,
    message: String,
    /// The API's stable code, for scripts and tests (`data-code`); never shown.
    code: &'a str,
}

/// A full page (with the site layout) for an error that leaves nothing to show.
pub(crate) fn error_page(e: ApiError) -> Response {
    error_page_with(e.status, e.code, e.message)
}

/// As `error_page`, from the parts of an error.
pub(crate) fn error_page_with(status: StatusCode, code: &str, message: String) -> Response {
    let heading = match status {
        StatusCode::NOT_FOUND => "未找到",
        StatusCode::FORBIDDEN => "无权查看",
        StatusCode::SERVICE_UNAVAILABLE => "暂时无法办理",
        _ => "无法办理",
    };
    (status, render(ErrorPage { user: None, role_zh: "", heading, message, code })).into_response()
}

/// A complaint's verdict form as sent, to show again after a refusal: (complaint number, draft).
type VerdictDraft = Option<(i64, super::portal::ResolveDraft)>;

async fn application_page(
    s: &AppState,
    u: User,
    raw: &str,
    done: Option<String>,
    error: Option<String>,
    draft: VerdictDraft,
) -> Result<Response, ApiError> {
    let id: i64 = raw.parse().map_err(|_| ApiError::not_found())?;
    let today = s.clock.today();
    let actor = u.actor();
    let (mut app, scope) = s.store.readable(id, &actor, today).await?;
    // The agreement's current version (URC-NEGOTIATE: a revision) whose rendering failed after
    // its command is rendered now; idempotent, so a page view cannot issue it twice.
    if app.state == dingdian_core::lifecycle::State::ReadyToSign && app.data.agreement.is_none() && !app.data.institution_signed {
        if let Err(e) = s.store.issue_agreement(&s.files, id, s.clock.now()).await {
            tracing::error!(application = id, error = %e, "issuing the agreement failed");
        }
        app = s.store.application(id).await?.ok_or_else(ApiError::not_found)?;
    }
    let profile = s.store.profile_for(&app)?;
    // What this actor may do now is the core's answer; the page only renders it.
    let available = s.store.available(&app, &scope, &actor, today).await?;
    let actions = BUTTONS.iter().filter(|(name, _)| available.now.contains(name)).copied().collect();
    let views = s.store.clocks(&app, today).await?;
    let records = s.store.events(app.id).await?;
    let steps = step_bar(&profile, &app, &views, &records);
    let clocks = views
        .into_iter()
        .map(|c| ClockRow {
            overdue: c.status == dingdian_core::clocks::ClockStatus::Overdue,
            status: c.status.zh(),
            name: c.name,
            rule: c.rule,
            budget: c.budget.to_string(),
            started: c.started_on.to_string(),
            due: c.due.due.map(|d| format!("{d} 24:00")).unwrap_or_else(|| "无法确定".into()),
            explanation: c.due.explanation.iter().map(|l| visibility::cite_for(&actor, l)).collect(),
        })
        .collect();
    let notes = super::letters::page_notes(s, &app, &profile, &records);
    let events = records
        .into_iter()
        .map(|e| EventRow {
            seq: e.seq,
            at: super::beijing(&e.occurred_at),
            label: e.label,
            role: Role::parse(&e.actor_role).map(Role::zh).unwrap_or(""),
            change: if e.from_state == e.to_state { String::new() } else { format!("{} → {}", e.from_state.zh(), e.to_state.zh()) },
        })
        .collect();
    let query_code = if visibility::sees_query_code(&actor) { s.store.query_code(app.id).await? } else { None };
    let mut portal = super::portal::build(s, &actor, &app, &profile, &available).await?;
    // A refused verdict is shown at its complaint's form; with no such form shown, at the top.
    let mut error = error;
    if let Some((number, draft)) = draft {
        let form_shown = portal.can_resolve;
        match portal.complaints.as_mut().filter(|_| form_shown).and_then(|list| list.iter_mut().find(|c| c.number == number && c.open)) {
            Some(c) => c.draft = draft,
            None => error = error.or(draft.error),
        }
    }
    let page = AppPage {
        steps,
        awaiting_supplement: app.state == dingdian_core::lifecycle::State::AwaitingSupplement,
        notes,
        today: today.to_string(),
        portal,
        query_code,
        is_institution: u.role() == Role::Institution,
        show_rules: visibility::sees_rule_ids(&actor),
        role_zh: u.role().zh(),
        user: Some(u),
        state_zh: app.state.zh(),
        profile_name: profile.name.clone(),
        app,
        clocks,
        events,
        actions,
        error,
        done,
    };
    Ok(render(page))
}

/// The deepest nesting of a form field name (`form.attachments.equipment_photos` is 3).
const MAX_FIELD_DEPTH: usize = 4;
/// The longest form field name and the most fields a command form may have (the largest real
/// form, the completeness review, has well under a hundred).
const MAX_FIELD_NAME: usize = 120;
const MAX_FIELDS: usize = 400;

/// Turns a page form into a command object. Field names carry their type after a colon and
/// their nesting with dots, so plain HTML forms (no JavaScript) can send any command:
/// `score:int`, `passed:bool`, `reasons:lines` (one per line), `systems:many` (repeated
/// checkboxes), `facts.pharmacists:staff` (lines of "name, yyyy-mm-dd"), `items.licence:problem`
/// (a completeness-review verdict). A later value of the same field wins, so a hidden
/// `x:bool=false` before a checkbox `x:bool=true` gives an unchecked box its value.
pub fn form_to_command(pairs: Vec<(String, String)>) -> Result<serde_json::Map<String, serde_json::Value>, ApiError> {
    use serde_json::{Map, Value, json};
    let mut root = Map::new();
    let mut review: Vec<(String, String, String)> = Vec::new();
    let mut reasons: std::collections::BTreeMap<String, String> = Default::default();
    if pairs.len() > MAX_FIELDS {
        return Err(ApiError::invalid("invalid_input", "表单字段过多，未保存。"));
    }
    for (key, raw) in pairs {
        if key.len() > MAX_FIELD_NAME {
            return Err(ApiError::invalid("invalid_input", "表单字段名无效。"));
        }
        let (path, ty) = key.split_once(':').unwrap_or((key.as_str(), if key == "expected_version" { "int" } else { "str" }));
        // No command nests deeper than a few levels; a deeper name is refused before it is built.
        if path.split('.').count() > MAX_FIELD_DEPTH {
            return Err(ApiError::invalid("invalid_input", "表单字段名无效。"));
        }
        let value = raw.trim();
        let v = match ty {
            "str" if value.is_empty() => continue,
            "str" => Value::String(value.to_owned()),
            "int" if value.is_empty() => continue,
            "int" => json!(value.parse::<i64>().map_err(|_| {
                let label = path.rsplit('.').next().and_then(dingdian_core::eligibility::Declaration::field_zh);
                let message = match label {
                    Some(l) => format!("“{l}”须填写整数，例如 12。"),
                    None => "此项须填写整数，例如 12。".to_owned(),
                };
                ApiError { detail: Some(json!({ "field": path })), ..ApiError::invalid("invalid_input", message) }
            })?),
            "bool" => Value::Bool(matches!(value, "true" | "on" | "1")),
            "lines" => Value::Array(value.lines().map(str::trim).filter(|l| !l.is_empty()).map(|l| json!(l)).collect()),
            "reasons" => Value::Array(value.lines().map(str::trim).filter(|l| !l.is_empty()).map(|l| json!({ "text": l })).collect()),
            // Reasons citing a rule (URC-REV-1: a refusal for planning): `reasons:cite:URC-REV-1`.
            cite if cite.starts_with("cite:") => {
                let rule = cite.trim_start_matches("cite:");
                Value::Array(value.lines().map(str::trim).filter(|l| !l.is_empty()).map(|l| json!({ "rule": rule, "text": l })).collect())
            }
            "staff" => Value::Array(
                value
                    .lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .map(|l| {
                        let (name, start) = l.split_once([',', '，', ' ']).unwrap_or((l, ""));
                        json!({ "name": name.trim(), "contract_start": start.trim() })
                    })
                    .collect(),
            ),
            "many" => {
                let slot = insert_path(&mut root, path, Value::Null);
                match slot {
                    Value::Array(a) => a.push(json!(value)),
                    other => *other = json!([value]),
                }
                continue;
            }
            "problem" => {
                review.push((path.to_owned(), value.to_owned(), String::new()));
                continue;
            }
            "reason" => {
                reasons.insert(path.to_owned(), value.to_owned());
                continue;
            }
            _ => return Err(ApiError::invalid("invalid_input", format!("未知的字段类型“{ty}”。"))),
        };
        *insert_path(&mut root, path, Value::Null) = v;
    }
    // The completeness review: one verdict per slot; the problems become the notice's items.
    if !review.is_empty() {
        let items: Vec<Value> = review
            .into_iter()
            .filter(|(_, verdict, _)| verdict != "complete")
            .map(|(path, verdict, _)| {
                let slot = path.rsplit('.').next().unwrap_or_default().to_owned();
                let reason = reasons.get(&path).cloned().unwrap_or_default();
                json!({ "slot": slot, "problem": verdict, "reason": reason })
            })
            .collect();
        root.remove("items");
        root.insert("items".into(), Value::Array(items));
    }
    Ok(root)
}

/// The value at a dotted path, created as needed.
fn insert_path<'a>(
    root: &'a mut serde_json::Map<String, serde_json::Value>,
    path: &str,
    init: serde_json::Value,
) -> &'a mut serde_json::Value {
    let mut parts = path.split('.');
    let first = parts.next().unwrap_or_default();
    let mut cur = root.entry(first.to_owned()).or_insert(init.clone());
    for p in parts {
        if !cur.is_object() {
            *cur = serde_json::Value::Object(Default::default());
        }
        cur = match cur {
            serde_json::Value::Object(map) => map.entry(p.to_owned()).or_insert(init.clone()),
            // Made an object just above.
            other => other,
        };
    }
    cur
}

/// `POST /applications/{id}/act`: any command from a page form (see `form_to_command`); the
/// same checks as the API. The result is shown on the application page.
pub async fn act(
    State(s): State<AppState>,
    MaybeUser(user): MaybeUser,
    Path(raw): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let Some(u) = user else { return Redirect::to("/login").into_response() };
    let Ok(id) = raw.parse::<i64>() else { return error_page(ApiError::not_found()) };
    // The confirmation page's own fields are not part of the command.
    let flag = |name: &str| pairs.iter().any(|(k, v)| k == name && v == "1");
    let (confirmed, read_agreement) = (flag("confirmed"), flag("read_agreement"));
    let pairs: Vec<(String, String)> = pairs.into_iter().filter(|(k, _)| k != "confirmed" && k != "read_agreement").collect();
    let pairs_kept = pairs.clone();
    let outcome = async {
        // Scope first, as in the API.
        let (app, _) = s.store.readable(id, &u.actor(), s.clock.today()).await?;
        require_verdict(&pairs)?;
        let body = form_to_command(pairs)?;
        let (expected, cmd) = super::api::parse_command(body)?;
        // Issue #16 item 3: an irreversible act is confirmed on a second page first — and only
        // offered there when it would be allowed now (a refusal shows at once, as before).
        if let Some(c) = dingdian_core::lifecycle::confirmation_for(&cmd)
            && (!confirmed || (c.read_agreement && !read_agreement))
        {
            s.store.check(id, &u.actor(), &cmd, s.clock.now()).await.map_err(ApiError::from)?;
            let unread = confirmed && c.read_agreement && !read_agreement;
            return Ok(Err((c, app, unread)));
        }
        s.store.execute(id, &u.actor(), expected, &cmd, s.clock.now()).await.map_err(ApiError::from)?;
        Ok::<_, ApiError>(Ok(cmd.name()))
    }
    .await;
    match outcome {
        Ok(Ok(name)) => Redirect::to(&format!("/applications/{id}?done={name}")).into_response(),
        Ok(Err((c, app, unread))) => confirm_page(u, app, c, pairs_kept, unread),
        Err(e) if e.code == "not_found" => error_page(e),
        Err(e) => match resolve_draft(&pairs_kept, &e) {
            // The verdict form's refusal is shown at the form, with what was typed kept.
            Some(draft) => {
                let status = e.status;
                match application_page(&s, u, &raw, None, None, Some(draft)).await {
                    Ok(page) => (status, page).into_response(),
                    Err(e) => error_page(e),
                }
            }
            None => refusal_page(&s, u, &raw, e).await,
        },
    }
}

#[derive(Template)]
#[template(path = "confirm.html")]
pub(crate) struct ConfirmPage<'a> {
    pub user: Option<User>,
    pub role_zh: &'a str,
    /// Where the confirmed form goes, and where "back" leads.
    pub action: String,
    pub back: String,
    /// What the act is about (an application, a round).
    pub subject: String,
    pub c: dingdian_core::lifecycle::Confirmation,
    /// The act's form fields, sent again with the confirmation.
    pub fields: Vec<(String, String)>,
    /// The agreement to read (signing).
    pub agreement: Option<String>,
    /// The signer confirmed without ticking that they read the agreement.
    pub unread: bool,
    /// URC-EVAL-1: the visit day is a rest day or holiday (what it is), to be confirmed.
    pub rest_day: Option<String>,
}

/// The second page of an irreversible act on an application: what will happen, what cannot be
/// undone, and (for signing) the agreement with a box the signer ticks. Nothing has changed yet.
fn confirm_page(
    u: User,
    app: dingdian_store::AppRecord,
    c: dingdian_core::lifecycle::Confirmation,
    fields: Vec<(String, String)>,
    unread: bool,
) -> Response {
    let status = if unread { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let page = ConfirmPage {
        role_zh: u.role().zh(),
        user: Some(u),
        action: format!("/applications/{}/act", app.id),
        back: format!("/applications/{}", app.id),
        subject: format!("申请 {}（{}）", app.number, app.institution_name),
        agreement: c.read_agreement.then(|| format!("/applications/{}/documents/agreement", app.id)),
        c,
        fields,
        unread,
        rest_day: None,
    };
    (status, render(page)).into_response()
}

/// Verdicts a page form offers as a choice without a default, so nobody rules by not looking:
/// (command, field, its values, the refusal when none is chosen).
const VERDICTS: &[(&str, &str, &[&str], &str)] = &[
    // HRB-NOTICE / URC-RES-2: the finding on a complaint.
    ("resolve_complaint", "founded:bool", &["true", "false"], "请选择调查结论：属实或不属实。"),
    // HRB-EVAL-2 / URC-EVAL-3: the experts' recommendation.
    ("record_expert_review", "recommendation", &["pass", "fail"], "请选择评审意见：通过或不通过。"),
    // URC-EVAL-4: the collective decision.
    ("decide", "outcome", &["pass", "fail"], "请选择决策结果：通过或不通过。"),
    // HRB-ANNEX2: the acceptance test's result.
    ("review_annex2", "passed:bool", &["true", "false"], "请选择验收结果：通过或不通过。"),
];

/// A verdict form sent without its choice is refused in Chinese before it becomes a command.
fn require_verdict(pairs: &[(String, String)]) -> Result<(), ApiError> {
    let command = pairs.iter().rev().find(|(k, _)| k == "command").map(|(_, v)| v.as_str());
    for (name, field, values, refusal) in VERDICTS {
        if command == Some(*name) && !pairs.iter().any(|(k, v)| k == field && values.contains(&v.as_str())) {
            return Err(ApiError::invalid("verdict_missing", *refusal));
        }
    }
    Ok(())
}

/// After a refused verdict form: the complaint it was for and what was typed, with the error to
/// show at the choice. `None` for any other form.
fn resolve_draft(pairs: &[(String, String)], e: &ApiError) -> VerdictDraft {
    let field = |name: &str| pairs.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    if field("command") != Some("resolve_complaint") {
        return None;
    }
    let number = field("number:int")?.trim().parse().ok()?;
    let founded = match field("founded:bool") {
        Some("true") => Some(true),
        Some("false") => Some(false),
        _ => None,
    };
    let draft =
        super::portal::ResolveDraft { finding: field("finding").unwrap_or_default().to_owned(), founded, error: Some(e.message.clone()) };
    Some((number, draft))
}

/// Commands that make sense for many applications at once, with their labels.
pub const BULK: &[(&str, &str)] =
    &[("publish_notice", "发布公示（同一批次）"), ("accept", "受理"), ("schedule_evaluation", "安排现场踏查")];

#[derive(Template)]
#[template(path = "bulk.html")]
struct BulkPage<'a> {
    user: Option<User>,
    role_zh: &'a str,
    label: &'static str,
    ok: usize,
    failed: usize,
    /// (id, number, institution, refusal — empty when done)
    rows: Vec<(i64, String, String, String)>,
}

/// `POST /applications/bulk`: one command on many applications (e.g. one notice batch, HRB-NOTICE
/// / URC-RES-2: the same publication day, so the same calendar-computed end). Each application is
/// decided on its own, against its current version; one refusal leaves the others done.
pub async fn bulk(State(s): State<AppState>, MaybeUser(user): MaybeUser, Form(pairs): Form<Vec<(String, String)>>) -> Response {
    let Some(u) = user else { return Redirect::to("/login").into_response() };
    let command = pairs.iter().find(|(k, _)| k == "command").map(|(_, v)| v.as_str()).unwrap_or_default();
    let Some((name, label)) = BULK.iter().find(|(n, _)| *n == command).copied() else {
        return error_page(ApiError::invalid("invalid_input", "请选择可批量办理的操作。"));
    };
    let ids: Vec<i64> = pairs.iter().filter(|(k, _)| k == "ids").filter_map(|(_, v)| v.parse().ok()).collect();
    if ids.is_empty() || ids.len() > 500 {
        return error_page(ApiError::invalid("invalid_input", "请勾选要办理的申请（一次最多 500 件）。"));
    }
    let Some(cmd) = Command::probe(name) else { return error_page(ApiError::invalid("invalid_input", "操作无效。")) };
    let now = s.clock.now();
    let mut rows = Vec::new();
    for id in ids {
        let row = match s.store.readable(id, &u.actor(), s.clock.today()).await {
            Ok((app, _)) => {
                let refusal = s.store.execute(id, &u.actor(), app.version, &cmd, now).await.err().map(|e| ApiError::from(e).message);
                (id, app.number, app.institution_name, refusal.unwrap_or_default())
            }
            // Missing or outside the user's scope: nothing about the application is shown.
            Err(e) => (id, id.to_string(), String::new(), ApiError::from(e).message),
        };
        rows.push(row);
    }
    tracing::info!(user_id = u.id, command = name, count = rows.len(), "bulk command");
    let ok = rows.iter().filter(|r| r.3.is_empty()).count();
    let failed = rows.len() - ok;
    render(BulkPage { role_zh: u.role().zh(), user: Some(u), label, ok, failed, rows })
}

/// The application page showing a refusal, with the status it deserves; nothing changed.
pub(super) async fn refusal_page(s: &AppState, u: User, raw: &str, e: ApiError) -> Response {
    let status = e.status;
    let refused = crate::refill::Refused::of(&e);
    match application_page(s, u, raw, None, Some(message(e)), None).await {
        Ok(page) => {
            let mut page = (status, page).into_response();
            if let Some(r) = refused {
                page.extensions_mut().insert(r);
            }
            page
        }
        Err(e) => error_page(e),
    }
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage<'a> {
    user: Option<User>,
    role_zh: &'a str,
    /// (the chain's name for people, the day's head)
    heads: Vec<(String, dingdian_store::DailyHead)>,
}

/// What people call an audit chain: its city's name, or the shared chain's.
fn chain_name(s: &AppState, chain: &str) -> String {
    if chain == dingdian_core::audit::SHARED_CHAIN {
        return "全省共用（不属于某一城市的记录）".to_owned();
    }
    s.store.current_profile(chain).map(|p| p.name.clone()).unwrap_or_else(|| chain.to_owned())
}

/// Public page: each audit chain's daily heads (G-AUDIT).
pub async fn audit_heads(State(s): State<AppState>, MaybeUser(user): MaybeUser) -> Response {
    match s.store.daily_heads(90).await {
        Ok(heads) => {
            let heads = heads.into_iter().map(|h| (chain_name(&s, &h.chain), h)).collect();
            render(AuditPage { role_zh: role_zh(&user), user, heads })
        }
        Err(e) => error_page(e.into()),
    }
}

/// The site's one script: progressive enhancement (upload progress); every page works without it.
pub async fn script() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=3600")],
        include_str!("../../static/app.js"),
    )
}

/// The site's one stylesheet (no inline styles or scripts, so the CSP can forbid them).
pub async fn stylesheet() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=3600")],
        include_str!("../../static/app.css"),
    )
}

pub struct RoundRow {
    id: i64,
    name: String,
    status: &'static str,
    commitment: String,
    public_value: String,
    visit_on: String,
    reveal_on: String,
    drawn: bool,
    /// The grouping (stage 2, the day before the visit) is drawn.
    grouped: bool,
    /// The draw recomputed from its record on the server (URC-EVAL-1, G-AUDIT): `None` before
    /// the draw, else the differences found (empty: it checks out).
    verification: Option<Vec<String>>,
    open: bool,
    committed: bool,
    /// URC-RES-1: the passed list's filing, as shown.
    filing: &'static str,
    /// The agency may file it now.
    can_file: bool,
    /// The drawn record as tables.
    detail: Option<super::round_pages::DrawDetail>,
}

#[derive(Template)]
#[template(path = "rounds.html")]
struct RoundsPage<'a> {
    user: Option<User>,
    role_zh: &'a str,
    rows: Vec<RoundRow>,
    is_agency: bool,
    today: String,
    error: Option<String>,
    done: Option<String>,
}

/// The agency's and supervisor's list of rounds, with each draw record to download and verify.
pub async fn rounds(State(s): State<AppState>, MaybeUser(user): MaybeUser, Query(flash): Query<Flash>) -> Response {
    let Some(u) = user else { return Redirect::to("/login").into_response() };
    let done = match flash.done.as_deref() {
        Some("create") => Some("已新建评估批次。".to_owned()),
        Some("commit") => Some("已公布承诺值。抽取时请使用事先约定的公开随机值。".to_owned()),
        Some("draw") => Some("已抽取现场评估人员，抽取记录可下载复核。评估人员与机构的分组将于现场评估前日由系统随机抽取。".to_owned()),
        Some("start") => Some("已开始现场评估。".to_owned()),
        Some("file") => Some("评估合格名单已报医疗保障行政部门备案，确认后方可公示。".to_owned()),
        _ => None,
    };
    rounds_page(&s, u, None, done).await
}

/// The rounds page with a message.
pub(super) async fn rounds_page(s: &AppState, u: User, error: Option<String>, done: Option<String>) -> Response {
    // G-DRAW: the rounds with their records are for the agency and the supervisors.
    if !visibility::sees_draw_record(&u.actor()) {
        return error_page(dingdian_core::lifecycle::Refusal::NotYourRole { required: Role::Supervisor }.into());
    }
    let mut rows = Vec::new();
    let rounds = match s.store.rounds(&u.city).await {
        Ok(r) => r,
        Err(e) => return error_page(e.into()),
    };
    // The city's institutions by code, to name the groups (loaded once, only if needed).
    let mut names: Option<std::collections::BTreeMap<String, String>> = None;
    let actor = u.actor();
    for r in rounds {
        let d = match s.store.round_draw(r.id).await {
            Ok(d) => d,
            Err(e) => return error_page(e.into()),
        };
        let record = d.as_ref().and_then(|d| d.record.as_ref());
        if record.is_some_and(dingdian_core::draw::is_grouped) && names.is_none() {
            match s.store.institutions(Some(&u.city)).await {
                Ok(list) => names = Some(list.into_iter().map(|i| (i.uscc, i.name)).collect()),
                Err(e) => return error_page(e.into()),
            }
        }
        let detail = record.map(|rec| super::round_pages::DrawDetail::new(&actor, rec, names.as_ref().unwrap_or(&Default::default())));
        rows.push(RoundRow {
            detail,
            id: r.id,
            name: r.name,
            status: if r.status == "open" { "待抽取" } else { "已抽取，评估中" },
            commitment: d.as_ref().map(|d| d.commitment.clone()).unwrap_or_default(),
            public_value: d.as_ref().and_then(|d| d.public_value.clone()).unwrap_or_default(),
            visit_on: d.as_ref().and_then(|d| d.visit_on).map(|v| v.to_string()).unwrap_or_default(),
            reveal_on: d.as_ref().and_then(|d| d.reveal_on).map(|v| v.to_string()).unwrap_or_default(),
            verification: d.as_ref().and_then(|d| d.record.as_ref()).map(|r| dingdian_core::draw::verify(r).err().unwrap_or_default()),
            open: r.status == "open",
            committed: d.is_some(),
            grouped: d.as_ref().and_then(|d| d.record.as_ref()).is_some_and(dingdian_core::draw::is_grouped),
            filing: match (&r.filed_at, &r.filing_acknowledged_at) {
                (_, Some(_)) => "已备案（行政部门已确认）",
                (Some(_), None) => "已报备案，待行政部门确认",
                (None, None) => "",
            },
            can_file: r.status != "open" && r.filed_at.is_none() && s.store.current_profile(&r.city).is_some_and(|p| p.filing.is_some()),
            drawn: d.is_some_and(|d| d.record.is_some()),
        });
    }
    let status = if error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let page = RoundsPage {
        role_zh: u.role().zh(),
        is_agency: u.role() == Role::Agency,
        today: s.clock.today().to_string(),
        user: Some(u),
        rows,
        error,
        done,
    };
    (status, render(page)).into_response()
}

#[derive(Template)]
#[template(path = "audit_verify.html")]
struct AuditVerifyPage<'a> {
    user: Option<User>,
    role_zh: &'a str,
    report: dingdian_store::AuditReport,
    /// (the chain's name for people, its verified entries and head)
    chains: Vec<(String, dingdian_store::ChainHead)>,
    /// The chain of the first entry that does not verify, for people.
    bad_chain: String,
}

/// The supervisor's page: the same check as `dingdian audit verify`.
pub async fn audit_verify(State(s): State<AppState>, MaybeUser(user): MaybeUser) -> Response {
    let Some(u) = user else { return Redirect::to("/login").into_response() };
    match s.store.verify_audit().await {
        Ok(report) => {
            let chains = report.chains.iter().map(|c| (chain_name(&s, &c.chain), c.clone())).collect();
            let bad_chain = report.first_bad.as_ref().map(|b| chain_name(&s, &b.chain)).unwrap_or_default();
            render(AuditVerifyPage { role_zh: u.role().zh(), user: Some(u), report, chains, bad_chain })
        }
        Err(e) => error_page(e.into()),
    }
}

#[derive(Template)]
#[template(path = "query.html")]
struct QueryPage<'a> {
    user: Option<User>,
    role_zh: &'a str,
    number: String,
    code: String,
    progress: Option<dingdian_store::Progress>,
    /// The step bar of the application found (none for one that ended before signing: the
    /// public record does not say in which stage).
    steps: Vec<StageRow>,
    error: Option<String>,
    contacts: Vec<(String, String)>,
}

#[derive(Deserialize, Default)]
pub struct QueryForm {
    number: Option<String>,
    code: Option<String>,
}

/// HRB-QUERY: anyone with an application number and its query code sees the stage and dates.
pub async fn query(State(s): State<AppState>, MaybeUser(user): MaybeUser, Query(q): Query<QueryForm>) -> Response {
    let (number, code) = (q.number.unwrap_or_default(), q.code.unwrap_or_default());
    // A letter's QR code carries the number only (the code is the institution's secret): the
    // form then opens with the number filled in, waiting for the code.
    let (progress, error) = if code.is_empty() {
        (None, None)
    } else {
        match s.store.progress(&number, &code).await {
            Ok(Some(p)) => (Some(p), None),
            Ok(None) => (None, Some("未找到：请核对申请编号和查询码是否正确。".to_owned())),
            Err(e) => return error_page(e.into()),
        }
    };
    let status = if error.is_some() { StatusCode::NOT_FOUND } else { StatusCode::OK };
    let contacts = contacts(&s, progress.as_ref().map(|p| p.city.as_str()));
    let steps = match &progress {
        Some(p) if !p.state.is_terminal() || p.state == dingdian_core::lifecycle::State::Signed => s
            .store
            .current_profile(&p.city)
            .map(|profile| stage_rows(dingdian_core::lifecycle::stages(&profile, p.state, None), &[]))
            .unwrap_or_default(),
        _ => Vec::new(),
    };
    (status, render(QueryPage { role_zh: role_zh(&user), user, number, code, progress, steps, error, contacts })).into_response()
}

/// Each city's contact and supervision channels (HRB-HOTLINE, URC-CHANNEL) as (city name,
/// "label：value；…"), from its profile: every city's, or one city's.
fn contacts(s: &AppState, city: Option<&str>) -> Vec<(String, String)> {
    s.store
        .current_profiles()
        .iter()
        .filter(|p| city.is_none_or(|c| p.id == c))
        .filter_map(|p| p.contacts_line().map(|line| (p.name.clone(), line)))
        .collect()
}

#[derive(Template)]
#[template(path = "notices.html")]
struct NoticesPage<'a> {
    user: Option<User>,
    role_zh: &'a str,
    /// Each notice with its city's name.
    rows: Vec<(dingdian_store::NoticeEntry, String)>,
    /// Each city's contact and supervision channels, "label：value；…" (HRB-HOTLINE, URC-CHANNEL).
    contacts: Vec<(String, String)>,
    /// The cities to filter by: (id, name), by name.
    cities: Vec<(String, String)>,
    /// The city chosen, if any (only one the deployment serves).
    city: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct NoticesQuery {
    city: Option<String>,
}

/// HRB-NOTICE / URC-RES-2: current and past notices, no sign-in needed, with each city's
/// contact channels from its profile (HRB-HOTLINE, URC-CHANNEL); filterable by city.
pub async fn notices(State(s): State<AppState>, MaybeUser(user): MaybeUser, Query(q): Query<NoticesQuery>) -> Response {
    let mut cities: Vec<(String, String)> = s.store.current_profiles().iter().map(|p| (p.id.clone(), p.name.clone())).collect();
    cities.sort_by(|a, b| a.1.cmp(&b.1));
    // A city the deployment does not serve is no filter (a hand-edited link shows everything).
    let city = q.city.filter(|c| cities.iter().any(|(id, _)| id == c));
    let names: std::collections::HashMap<String, String> = cities.iter().cloned().collect();
    let contacts = contacts(&s, city.as_deref());
    match s.store.notices(500, city.as_deref()).await {
        Ok(rows) => {
            let rows = rows
                .into_iter()
                .map(|n| {
                    let name = names.get(&n.city).cloned().unwrap_or_else(|| n.city.clone());
                    (n, name)
                })
                .collect();
            render(NoticesPage { role_zh: role_zh(&user), user, rows, contacts, cities, city })
        }
        Err(e) => error_page(e.into()),
    }
}

#[derive(Template)]
#[template(path = "notices_atom.xml")]
struct NoticesFeed {
    updated: String,
    /// Each notice with its city's contact channels (HRB-HOTLINE, URC-CHANNEL).
    rows: Vec<(dingdian_store::NoticeEntry, String)>,
}

/// The notices as an Atom feed.
pub async fn notices_feed(State(s): State<AppState>) -> Response {
    match s.store.notices(100, None).await {
        Ok(rows) => {
            let updated =
                rows.first().map(|n| format!("{}T00:00:00+08:00", n.published_on)).unwrap_or_else(|| "2026-01-01T00:00:00+08:00".into());
            let lines: std::collections::BTreeMap<String, String> =
                s.store.current_profiles().iter().filter_map(|p| Some((p.id.clone(), p.contacts_line()?))).collect();
            let rows = rows
                .into_iter()
                .map(|n| {
                    let line = lines.get(&n.city).cloned().unwrap_or_default();
                    (n, line)
                })
                .collect();
            match (NoticesFeed { updated, rows }).render() {
                Ok(xml) => ([(header::CONTENT_TYPE, "application/atom+xml; charset=utf-8")], xml).into_response(),
                Err(e) => {
                    tracing::error!(error = %e, "feed template");
                    StatusCode::INTERNAL_SERVER_ERROR.into_response()
                }
            }
        }
        Err(e) => error_page(e.into()),
    }
}

#[derive(Template)]
#[template(path = "complaint.html")]
struct ComplaintPage<'a> {
    user: Option<User>,
    role_zh: &'a str,
    number: String,
    receipt: Option<String>,
    error: Option<String>,
    contacts: Vec<(String, String)>,
}

#[derive(Deserialize, Default)]
pub struct NumberQuery {
    number: Option<String>,
}

/// The public complaint form (HRB-NOTICE, URC-RES-2).
pub async fn complaint_form(State(s): State<AppState>, MaybeUser(user): MaybeUser, Query(q): Query<NumberQuery>) -> Response {
    let contacts = contacts(&s, None);
    render(ComplaintPage { role_zh: role_zh(&user), user, number: q.number.unwrap_or_default(), receipt: None, error: None, contacts })
}

#[derive(Deserialize)]
pub struct ComplaintForm {
    number: String,
    content: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    contact: Option<String>,
}

/// `POST /complaints`: a multipart form (text fields, then up to three attachments). The
/// address's hourly limit is checked before any byte of an attachment is read, so a flood stores
/// nothing; attachments are streamed into the spool, hashed and typed like materials, and stored
/// only once the complaint is accepted.
pub async fn file_complaint(
    State(s): State<AppState>,
    ClientAddr(addr): ClientAddr,
    MaybeUser(user): MaybeUser,
    req: axum::extract::Request,
) -> Response {
    let role = role_zh(&user);
    let all_contacts = contacts(&s, None);
    let page = |status: StatusCode, number: String, receipt: Option<String>, error: Option<String>| {
        let contacts = all_contacts.clone();
        (status, render(ComplaintPage { role_zh: role, user: user.clone(), number, receipt, error, contacts })).into_response()
    };
    match s.store.complaint_attempt(addr.as_deref(), s.clock.now()).await {
        Ok(true) => {}
        Ok(false) => {
            let e = "提交过于频繁，请一小时后再试。如情况紧急，请直接联系医保经办机构。".to_owned();
            return page(StatusCode::TOO_MANY_REQUESTS, String::new(), None, Some(e));
        }
        Err(e) => return error_page(e.into()),
    }
    let mut f = ComplaintForm { number: String::new(), content: String::new(), name: None, contact: None };
    let mut files = Vec::new();
    // On a refusal the spooled attachments are dropped, which removes their spool files.
    // A refused form is shown again with what was typed (src/refill.rs; not the attachments).
    let typed = |f: &ComplaintForm| {
        let mut t = vec![("number".to_owned(), f.number.clone()), ("content".to_owned(), f.content.clone())];
        t.extend(f.name.iter().map(|n| ("name".to_owned(), n.clone())));
        t.extend(f.contact.iter().map(|c| ("contact".to_owned(), c.clone())));
        crate::refill::Typed(t)
    };
    if let Err(e) = read_complaint(&s, req, &mut f, &mut files).await {
        let mut shown = page(e.status, f.number.clone(), None, Some(e.message));
        shown.extensions_mut().insert(typed(&f));
        return shown;
    }
    let outcome = s.store.file_complaint_with(&f.number, f.name.as_deref(), f.contact.as_deref(), &f.content, files, s.clock.now()).await;
    match outcome {
        Ok(Ok(r)) => page(StatusCode::CREATED, f.number, Some(r), None),
        Ok(Err(dingdian_store::ComplaintError::Throttled)) => page(StatusCode::TOO_MANY_REQUESTS, f.number, None, None),
        Ok(Err(dingdian_store::ComplaintError::Invalid(m))) => {
            let mut shown = page(StatusCode::UNPROCESSABLE_ENTITY, f.number.clone(), None, Some(m));
            shown.extensions_mut().insert(typed(&f));
            shown
        }
        Err(e) => error_page(e.into()),
    }
}

/// The most a complaint's text field may take in the form (its content is at most 2,000
/// characters); the route's body limit is sized for the attachments.
const COMPLAINT_FIELD_BYTES: usize = 16 * 1024;

/// Reads the complaint form into `f`, spooling its attachments (nothing is stored yet).
async fn read_complaint(
    s: &AppState,
    req: axum::extract::Request,
    f: &mut ComplaintForm,
    files: &mut Vec<dingdian_store::Attachment>,
) -> Result<(), ApiError> {
    let invalid_form = |e: String| ApiError::invalid("invalid_form", format!("表单有误：{e}"));
    let interrupted = crate::extract::field_error;
    let content_type = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    if content_type.starts_with("application/x-www-form-urlencoded") {
        // Without attachments the form is small: the general limit, not the route's.
        let req = req.map(|body| axum::body::Body::new(http_body_util::Limited::new(body, crate::BODY_LIMIT)));
        let Form(form) = Form::<ComplaintForm>::from_request(req, s).await.map_err(|e| e.error)?;
        *f = form;
        return Ok(());
    }
    let mut form = axum::extract::Multipart::from_request(req, s).await.map_err(crate::extract::multipart_error)?;
    let limits = dingdian_store::files::Limits {
        max_bytes: dingdian_store::COMPLAINT_MAX_BYTES,
        allowed: vec![FileType::Pdf, FileType::Jpeg, FileType::Png],
    };
    while let Some(mut field) = form.next_field().await.map_err(interrupted)? {
        let name = field.name().unwrap_or_default().to_owned();
        if name == "attachments" {
            let file_name = field.file_name().unwrap_or_default().to_owned();
            if file_name.is_empty() {
                continue; // the empty file input of a form without attachments
            }
            if files.len() >= dingdian_store::COMPLAINT_MAX_FILES {
                return Err(ApiError::invalid("too_many_files", format!("最多附 {} 个文件。", dingdian_store::COMPLAINT_MAX_FILES)));
            }
            let file_name = dingdian_store::check_file_name(&file_name)?;
            let spooled = s
                .files
                .spool(futures_util::TryStreamExt::map_err(field, |e| e.to_string()), &limits)
                .await
                .map_err(dingdian_store::StoreError::File)?;
            files.push(dingdian_store::Attachment { name: file_name, spooled });
            continue;
        }
        let mut text = Vec::new();
        while let Some(chunk) = field.chunk().await.map_err(interrupted)? {
            if text.len() + chunk.len() > COMPLAINT_FIELD_BYTES {
                return Err(ApiError::invalid("field_too_long", "填写的内容过长，请精简后重新提交。"));
            }
            text.extend_from_slice(&chunk);
        }
        let text = String::from_utf8(text).map_err(|_| invalid_form("填写的内容不是有效的文字".into()))?;
        match name.as_str() {
            "number" => f.number = text,
            "content" => f.content = text,
            "name" => f.name = Some(text),
            "contact" => f.contact = Some(text),
            _ => {}
        }
    }
    Ok(())
}

#[derive(Template)]
#[template(path = "complaint_status.html")]
struct ComplaintStatusPage<'a> {
    user: Option<User>,
    role_zh: &'a str,
    c: dingdian_store::ComplaintStatus,
    /// When it was received and resolved, in Beijing time.
    received: String,
    resolved: Option<String>,
    contacts: Vec<(String, String)>,
}

pub async fn complaint_status(State(s): State<AppState>, MaybeUser(user): MaybeUser, Path(receipt): Path<String>) -> Response {
    match s.store.complaint_status(&receipt).await {
        Ok(Some(c)) => {
            let (received, resolved) = (super::beijing(&c.created_at), c.resolved_at.as_deref().map(super::beijing));
            render(ComplaintStatusPage { role_zh: role_zh(&user), user, c, received, resolved, contacts: contacts(&s, None) })
        }
        Ok(None) => error_page(ApiError::not_found()),
        Err(e) => error_page(e.into()),
    }
}
