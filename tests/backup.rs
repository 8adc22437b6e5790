//! Whole backups with real processes (G-NOTHING-LOST, G-AUDIT): `dingdian backup` archives the
//! database and every referenced file, `dingdian restore` refuses while a service uses the data
//! directory and otherwise restores into it, `dingdian check` finds missing and corrupt files,
//! and the spool of a killed server is gone after its restart.

mod support;

use std::path::{Path, PathBuf};
use std::process::Output;

use sha2::{Digest, Sha256};
use support::{dingdian, get_bytes, login, start};

/// A fresh directory for one test, removed when dropped.
struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Dir {
        let d = std::env::temp_dir().join(format!("dingdian-backup-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        Dir(d)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn run(args: &[&str], data: &Path) -> Output {
    dingdian().args(args).arg("--data-dir").arg(data).output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn demo(data: &Path) {
    let out = run(&["demo", "--now", "2026-11-27T02:00:00Z"], data);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

/// Every regular file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() { out.extend(files_under(&p)) } else { out.push(p) }
    }
    out.sort();
    out
}

fn replaced_dirs(data: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(data)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("replaced-"))
        .collect()
}

/// Backup → restore into a fresh data directory → `dingdian check` OK → a server on the
/// restored directory serves every file a record refers to, byte for byte.
#[test]
fn g_nothing_lost_backup_restored_on_a_fresh_dir_serves_every_file() {
    let dir = Dir::new("round-trip");
    let (data, fresh, archive) = (dir.0.join("data"), dir.0.join("fresh"), dir.0.join("backup.tar"));
    demo(&data);
    let out = dingdian().arg("backup").arg(&archive).arg("--data-dir").arg(&data).output().unwrap();
    assert!(out.status.success(), "{}{}", stdout(&out), String::from_utf8_lossy(&out.stderr));
    let stored = files_under(&data.join("files").join("blobs"));
    assert!(!stored.is_empty(), "the demo stores files");
    assert!(stdout(&out).contains(&format!("{} files archived", stored.len())), "{}", stdout(&out));
    // Writing over an existing archive is refused.
    let again = dingdian().arg("backup").arg(&archive).arg("--data-dir").arg(&data).output().unwrap();
    assert_eq!(again.status.code(), Some(1));

    let out = dingdian().arg("restore").arg(&archive).arg("--data-dir").arg(&fresh).output().unwrap();
    assert!(out.status.success(), "{}{}", stdout(&out), String::from_utf8_lossy(&out.stderr));
    assert!(stdout(&out).contains("OK: audit chain"), "restore ends with the check: {}", stdout(&out));
    assert!(replaced_dirs(&fresh).is_empty(), "nothing was there to keep");
    let out = run(&["check"], &fresh);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(stdout(&out).starts_with("OK: audit chain of "), "{}", stdout(&out));

    let rt = tokio::runtime::Runtime::new().unwrap();
    let (refs, cities) = rt.block_on(async {
        let store = dingdian_store::Store::open(&fresh.join("dingdian.db").to_string_lossy()).await.unwrap();
        let refs = store.file_references().await.unwrap();
        let mut cities = std::collections::HashMap::new();
        for r in &refs {
            let app = store.application(r.application_id).await.unwrap().unwrap();
            cities.insert(r.application_id, app.city);
        }
        store.close().await;
        (refs, cities)
    });
    assert!(refs.len() >= stored.len(), "every stored demo file is referred to");
    let (mut child, port) = start(&fresh);
    let tokens = [("harbin", login(port, "hrb-agency")), ("urumqi", login(port, "urc-agency"))];
    for r in &refs {
        let token = &tokens.iter().find(|(c, _)| *c == cities[&r.application_id]).unwrap().1;
        let path = format!("/api/applications/{}/files/{}", r.application_id, r.sha256);
        let (status, body) = get_bytes(port, &path, token).expect("an answer");
        assert_eq!(status, 200, "{path} ({}): {}", r.name, String::from_utf8_lossy(&body));
        assert_eq!(hex::encode(Sha256::digest(&body)), r.sha256, "{path} serves other bytes");
    }
    child.kill().unwrap();
    child.wait().unwrap();
}

/// `restore` while `serve` runs on the data directory: exit 1 with a clear message, nothing
/// replaced; once the server is stopped the same restore succeeds and keeps what it replaced.
#[test]
fn restore_is_refused_while_serve_runs_and_replaces_nothing() {
    let dir = Dir::new("refused");
    let (data, archive) = (dir.0.join("data"), dir.0.join("backup.tar"));
    demo(&data);
    let out = dingdian().arg("backup").arg(&archive).arg("--data-dir").arg(&data).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let db_before = std::fs::metadata(data.join("dingdian.db")).unwrap();
    let files_before = files_under(&data.join("files"));

    let (mut child, port) = start(&data);
    let out = dingdian().arg("restore").arg(&archive).arg("--data-dir").arg(&data).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("stop it first") && stderr.contains("Nothing was restored"), "{stderr}");
    assert!(replaced_dirs(&data).is_empty(), "something was moved aside");
    use std::os::unix::fs::MetadataExt;
    assert_eq!(std::fs::metadata(data.join("dingdian.db")).unwrap().ino(), db_before.ino(), "the database file was replaced");
    assert_eq!(files_under(&data.join("files")), files_before);
    // The server still works on its database.
    let token = login(port, "hrb-agency");
    assert_eq!(support::http(port, "GET", "/api/applications", Some(&token), None).unwrap().0, 200);
    child.kill().unwrap();
    child.wait().unwrap();

    let out = dingdian().arg("restore").arg(&archive).arg("--data-dir").arg(&data).output().unwrap();
    assert!(out.status.success(), "{}{}", stdout(&out), String::from_utf8_lossy(&out.stderr));
    let kept = replaced_dirs(&data);
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert!(kept[0].join("dingdian.db").is_file() && kept[0].join("files").is_dir(), "the replaced database and files are kept");
    assert!(stdout(&out).contains(&format!("what it replaced is in {}", kept[0].display())), "{}", stdout(&out));

    // An archive that is not a backup restores nothing.
    let junk = dir.0.join("junk.tar");
    std::fs::write(&junk, b"not an archive").unwrap();
    let out = dingdian().arg("restore").arg(&junk).arg("--data-dir").arg(&data).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a dingdian backup archive"), "{}", String::from_utf8_lossy(&out.stderr));
    // A bare database file (what `backup` wrote before archives) is named as such.
    let bare = dir.0.join("bare.db");
    std::fs::copy(kept[0].join("dingdian.db"), &bare).unwrap();
    let out = dingdian().arg("restore").arg(&bare).arg("--data-dir").arg(&data).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is a bare database file"), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(replaced_dirs(&data).len(), 1, "a refused restore moved something aside");
}

/// `dingdian check` exits 1 naming a file deleted from files/blobs and a corrupted one (by
/// application, name and digest); `backup` names them too and exits 1.
#[test]
fn check_names_missing_and_corrupt_files() {
    let dir = Dir::new("check");
    let data = dir.0.join("data");
    demo(&data);
    let out = run(&["check"], &data);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let stored = files_under(&data.join("files").join("blobs"));
    let (gone, bad) = (&stored[0], &stored[1]);
    std::fs::remove_file(gone).unwrap();
    let mut bytes = std::fs::read(bad).unwrap();
    bytes[0] ^= 1;
    std::fs::write(bad, bytes).unwrap();
    let name = |p: &PathBuf| p.file_name().unwrap().to_string_lossy().into_owned();

    let out = run(&["check"], &data);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    let line = |kind: &str, sha: &str| {
        text.lines().any(|l| l.starts_with(&format!("{kind}: application ")) && l.ends_with(&format!("sha256 {sha}")))
    };
    assert!(line("missing", &name(gone)), "{text}");
    assert!(line("corrupt", &name(bad)), "{text}");
    assert!(text.lines().last().unwrap().starts_with("FAILED: audit chain verifies"), "{text}");

    let out = dingdian().arg("backup").arg(dir.0.join("b.tar")).arg("--data-dir").arg(&data).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(stdout(&out).contains(&name(gone)) && stdout(&out).contains(&name(bad)), "{}", stdout(&out));
}

/// G-NOTHING-LOST: an upload's spool file in the spool directory of a server killed with
/// SIGKILL is removed when the server starts again, while another process's live spool
/// directory is never touched.
#[test]
fn spool_of_a_killed_server_is_gone_after_restart() {
    let dir = Dir::new("spool");
    let data = dir.0.join("data");
    demo(&data);
    let spool = data.join("spool");
    let (mut child, _) = start(&data);
    let own = |pid: u32| -> Vec<PathBuf> {
        std::fs::read_dir(&spool)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with(&format!("{pid}-")))
            .collect()
    };
    let dirs = own(child.id());
    assert_eq!(dirs.len(), 1, "the server spools into a directory of its own: {dirs:?}");
    let part = dirs[0].join("0123.part");
    std::fs::write(&part, b"%PDF-1.4\n half an upload").unwrap();
    // Another process opening the file store leaves the live spool alone.
    let out = run(&["files", "gc", "--dry-run"], &data);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(part.exists(), "a live server's spool file was removed");

    child.kill().unwrap();
    child.wait().unwrap();
    assert!(part.exists());
    let (mut again, _) = start(&data);
    assert!(!part.exists() && !dirs[0].exists(), "the killed server's spool survived the restart");
    assert_eq!(own(again.id()).len(), 1);
    again.kill().unwrap();
    again.wait().unwrap();
}
