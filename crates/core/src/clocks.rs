//! The clocks of one application, derived from its history and its profile (G-CLOCKS): when each
//! started, how long it was paused, when it is due and why, and whether it has run out.

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::calendar::Calendar;
use crate::deadline::{self, Budget, Due, Pause, Unit};
use crate::lifecycle::AppState;
use crate::policy::{ClockDef, ClockStart, Expiry, Profile};
use crate::vocabulary::State;

/// One state change in an application's history, as the clocks need it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transition {
    pub from: State,
    pub to: State,
    pub on: Date,
}

/// G-CLOCKS: what the clocks read of an application's history, kept beside its projection so a
/// command reads neither its events nor a list that grows with them: the transitions that
/// changed the state, oldest first, as of application version `upto`. The clocks skip every
/// other transition (`from == to`), so they read the same from this as from the whole history.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateChanges {
    /// The application's version these changes are complete up to.
    pub upto: i64,
    pub changes: Vec<Transition>,
}

impl StateChanges {
    /// The state changes of a whole history (every event's transition, in order) at version `upto`.
    pub fn of(upto: i64, history: impl IntoIterator<Item = Transition>) -> StateChanges {
        let mut s = StateChanges { upto, changes: Vec::new() };
        for t in history {
            s.push(t);
        }
        s
    }

    /// Records one more event's transition (kept only if it changed the state).
    pub fn push(&mut self, t: Transition) {
        if t.from != t.to {
            self.changes.push(t);
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ClockStatus {
    /// Counting, not yet due.
    Running,
    /// Stopped for a while (LAW-SUSPEND).
    Paused,
    /// Past its last day and still running: overdue (agency limit) or about to fire.
    Overdue,
    /// The step ended on or before the due date.
    Met,
    /// The step ended after the due date.
    MetLate,
    /// The period ran its full length and its automatic consequence followed (e.g. a notice
    /// period that ended, a deemed withdrawal).
    Expired,
}

impl ClockStatus {
    pub fn zh(self) -> &'static str {
        match self {
            ClockStatus::Running => "计时中",
            ClockStatus::Paused => "暂停计时",
            ClockStatus::Overdue => "已超期",
            ClockStatus::Met => "已按期完成",
            ClockStatus::MetLate => "逾期完成",
            ClockStatus::Expired => "期限届满",
        }
    }
}

/// A clock as shown to people and used to schedule automatic consequences.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClockView {
    pub id: String,
    pub rule: String,
    pub name: String,
    pub budget: Budget,
    pub started_on: Date,
    pub pauses: Vec<Pause>,
    pub ended_on: Option<Date>,
    pub status: ClockStatus,
    pub on_expiry: Option<Expiry>,
    #[serde(flatten)]
    pub due: Due,
}

/// Every clock that has started in this history, latest run of each.
pub fn clocks(profile: &Profile, history: &[Transition], cal: &Calendar, today: Date) -> Vec<ClockView> {
    let mut views: Vec<ClockView> = Vec::new();
    for def in &profile.clocks {
        // URC-SIGN: a clock that starts at the end of the notice reads the notice clock's last day
        // (the profile puts the notice clock first).
        let notice_end = views.iter().find(|v| v.on_expiry == Some(Expiry::EndNotice)).and_then(|v| v.due.due);
        views.extend(latest_run(def, history, cal, today, notice_end));
    }
    views
}

/// URC-SIGN ("公示期满后，10日内"): a window that counts from the notice's last day, whatever day
/// the application left the notice. The days after that last day on which it was still in the
/// notice (a complaint held it open, or the system had not closed it yet) do not count: the
/// institution could not sign on them (LAW-SUSPEND). `entered_on` is the day it entered the
/// window's state. Returns the start and the pause.
pub fn after_notice(notice_last_day: Date, entered_on: Date) -> (Date, Option<Pause>) {
    if entered_on <= notice_last_day {
        return (entered_on, None);
    }
    let held_to = entered_on.yesterday().unwrap_or(entered_on);
    (notice_last_day, (held_to > notice_last_day).then_some(Pause { from: notice_last_day, to: held_to }))
}

/// Every clock of an application: the profile's clocks that have started in its history (latest
/// run of each), then the Annex 2 resubmission windows its state has opened (HRB-ANNEX2).
pub fn application_clocks(profile: &Profile, history: &[Transition], st: &AppState, cal: &Calendar, today: Date) -> Vec<ClockView> {
    let mut views = clocks(profile, history, cal, today);
    views.extend(annex2_windows(profile, st, cal, today));
    views
}

/// HRB-ANNEX2: each failed acceptance result with tries left opens a window of the profile's
/// `annex2_resubmit_working_days` from the day of the notice (LAW-START, LAW-WD); the window
/// closes with a resubmission, with the deemed withdrawal when it runs out, or when the
/// application leaves preparation. One clock per window, numbered from 1 (`annex2_resubmit_1`…).
pub fn annex2_windows(profile: &Profile, st: &AppState, cal: &Calendar, today: Date) -> Vec<ClockView> {
    let Some(cfg) = profile.preparation.as_ref() else { return Vec::new() };
    let budget = Budget { amount: cfg.annex2_resubmit_working_days, unit: Unit::WorkingDays };
    let left_preparation = (st.state != State::PresignPreparation).then_some(st.entered_on).flatten();
    st.prep
        .annex2
        .windows
        .iter()
        .enumerate()
        .map(|(i, w)| {
            let due = deadline::compute(w.opened_on, budget, &[], cal);
            let ended_on = w.closed_on.or(left_preparation);
            let status = match (ended_on, due.due) {
                (Some(_), _) if w.missed => ClockStatus::Expired,
                (Some(end), Some(d)) if end > d => ClockStatus::MetLate,
                (Some(_), _) => ClockStatus::Met,
                (None, Some(d)) if today > d => ClockStatus::Overdue,
                (None, _) => ClockStatus::Running,
            };
            ClockView {
                id: format!("annex2_resubmit_{}", i + 1),
                rule: ANNEX2_RULE.to_owned(),
                name: format!("处方流转验收重新提交期限（第 {} 次验收未通过后）", i + 1),
                budget,
                started_on: w.opened_on,
                pauses: Vec::new(),
                ended_on,
                status,
                on_expiry: Some(Expiry::Annex2Withdrawn),
                due,
            }
        })
        .collect()
}

/// The rule the Annex 2 resubmission windows rest on.
const ANNEX2_RULE: &str = "HRB-ANNEX2";

/// The earliest automatic consequence still pending: (last day, what fires after it).
pub fn next_expiry(views: &[ClockView]) -> Option<(Date, Expiry)> {
    views.iter().filter(|c| c.ended_on.is_none()).filter_map(|c| Some((c.due.due?, c.on_expiry?))).min_by_key(|(d, _)| *d)
}

fn latest_run(def: &ClockDef, history: &[Transition], cal: &Calendar, today: Date, notice_end: Option<Date>) -> Option<ClockView> {
    struct Run {
        start: Date,
        pauses: Vec<Pause>,
        paused_since: Option<Date>,
        ended: Option<Date>,
    }
    let runs = |s: State| def.runs_in.contains(&s);
    let pauses = |s: State| def.pauses_in.contains(&s);
    let mut run: Option<Run> = None;
    for t in history.iter().filter(|t| t.from != t.to) {
        if !runs(t.from) && runs(t.to) {
            run = Some(Run { start: t.on, pauses: Vec::new(), paused_since: pauses(t.to).then_some(t.on), ended: None });
            continue;
        }
        let Some(r) = run.as_mut().filter(|r| r.ended.is_none()) else {
            continue;
        };
        if let Some(since) = r.paused_since.filter(|_| !pauses(t.to)) {
            r.pauses.push(Pause { from: since, to: t.on });
            r.paused_since = None;
        } else if r.paused_since.is_none() && pauses(t.to) {
            r.paused_since = Some(t.on);
        }
        if runs(t.from) && !runs(t.to) {
            r.ended = Some(t.on);
        }
    }
    let mut r = run?;
    if let (ClockStart::NoticeEnd, Some(last)) = (def.starts, notice_end) {
        let (start, held) = after_notice(last, r.start);
        r.start = start;
        r.pauses.splice(0..0, held);
    }
    let mut all_pauses = r.pauses.clone();
    if let Some(since) = r.paused_since {
        all_pauses.push(Pause { from: since, to: today });
    }
    let due = deadline::compute(r.start, def.budget, &all_pauses, cal);
    let status = match (r.ended, due.due) {
        (Some(end), Some(d)) if end > d && def.on_expiry.is_some() => ClockStatus::Expired,
        (Some(end), Some(d)) if end > d => ClockStatus::MetLate,
        (Some(_), _) => ClockStatus::Met,
        (None, _) if r.paused_since.is_some() => ClockStatus::Paused,
        (None, Some(d)) if today > d => ClockStatus::Overdue,
        (None, _) => ClockStatus::Running,
    };
    Some(ClockView {
        id: def.id.clone(),
        rule: def.rule.clone(),
        name: def.name.clone(),
        budget: def.budget,
        started_on: r.start,
        pauses: all_pauses,
        ended_on: r.ended,
        status,
        on_expiry: def.on_expiry,
        due,
    })
}

/// The timers an application carries after a decision (G-CLOCKS).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Timers {
    /// The automatic consequence to fire: its last day and what fires after it.
    pub due: Option<(Date, Expiry)>,
    /// The nearest deadline of either kind (automatic consequences and the agency's own running
    /// time limits), for sorting queues.
    pub sort_due: Option<Date>,
}

/// G-CLOCKS: the timers of an application in state `st`, whose history (transitions, the last
/// one included) is `history`.
pub fn timers(profile: &Profile, history: &[Transition], cal: &Calendar, today: Date, st: &AppState) -> Timers {
    // HRB-ANNEX2: the open resubmission window is one of the clocks, so it fires like the rest.
    let views = application_clocks(profile, history, st, cal, today);
    // HRB-SIGN / URC-SIGN: a signed institution is not deemed to give up while the agency
    // countersigns; the delay is the agency's.
    let due = next_expiry(&views).filter(|(_, e)| !(*e == Expiry::DeemGivenUp && st.institution_signed));
    // G-AGENCY-TIME: deemed acceptance follows only a limit in which no notice was given.
    let due = due.filter(|(_, e)| !(*e == Expiry::DeemAccepted && st.supplement_notices > 0));
    // HRB-ANNEX2: a window from a state stored before windows were recorded fires on its date.
    let legacy = st.prep.annex2.legacy_window_due().filter(|_| st.state == State::PresignPreparation).map(|d| (d, Expiry::Annex2Withdrawn));
    let due = due.into_iter().chain(legacy).min_by_key(|(d, _)| *d);
    // The agency's own running time limits (clocks without an automatic consequence).
    let agency_due = views.iter().filter(|v| v.on_expiry.is_none() && v.ended_on.is_none()).filter_map(|v| v.due.due).min();
    let sort_due = due.map(|(d, _)| d).into_iter().chain(agency_due).min();
    Timers { due, sort_due }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::Calendar;

    fn day(s: &str) -> Date {
        s.parse().unwrap()
    }

    /// G-CLOCKS: the clocks and timers read from the state changes alone are those read from the
    /// whole history, every event's transition included (the command path keeps only the former).
    #[test]
    fn state_changes_give_the_clocks_of_the_whole_history() {
        let cal = Calendar::shipped();
        let mut started = 0;
        for profile in Profile::shipped() {
            // A history with many events that do not change the state between the changes.
            let path = [
                (State::Draft, State::Draft, "2026-03-02"),
                (State::Draft, State::Submitted, "2026-03-03"),
                (State::Submitted, State::Submitted, "2026-03-04"),
                (State::Submitted, State::AwaitingSupplement, "2026-03-05"),
                (State::AwaitingSupplement, State::AwaitingSupplement, "2026-03-06"),
                (State::AwaitingSupplement, State::Submitted, "2026-03-09"),
                (State::Submitted, State::Submitted, "2026-03-10"),
                (State::Submitted, State::AwaitingSupplement, "2026-03-11"),
            ];
            let mut history = Vec::new();
            for (from, to, on) in path {
                for _ in 0..20 {
                    history.push(Transition { from: to, to, on: day(on) });
                }
                history.push(Transition { from, to, on: day(on) });
            }
            let changes = StateChanges::of(history.len() as i64, history.iter().copied());
            assert_eq!(changes.changes.len(), 4);
            let st = AppState { state: State::AwaitingSupplement, entered_on: Some(day("2026-03-11")), ..AppState::default() };
            for today in ["2026-03-11", "2026-04-30", "2026-09-01"] {
                let today = day(today);
                assert_eq!(
                    application_clocks(&profile, &history, &st, &cal, today),
                    application_clocks(&profile, &changes.changes, &st, &cal, today),
                    "{}",
                    profile.id
                );
                assert_eq!(timers(&profile, &history, &cal, today, &st), timers(&profile, &changes.changes, &cal, today, &st));
            }
            started += application_clocks(&profile, &changes.changes, &st, &cal, day("2026-03-11")).len();
        }
        assert!(started > 0, "some profile's clocks run in this history");
    }

    #[test]
    fn state_changes_round_trip_through_json() {
        let s = StateChanges::of(3, [Transition { from: State::Draft, to: State::Submitted, on: day("2026-03-03") }]);
        let text = serde_json::to_string(&s).unwrap();
        assert_eq!(serde_json::from_str::<StateChanges>(&text).unwrap(), s);
    }
}
