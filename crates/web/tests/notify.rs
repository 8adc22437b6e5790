//! Notifications: the in-app inbox written with the event; e-mail through the transactional
//! outbox to a real SMTP server (aiosmtpd), delivered exactly once across a restart between
//! commit and send, retried with backoff, and finally failed with an alert for the agency.

#[macro_use]
mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use axum::http::{Method, StatusCode};
use common::TestApp;
use dingdian_store::Store;
use dingdian_store::testing::Backend;
use dingdian_web::notify::{SmtpConfig, deliver};
use serde_json::json;

/// aiosmtpd on a free port, storing messages in a Maildir; stopped on drop.
struct SmtpServer {
    child: Child,
    port: u16,
    maildir: PathBuf,
}

impl SmtpServer {
    fn start() -> SmtpServer {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let maildir = std::env::temp_dir().join(format!("dingdian-mail-{port}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&maildir);
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/smtp_server.py");
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
        SmtpServer { child, port, maildir }
    }

    /// Message-IDs of every message received.
    fn received(&self) -> Vec<String> {
        let Ok(dir) = std::fs::read_dir(self.maildir.join("new")) else { return Vec::new() };
        dir.filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok())
            .map(|m| m.lines().find(|l| l.to_ascii_lowercase().starts_with("message-id:")).unwrap_or("").to_owned())
            .collect()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.maildir);
    }
}

fn notice() -> serde_json::Value {
    json!({ "command": "issue_supplement_notice", "items": [{ "slot": "licence", "problem": "missing", "reason": "缺执业许可证副本" }] })
}

async fn email_survives_restart_and_is_sent_once(b: Backend) {
    let smtp = SmtpServer::start();
    let t = TestApp::new(b).await;
    let hosp = t.login("hrb-hospital").await;
    let agency = t.login("hrb-agency").await;
    let user = t.store().user_by_username("hrb-hospital").await.unwrap().unwrap();
    t.store().set_email(user.id, "yibao@kangning.example").await.unwrap();
    let id = t.submitted(&hosp).await;
    t.cmd(&agency, id, notice()).await;

    // The in-app inbox has it at once.
    let (status, inbox) = t.call(Method::GET, "/api/inbox", Some(&hosp), None).await;
    assert_eq!(status, StatusCode::OK);
    let first = &inbox[0];
    assert!(first["subject"].as_str().unwrap().contains("请补正材料"), "{inbox}");
    assert!(first["body"].as_str().unwrap().contains("2026-03-09 24:00"), "{inbox}");
    let (status, _) = t.call(Method::POST, &format!("/api/inbox/{}/read", first["id"]), Some(&hosp), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, inbox) = t.call(Method::GET, "/api/inbox", Some(&agency), None).await;
    assert_eq!(inbox.as_array().unwrap().len(), 0, "others' inboxes are their own");

    // A sender claims the e-mail and dies before sending.
    let now = dingdian_store::clock::Clock::now(&*t.clock);
    assert_eq!(t.store().claim_outbox("dead-sender", now, 10).await.unwrap().len(), 1);
    let cfg = SmtpConfig { host: "127.0.0.1".into(), port: smtp.port, from: "dingdian@ybj.example".into() };
    assert_eq!(deliver(t.store(), &cfg, "live", now).await.unwrap().sent, 0, "the lease holds");
    // The service restarts; after the lease the e-mail goes out, once.
    let restarted = Store::open(&t.db_url).await.unwrap();
    let later = now.checked_add(jiff::SignedDuration::from_secs(121)).unwrap();
    assert_eq!(deliver(&restarted, &cfg, "after-restart", later).await.unwrap().sent, 1);
    assert_eq!(deliver(&restarted, &cfg, "after-restart", later).await.unwrap().sent, 0);
    let received = smtp.received();
    assert_eq!(received.len(), 1, "{received:?}");
    assert!(received[0].contains(&format!("app{id}-")), "the idempotency key is the Message-ID: {received:?}");
    assert_eq!(restarted.outbox_counts().await.unwrap(), (0, 1, 0));
    restarted.close().await;
}
both!(email_survives_restart_and_is_sent_once);

async fn failing_email_retries_then_alerts_the_agency(b: Backend) {
    let t = TestApp::new(b).await;
    let hosp = t.login("hrb-hospital").await;
    let agency = t.login("hrb-agency").await;
    let user = t.store().user_by_username("hrb-hospital").await.unwrap().unwrap();
    t.store().set_email(user.id, "yibao@kangning.example").await.unwrap();
    let id = t.submitted(&hosp).await;
    t.cmd(&agency, id, notice()).await;
    // Nothing listens on this port.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let cfg = SmtpConfig { host: "127.0.0.1".into(), port: closed, from: "dingdian@ybj.example".into() };
    let mut now = dingdian_store::clock::Clock::now(&*t.clock);
    let mut retries = 0;
    for _ in 0..dingdian_store::MAX_ATTEMPTS {
        let d = deliver(t.store(), &cfg, "w", now).await.unwrap();
        retries += d.retried;
        // Not due again before its backoff.
        assert_eq!(deliver(t.store(), &cfg, "w", now).await.unwrap(), Default::default());
        now = now.checked_add(jiff::SignedDuration::from_hours(24)).unwrap();
    }
    assert_eq!(retries as i64, dingdian_store::MAX_ATTEMPTS - 1);
    assert_eq!(t.store().outbox_counts().await.unwrap(), (0, 0, 1));
    let (status, failed) = t.call(Method::GET, "/api/notifications/failed", Some(&agency), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(failed[0]["recipient"], "yibao@kangning.example", "{failed}");
    let (_, page) = t.call(Method::GET, "/applications", Some(&agency), None).await;
    assert!(page.as_str().unwrap().contains("封通知邮件多次重试后仍发送失败"));
}
both!(failing_email_retries_then_alerts_the_agency);
