//! Letters to the applying institution, loaded for a reader: the events of an application are
//! turned into letters by the core (`lifecycle::letters`), after the core has said the reader may
//! see the application (`can_read`). Also the link from an inbox message to its letter, and the
//! letter as a printable `dingdian_docs::Document`.
//!
//! Not responsible for deciding anything a letter says (the core), nor for rendering (docs/web).

use dingdian_core::lifecycle::letters::{self, Letter, LetterEvent};
use dingdian_core::lifecycle::{Actor, notification};
use dingdian_docs::{Block, Document};
use jiff::civil::Date;

use crate::{AppRecord, EventRecord, InboxMessage, Result, Store};

impl Store {
    /// The letters of application `id` that `actor` may read (all of them, or a refusal).
    pub async fn letters(&self, id: i64, actor: &Actor, today: Date) -> Result<(AppRecord, Vec<Letter>)> {
        let (app, _) = self.readable(id, actor, today).await?;
        let events = self.events(id).await?;
        let letters = self.letters_of(&app, &events)?;
        Ok((app, letters))
    }

    fn letters_of(&self, app: &AppRecord, events: &[EventRecord]) -> Result<Vec<Letter>> {
        let profile = self.profile_for(app)?;
        let history: Vec<LetterEvent> = events.iter().map(|e| LetterEvent { seq: e.seq, on: e.occurred_on, event: &e.event }).collect();
        Ok(letters::letters(&history, &app.number, &profile, &self.calendar()))
    }

    /// For each inbox message, the sequence number of the letter it announces, if any. A message
    /// is written in the same transaction as its event, with the same timestamp and the subject
    /// the core gives that event, which is how it is matched here (no extra column needed).
    pub async fn inbox_letters(&self, messages: &[InboxMessage]) -> Result<Vec<Option<(i64, i64)>>> {
        let mut cache: std::collections::HashMap<i64, Option<(AppRecord, Vec<EventRecord>)>> = Default::default();
        let mut out = Vec::with_capacity(messages.len());
        for m in messages {
            let Some(app_id) = m.application_id else {
                out.push(None);
                continue;
            };
            if let std::collections::hash_map::Entry::Vacant(slot) = cache.entry(app_id) {
                let loaded = match self.application(app_id).await? {
                    Some(app) => Some((app, self.events(app_id).await?)),
                    None => None,
                };
                slot.insert(loaded);
            }
            let Some(Some((app, events))) = cache.get(&app_id) else {
                out.push(None);
                continue;
            };
            let profile = self.profile_for(app)?;
            let seqs: Vec<i64> = self.letters_of(app, events)?.iter().map(|l| l.seq).collect();
            let same_time = events.iter().filter(|e| e.occurred_at == m.created_at && seqs.contains(&e.seq));
            let matched = same_time
                .clone()
                .find(|e| notification(&e.event, &app.number, &profile).is_some_and(|(subject, _)| subject == m.subject))
                .or_else(|| same_time.clone().next());
            out.push(matched.map(|e| (app_id, e.seq)));
        }
        Ok(out)
    }

    /// One inbox message of a user (empty when it is not theirs).
    pub async fn inbox_message(&self, user_id: i64, id: i64) -> Result<Vec<InboxMessage>> {
        Ok(crate::with_pool!(self, p => {
            sqlx::query_as::<_, InboxMessage>(
                "select id, application_id, subject, body, read_at, created_at from inbox where user_id = $1 and id = $2",
            )
            .bind(user_id)
            .bind(id)
            .fetch_all(p)
            .await?
        }))
    }

    /// The number of unread inbox messages of a user (the header's badge).
    pub async fn unread_count(&self, user_id: i64) -> Result<i64> {
        Ok(crate::with_pool!(self, p => {
            sqlx::query_scalar::<_, i64>("select count(*) from inbox where user_id = $1 and read_at is null").bind(user_id).fetch_one(p).await?
        }))
    }
}

/// A letter as a printable document. `query_url` is the progress-query address the QR code
/// carries (HRB-QUERY); `signer` the issuing agency.
pub fn letter_document(letter: &Letter, app: &AppRecord, signer: &str, query_url: &str) -> Document {
    let mut blocks = vec![Block::Paragraph(format!("{}：", app.institution_name)), Block::Paragraph(letter.decision.clone())];
    let numbered = |items: &[String]| items.iter().enumerate().map(|(i, r)| format!("{}. {r}", i + 1)).collect::<Vec<_>>().join("\n");
    if !letter.reasons.is_empty() {
        blocks.push(Block::Heading(if letter.kind == letters::LetterKind::Supplement { "需补正的材料" } else { "理由" }.into()));
        blocks.push(Block::Paragraph(numbered(&letter.reasons)));
    }
    if !letter.basis.is_empty() {
        blocks.push(Block::Heading("依据".into()));
        let wordings: Vec<String> = letter.basis.iter().map(|b| b.wording.clone()).collect();
        blocks.push(Block::Paragraph(numbered(&wordings)));
    }
    let mut terms = Vec::new();
    if let Some(d) = &letter.deadline {
        terms.push(("办理期限".to_owned(), d.text()));
    }
    if let Some(c) = &letter.consequence {
        terms.push(("逾期或相应后果".to_owned(), c.clone()));
    }
    if let Some(r) = &letter.remedy {
        terms.push(("后续办理".to_owned(), r.clone()));
    }
    if let Some(n) = &letter.next_step {
        terms.push(("下一步".to_owned(), n.clone()));
    }
    if !terms.is_empty() {
        blocks.push(Block::Fields(terms));
    }
    let mut facts = vec![("申请编号".to_owned(), app.number.clone()), ("文书编号".to_owned(), letter.number.clone())];
    facts.extend(letter.contacts.iter().cloned());
    blocks.push(Block::Heading("联系与监督".into()));
    blocks.push(Block::Fields(facts));
    blocks
        .push(Block::Qr { text: query_url.to_owned(), caption: "扫码查询办理进度（凭申请编号和查询码查询）".into() });
    blocks.push(Block::Paragraph(format!("{signer}\n{}", zh_date(letter.issued_on))));
    Document {
        title: letter.kind.title().to_owned(),
        subtitle: Some(format!("文书编号：{}", letter.number)),
        created: letter.issued_on,
        blocks,
        footer: Some(format!("文书编号 {}", letter.number)),
    }
}

fn zh_date(d: Date) -> String {
    format!("{}年{}月{}日", d.year(), d.month(), d.day())
}
