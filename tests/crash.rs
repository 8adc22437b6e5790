//! Crash test (G-NOTHING-LOST, G-AUDIT): a real `dingdian serve` process is killed (SIGKILL) at
//! random moments while clients send commands and uploads, and while the server fires due timers
//! and sends e-mail from the outbox; afterwards every acknowledged command and upload is present
//! exactly once, every due timer has fired once, every e-mail has arrived, and the audit chain
//! verifies. "Random" is a seeded sequence of kill points counted in acknowledged requests, so the
//! test never sleeps and can be replayed.
//!
//! CI runs a few kills. The by-hand run (docs/reliability.md) sets `DINGDIAN_CRASH_KILLS=1000`
//! and optionally `DINGDIAN_CRASH_SEED`.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use support::{dingdian, dingdian_at, http, serve, start};

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

/// aiosmtpd (crates/web/tests/support/smtp_server.py) on a free port, storing every message in
/// a Maildir; stopped when its standard input closes.
struct SmtpSink {
    child: Child,
    port: u16,
    maildir: PathBuf,
}

impl SmtpSink {
    fn start(maildir: PathBuf) -> SmtpSink {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("crates/web/tests/support/smtp_server.py");
        let mut child = Command::new("python3")
            .arg(script)
            .arg(&maildir)
            .arg(port.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 with aiosmtpd (pip install aiosmtpd; .ci/run installs it)");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        assert_eq!(line.trim(), "READY", "the SMTP server did not start (is aiosmtpd installed?)");
        SmtpSink { child, port, maildir }
    }

    /// The Message-ID of every message received, one entry per copy.
    fn received(&self) -> Vec<String> {
        let Ok(dir) = std::fs::read_dir(self.maildir.join("new")) else { return Vec::new() };
        dir.filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok())
            .map(|m| {
                let line = m.lines().find(|l| l.to_ascii_lowercase().starts_with("message-id:")).unwrap_or("");
                line.split_once(':').map(|(_, v)| v.trim().to_owned()).unwrap_or_default()
            })
            .collect()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

/// A positive number from the environment, or `default`.
fn env_number(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(v) => v.trim().parse().unwrap_or_else(|_| panic!("{name}={v:?} is not a number")),
        Err(_) => default,
    }
}

/// The Harbin institutions whose applications the timer client drives round: create, fill in,
/// submit; the agency then issues the supplement notice whose deadline (HRB-ACC-2, 5 working
/// days) the server fires as a deemed withdrawal, which frees the institution to apply again.
/// `hrb-inst-eye` is left out: its draft takes the update_draft commands and the uploads.
const CYCLERS: [&str; 6] =
    ["hrb-inst-huimin", "hrb-inst-kangning", "hrb-inst-anxin", "hrb-inst-xiangfang", "hrb-inst-zhongyi", "hrb-inst-menzhen"];

/// The facts a Harbin application needs to be submitted.
fn full_facts() -> serde_json::Value {
    serde_json::json!({
        "operating_since": "2025-01-01", "beds": 10, "first_registered_physicians": 2, "principal_responsible": true,
        "insurance_administrators": 1, "insurance_department": true, "full_time_insurance_staff": 1,
        "systems": ["insurance", "finance", "statistics", "quality", "inventory", "drug_management", "staff_management", "settlement"],
        "equipment": ["video_surveillance", "biometric", "drug_traceability"],
        "his_connected": true, "national_codes_used": true, "staff_contracts": true, "social_insurance": true, "gsp_zoning": true,
        "national_code": "H23010200001",
        "pharmacists": [{ "name": "药师甲", "contract_start": "2025-01-01" }],
        "insurance_admin_contracts": [{ "name": "医保员甲", "contract_start": "2025-01-01" }, { "name": "医保员乙", "contract_start": "2025-01-01" }]
    })
}

/// The application's version, `None` when the server is gone.
fn version(port: u16, token: &str, app: i64) -> Option<i64> {
    let (status, body) = http(port, "GET", &format!("/api/applications/{app}"), Some(token), None)?;
    (status == 200).then(|| serde_json::from_str::<serde_json::Value>(&body).ok()?["application"]["version"].as_i64())?
}

/// One step of the timer client for `inst`: the next command its application needs. Returns the
/// acknowledged command as (application, command name), or `None`.
fn cycle_step(port: u16, inst: &str, token: &str, agency: &str) -> Option<(i64, &'static str)> {
    let (status, body) = http(port, "GET", "/api/applications", Some(token), None)?;
    if status != 200 {
        return None;
    }
    let apps: serde_json::Value = serde_json::from_str(&body).ok()?;
    let open = apps.as_array()?.iter().find(|a| a["state"] == "draft" || a["state"] == "submitted");
    let Some(app) = open else {
        let (status, body) = http(port, "POST", "/api/applications", Some(token), None)?;
        let id = serde_json::from_str::<serde_json::Value>(&body).ok()?["id"].as_i64();
        return if status == 201 { Some((id?, "create")) } else { None };
    };
    let id = app["id"].as_i64()?;
    let (who, cmd, name) = if app["state"] == "submitted" {
        let notice = serde_json::json!({ "command": "issue_supplement_notice",
            "items": [{ "slot": "licence", "problem": "missing", "reason": format!("缺执业许可证副本（{inst}）") }] });
        (agency, notice, "issue_supplement_notice")
    } else if app["data"]["facts"]["beds"].is_null() {
        (token, serde_json::json!({ "command": "update_draft", "facts": full_facts() }), "update_draft")
    } else {
        (token, serde_json::json!({ "command": "submit" }), "submit")
    };
    let send = |who: &str, mut cmd: serde_json::Value| {
        cmd["expected_version"] = version(port, who, id)?.into();
        http(port, "POST", &format!("/api/applications/{id}/commands"), Some(who), Some(&cmd.to_string())).map(|(status, _)| status)
    };
    match send(who, cmd)? {
        200 => Some((id, name)),
        // G-AGENCY-TIME: the server's clock passed the 5 working days for a supplement notice
        // (a long step between restarts); the institution withdraws and applies again.
        409 | 422 if name == "issue_supplement_notice" => {
            (send(token, serde_json::json!({ "command": "withdraw" }))? == 200).then_some((id, "withdraw"))
        }
        _ => None,
    }
}

/// Every request reads the application's whole event list, so a long run spreads its commands:
/// the draft is withdrawn and a new one made once it has this many events.
const MAX_EVENTS: i64 = 60;

/// `hrb-inst-eye`'s current draft, a new one when the last one is long.
fn eye_draft(port: u16, eye: &str) -> i64 {
    let (_, body) = http(port, "GET", "/api/applications", Some(eye), None).unwrap();
    let apps: serde_json::Value = serde_json::from_str(&body).unwrap();
    let draft = apps.as_array().unwrap().iter().find(|a| a["state"] == "draft").expect("a draft of hrb-inst-eye")["id"].as_i64().unwrap();
    let v = version(port, eye, draft).unwrap();
    if v < MAX_EVENTS {
        return draft;
    }
    let withdraw = format!(r#"{{"command":"withdraw","expected_version":{v}}}"#);
    let (status, body) = http(port, "POST", &format!("/api/applications/{draft}/commands"), Some(eye), Some(&withdraw)).unwrap();
    assert_eq!(status, 200, "{body}");
    let (status, body) = http(port, "POST", "/api/applications", Some(eye), None).unwrap();
    assert_eq!(status, 201, "{body}");
    serde_json::from_str::<serde_json::Value>(&body).unwrap()["id"].as_i64().unwrap()
}

/// Seeded pseudo-random numbers (a 64-bit LCG): the kill points.
struct Seeded(u64);

impl Seeded {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

/// What the clients had acknowledged: each entry is something the server answered with success.
#[derive(Default)]
struct Acked {
    /// (application, marker): update_draft and record_complaint commands, each with a unique marker.
    commands: Vec<(i64, u32)>,
    /// (application, marker, SHA-256 the answer listed): uploads of distinct small PDFs.
    uploads: Vec<(i64, u32, String)>,
    /// (application, command name): the timer client's commands.
    cycles: Vec<(i64, &'static str)>,
}

/// The PDF uploaded with `marker`: small and distinct.
fn upload_bytes(marker: u32) -> Vec<u8> {
    let mut bytes = pdf_like(2048 + (marker as usize % 1024), u64::from(marker));
    bytes.extend_from_slice(b"\n%%EOF\n");
    bytes
}

/// The events in which the server fires a timer.
fn is_timer_event(e: &dingdian_core::lifecycle::Event) -> bool {
    use dingdian_core::lifecycle::Event;
    matches!(
        e,
        Event::Withdrawn { deemed: true, .. }
            | Event::NoticeEnded
            | Event::Annex2Withdrawn
            | Event::DeemedAccepted { .. }
            | Event::GivenUp { deemed: true, .. }
    )
}

#[test]
fn killed_server_loses_no_acknowledged_command() {
    let kills = env_number("DINGDIAN_CRASH_KILLS", 4).max(1) as usize;
    let seed = env_number("DINGDIAN_CRASH_SEED", 0x5eed);
    let dir = std::env::temp_dir().join(format!("dingdian-crash-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let data = dir.join("data");
    // The server's clock (libfaketime) starts at the demo's date and moves on by an equal step at
    // every restart, through 2026 (the years the shipped calendars cover), so supplement
    // deadlines fall due during the run and the server fires them at start-up, while it is being
    // killed. Each step is longer than the timer and outbox leases, so a lease a killed server
    // held has run out when the next one starts.
    let t0: jiff::Timestamp = "2026-01-05T02:00:00Z".parse().unwrap();
    let end: jiff::Timestamp = "2026-12-20T02:00:00Z".parse().unwrap();
    let step = jiff::SignedDuration::from_secs(end.duration_since(t0).as_secs() / kills as i64);
    assert!(step.as_secs() > 120, "too many kills for one year of server time");
    let at = |round: usize| t0.checked_add(step * round as i32).unwrap();
    let out = dingdian().args(["demo", "--now", &t0.to_string(), "--data-dir"]).arg(&data).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    // Sessions and e-mail addresses straight in the store: signing in is not what this test is
    // about, and argon2 at every restart would dominate a 1,000-kill run.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let db_url = data.join("dingdian.db").to_string_lossy().into_owned();
    let tokens: BTreeMap<&str, String> = rt.block_on(async {
        let store = dingdian_store::Store::open(&db_url).await.unwrap();
        let mut tokens = BTreeMap::new();
        for user in CYCLERS.iter().chain(&["hrb-inst-eye", "hrb-agency"]) {
            let u = store.user_by_username(user).await.unwrap().unwrap_or_else(|| panic!("demo user {user}"));
            if CYCLERS.contains(user) {
                store.set_email(u.id, &format!("{user}@example.com")).await.unwrap();
            }
            tokens.insert(*user, store.create_session(u.id, "bearer", 400 * 86_400, t0).await.unwrap());
        }
        store.close().await;
        tokens
    });
    let smtp = SmtpSink::start(dir.join("maildir"));
    let smtp_addr = format!("127.0.0.1:{}", smtp.port);

    let acked: Arc<Mutex<Acked>> = Arc::default();
    let mut marker = 0u32;
    let mut rng = Seeded(seed);
    let (eye, agency) = (tokens["hrb-inst-eye"].clone(), tokens["hrb-agency"].clone());
    let started = std::time::Instant::now();
    for round in 0..kills {
        let (mut child, port) = serve(dingdian_at(at(round)), &data, &["--smtp", &smtp_addr]);
        let app = eye_draft(port, &eye);
        // The agency records complaints on the application in its public notice, while it is
        // (and while its event list is short enough to keep requests quick).
        let (_, body) = http(port, "GET", "/api/applications?state=public_notice", Some(&agency), None).unwrap();
        let notice_app = serde_json::from_str::<serde_json::Value>(&body).unwrap()[0]["id"]
            .as_i64()
            .filter(|n| version(port, &agency, *n).is_some_and(|v| v < 3 * MAX_EVENTS));
        let kill_after = 5 + (rng.next() % 25) as usize;
        let count = Arc::new(AtomicUsize::new(0));
        // The client whose acknowledgement reaches the kill point says so (no polling, so the
        // waiting thread takes no CPU from the server).
        let (reached, kill_point) = std::sync::mpsc::channel::<()>();
        let dead = Arc::new(AtomicBool::new(false));
        let mut clients = Vec::new();
        // Clients 0–1 update the draft; 2 records complaints; 3 uploads; 4 drives the timer cycle.
        for c in 0..5u32 {
            let (acked, count, dead, tokens, reached) = (acked.clone(), count.clone(), dead.clone(), tokens.clone(), reached.clone());
            let (eye, agency) = (eye.clone(), agency.clone());
            let base = marker + 1_000 * (c + 1);
            clients.push(std::thread::spawn(move || {
                let mut m = base;
                let mut next_cycler = 0;
                while !dead.load(Ordering::SeqCst) {
                    m += 1;
                    let ok = match c {
                        0..=2 => {
                            let (app, token, cmd) = match (c, notice_app) {
                                (2, Some(n)) => (n, &agency, format!(r#"{{"command":"record_complaint","summary":"marker {m}""#)),
                                (2, None) => break,
                                _ => (app, &eye, format!(r#"{{"command":"update_draft","facts":{{"beds":{m}}}"#)),
                            };
                            let Some(version) = version(port, token, app) else { continue };
                            let cmd = format!(r#"{cmd},"expected_version":{version}}}"#);
                            let ok = matches!(
                                http(port, "POST", &format!("/api/applications/{app}/commands"), Some(token), Some(&cmd)),
                                Some((200, _))
                            );
                            if ok {
                                acked.lock().unwrap().commands.push((app, m));
                            }
                            ok
                        }
                        3 => {
                            let path = format!("/api/applications/{app}/materials/licence?name=m{m}.pdf");
                            let Some((201, body)) = http_bytes(port, "PUT", &path, &eye, &upload_bytes(m)) else { continue };
                            let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
                            let files = v["application"]["data"]["materials"]["licence"].as_array().unwrap();
                            let f = files.iter().find(|f| f["name"] == format!("m{m}.pdf")).expect("the answer lists the upload");
                            acked.lock().unwrap().uploads.push((app, m, f["sha256"].as_str().unwrap().to_owned()));
                            true
                        }
                        _ => {
                            let inst = CYCLERS[next_cycler % CYCLERS.len()];
                            next_cycler += 1;
                            let step = cycle_step(port, inst, &tokens[inst], &agency);
                            if let Some(step) = step {
                                acked.lock().unwrap().cycles.push(step);
                            }
                            step.is_some()
                        }
                    };
                    if ok && count.fetch_add(1, Ordering::SeqCst) + 1 == kill_after {
                        let _ = reached.send(());
                    }
                }
            }));
        }
        drop(reached);
        kill_point.recv().expect("the clients reach the kill point");
        child.kill().unwrap(); // SIGKILL: no shutdown, no flush beyond what was committed.
        child.wait().unwrap();
        dead.store(true, Ordering::SeqCst);
        for c in clients {
            c.join().unwrap();
        }
        marker += 10_000;
        if kills <= 10 || round % 25 == 0 {
            eprintln!(
                "round {round} ({}): killed after {} acknowledged requests, {:.0?} so far",
                at(round),
                count.load(Ordering::SeqCst),
                started.elapsed()
            );
        }
    }
    let acked = std::mem::take(&mut *acked.lock().unwrap());

    // What the next start would do: `dingdian tick` and `dingdian notify` share `run_due` and the
    // outbox delivery with `serve`, after the last server's leases have run out.
    let after = at(kills);
    let tick = dingdian_at(after).args(["tick", "--data-dir"]).arg(&data).output().unwrap();
    assert!(tick.status.success(), "{}", String::from_utf8_lossy(&tick.stderr));
    let notify = dingdian_at(after).args(["notify", "--smtp", &smtp_addr, "--data-dir"]).arg(&data).output().unwrap();
    assert!(notify.status.success(), "{}", String::from_utf8_lossy(&notify.stderr));

    // Every acknowledged command is there exactly once; every due timer fired once; the chain verifies.
    let (timers_fired, by_servers, outbox) = rt.block_on(async {
        let store = dingdian_store::Store::open(&db_url).await.unwrap();
        assert!(acked.commands.len() >= kills * 2, "{} commands acknowledged", acked.commands.len());
        let apps: BTreeSet<i64> = acked.commands.iter().map(|(a, _)| *a).collect();
        // Client 2's markers (complaints) are 3,xxx in each round's block of 10,000.
        let complaints = acked.commands.iter().filter(|(_, m)| m % 10_000 / 1_000 == 3).count();
        assert!(complaints >= 1 && complaints < acked.commands.len(), "both kinds of command were acknowledged");
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
        for (_, m) in &acked.commands {
            assert!(markers.binary_search(m).is_ok(), "acknowledged command {m} is missing");
        }

        // The timer client's commands: each acknowledged one is recorded (a command carries the
        // version it expects, so it cannot be recorded twice).
        let cycled: BTreeSet<i64> = acked.cycles.iter().map(|(a, _)| *a).collect();
        for app in &cycled {
            let events = store.events(*app).await.unwrap();
            let kinds = [
                ("update_draft", "draft_updated"),
                ("submit", "submitted"),
                ("issue_supplement_notice", "supplement_notice_issued"),
                ("withdraw", "withdrawn"),
            ];
            for (kind, event) in kinds {
                let want = acked.cycles.iter().filter(|(a, k)| a == app && *k == kind).count();
                let got = events.iter().filter(|e| e.kind == event).count();
                assert!(got >= want && got <= 1, "application {app}: {kind} acknowledged {want} times, recorded {got} times");
            }
        }
        // Nothing is left due: a further pass, after every lease, fires nothing (what is held,
        // e.g. a notice with an open complaint, stays held).
        let report = store.run_due(after.checked_add(jiff::SignedDuration::from_secs(3_600)).unwrap()).await.unwrap();
        assert!(report.fired.is_empty(), "timers left unfired: {:?}", report.fired);
        // Each timer fired once: an application's time-driven consequence ends the state its
        // clock runs in, so a second one would be a timer fired twice.
        let (mut timers_fired, mut by_servers) = (0, 0);
        let last = cycled.iter().max().copied().unwrap_or(0).max(13);
        for app in 1..=last {
            let events = store.events(app).await.unwrap();
            let fired: Vec<_> = events.iter().filter(|e| is_timer_event(&e.event)).collect();
            assert!(fired.len() <= 1, "application {app}: a timer fired {} times", fired.len());
            timers_fired += fired.len();
            // Fired by a server that was then killed, not by the closing `dingdian tick`.
            by_servers += fired.iter().filter(|e| e.occurred_at.parse::<jiff::Timestamp>().unwrap() < after).count();
        }
        assert!(by_servers >= 1, "no server fired a timer");
        let outbox = store.outbox_counts().await.unwrap();
        let report = store.verify_audit().await.unwrap();
        assert!(report.ok, "{report:?}");
        store.close().await;
        (timers_fired, by_servers, outbox)
    });

    // Every upload is listed exactly once and its bytes are served back.
    let (mut child, port) = serve(dingdian_at(after), &data, &["--no-timers"]);
    assert!(acked.uploads.len() >= kills.min(3), "{} uploads acknowledged", acked.uploads.len());
    let mut listed: BTreeMap<i64, Vec<(String, String)>> = BTreeMap::new();
    for (app, m, sha) in &acked.uploads {
        let listed = listed.entry(*app).or_insert_with(|| {
            let (status, body) = http(port, "GET", &format!("/api/applications/{app}/materials"), Some(&eye), None).unwrap();
            assert_eq!(status, 200, "{body}");
            let slots: serde_json::Value = serde_json::from_str(&body).unwrap();
            let licence = slots.as_array().unwrap().iter().find(|s| s["id"] == "licence").unwrap();
            licence["files"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| (f["name"].as_str().unwrap().to_owned(), f["sha256"].as_str().unwrap().to_owned()))
                .collect()
        });
        let name = format!("m{m}.pdf");
        let copies: Vec<_> = listed.iter().filter(|(n, _)| *n == name).collect();
        assert_eq!(copies.len(), 1, "upload {name} is listed {} times on application {app}", copies.len());
        assert_eq!(&copies[0].1, sha, "upload {name} changed its digest");
        let (status, served) = http_bytes(port, "GET", &format!("/api/applications/{app}/files/{sha}"), &eye, b"").unwrap();
        assert_eq!(status, 200, "upload {name} is not served");
        assert!(served == upload_bytes(*m), "upload {name}: the served bytes differ");
    }
    child.kill().unwrap();
    child.wait().unwrap();

    // The outbox promises at-least-once delivery: nothing lost, nothing left failed or pending;
    // a copy arrives twice only when a server died between the SMTP server's acceptance and
    // marking the message sent, and then carries the same Message-ID.
    let received = smtp.received();
    let distinct: BTreeSet<&String> = received.iter().collect();
    let duplicates = received.len() - distinct.len();
    assert_eq!(
        outbox,
        (0, distinct.len() as i64, 0),
        "outbox (pending, sent, failed) against {} distinct e-mails received",
        distinct.len()
    );
    assert!(distinct.iter().all(|id| id.starts_with("<app") && id.ends_with("@dingdian>")), "{distinct:?}");
    assert!(duplicates <= kills, "{duplicates} duplicate e-mails after {kills} kills");
    let timer_commands = acked.cycles.len();
    eprintln!(
        "{kills} kills (seed {seed:#x}) in {:.0?}: acknowledged {} commands + {timer_commands} timer-cycle commands, {} uploads; \
         {timers_fired} timers fired ({by_servers} by killed servers); {} e-mails delivered ({duplicates} duplicated); lost 0; audit chain verifies",
        started.elapsed(),
        acked.commands.len(),
        acked.uploads.len(),
        distinct.len(),
    );
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

/// Graceful shutdown (issue: operable in production): SIGTERM while a file is arriving stops the
/// server taking new connections, lets that upload finish and be acknowledged, and exits 0; after
/// a restart the file is listed and served.
#[test]
fn sigterm_during_an_upload_lets_it_finish_and_exits_zero() {
    let dir = std::env::temp_dir().join(format!("dingdian-sigterm-upload-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let data = dir.join("data");
    let out = dingdian().args(["demo", "--now", "2026-11-27T02:00:00Z", "--data-dir"]).arg(&data).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let spool = data.join("spool");
    let (mut child, port) = start(&data);
    let (app, token) = draft(port, "hrb-inst-eye");
    const SENT: usize = 512 * 1024;
    let mut body = pdf_like(2 * SENT - 7, 0x7e7);
    body.extend_from_slice(b"\n%%EOF\n");
    let mut conn = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let head = format!(
        "PUT /api/applications/{app}/materials/licence?name=term.pdf HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\nContent-Type: application/pdf\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    conn.write_all(head.as_bytes()).unwrap();
    conn.write_all(&body[..SENT]).unwrap();
    // The upload is under way once its spool file holds what was sent (polling, at most 30 s).
    (0..3000)
        .find(|_| {
            let arrived = files_under(&spool)
                .iter()
                .any(|p| p.extension().is_some_and(|x| x == "part") && p.metadata().is_ok_and(|m| m.len() == SENT as u64));
            if !arrived {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            arrived
        })
        .expect("the upload reaches the spool within 30 s");
    let term = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(term.success());
    conn.write_all(&body[SENT..]).unwrap();
    conn.set_read_timeout(Some(std::time::Duration::from_secs(30))).unwrap();
    let mut answer = Vec::new();
    let _ = conn.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 201"), "the upload in flight was acknowledged: {answer}");
    let status = child.wait().unwrap();
    assert!(status.success(), "exit status after SIGTERM: {status:?}");

    let (mut child, port) = start(&data);
    let token = login(port, "hrb-inst-eye");
    let sha = digest(&body);
    assert_eq!(licence_files(port, &token, app), vec![(sha.clone(), body.len() as u64, "term.pdf".to_owned())]);
    let (status, served) = http_bytes(port, "GET", &format!("/api/applications/{app}/files/{sha}"), &token, b"").unwrap();
    assert!(status == 200 && served == body, "served after the restart: {status}");
    child.kill().unwrap();
    child.wait().unwrap();
    let _ = std::fs::remove_dir_all(dir);
}
