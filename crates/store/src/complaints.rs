//! Complaints from the public during a notice (HRB-NOTICE, URC-RES-2). Anyone may complain,
//! named or anonymously; each complaint is recorded on the application through the command path
//! (as the system, for the public) and kept, with the complainant's details, where only the
//! agency and supervisors can read it — the complained-about institution never sees who
//! complained. Submissions are throttled per address in the database, so the limit holds across
//! server instances. The complainant follows the outcome with a receipt number.

use dingdian_core::lifecycle::{Actor, Command, FileRef, Refusal, State};
use jiff::Timestamp;
use rand::RngCore;
use serde::Serialize;

use crate::files::Spooled;
use crate::{Result, Store, StoreError, with_pool};

/// At most this many complaints from one address per hour.
pub const COMPLAINTS_PER_HOUR: i64 = 5;
/// Complaints (and, separately, registrations) an hour from all requests together whose address
/// is not one client's: a backstop for a proxy that is not configured as trusted.
pub const UNATTRIBUTED_PER_HOUR: i64 = 100;
const MAX_CONTENT: usize = 2000;

/// Why a complaint was not taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ComplaintError {
    Throttled,
    Invalid(String),
}

/// A complaint as the agency sees it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ComplaintRecord {
    pub receipt: String,
    pub number: i64,
    pub name: Option<String>,
    pub contact: Option<String>,
    pub content: String,
    pub status: String,
    pub finding: Option<String>,
    pub created_at: String,
    pub resolved_at: Option<String>,
    /// Attached files (JSON list of `FileRef`).
    #[serde(skip)]
    pub attachments: String,
}

impl ComplaintRecord {
    pub fn files(&self) -> Vec<dingdian_core::lifecycle::FileRef> {
        serde_json::from_str(&self.attachments).unwrap_or_default()
    }
}

/// What the complainant sees with the receipt.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ComplaintStatus {
    pub receipt: String,
    pub status: String,
    pub finding: Option<String>,
    pub created_at: String,
    pub resolved_at: Option<String>,
}

/// Details kept beside the `complaint_recorded` event, written in the same transaction.
pub(crate) struct NewComplaint {
    pub receipt: String,
    pub name: Option<String>,
    pub contact: Option<String>,
    pub content: String,
    pub attachments: Vec<dingdian_core::lifecycle::FileRef>,
}

/// A file sent with a complaint: the user's (checked) file name and the spooled bytes, not yet
/// stored. Dropping it removes the spool file.
pub struct Attachment {
    pub name: String,
    pub spooled: Spooled,
}

/// The refusal of one file too many.
fn too_many_files() -> String {
    format!("最多附 {COMPLAINT_MAX_FILES} 个文件。")
}

/// Attachments to a complaint: at most this many files…
pub const COMPLAINT_MAX_FILES: usize = 3;
/// …of at most this size each (PDF, JPEG or PNG).
pub const COMPLAINT_MAX_BYTES: u64 = 10 * 1024 * 1024;

fn receipt() -> String {
    const ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";
    let mut raw = [0u8; 10];
    rand::rng().fill_bytes(&mut raw);
    format!("TS{}", raw.iter().map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char).collect::<String>())
}

fn clean(s: Option<&str>, max: usize) -> std::result::Result<Option<String>, ComplaintError> {
    if let Some(r) = s.and_then(|s| dingdian_core::text::check("content", s, true).err()) {
        return Err(ComplaintError::Invalid(r.message_zh()));
    }
    match s.map(str::trim).filter(|s| !s.is_empty()) {
        Some(v) if v.chars().count() > max => Err(ComplaintError::Invalid(format!("填写内容不能超过 {max} 字。"))),
        other => Ok(other.map(str::to_owned)),
    }
}

impl Store {
    /// Files a complaint against the application with this number, if it is in its notice.
    pub async fn file_complaint(
        &self,
        number: &str,
        name: Option<&str>,
        contact: Option<&str>,
        content: &str,
        addr: Option<&str>,
        now: Timestamp,
    ) -> Result<std::result::Result<String, ComplaintError>> {
        if !self.complaint_attempt(addr, now).await? {
            return Ok(Err(ComplaintError::Throttled));
        }
        self.file_complaint_with(number, name, contact, content, Vec::new(), now).await
    }

    /// Counts one complaint attempt from the client at `addr`; false when it is over its hourly
    /// limit (checked before any attachment is read, so a flood stores nothing). Requests whose
    /// address is not one client's (`None`: a proxy that did not say whom for) share one
    /// larger backstop instead, so no client's limit is ever shared with others.
    pub async fn complaint_attempt(&self, addr: Option<&str>, now: Timestamp) -> Result<bool> {
        match addr {
            Some(a) => self.attempt(&format!("addr:{a}"), COMPLAINTS_PER_HOUR, now).await,
            None => self.attempt("addr:unattributed", UNATTRIBUTED_PER_HOUR, now).await,
        }
    }

    /// Counts one self-registration attempt, like `complaint_attempt`.
    pub async fn registration_attempt(&self, addr: Option<&str>, now: Timestamp) -> Result<bool> {
        match addr {
            Some(a) => self.attempt(&format!("register:{a}"), crate::REGISTRATIONS_PER_HOUR, now).await,
            None => self.attempt("register:unattributed", UNATTRIBUTED_PER_HOUR, now).await,
        }
    }

    /// Counts one attempt under `key` (kept in the database, so the limit holds across server
    /// instances); false when there were already `per_hour` in the last hour.
    pub async fn attempt(&self, key: &str, per_hour: i64, now: Timestamp) -> Result<bool> {
        let t = now.as_second();
        let (recent,): (i64,) = with_pool!(self, p => {
            sqlx::query_as("select count(*) from complaint_attempts where key = $1 and at > $2").bind(key).bind(t - 3600).fetch_one(p).await?
        });
        with_pool!(self, p => {
            sqlx::query("insert into complaint_attempts (key, at) values ($1, $2)").bind(key).bind(t).execute(p).await?;
            sqlx::query("delete from complaint_attempts where at < $1").bind(t - 86400).execute(p).await?;
        });
        Ok(recent < per_hour)
    }

    /// Files a complaint whose attempt was counted. Its attachments arrive spooled (hashed and
    /// typed, not stored) and are committed to file storage only once the complaint is accepted,
    /// just before it is recorded: a refused complaint leaves nothing stored, its spool files go
    /// with the dropped `Attachment`s. (Should the application leave its notice between that
    /// check and the record, the committed files are referred to by nothing; `files gc` removes
    /// them after its grace period.)
    pub async fn file_complaint_with(
        &self,
        number: &str,
        name: Option<&str>,
        contact: Option<&str>,
        content: &str,
        attachments: Vec<Attachment>,
        now: Timestamp,
    ) -> Result<std::result::Result<String, ComplaintError>> {
        let mut details = match (clean(name, 100), clean(contact, 100), clean(Some(content), MAX_CONTENT)) {
            (Ok(name), Ok(contact), Ok(Some(content))) => {
                NewComplaint { receipt: receipt(), name, contact, content, attachments: Vec::new() }
            }
            (_, _, Ok(None)) => return Ok(Err(ComplaintError::Invalid("请填写投诉举报的具体内容。".into()))),
            (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => return Ok(Err(e)),
        };
        if attachments.len() > COMPLAINT_MAX_FILES {
            return Ok(Err(ComplaintError::Invalid(too_many_files())));
        }
        let row: Option<(i64, String)> = with_pool!(self, p => {
            sqlx::query_as("select id, city from applications where number = $1 and state = $2")
                .bind(number.trim())
                .bind(State::PublicNotice.as_str())
                .fetch_optional(p)
                .await?
        });
        let Some((id, city)) = row else {
            return Ok(Err(ComplaintError::Invalid("未找到处于公示期的该申请，请核对申请编号。".into())));
        };
        if !attachments.is_empty() {
            let files = self.files.get().ok_or_else(|| StoreError::Internal("complaint attachments without file storage".into()))?;
            for Attachment { name, spooled } in attachments {
                let file = FileRef { sha256: spooled.sha256.clone(), size: spooled.size, file_type: spooled.file_type, name };
                files.commit(spooled).await?;
                details.attachments.push(file);
            }
        }
        // The event says only that a complaint came in, never who sent it.
        let cmd = Command::RecordComplaint { summary: format!("收到公众投诉举报（回执 {}）", details.receipt) };
        for _ in 0..5 {
            let version = self.application(id).await?.ok_or(StoreError::NotFound)?.version;
            match self.execute_with(id, &Actor::system(&city), version, &cmd, now, Some(&details)).await {
                Ok(_) => return Ok(Ok(details.receipt)),
                Err(StoreError::Conflict { .. } | StoreError::Refused(Refusal::StaleVersion { .. })) => continue,
                Err(StoreError::Refused(r)) => return Ok(Err(ComplaintError::Invalid(r.message_zh()))),
                Err(e) => return Err(e),
            }
        }
        Err(StoreError::Conflict { actual: 0 })
    }

    /// What the complainant may see.
    pub async fn complaint_status(&self, receipt: &str) -> Result<Option<ComplaintStatus>> {
        Ok(with_pool!(self, p => {
            sqlx::query_as::<_, ComplaintStatus>("select receipt, status, finding, created_at, resolved_at from complaints where receipt = $1")
                .bind(receipt.trim().to_uppercase())
                .fetch_optional(p)
                .await?
        }))
    }

    /// Every complaint on an application, with the complainants' details (agency, supervisors).
    pub async fn complaints(&self, application_id: i64) -> Result<Vec<ComplaintRecord>> {
        Ok(with_pool!(self, p => {
            sqlx::query_as::<_, ComplaintRecord>(
                "select receipt, number, name, contact, content, status, finding, created_at, resolved_at, attachments from complaints
                 where application_id = $1 order by number",
            )
            .bind(application_id)
            .fetch_all(p)
            .await?
        }))
    }
}
