//! Are the files the records refer to all there, intact? (G-NOTHING-LOST.) Lists every file
//! reference (`FileRef`) that an event, an application or a complaint holds, and re-hashes each
//! referenced stored file. Used by `dingdian check`, `backup` and `restore`. Not responsible for
//! the audit chain (`verify_audit`) or for unreferenced files (`collect_garbage`).
//!
//! A file reference is a JSON object with a `sha256` digest and a `file_type`, as `FileRef`
//! serialises; the texts read are those the garbage collection reads (`blob_gc::REFERRING`).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::files::{FileStore, is_digest};
use crate::{Result, Store, StoreError};

/// Where a stored file is referred to from.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct FileReference {
    pub sha256: String,
    pub application_id: i64,
    /// The application's number, once it has one.
    pub application_number: Option<String>,
    /// The file's name as the user gave it.
    pub name: String,
}

/// What checking the referenced files found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileCheck {
    /// Distinct files referred to and looked at.
    pub checked: usize,
    /// Their total size in bytes.
    pub bytes: u64,
    /// References to files that are not stored.
    pub missing: Vec<FileReference>,
    /// References to files whose stored bytes no longer have their digest.
    pub corrupt: Vec<FileReference>,
}

impl FileCheck {
    pub fn is_ok(&self) -> bool {
        self.missing.is_empty() && self.corrupt.is_empty()
    }
}

/// Adds every file reference inside `value` to `out`.
fn references_in(value: &Value, app: (i64, &Option<String>), out: &mut BTreeSet<FileReference>) {
    match value {
        Value::Object(map) => {
            if let (Some(Value::String(sha)), Some(_)) = (map.get("sha256"), map.get("file_type"))
                && is_digest(sha)
            {
                let name = map.get("name").and_then(Value::as_str).unwrap_or("").to_owned();
                out.insert(FileReference { sha256: sha.clone(), application_id: app.0, application_number: app.1.clone(), name });
            }
            map.values().for_each(|v| references_in(v, app, out));
        }
        Value::Array(items) => items.iter().for_each(|v| references_in(v, app, out)),
        _ => {}
    }
}

impl Store {
    /// Every file reference the records hold, each (file, application, name) once.
    pub async fn file_references(&self) -> Result<Vec<FileReference>> {
        let mut out = BTreeSet::new();
        let mut bad = None;
        self.each_referring_text(|(id, number, text)| match serde_json::from_str::<Value>(&text) {
            Ok(v) => references_in(&v, (id, &number), &mut out),
            Err(e) => bad = Some(format!("application {id}: a stored record is not JSON: {e}")),
        })
        .await?;
        if let Some(bad) = bad {
            return Err(StoreError::Internal(bad));
        }
        Ok(out.into_iter().collect())
    }

    /// Re-hashes every referenced file in `files` and lists the references to missing and
    /// corrupt ones.
    pub async fn check_files(&self, files: &FileStore) -> Result<FileCheck> {
        let mut by_file: BTreeMap<String, Vec<FileReference>> = BTreeMap::new();
        for r in self.file_references().await? {
            by_file.entry(r.sha256.clone()).or_default().push(r);
        }
        let mut report = FileCheck::default();
        for (sha256, refs) in by_file {
            report.checked += 1;
            match files.hash(&sha256).await.map_err(|e| StoreError::Internal(e.to_string()))? {
                None => report.missing.extend(refs),
                Some((size, actual)) => {
                    report.bytes += size;
                    if actual != sha256 {
                        report.corrupt.extend(refs);
                    }
                }
            }
        }
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_are_file_refs_anywhere_in_the_json() {
        let a = "a".repeat(64);
        let b = "b".repeat(64);
        let text = format!(
            r#"{{"file":{{"sha256":"{a}","size":3,"file_type":"pdf","name":"许可证.pdf"}},
                "versions":[{{"document":{{"sha256":"{b}","size":1,"file_type":"pdf","name":"协议.pdf"}}}}],
                "removed":{{"sha256":"{a}"}}, "hash":"{b}", "short":{{"sha256":"abc","file_type":"pdf"}}}}"#
        );
        let mut out = BTreeSet::new();
        references_in(&serde_json::from_str(&text).unwrap(), (7, &Some("HRB-1".into())), &mut out);
        let found: Vec<(String, String)> = out.into_iter().map(|r| (r.sha256, r.name)).collect();
        assert_eq!(found, vec![(a, "许可证.pdf".into()), (b, "协议.pdf".into())]);
    }
}
