//! The configuration file (`--config`, `DINGDIAN_CONFIG`) as an operator uses it: a file sets
//! what a flag would, an environment variable beats the file and a flag beats both; a bad file
//! or a setting out of range stops the command with exit 2, a one-line message and nothing
//! changed.

mod support;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use dingdian_store::testing::{Backend, TestDb};
use support::{dingdian, http};

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("dingdian-config-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// `dingdian` without any of the settings these tests set through the environment.
fn clean() -> Command {
    let mut c = dingdian();
    for v in ["DINGDIAN_CONFIG", "DINGDIAN_ADDR", "DINGDIAN_DATA_DIR", "DINGDIAN_LOG_FORMAT", "DINGDIAN_DB_MAX_CONNECTIONS"] {
        c.env_remove(v);
    }
    c
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Starts `cmd` (a `serve`), its standard error into `log`; the port its "running" line names.
fn start(mut cmd: Command, log: &Path) -> (Child, u16) {
    let mut child = cmd.stdout(Stdio::piped()).stderr(std::fs::File::create(log).unwrap()).spawn().unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    while !line.contains("dingdian is running") {
        line.clear();
        assert!(out.read_line(&mut line).unwrap() > 0, "server exited before listening: {}", std::fs::read_to_string(log).unwrap());
    }
    std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
    let port = line.split("http://127.0.0.1:").nth(1).and_then(|r| r.split('/').next()).and_then(|p| p.parse().ok());
    (child, port.unwrap_or_else(|| panic!("no port in {line}")))
}

/// SIGTERM and a clean exit. The signal handler is in place before the "running" line, so a
/// SIGTERM at once drains (it used to kill the process now and then: the handler was installed
/// only when the accept loop first polled it).
fn stop(mut child: Child) {
    let term = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(term.success());
    let status = child.wait().unwrap();
    assert!(status.success(), "exit after SIGTERM: {status:?}");
}

fn write(path: &Path, text: &str) -> PathBuf {
    std::fs::write(path, text).unwrap();
    path.to_owned()
}

#[test]
fn the_file_sets_address_data_dir_pool_token_and_log_format() {
    let dir = temp_dir("serve");
    let (port, data) = (free_port(), dir.join("data"));
    let file = write(
        &dir.join("dingdian.toml"),
        &format!(
            "addr = \"127.0.0.1:{port}\"\ndata_dir = \"{}\"\ndb_max_connections = 3\nmetrics_token = \"from-the-file\"\nlog_format = \"text\"\n",
            data.display()
        ),
    );
    let mut cmd = clean();
    cmd.env("RUST_LOG", "info").arg("--config").arg(&file).args(["serve", "--no-timers"]);
    let log = dir.join("stderr.log");
    let (child, listening) = start(cmd, &log);
    assert_eq!(listening, port, "serve listens where the file says");
    assert!(data.join("dingdian.db").exists(), "the database is in the file's data_dir");
    assert_eq!(http(port, "GET", "/metrics", None, None).map(|r| r.0), Some(403), "the file's token is required");
    let (status, metrics) = http(port, "GET", "/metrics", Some("from-the-file"), None).unwrap();
    assert_eq!(status, 200, "{metrics}");
    assert!(metrics.lines().any(|l| l == "dingdian_db_pool_max 3"), "the file's pool size is used: {metrics}");
    stop(child);
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(!text.trim().is_empty() && text.lines().all(|l| !l.starts_with('{')), "text logs, as the file says: {text}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn environment_beats_the_file_and_a_flag_beats_the_environment() {
    let dir = temp_dir("precedence");
    let (in_file, in_env, in_flag) = (free_port(), free_port(), free_port());
    let file = write(&dir.join("d.toml"), &format!("addr = \"127.0.0.1:{in_file}\"\nlog_format = \"text\"\n"));
    let log = dir.join("stderr.log");

    let mut cmd = clean();
    cmd.env("DINGDIAN_CONFIG", &file).env("DINGDIAN_ADDR", format!("127.0.0.1:{in_env}")).env("DINGDIAN_LOG_FORMAT", "json");
    cmd.env("RUST_LOG", "info").args(["serve", "--no-timers", "--data-dir"]).arg(dir.join("data"));
    let (child, port) = start(cmd, &log);
    assert_eq!(port, in_env, "the environment beats the file");
    assert_eq!(http(port, "GET", "/healthz", None, None).map(|r| r.0), Some(200));
    stop(child);
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(!text.trim().is_empty() && text.lines().all(|l| l.starts_with('{')), "JSON logs, as the environment says: {text}");

    let mut cmd = clean();
    cmd.env("DINGDIAN_CONFIG", &file).env("DINGDIAN_ADDR", format!("127.0.0.1:{in_env}"));
    cmd.args(["serve", "--no-timers", "--addr", &format!("127.0.0.1:{in_flag}"), "--data-dir"]).arg(dir.join("data"));
    let (child, port) = start(cmd, &log);
    assert_eq!(port, in_flag, "the flag beats the environment and the file");
    stop(child);
    let _ = std::fs::remove_dir_all(dir);
}

/// Exit 2 with one line on standard error naming what is wrong; no panic, nothing created.
fn refused(out: &Output, data: &Path, expect: &[&str]) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    for e in expect {
        assert!(stderr.contains(e), "names {e}: {stderr}");
    }
    assert!(!data.join("dingdian.db").exists(), "nothing was opened: {stderr}");
}

#[test]
fn a_bad_file_stops_every_command_with_exit_2() {
    let dir = temp_dir("bad");
    let data = dir.join("data");
    let unknown = write(&dir.join("unknown.toml"), "drain = 5\nlisten = \"0.0.0.0:80\"\n");
    let out = clean().arg("--config").arg(&unknown).args(["migrate", "--data-dir"]).arg(&data).output().unwrap();
    refused(&out, &data, &["unknown.toml:2:", "unknown field `listen`"]);
    assert_eq!(String::from_utf8_lossy(&out.stderr).lines().count(), 1);

    let malformed = write(&dir.join("malformed.toml"), "addr = \"127.0.0.1:8080\"\ndrain = [\n");
    let out = clean().env("DINGDIAN_CONFIG", &malformed).args(["migrate", "--data-dir"]).arg(&data).output().unwrap();
    refused(&out, &data, &["configuration file", "malformed.toml:"]);
    assert_eq!(String::from_utf8_lossy(&out.stderr).lines().count(), 1);

    let wrong_type = write(&dir.join("type.toml"), "db_max_connections = \"many\"\n");
    let out = clean().arg("--config").arg(&wrong_type).args(["check", "--data-dir"]).arg(&data).output().unwrap();
    refused(&out, &data, &["type.toml:1:", "invalid type"]);

    let missing = dir.join("missing.toml");
    let out = clean().args(["check", "--data-dir"]).arg(&data).arg("--config").arg(&missing).output().unwrap();
    refused(&out, &data, &["cannot read the configuration file", "missing.toml"]);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_pool_size_out_of_range_is_refused_from_flag_environment_and_file() {
    let dir = temp_dir("pool");
    let data = dir.join("data");
    let out = clean().args(["migrate", "--db-max-connections", "0", "--data-dir"]).arg(&data).output().unwrap();
    refused(&out, &data, &["--db-max-connections", "1..=1000"]);
    let out = clean().env("DINGDIAN_DB_MAX_CONNECTIONS", "1001").args(["migrate", "--data-dir"]).arg(&data).output().unwrap();
    refused(&out, &data, &["--db-max-connections", "1001"]);
    let out = clean().args(["migrate", "--db-acquire-timeout", "0", "--data-dir"]).arg(&data).output().unwrap();
    refused(&out, &data, &["--db-acquire-timeout"]);
    let file = write(&dir.join("pool.toml"), "db_max_connections = 0\n");
    let out = clean().arg("--config").arg(&file).args(["migrate", "--data-dir"]).arg(&data).output().unwrap();
    refused(&out, &data, &["--db-max-connections", "pool.toml"]);
    // In range, it opens.
    let out =
        clean().args(["migrate", "--db-max-connections", "1", "--db-acquire-timeout", "1", "--data-dir"]).arg(&data).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let _ = std::fs::remove_dir_all(dir);
}

// PostgreSQL: the file names the database and a pool size; the environment's size beats it.
#[test]
fn postgres_pool_size_from_the_environment_beats_the_file() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let db = rt.block_on(TestDb::new(Backend::Postgres)).expect("PostgreSQL at 127.0.0.1:5432");
    let dir = temp_dir("pg");
    let file = write(&dir.join("pg.toml"), &format!("database = \"{}\"\ndb_max_connections = 5\nmigrate = true\n", db.url));
    let mut cmd = clean();
    cmd.env("DINGDIAN_DB_MAX_CONNECTIONS", "6").arg("--config").arg(&file);
    cmd.args(["serve", "--no-timers", "--addr", "127.0.0.1:0", "--data-dir"]).arg(dir.join("data"));
    let (child, port) = start(cmd, &dir.join("stderr.log"));
    let (status, metrics) = http(port, "GET", "/metrics", None, None).unwrap();
    assert_eq!(status, 200, "{metrics}");
    assert!(metrics.lines().any(|l| l == "dingdian_db_pool_max 6"), "the environment's pool size is used: {metrics}");
    stop(child);
    assert!(!dir.join("data").join("dingdian.db").exists(), "the file's PostgreSQL was used, not the embedded database");
    drop(db);
    let _ = std::fs::remove_dir_all(dir);
}
