//! Garbage collection of stored files (G-NOTHING-LOST's other half): a file that no stored
//! record refers to — left by a refusal or a crash between its commit and its record — is
//! removed once it is older than a grace period, so an upload whose event is not yet committed
//! is never touched. Not responsible for spool files (`FileStore::sweep_spool`).
//!
//! "Refers to" is read from every place a file reference (`FileRef`) or digest is stored: event
//! payloads (materials, generated documents, verification evidence — every version ever
//! attached), the application projections, and complaint attachments. Any 64-hex-digit run in
//! those texts counts, so an unexpected mention keeps a file rather than losing one.
//!
//! Order matters: the references are read first, then the storage is listed, and each candidate
//! is looked at again just before it is removed. A file committed after the references were read
//! is young (committing refreshes an old copy of the same content, `files::REFRESH_AFTER`), so
//! it is kept.

use std::collections::HashSet;
use std::time::Duration;

use futures_util::TryStreamExt;
use jiff::Timestamp;

use crate::files::{FileStore, REFRESH_AFTER};
use crate::{Result, Store, StoreError, with_pool};

/// The texts that may refer to stored files, one query each: (application id, application
/// number, text). `file_check` reads the same texts for the file references themselves.
pub(crate) const REFERRING: &[&str] = &[
    "select e.application_id, a.number, e.payload from events e join applications a on a.id = e.application_id",
    "select id, number, data from applications",
    "select c.application_id, a.number, c.attachments from complaints c join applications a on a.id = c.application_id",
];

/// One text that may refer to stored files, with the application it belongs to.
pub(crate) type ReferringRow = (i64, Option<String>, String);

/// What a collection found and did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GcReport {
    /// Files removed (or, in a dry run, that would be): (digest, size).
    pub removed: Vec<(String, u64)>,
    /// Files kept because a record refers to them.
    pub referenced: usize,
    /// Files nothing refers to yet, kept because they are younger than the grace period.
    pub young: usize,
}

impl GcReport {
    pub fn removed_bytes(&self) -> u64 {
        self.removed.iter().map(|(_, size)| size).sum()
    }
}

/// Adds every 64-hex-digit run of `text` (a SHA-256 digest as stored) to `out`.
fn digests_in(text: &str, out: &mut HashSet<String>) {
    for run in text.split(|c: char| !c.is_ascii_hexdigit()) {
        if run.len() == 64 {
            out.insert(run.to_ascii_lowercase());
        }
    }
}

impl Store {
    /// Every digest a stored record mentions.
    pub async fn referenced_blobs(&self) -> Result<HashSet<String>> {
        let mut found = HashSet::new();
        self.each_referring_text(|(_, _, text)| digests_in(&text, &mut found)).await?;
        Ok(found)
    }

    /// Calls `f` with every text that may refer to stored files, streamed.
    pub(crate) async fn each_referring_text(&self, mut f: impl FnMut(ReferringRow)) -> Result<()> {
        for sql in REFERRING {
            with_pool!(self, p => {
                let mut rows = sqlx::query_as::<_, ReferringRow>(*sql).fetch(p);
                while let Some(row) = rows.try_next().await? {
                    f(row);
                }
            });
        }
        Ok(())
    }

    /// Removes stored files that no record refers to and that were last written more than
    /// `grace` before `now` (by the storage's clock); `dry_run` only reports them. The grace
    /// period may not be shorter than `files::REFRESH_AFTER`.
    pub async fn collect_garbage(&self, files: &FileStore, grace: Duration, now: Timestamp, dry_run: bool) -> Result<GcReport> {
        if grace < REFRESH_AFTER {
            return Err(StoreError::Internal(format!(
                "a grace period under {} s could remove a file being recorded",
                REFRESH_AFTER.as_secs()
            )));
        }
        let referenced = self.referenced_blobs().await?;
        let cutoff = now
            .checked_sub(jiff::SignedDuration::try_from(grace).map_err(|e| StoreError::Internal(e.to_string()))?)
            .map_err(|e| StoreError::Internal(e.to_string()))?;
        let mut report = GcReport::default();
        for blob in files.blobs().await? {
            if referenced.contains(&blob.sha256) {
                report.referenced += 1;
                continue;
            }
            if blob.modified > cutoff {
                report.young += 1;
                continue;
            }
            if !dry_run {
                // Written again since it was listed (the same content committed anew): keep it.
                match files.blob_modified(&blob.sha256).await? {
                    Some(t) if t <= cutoff => files.remove(&blob.sha256).await?,
                    Some(_) => {
                        report.young += 1;
                        continue;
                    }
                    None => continue,
                }
                tracing::info!(sha256 = %blob.sha256, size = blob.size, "removed a stored file nothing refers to");
            }
            report.removed.push((blob.sha256, blob.size));
        }
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_are_found_in_any_json_shape() {
        let a = "a".repeat(64);
        let b = "0123456789abcdef".repeat(4);
        let text = format!(
            r#"{{"file":{{"sha256":"{a}","size":3}},"list":[{{"sha256": "{}"}}],"short":"{}","long":"{}"}}"#,
            b.to_uppercase(),
            &a[..63],
            "c".repeat(65)
        );
        let mut found = HashSet::new();
        digests_in(&text, &mut found);
        assert_eq!(found, HashSet::from([a, b]));
    }
}
