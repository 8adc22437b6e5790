//! The server's connections, against the real binary (issue: accounts and hardening): a client
//! that sends half a header, trickles a body or keeps an idle connection open is cut off after
//! the configured time instead of holding the connection for ever; SIGTERM stops accepting,
//! lets the request in flight finish and exits 0.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use support::{dingdian, http, serve, start_with};

fn data_dir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("dingdian-http-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    let out = dingdian().args(["migrate", "--data-dir"]).arg(&d).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    d
}

/// Reads until the server closes the connection (or `limit` passes, which fails the test);
/// returns what arrived and how long it took.
fn until_closed(s: &mut TcpStream, limit: Duration) -> (String, Duration) {
    s.set_read_timeout(Some(limit)).unwrap();
    let started = Instant::now();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break,
            Err(e) => panic!("the server kept the connection open for {:?}: {e}", started.elapsed()),
        }
    }
    (String::from_utf8_lossy(&got).into_owned(), started.elapsed())
}

#[test]
fn slow_and_idle_clients_are_cut_off() {
    let data = data_dir("timeouts");
    let (mut child, port) = start_with(&data, &["--header-timeout", "1", "--body-idle-timeout", "1"]);
    let limit = Duration::from_secs(20);

    // Half a header, then nothing.
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n").unwrap();
    let (_, took) = until_closed(&mut s, limit);
    assert!(took < Duration::from_secs(10), "half a header held {took:?}");

    // A connection that never sends a byte.
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let (_, took) = until_closed(&mut s, limit);
    assert!(took < Duration::from_secs(10), "a silent connection held {took:?}");

    // A body that stops half-way: the request is abandoned and the connection closed.
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.write_all(
        b"POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\nusername=a",
    )
    .unwrap();
    let (answer, took) = until_closed(&mut s, limit);
    assert!(took < Duration::from_secs(10), "a stalled body held {took:?}");
    assert!(!answer.starts_with("HTTP/1.1 2"), "{answer}");

    // A kept-alive connection after its answer.
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").unwrap();
    let (answer, took) = until_closed(&mut s, limit);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(took < Duration::from_secs(10), "an idle kept-alive connection held {took:?}");

    // The server is still there for everyone else.
    assert_eq!(http(port, "GET", "/healthz", None, None).map(|r| r.0), Some(200));
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn sigterm_finishes_the_request_in_flight_and_exits_zero() {
    let data = data_dir("sigterm");
    let (mut child, port) = start_with(&data, &["--drain", "20"]);
    // A request in flight: headers sent, body not yet complete.
    let body = "username=nobody&password=wrong-password";
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let head = format!(
        "POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(&body.as_bytes()[..5]).unwrap();
    // Make sure the server has taken the connection before the signal.
    let (status, _) = http(port, "GET", "/healthz", None, None).unwrap();
    assert_eq!(status, 200);
    let term = std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(term.success());
    // New connections are refused once the listener is closed; the one in flight completes.
    s.write_all(&body.as_bytes()[5..]).unwrap();
    let (answer, _) = until_closed(&mut s, Duration::from_secs(20));
    assert!(answer.starts_with("HTTP/1.1 401"), "the request in flight was answered: {answer}");
    let status = child.wait().unwrap();
    assert!(status.success(), "exit status after SIGTERM: {status:?}");
    assert!(TcpStream::connect(("127.0.0.1", port)).is_err(), "nothing listens after the exit");
}

/// Logs an operator can ship: one JSON object per line when not on a terminal, an access line
/// per request with its request id (echoed to the client), route, status, latency and client,
/// and a last line on a clean stop.
#[test]
fn json_access_log_with_request_ids() {
    let data = data_dir("logs");
    let log = data.join("stderr.log");
    let mut cmd = dingdian();
    cmd.env("RUST_LOG", "info").env("DINGDIAN_LOG_FORMAT", "json").stderr(std::fs::File::create(&log).unwrap());
    let (mut child, port) = serve(cmd, &data, &["--no-timers"]);
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Request-Id: probe-42\r\nConnection: close\r\n\r\n").unwrap();
    let (answer, _) = until_closed(&mut s, Duration::from_secs(20));
    assert!(answer.to_ascii_lowercase().contains("x-request-id: probe-42"), "{answer}");
    assert_eq!(http(port, "GET", "/no/such/page", None, None).map(|r| r.0), Some(404));
    let term = std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(term.success());
    assert!(child.wait().unwrap().success());
    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<serde_json::Value> =
        text.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"))).collect();
    let access: Vec<&serde_json::Value> = lines.iter().filter(|l| l["target"] == "access").collect();
    let probe = access.iter().find(|l| l["request_id"] == "probe-42").expect("an access line for the probe");
    assert_eq!(
        (probe["route"].as_str(), probe["status"].as_u64(), probe["client"].as_str()),
        (Some("/healthz"), Some(200), Some("127.0.0.1"))
    );
    assert!(probe["latency_ms"].as_f64().is_some(), "{probe}");
    let missing = access.iter().find(|l| l["status"] == 404).expect("an access line for the 404");
    assert_eq!(missing["route"], "unmatched");
    assert!(missing["request_id"].as_str().is_some_and(|id| id.len() == 16), "{missing}");
    assert!(lines.iter().any(|l| l["message"] == "stopped"), "{text}");
    assert!(!text.contains('\u{1b}'), "no terminal colours in a file");
}
