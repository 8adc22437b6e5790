//! Letters to the applying institution (受理通知书, 补正材料通知书 …) as an HTML print view and a
//! PDF, and the inbox page that links each message to its letter. What a letter says is the
//! core's (`lifecycle::letters`), who may read it too (`can_read`, through the store).
//!
//! Not responsible for writing inbox messages (they are written with the event, in the store).

use askama::Template;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use dingdian_core::lifecycle::letters::Letter;
use dingdian_core::lifecycle::{Event, State as LifecycleState};
use dingdian_core::policy::Profile;
use dingdian_store::{AppRecord, EventRecord, InboxMessage, User};

use super::pages::{render, role_zh};
use crate::auth::MaybeUser;
use crate::extract::Path;
use crate::{ApiError, AppState};

/// The letter `seq` of application `raw`, with the application, for a reader the core allows.
async fn load(s: &AppState, user: Option<User>, raw: &str, seq: &str) -> Result<(AppRecord, Letter), ApiError> {
    let u = user.ok_or_else(ApiError::unauthenticated)?;
    let id: i64 = raw.parse().map_err(|_| ApiError::not_found())?;
    let seq: i64 = seq.parse().map_err(|_| ApiError::not_found())?;
    let (app, letters) = s.store.letters(id, &u.actor(), s.clock.today()).await?;
    let letter = letters.into_iter().find(|l| l.seq == seq).ok_or_else(ApiError::not_found)?;
    Ok((app, letter))
}

/// HRB-QUERY: the progress-query address printed as a QR code. It carries the application
/// number only, never the query code: a letter is printed, forwarded and filed, and the code
/// is the institution's secret (`visibility::sees_query_code` keeps it from evaluators and
/// experts, who may read a letter after the reveal), so whoever scans it still needs the code.
/// The host is the one the reader reached the service by (a browser cannot be made to send
/// another), kept to host-name characters.
fn query_url(headers: &HeaderMap, number: &str) -> String {
    let path = format!("/query?number={number}");
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).filter(|h| {
        !h.is_empty() && h.len() <= 253 && h.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
    });
    match host {
        Some(h) => format!("{}://{h}{path}", if crate::auth::over_tls(headers) { "https" } else { "http" }),
        None => path,
    }
}

fn document(s: &AppState, headers: &HeaderMap, app: &AppRecord, letter: &Letter) -> Result<dingdian_docs::Document, ApiError> {
    let profile = s.store.profile_for(app)?;
    let signer = profile.agreement.as_ref().map(|a| a.agency.clone()).unwrap_or_else(|| format!("{}医疗保障经办机构", profile.name));
    Ok(dingdian_store::letter_document(letter, app, &signer, &query_url(headers, &app.number)))
}

/// `GET /applications/{id}/letters/{seq}`: the letter's print view.
pub async fn view(
    State(s): State<AppState>,
    MaybeUser(user): MaybeUser,
    headers: HeaderMap,
    Path((raw, seq)): Path<(String, String)>,
) -> Response {
    let (app, letter) = match load(&s, user, &raw, &seq).await {
        Ok(x) => x,
        Err(e) => return e.into_response(),
    };
    let doc = match document(&s, &headers, &app, &letter) {
        Ok(d) => d,
        Err(e) => return e.into_response(),
    };
    let body = dingdian_docs::render_html(&doc);
    let title = html_escape(&doc.title);
    let id = app.id;
    Html(format!(
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title><link rel=\"stylesheet\" href=\"/static/print.css\"></head><body>\
         <nav class=\"no-print\" aria-label=\"文书操作\"><a href=\"/applications/{id}\">返回申请</a> · <a href=\"/inbox\">返回消息</a> · <a href=\"/applications/{id}/letters/{seq}/pdf\">下载 PDF</a>（使用浏览器“打印”可直接打印本页）</nav>\
         <main>{body}</main></body></html>",
        seq = letter.seq,
    ))
    .into_response()
}

/// `GET /applications/{id}/letters/{seq}/pdf`: the letter as a PDF with the CJK font.
pub async fn pdf(
    State(s): State<AppState>,
    MaybeUser(user): MaybeUser,
    headers: HeaderMap,
    Path((raw, seq)): Path<(String, String)>,
) -> Response {
    let result = async {
        let (app, letter) = load(&s, user, &raw, &seq).await?;
        let doc = document(&s, &headers, &app, &letter)?;
        let bytes = dingdian_docs::render_pdf(&doc).map_err(|e| {
            tracing::error!(error = %e, "rendering a letter");
            ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "文书生成失败，请稍后重试；问题已记录。")
        })?;
        Ok::<_, ApiError>((format!("{}-{}.pdf", doc.title, letter.number), bytes))
    }
    .await;
    match result {
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

/// One row of the inbox page.
pub struct InboxRow {
    id: i64,
    subject: String,
    body: String,
    unread: bool,
    at: String,
    /// The letter's address, where the message announces one.
    letter: Option<String>,
}

#[derive(Template)]
#[template(path = "inbox.html")]
struct InboxPage<'a> {
    user: Option<User>,
    role_zh: &'a str,
    rows: Vec<InboxRow>,
}

/// How many messages the inbox page shows.
const INBOX_PAGE: i64 = 100;

/// `GET /inbox`: the signed-in user's messages, newest first, unread marked.
pub async fn inbox(State(s): State<AppState>, MaybeUser(user): MaybeUser) -> Response {
    let Some(u) = user.as_ref() else { return Redirect::to("/login").into_response() };
    let rows = async {
        let messages: Vec<InboxMessage> = s.store.inbox(u.id, INBOX_PAGE).await?;
        let links = s.store.inbox_letters(&messages).await?;
        Ok::<_, dingdian_store::StoreError>(
            messages
                .into_iter()
                .zip(links)
                .map(|(m, link)| InboxRow {
                    id: m.id,
                    unread: m.read_at.is_none(),
                    at: super::beijing(&m.created_at),
                    letter: link.map(|(app, seq)| format!("/applications/{app}/letters/{seq}")),
                    subject: m.subject,
                    body: m.body,
                })
                .collect::<Vec<_>>(),
        )
    }
    .await;
    match rows {
        Ok(rows) => render(InboxPage { role_zh: role_zh(&user), user, rows }),
        Err(e) => super::error_page(e.into()),
    }
}

/// `POST /inbox/{id}/read`: marks a message read (only the user's own; marking twice is no
/// error) and opens its letter, or goes back to the inbox.
pub async fn read(State(s): State<AppState>, MaybeUser(user): MaybeUser, Path(raw): Path<String>) -> Response {
    let Some(u) = user else { return Redirect::to("/login").into_response() };
    let Ok(id) = raw.parse::<i64>() else { return super::error_page(ApiError::not_found()) };
    let result = async {
        s.store.mark_read(u.id, id, s.clock.now()).await?;
        let messages = s.store.inbox_message(u.id, id).await?;
        if messages.is_empty() {
            // Another user's message (or none): not theirs to find.
            return Ok(None);
        }
        let links = s.store.inbox_letters(&messages).await?;
        Ok::<_, dingdian_store::StoreError>(Some(links.into_iter().flatten().next()))
    }
    .await;
    match result {
        Ok(Some(Some((app, seq)))) => Redirect::to(&format!("/applications/{app}/letters/{seq}")).into_response(),
        Ok(Some(None)) => Redirect::to("/inbox").into_response(),
        Ok(None) => super::error_page(ApiError::not_found()),
        Err(e) => super::error_page(e.into()),
    }
}

/// What the application page shows beside the letters: the supplement deadline (HRB-ACC-2), the
/// receipt of a submission with its next step, and the letters issued so far.
#[derive(Default)]
pub struct PageNotes {
    pub supplement: Option<String>,
    /// (number, submitted at, next step) while the application waits for its first look.
    pub receipt: Option<(String, String, String)>,
    /// (address, title, number), oldest first.
    pub letters: Vec<(String, &'static str, String)>,
}

pub fn page_notes(s: &AppState, app: &AppRecord, profile: &Profile, records: &[EventRecord]) -> PageNotes {
    use dingdian_core::lifecycle::letters as core;
    let history: Vec<core::LetterEvent> =
        records.iter().map(|e| core::LetterEvent { seq: e.seq, on: e.occurred_on, event: &e.event }).collect();
    let letters = core::letters(&history, &app.number, profile, &s.store.calendar())
        .into_iter()
        .map(|l| (format!("/applications/{}/letters/{}", app.id, l.seq), l.kind.title(), l.number))
        .collect();
    let supplement = (app.state == LifecycleState::AwaitingSupplement).then(|| {
        let due = records.iter().rev().find_map(|e| match &e.event {
            Event::SupplementNoticeIssued { due, .. } => Some(*due),
            _ => None,
        });
        core::supplement_banner(profile, due.flatten())
    });
    let receipt = (app.state == LifecycleState::Submitted).then(|| {
        records
            .iter()
            .rev()
            .find(|e| matches!(e.event, Event::Submitted { .. } | Event::Supplemented { .. }))
            .map(|e| (app.number.clone(), super::beijing_zh(&e.occurred_at), core::after_submit(profile)))
    });
    PageNotes { supplement, receipt: receipt.flatten(), letters }
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}
