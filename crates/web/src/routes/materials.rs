//! Materials over HTTP: streamed uploads (raw body for the API, multipart for the pages), the
//! per-slot view, and downloads with a Chinese-safe `Content-Disposition` (RFC 5987/6266).

use crate::extract::{Path, Query};
use axum::Json;
use axum::body::Body;
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use dingdian_core::lifecycle::{FileRef, Problem, State as AppStateKind};
use dingdian_core::policy::MaterialPhase;
use dingdian_store::{AppRecord, Executed, Upload, User};
use futures_util::TryStreamExt;
use serde::{Deserialize, Serialize};

use crate::auth::{ApiUser, MaybeUser};
use crate::{ApiError, AppState};

#[derive(Deserialize)]
pub struct UploadQuery {
    /// The user's file name (kept as data).
    #[serde(default)]
    name: String,
}

fn id(raw: &str) -> Result<i64, ApiError> {
    raw.parse().map_err(|_| ApiError::not_found())
}

/// `PUT /api/applications/{id}/materials/{slot}?name=…`: the body is the file, streamed.
pub async fn upload(
    State(s): State<AppState>,
    ApiUser(u): ApiUser,
    Path((raw, slot)): Path<(String, String)>,
    Query(q): Query<UploadQuery>,
    req: Request,
) -> Result<(StatusCode, Json<Executed>), ApiError> {
    let app_id = id(&raw)?;
    let body = req.into_body().into_data_stream();
    let out = s.store.attach_material(&s.files, app_id, &u.actor(), Upload { slot: &slot, name: &q.name, body }, s.clock.now()).await?;
    tracing::info!(application = app_id, slot, user_id = u.id, "material uploaded");
    Ok((StatusCode::CREATED, Json(out)))
}

/// `POST /applications/{id}/materials/{slot}`: the page form's upload (multipart, no
/// JavaScript needed); the file field streams like the API's body.
pub async fn upload_form(
    State(s): State<AppState>,
    MaybeUser(user): MaybeUser,
    Path((raw, slot)): Path<(String, String)>,
    req: Request,
) -> Response {
    let Some(u) = user else { return Redirect::to("/login").into_response() };
    let Ok(app_id) = raw.parse::<i64>() else { return super::pages::error_page(ApiError::not_found()) };
    let outcome = async {
        // Scope first: someone outside the application's scope learns nothing from the form.
        s.store.readable(app_id, &u.actor(), s.clock.today()).await?;
        let mut form = Multipart::from_request(req, &s).await.map_err(crate::extract::multipart_error)?;
        let field = loop {
            match form.next_field().await {
                Ok(Some(f)) if f.name() == Some("file") => break f,
                Ok(Some(_)) => continue,
                Ok(None) => return Err(ApiError::invalid("file_missing", "请选择要上传的文件。")),
                Err(e) => return Err(crate::extract::field_error(e)),
            }
        };
        let name = field.file_name().unwrap_or_default().to_owned();
        let stream = field.map_err(|e| e.to_string());
        s.store
            .attach_material(&s.files, app_id, &u.actor(), Upload { slot: &slot, name: &name, body: stream }, s.clock.now())
            .await
            .map_err(ApiError::from)
    }
    .await;
    match outcome {
        Ok(_) => Redirect::to(&format!("/applications/{app_id}?done=upload#materials")).into_response(),
        Err(e) if e.code == "not_found" => super::pages::error_page(e),
        Err(e) => super::pages::refusal_page(&s, u, &raw, e).await,
    }
}

/// One slot as the institution and the reviewer see it.
#[derive(Debug, Serialize)]
pub struct SlotView {
    pub id: String,
    pub rule: String,
    pub name: String,
    pub types: String,
    pub max_mb: u32,
    pub multiple: bool,
    pub phase: MaterialPhase,
    /// May the institution change it now?
    pub open: bool,
    /// The supplement notice's finding for this slot, if any.
    pub problem: Option<Problem>,
    pub reason: Option<String>,
    /// Supplemented since the notice.
    pub supplemented: bool,
    pub files: Vec<FileRef>,
    /// Every version ever attached: (file, attached at), oldest first.
    pub history: Vec<(FileRef, String)>,
}

impl SlotView {
    pub fn phase_is_application(&self) -> bool {
        self.phase == MaterialPhase::Application
    }

    /// The history with Beijing times, for the page.
    pub fn history_shown(&self) -> Vec<(&FileRef, String)> {
        self.history.iter().map(|(f, at)| (f, super::beijing(at))).collect()
    }
}

/// The material slots of an application with their files and status.
/// `uploadable` is the core's answer to which slots the user may put a file into now.
pub async fn slot_views(s: &AppState, app: &AppRecord, uploadable: &[String]) -> Result<Vec<SlotView>, ApiError> {
    let profile = s.store.profile_for(app)?;
    let history = s.store.material_history(app.id).await?;
    let notice = s.store.events(app.id).await?.into_iter().rev().find_map(|e| match e.event {
        dingdian_core::lifecycle::Event::SupplementNoticeIssued { items, .. } => Some(items),
        _ => None,
    });
    let st = &app.data;
    Ok(profile
        .materials
        .iter()
        .filter(|m| m.applies_to.contains(&app.institution_kind()))
        .filter(|m| match m.phase {
            MaterialPhase::Application => true,
            MaterialPhase::Preparation => {
                matches!(app.state, AppStateKind::PresignPreparation | AppStateKind::ReadyToSign | AppStateKind::Signed)
            }
            // URC-REV-2: the reviewer's evidence, while it can be uploaded and once it holds files.
            MaterialPhase::Verification => uploadable.contains(&m.id) || st.materials.get(&m.id).is_some_and(|f| !f.is_empty()),
        })
        .map(|m| {
            // The notice's findings matter while the institution is supplementing.
            let item = notice
                .as_ref()
                .filter(|_| app.state == AppStateKind::AwaitingSupplement)
                .and_then(|items| items.iter().find(|i| i.slot == m.id));
            let open = uploadable.contains(&m.id);
            SlotView {
                id: m.id.clone(),
                rule: m.rule.clone(),
                name: m.name.clone(),
                types: m.types_label(),
                max_mb: m.max_mb,
                multiple: m.multiple,
                phase: m.phase,
                open,
                problem: item.map(|i| i.problem),
                reason: item.map(|i| i.reason.clone()),
                supplemented: st.supplemented_slots.contains(&m.id),
                files: st.materials.get(&m.id).cloned().unwrap_or_default(),
                history: history.iter().filter(|(slot, _, _)| slot == &m.id).map(|(_, f, at)| (f.clone(), at.clone())).collect(),
            }
        })
        .collect())
}

/// `GET /api/applications/{id}/materials`
pub async fn list(State(s): State<AppState>, ApiUser(u): ApiUser, Path(raw): Path<String>) -> Result<Json<Vec<SlotView>>, ApiError> {
    let today = s.clock.today();
    let (app, scope) = s.store.readable(id(&raw)?, &u.actor(), today).await?;
    let available = s.store.available(&app, &scope, &u.actor(), today).await?;
    Ok(Json(slot_views(&s, &app, &available.uploadable).await?))
}

/// `GET /api/applications/{id}/files/{sha256}` and the page route of the same shape: any file
/// of the application the caller may read, streamed.
pub async fn download(State(s): State<AppState>, MaybeUser(user): MaybeUser, Path((raw, sha)): Path<(String, String)>) -> Response {
    match serve(&s, user, &raw, &sha).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn serve(s: &AppState, user: Option<User>, raw: &str, sha: &str) -> Result<Response, ApiError> {
    let u = user.ok_or_else(ApiError::unauthenticated)?;
    let file = s.store.material_file(id(raw)?, &u.actor(), sha, s.clock.now()).await?;
    let (size, stream) = s.files.read(&file.sha256).await.map_err(dingdian_store::StoreError::File)?;
    let mut resp = Response::new(Body::from_stream(stream));
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(file.file_type.mime()));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(size));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    if let Ok(v) = HeaderValue::from_str(&content_disposition(&file.name)) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(resp)
}

/// `attachment; filename="<ASCII fallback>"; filename*=UTF-8''<percent-encoded>` (RFC 6266 with
/// RFC 5987 encoding), so Chinese names survive in every browser.
pub fn content_disposition(name: &str) -> String {
    let fallback: String =
        name.chars().map(|c| if c.is_ascii_graphic() && c != '"' && c != '\\' && c != '%' || c == ' ' { c } else { '_' }).collect();
    let mut encoded = String::new();
    for b in name.bytes() {
        // attr-char (RFC 5987): ALPHA / DIGIT / "!" / "#" / "$" / "&" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~"
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            encoded.push(b as char);
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    format!("attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::content_disposition;

    #[test]
    fn chinese_names_are_rfc5987_encoded() {
        assert_eq!(
            content_disposition("许可证 1.pdf"),
            "attachment; filename=\"___ 1.pdf\"; filename*=UTF-8''%E8%AE%B8%E5%8F%AF%E8%AF%81%201.pdf"
        );
        assert_eq!(content_disposition("a\"b.pdf"), "attachment; filename=\"a_b.pdf\"; filename*=UTF-8''a%22b.pdf");
    }
}
