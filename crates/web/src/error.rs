//! The one place errors become HTTP responses: a stable `code`, a Chinese `message`, and the
//! status. Internal errors are logged once here and never shown raw.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use dingdian_core::lifecycle::Refusal;
use dingdian_store::StoreError;
use dingdian_store::files::IngestError;
use serde::Serialize;

/// An error answered to an API client.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub detail: Option<serde_json::Value>,
}

#[derive(Serialize)]
struct Body<'a> {
    code: &'a str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: &'a Option<serde_json::Value>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError { status, code, message: message.into(), detail: None }
    }

    pub fn unauthenticated() -> Self {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthenticated", "请先登录。")
    }

    pub fn not_found() -> Self {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", "未找到该记录。")
    }

    pub fn invalid(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
    }
}

impl From<Refusal> for ApiError {
    fn from(r: Refusal) -> Self {
        let status = match &r {
            Refusal::NotYourRole { .. }
            | Refusal::NotYourRegion
            | Refusal::NotYourInstitution
            | Refusal::NotAssigned
            | Refusal::NotRevealed { .. } => StatusCode::FORBIDDEN,
            Refusal::Invalid { .. } | Refusal::KindNotServed { .. } | Refusal::DateOutOfRange { .. } | Refusal::RestDayVisit { .. } => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            Refusal::Annex1Unsigned { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Refusal::NotAccepted { .. } | Refusal::ConditionsUnmet { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Refusal::ReasonsRequired { .. } | Refusal::DepartureReasonRequired { .. } | Refusal::SourcesRequired { .. } => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            Refusal::FilingNotAcknowledged { .. } | Refusal::OutsidePlan { .. } => StatusCode::CONFLICT,
            Refusal::Banned { .. } | Refusal::TooEarly { .. } | Refusal::DeadlinePassed { .. } | Refusal::AgencyLimitPassed { .. } => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            Refusal::NotAllowedInState { .. }
            | Refusal::StaleVersion { .. }
            | Refusal::SecondSupplementNotice
            | Refusal::NotYetDue { .. }
            | Refusal::OpenComplaints
            | Refusal::ApplicationOpen
            | Refusal::NotNow { .. }
            | Refusal::SlotClosed { .. }
            | Refusal::SupplementIncomplete { .. }
            | Refusal::PreparationIncomplete { .. }
            | Refusal::NoNegotiation
            | Refusal::AgreementVersionMismatch { .. }
            | Refusal::Annex2AttemptsUsed { .. }
            | Refusal::MissingCalendar(_) => StatusCode::CONFLICT,
        };
        let detail = match &r {
            Refusal::StaleVersion { expected, actual } => Some(serde_json::json!({ "expected": expected, "actual": actual })),
            Refusal::Banned { until, rule } => Some(serde_json::json!({ "until": until, "rule": rule })),
            Refusal::TooEarly { earliest, rule } => Some(serde_json::json!({ "earliest": earliest, "rule": rule })),
            Refusal::DeadlinePassed { due, rule } | Refusal::AgencyLimitPassed { due, rule } => {
                Some(serde_json::json!({ "due": due, "rule": rule }))
            }
            // The field a form shows the message at (src/refill.rs).
            Refusal::Invalid { field, .. } => Some(serde_json::json!({ "field": field })),
            Refusal::NotRevealed { on } => Some(serde_json::json!({ "reveal_on": on })),
            Refusal::RestDayVisit { on } => Some(serde_json::json!({ "visit_on": on })),
            Refusal::NotYourRole { required } => Some(serde_json::json!({ "required_role": required })),
            Refusal::NotAllowedInState { state, command } => Some(serde_json::json!({ "state": state, "command": command })),
            Refusal::NotAccepted { findings } | Refusal::ConditionsUnmet { findings } => Some(serde_json::json!({ "findings": findings })),
            Refusal::SlotClosed { slot, .. } => Some(serde_json::json!({ "slot": slot })),
            Refusal::SupplementIncomplete { names } => Some(serde_json::json!({ "materials": names })),
            Refusal::PreparationIncomplete { missing } => Some(serde_json::json!({ "missing": missing })),
            Refusal::Annex1Unsigned { slot, .. } => Some(serde_json::json!({ "slot": slot })),
            Refusal::Annex2AttemptsUsed { attempts } => Some(serde_json::json!({ "attempts": attempts })),
            Refusal::ReasonsRequired { rule } | Refusal::SourcesRequired { rule } => Some(serde_json::json!({ "rule": rule })),
            Refusal::DepartureReasonRequired { rule, .. } => Some(serde_json::json!({ "rule": rule })),
            Refusal::FilingNotAcknowledged { rule, filed } => Some(serde_json::json!({ "rule": rule, "filed": filed })),
            Refusal::OutsidePlan { rule, designated, capacity } => {
                Some(serde_json::json!({ "rule": rule, "designated": designated, "capacity": capacity }))
            }
            _ => None,
        };
        ApiError { status, code: r.code(), message: r.message_zh(), detail }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Refused(r) => r.into(),
            StoreError::NotFound => ApiError::not_found(),
            StoreError::Conflict { actual } => ApiError {
                detail: Some(serde_json::json!({ "actual": actual })),
                ..ApiError::new(StatusCode::CONFLICT, "conflict", "该申请刚被他人更新，本次操作未生效，请刷新后重试。")
            },
            StoreError::Rejected { code, message } => ApiError::new(StatusCode::CONFLICT, code, message),
            StoreError::Unacceptable { code, message } => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, message),
            StoreError::File(f) => {
                let status = match &f {
                    IngestError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
                    IngestError::WrongType { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    IngestError::Empty => StatusCode::UNPROCESSABLE_ENTITY,
                    IngestError::Body(_) => StatusCode::BAD_REQUEST,
                    IngestError::Storage(detail) => {
                        tracing::error!(error = %detail, "file storage");
                        StatusCode::SERVICE_UNAVAILABLE
                    }
                };
                ApiError::new(status, f.code(), f.message_zh())
            }
            StoreError::Db(e) if unavailable(&e) => {
                tracing::error!(error = %e, "database unavailable");
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "database_unavailable", "数据库暂时不可用，本次操作未生效，请稍后重试。")
            }
            other => {
                tracing::error!(error = %other, "internal error");
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "服务器内部错误，请稍后重试；问题已记录。")
            }
        }
    }
}

/// Whether a database error means "the database cannot be reached or written now" (stopped,
/// restarting, out of connections, read-only or full disk) rather than a fault of the request.
fn unavailable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => {
            // PostgreSQL: class 08 (connection), 53 (resources), 57P01–57P03 (shutting down);
            // SQLite: read-only, busy, locked, disk full, I/O error.
            let code = db.code().unwrap_or_default();
            if let Some(pg) = db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>() {
                // FATAL ends the connection: the server refused or dropped it (shutting down,
                // not accepting connections, out of slots).
                matches!(pg.severity(), sqlx::postgres::PgSeverity::Fatal | sqlx::postgres::PgSeverity::Panic)
                    || code.starts_with("08")
                    || code.starts_with("53")
                    || matches!(code.as_ref(), "57P01" | "57P02" | "57P03" | "25006")
            } else {
                // SQLite's primary result code is the low byte of the extended one.
                code.parse::<i32>().is_ok_and(|c| matches!(c & 0xff, 5 | 6 | 8 | 10 | 13))
            }
        }
        _ => false,
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Body { code: self.code, message: &self.message, detail: &self.detail };
        (self.status, Json(body)).into_response()
    }
}
