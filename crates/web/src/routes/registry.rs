//! The institution registry API: institutions (one at a time or a CSV import), the people who
//! run them (resident ID numbers always masked here), their history, and identifier checks.

use crate::extract::Path;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use dingdian_core::eligibility::RecordKind;
use dingdian_core::ids::{self, ResidentId};
use dingdian_core::lifecycle::{Actor, Scope};
use dingdian_core::policy::Profile;
use dingdian_core::registry;
use dingdian_core::visibility;
use dingdian_store::{ImportError, NewInstitution, NewRecord, PersonView, RecordView};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::api::JsonObject;
use crate::auth::ApiUser;
use crate::{ApiError, AppState};

/// Reading an institution (G-VISIBILITY, decided by the core).
fn may_read(actor: &Actor, inst: &dingdian_store::InstitutionRecord) -> Result<(), ApiError> {
    Ok(visibility::can_read_institution(actor, &Scope::institution(inst.id, &inst.city, &inst.district))?)
}

/// Writing the registry: the agency or the administrator of the record's city (decided by the core).
fn may_write(actor: &Actor, city: &str) -> Result<(), ApiError> {
    Ok(visibility::can_write_registry(actor, city)?)
}

/// The institution named in the path, if the caller may write its registry entry.
async fn writable_institution(s: &AppState, raw: &str, u: &dingdian_store::User) -> Result<dingdian_store::InstitutionRecord, ApiError> {
    let inst = s.store.institution(id(raw)?).await?.ok_or_else(ApiError::not_found)?;
    may_write(&u.actor(), &inst.city)?;
    Ok(inst)
}

fn resident_id(raw: &str) -> Result<ResidentId, ApiError> {
    ResidentId::parse(raw).map_err(|e| ApiError::invalid(e.code(), format!("身份证号码有误：{}", e.message_zh())))
}

fn id(raw: &str) -> Result<i64, ApiError> {
    raw.parse().map_err(|_| ApiError::not_found())
}

pub async fn list(State(s): State<AppState>, ApiUser(u): ApiUser) -> Result<Json<Vec<dingdian_store::InstitutionRecord>>, ApiError> {
    let actor = u.actor();
    let all = s.store.institutions(Some(&u.city)).await?;
    Ok(Json(all.into_iter().filter(|i| may_read(&actor, i).is_ok()).collect()))
}

#[derive(Serialize)]
pub struct InstitutionView {
    institution: dingdian_store::InstitutionRecord,
    persons: Vec<PersonView>,
    records: Vec<RecordView>,
    /// Warnings for the agency (e.g. a USCC whose inner organisation code fails its check).
    warnings: Vec<String>,
}

pub async fn get(State(s): State<AppState>, ApiUser(u): ApiUser, Path(raw): Path<String>) -> Result<Json<InstitutionView>, ApiError> {
    let inst = s.store.institution(id(&raw)?).await?.ok_or_else(ApiError::not_found)?;
    may_read(&u.actor(), &inst)?;
    let warnings = ids::Uscc::parse(&inst.uscc).map(|c| c.warnings()).unwrap_or_default();
    let persons = s.store.persons(inst.id).await?;
    let records = s.store.records(inst.id).await?;
    Ok(Json(InstitutionView { institution: inst, persons, records, warnings }))
}

pub async fn create(State(s): State<AppState>, ApiUser(u): ApiUser, body: JsonObject) -> Result<impl IntoResponse, ApiError> {
    let profiles = s.store.current_profiles();
    let refs: Vec<&Profile> = profiles.iter().map(|p| &**p).collect();
    let field = |k: &str| match body.0.get(k) {
        Some(Value::String(v)) => v.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    };
    let row = registry::row(1, &field, &refs).map_err(|reason| ApiError::invalid("invalid_input", reason))?;
    may_write(&u.actor(), &row.city)?;
    let new = NewInstitution {
        uscc: &row.uscc,
        name: &row.name,
        kind: row.kind,
        category: &row.category,
        city: &row.city,
        district: &row.district,
        national_code: row.national_code.as_deref(),
        address: &row.address,
        beds: row.beds,
    };
    // A USCC already registered (in any city) is a conflict; the existing record is not shown.
    let id = s.store.create_institution(new, s.clock.now()).await?;
    let inst = s.store.institution(id).await?.ok_or_else(ApiError::not_found)?;
    Ok((StatusCode::CREATED, Json(inst)))
}

#[derive(Serialize)]
struct ImportRejected {
    code: &'static str,
    message: String,
    errors: Vec<registry::RowError>,
}

/// CSV import (UTF-8, BOM tolerated), all or nothing.
pub async fn import(State(s): State<AppState>, ApiUser(u): ApiUser, body: String) -> Result<axum::response::Response, ApiError> {
    may_write(&u.actor(), &u.city)?;
    // Every row must belong to the importer's city.
    match s.store.import_institutions_for_city(&body, &u.city, s.clock.now()).await {
        Ok(n) => Ok((StatusCode::CREATED, Json(serde_json::json!({ "imported": n }))).into_response()),
        Err(ImportError::Rows(errors)) => {
            let message = format!("导入未执行：{} 行有误，请修改后重新导入整个文件。", errors.len());
            Ok((StatusCode::UNPROCESSABLE_ENTITY, Json(ImportRejected { code: "import_rejected", message, errors })).into_response())
        }
        Err(ImportError::Store(e)) => Err(e.into()),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewPerson {
    resident_id: String,
    name: String,
    role: String,
}

pub async fn add_person(
    State(s): State<AppState>,
    ApiUser(u): ApiUser,
    Path(raw): Path<String>,
    body: JsonObject,
) -> Result<impl IntoResponse, ApiError> {
    let inst = writable_institution(&s, &raw, &u).await?;
    let p: NewPerson = body.into_typed()?;
    let rid = resident_id(&p.resident_id)?;
    let person_id = s.store.add_person(inst.id, &rid, &p.name, &p.role, s.clock.now()).await?;
    Ok((StatusCode::CREATED, Json(serde_json::json!({ "person_id": person_id, "resident_id": rid.masked() }))))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewRecordBody {
    kind: String,
    occurred_on: jiff::civil::Date,
    #[serde(default)]
    fulfilled: bool,
    #[serde(default)]
    until_on: Option<jiff::civil::Date>,
    source: String,
    #[serde(default)]
    note: String,
    /// Set to record a fact about a person (legal representative, principal, controller)
    /// instead of the institution; it then follows the person to every institution.
    #[serde(default)]
    person_resident_id: Option<String>,
}

pub async fn add_record(
    State(s): State<AppState>,
    ApiUser(u): ApiUser,
    Path(raw): Path<String>,
    body: JsonObject,
) -> Result<impl IntoResponse, ApiError> {
    let inst = writable_institution(&s, &raw, &u).await?;
    let r: NewRecordBody = body.into_typed()?;
    let kind = RecordKind::parse(&r.kind).ok_or_else(|| ApiError::invalid("invalid_input", format!("记录类型“{}”无效。", r.kind)))?;
    let person = match &r.person_resident_id {
        Some(p) => Some(resident_id(p)?),
        None => None,
    };
    let new = NewRecord {
        institution_id: if person.is_some() { None } else { Some(inst.id) },
        person: person.as_ref(),
        kind,
        occurred_on: r.occurred_on,
        fulfilled: r.fulfilled,
        until_on: r.until_on,
        source: &r.source,
        note: &r.note,
    };
    let record_id = s.store.add_record(new, Some(u.id), s.clock.now()).await?;
    Ok((StatusCode::CREATED, Json(serde_json::json!({ "record_id": record_id }))))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckBody {
    code: String,
}

pub async fn check_id(ApiUser(_): ApiUser, body: JsonObject) -> Result<Json<Value>, ApiError> {
    let b: CheckBody = body.into_typed()?;
    match ids::check(&b.code) {
        Ok((kind, warnings)) => Ok(Json(serde_json::json!({ "kind": kind, "warnings": warnings }))),
        Err(e) => Err(ApiError::invalid(e.code(), e.message_zh())),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RevealBody {
    /// Why the full number is needed (recorded in the audit chain).
    purpose: String,
}

/// The full resident ID number, for agency staff who need it; the read is chained into the
/// audit trail (G-AUDIT) before the number is returned.
pub async fn reveal_person(
    State(s): State<AppState>,
    ApiUser(u): ApiUser,
    Path((raw, person)): Path<(String, String)>,
    body: JsonObject,
) -> Result<Json<Value>, ApiError> {
    let inst = writable_institution(&s, &raw, &u).await?;
    let b: RevealBody = body.into_typed()?;
    if b.purpose.trim().is_empty() {
        return Err(ApiError::invalid("invalid_input", "请说明查看完整身份证号码的用途。"));
    }
    let full =
        s.store.reveal_resident_id(&u.actor(), inst.id, id(&person)?, &b.purpose, s.clock.now()).await?.ok_or_else(ApiError::not_found)?;
    Ok(Json(serde_json::json!({ "resident_id": full })))
}
