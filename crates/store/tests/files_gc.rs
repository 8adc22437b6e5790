//! Garbage collection of stored files (G-NOTHING-LOST), on SQLite and PostgreSQL with the local
//! backend: a file no record refers to is removed once older than the grace period; a file an
//! event or a complaint refers to, and a young unreferenced one (an upload whose record is not
//! yet committed), are kept; committing content identical to an old unreferenced file makes it
//! young again. File ages are set by back-dating the files' modification times.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use dingdian_core::lifecycle::{Actor, Role};
use dingdian_store::files::{Backend as FileBackend, FileStore};
use dingdian_store::testing::{Backend, TestDb};
use dingdian_store::{NewInstitution, NewUser, Store, Upload};

const DAY: Duration = Duration::from_secs(24 * 3600);

fn pdf(tag: &str) -> Vec<u8> {
    format!("%PDF-1.4\n% {tag}\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n").into_bytes()
}

struct Dir(PathBuf);

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn blob_path(root: &Path, sha: &str) -> PathBuf {
    root.join("files").join("blobs").join(&sha[..2]).join(sha)
}

fn backdate(root: &Path, sha: &str, by: Duration) {
    let file = std::fs::File::options().write(true).open(blob_path(root, sha)).expect("stored file");
    file.set_modified(SystemTime::now() - by).expect("set mtime");
}

/// A Harbin institution with an account and a draft application: (actor, application id).
async fn draft(store: &Store) -> (Actor, i64) {
    let now = jiff::Timestamp::now();
    for p in dingdian_core::policy::Profile::shipped() {
        store.register_profile(p, now).await.unwrap();
    }
    let uscc = dingdian_core::ids::Uscc::with_check("12230102MB1A2B3C4").unwrap();
    let institution = NewInstitution {
        uscc: &uscc,
        name: "测试医院",
        kind: dingdian_core::policy::InstitutionKind::Medical,
        category: "综合医院",
        city: "harbin",
        district: "230102",
        national_code: None,
        address: "测试地址",
        beds: 10,
    };
    let inst = store.ensure_institution(institution, now).await.unwrap();
    let user = NewUser {
        username: "gc-hospital",
        display_name: "gc-hospital",
        password: "a long test password",
        role: Role::Institution,
        city: "harbin",
        district: None,
        institution_id: Some(inst),
    };
    let user_id = store.ensure_user(user, now).await.unwrap();
    let actor = Actor {
        user_id,
        role: Role::Institution,
        city: "harbin".into(),
        district: None,
        institution_id: Some(inst),
        evaluator_id: None,
        province: None,
    };
    let app = store.create_application(&actor, now).await.unwrap();
    (actor, app.id)
}

/// A complaint row whose attachments name `sha` (written as the store writes them).
async fn complaint_referring_to(url: &str, application_id: i64, sha: &str) {
    use sqlx::Connection;
    let attachments = format!(r#"[{{"sha256":"{sha}","size":10,"file_type":"pdf","name":"证据.pdf"}}]"#);
    let sql = "insert into complaints (receipt, application_id, number, content, status, created_at, attachments)
               values ('TSGC', $1, 1, '投诉', 'open', '2026-03-02T00:00:00Z', $2)";
    if url.starts_with("postgres") {
        let mut c = sqlx::PgConnection::connect(url).await.unwrap();
        sqlx::query(sql).bind(application_id).bind(&attachments).execute(&mut c).await.unwrap();
    } else {
        let mut c = sqlx::SqliteConnection::connect(&format!("sqlite://{url}")).await.unwrap();
        sqlx::query(sql).bind(application_id).bind(&attachments).execute(&mut c).await.unwrap();
    }
}

/// A store with file storage and a draft whose two files are referred to: a material attached
/// through the command path (an event) and a complaint's attachment (nothing else).
struct Setup {
    db: TestDb,
    store: dingdian_store::Store,
    dir: Dir,
    files: FileStore,
    id: i64,
    now: jiff::Timestamp,
    material: String,
    evidence: String,
}

async fn setup(backend: Backend, tag: &str) -> Setup {
    let db = TestDb::new(backend).await.expect("test database (is PostgreSQL running?)");
    let store = db.open().await.unwrap();
    let dir = Dir(std::env::temp_dir().join(format!("dingdian-{tag}-{}-{backend:?}", std::process::id())));
    let _ = std::fs::remove_dir_all(&dir.0);
    let files = FileStore::open(&FileBackend::Local(dir.0.join("files")), &dir.0).unwrap();
    store.use_files(files.clone());
    let (actor, id) = draft(&store).await;
    let now = jiff::Timestamp::now();
    let body = futures_util::stream::iter([Ok::<_, std::io::Error>(Bytes::from(pdf("licence")))]);
    store.attach_material(&files, id, &actor, Upload { slot: "licence", name: "许可证.pdf", body }, now).await.expect("attached");
    let material = store.application(id).await.unwrap().unwrap().data.materials["licence"][0].sha256.clone();
    let evidence = files.put_bytes(Bytes::from(pdf("evidence"))).await.unwrap();
    complaint_referring_to(&db.url, id, &evidence).await;
    Setup { db, store, dir, files, id, now, material, evidence }
}

async fn unreferenced_old_files_are_removed(backend: Backend) {
    let Setup { db: _db, store, dir, files, now, material, evidence, .. } = setup(backend, "gc").await;
    // Referred to by nothing: an old one, a young one, and an old one about to be committed again.
    let orphan = files.put_bytes(Bytes::from(pdf("orphan"))).await.unwrap();
    let young = files.put_bytes(Bytes::from(pdf("young"))).await.unwrap();
    let again = files.put_bytes(Bytes::from(pdf("again"))).await.unwrap();
    for sha in [&material, &evidence, &orphan, &again] {
        backdate(&dir.0, sha, 2 * DAY);
    }
    backdate(&dir.0, &young, DAY - Duration::from_secs(3600));
    // The same content committed anew (a new upload being recorded) is young again.
    assert_eq!(files.put_bytes(Bytes::from(pdf("again"))).await.unwrap(), again);

    let refs = store.referenced_blobs().await.unwrap();
    assert!(refs.contains(&material) && refs.contains(&evidence), "{refs:?}");

    // A dry run reports and removes nothing.
    let dry = store.collect_garbage(&files, DAY, now, true).await.unwrap();
    let orphan_size = pdf("orphan").len() as u64;
    assert_eq!(dry.removed, vec![(orphan.clone(), orphan_size)]);
    assert!(files.exists(&orphan).await.unwrap(), "a dry run removed a file");

    let report = store.collect_garbage(&files, DAY, now, false).await.unwrap();
    assert_eq!(report.removed, vec![(orphan.clone(), orphan_size)]);
    assert_eq!(report.removed_bytes(), orphan_size);
    assert_eq!((report.referenced, report.young), (2, 2));
    assert!(!files.exists(&orphan).await.unwrap(), "the unreferenced old file is still stored");
    assert!(!blob_path(&dir.0, &orphan).exists());
    for kept in [&material, &evidence, &young, &again] {
        assert!(files.exists(kept).await.unwrap(), "{kept} was removed");
    }
    // Nothing left to remove; the material still downloads.
    assert!(store.collect_garbage(&files, DAY, now, false).await.unwrap().removed.is_empty());
    assert_eq!(files.read_all(&material).await.unwrap().as_ref(), pdf("licence").as_slice());
    // A grace period shorter than the refresh interval could remove a file being recorded.
    assert!(store.collect_garbage(&files, Duration::from_secs(60), now, true).await.is_err());
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreferenced_old_files_are_removed_sqlite() {
    unreferenced_old_files_are_removed(Backend::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreferenced_old_files_are_removed_postgres() {
    unreferenced_old_files_are_removed(Backend::Postgres).await
}

/// G-NOTHING-LOST: `check_files` re-hashes every file a record refers to (an event's material,
/// a complaint's attachment) and names each missing or corrupt one by application and name.
async fn check_files_names_missing_and_corrupt(backend: Backend) {
    let Setup { db: _db, store, dir, files, id, material, evidence, .. } = setup(backend, "check").await;
    // An unreferenced file is none of the check's business.
    files.put_bytes(Bytes::from(pdf("orphan"))).await.unwrap();

    let ok = store.check_files(&files).await.unwrap();
    assert!(ok.is_ok(), "{ok:?}");
    assert_eq!((ok.checked, ok.bytes), (2, (pdf("licence").len() + pdf("evidence").len()) as u64));

    std::fs::remove_file(blob_path(&dir.0, &material)).unwrap();
    std::fs::write(blob_path(&dir.0, &evidence), pdf("tampered")).unwrap();
    let bad = store.check_files(&files).await.unwrap();
    let named = |refs: &[dingdian_store::FileReference]| -> Vec<(String, i64, String)> {
        refs.iter().map(|r| (r.sha256.clone(), r.application_id, r.name.clone())).collect()
    };
    assert_eq!(named(&bad.missing), vec![(material, id, "许可证.pdf".to_owned())]);
    assert_eq!(named(&bad.corrupt), vec![(evidence, id, "证据.pdf".to_owned())]);
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_files_names_missing_and_corrupt_sqlite() {
    check_files_names_missing_and_corrupt(Backend::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_files_names_missing_and_corrupt_postgres() {
    check_files_names_missing_and_corrupt(Backend::Postgres).await
}
