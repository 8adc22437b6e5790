//! The README's PostgreSQL backup and restore procedure, command for command, on databases this
//! test creates and drops: pg_dump, `dingdian backup --files-only`, pg_restore into an empty
//! database, the files unpacked with tar, `dingdian check`; then pg_restore with `--clean
//! --if-exists` over the restored database. pg_dump and pg_restore come with PostgreSQL's
//! client package; a missing one fails the test (never skipped).

mod support;

use std::path::Path;
use std::process::{Command, Output};

use dingdian_store::testing::{Backend, TestDb};
use support::dingdian;

fn ok(what: &str, out: Output) -> String {
    assert!(
        out.status.success(),
        "{what} exited {:?}\n{}{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn tool(name: &str) -> Command {
    assert!(
        Command::new(name).arg("--version").output().is_ok_and(|o| o.status.success()),
        "{name} is needed (Debian: apt-get install postgresql-client)"
    );
    Command::new(name)
}

fn check(url: &str, data: &Path) -> Output {
    dingdian().args(["check", "--database", url, "--data-dir"]).arg(data).output().unwrap()
}

#[test]
fn readme_postgresql_backup_and_restore_pass_cleanly() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (source, target) = rt.block_on(async {
        let source = TestDb::new(Backend::Postgres).await.expect("PostgreSQL at 127.0.0.1:5432");
        let target = TestDb::new(Backend::Postgres).await.expect("PostgreSQL at 127.0.0.1:5432");
        (source, target)
    });
    let dir = std::env::temp_dir().join(format!("dingdian-pg-backup-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let (live, restored) = (dir.join("live"), dir.join("restored"));
    std::fs::create_dir_all(&restored).unwrap();
    ok(
        "demo",
        dingdian().args(["demo", "--now", "2026-11-27T02:00:00Z", "--database", &source.url, "--data-dir"]).arg(&live).output().unwrap(),
    );
    let (dump, archive) = (dir.join("dingdian.dump"), dir.join("files.tar"));

    // Back up: the database with pg_dump, the files directory with dingdian.
    ok("pg_dump", tool("pg_dump").arg("--format=custom").arg(format!("--file={}", dump.display())).arg(&source.url).output().unwrap());
    let out = ok(
        "backup --files-only",
        dingdian()
            .args(["backup", "--files-only"])
            .arg(&archive)
            .args(["--database", &source.url, "--data-dir"])
            .arg(&live)
            .output()
            .unwrap(),
    );
    assert!(out.contains("no database (--files-only)"), "{out}");
    // The database alone is not backed up by `dingdian backup`: it points to pg_dump.
    let refused =
        dingdian().arg("backup").arg(dir.join("x.tar")).args(["--database", &source.url, "--data-dir"]).arg(&live).output().unwrap();
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("pg_dump"));

    // Restore into an empty database, and the files into the new data directory.
    ok(
        "pg_restore",
        tool("pg_restore").args(["--no-owner", "--exit-on-error"]).arg(format!("--dbname={}", target.url)).arg(&dump).output().unwrap(),
    );
    ok("tar -x", Command::new("tar").arg("-xf").arg(&archive).arg("-C").arg(&restored).arg("files").output().unwrap());
    let out = ok("check", check(&target.url, &restored));
    assert!(out.starts_with("OK: audit chain of "), "{out}");

    // Over an existing database: --clean --if-exists replaces it and exits 0.
    ok(
        "pg_restore --clean --if-exists",
        tool("pg_restore")
            .args(["--clean", "--if-exists", "--no-owner", "--exit-on-error"])
            .arg(format!("--dbname={}", target.url))
            .arg(&dump)
            .output()
            .unwrap(),
    );
    let out = ok("check after --clean", check(&target.url, &restored));
    assert!(out.starts_with("OK: audit chain of "), "{out}");
    let _ = std::fs::remove_dir_all(&dir);
    drop((source, target));
}
