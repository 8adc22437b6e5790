//! E-mail delivery from the outbox over SMTP. The store decides what is due and records the
//! outcome; this module only talks SMTP. Each message's Message-ID is built from its
//! idempotency key, so a message retried after a crash is recognisably the same message.

use dingdian_store::{OutboxMessage, Store};
use jiff::Timestamp;
use lettre::message::header::ContentType;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

/// Where and as whom to send.
#[derive(Debug, Clone)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    /// The From address, e.g. `dingdian@ybj.example.gov.cn`.
    pub from: String,
}

/// What one delivery pass did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub sent: usize,
    pub retried: usize,
    pub failed: usize,
}

fn build(cfg: &SmtpConfig, m: &OutboxMessage) -> Result<Message, String> {
    Message::builder()
        .from(cfg.from.parse().map_err(|e| format!("from: {e}"))?)
        .to(m.recipient.parse().map_err(|e| format!("recipient: {e}"))?)
        .subject(m.subject.clone())
        .message_id(Some(format!("<{}@dingdian>", m.idempotency_key)))
        .header(ContentType::TEXT_PLAIN)
        .body(m.body.clone())
        .map_err(|e| e.to_string())
}

/// Sends every due message once; failures are recorded for a later retry.
pub async fn deliver(store: &Store, cfg: &SmtpConfig, worker: &str, now: Timestamp) -> Result<Delivery, dingdian_store::StoreError> {
    let transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(cfg.host.as_str()).port(cfg.port).build();
    let mut report = Delivery::default();
    loop {
        let batch = store.claim_outbox(worker, now, 50).await?;
        if batch.is_empty() {
            return Ok(report);
        }
        if std::env::var_os("DINGDIAN_FAULT_CRASH_AFTER_OUTBOX_CLAIM").is_some() {
            // Fault injection for the crash test: die after claiming, before sending.
            std::process::abort();
        }
        for m in batch {
            let result = match build(cfg, &m) {
                Ok(msg) => transport.send(msg).await.map(|_| ()).map_err(|e| e.to_string()),
                Err(e) => Err(e),
            };
            match result {
                Ok(()) => {
                    store.outbox_sent(m.id, now).await?;
                    tracing::info!(outbox = m.id, attempts = m.attempts + 1, "e-mail sent");
                    report.sent += 1;
                }
                Err(e) => {
                    tracing::warn!(outbox = m.id, attempts = m.attempts + 1, error = %e, "e-mail not delivered");
                    if store.outbox_failed(&m, &e, now).await? {
                        tracing::error!(outbox = m.id, "e-mail finally failed; the agency is alerted");
                        report.failed += 1;
                    } else {
                        report.retried += 1;
                    }
                }
            }
        }
    }
}
