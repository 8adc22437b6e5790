//! A real `dingdian` process for the process-level tests: the binary, a server on a free port,
//! and a minimal HTTP/1.1 client that never sleeps.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};

pub fn dingdian() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_dingdian"));
    c.env("RUST_LOG", "error").current_dir(env!("CARGO_MANIFEST_DIR"));
    c
}

/// `dingdian` with its wall clock set to `at` (and running on from there) by libfaketime
/// (Debian package `faketime`), loaded directly so that the child is the server itself and a
/// SIGKILL reaches it. The monotonic clock stays real, so the server's intervals behave.
pub fn dingdian_at(at: jiff::Timestamp) -> Command {
    let lib = format!("/usr/lib/{}-linux-gnu/faketime/libfaketimeMT.so.1", std::env::consts::ARCH);
    assert!(std::path::Path::new(&lib).exists(), "{lib} is missing: apt-get install faketime");
    let mut c = dingdian();
    c.env("LD_PRELOAD", lib)
        .env("FAKETIME", at.strftime("@%Y-%m-%d %H:%M:%S").to_string())
        .env("FAKETIME_DONT_FAKE_MONOTONIC", "1")
        .env("TZ", "UTC");
    c
}

/// Starts the server on a free port and waits for its "running" line.
pub fn start(data: &std::path::Path) -> (Child, u16) {
    start_with(data, &[])
}

/// As `start`, with further `serve` arguments.
pub fn start_with(data: &std::path::Path, extra: &[&str]) -> (Child, u16) {
    // The demo is pinned to 2026-11-27; timers would move it on with the real date.
    let args: Vec<&str> = std::iter::once("--no-timers").chain(extra.iter().copied()).collect();
    serve(dingdian(), data, &args)
}

/// Starts `cmd serve … extra` on a free port and waits for its "running" line.
pub fn serve(mut cmd: Command, data: &std::path::Path, extra: &[&str]) -> (Child, u16) {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut child = cmd
        .args(["serve", "--addr", &format!("127.0.0.1:{port}"), "--data-dir"])
        .arg(data)
        .args(extra)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    while !line.contains("dingdian is running") {
        line.clear();
        assert!(out.read_line(&mut line).unwrap() > 0, "server exited before listening");
    }
    // Keep draining stdout so the server never blocks on a full pipe.
    std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
    (child, port)
}

/// A minimal HTTP/1.1 request; `None` when the connection fails or breaks (server killed).
pub fn http(port: u16, method: &str, path: &str, token: Option<&str>, body: Option<&str>) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    let body = body.unwrap_or("");
    let auth = token.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).ok()?;
    let mut resp = String::new();
    s.read_to_string(&mut resp).ok()?;
    let status = resp.split(' ').nth(1)?.parse().ok()?;
    let body = resp.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
    Some((status, body))
}

/// A GET answered with bytes (a download): (status, body).
pub fn get_bytes(port: u16, path: &str, token: &str) -> Option<(u16, Vec<u8>)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    let head = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n");
    s.write_all(head.as_bytes()).ok()?;
    let mut resp = Vec::new();
    s.read_to_end(&mut resp).ok()?;
    let split = resp.windows(4).position(|w| w == b"\r\n\r\n")?;
    let status = String::from_utf8_lossy(&resp[..split]).split(' ').nth(1)?.parse().ok()?;
    Some((status, resp[split + 4..].to_vec()))
}

/// Signs a demo account in; its bearer token.
pub fn login(port: u16, user: &str) -> String {
    let (status, body) =
        http(port, "POST", "/api/session", None, Some(&format!(r#"{{"username":"{user}","password":"dingdian-demo"}}"#))).unwrap();
    assert_eq!(status, 201, "{body}");
    serde_json::from_str::<serde_json::Value>(&body).unwrap()["token"].as_str().unwrap().to_owned()
}
