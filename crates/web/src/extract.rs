//! The request extractors every handler uses. They wrap axum's own, so a request that does not
//! parse is answered like every other refusal: JSON `{code, message}` on the API (a stable code,
//! a Chinese message, the parser's English wording only under `detail.reason` for the client's
//! developer), a Chinese page on page routes. Nothing a parser says reaches a person.

use axum::extract::rejection::{FormRejection, JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;

use crate::ApiError;

/// A refused request: answered as JSON on `/api/…`, as a page elsewhere.
#[derive(Debug)]
pub struct Rejected {
    pub error: ApiError,
    pub api: bool,
}

impl IntoResponse for Rejected {
    fn into_response(self) -> Response {
        if self.api { self.error.into_response() } else { crate::routes::error_page(self.error) }
    }
}

fn is_api(path: &str) -> bool {
    path.starts_with("/api/")
}

fn with_reason(mut e: ApiError, reason: String) -> ApiError {
    e.detail = Some(serde_json::json!({ "reason": reason }));
    e
}

/// The error for a body over the route's limit.
pub fn too_large() -> ApiError {
    ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", "提交的内容过大，未保存。请删减后重新提交。")
}

fn form_error(rej: FormRejection) -> ApiError {
    let reason = rej.body_text();
    let e = match rej.status() {
        StatusCode::PAYLOAD_TOO_LARGE => too_large(),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => {
            ApiError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", "表单提交方式有误，请在本站页面中填写后提交。")
        }
        _ => ApiError::invalid("invalid_form", "表单内容不完整或格式有误，未保存。请检查后重新提交。"),
    };
    with_reason(e, reason)
}

/// A URL-encoded form (`application/x-www-form-urlencoded`).
pub struct Form<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Form<T> {
    type Rejection = Rejected;
    async fn from_request(req: Request, state: &S) -> Result<Self, Rejected> {
        let api = is_api(req.uri().path());
        axum::Form::<T>::from_request(req, state).await.map(|axum::Form(v)| Form(v)).map_err(|rej| Rejected { error: form_error(rej), api })
    }
}

/// Query parameters.
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = Rejected;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Rejected> {
        let api = is_api(parts.uri.path());
        axum::extract::Query::<T>::from_request_parts(parts, state).await.map(|axum::extract::Query(v)| Query(v)).map_err(
            |rej: QueryRejection| {
                let e = ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", "网址中的查询条件有误，请返回上一页重新选择。");
                Rejected { error: with_reason(e, rej.body_text()), api }
            },
        )
    }
}

/// Path parameters. A path that does not parse names no record: not found.
pub struct Path<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Path<T> {
    type Rejection = Rejected;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Rejected> {
        let api = is_api(parts.uri.path());
        axum::extract::Path::<T>::from_request_parts(parts, state).await.map(|axum::extract::Path(v)| Path(v)).map_err(
            |rej: PathRejection| {
                let e = match rej {
                    PathRejection::FailedToDeserializePathParams(_) => ApiError::not_found(),
                    other => {
                        tracing::error!(error = %other.body_text(), "path parameters");
                        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "服务器内部错误，请稍后重试；问题已记录。")
                    }
                };
                Rejected { error: e, api }
            },
        )
    }
}

/// A typed JSON body.
pub struct Json<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = Rejected;
    async fn from_request(req: Request, state: &S) -> Result<Self, Rejected> {
        let api = is_api(req.uri().path());
        axum::Json::<T>::from_request(req, state).await.map(|axum::Json(v)| Json(v)).map_err(|rej: JsonRejection| {
            let reason = rej.body_text();
            let e = match &rej {
                JsonRejection::MissingJsonContentType(_) => ApiError::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "unsupported_media_type",
                    "请求体须为 JSON（Content-Type: application/json）。",
                ),
                JsonRejection::JsonSyntaxError(_) => ApiError::new(StatusCode::BAD_REQUEST, "malformed_json", "JSON 格式错误。"),
                JsonRejection::JsonDataError(_) => ApiError::invalid("invalid_input", "字段缺失、类型或取值有误，详见 detail.reason。"),
                _ if rej.status() == StatusCode::PAYLOAD_TOO_LARGE => too_large(),
                _ => ApiError::new(StatusCode::BAD_REQUEST, "bad_request", "无法读取请求体。"),
            };
            Rejected { error: with_reason(e, reason), api }
        })
    }
}

/// A multipart body that cannot be read as a form.
pub fn multipart_error(rej: axum::extract::multipart::MultipartRejection) -> ApiError {
    let e = ApiError::new(StatusCode::BAD_REQUEST, "invalid_form", "上传表单有误，请在本站页面中选择文件后提交。");
    with_reason(e, rej.body_text())
}

/// A part of a multipart body that broke off or went over its limit: nothing was kept.
pub fn field_error(err: axum::extract::multipart::MultipartError) -> ApiError {
    let reason = err.body_text();
    let e = if err.status() == StatusCode::PAYLOAD_TOO_LARGE {
        too_large()
    } else {
        ApiError::new(StatusCode::BAD_REQUEST, "upload_interrupted", "上传中断，未保存，请重新提交。")
    };
    with_reason(e, reason)
}
