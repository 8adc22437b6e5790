//! Printable documents: an HTML print view (with its own print stylesheet) and a PDF with an
//! embedded CJK font, for the application form, Annex 1, the evaluation summary and the
//! agreement. The agreement's PDF is the stored, signed file, never re-rendered.

use crate::extract::Path;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use dingdian_store::{DocKind, StoreError, User};

use crate::auth::MaybeUser;
use crate::{ApiError, AppState};

async fn load(s: &AppState, user: Option<User>, raw: &str, kind: &str) -> Result<(i64, DocKind, dingdian_docs::Document), ApiError> {
    let u = user.ok_or_else(ApiError::unauthenticated)?;
    let id: i64 = raw.parse().map_err(|_| ApiError::not_found())?;
    let kind = DocKind::parse(kind).ok_or_else(ApiError::not_found)?;
    let doc = s
        .store
        .document(id, &u.actor(), kind, s.clock.now())
        .await?
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "document_not_ready", format!("{}尚未生成。", kind.zh())))?;
    Ok((id, kind, doc))
}

/// `GET /applications/{id}/documents/{kind}`: the print view.
pub async fn view(State(s): State<AppState>, MaybeUser(user): MaybeUser, Path((raw, kind)): Path<(String, String)>) -> Response {
    match load(&s, user, &raw, &kind).await {
        Ok((id, kind, doc)) => {
            let body = dingdian_docs::render_html(&doc);
            let page = format!(
                "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
                 <title>{title}</title><link rel=\"stylesheet\" href=\"/static/print.css\"></head><body>\
                 <nav class=\"no-print\" aria-label=\"文书操作\"><a href=\"/applications/{id}\">返回申请</a> · <a href=\"/applications/{id}/documents/{slug}/pdf\">下载 PDF</a>（使用浏览器“打印”可直接打印本页）</nav>\
                 <main>{body}</main></body></html>",
                title = html_escape(&doc.title),
                slug = kind.slug(),
            );
            Html(page).into_response()
        }
        Err(e) => e.into_response(),
    }
}

/// `GET /applications/{id}/documents/{kind}/pdf` (and the API route of the same shape).
pub async fn pdf(State(s): State<AppState>, MaybeUser(user): MaybeUser, Path((raw, kind)): Path<(String, String)>) -> Response {
    match pdf_bytes(&s, user, &raw, &kind).await {
        Ok((name, bytes)) => {
            let mut resp = Response::new(Body::from(bytes));
            let h = resp.headers_mut();
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/pdf"));
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
            if let Ok(v) = HeaderValue::from_str(&super::materials::content_disposition(&name)) {
                h.insert(header::CONTENT_DISPOSITION, v);
            }
            resp
        }
        Err(e) => e.into_response(),
    }
}

async fn pdf_bytes(s: &AppState, user: Option<User>, raw: &str, kind: &str) -> Result<(String, Vec<u8>), ApiError> {
    let (id, kind, doc) = load(s, user, raw, kind).await?;
    if kind == DocKind::Agreement {
        let app = s.store.application(id).await?.ok_or_else(ApiError::not_found)?;
        if let Some(file) = app.data.agreement {
            let bytes = s.files.read_all(&file.sha256).await.map_err(StoreError::File)?;
            return Ok((file.name, bytes.to_vec()));
        }
    }
    let bytes = dingdian_docs::render_pdf(&doc).map_err(|e| {
        tracing::error!(error = %e, "rendering a PDF");
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "文书生成失败，请稍后重试；问题已记录。")
    })?;
    Ok((format!("{}.pdf", doc.title), bytes))
}

/// The print views' stylesheet.
pub async fn print_css() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=3600")], dingdian_docs::PRINT_CSS)
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}
