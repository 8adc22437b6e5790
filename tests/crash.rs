//! Crash test (G-NOTHING-LOST, G-AUDIT): a real `dingdian serve` process is killed (SIGKILL) at
//! random moments while clients send a mix of commands; after each restart every acknowledged
//! command is present exactly once and the audit chain verifies. "Random" is a seeded sequence
//! of kill points counted in acknowledged requests, so the test never sleeps and can be replayed.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use support::{dingdian, http, start};

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

/// A raw HTTP/1.1 request with a binary body; `None` when the connection fails or breaks.
fn http_bytes(port: u16, method: &str, path: &str, token: &str, body: &[u8]) -> Option<(u16, Vec<u8>)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\nContent-Type: application/pdf\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).ok()?;
    s.write_all(body).ok()?;
    let mut resp = Vec::new();
    s.read_to_end(&mut resp).ok()?;
    let split = resp.windows(4).position(|w| w == b"\r\n\r\n")?;
    let status = String::from_utf8_lossy(&resp[..split]).split(' ').nth(1)?.parse().ok()?;
    Some((status, resp[split + 4..].to_vec()))
}

/// `len` bytes that the server types as PDF, the rest pseudo-random (seeded xorshift).
fn pdf_like(len: usize, seed: u64) -> Vec<u8> {
    let mut out = b"%PDF-1.4\n".to_vec();
    let mut x = seed | 1;
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// The SHA-256 the file store gives these bytes (computed by the store itself, in a scratch spool).
fn digest(bytes: &[u8]) -> String {
    let scratch = std::env::temp_dir().join(format!("dingdian-digest-{}-{}", std::process::id(), bytes.len()));
    let rt = tokio::runtime::Runtime::new().unwrap();
    let sha = rt.block_on(async {
        let files =
            dingdian_store::files::FileStore::open(&dingdian_store::files::Backend::Local(scratch.join("files")), &scratch).unwrap();
        let limits = dingdian_store::files::Limits { max_bytes: u64::MAX, allowed: vec![dingdian_core::policy::FileType::Pdf] };
        let body = futures_util::stream::iter([Ok::<_, std::convert::Infallible>(bytes::Bytes::copy_from_slice(bytes))]);
        files.spool(body, &limits).await.unwrap().sha256.clone()
    });
    let _ = std::fs::remove_dir_all(scratch);
    sha
}

/// Every file under `dir` (none when it does not exist).
fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_owned()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                todo.push(entry.path());
            } else {
                out.push(entry.path());
            }
        }
    }
    out
}

/// The licence files an application lists, as (sha256, size, name).
fn licence_files(port: u16, token: &str, app: i64) -> Vec<(String, u64, String)> {
    let (status, body) = http(port, "GET", &format!("/api/applications/{app}"), Some(token), None).unwrap();
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    v["application"]["data"]["materials"]["licence"]
        .as_array()
        .map(|files| {
            files
                .iter()
                .map(|f| (f["sha256"].as_str().unwrap().to_owned(), f["size"].as_u64().unwrap(), f["name"].as_str().unwrap().to_owned()))
                .collect()
        })
        .unwrap_or_default()
}

/// G-NOTHING-LOST for uploads: a server killed (SIGKILL) while a file is arriving leaves at most a
/// spool file that nothing refers to: no stored blob, no material on the application, nothing
/// the API shows or serves. The same upload retried on the restarted server is stored and listed.
#[test]
fn g_nothing_lost_upload_killed_midway_leaves_nothing_and_the_retry_is_stored() {
    let dir = std::env::temp_dir().join(format!("dingdian-crash-upload-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let data = dir.join("data");
    let out = dingdian().args(["demo", "--now", "2026-11-27T02:00:00Z", "--data-dir"]).arg(&data).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let (spool, blobs) = (data.join("spool"), data.join("files").join("blobs"));
    let upload_path = |app: i64| format!("/api/applications/{app}/materials/licence?name=x.pdf");

    let (mut child, port) = start(&data);
    let (app, token) = draft(port, "hrb-inst-eye");
    assert!(licence_files(port, &token, app).is_empty(), "the demo draft starts without a licence");
    let blobs_before = files_under(&blobs);

    // Announce 8 MiB, send the first 1 MiB, and keep the connection open.
    const ANNOUNCED: usize = 8 * 1024 * 1024;
    const SENT: usize = 1024 * 1024;
    let interrupted = pdf_like(ANNOUNCED, 0x0dd);
    let mut conn = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let head = format!(
        "PUT {} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\nContent-Type: application/pdf\r\nContent-Length: {ANNOUNCED}\r\n\r\n",
        upload_path(app)
    );
    conn.write_all(head.as_bytes()).unwrap();
    conn.write_all(&interrupted[..SENT]).unwrap();
    // Wait (polling, at most 30 s) until the spool file holds every byte sent.
    let part = (0..3000)
        .find_map(|_| {
            let found = files_under(&spool)
                .into_iter()
                .find(|p| p.extension().is_some_and(|x| x == "part") && p.metadata().is_ok_and(|m| m.len() == SENT as u64));
            if found.is_none() {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            found
        })
        .expect("the upload reaches the spool within 30 s");
    child.kill().unwrap(); // SIGKILL mid-upload.
    child.wait().unwrap();
    drop(conn);

    // Nothing was stored.
    assert_eq!(files_under(&blobs), blobs_before, "a killed upload stored a blob");
    let partial = std::fs::read(&part).unwrap();
    assert_eq!(partial, interrupted[..SENT], "the spool file holds the bytes received");
    let partial_sha = digest(&partial);
    let part_name = part.file_stem().unwrap().to_string_lossy().into_owned();

    // After the restart the spool file is gone, the application has no licence and nothing
    // shows the spool file.
    let (mut child, port) = start(&data);
    assert!(!part.exists(), "the killed upload's spool file survived the restart");
    let token = login(port, "hrb-inst-eye");
    assert!(licence_files(port, &token, app).is_empty(), "the killed upload became a material");
    for path in [format!("/api/applications/{app}"), format!("/api/applications/{app}/materials")] {
        let (status, body) = http(port, "GET", &path, Some(&token), None).unwrap();
        assert_eq!(status, 200, "{path}: {body}");
        assert!(!body.contains(&partial_sha) && !body.contains(&part_name), "{path} shows the spool file: {body}");
        assert!(!body.contains("material_attached"), "{path} records an attachment: {body}");
    }
    let materials: serde_json::Value =
        serde_json::from_str(&http(port, "GET", &format!("/api/applications/{app}/materials"), Some(&token), None).unwrap().1).unwrap();
    let slot = materials.as_array().unwrap().iter().find(|s| s["id"] == "licence").expect("the licence slot");
    assert_eq!((slot["files"].as_array().unwrap().len(), slot["history"].as_array().unwrap().len()), (0, 0), "{slot}");
    let (status, _) = http(port, "GET", &format!("/api/applications/{app}/files/{partial_sha}"), Some(&token), None).unwrap();
    assert_eq!(status, 404, "the spool file's bytes are downloadable");

    // The retry (a complete 1 MiB PDF) is acknowledged, stored and listed.
    let mut full = pdf_like(SENT - 7, 0xf11e);
    full.extend_from_slice(b"\n%%EOF\n");
    let full_sha = digest(&full);
    let (status, body) = http_bytes(port, "PUT", &upload_path(app), &token, &full).expect("the retry gets an answer");
    assert_eq!(status, 201, "{}", String::from_utf8_lossy(&body));
    let blob = blobs.join(&full_sha[..2]).join(&full_sha);
    assert_eq!(std::fs::read(&blob).expect("the retried file is under files/blobs"), full);
    let mut expected = blobs_before.clone();
    expected.push(blob);
    expected.sort();
    let mut stored = files_under(&blobs);
    stored.sort();
    assert_eq!(stored, expected, "exactly the retried file was added to the store");
    assert_eq!(licence_files(port, &token, app), vec![(full_sha.clone(), full.len() as u64, "x.pdf".to_owned())]);
    let (status, served) = http_bytes(port, "GET", &format!("/api/applications/{app}/files/{full_sha}"), &token, b"").unwrap();
    assert_eq!((status, served.len()), (200, full.len()));
    assert!(served == full, "the served file differs from the uploaded one");
    let (status, _) = http(port, "GET", &format!("/api/applications/{app}/files/{partial_sha}"), Some(&token), None).unwrap();
    assert_eq!(status, 404, "the spool file's bytes are downloadable after the retry");
    child.kill().unwrap();
    child.wait().unwrap();
    let _ = std::fs::remove_dir_all(dir);
}
