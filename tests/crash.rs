//! Crash test (G-NOTHING-LOST, G-AUDIT): a real `dingdian serve` process is killed (SIGKILL) at
//! random moments while clients send a mix of commands; after each restart every acknowledged
//! command is present exactly once and the audit chain verifies. "Random" is a seeded sequence
//! of kill points counted in acknowledged requests, so the test never sleeps and can be replayed.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

fn dingdian() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_dingdian"));
    c.env("RUST_LOG", "error").current_dir(env!("CARGO_MANIFEST_DIR"));
    c
}

/// Starts the server on a free port and waits for its "running" line.
fn start(data: &std::path::Path) -> (Child, u16) {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    // The demo is pinned to 2026-11-27; timers would move it on with the real date.
    let mut child = dingdian()
        .args(["serve", "--no-timers", "--addr", &format!("127.0.0.1:{port}"), "--data-dir"])
        .arg(data)
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
fn http(port: u16, method: &str, path: &str, token: Option<&str>, body: Option<&str>) -> Option<(u16, String)> {
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

fn login(port: u16, user: &str) -> String {
    let (status, body) =
        http(port, "POST", "/api/session", None, Some(&format!(r#"{{"username":"{user}","password":"dingdian-demo"}}"#))).unwrap();
    assert_eq!(status, 201, "{body}");
    serde_json::from_str::<serde_json::Value>(&body).unwrap()["token"].as_str().unwrap().to_owned()
}

/// A draft application of a demo institution, as (id, token).
fn draft(port: u16, user: &str) -> (i64, String) {
    let token = login(port, user);
    let (_, body) = http(port, "GET", "/api/applications", Some(&token), None).unwrap();
    let apps: serde_json::Value = serde_json::from_str(&body).unwrap();
    let id = apps.as_array().unwrap().iter().find(|a| a["state"] == "draft").expect("a demo draft")["id"].as_i64().unwrap();
    (id, token)
}

#[test]
fn killed_server_loses_no_acknowledged_command() {
    let dir = std::env::temp_dir().join(format!("dingdian-crash-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let data = dir.join("data");
    let out = dingdian().args(["demo", "--now", "2026-11-27T02:00:00Z", "--data-dir"]).arg(&data).output().unwrap();
    assert!(out.status.success());

    // Acknowledged commands: (application, marker) where the marker is unique per command.
    let acked: Arc<Mutex<Vec<(i64, u32)>>> = Arc::default();
    let mut marker = 0u32;
    // Seeded kill points: after this many further acknowledgements.
    let mut seed = 0x5eed_u64;
    let mut next_kill = || {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        5 + (seed >> 33) % 25
    };
    let rounds = 4;
    for round in 0..rounds {
        let (mut child, port) = start(&data);
        let (app, token) = draft(port, "hrb-inst-eye");
        // A second kind of command: the agency records complaints on an application in its
        // public notice.
        let agency = login(port, "hrb-agency");
        let (_, body) = http(port, "GET", "/api/applications?state=public_notice", Some(&agency), None).unwrap();
        let notice_app = serde_json::from_str::<serde_json::Value>(&body).unwrap()[0]["id"].as_i64().expect("a demo notice");
        let kill_after = next_kill() as usize;
        let count = Arc::new(AtomicUsize::new(0));
        let dead = Arc::new(AtomicBool::new(false));
        let mut clients = Vec::new();
        for c in 0..4 {
            let (acked, count, dead) = (acked.clone(), count.clone(), dead.clone());
            // Clients 0–2 update a draft; client 3 records complaints.
            let (app, token) = if c < 3 { (app, token.clone()) } else { (notice_app, agency.clone()) };
            let base = marker + 1_000 * (c + 1);
            clients.push(std::thread::spawn(move || {
                let mut m = base;
                while !dead.load(Ordering::SeqCst) {
                    m += 1;
                    // Read the version, then update the draft with a unique marker.
                    let Some((200, body)) = http(port, "GET", &format!("/api/applications/{app}"), Some(&token), None) else { continue };
                    let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
                    let version = v["application"]["version"].as_i64().unwrap_or(0);
                    let cmd = if c < 3 {
                        format!(r#"{{"command":"update_draft","expected_version":{version},"facts":{{"beds":{m}}}}}"#)
                    } else {
                        format!(r#"{{"command":"record_complaint","expected_version":{version},"summary":"marker {m}"}}"#)
                    };
                    if let Some((200, _)) = http(port, "POST", &format!("/api/applications/{app}/commands"), Some(&token), Some(&cmd)) {
                        acked.lock().unwrap().push((app, m));
                        count.fetch_add(1, Ordering::SeqCst);
                    }
                }
            }));
        }
        while count.load(Ordering::SeqCst) < kill_after {
            std::thread::yield_now();
        }
        child.kill().unwrap(); // SIGKILL: no shutdown, no flush beyond what was committed.
        child.wait().unwrap();
        dead.store(true, Ordering::SeqCst);
        for c in clients {
            c.join().unwrap();
        }
        marker += 10_000;
        eprintln!("round {round}: killed after {} acknowledged commands", count.load(Ordering::SeqCst));
    }

    // Every acknowledged command is there exactly once, and the chain verifies.
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let store = dingdian_store::Store::open(&data.join("dingdian.db").to_string_lossy()).await.unwrap();
        let acked = acked.lock().unwrap().clone();
        assert!(acked.len() >= rounds * 5);
        let mut apps: Vec<i64> = acked.iter().map(|(a, _)| *a).collect();
        apps.sort_unstable();
        apps.dedup();
        assert_eq!(apps.len(), 2, "both kinds of command were acknowledged");
        let mut markers: Vec<u32> = Vec::new();
        for app in apps {
            for e in store.events(app).await.unwrap() {
                let m = match &e.event {
                    dingdian_core::lifecycle::Event::DraftUpdated { facts } => facts.get("beds").and_then(|b| b.as_u64()).map(|b| b as u32),
                    dingdian_core::lifecycle::Event::ComplaintRecorded { summary, .. } => {
                        summary.strip_prefix("marker ").and_then(|m| m.parse().ok())
                    }
                    _ => None,
                };
                markers.extend(m.filter(|m| *m >= 1_000));
            }
        }
        let total = markers.len();
        markers.sort_unstable();
        markers.dedup();
        assert_eq!(markers.len(), total, "no command recorded twice");
        for (_, m) in &acked {
            assert!(markers.binary_search(m).is_ok(), "acknowledged command {m} is missing");
        }
        let report = store.verify_audit().await.unwrap();
        assert!(report.ok, "{report:?}");
        store.close().await;
    });
    let _ = std::fs::remove_dir_all(dir);
}
