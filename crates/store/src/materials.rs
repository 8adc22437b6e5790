//! Materials (HRB-MAT): an upload is checked against its slot before a byte is read (is the slot
//! open to this user now? is the file named as the slot requires?), streamed into the spool under
//! the slot's limits, checked whole where the slot asks for it (the Annex 2 package), committed to
//! file storage, and only then recorded as an `attach_material` command. The acknowledgement
//! follows the commit of that command, so an acknowledged file is on disk and in the database
//! (G-NOTHING-LOST).

use dingdian_core::lifecycle::{self, Actor, Command, FileRef};
use dingdian_core::policy::{MaterialSlot, Profile, SlotCheck};
use jiff::Timestamp;

use crate::files::{FileStore, Limits, Spooled};
use crate::{Executed, Result, Store, StoreError};

/// Longest file name kept (characters).
const MAX_NAME_CHARS: usize = 120;

/// A user's file name, checked: a name, not a path. It is kept as data (files are stored under
/// their digest), but a name with path separators, `..` or control characters is refused so that
/// nobody downstream (an export, an agency's unzip) is ever handed one.
pub fn check_file_name(raw: &str) -> Result<String> {
    let name = raw.trim();
    let bad =
        name.contains(['/', '\\']) || name.chars().any(char::is_control) || name.split('.').all(str::is_empty) || name.starts_with("..");
    if bad {
        return Err(StoreError::Unacceptable {
            code: "file_name_invalid",
            message: "文件名不能包含路径（/ 或 \\）、“..”或控制字符，请改为普通文件名后重新上传。".into(),
        });
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(StoreError::Unacceptable {
            code: "file_name_invalid",
            message: format!("文件名过长（最多 {MAX_NAME_CHARS} 个字），请改短后重新上传。"),
        });
    }
    Ok(name.to_owned())
}

/// One incoming file: the slot, the user's file name, and the bytes as they arrive.
pub struct Upload<'a, S> {
    pub slot: &'a str,
    pub name: &'a str,
    pub body: S,
}

impl Store {
    /// Receives one file into a material slot of application `id`. The command is decided
    /// against the application as it is when the upload completes (an upload takes time; other
    /// files may land meanwhile), so no version is expected of the caller.
    pub async fn attach_material<S, E>(
        &self,
        files: &FileStore,
        id: i64,
        actor: &Actor,
        upload: Upload<'_, S>,
        now: Timestamp,
    ) -> Result<Executed>
    where
        S: futures_util::Stream<Item = std::result::Result<bytes::Bytes, E>>,
        E: std::fmt::Display,
    {
        let Upload { slot, name: raw_name, body } = upload;
        let (app, _) = self.readable(id, actor, dingdian_core::china_date(now)).await?;
        let profile = self.profile_for(&app)?;
        let m: MaterialSlot = profile
            .material(slot)
            .filter(|m| m.applies_to.contains(&app.institution_kind()))
            .cloned()
            .ok_or_else(|| lifecycle::Refusal::Invalid { field: "slot", reason: format!("材料项“{slot}”不存在。") })?;
        let name = if raw_name.trim().is_empty() { format!("{slot}.{}", m.types[0].extension()) } else { check_file_name(raw_name)? };
        // Refuse before reading the body when the slot is not open to this user now.
        let probe = FileRef::probe(m.types[0]);
        self.check(id, actor, &Command::AttachMaterial { slot: slot.to_owned(), file: probe }, now).await?;

        // Checks of the name come before the body too: a misnamed package is refused unread.
        if let Some(check) = m.check {
            let inst = self.institution(app.institution_id).await?.ok_or(StoreError::NotFound)?;
            check_name(check, &profile, &name, &inst.name, dingdian_core::china_date(now))?;
        }

        let limits = Limits { max_bytes: m.max_bytes(), allowed: m.types.clone() };
        let spooled = files.spool(body, &limits).await.map_err(StoreError::File)?;
        if let Some(check) = m.check {
            check_whole(check, &spooled).await?;
        }
        let file = FileRef { sha256: spooled.sha256.clone(), size: spooled.size, file_type: spooled.file_type, name };
        files.commit(spooled).await.map_err(StoreError::File)?;
        let cmd = Command::AttachMaterial { slot: slot.to_owned(), file };
        // Decided against the current version; a concurrent change makes us decide again.
        let mut attempts = 0;
        loop {
            let version = self.application(id).await?.ok_or(StoreError::NotFound)?.version;
            match self.execute(id, actor, version, &cmd, now).await {
                Err(StoreError::Conflict { .. }) | Err(StoreError::Refused(lifecycle::Refusal::StaleVersion { .. })) if attempts < 5 => {
                    attempts += 1;
                }
                other => return other,
            }
        }
    }

    /// A file of application `id` that `actor` may download: any version ever attached.
    pub async fn material_file(&self, id: i64, actor: &Actor, sha256: &str, now: Timestamp) -> Result<FileRef> {
        let (app, _) = self.readable(id, actor, dingdian_core::china_date(now)).await?;
        let found = self
            .material_history(id)
            .await?
            .into_iter()
            .find(|(_, f, _)| f.sha256 == sha256)
            .map(|(_, f, _)| f)
            .or_else(|| self.document_ref(&app, sha256));
        if let Some(f) = found {
            return Ok(f);
        }
        // Complaint attachments: the agency and supervisors only (they may identify the
        // complainant, whom the institution never learns).
        if dingdian_core::visibility::sees_complainant(actor) {
            for c in self.complaints(id).await? {
                if let Some(f) = c.files().into_iter().find(|f| f.sha256 == sha256) {
                    return Ok(f);
                }
            }
        }
        Err(StoreError::NotFound)
    }

    /// Every file ever attached to the application: (slot, file, attached at), oldest first.
    pub async fn material_history(&self, id: i64) -> Result<Vec<(String, FileRef, String)>> {
        let mut out = Vec::new();
        for e in self.events(id).await? {
            if let lifecycle::Event::MaterialAttached { slot, file, .. } = e.event {
                out.push((slot, file, e.occurred_at));
            }
        }
        Ok(out)
    }

    /// Documents generated for the application (the agreement, every version of it,
    /// URC-NEGOTIATE) are downloadable too.
    fn document_ref(&self, app: &crate::AppRecord, sha256: &str) -> Option<FileRef> {
        app.data
            .agreement
            .iter()
            .chain(app.data.negotiation.versions.iter().filter_map(|v| v.document.as_ref()))
            .find(|d| d.sha256 == sha256)
            .cloned()
    }
}

/// Checks of the user's file name that a slot asks for, run before a byte of the body is read.
fn check_name(check: SlotCheck, profile: &Profile, name: &str, institution: &str, today: jiff::civil::Date) -> Result<()> {
    match check {
        SlotCheck::Annex2Package => {
            // A loaded profile with this check has the prefix (validated, or inherited by a text
            // stored before the field existed); its absence is a broken installation.
            let prefix =
                profile.preparation.as_ref().and_then(|p| p.annex2_package_prefix.as_deref()).ok_or_else(|| {
                    StoreError::Corrupt(format!("profile {} {} has no annex2_package_prefix", profile.id, profile.version))
                })?;
            dingdian_core::annex::check_package_name(name, prefix, institution, today).map_err(package_refusal)?;
            Ok(())
        }
    }
}

fn package_refusal(e: dingdian_core::annex::PackageError) -> StoreError {
    StoreError::Unacceptable { code: e.code(), message: e.message_zh() }
}

/// Checks that need the whole file, run on the spool file before anything is stored.
async fn check_whole(check: SlotCheck, spooled: &Spooled) -> Result<()> {
    match check {
        SlotCheck::Annex2Package => {
            use dingdian_core::annex;
            let path = spooled.path().to_owned();
            tokio::task::spawn_blocking(move || {
                let file = std::fs::File::open(path).map_err(|e| StoreError::Internal(e.to_string()))?;
                annex::inspect_package(std::io::BufReader::new(file), &annex::PackageLimits::default()).map_err(package_refusal)?;
                Ok(())
            })
            .await
            .map_err(|e| StoreError::Internal(e.to_string()))?
        }
    }
}
