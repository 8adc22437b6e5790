//! What the public may see without signing in: the progress of an application by its number and
//! query code (HRB-QUERY), and the public notices (HRB-NOTICE, URC-RES-2). Only names, kinds,
//! addresses, stages and dates — never people, notes or reasons.

use dingdian_core::lifecycle::{Event, State};
use jiff::civil::Date;
use rand::RngCore;
use serde::Serialize;

use crate::{Result, Store, with_pool};

/// Characters of a query code: no 0/O, 1/I/L, to be read out over the phone.
const ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";

pub(crate) fn new_query_code() -> String {
    let mut raw = [0u8; 8];
    rand::rng().fill_bytes(&mut raw);
    raw.iter().map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char).collect()
}

/// One step of an application's public progress.
#[derive(Debug, Clone, Serialize)]
pub struct ProgressStep {
    pub on: Date,
    pub label: &'static str,
}

/// The public progress of an application.
#[derive(Debug, Clone, Serialize)]
pub struct Progress {
    pub number: String,
    /// The application's city (profile id), for its contact channels.
    pub city: String,
    pub institution: String,
    pub state: State,
    pub stage: &'static str,
    pub steps: Vec<ProgressStep>,
    /// The last day of the next automatic time limit, when there is one.
    pub next_deadline: Option<Date>,
}

/// A public notice entry.
#[derive(Debug, Clone, Serialize)]
pub struct NoticeEntry {
    pub application_id: i64,
    pub number: String,
    pub institution: String,
    pub category: String,
    pub address: String,
    pub district: String,
    /// The district's name from the city's profile, when it lists the code.
    pub district_name: Option<String>,
    pub city: String,
    pub published_on: Date,
    pub ends_on: Option<Date>,
    pub current: bool,
}

impl NoticeEntry {
    /// "道里区": the district's name for the public; the code only when the profile does not
    /// name it.
    pub fn district_label(&self) -> String {
        self.district_name.clone().unwrap_or_else(|| self.district.clone())
    }
}

impl Store {
    /// HRB-QUERY: progress by number and query code; `None` unless both match.
    pub async fn progress(&self, number: &str, code: &str) -> Result<Option<Progress>> {
        let row: Option<(i64,)> = with_pool!(self, p => {
            sqlx::query_as("select id from applications where number = $1 and query_code = $2")
                .bind(number.trim())
                .bind(code.trim().to_uppercase())
                .fetch_optional(p)
                .await?
        });
        let Some((id,)) = row else { return Ok(None) };
        let Some(app) = self.application(id).await? else { return Ok(None) };
        let steps = self
            .events(id)
            .await?
            .into_iter()
            // Only changes of state, labelled by the new state: no notes, reasons or people.
            .filter(|e| e.from_state != e.to_state)
            .map(|e| ProgressStep { on: e.occurred_on, label: e.to_state.zh() })
            .collect();
        Ok(Some(Progress {
            city: app.city.clone(),
            number: app.number,
            institution: app.institution_name,
            stage: app.state.zh(),
            state: app.state,
            steps,
            next_deadline: app.due_on,
        }))
    }

    /// The query code of an application, for its institution.
    pub async fn query_code(&self, id: i64) -> Result<Option<String>> {
        let row: Option<(Option<String>,)> = with_pool!(self, p => {
            sqlx::query_as("select query_code from applications where id = $1").bind(id).fetch_optional(p).await?
        });
        Ok(row.and_then(|r| r.0))
    }

    /// Current and past public notices, newest first.
    pub async fn notices(&self, limit: i64, city: Option<&str>) -> Result<Vec<NoticeEntry>> {
        let rows: Vec<NoticeRow> = with_pool!(self, p => {
            sqlx::query_as(
                "select a.id, coalesce(a.number, '') as number, i.name, i.category, i.address, i.district, a.city, a.state,
                        e.payload, e.occurred_on
                 from events e join applications a on a.id = e.application_id join institutions i on i.id = a.institution_id
                 where e.kind = 'notice_published' and ($2 is null or a.city = $2) order by e.occurred_on desc, a.id desc limit $1",
            )
            .bind(limit)
            .bind(city)
            .fetch_all(p)
            .await?
        });
        Ok(rows
            .into_iter()
            .filter_map(|r| {
                let ends_on = match serde_json::from_str::<Event>(&r.payload).ok()? {
                    Event::NoticePublished { ends_on } => ends_on,
                    _ => None,
                };
                Some(NoticeEntry {
                    application_id: r.id,
                    number: r.number,
                    institution: r.name,
                    category: r.category,
                    address: r.address,
                    district_name: self.district_name(&r.city, &r.district),
                    district: r.district,
                    city: r.city,
                    published_on: r.occurred_on.parse().ok()?,
                    ends_on,
                    current: r.state == State::PublicNotice.as_str(),
                })
            })
            .collect())
    }
}

#[derive(sqlx::FromRow)]
struct NoticeRow {
    id: i64,
    number: String,
    name: String,
    category: String,
    address: String,
    district: String,
    city: String,
    state: String,
    payload: String,
    occurred_on: String,
}
