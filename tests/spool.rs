//! Where uploads are received (issue #18 item 4): the spool is a setting (`spool_dir`,
//! `--spool-dir`, `DINGDIAN_SPOOL_DIR`), by default beside the stored files, never a directory
//! relative to wherever the service happened to be started.

mod support;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use support::{dingdian, http};

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("dingdian-spool-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// `serve` from the working directory `cwd`, with none of the settings under test from the
/// environment; the port its "running" line names.
fn start(cwd: &Path, config: &Path, env: &[(&str, &Path)]) -> (Child, u16) {
    let mut cmd: Command = dingdian();
    for v in ["DINGDIAN_CONFIG", "DINGDIAN_DATA_DIR", "DINGDIAN_FILES_DIR", "DINGDIAN_SPOOL_DIR", "DINGDIAN_S3_URL"] {
        cmd.env_remove(v);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.current_dir(cwd).arg("--config").arg(config).args(["serve", "--no-timers", "--addr", "127.0.0.1:0"]);
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    while !line.contains("dingdian is running") {
        line.clear();
        assert!(out.read_line(&mut line).unwrap() > 0, "the server exited before listening");
    }
    std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
    let port = line.split("http://127.0.0.1:").nth(1).and_then(|r| r.split('/').next()).and_then(|p| p.parse().ok());
    (child, port.unwrap_or_else(|| panic!("no port in {line}")))
}

/// The spool directories (`<pid>-<random>`) of process `pid` under `root`.
fn own_spools(root: &Path, pid: u32) -> Vec<PathBuf> {
    std::fs::read_dir(root)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir() && p.file_name().unwrap().to_string_lossy().starts_with(&format!("{pid}-")))
        .collect()
}

fn stop(mut child: Child) {
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn uploads_are_spooled_where_configured_and_beside_the_files_by_default() {
    let dir = temp_dir("where");
    let cwd = dir.join("cwd");
    std::fs::create_dir_all(&cwd).unwrap();
    let (data, files) = (dir.join("data"), dir.join("files"));
    let base = format!("data_dir = \"{}\"\nfiles_dir = \"{}\"\n", data.display(), files.display());

    // No spool_dir: beside the stored files, on their file system.
    let config = dir.join("default.toml");
    std::fs::write(&config, &base).unwrap();
    let (child, port) = start(&cwd, &config, &[]);
    assert_eq!(own_spools(&files.join("spool"), child.id()).len(), 1, "the spool is <files_dir>/spool");
    assert_eq!(http(port, "GET", "/readyz", None, None).map(|r| r.0), Some(200), "the spool takes files");
    stop(child);

    // spool_dir in the file; DINGDIAN_SPOOL_DIR beats it.
    let (in_file, in_env) = (dir.join("spool-file"), dir.join("spool-env"));
    let config = dir.join("spool.toml");
    std::fs::write(&config, format!("{base}spool_dir = \"{}\"\n", in_file.display())).unwrap();
    let (child, port) = start(&cwd, &config, &[]);
    assert_eq!(own_spools(&in_file, child.id()).len(), 1, "the file's spool_dir is used");
    assert_eq!(http(port, "GET", "/readyz", None, None).map(|r| r.0), Some(200));
    stop(child);
    let (child, _) = start(&cwd, &config, &[("DINGDIAN_SPOOL_DIR", &in_env)]);
    assert_eq!(own_spools(&in_env, child.id()).len(), 1, "the environment beats the file");
    assert!(own_spools(&in_file, child.id()).is_empty());
    stop(child);

    assert!(!data.join("spool").exists(), "nothing spooled under the data directory");
    assert!(std::fs::read_dir(&cwd).unwrap().next().is_none(), "nothing created in the working directory");
    let _ = std::fs::remove_dir_all(dir);
}
