//! JSON API handlers. Every error is `{ "code", "message" }` with a stable code.

use crate::extract::{Path, Query};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use dingdian_core::clocks::ClockView;
use dingdian_core::lifecycle::{COMMAND_NAMES, Command, Role, State as AppStateKind};
use dingdian_core::visibility;
use dingdian_store::{AppRecord, EventRecord, Executed, RoundRecord, User};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::auth::{ApiUser, ClientAddr};
use crate::{ApiError, AppState};
use dingdian_store::LoginError;

/// A JSON object body: content type checked, size limited, syntax checked, each failure with
/// its own code.
pub struct JsonObject(pub serde_json::Map<String, Value>);

impl FromRequest<AppState> for JsonObject {
    type Rejection = ApiError;
    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.split(';').next().is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json")));
        if !is_json {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "请求体须为 JSON（Content-Type: application/json）。",
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rej| {
            if rej.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "payload_too_large",
                    format!("请求体过大，上限为 {} KiB。", crate::BODY_LIMIT / 1024),
                )
            } else {
                ApiError::new(StatusCode::BAD_REQUEST, "bad_request", "无法读取请求体。")
            }
        })?;
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Object(map)) => Ok(JsonObject(map)),
            Ok(_) => Err(ApiError::invalid("invalid_input", "请求体须为 JSON 对象。")),
            Err(e) => Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "malformed_json",
                format!("JSON 格式错误（第 {} 行第 {} 列）。", e.line(), e.column()),
            )),
        }
    }
}

impl JsonObject {
    /// Deserialises into a typed request; type errors become `invalid_input`.
    pub fn into_typed<T: serde::de::DeserializeOwned>(self) -> Result<T, ApiError> {
        serde_json::from_value(Value::Object(self.0)).map_err(|e| {
            let mut err = ApiError::invalid("invalid_input", "字段缺失、类型或取值有误，详见 detail.reason。");
            err.detail = Some(serde_json::json!({ "reason": e.to_string() }));
            err
        })
    }
}

/// Path ids are numbers; anything else is simply not found.
fn id(raw: &str) -> Result<i64, ApiError> {
    raw.parse().map_err(|_| ApiError::not_found())
}

pub async fn health() -> &'static str {
    "ok"
}

pub async fn fallback() -> ApiError {
    ApiError::not_found()
}

pub async fn openapi() -> Json<Value> {
    Json(crate::openapi::document())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    username: String,
    password: String,
}

#[derive(Serialize)]
pub struct LoginResponse {
    token: String,
    user: User,
}

/// Bearer tokens live 12 hours.
const TOKEN_TTL: i64 = 12 * 3600;

pub async fn login(
    State(s): State<AppState>,
    ClientAddr(addr): ClientAddr,
    headers: axum::http::HeaderMap,
    body: JsonObject,
) -> Result<impl IntoResponse, ApiError> {
    let req: LoginRequest = body.into_typed()?;
    let device = crate::auth::device(&headers);
    let (user, device) = match s.store.login(&req.username, &req.password, addr.as_deref(), device.as_deref(), s.clock.now()).await? {
        Ok(signed) => (signed.user, signed.device),
        Err(LoginError::Invalid) => return Err(ApiError::new(StatusCode::UNAUTHORIZED, "invalid_credentials", "用户名或密码错误。")),
        Err(LoginError::Throttled { retry_after }) => return Err(crate::auth::throttled(retry_after)),
    };
    let token = s.store.create_session(user.id, "bearer", TOKEN_TTL, s.clock.now()).await?;
    tracing::info!(user_id = user.id, "api login");
    let mut resp = (StatusCode::CREATED, Json(LoginResponse { token, user })).into_response();
    if let Some(v) = crate::auth::device_cookie(&device, &headers) {
        resp.headers_mut().append(axum::http::header::SET_COOKIE, v);
    }
    Ok(resp)
}

pub async fn logout(State(s): State<AppState>, headers: axum::http::HeaderMap) -> Result<StatusCode, ApiError> {
    let token = crate::auth::token(&headers).ok_or_else(ApiError::unauthenticated)?;
    s.store.end_session(&token).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn me(ApiUser(u): ApiUser) -> Json<User> {
    Json(u)
}

pub async fn profiles(State(s): State<AppState>, ApiUser(_): ApiUser) -> Json<Value> {
    Json(serde_json::to_value(s.store.current_profiles().iter().map(|p| &**p).collect::<Vec<_>>()).unwrap_or_default())
}

#[derive(Deserialize)]
pub struct ListQuery {
    state: Option<String>,
    limit: Option<i64>,
}

pub async fn list_applications(
    State(s): State<AppState>,
    ApiUser(u): ApiUser,
    Query(q): Query<ListQuery>,
) -> Result<Json<Vec<AppRecord>>, ApiError> {
    let state = match q.state.as_deref() {
        Some(st) => Some(AppStateKind::parse(st).ok_or_else(|| ApiError::invalid("invalid_input", format!("未知的状态“{st}”。")))?),
        None => None,
    };
    let limit = q.limit.unwrap_or(200).clamp(1, 1000);
    Ok(Json(s.store.applications_for(&u.actor(), state, limit, s.clock.today()).await?))
}

pub async fn create_application(State(s): State<AppState>, ApiUser(u): ApiUser) -> Result<impl IntoResponse, ApiError> {
    let app = s.store.create_application(&u.actor(), s.clock.now()).await?;
    Ok((StatusCode::CREATED, Json(app)))
}

/// An application with everything needed to understand it.
#[derive(Serialize)]
pub struct ApplicationView {
    pub application: AppRecord,
    /// HRB-QUERY: with the number, lets anyone the institution tells follow the progress.
    /// Shown to the institution and the staff handling it, not to evaluators or experts.
    pub query_code: Option<String>,
    pub events: Vec<EventRecord>,
    pub clocks: Vec<ClockView>,
}

pub async fn get_application(
    State(s): State<AppState>,
    ApiUser(u): ApiUser,
    Path(raw): Path<String>,
) -> Result<Json<ApplicationView>, ApiError> {
    let (app, _) = s.store.readable(id(&raw)?, &u.actor(), s.clock.today()).await?;
    let events = s.store.events(app.id).await?;
    let clocks = s.store.clocks(&app, s.clock.today()).await?;
    let query_code = if visibility::sees_query_code(&u.actor()) { s.store.query_code(app.id).await? } else { None };
    Ok(Json(ApplicationView { application: app, query_code, events, clocks }))
}

/// Splits a command request into the expected version and the typed command.
pub fn parse_command(mut body: serde_json::Map<String, Value>) -> Result<(i64, Command), ApiError> {
    let expected = match body.remove("expected_version") {
        Some(Value::Number(n)) if n.as_i64().is_some_and(|v| v >= 0) => n.as_i64().unwrap_or(0),
        Some(_) => return Err(ApiError::invalid("invalid_input", "expected_version 须为非负整数。")),
        None => return Err(ApiError::invalid("invalid_input", "缺少 expected_version（您看到的申请版本号）。")),
    };
    match body.get("command") {
        Some(Value::String(c)) if COMMAND_NAMES.contains(&c.as_str()) => {}
        Some(Value::String(c)) => return Err(ApiError::new(StatusCode::BAD_REQUEST, "unknown_command", format!("未知的操作“{c}”。"))),
        _ => return Err(ApiError::invalid("invalid_input", "缺少 command（操作名称）。")),
    }
    let sent: Vec<String> = body.keys().cloned().collect();
    let cmd: Command = JsonObject(body).into_typed()?;
    // Serde accepts stray fields on commands without parameters; refuse them all alike.
    let known = serde_json::to_value(&cmd).unwrap_or_default();
    if let Some(extra) = sent.iter().find(|k| known.get(k.as_str()).is_none()) {
        return Err(ApiError::invalid("invalid_input", format!("操作“{}”没有字段“{extra}”。", cmd.name())));
    }
    Ok((expected, cmd))
}

pub async fn command(
    State(s): State<AppState>,
    ApiUser(u): ApiUser,
    Path(raw): Path<String>,
    body: JsonObject,
) -> Result<Json<Executed>, ApiError> {
    let app_id = id(&raw)?;
    // Scope first: someone outside the application's scope learns nothing from validation.
    s.store.readable(app_id, &u.actor(), s.clock.today()).await?;
    let (expected, cmd) = parse_command(body.0)?;
    let out = s.store.execute(app_id, &u.actor(), expected, &cmd, s.clock.now()).await?;
    tracing::info!(application = app_id, command = cmd.name(), user_id = u.id, "command executed");
    Ok(Json(out))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewRound {
    name: String,
}

pub async fn list_rounds(State(s): State<AppState>, ApiUser(u): ApiUser) -> Result<Json<Vec<RoundRecord>>, ApiError> {
    Ok(Json(s.store.rounds(&u.city).await?))
}

pub async fn create_round(State(s): State<AppState>, ApiUser(u): ApiUser, body: JsonObject) -> Result<impl IntoResponse, ApiError> {
    let req: NewRound = body.into_typed()?;
    let round = s.store.create_round(&u.actor(), &req.name, s.clock.now()).await?;
    Ok((StatusCode::CREATED, Json(round)))
}

#[derive(Serialize)]
pub struct Started {
    applications: Vec<i64>,
}

pub async fn start_round(State(s): State<AppState>, ApiUser(u): ApiUser, Path(raw): Path<String>) -> Result<Json<Started>, ApiError> {
    if u.role() != Role::Agency {
        return Err(dingdian_core::lifecycle::Refusal::NotYourRole { required: Role::Agency }.into());
    }
    let applications = s.store.start_round(id(&raw)?, &u.actor(), s.clock.now()).await?;
    Ok(Json(Started { applications }))
}

pub async fn calendar_years(State(s): State<AppState>) -> Json<Vec<dingdian_store::CalendarYearInfo>> {
    Json(s.store.calendar_years())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewCalendarYear {
    /// A name for error messages, e.g. `2027.toml`.
    #[serde(default)]
    name: Option<String>,
    /// The year file's TOML text (the format of `calendars/2026.toml`).
    toml: String,
}

/// Administrator: load a calendar year without a new release; open deadlines are re-projected.
pub async fn load_calendar_year(State(s): State<AppState>, ApiUser(u): ApiUser, body: JsonObject) -> Result<impl IntoResponse, ApiError> {
    dingdian_core::province::may_load_calendar(&u.actor())?;
    let req: NewCalendarYear = body.into_typed()?;
    let name = req.name.unwrap_or_else(|| "calendar.toml".into());
    let load = s.store.load_calendar_year(&name, &req.toml, Some(u.id), s.clock.now()).await.map_err(|e| match e {
        dingdian_store::StoreError::Rejected { code: "invalid_calendar", message } => {
            ApiError::invalid("invalid_calendar", format!("节假日安排文件有误：\n{message}"))
        }
        other => other.into(),
    })?;
    Ok((StatusCode::CREATED, Json(load)))
}

/// Supervisor (and administrator): recompute the audit chain (G-AUDIT).
pub async fn verify_audit(State(s): State<AppState>, ApiUser(u): ApiUser) -> Result<Json<dingdian_store::AuditReport>, ApiError> {
    if !matches!(u.role(), Role::Supervisor | Role::Admin) {
        return Err(dingdian_core::lifecycle::Refusal::NotYourRole { required: Role::Supervisor }.into());
    }
    Ok(Json(s.store.verify_audit().await?))
}

/// Public: each day's chain head, so later rewriting is visible outside the database.
pub async fn audit_heads(State(s): State<AppState>) -> Result<Json<Vec<dingdian_store::DailyHead>>, ApiError> {
    Ok(Json(s.store.daily_heads(90).await?))
}

pub async fn inbox(State(s): State<AppState>, ApiUser(u): ApiUser) -> Result<Json<Vec<dingdian_store::InboxMessage>>, ApiError> {
    Ok(Json(s.store.inbox(u.id, 200).await?))
}

pub async fn mark_read(State(s): State<AppState>, ApiUser(u): ApiUser, Path(raw): Path<String>) -> Result<StatusCode, ApiError> {
    if s.store.mark_read(u.id, id(&raw)?, s.clock.now()).await? { Ok(StatusCode::NO_CONTENT) } else { Err(ApiError::not_found()) }
}

#[derive(Serialize)]
pub struct FailedNotification {
    id: i64,
    recipient: String,
    subject: String,
    error: Option<String>,
}

/// The agency's alert: e-mails that finally failed after every retry.
pub async fn failed_notifications(State(s): State<AppState>, ApiUser(u): ApiUser) -> Result<Json<Vec<FailedNotification>>, ApiError> {
    let rows = s.store.failed_notifications(&u.city).await?;
    Ok(Json(rows.into_iter().map(|(id, recipient, subject, error)| FailedNotification { id, recipient, subject, error }).collect()))
}

/// The complaints on an application with the complainants' details: the agency and supervisors.
pub async fn complaints(State(s): State<AppState>, ApiUser(u): ApiUser, Path(raw): Path<String>) -> Result<Json<Vec<Value>>, ApiError> {
    if !visibility::sees_complainant(&u.actor()) {
        return Err(dingdian_core::lifecycle::Refusal::NotYourRole { required: Role::Agency }.into());
    }
    let (app, _) = s.store.readable(id(&raw)?, &u.actor(), s.clock.today()).await?;
    let rows = s.store.complaints(app.id).await?;
    Ok(Json(
        rows.into_iter()
            .map(|c| {
                let files = c.files();
                let mut v = serde_json::to_value(&c).unwrap_or_default();
                v["attachments"] = serde_json::to_value(files).unwrap_or_default();
                v
            })
            .collect(),
    ))
}

// --- urc: planning (URC-REV-1) ---

/// `GET /api/applications/{id}/planning`: the district's planning figures for the application's
/// kind and whether one more designation fits (the core's assessment); `null` where the city
/// does not plan.
pub async fn planning(
    State(s): State<AppState>,
    ApiUser(u): ApiUser,
    Path(raw): Path<String>,
) -> Result<Json<Option<dingdian_core::planning::Assessment>>, ApiError> {
    let (app, _) = s.store.readable(id(&raw)?, &u.actor(), s.clock.today()).await?;
    Ok(Json(s.store.planning_for(&app).await?))
}
