//! Reports for the agency workbench (issue #8): the work queue (filtered, sorted by the nearest
//! deadline, paged), its counts per state, a light row set for exports, and statistics (by
//! state, by district, time spent per clock against its budget, results). Read-only.
//!
//! Scoped like `applications_for`: agency, supervisor and admin see their city, a branch
//! reviewer only their district; other roles are refused.
//!
//! The queries are built from fixed fragments with only the filters that are set (every value
//! is a bound parameter), so each backend plans them against the workbench indexes (migration
//! 0013): rows are picked and ordered on the index alone, then the page's rows are read.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use dingdian_core::clocks::{self, ClockStatus, ClockView, Transition};
use dingdian_core::deadline::Budget;
use dingdian_core::lifecycle::{Actor, Event, Outcome, Refusal, Role, State};
use dingdian_core::policy::{Expiry, Profile};
use dingdian_core::search::Query;
use dingdian_core::visibility::{self, Listing};
use jiff::civil::Date;
use serde::Serialize;

use crate::applications::{APP_SELECT, AppRow};
use crate::{AppRecord, Result, Store, StoreError, with_pool};

/// Which states a queue shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StateFilter {
    /// Every application in progress: submitted and not yet in a terminal state.
    #[default]
    Open,
    /// Every submitted application, finished ones included (drafts are the applicant's own).
    All,
    /// One state.
    One(State),
}

impl StateFilter {
    /// `open`, `all` or a state name; anything else is `None`.
    pub fn parse(s: &str) -> Option<StateFilter> {
        match s {
            "open" => Some(StateFilter::Open),
            "all" => Some(StateFilter::All),
            other => State::parse(other).map(StateFilter::One),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            StateFilter::Open => "open",
            StateFilter::All => "all",
            StateFilter::One(s) => s.as_str(),
        }
    }

    /// Whether an application in `state` belongs to this queue.
    pub fn contains(self, state: State) -> bool {
        match self {
            StateFilter::Open => state != State::Draft && !state.is_terminal(),
            StateFilter::All => state != State::Draft,
            StateFilter::One(s) => s == state,
        }
    }
}

/// The workbench's filters. `None` (or an empty text) means "any".
#[derive(Debug, Clone, Default)]
pub struct QueueFilter {
    pub states: StateFilter,
    /// District code (GB/T 2260), e.g. `230102`.
    pub district: Option<String>,
    /// `medical` or `pharmacy`.
    pub kind: Option<String>,
    /// An evaluation round (当期).
    pub round_id: Option<i64>,
    /// The city profile id, e.g. `harbin`.
    pub profile_id: Option<String>,
    /// The profile version the application was submitted under.
    pub profile_version: Option<String>,
    /// The search box (issue #16 item 9), classified by the core; it only narrows the scope.
    pub search: Option<Query>,
}

/// Counts for a queue's tabs and filters.
#[derive(Debug, Clone, Default, Serialize)]
pub struct QueueCounts {
    /// Applications per state under every filter but the state, in lifecycle order, drafts left
    /// out; states without applications are left out.
    pub by_state: Vec<(State, i64)>,
    /// Every district with applications in the actor's scope, whatever the filters (codes,
    /// sorted), for the district filter.
    pub districts: Vec<String>,
    /// Whether finished applications were counted too. Queues of applications in progress count
    /// only those (a fraction of the rows), so the default view stays cheap.
    pub finished_counted: bool,
}

impl QueueCounts {
    /// How many applications a state filter selects; `None` when that needs finished
    /// applications and they were not counted.
    pub fn total(&self, states: StateFilter) -> Option<i64> {
        let needs_finished = match states {
            StateFilter::Open => false,
            StateFilter::All => true,
            StateFilter::One(s) => s.is_terminal(),
        };
        (self.finished_counted || !needs_finished).then(|| self.by_state.iter().filter(|(s, _)| states.contains(*s)).map(|(_, n)| n).sum())
    }
}

/// A queue row for exports: no application data beyond the submission date.
#[derive(Debug, Clone, Serialize)]
pub struct QueueRow {
    pub id: i64,
    pub number: String,
    pub institution_name: String,
    pub uscc: String,
    pub kind: String,
    pub city: String,
    pub district: String,
    pub profile_id: String,
    pub profile_version: String,
    pub state: State,
    pub round_name: Option<String>,
    pub submitted_on: Option<Date>,
    pub due_on: Option<Date>,
    pub due_action: Option<Expiry>,
    /// The nearest deadline of either kind (automatic or the agency's own limit).
    pub sort_due_on: Option<Date>,
    pub updated_at: String,
}

/// Time spent under one clock of a profile, over the applications whose run of it ended.
#[derive(Debug, Clone, Serialize)]
pub struct StepStat {
    pub profile_id: String,
    pub profile_name: String,
    pub clock_id: String,
    pub rule: String,
    pub name: String,
    pub budget: Budget,
    /// The states the clock runs in.
    pub states: Vec<State>,
    /// Runs that ended (the application left the clock's states).
    pub finished: usize,
    /// Finished runs that ended on or before their last day.
    pub on_time: usize,
    /// Finished runs that ended after it (a late step).
    pub late: usize,
    /// Runs that ran out and whose automatic consequence followed (e.g. a notice period that
    /// ended, a deemed withdrawal).
    pub expired: usize,
    /// Median calendar days used by the finished runs, paused days not counted.
    pub median_used_days: Option<f64>,
    /// Median calendar days the budget allowed those runs (due date − start, paused days not
    /// counted): the budget in calendar days, holidays included.
    pub median_allowed_days: Option<f64>,
    /// Runs still counting, and how many of them are past their last day.
    pub running: usize,
    pub overdue: usize,
}

/// Evaluation results (HRB-EVAL-3 / URC-RES-1) and expert recommendations (HRB-EVAL-2 /
/// URC-EVAL-3).
#[derive(Debug, Clone, Default, Serialize)]
pub struct ResultStats {
    pub passed: i64,
    pub failed: i64,
    /// Of those, decided at the first attempt.
    pub first_passed: i64,
    pub first_failed: i64,
    pub expert_pass: i64,
    pub expert_fail: i64,
}

/// Everything the statistics page shows.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Stats {
    /// Applications per state (drafts left out), lifecycle order, non-zero only.
    pub by_state: Vec<(State, i64)>,
    /// Applications per district (drafts left out), by code.
    pub by_district: Vec<(String, i64)>,
    pub steps: Vec<StepStat>,
    pub results: ResultStats,
}

/// A bound value of a dynamically assembled query.
enum Arg {
    Text(String),
    Int(i64),
}

/// A `where` clause over `applications a`, assembled from fixed fragments; values are bound.
struct Where {
    sql: String,
    args: Vec<Arg>,
}

impl Where {
    fn new() -> Where {
        Where { sql: "a.state <> 'draft'".to_owned(), args: Vec::new() }
    }

    fn eq(&mut self, column: &'static str, arg: Arg) {
        self.args.push(arg);
        self.sql.push_str(&format!(" and {column} = ${}", self.args.len()));
    }

    /// A search: an exact application number, or the applications of the institutions whose
    /// code is exactly, or whose name contains, the text. Institutions are few next to
    /// applications and their USCC is unique (indexed), so the sub-select is small.
    fn search(&mut self, q: &Query) {
        fn bind(w: &mut Where, v: String) -> String {
            w.args.push(Arg::Text(v));
            format!("${}", w.args.len())
        }
        let sql = match q {
            Query::Number(n) => format!("a.number = {}", bind(self, n.clone())),
            Query::Uscc(u) => {
                format!("a.institution_id in (select id from institutions where uscc = {})", bind(self, u.as_str().to_owned()))
            }
            // The code is the institution's (the registry) or, until it is recorded there, the
            // one declared in the application (HRB-PREP), kept in the data as serde writes it.
            Query::NationalCode(c) => {
                let code = bind(self, c.as_str().to_owned());
                let declared = bind(self, format!("%\"national_code\":\"{}\"%", c.as_str()));
                format!("(a.institution_id in (select id from institutions where national_code = {code}) or a.data like {declared})")
            }
            Query::Name(n) => format!(
                "a.institution_id in (select id from institutions where lower(name) like {} escape '\\')",
                bind(self, format!("%{}%", like_escape(n)))
            ),
        };
        self.sql.push_str(" and ");
        self.sql.push_str(&sql);
    }

    /// `a.state` in a fixed set of states (names from the enum, never from input).
    fn states(&mut self, states: StateFilter) {
        match states {
            StateFilter::One(s) => self.eq("a.state", Arg::Text(s.as_str().to_owned())),
            StateFilter::All => {}
            StateFilter::Open => {
                let open: Vec<String> = dingdian_core::lifecycle::ALL_STATES
                    .iter()
                    .filter(|s| StateFilter::Open.contains(**s))
                    .map(|s| format!("'{}'", s.as_str()))
                    .collect();
                self.sql.push_str(&format!(" and a.state in ({})", open.join(", ")));
            }
        }
    }
}

/// `text` as a literal inside a `LIKE … escape '\'` pattern: the escape character and the
/// wildcards `%` and `_` are escaped (the same on SQLite and PostgreSQL).
fn like_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '\\' | '%' | '_') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Binds a `Where`'s values, in order, to a query of either backend.
macro_rules! bind_args {
    ($q:expr, $args:expr) => {{
        let mut q = $q;
        for a in $args {
            q = match a {
                Arg::Text(t) => q.bind(t.clone()),
                Arg::Int(i) => q.bind(*i),
            };
        }
        q
    }};
}

/// The order of a queue: the nearest automatic deadline first, then (rows without one) the
/// longest untouched, then by id. The same expression is indexed (migration 0014).
const QUEUE_ORDER: &str = "coalesce(a.sort_due_on, '9999-12-31'), a.updated_at, a.id";

#[derive(sqlx::FromRow)]
struct LightRow {
    id: i64,
    number: Option<String>,
    institution_name: String,
    uscc: String,
    kind: String,
    city: String,
    district: String,
    profile_id: String,
    profile_version: String,
    state: String,
    round_name: Option<String>,
    data: String,
    due_on: Option<String>,
    due_action: Option<String>,
    sort_due_on: Option<String>,
    updated_at: String,
}

/// The one field of the application data an export needs.
#[derive(serde::Deserialize)]
struct Submitted {
    #[serde(default)]
    submitted_on: Option<Date>,
}

fn parse_date(s: Option<&str>) -> std::result::Result<Option<Date>, ()> {
    s.map(str::parse).transpose().map_err(|_| ())
}

fn parse_expiry(s: Option<&str>) -> std::result::Result<Option<Expiry>, ()> {
    s.map(|a| serde_json::from_value(a.into())).transpose().map_err(|_| ())
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 })
}

/// Calendar days from `a` to `b`.
fn days(a: Date, b: Date) -> i64 {
    i64::from((b - a).get_days())
}

impl Store {
    /// The scope and filters of a queue as a `where` clause (without the state filter).
    fn queue_where(actor: &Actor, f: &QueueFilter) -> Result<Where> {
        let mut w = Where::new();
        // G-VISIBILITY: the core says whose rows the queues, exports and statistics cover.
        match visibility::reporting(actor)? {
            Listing::Everything => {}
            Listing::City(city) => w.eq("a.city", Arg::Text(city)),
            Listing::District { city, district } => {
                w.eq("a.city", Arg::Text(city));
                w.eq("a.district", Arg::Text(district));
            }
            Listing::Institution(_) | Listing::Assigned { .. } => return Err(Refusal::NotYourRole { required: Role::Agency }.into()),
        }
        let text = |v: &Option<String>| v.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned);
        if let Some(k) = text(&f.kind) {
            w.eq("a.kind", Arg::Text(k));
        }
        if let Some(r) = f.round_id {
            w.eq("a.round_id", Arg::Int(r));
        }
        if let Some(p) = text(&f.profile_id) {
            w.eq("a.profile_id", Arg::Text(p));
        }
        if let Some(v) = text(&f.profile_version) {
            w.eq("a.profile_version", Arg::Text(v));
        }
        if let Some(q) = &f.search {
            w.search(q);
        }
        Ok(w)
    }

    fn queue_where_full(actor: &Actor, f: &QueueFilter) -> Result<Where> {
        let mut w = Self::queue_where(actor, f)?;
        if let Some(d) = f.district.as_deref().map(str::trim).filter(|d| !d.is_empty()) {
            w.eq("a.district", Arg::Text(d.to_owned()));
        }
        w.states(f.states);
        Ok(w)
    }

    /// One page of the work queue: the applications the actor may see that match the filter,
    /// the nearest automatic deadline (`due_on`) first, then those without one, longest
    /// untouched first.
    pub async fn queue(&self, actor: &Actor, f: &QueueFilter, limit: i64, offset: i64) -> Result<Vec<AppRecord>> {
        let w = Self::queue_where_full(actor, f)?;
        let n = w.args.len();
        // The page's ids come from the index alone; only those rows are then read and joined.
        let sql = format!(
            "{APP_SELECT}
             where a.id in (select a.id from applications a where {} order by {QUEUE_ORDER} limit ${} offset ${})
             order by {QUEUE_ORDER}",
            w.sql,
            n + 1,
            n + 2
        );
        let rows: Vec<AppRow> = with_pool!(self, p => {
            let q = bind_args!(sqlx::query_as::<_, AppRow>(sqlx::AssertSqlSafe(sql.as_str())), &w.args);
            q.bind(limit.max(0)).bind(offset.max(0)).fetch_all(p).await?
        });
        rows.into_iter().map(AppRecord::try_from).collect()
    }

    /// Counts per state (with every filter but the state) and the districts in scope, for the
    /// queue's tabs and filters. The state filter only decides whether finished applications are
    /// counted: for a queue of applications in progress they are not (a fraction of the rows).
    pub async fn queue_counts(&self, actor: &Actor, f: &QueueFilter) -> Result<QueueCounts> {
        let finished = match f.states {
            StateFilter::Open => false,
            StateFilter::All => true,
            StateFilter::One(s) => s.is_terminal(),
        };
        let mut w = Self::queue_where_full(actor, &QueueFilter { states: StateFilter::All, ..f.clone() })?;
        if !finished {
            w.states(StateFilter::Open);
        }
        let sql = format!("select a.state, count(*) from applications a where {} group by a.state", w.sql);
        let rows: Vec<(String, i64)> = with_pool!(self, p => {
            bind_args!(sqlx::query_as::<_, (String, i64)>(sqlx::AssertSqlSafe(sql.as_str())), &w.args).fetch_all(p).await?
        });
        let mut by_state = Vec::new();
        for (s, n) in rows {
            let state = State::parse(&s).ok_or_else(|| StoreError::Corrupt(format!("state {s}")))?;
            by_state.push((state, n));
        }
        by_state.sort_by_key(|(s, _)| dingdian_core::lifecycle::ALL_STATES.iter().position(|x| x == s));
        // Every district of the scope, whatever the other filters: a loose index scan (one seek
        // per district), as neither backend skips through an index for `distinct` on its own
        // reliably.
        let w = Self::queue_where(actor, &QueueFilter::default())?;
        let sql = format!(
            "with recursive d(district) as (
                select (select a.district from applications a where {w} order by a.district limit 1)
                union all
                select (select a.district from applications a where {w} and a.district > d.district order by a.district limit 1)
                from d where d.district is not null)
             select district from d where district is not null",
            w = w.sql
        );
        let districts: Vec<String> = with_pool!(self, p => {
            bind_args!(sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(sql.as_str())), &w.args).fetch_all(p).await?
        });
        Ok(QueueCounts { by_state, districts, finished_counted: finished })
    }

    /// (district, state, count) of the actor's scope with every filter but state and district.
    async fn district_state_counts(&self, actor: &Actor, f: &QueueFilter) -> Result<Vec<(String, State, i64)>> {
        let w = Self::queue_where(actor, f)?;
        let sql = format!("select a.district, a.state, count(*) from applications a where {} group by a.district, a.state", w.sql);
        let rows: Vec<(String, String, i64)> = with_pool!(self, p => {
            bind_args!(sqlx::query_as::<_, (String, String, i64)>(sqlx::AssertSqlSafe(sql.as_str())), &w.args).fetch_all(p).await?
        });
        rows.into_iter().map(|(d, s, n)| Ok((d, State::parse(&s).ok_or_else(|| StoreError::Corrupt(format!("state {s}")))?, n))).collect()
    }

    /// Every row of the queue (no paging, at most `max`), in queue order, for an export.
    pub async fn queue_rows(&self, actor: &Actor, f: &QueueFilter, max: i64) -> Result<Vec<QueueRow>> {
        let w = Self::queue_where_full(actor, f)?;
        let sql = format!(
            "select a.id, a.number, i.name as institution_name, i.uscc, a.kind, a.city, a.district, a.profile_id, a.profile_version,
                a.state, r.name as round_name, a.data, a.due_on, a.due_action, a.sort_due_on, a.updated_at
             from applications a join institutions i on i.id = a.institution_id left join rounds r on r.id = a.round_id
             where {} order by {QUEUE_ORDER} limit ${}",
            w.sql,
            w.args.len() + 1
        );
        let rows: Vec<LightRow> = with_pool!(self, p => {
            bind_args!(sqlx::query_as::<_, LightRow>(sqlx::AssertSqlSafe(sql.as_str())), &w.args).bind(max.max(0)).fetch_all(p).await?
        });
        rows.into_iter()
            .map(|r| {
                let corrupt = |what: &str| StoreError::Corrupt(format!("application {}: {what}", r.id));
                let submitted: Submitted = serde_json::from_str(&r.data).map_err(|_| corrupt("data"))?;
                Ok(QueueRow {
                    id: r.id,
                    number: r.number.clone().unwrap_or_default(),
                    state: State::parse(&r.state).ok_or_else(|| corrupt("state"))?,
                    due_on: parse_date(r.due_on.as_deref()).map_err(|_| corrupt("due_on"))?,
                    due_action: parse_expiry(r.due_action.as_deref()).map_err(|_| corrupt("due_action"))?,
                    sort_due_on: parse_date(r.sort_due_on.as_deref()).map_err(|_| corrupt("sort_due_on"))?,
                    submitted_on: submitted.submitted_on,
                    institution_name: r.institution_name,
                    uscc: r.uscc,
                    kind: r.kind,
                    city: r.city,
                    district: r.district,
                    profile_id: r.profile_id,
                    profile_version: r.profile_version,
                    round_name: r.round_name,
                    updated_at: r.updated_at,
                })
            })
            .collect()
    }

    /// The clocks of several applications as of `today` (one query for all their histories),
    /// e.g. the agency's own time limits for the rows of a queue page.
    pub async fn clocks_of(&self, apps: &[AppRecord], today: Date) -> Result<HashMap<i64, Vec<ClockView>>> {
        if apps.is_empty() {
            return Ok(HashMap::new());
        }
        let marks: Vec<String> = (1..=apps.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "select application_id, from_state, to_state, occurred_on from events
             where application_id in ({}) and from_state <> to_state order by application_id, seq",
            marks.join(", ")
        );
        let rows: Vec<(i64, String, String, String)> = with_pool!(self, p => {
            let mut q = sqlx::query_as::<_, (i64, String, String, String)>(sqlx::AssertSqlSafe(sql.as_str()));
            for a in apps {
                q = q.bind(a.id);
            }
            q.fetch_all(p).await?
        });
        let histories = histories(rows)?;
        let calendar = self.calendar();
        let mut out = HashMap::new();
        for app in apps {
            let profile = self.profile_for(app)?;
            let history = histories.get(&app.id).map(Vec::as_slice).unwrap_or_default();
            out.insert(app.id, clocks::application_clocks(&profile, history, &app.data, &calendar, today));
        }
        Ok(out)
    }

    /// Every (profile id, version) registered for the actor's city (all of them for `system`).
    pub async fn profile_versions(&self, actor: &Actor) -> Result<Vec<(String, String)>> {
        let rows: Vec<(String, String)> = with_pool!(self, p => {
            sqlx::query_as("select profile_id, version from profiles order by profile_id, created_at").fetch_all(p).await?
        });
        Ok(rows.into_iter().filter(|(id, _)| actor.role == Role::System || *id == actor.city).collect())
    }

    /// The statistics of the actor's scope under the filter (its state filter ignored).
    pub async fn stats(&self, actor: &Actor, f: &QueueFilter, today: Date) -> Result<Stats> {
        let mut stats = Stats::default();
        let mut by_state: BTreeMap<usize, (State, i64)> = BTreeMap::new();
        let mut by_district: BTreeMap<String, i64> = BTreeMap::new();
        let district = f.district.as_deref().map(str::trim).filter(|d| !d.is_empty());
        for (d, state, n) in self.district_state_counts(actor, f).await? {
            if district.is_some_and(|want| want != d) {
                continue;
            }
            let pos = dingdian_core::lifecycle::ALL_STATES.iter().position(|s| *s == state).unwrap_or(usize::MAX);
            by_state.entry(pos).or_insert((state, 0)).1 += n;
            *by_district.entry(d).or_default() += n;
        }
        stats.by_state = by_state.into_values().collect();
        stats.by_district = by_district.into_iter().collect();

        let mut w = Self::queue_where(actor, f)?;
        if let Some(d) = district {
            w.eq("a.district", Arg::Text(d.to_owned()));
        }
        // Each application's state changes, in order, with the profile version it runs under.
        let events_sql = format!(
            "select a.id, a.profile_id, a.profile_version, e.from_state, e.to_state, e.occurred_on
             from applications a join events e on e.application_id = a.id
             where {} and e.from_state <> e.to_state order by a.id, e.seq",
            w.sql
        );
        let transitions: Vec<TransitionRow> = with_pool!(self, p => {
            bind_args!(sqlx::query_as::<_, TransitionRow>(sqlx::AssertSqlSafe(events_sql.as_str())), &w.args).fetch_all(p).await?
        });
        let results_sql = format!(
            "select e.payload from events e join applications a on a.id = e.application_id
             where {} and e.kind in ('result_decided', 'expert_review_recorded')",
            w.sql
        );
        let payloads: Vec<(String,)> = with_pool!(self, p => {
            bind_args!(sqlx::query_as::<_, (String,)>(sqlx::AssertSqlSafe(results_sql.as_str())), &w.args).fetch_all(p).await?
        });
        for (payload,) in payloads {
            match serde_json::from_str::<Event>(&payload) {
                Ok(Event::ResultDecided { outcome, attempt, .. }) => {
                    let pass = outcome == Outcome::Pass;
                    *if pass { &mut stats.results.passed } else { &mut stats.results.failed } += 1;
                    if attempt <= 1 {
                        *if pass { &mut stats.results.first_passed } else { &mut stats.results.first_failed } += 1;
                    }
                }
                Ok(Event::ExpertReviewRecorded { recommendation, .. }) => {
                    *if recommendation == Outcome::Pass { &mut stats.results.expert_pass } else { &mut stats.results.expert_fail } += 1;
                }
                Ok(_) => {}
                Err(e) => return Err(StoreError::Corrupt(format!("event payload: {e}"))),
            }
        }

        // Time per clock: each application's history through its own profile version's clocks.
        // Tens of thousands of histories are CPU work: done off the async workers.
        let mut profiles: HashMap<(String, String), Arc<Profile>> = HashMap::new();
        for (_, pid, version, ..) in &transitions {
            if !profiles.keys().any(|(p, v)| p == pid && v == version)
                && let Some(p) = self.profile_version(pid, version).or_else(|| self.current_profile(pid))
            {
                profiles.insert((pid.clone(), version.clone()), p);
            }
        }
        let calendar = self.calendar();
        let acc = tokio::task::spawn_blocking(move || -> Result<BTreeMap<(String, usize), StepAcc>> {
            let mut acc: BTreeMap<(String, usize), StepAcc> = BTreeMap::new();
            let mut add = |profile: &Profile, history: &[Transition]| {
                for view in clocks::clocks(profile, history, &calendar, today) {
                    let Some(pos) = profile.clocks.iter().position(|c| c.id == view.id) else { continue };
                    let a = acc.entry((profile.id.clone(), pos)).or_default();
                    if a.def.is_none() {
                        let def = &profile.clocks[pos];
                        a.def = Some((
                            profile.name.clone(),
                            def.id.clone(),
                            def.rule.clone(),
                            def.name.clone(),
                            def.budget,
                            def.runs_in.clone(),
                        ));
                    }
                    a.add(&view);
                }
            };
            let mut current: Option<(i64, Option<&Arc<Profile>>)> = None;
            let mut history = Vec::new();
            for (id, pid, version, from, to, on) in &transitions {
                if current.is_none_or(|(c, _)| c != *id) {
                    if let Some((_, Some(profile))) = current {
                        add(profile, &history);
                    }
                    history.clear();
                    current = Some((*id, profiles.get(&(pid.clone(), version.clone()))));
                }
                let corrupt = || StoreError::Corrupt(format!("event of application {id}"));
                history.push(Transition {
                    from: State::parse(from).ok_or_else(corrupt)?,
                    to: State::parse(to).ok_or_else(corrupt)?,
                    on: on.parse().map_err(|_| corrupt())?,
                });
            }
            if let Some((_, Some(profile))) = current {
                add(profile, &history);
            }
            Ok(acc)
        })
        .await
        .map_err(|e| StoreError::Internal(format!("statistics task: {e}")))??;
        stats.steps = acc
            .into_iter()
            .filter_map(|((pid, _), a)| {
                let (profile_name, clock_id, rule, name, budget, states) = a.def?;
                Some(StepStat {
                    profile_id: pid,
                    profile_name,
                    clock_id,
                    rule,
                    name,
                    budget,
                    states,
                    finished: a.used.len(),
                    on_time: a.on_time,
                    late: a.late,
                    expired: a.expired,
                    median_used_days: median(a.used),
                    median_allowed_days: median(a.allowed),
                    running: a.running,
                    overdue: a.overdue,
                })
            })
            .collect();
        Ok(stats)
    }
}

/// (application, profile id, profile version, from, to, on) of one state change.
type TransitionRow = (i64, String, String, String, String, String);

type ClockDefSummary = (String, String, String, String, Budget, Vec<State>);

#[derive(Default)]
struct StepAcc {
    def: Option<ClockDefSummary>,
    used: Vec<f64>,
    allowed: Vec<f64>,
    on_time: usize,
    late: usize,
    expired: usize,
    running: usize,
    overdue: usize,
}

impl StepAcc {
    fn add(&mut self, v: &ClockView) {
        let paused: i64 = v.pauses.iter().map(|p| days(p.from, p.to).max(0)).sum();
        match v.ended_on {
            Some(end) => {
                self.used.push((days(v.started_on, end) - paused).max(0) as f64);
                if let Some(due) = v.due.due {
                    self.allowed.push((days(v.started_on, due) - paused).max(0) as f64);
                }
                match v.status {
                    ClockStatus::MetLate => self.late += 1,
                    ClockStatus::Expired => self.expired += 1,
                    _ => self.on_time += 1,
                }
            }
            None => {
                self.running += 1;
                if v.status == ClockStatus::Overdue {
                    self.overdue += 1;
                }
            }
        }
    }
}

/// Groups (application, from, to, on) rows, ordered by application, into clock histories.
fn histories(rows: Vec<(i64, String, String, String)>) -> Result<HashMap<i64, Vec<Transition>>> {
    let mut out: HashMap<i64, Vec<Transition>> = HashMap::new();
    for (id, from, to, on) in rows {
        let corrupt = || StoreError::Corrupt(format!("event of application {id}"));
        let t = Transition {
            from: State::parse(&from).ok_or_else(corrupt)?,
            to: State::parse(&to).ok_or_else(corrupt)?,
            on: on.parse().map_err(|_| corrupt())?,
        };
        out.entry(id).or_default().push(t);
    }
    Ok(out)
}
