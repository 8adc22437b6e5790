//! Calendar years in the database (LAW-WD data loaded by an administrator without a release),
//! and the re-projection of open deadlines when a year is loaded.

use std::sync::Arc;

use dingdian_core::calendar::{Calendar, Year};
use dingdian_core::china_date;
use dingdian_core::clocks::{self, ClockView, Transition};
use dingdian_core::lifecycle::{Actor, Command, State};
use jiff::Timestamp;
use jiff::civil::Date;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::{Result, Store, StoreError, with_pool};

/// What loading a year did.
#[derive(Debug, Clone, Serialize)]
pub struct CalendarLoad {
    pub year: i16,
    pub source: String,
    /// Applications whose running deadlines changed; each got a `deadlines_recalculated` event.
    pub reprojected: Vec<i64>,
}

/// A stored year, for listing.
#[derive(Debug, Clone, Serialize)]
pub struct CalendarYearInfo {
    pub year: i16,
    pub source: String,
    pub holidays: usize,
    /// `shipped` (built in) or `loaded` (from the database).
    pub origin: &'static str,
}

impl Store {
    /// Reads the years stored in the database over the shipped ones.
    pub(crate) async fn load_stored_calendar(&self) -> Result<()> {
        let rows: Vec<(i64, String, String)> = with_pool!(self, p => {
            sqlx::query_as("select year, source, sha256 from calendar_years order by year").fetch_all(p).await?
        });
        let stamp: Vec<(i64, String)> = rows.iter().map(|(y, _, h)| (*y, h.clone())).collect();
        let mut cal = Calendar::shipped();
        for (year, source, _) in rows {
            let y = Year::parse(&format!("<stored calendar {year}>"), &source)
                .map_err(|e| StoreError::Corrupt(format!("stored calendar {year}: {e:?}")))?;
            cal.insert(y);
        }
        *self.calendar.write().expect("calendar lock") = Arc::new(cal);
        *self.calendar_stamp.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = stamp;
        Ok(())
    }

    /// Picks up years another instance loaded or replaced (LAW-WD: every instance counts with
    /// the same calendar within one timer sweep). Cheap: one small query of (year, digest)
    /// compared with what this instance loaded.
    pub async fn sync_calendar(&self) -> Result<()> {
        let rows: Vec<(i64, String)> =
            with_pool!(self, p => sqlx::query_as("select year, sha256 from calendar_years order by year").fetch_all(p).await?);
        let same = *self.calendar_stamp.lock().unwrap_or_else(std::sync::PoisonError::into_inner) == rows;
        if !same {
            self.load_stored_calendar().await?;
        }
        Ok(())
    }

    pub fn calendar_years(&self) -> Vec<CalendarYearInfo> {
        let shipped = Calendar::shipped();
        self.calendar()
            .years()
            .map(|y| CalendarYearInfo {
                year: y.year,
                source: y.source.clone(),
                holidays: y.holidays.len(),
                origin: if shipped.years().any(|s| s == y) { "shipped" } else { "loaded" },
            })
            .collect()
    }

    /// The open applications whose running deadlines `new` changes against `old`, with the
    /// clocks that move.
    async fn calendar_changes(
        &self,
        old: &Calendar,
        new: &Calendar,
        year: i16,
        today: jiff::civil::Date,
    ) -> Result<Vec<(crate::AppRecord, Vec<(String, Option<Date>, Option<Date>)>)>> {
        let mut affected = Vec::new();
        let system = Actor::system("");
        for app in self.applications_for(&system, None, i64::MAX, today).await? {
            if app.state.is_terminal() {
                continue;
            }
            let profile = self.profile_for(&app)?;
            let history: Vec<Transition> =
                self.events(app.id).await?.iter().map(|e| Transition { from: e.from_state, to: e.to_state, on: e.occurred_on }).collect();
            let before = clocks::application_clocks(&profile, &history, &app.data, old, today);
            let after = clocks::application_clocks(&profile, &history, &app.data, new, today);
            let moved = changed(&before, &after, year);
            if !moved.is_empty() {
                affected.push((app, moved));
            }
        }
        Ok(affected)
    }

    /// What loading `year` would change, without loading it: the open deadlines that move, of
    /// the applications in the cities `actor` administers (`province::administer` decides);
    /// the others are only counted.
    pub async fn preview_calendar_year(&self, actor: &Actor, year: &Year, now: Timestamp) -> Result<CalendarPreview> {
        let old = self.calendar();
        let mut new = (*old).clone();
        new.insert(year.clone());
        let mut preview = CalendarPreview::default();
        for (app, moved) in self.calendar_changes(&old, &new, year.year, china_date(now)).await? {
            let visible = self.current_profile(&app.city).is_some_and(|p| dingdian_core::province::administer(actor, &p).is_ok());
            if !visible {
                preview.elsewhere += 1;
                continue;
            }
            for (clock, old_due, new_due) in moved {
                preview.changes.push(DeadlineChange {
                    application_id: app.id,
                    number: app.number.clone(),
                    institution_name: app.institution_name.clone(),
                    city: app.city.clone(),
                    clock,
                    old_due,
                    new_due,
                });
            }
        }
        Ok(preview)
    }

    /// Loads (or replaces) a calendar year from its TOML text, then re-projects every open
    /// deadline: each application whose running deadlines change, or that waited for this year,
    /// gets a `deadlines_recalculated` event and a new due date.
    pub async fn load_calendar_year(&self, file: &str, text: &str, by: Option<i64>, now: Timestamp) -> Result<CalendarLoad> {
        let year = Year::parse(file, text).map_err(|errs| StoreError::Rejected {
            code: "invalid_calendar",
            message: errs.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"),
        })?;
        let today = china_date(now);
        let old = self.calendar();
        let mut new = (*old).clone();
        new.insert(year.clone());
        let ts = now.to_string();
        let sha = hex::encode(Sha256::digest(text.as_bytes()));
        with_pool!(self, p => {
            sqlx::query(
                "insert into calendar_years (year, source, sha256, loaded_by, created_at, updated_at) values ($1, $2, $3, $4, $5, $5)
                 on conflict (year) do update set source = excluded.source, sha256 = excluded.sha256,
                 loaded_by = excluded.loaded_by, updated_at = excluded.updated_at",
            )
            .bind(i64::from(year.year))
            .bind(text)
            .bind(&sha)
            .bind(by)
            .bind(&ts)
            .execute(p)
            .await?;
        });
        // Which open applications does the new year change?
        let affected: Vec<(i64, String)> =
            self.calendar_changes(&old, &new, year.year, today).await?.into_iter().map(|(app, _)| (app.id, app.city)).collect();
        *self.calendar.write().expect("calendar lock") = Arc::new(new);
        let mut reprojected = Vec::new();
        for (id, city) in affected {
            // Retry on a concurrent change: the event must land on the current version.
            for _ in 0..5 {
                let Some(app) = self.application(id).await? else { break };
                if app.state == State::Draft || app.state.is_terminal() {
                    break;
                }
                let cmd = Command::RecalculateDeadlines { year: year.year };
                match self.execute(id, &Actor::system(&city), app.version, &cmd, now).await {
                    Ok(_) => {
                        reprojected.push(id);
                        break;
                    }
                    Err(StoreError::Conflict { .. } | StoreError::Refused(dingdian_core::lifecycle::Refusal::StaleVersion { .. })) => {
                        continue;
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        tracing::info!(year = year.year, reprojected = reprojected.len(), "calendar year loaded");
        Ok(CalendarLoad { year: year.year, source: year.source, reprojected })
    }
}

/// The running clocks whose due date moves, or that were waiting for this year: (name, old
/// due date, new due date), `None` where it cannot be determined.
fn changed(before: &[ClockView], after: &[ClockView], year: i16) -> Vec<(String, Option<Date>, Option<Date>)> {
    before
        .iter()
        .filter(|c| c.ended_on.is_none())
        .filter_map(|b| {
            let a = after.iter().find(|a| a.id == b.id);
            (b.due.missing_year == Some(year) || a.is_none_or(|a| a.due.due != b.due.due))
                .then(|| (b.name.clone(), b.due.due, a.and_then(|a| a.due.due)))
        })
        .collect()
}

/// One open deadline that loading a year would move (the preview of the holiday form).
#[derive(Debug, Clone, Serialize)]
pub struct DeadlineChange {
    pub application_id: i64,
    pub number: String,
    pub institution_name: String,
    pub city: String,
    pub clock: String,
    /// `None`: cannot be determined (a year is missing).
    pub old_due: Option<Date>,
    pub new_due: Option<Date>,
}

/// The preview of a year: the changes the actor may see, and how many other applications (of
/// cities it does not administer) would change too.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CalendarPreview {
    pub changes: Vec<DeadlineChange>,
    pub elsewhere: usize,
}
