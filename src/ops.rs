//! Operator tools that act on a whole installation: the data directory's lock, `dingdian check`,
//! and whole backups (`backup`, `restore`). Not responsible for what is checked (the store's
//! `verify_audit` and `check_files`) nor for PostgreSQL dumps (pg_dump, see the README).
//!
//! The lock: every command that opens the database holds a shared `flock` on
//! `<data-dir>/serve.lock` for its whole life (`serve` included); `restore` takes it exclusively,
//! so it refuses while any of them runs, and they refuse to start while a restore runs.
//!
//! The archive is a tar file: `dingdian.db` (an online copy, `VACUUM INTO`), every stored file a
//! record refers to under `files/blobs/<aa>/<sha256>` (none with S3: the bucket is backed up by
//! its own means), and `manifest.json` last.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;

use anyhow::{Context, Result, bail, ensure};
use dingdian_store::Store;
use dingdian_store::clock::Clock;
use dingdian_store::files::{FileStore, is_digest};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::DbArgs;

/// The lock file in the data directory.
pub const LOCK_FILE: &str = "serve.lock";
/// The archive's manifest and database entries.
const MANIFEST: &str = "manifest.json";
const DATABASE: &str = "dingdian.db";
const FORMAT: &str = "dingdian-backup";

/// Locks held until the process ends.
static HELD: Mutex<Vec<File>> = Mutex::new(Vec::new());

fn lock_file(data_dir: &Path) -> Result<File> {
    std::fs::create_dir_all(data_dir).with_context(|| format!("creating {}", data_dir.display()))?;
    let path = data_dir.join(LOCK_FILE);
    File::options().create(true).truncate(false).write(true).open(&path).with_context(|| format!("opening {}", path.display()))
}

/// Takes the shared lock of `data_dir` for the rest of the process's life (once per process).
pub fn hold_shared(data_dir: &Path) -> Result<()> {
    let mut held = HELD.lock().unwrap_or_else(|e| e.into_inner());
    if !held.is_empty() {
        return Ok(());
    }
    let file = lock_file(data_dir)?;
    match file.try_lock_shared() {
        Ok(()) => {
            held.push(file);
            Ok(())
        }
        Err(std::fs::TryLockError::WouldBlock) => {
            bail!("a restore is running on {}; try again when it has finished", data_dir.display())
        }
        Err(std::fs::TryLockError::Error(e)) => Err(e).context("locking the data directory"),
    }
}

/// One line per reference of a missing or corrupt file.
fn print_file_problems(check: &dingdian_store::FileCheck) {
    for (what, refs) in [("missing", &check.missing), ("corrupt", &check.corrupt)] {
        for r in refs {
            println!(
                "{what}: application {} ({}), file {:?}, sha256 {}",
                r.application_id,
                r.application_number.as_deref().unwrap_or("no number yet"),
                r.name,
                r.sha256
            );
        }
    }
}

/// The audit chain and every referenced file: prints each problem and a summary line; true
/// when all is well.
async fn verify(store: &Store, files: &FileStore) -> Result<bool> {
    let audit = store.verify_audit().await?;
    let check = store.check_files(files).await?;
    if let Some(bad) = &audit.first_bad {
        println!(
            "audit chain: MISMATCH at entry {} of chain {} (application {}, event {}): {}",
            bad.audit_seq,
            dingdian_core::audit::chain_label(&bad.chain),
            bad.application_id,
            bad.app_seq,
            bad.reason
        );
    }
    print_file_problems(&check);
    if audit.first_bad.is_none() && check.is_ok() {
        println!(
            "OK: audit chain of {} entries verifies ({} chains: {}); {} referenced files present and intact ({} bytes)",
            audit.entries,
            audit.chains.len(),
            audit
                .chains
                .iter()
                .map(|c| format!("{} head {}", dingdian_core::audit::chain_label(&c.chain), c.head))
                .collect::<Vec<_>>()
                .join(", "),
            check.checked,
            check.bytes
        );
        Ok(true)
    } else {
        println!(
            "FAILED: audit chain {}; {} referenced files, {} references to missing files, {} to corrupt files",
            if audit.first_bad.is_some() { "broken" } else { "verifies" },
            check.checked,
            check.missing.len(),
            check.corrupt.len()
        );
        Ok(false)
    }
}

/// `dingdian check`.
pub async fn check(db: &DbArgs, clock: &dyn Clock) -> Result<ExitCode> {
    let store = db.open(clock).await?;
    let files = db.open_files()?;
    let mut ok = verify(&store, &files).await?;
    // Accounts and institutions of a city whose profile is missing from the policy directory.
    let accounts = store.accounts(None).await?;
    let institutions = store.institutions(None).await?;
    let records = accounts
        .iter()
        .filter(|a| a.province.is_none())
        .map(|a| (format!("account {}", a.username), a.city.clone()))
        .chain(institutions.iter().map(|i| (format!("institution {} ({})", i.id, i.name), i.city.clone())))
        .collect::<Vec<_>>();
    let provinces = accounts.iter().filter_map(|a| a.province.as_ref().map(|p| (a.username.as_str(), p.as_str()))).collect::<Vec<_>>();
    let profiles = store.current_profiles();
    let in_force = profiles.iter().map(|p| &**p).collect::<Vec<_>>();
    for problem in dingdian_core::province::missing_cities(records.iter().map(|(w, c)| (w.as_str(), c.as_str())), provinces, &in_force) {
        println!("{problem}");
        ok = false;
    }
    store.close().await;
    Ok(if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

#[derive(Debug, Serialize, Deserialize)]
struct Manifest {
    format: String,
    format_version: u32,
    created_at: jiff::Timestamp,
    dingdian_version: String,
    schema_version: i64,
    /// The database in the archive; none in a `--files-only` archive.
    database: Option<Entry>,
    /// `archive` (the files are in the archive) or `bucket` (only listed: they are in S3).
    files_in: String,
    /// The bucket's URL, for `files_in = bucket`.
    bucket: Option<String>,
    audit_entries: Option<i64>,
    files: Vec<Entry>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Entry {
    sha256: String,
    size: u64,
}

fn blob_entry_name(sha256: &str) -> String {
    format!("files/blobs/{}/{sha256}", &sha256[..2])
}

fn tar_header(size: u64, mtime: jiff::Timestamp) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_size(size);
    h.set_mode(0o600);
    h.set_mtime(mtime.as_second().max(0) as u64);
    h.set_entry_type(tar::EntryType::Regular);
    h
}

fn sha256_of_file(path: &Path) -> io::Result<(u64, String)> {
    let mut f = File::open(path)?;
    let mut hasher = Sha256::new();
    let n = io::copy(&mut f, &mut hasher)?;
    Ok((n, hex::encode(hasher.finalize())))
}

/// Removes a path when dropped (scratch files of a backup or restore).
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
        let _ = std::fs::remove_dir_all(&self.0);
        for suffix in ["-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", self.0.display()));
        }
    }
}

/// `dingdian backup OUTPUT`: the archive; exit 1 (archive still written) when a referenced file
/// is missing or corrupt.
pub async fn backup(output: &Path, files_only: bool, db: &DbArgs, clock: &dyn Clock) -> Result<ExitCode> {
    ensure!(!output.exists(), "{} already exists", output.display());
    if db.database.is_some() && !files_only {
        bail!(
            "with PostgreSQL, back up the database with pg_dump (see the README) and the files with `dingdian backup --files-only OUTPUT`"
        );
    }
    if files_only && db.s3.is_some() {
        bail!("the files are in the S3 bucket: back the bucket up as the README says");
    }
    let live = db.open(clock).await?;
    let files = db.open_files()?;
    let now = clock.now();
    let partial = Scratch(PathBuf::from(format!("{}.partial", output.display())));
    let snapshot = Scratch(PathBuf::from(format!("{}.db.partial", output.display())));
    let _ = std::fs::remove_file(&partial.0);
    let _ = std::fs::remove_file(&snapshot.0);

    // What the backup refers to is read from the copy itself, so it is consistent.
    let source = if files_only {
        live
    } else {
        live.backup_to(&snapshot.0).await?;
        live.close().await;
        Store::open(&snapshot.0.to_string_lossy()).await.context("opening the database copy")?
    };
    let audit = source.verify_audit().await?;
    let references = source.file_references().await?;
    let mut wanted: BTreeSet<String> = source.referenced_blobs().await?.into_iter().collect();
    wanted.extend(references.iter().map(|r| r.sha256.clone()));
    let precise: BTreeSet<&str> = references.iter().map(|r| r.sha256.as_str()).collect();
    let schema_version = source.schema_version().await?;
    source.close().await;

    let mut tar =
        tar::Builder::new(io::BufWriter::new(File::create(&partial.0).with_context(|| format!("creating {}", partial.0.display()))?));
    let database = if files_only {
        None
    } else {
        let (size, sha256) = sha256_of_file(&snapshot.0)?;
        let mut f = File::open(&snapshot.0)?;
        tar.append_data(&mut tar_header(size, now), DATABASE, &mut f)?;
        Some(Entry { sha256, size })
    };
    let mut entries = Vec::new();
    let (mut missing, mut corrupt) = (BTreeSet::new(), BTreeSet::new());
    if db.s3.is_some() {
        // Listed, not copied: the bucket step of the README backs the objects up.
        let stored: std::collections::HashMap<String, u64> = files.blobs().await?.into_iter().map(|b| (b.sha256, b.size)).collect();
        for sha256 in &wanted {
            match stored.get(sha256) {
                Some(size) => entries.push(Entry { sha256: sha256.clone(), size: *size }),
                None if precise.contains(sha256.as_str()) => drop(missing.insert(sha256.clone())),
                None => {}
            }
        }
    } else {
        for sha256 in &wanted {
            // Streamed from disk twice (hash, then copy), so a large file never sits in memory.
            let path = files.local_path(sha256).context("the local file store names its files")?;
            let (size, actual) = match sha256_of_file(&path) {
                Ok(found) => found,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    if precise.contains(sha256.as_str()) {
                        missing.insert(sha256.clone());
                    }
                    continue;
                }
                Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
            };
            if actual != *sha256 {
                corrupt.insert(sha256.clone());
                continue;
            }
            let mut f = File::open(&path)?;
            tar.append_data(&mut tar_header(size, now), blob_entry_name(sha256), (&mut f).take(size))?;
            entries.push(Entry { sha256: sha256.clone(), size });
        }
    }
    let file_count = entries.len();
    let file_bytes: u64 = entries.iter().map(|e| e.size).sum();
    let manifest = Manifest {
        format: FORMAT.into(),
        format_version: 1,
        created_at: now,
        dingdian_version: env!("CARGO_PKG_VERSION").into(),
        schema_version,
        database,
        files_in: if db.s3.is_some() { "bucket" } else { "archive" }.into(),
        bucket: db.s3.clone(),
        audit_entries: Some(audit.entries),
        files: entries,
    };
    let json = serde_json::to_vec_pretty(&manifest)?;
    tar.append_data(&mut tar_header(json.len() as u64, now), MANIFEST, &json[..])?;
    let mut out = tar.into_inner()?.into_inner().map_err(|e| e.into_error())?;
    out.flush()?;
    out.sync_all()?;
    drop(out);
    std::fs::rename(&partial.0, output).with_context(|| format!("writing {}", output.display()))?;

    let what = if db.s3.is_some() { "listed (in the bucket)" } else { "archived" };
    let db_part =
        if files_only { "no database (--files-only)".to_owned() } else { format!("database with {} audit entries", audit.entries) };
    println!("backup written to {}: {db_part}; {file_count} files {what} ({file_bytes} bytes)", output.display());
    if let Some(bad) = &audit.first_bad {
        println!(
            "warning: the audit chain {} does not verify at entry {}: {}",
            dingdian_core::audit::chain_label(&bad.chain),
            bad.audit_seq,
            bad.reason
        );
    }
    if missing.is_empty() && corrupt.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    let check = dingdian_store::FileCheck {
        checked: 0,
        bytes: 0,
        missing: references.iter().filter(|r| missing.contains(&r.sha256)).cloned().collect(),
        corrupt: references.iter().filter(|r| corrupt.contains(&r.sha256)).cloned().collect(),
    };
    print_file_problems(&check);
    println!("the backup lacks {} referenced files (missing or corrupt in the file store)", missing.len() + corrupt.len());
    Ok(ExitCode::FAILURE)
}

/// Is `name` an entry a backup archive may hold?
fn allowed_entry(name: &str) -> bool {
    if name == MANIFEST || name == DATABASE {
        return true;
    }
    let parts: Vec<&str> = name.split('/').collect();
    matches!(parts.as_slice(), ["files", "blobs", dir, sha] if is_digest(sha) && sha.starts_with(dir) && dir.len() == 2)
}

/// Unpacks the archive into `staging` (only the entries a backup has) and reads its manifest.
fn unpack(input: &Path, staging: &Path) -> Result<Manifest> {
    let mut head = [0u8; 16];
    let n = File::open(input).and_then(|mut f| f.read(&mut head)).with_context(|| format!("reading {}", input.display()))?;
    ensure!(
        head[..n] != *b"SQLite format 3\0",
        "{} is a bare database file (a backup by an earlier dingdian), not a backup archive; restore it by hand with the service stopped: move <data-dir>/dingdian.db aside and copy the file there",
        input.display()
    );
    let mut archive = tar::Archive::new(File::open(input).with_context(|| format!("opening {}", input.display()))?);
    let not_a_backup = || format!("{} is not a dingdian backup archive", input.display());
    for entry in archive.entries().with_context(not_a_backup)? {
        let mut entry = entry.with_context(not_a_backup)?;
        let name = entry.path().with_context(not_a_backup)?.to_string_lossy().into_owned();
        ensure!(
            entry.header().entry_type() == tar::EntryType::Regular && allowed_entry(&name),
            "{}: unexpected entry {name:?}",
            not_a_backup()
        );
        let target = staging.join(&name);
        if let Some(dir) = target.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let mut out = File::create(&target)?;
        io::copy(&mut entry, &mut out).with_context(not_a_backup)?;
        out.sync_all()?;
    }
    let mut text = String::new();
    File::open(staging.join(MANIFEST)).with_context(|| format!("{}: no manifest", not_a_backup()))?.read_to_string(&mut text)?;
    let manifest: Manifest = serde_json::from_str(&text).with_context(|| format!("{}: bad manifest", not_a_backup()))?;
    ensure!(manifest.format == FORMAT && manifest.format_version == 1, "{}: unknown format", not_a_backup());
    Ok(manifest)
}

/// Checks everything unpacked in `staging` against the manifest, the audit chain and the file
/// references. An error names the first problem.
async fn check_staged(staging: &Path, manifest: &Manifest) -> Result<()> {
    let db_entry = manifest.database.as_ref().context("this archive holds no database (--files-only); nothing to restore")?;
    let db_path = staging.join(DATABASE);
    let (size, sha256) = sha256_of_file(&db_path).context("the archive holds no database")?;
    ensure!(size == db_entry.size && sha256 == db_entry.sha256, "the archive's database does not match its manifest (damaged archive)");
    let archived = manifest.files_in == "archive";
    let listed: BTreeSet<&str> = manifest.files.iter().map(|e| e.sha256.as_str()).collect();
    if archived {
        for e in &manifest.files {
            let (size, actual) = sha256_of_file(&staging.join(blob_entry_name(&e.sha256)))
                .with_context(|| format!("file {} is missing from the archive", e.sha256))?;
            ensure!(size == e.size && actual == e.sha256, "file {} in the archive is damaged", e.sha256);
        }
        for b in walk(&staging.join("files"))? {
            let name = b.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            ensure!(listed.contains(name.as_str()), "file {name} in the archive is not in its manifest");
        }
    }
    let store = Store::open(&db_path.to_string_lossy()).await.context("the archive's database is not a dingdian database")?;
    let audit = store.verify_audit().await?;
    if let Some(bad) = &audit.first_bad {
        store.close().await;
        bail!(
            "the backup's audit chain {} does not verify at entry {}: {}",
            dingdian_core::audit::chain_label(&bad.chain),
            bad.audit_seq,
            bad.reason
        );
    }
    let references = store.file_references().await?;
    store.close().await;
    let unlisted: Vec<_> = references.iter().filter(|r| !listed.contains(r.sha256.as_str())).collect();
    if let Some(r) = unlisted.first() {
        bail!(
            "the backup lacks {} referenced files, e.g. application {} file {:?} sha256 {}",
            unlisted.len(),
            r.application_id,
            r.name,
            r.sha256
        );
    }
    Ok(())
}

/// Every regular file under `dir` (none when it does not exist).
fn walk(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return Ok(out) };
    for e in entries {
        let p = e?.path();
        if p.is_dir() { out.extend(walk(&p)?) } else { out.push(p) }
    }
    Ok(out)
}

/// `dingdian restore INPUT`.
pub async fn restore(input: &Path, db: &DbArgs, clock: &dyn Clock) -> Result<ExitCode> {
    ensure!(db.database.is_none(), "restore works on the embedded database; for PostgreSQL use pg_restore (see the README)");
    ensure!(input.is_file(), "{} is not a file", input.display());
    let lock = lock_file(&db.data_dir)?;
    if lock.try_lock().is_err() {
        eprintln!(
            "refused: a dingdian process (serve or another command) is using {}; stop it first. Nothing was restored.",
            db.data_dir.display()
        );
        return Ok(ExitCode::FAILURE);
    }
    let stamp = clock.now().strftime("%Y%m%dT%H%M%SZ").to_string();
    let staging = Scratch(db.data_dir.join(format!("restore-{stamp}.partial")));
    let _ = std::fs::remove_dir_all(&staging.0);
    std::fs::create_dir_all(&staging.0)?;
    let checked = match unpack(input, &staging.0) {
        Ok(manifest) => match (manifest.files_in.as_str(), &db.s3) {
            ("bucket", None) => Err(anyhow::anyhow!("the backup's files are in a bucket: restore with --s3 URL")),
            ("archive", Some(_)) => Err(anyhow::anyhow!("the backup's files are in the archive, but --s3 is set: restore without --s3")),
            _ => check_staged(&staging.0, &manifest).await.map(|()| manifest),
        },
        Err(e) => Err(e),
    };
    let manifest = match checked {
        Ok(m) => m,
        Err(e) => {
            eprintln!("refused: {e:#}. Nothing was restored.");
            return Ok(ExitCode::FAILURE);
        }
    };

    // Keep what is replaced.
    let replaced = db.data_dir.join(format!("replaced-{stamp}"));
    let target = db.data_dir.join(DATABASE);
    let files_dir = db.files_dir.clone().unwrap_or_else(|| db.data_dir.join("files"));
    let archived = manifest.files_in == "archive";
    let db_files: Vec<PathBuf> =
        ["", "-wal", "-shm"].iter().map(|s| PathBuf::from(format!("{}{s}", target.display()))).filter(|p| p.exists()).collect();
    if !db_files.is_empty() || (archived && files_dir.exists()) {
        std::fs::create_dir_all(&replaced)?;
    }
    if archived && files_dir.exists() {
        std::fs::rename(&files_dir, replaced.join("files")).with_context(|| {
            format!("moving {} aside (it must be on the same file system as {})", files_dir.display(), db.data_dir.display())
        })?;
    }
    for from in &db_files {
        let name = from.file_name().context("a database file has a name")?;
        std::fs::rename(from, replaced.join(name))?;
    }
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", staging.0.join(DATABASE).display()));
    }
    std::fs::rename(staging.0.join(DATABASE), &target).with_context(|| format!("placing {}", target.display()))?;
    if archived {
        let staged_files = staging.0.join("files");
        if staged_files.exists() {
            std::fs::rename(&staged_files, &files_dir).with_context(|| format!("placing {}", files_dir.display()))?;
        } else {
            std::fs::create_dir_all(&files_dir)?;
        }
    }
    drop(staging);
    let kept = if replaced.exists() { format!("; what it replaced is in {}", replaced.display()) } else { String::new() };
    println!("restored {} ({} files) into {}{kept}", input.display(), manifest.files.len(), db.data_dir.display());

    // The lock stays held: this process checks what it restored.
    let store = db.open_unlocked(clock).await?;
    let files = db.open_files()?;
    let ok = verify(&store, &files).await?;
    store.close().await;
    drop(lock);
    Ok(if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
