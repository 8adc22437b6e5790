//! Applications: the event store and its projection. A command is decided by the core against
//! the state read from the projection, then the projection update (guarded by the version) and
//! the new events are written in one transaction. A concurrent writer makes the guard fail and
//! the command gets a conflict, never a lost update.

use std::sync::Arc;

use dingdian_core::calendar::Calendar;
use dingdian_core::china_date;
use dingdian_core::clocks::{self, ClockView, StateChanges, Transition};
use dingdian_core::eligibility::Record;
use dingdian_core::lifecycle::{
    self, ActiveBan, Actor, AppState, ChecklistItem, Command, Ctx, Decision, Event, FileRef, InstitutionFacts, Needs, PriorApplication,
    Refusal, Role, Scope, State,
};
use dingdian_core::policy::{Expiry, InstitutionKind, Profile};
use dingdian_core::visibility::{self, Listing};
use jiff::Timestamp;
use jiff::civil::Date;
use serde::Serialize;

use crate::{Result, Store, StoreError, with_pool};

/// An application's projection row.
#[derive(Debug, Clone, Serialize)]
pub struct AppRecord {
    pub id: i64,
    pub number: String,
    pub institution_id: i64,
    pub institution_name: String,
    pub city: String,
    pub district: String,
    pub kind: String,
    pub profile_id: String,
    pub profile_version: String,
    pub state: State,
    pub version: i64,
    pub round_id: Option<i64>,
    pub data: AppState,
    /// The last day of the earliest pending automatic consequence.
    pub due_on: Option<Date>,
    pub due_action: Option<Expiry>,
    pub created_at: String,
    pub updated_at: String,
}

impl AppRecord {
    pub fn institution_kind(&self) -> InstitutionKind {
        if self.kind == "pharmacy" { InstitutionKind::Pharmacy } else { InstitutionKind::Medical }
    }
}

/// What a page may offer an actor on one application (decided by the core).
#[derive(Debug, Clone, Default)]
pub struct Available {
    /// The commands whose forms the page shows (allowed as they are, or with suitable input).
    pub names: Vec<&'static str>,
    /// The commands allowed right now without input (the page's plain buttons).
    pub now: Vec<&'static str>,
    /// The rounds the application may join (URC-EVAL-1).
    pub open_rounds: Vec<i64>,
    /// The pre-signing checklist items the actor may verify now (HRB-PRE-2).
    pub verifiable: Vec<ChecklistItem>,
    /// The material slots the actor may upload into now.
    pub uploadable: Vec<String>,
}

impl Available {
    pub fn can(&self, name: &str) -> bool {
        self.names.contains(&name)
    }
}

/// The facts a decision reads, loaded (see `Store::load_context`).
pub(crate) struct Loaded {
    pub(crate) profile: Arc<Profile>,
    pub(crate) calendar: Arc<Calendar>,
    bans: Vec<ActiveBan>,
    history: Vec<Record>,
    institution: InstitutionFacts,
    kind: InstitutionKind,
    open_rounds: Vec<i64>,
    prior: Vec<PriorApplication>,
    /// URC-REV-1: the district's planning figures.
    planning: Option<dingdian_core::planning::Assessment>,
    pub(crate) uscc: String,
}

impl Loaded {
    pub(crate) fn ctx(&self, today: Date) -> Ctx<'_> {
        Ctx {
            profile: &self.profile,
            calendar: &self.calendar,
            today,
            bans: &self.bans,
            kind: self.kind,
            history: &self.history,
            institution: Some(&self.institution),
            open_rounds: &self.open_rounds,
            prior: &self.prior,
            planning: self.planning.as_ref(),
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct AppRow {
    id: i64,
    number: Option<String>,
    institution_id: i64,
    institution_name: String,
    city: String,
    district: String,
    kind: String,
    profile_id: String,
    profile_version: String,
    state: String,
    version: i64,
    round_id: Option<i64>,
    data: String,
    due_on: Option<String>,
    due_action: Option<String>,
    created_at: String,
    updated_at: String,
}

pub(crate) const APP_SELECT: &str = "select a.id, a.number, a.institution_id, i.name as institution_name, a.city, a.district, a.kind,
    a.profile_id, a.profile_version, a.state, a.version, a.round_id, a.data, a.due_on, a.due_action, a.created_at, a.updated_at
    from applications a join institutions i on i.id = a.institution_id";

impl TryFrom<AppRow> for AppRecord {
    type Error = StoreError;
    fn try_from(r: AppRow) -> Result<AppRecord> {
        let corrupt = |what: &str| StoreError::Corrupt(format!("application {}: {what}", r.id));
        Ok(AppRecord {
            id: r.id,
            number: r.number.clone().unwrap_or_default(),
            institution_id: r.institution_id,
            institution_name: r.institution_name.clone(),
            state: State::parse(&r.state).ok_or_else(|| corrupt("state"))?,
            data: serde_json::from_str(&r.data).map_err(|_| corrupt("data"))?,
            due_on: r.due_on.as_deref().map(str::parse).transpose().map_err(|_| corrupt("due_on"))?,
            due_action: r.due_action.as_deref().map(|a| serde_json::from_value(a.into())).transpose().map_err(|_| corrupt("due_action"))?,
            city: r.city,
            district: r.district,
            kind: r.kind,
            profile_id: r.profile_id,
            profile_version: r.profile_version,
            version: r.version,
            round_id: r.round_id,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

/// One stored event.
#[derive(Debug, Clone, Serialize)]
pub struct EventRecord {
    pub seq: i64,
    pub kind: String,
    /// What happened, in Chinese.
    pub label: String,
    pub event: Event,
    pub from_state: State,
    pub to_state: State,
    pub actor_user_id: i64,
    pub actor_role: String,
    pub occurred_at: String,
    pub occurred_on: Date,
}

#[derive(sqlx::FromRow)]
struct EventRow {
    seq: i64,
    kind: String,
    payload: String,
    from_state: String,
    to_state: String,
    actor_user_id: i64,
    actor_role: String,
    occurred_at: String,
    occurred_on: String,
}

impl TryFrom<EventRow> for EventRecord {
    type Error = StoreError;
    fn try_from(r: EventRow) -> Result<EventRecord> {
        let corrupt = || StoreError::Corrupt(format!("event {} ({})", r.seq, r.kind));
        let event: Event = serde_json::from_str(&r.payload).map_err(|_| corrupt())?;
        Ok(EventRecord {
            seq: r.seq,
            label: event.zh().to_owned(),
            event,
            from_state: State::parse(&r.from_state).ok_or_else(corrupt)?,
            to_state: State::parse(&r.to_state).ok_or_else(corrupt)?,
            occurred_on: r.occurred_on.parse().map_err(|_| corrupt())?,
            kind: r.kind,
            actor_user_id: r.actor_user_id,
            actor_role: r.actor_role,
            occurred_at: r.occurred_at,
        })
    }
}

/// The result of a command that was carried out.
#[derive(Debug, Clone, Serialize)]
pub struct Executed {
    pub application: AppRecord,
    pub events: Vec<EventRecord>,
}

/// An evaluation round (当期, URC-EVAL-1).
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct RoundRecord {
    pub id: i64,
    pub city: String,
    pub name: String,
    pub status: String,
    pub created_at: String,
    /// URC-RES-1: when the round's passed list was filed with the administration.
    #[sqlx(default)]
    pub filed_at: Option<String>,
    /// URC-RES-1: when the administration acknowledged the filing.
    #[sqlx(default)]
    pub filing_acknowledged_at: Option<String>,
}

/// What one pass over due time limits did.
#[derive(Debug, Default, Clone, Serialize)]
pub struct TickReport {
    /// Applications moved by a time-driven command.
    pub fired: Vec<(i64, &'static str)>,
    /// Due consequences that could not fire yet (e.g. a notice with an open complaint).
    pub held: Vec<(i64, String)>,
    /// Rounds whose grouping (stage 2 of the draw, URC-EVAL-1) this pass drew.
    pub grouped: Vec<i64>,
    /// Rounds whose due grouping could not be drawn, and why (left for the next pass).
    pub grouping_held: Vec<(i64, String)>,
}

/// How long a claimed timer stays with its worker before another may take it.
pub const TIMER_LEASE_SECS: i64 = 60;

/// How many due timers a sweep claims and fires in one transaction.
pub const TIMER_BATCH: i64 = 200;

/// A name for this worker in lease rows: host-independent, unique per process.
fn worker_id() -> String {
    format!("pid-{}", std::process::id())
}

/// A decided command, ready to be written.
struct Prepared<'a> {
    /// A public complaint's details, written beside its event.
    complaint: Option<&'a crate::complaints::NewComplaint>,
    app: AppRecord,
    actor: Actor,
    expected: i64,
    decision: Decision,
    state: AppState,
    profile_version: String,
    due: Option<(Date, Expiry)>,
    /// What the institution is told: (subject, body) per event that calls for it.
    notes: Vec<(String, String)>,
    /// The nearest deadline of either kind (automatic or the agency's own), for the workbench.
    sort_due: Option<Date>,
    uscc: String,
    /// The state changes the clocks read, the command's own included (stored beside `state`).
    changes: StateChanges,
}

/// The key under which an application's `data` column keeps its state changes (G-CLOCKS) beside
/// the projection's own fields; `AppState` does not read it.
const STATE_CHANGES_KEY: &str = "state_changes";

/// The `data` column of a projection: the state's JSON object with its state changes added.
fn stored_data(state: &AppState, changes: &StateChanges) -> Result<String> {
    let internal = |e: serde_json::Error| StoreError::Internal(e.to_string());
    let mut data = serde_json::to_string(state).map_err(internal)?;
    // `AppState` is a struct with fields: its JSON is a non-empty object, `{…}`.
    if data.ends_with('}') && data.len() > 2 {
        data.pop();
        data.push_str(",\"");
        data.push_str(STATE_CHANGES_KEY);
        data.push_str("\":");
        data.push_str(&serde_json::to_string(changes).map_err(internal)?);
        data.push('}');
    }
    Ok(data)
}

/// The state changes stored in a `data` column, if any (rows written before they were kept have none).
fn stored_changes(data: &str) -> Option<StateChanges> {
    #[derive(serde::Deserialize)]
    struct Stored {
        state_changes: Option<StateChanges>,
    }
    serde_json::from_str::<Stored>(data).ok().and_then(|s| s.state_changes)
}

/// Which outcome of a command the monitoring counts: `ok`, the refusal's code, or `error`.
fn outcome(result: &std::result::Result<(), &StoreError>) -> &'static str {
    match result {
        Ok(()) => "ok",
        Err(StoreError::Refused(r)) => r.code(),
        Err(StoreError::Conflict { .. }) => "conflict",
        Err(StoreError::NotFound) => "not_found",
        Err(_) => "error",
    }
}

/// The command a due action fires.
fn timer_command(id: i64, action: &str) -> Result<Command> {
    match serde_json::from_value::<Expiry>(action.into()) {
        Ok(Expiry::DeemWithdrawn) => Ok(Command::DeemWithdrawn),
        Ok(Expiry::EndNotice) => Ok(Command::EndNotice),
        Ok(Expiry::DeemGivenUp) => Ok(Command::DeemGivenUp),
        Ok(Expiry::Annex2Withdrawn) => Ok(Command::DeemAnnex2Withdrawn),
        Ok(Expiry::DeemAccepted) => Ok(Command::DeemAccepted),
        Err(_) => Err(StoreError::Corrupt(format!("application {id}: due_action {action}"))),
    }
}

/// `$1, $2, …, $n`.
fn placeholders(n: usize) -> String {
    (1..=n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

/// The guarded projection update of a prepared command inside transaction `$tx`, first of its
/// writes (so the transaction takes the write lock before anything else). Evaluates to whether
/// the application was still at the version the command was decided on.
macro_rules! update_projection {
    ($tx:ident, $pr:expr, $ts:expr) => {{
        let pr: &Prepared<'_> = $pr;
        let n = pr.decision.events.len() as i64;
        let data = stored_data(&pr.state, &pr.changes)?;
        let due_action = pr.due.map(|(_, e)| serde_json::to_value(e).ok().and_then(|v| v.as_str().map(str::to_owned))).flatten();
        let round_id = pr.state.round_id;
        let updated = sqlx::query(
            "update applications set state = $1, version = version + $2, data = $3, profile_version = $4, due_on = $5,
             due_action = $6, round_id = $7, updated_at = $8, timer_owner = null, timer_lease_until = null, sort_due_on = $11
             where id = $9 and version = $10",
        )
        .bind(pr.decision.to.as_str())
        .bind(n)
        .bind(&data)
        .bind(&pr.profile_version)
        .bind(pr.due.map(|(d, _)| d.to_string()))
        .bind(due_action)
        .bind(round_id)
        .bind($ts)
        .bind(pr.app.id)
        .bind(pr.expected)
        .bind(pr.sort_due.map(|d| d.to_string()))
        .execute(&mut *$tx)
        .await?;
        updated.rows_affected() == 1
    }};
}

/// Writes a prepared command's events inside transaction `$tx`, after its projection update:
/// each event chained (G-AUDIT) after `$audit_seq`/`$prev` (the head of its city's chain,
/// locked by the caller, advanced here in the caller's variables), with the complaints, bans,
/// inbox entries and outbox e-mails it calls for. `$recipients` are the institution's users
/// (id, e-mail), read when the command notifies anyone.
macro_rules! write_events {
    ($tx:ident, $pr:expr, $now:expr, $ts:expr, $on:expr, $chain:expr, $audit_seq:ident, $prev:ident, $recipients:expr) => {{
        let pr: &Prepared<'_> = $pr;
        let ts: &str = $ts;
        let chain: &str = $chain;
        for (i, e) in pr.decision.events.iter().enumerate() {
            let value = serde_json::to_value(e).map_err(|e| StoreError::Internal(e.to_string()))?;
            let payload = value.to_string();
            // The state changes once per command: with the first of its events.
            let from = if i == 0 { pr.app.state.as_str() } else { pr.decision.to.as_str() };
            $audit_seq += 1;
            let entry = dingdian_core::audit::Entry {
                chain,
                seq: $audit_seq,
                application_id: pr.app.id,
                app_seq: pr.expected + 1 + i as i64,
                kind: e.kind(),
                payload: &value,
                from_state: from,
                to_state: pr.decision.to.as_str(),
                actor_user_id: pr.actor.user_id,
                actor_role: pr.actor.role.as_str(),
                occurred_at: ts,
            };
            // `ALG` is our own constant; `hash` fails only for an algorithm id it does not know.
            let hash = dingdian_core::audit::hash(&entry, &$prev, dingdian_core::audit::ALG).expect("known algorithm");
            sqlx::query(
                "insert into events (application_id, seq, kind, payload, from_state, to_state, actor_user_id, actor_role,
                 occurred_at, occurred_on, created_at, audit_seq, prev_hash, hash, alg, chain)
                 values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $9, $11, $12, $13, $14, $15)",
            )
            .bind(pr.app.id)
            .bind(pr.expected + 1 + i as i64)
            .bind(e.kind())
            .bind(payload)
            .bind(from)
            .bind(pr.decision.to.as_str())
            .bind(pr.actor.user_id)
            .bind(pr.actor.role.as_str())
            .bind(ts)
            .bind($on)
            .bind($audit_seq)
            .bind(&$prev)
            .bind(&hash)
            .bind(dingdian_core::audit::ALG)
            .bind(chain)
            .execute(&mut *$tx)
            .await?;
            $prev = hash;
            if let (Event::ComplaintRecorded { number, .. }, Some(c)) = (e, pr.complaint) {
                sqlx::query(
                    "insert into complaints (receipt, application_id, number, name, contact, content, status, created_at, attachments)
                     values ($1, $2, $3, $4, $5, $6, 'open', $7, $8)",
                )
                .bind(&c.receipt)
                .bind(pr.app.id)
                .bind(i64::from(*number))
                .bind(&c.name)
                .bind(&c.contact)
                .bind(&c.content)
                .bind(ts)
                .bind(serde_json::to_string(&c.attachments).map_err(|e| StoreError::Internal(e.to_string()))?)
                .execute(&mut *$tx)
                .await?;
            }
            if let Event::ComplaintResolved { number, founded, finding } = e {
                sqlx::query("update complaints set status = $1, finding = $2, resolved_at = $3 where application_id = $4 and number = $5")
                    .bind(if *founded { "founded" } else { "unfounded" })
                    .bind(finding)
                    .bind(ts)
                    .bind(pr.app.id)
                    .bind(i64::from(*number))
                    .execute(&mut *$tx)
                    .await?;
            }
            if let Event::BanImposed { rule, until, reason } = e {
                sqlx::query("insert into bans (uscc, rule, until_on, reason, application_id, created_at) values ($1, $2, $3, $4, $5, $6)")
                    .bind(&pr.uscc)
                    .bind(rule)
                    .bind(until.to_string())
                    .bind(reason)
                    .bind(pr.app.id)
                    .bind(ts)
                    .execute(&mut *$tx)
                    .await?;
            }
        }
        // Notifications: the in-app inbox in this same transaction; e-mail through the outbox.
        let recipients: &[(i64, Option<String>)] = $recipients;
        for (n, (subject, body)) in pr.notes.iter().enumerate() {
            for (user_id, email) in recipients {
                sqlx::query("insert into inbox (user_id, application_id, subject, body, created_at) values ($1, $2, $3, $4, $5)")
                    .bind(user_id)
                    .bind(pr.app.id)
                    .bind(subject)
                    .bind(body)
                    .bind(ts)
                    .execute(&mut *$tx)
                    .await?;
                if let Some(email) = email.as_ref().filter(|e| !e.is_empty()) {
                    sqlx::query(
                        "insert into outbox (idempotency_key, user_id, city, recipient, subject, body, status, attempts, next_attempt_at, created_at)
                         values ($1, $2, $3, $4, $5, $6, 'pending', 0, $7, $8)",
                    )
                    .bind(format!("app{}-v{}-n{n}-u{user_id}", pr.app.id, pr.expected))
                    .bind(user_id)
                    .bind(&pr.app.city)
                    .bind(email)
                    .bind(subject)
                    .bind(body)
                    .bind($now.as_second())
                    .bind(ts)
                    .execute(&mut *$tx)
                    .await?;
                }
            }
        }
    }};
}

/// The users an institution's notifications go to: (id, e-mail), read inside `$tx`.
macro_rules! recipients {
    ($tx:ident, $institution_id:expr) => {
        sqlx::query_as::<_, (i64, Option<String>)>("select id, email from users where institution_id = $1 order by id")
            .bind($institution_id)
            .fetch_all(&mut *$tx)
            .await?
    };
}

/// Writes a prepared command inside transaction `$tx`: the guarded projection update first (so
/// the transaction takes the write lock before anything else), then the events and bans.
/// Evaluates to the version before the command.
macro_rules! write_prepared {
    ($tx:ident, $pr:expr, $now:expr, $pg:expr) => {{
        let pr: &Prepared<'_> = $pr;
        let ts = $now.to_string();
        let on = china_date($now).to_string();
        if !update_projection!($tx, pr, &ts) {
            let (actual,): (i64,) =
                sqlx::query_as("select version from applications where id = $1").bind(pr.app.id).fetch_one(&mut *$tx).await?;
            return Err(StoreError::Conflict { actual });
        }
        // G-AUDIT: take the head of the city's chain (locked until commit), chain each event to it.
        let chain = dingdian_core::audit::chain_of(Some(&pr.app.city));
        let (mut audit_seq, mut prev) = crate::audit_store::lock_chain!($tx, $pg, chain, &ts);
        let recipients = if pr.notes.is_empty() { Vec::new() } else { recipients!($tx, pr.app.institution_id) };
        write_events!($tx, pr, $now, &ts, &on, chain, audit_seq, prev, &recipients);
        crate::audit_store::advance_chain!($tx, chain, audit_seq, &prev, &ts);
        pr.expected
    }};
}

/// One event's transition as stored (states and day).
fn transition(id: i64, from: &str, to: &str, on: &str) -> Result<Transition> {
    let corrupt = || StoreError::Corrupt(format!("application {id}: event states {from} -> {to} on {on}"));
    Ok(Transition {
        from: State::parse(from).ok_or_else(corrupt)?,
        to: State::parse(to).ok_or_else(corrupt)?,
        on: on.parse().map_err(|_| corrupt())?,
    })
}

/// Decides `cmd` on `app` (read, authorized and at the expected version) with what `loaded`
/// holds, and works out what the command writes: the new state, its state changes and timers
/// (G-CLOCKS), and the notifications.
fn decided(
    app: AppRecord,
    loaded: &Loaded,
    scope: &Scope,
    actor: &Actor,
    cmd: &Command,
    today: Date,
    mut changes: StateChanges,
) -> Result<Prepared<'static>> {
    let decision = lifecycle::decide(&loaded.ctx(today), scope, &app.data, actor, cmd)?;
    cmd.check_text()?;
    let mut state = app.data.clone();
    let mut from = app.state;
    for e in &decision.events {
        state.apply(e, decision.to, today);
        changes.push(Transition { from, to: decision.to, on: today });
        from = decision.to;
    }
    changes.upto = app.version + decision.events.len() as i64;
    let timers = clocks::timers(&loaded.profile, &changes.changes, &loaded.calendar, today, &state);
    let notes = decision.events.iter().filter_map(|e| lifecycle::notification(e, &app.number, &loaded.profile)).collect();
    Ok(Prepared {
        complaint: None,
        notes,
        sort_due: timers.sort_due,
        due: timers.due,
        profile_version: loaded.profile.version.clone(),
        expected: app.version,
        app,
        actor: actor.clone(),
        decision,
        state,
        uscc: loaded.uscc.clone(),
        changes,
    })
}

impl Store {
    /// Starts a draft application for the actor's institution under the city's current profile.
    pub async fn create_application(&self, actor: &Actor, now: Timestamp) -> Result<AppRecord> {
        let institution_id = actor.institution_id.ok_or(Refusal::NotYourRole { required: Role::Institution })?;
        let inst = self.institution(institution_id).await?.ok_or(StoreError::NotFound)?;
        let profile = self.current_profile(&inst.city).ok_or_else(|| StoreError::Internal(format!("no profile for {}", inst.city)))?;
        let kind = if inst.kind == "pharmacy" { InstitutionKind::Pharmacy } else { InstitutionKind::Medical };
        let ended: Vec<&str> = lifecycle::ALL_STATES.iter().filter(|s| s.is_terminal()).map(|s| s.as_str()).collect();
        let placeholders: Vec<String> = (2..ended.len() + 2).map(|i| format!("${i}")).collect();
        let sql = format!("select count(*) from applications where institution_id = $1 and state not in ({})", placeholders.join(", "));
        let open: (i64,) = with_pool!(self, p => {
            let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(institution_id);
            for s in &ended {
                q = q.bind(*s);
            }
            q.fetch_one(p).await?
        });
        lifecycle::may_open_application(&profile, kind, actor, usize::try_from(open.0).unwrap_or(usize::MAX))?;
        let data = serde_json::to_string(&AppState::default()).map_err(|e| StoreError::Internal(e.to_string()))?;
        let year = china_date(now).year();
        let ts = now.to_string();
        let id = with_pool!(self, p => {
            let mut tx = p.begin().await?;
            let (id,): (i64,) = sqlx::query_as(
                "insert into applications (institution_id, city, district, kind, profile_id, profile_version, state, version, data, created_at, updated_at)
                 values ($1, $2, $3, $4, $5, $6, 'draft', 0, $7, $8, $8) returning id",
            )
            .bind(institution_id)
            .bind(&inst.city)
            .bind(&inst.district)
            .bind(&inst.kind)
            .bind(&profile.id)
            .bind(&profile.version)
            .bind(&data)
            .bind(&ts)
            .fetch_one(&mut *tx)
            .await?;
            sqlx::query("update applications set number = $1, query_code = $2 where id = $3")
                .bind(format!("{}-{year}-{id:06}", profile.division))
                .bind(crate::public::new_query_code())
                .bind(id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            id
        });
        self.application(id).await?.ok_or(StoreError::NotFound)
    }

    pub async fn application(&self, id: i64) -> Result<Option<AppRecord>> {
        let sql = format!("{APP_SELECT} where a.id = $1");
        let row = with_pool!(self, p => sqlx::query_as::<_, AppRow>(sqlx::AssertSqlSafe(sql.as_str())).bind(id).fetch_optional(p).await?);
        row.map(AppRecord::try_from).transpose()
    }

    /// The application `id` with the state changes stored beside it (if they are there).
    async fn application_with_changes(&self, id: i64) -> Result<Option<(AppRecord, Option<StateChanges>)>> {
        let sql = format!("{APP_SELECT} where a.id = $1");
        let row = with_pool!(self, p => sqlx::query_as::<_, AppRow>(sqlx::AssertSqlSafe(sql.as_str())).bind(id).fetch_optional(p).await?);
        row.map(|r| {
            let changes = stored_changes(&r.data);
            AppRecord::try_from(r).map(|a| (a, changes))
        })
        .transpose()
    }

    /// The state changes of application `id` at `version`: the stored ones when they are up to
    /// date (`upto` = the version), else rebuilt from the events' states and days (rows written
    /// before they were kept, or seeded by hand), without decoding the events.
    async fn state_changes(&self, id: i64, version: i64, stored: Option<StateChanges>) -> Result<StateChanges> {
        if let Some(s) = stored.filter(|s| s.upto == version) {
            return Ok(s);
        }
        Ok(StateChanges::of(version, self.transitions(id).await?))
    }

    /// Every event's transition of application `id`, in order (states and days only).
    async fn transitions(&self, id: i64) -> Result<Vec<Transition>> {
        let rows: Vec<(String, String, String)> = with_pool!(self, p => {
            sqlx::query_as("select from_state, to_state, occurred_on from events where application_id = $1 order by seq")
                .bind(id)
                .fetch_all(p)
                .await?
        });
        rows.into_iter().map(|(from, to, on)| transition(id, &from, &to, &on)).collect()
    }

    /// The events of application `id` after its version `after` (indexed: as cheap however long
    /// its history).
    async fn events_after(&self, application_id: i64, after: i64) -> Result<Vec<EventRecord>> {
        let rows = with_pool!(self, p => {
            sqlx::query_as::<_, EventRow>(
                "select seq, kind, payload, from_state, to_state, actor_user_id, actor_role, occurred_at, occurred_on
                 from events where application_id = $1 and seq > $2 order by seq",
            )
            .bind(application_id)
            .bind(after)
            .fetch_all(p)
            .await?
        });
        rows.into_iter().map(EventRecord::try_from).collect()
    }

    /// The applications an actor may see today (G-VISIBILITY, decided by the core), nearest
    /// deadline first, optionally in one state.
    pub async fn applications_for(&self, actor: &Actor, state: Option<State>, limit: i64, today: Date) -> Result<Vec<AppRecord>> {
        let (inst, city, district, drawn_only) = match visibility::listing(actor) {
            Listing::Everything => (None, None, None, false),
            Listing::Institution(id) => (Some(id), None, None, false),
            Listing::City(city) => (None, Some(city), None, false),
            Listing::District { city, district } => (None, Some(city), Some(district), false),
            Listing::Assigned { city } => (None, Some(city), None, true),
        };
        let drawn = if drawn_only { " and a.round_id is not null" } else { "" };
        let sql = format!(
            "{APP_SELECT} where ($1 is null or a.institution_id = $1) and ($2 is null or a.city = $2)
             and ($3 is null or a.district = $3) and ($4 is null or a.state = $4){drawn}
             order by a.due_on is null, a.due_on, a.id desc limit $5"
        );
        let rows = with_pool!(self, p => {
            sqlx::query_as::<_, AppRow>(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(inst)
                .bind(city)
                .bind(district)
                .bind(state.map(State::as_str))
                .bind(limit)
                .fetch_all(p)
                .await?
        });
        let apps = rows.into_iter().map(AppRecord::try_from).collect::<Result<Vec<_>>>()?;
        if !drawn_only {
            return Ok(apps);
        }
        // Each row's grouping decides (URC-EVAL-1): only the evaluator's own, from the reveal on.
        let mut shown = Vec::new();
        for app in apps {
            if lifecycle::can_read(actor, &self.scope(&app).await?, today).is_ok() {
                shown.push(app);
            }
        }
        Ok(shown)
    }

    pub async fn events(&self, application_id: i64) -> Result<Vec<EventRecord>> {
        let rows = with_pool!(self, p => {
            sqlx::query_as::<_, EventRow>(
                "select seq, kind, payload, from_state, to_state, actor_user_id, actor_role, occurred_at, occurred_on
                 from events where application_id = $1 order by seq",
            )
            .bind(application_id)
            .fetch_all(p)
            .await?
        });
        rows.into_iter().map(EventRecord::try_from).collect()
    }

    /// The profile an application is bound to: the version it was submitted under, or for a
    /// draft the city's current one.
    pub fn profile_for(&self, app: &AppRecord) -> Result<Arc<Profile>> {
        let found = if app.state == State::Draft {
            self.current_profile(&app.profile_id)
        } else {
            self.profile_version(&app.profile_id, &app.profile_version)
        };
        found.ok_or_else(|| StoreError::Corrupt(format!("profile {} {} is not loaded", app.profile_id, app.profile_version)))
    }

    /// The clocks of an application as of `today`, the Annex 2 resubmission windows included
    /// (HRB-ANNEX2).
    pub async fn clocks(&self, app: &AppRecord, today: Date) -> Result<Vec<ClockView>> {
        let history = self.transitions(app.id).await?;
        Ok(clocks::application_clocks(&*self.profile_for(app)?, &history, &app.data, &self.calendar(), today))
    }

    /// The bans recorded against an institution (G-BANS); whether one is in force on a day is
    /// the core's to say (`ActiveBan::in_force`).
    pub async fn bans_of(&self, uscc: &str) -> Result<Vec<ActiveBan>> {
        let rows: Vec<(String, String, String)> = with_pool!(self, p => {
            sqlx::query_as("select rule, until_on, reason from bans where uscc = $1 order by until_on desc")
                .bind(uscc)
                .fetch_all(p)
                .await?
        });
        rows.into_iter()
            .map(|(rule, until, reason)| {
                let until = until.parse().map_err(|_| StoreError::Corrupt(format!("ban date {until}")))?;
                Ok(ActiveBan { rule, until, reason })
            })
            .collect()
    }

    /// Decides and records one command. `expected_version` is the version the caller last saw.
    pub async fn execute(&self, id: i64, actor: &Actor, expected_version: i64, cmd: &Command, now: Timestamp) -> Result<Executed> {
        let out = self.execute_with(id, actor, expected_version, cmd, now, None).await?;
        self.after(out, now).await
    }

    /// Counts a command's outcome for monitoring: `ok`, the refusal's code, or `error`.
    fn count(&self, cmd: &Command, result: &Result<Executed>) {
        self.counters.command(cmd.name(), outcome(&result.as_ref().map(|_| ())));
    }

    /// Follow-ups of a committed command that need file storage: entering `ready_to_sign`
    /// issues the agreement document (HRB-SIGN / URC-SIGN).
    pub(crate) async fn after(&self, out: Executed, now: Timestamp) -> Result<Executed> {
        let app = &out.application;
        if app.state != State::ReadyToSign || app.data.agreement.is_some() || app.data.institution_signed {
            return Ok(out);
        }
        let Some(files) = self.files.get() else { return Ok(out) };
        if let Err(e) = self.issue_agreement(files, app.id, now).await {
            // The command stands; the document is issued on the next read of the agreement.
            tracing::error!(application = app.id, error = %e, "issuing the agreement failed");
            return Ok(out);
        }
        let application = self.application(app.id).await?.ok_or(StoreError::NotFound)?;
        let mut events = out.events;
        events.extend(self.events_after(app.id, application.version - 1).await?.into_iter().filter(|e| e.kind == "agreement_issued"));
        Ok(Executed { application, events })
    }

    /// Decides a command against the current version without recording anything: would it be
    /// allowed now?
    pub async fn check(&self, id: i64, actor: &Actor, cmd: &Command, now: Timestamp) -> Result<()> {
        let version = self.application(id).await?.ok_or(StoreError::NotFound)?.version;
        self.prepare(id, actor, version, cmd, now).await.map(|_| ())
    }

    /// As `execute`, also writing a public complaint's details in the same transaction.
    pub(crate) async fn execute_with(
        &self,
        id: i64,
        actor: &Actor,
        expected_version: i64,
        cmd: &Command,
        now: Timestamp,
        complaint: Option<&crate::complaints::NewComplaint>,
    ) -> Result<Executed> {
        let result = async {
            let mut prepared = self.prepare(id, actor, expected_version, cmd, now).await?;
            prepared.complaint = complaint;
            let pg = self.is_postgres();
            let seqs = with_pool!(self, p => {
                let mut tx = p.begin().await?;
                let r = write_prepared!(tx, &prepared, now, pg);
                tx.commit().await?;
                r
            });
            let events = self.events_after(id, seqs).await?;
            let application = self.application(id).await?.ok_or(StoreError::NotFound)?;
            Ok(Executed { application, events })
        }
        .await;
        self.count(cmd, &result);
        result
    }

    async fn prepare(&self, id: i64, actor: &Actor, expected: i64, cmd: &Command, now: Timestamp) -> Result<Prepared<'static>> {
        let today = china_date(now);
        let (app, stored) = self.application_with_changes(id).await?.ok_or(StoreError::NotFound)?;
        let scope = self.scope(&app).await?;
        // Scope before anything else, so a stranger learns nothing (not even the version); then
        // the role, so a reader in the wrong role hears "not your role" whatever the version.
        lifecycle::can_read(actor, &scope, today)?;
        let profile = self.profile_for(&app)?;
        if let Err(Some(refusal)) = lifecycle::authorize(&profile, &app.data, actor, cmd) {
            return Err(refusal.into());
        }
        if app.version != expected {
            return Err(Refusal::StaleVersion { expected, actual: app.version }.into());
        }
        let loaded = self.load_context(&app, cmd.needs()).await?;
        let changes = self.state_changes(id, app.version, stored).await?;
        decided(app, &loaded, &scope, actor, cmd, today, changes)
    }

    /// Loads what a decision on `app` reads beyond the application itself: always the profile,
    /// the calendar and the institution; the bans, the record and the open rounds as `needs` says.
    pub(crate) async fn load_context(&self, app: &AppRecord, needs: Needs) -> Result<Loaded> {
        let inst = self.institution(app.institution_id).await?.ok_or(StoreError::NotFound)?;
        self.load_context_with(app, needs, inst).await
    }

    /// As `load_context`, with the institution already read.
    async fn load_context_with(&self, app: &AppRecord, needs: Needs, inst: crate::accounts::Institution) -> Result<Loaded> {
        let profile = self.profile_for(app)?;
        let bans = if needs.bans { self.bans_of(&inst.uscc).await? } else { Vec::new() };
        let history = if needs.history { self.history(inst.id).await? } else { Vec::new() };
        let open_rounds = if needs.open_rounds {
            self.rounds(&app.city).await?.into_iter().filter(|r| r.status == "open").map(|r| r.id).collect()
        } else {
            Vec::new()
        };
        let prior = if needs.prior { self.prior_applications(app).await? } else { Vec::new() };
        let planning = if needs.planning { self.planning_for(app).await? } else { None };
        Ok(Loaded {
            prior,
            planning,
            profile,
            calendar: self.calendar(),
            bans,
            history,
            institution: InstitutionFacts { name: inst.name, national_code: inst.national_code },
            kind: app.institution_kind(),
            open_rounds,
            uscc: inst.uscc,
        })
    }

    /// The institution's other applications in this city, newest first (G-FOLLOWS).
    async fn prior_applications(&self, app: &AppRecord) -> Result<Vec<PriorApplication>> {
        let sql = format!("{APP_SELECT} where a.institution_id = $1 and a.city = $2 and a.id <> $3 order by a.id desc");
        let rows = with_pool!(self, p => {
            sqlx::query_as::<_, AppRow>(sqlx::AssertSqlSafe(sql.as_str())).bind(app.institution_id).bind(&app.city).bind(app.id).fetch_all(p).await?
        });
        rows.into_iter()
            .map(|r| {
                AppRecord::try_from(r).map(|a| PriorApplication {
                    state: a.state,
                    failures: a.data.failures,
                    result_served_on: a.data.result_served_on,
                })
            })
            .collect()
    }

    /// The application's scope (G-VISIBILITY): where it is, and once its round is drawn, its
    /// grouping with the days of the visit and the reveal.
    pub async fn scope(&self, app: &AppRecord) -> Result<Scope> {
        let grouping = match app.round_id {
            Some(round_id) => self.grouping(round_id, app.institution_id).await?,
            None => None,
        };
        Ok(Scope { institution_id: app.institution_id, city: app.city.clone(), district: app.district.clone(), grouping })
    }

    /// The application `id`, if `actor` may see it today (G-VISIBILITY); the refusal otherwise.
    pub async fn readable(&self, id: i64, actor: &Actor, today: Date) -> Result<(AppRecord, Scope)> {
        let app = self.application(id).await?.ok_or(StoreError::NotFound)?;
        let scope = self.scope(&app).await?;
        lifecycle::can_read(actor, &scope, today)?;
        Ok((app, scope))
    }

    /// "What may this actor do now?" on `app`: the commands whose forms a page shows (decided by
    /// the core with everything loaded).
    pub async fn available(&self, app: &AppRecord, scope: &Scope, actor: &Actor, today: Date) -> Result<Available> {
        let loaded = self.load_context(app, Needs::ALL).await?;
        let ctx = loaded.ctx(today);
        let names = lifecycle::available(&ctx, scope, &app.data, actor);
        let exact = |cmd: &Command| lifecycle::allows(&ctx, scope, &app.data, actor, cmd);
        let open_rounds = loaded.open_rounds.iter().copied().filter(|r| exact(&Command::JoinRound { round_id: *r })).collect();
        let verifiable =
            ChecklistItem::ALL.into_iter().filter(|item| exact(&Command::VerifyChecklistItem { item: *item, note: "—".into() })).collect();
        let now = names.iter().copied().filter(|n| Command::probe(n).is_some_and(|cmd| exact(&cmd))).collect();
        // HRB-MAT / HRB-ACC-2: the slots this actor may put a file into now (the upload route
        // asks the same question before it reads a byte).
        let uploadable = loaded
            .profile
            .materials
            .iter()
            .filter(|m| m.types.first().is_some_and(|t| exact(&Command::AttachMaterial { slot: m.id.clone(), file: FileRef::probe(*t) })))
            .map(|m| m.id.clone())
            .collect();
        Ok(Available { names, now, open_rounds, verifiable, uploadable })
    }

    /// Fires every time-driven consequence that is due (G-CLOCKS): deemed withdrawal, end of
    /// notice, deemed give-up. Due rows are claimed with a lease (so concurrent workers split
    /// the work), then each claimed batch fires in one transaction: every timer is its own
    /// command as the `system` actor with the version it claimed, with its own event and audit
    /// entry, its state change and the release of its timer; an application that moved on
    /// meanwhile makes its command a no-op conflict. A worker that dies between claim and commit
    /// leaves only leases, which expire; the next worker fires each timer once.
    pub async fn run_due(&self, now: Timestamp) -> Result<TickReport> {
        self.run_due_as(&worker_id(), now).await
    }

    pub async fn run_due_as(&self, owner: &str, now: Timestamp) -> Result<TickReport> {
        let mut report = TickReport::default();
        // URC-EVAL-1: the groupings due today first, so an evaluator sees theirs on that day.
        (report.grouped, report.grouping_held) = self.group_due_rounds(now).await?;
        loop {
            let claimed = self.claim_due(owner, now, TIMER_LEASE_SECS, TIMER_BATCH).await?;
            if claimed.is_empty() {
                self.counters.timers(report.fired.len(), report.held.len());
                return Ok(report);
            }
            if std::env::var_os("DINGDIAN_FAULT_CRASH_AFTER_CLAIM").is_some() {
                // Fault injection for the crash test: die holding the leases.
                std::process::abort();
            }
            self.fire_claimed(&claimed, now, &mut report).await?;
        }
    }

    /// Fires a batch of claimed timers (application, version, city, action) in one transaction.
    /// Reads are batched too: the applications, their institutions and (for rows stored before
    /// state changes were kept) their transitions, one query each; the profile and calendar are
    /// in memory. Refused commands (e.g. a notice with an open complaint) are held: their lease
    /// keeps them out of this pass, and they are tried again when it runs out.
    async fn fire_claimed(&self, claimed: &[(i64, i64, String, String)], now: Timestamp, report: &mut TickReport) -> Result<()> {
        use std::collections::{BTreeMap, HashMap};
        let today = china_date(now);
        let ids: Vec<i64> = claimed.iter().map(|c| c.0).collect();
        let sql = format!("{APP_SELECT} where a.id in ({})", placeholders(ids.len()));
        let rows = with_pool!(self, p => {
            let mut q = sqlx::query_as::<_, AppRow>(sqlx::AssertSqlSafe(sql.as_str()));
            for id in &ids {
                q = q.bind(id);
            }
            q.fetch_all(p).await?
        });
        let mut apps: HashMap<i64, (AppRecord, Option<StateChanges>)> = HashMap::with_capacity(rows.len());
        for r in rows {
            let changes = stored_changes(&r.data);
            let app = AppRecord::try_from(r)?;
            apps.insert(app.id, (app, changes));
        }
        // The institutions, once each.
        let mut inst_ids: Vec<i64> = apps.values().map(|(a, _)| a.institution_id).collect();
        inst_ids.sort_unstable();
        inst_ids.dedup();
        let sql = format!(
            "select id, uscc, name, kind, category, city, district, national_code, address, beds from institutions where id in ({})",
            placeholders(inst_ids.len())
        );
        let institutions: HashMap<i64, crate::accounts::Institution> = if inst_ids.is_empty() {
            HashMap::new()
        } else {
            let rows: Vec<crate::accounts::Institution> = with_pool!(self, p => {
                let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()));
                for id in &inst_ids {
                    q = q.bind(id);
                }
                q.fetch_all(p).await?
            });
            rows.into_iter().map(|i| (i.id, i)).collect()
        };
        // Rows without up-to-date state changes: their transitions, in one query.
        let legacy: Vec<i64> = apps.values().filter(|(a, c)| c.as_ref().is_none_or(|c| c.upto != a.version)).map(|(a, _)| a.id).collect();
        let mut rebuilt: HashMap<i64, Vec<Transition>> = HashMap::new();
        if !legacy.is_empty() {
            let sql = format!(
                "select application_id, from_state, to_state, occurred_on from events where application_id in ({}) order by application_id, seq",
                placeholders(legacy.len())
            );
            let rows: Vec<(i64, String, String, String)> = with_pool!(self, p => {
                let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()));
                for id in &legacy {
                    q = q.bind(id);
                }
                q.fetch_all(p).await?
            });
            for (id, from, to, on) in rows {
                rebuilt.entry(id).or_default().push(transition(id, &from, &to, &on)?);
            }
        }

        // Decide each timer as its own command.
        let mut prepared: Vec<(Prepared<'static>, &'static str)> = Vec::with_capacity(claimed.len());
        for (id, version, city, action) in claimed {
            let cmd = timer_command(*id, action)?;
            let actor = Actor::system(city);
            let result = async {
                let (app, stored) = apps.remove(id).ok_or(StoreError::NotFound)?;
                let scope = self.scope(&app).await?;
                lifecycle::can_read(&actor, &scope, today)?;
                let profile = self.profile_for(&app)?;
                if let Err(Some(refusal)) = lifecycle::authorize(&profile, &app.data, &actor, &cmd) {
                    return Err(refusal.into());
                }
                if app.version != *version {
                    return Err(Refusal::StaleVersion { expected: *version, actual: app.version }.into());
                }
                let needs = cmd.needs();
                let loaded = match institutions.get(&app.institution_id) {
                    Some(inst) => self.load_context_with(&app, needs, inst.clone()).await?,
                    None => self.load_context(&app, needs).await?,
                };
                let changes = match stored.filter(|s| s.upto == app.version) {
                    Some(s) => s,
                    None => StateChanges::of(app.version, rebuilt.remove(id).unwrap_or_default()),
                };
                decided(app, &loaded, &scope, &actor, &cmd, today, changes)
            }
            .await;
            match result {
                Ok(pr) => prepared.push((pr, cmd.name())),
                Err(e) => {
                    self.counters.command(cmd.name(), outcome(&Err(&e)));
                    match e {
                        StoreError::Conflict { .. } | StoreError::Refused(Refusal::StaleVersion { .. }) => {}
                        StoreError::Refused(r) => report.held.push((*id, r.code().to_owned())),
                        e => return Err(e),
                    }
                }
            }
        }
        if prepared.is_empty() {
            return Ok(());
        }

        // Write them in one transaction: first every guarded projection update (an application
        // that moved on since it was read is skipped: a conflict), then the head of each city's
        // chain, in city order, then the events. A transaction holding a chain head thus never
        // waits for an application row, so it cannot deadlock with single commands (row, then
        // head) or with other batches.
        let pg = self.is_postgres();
        let ts = now.to_string();
        let on = today.to_string();
        let written: Vec<bool> = with_pool!(self, p => {
            let mut tx = p.begin().await?;
            let mut written = Vec::with_capacity(prepared.len());
            for (pr, _) in &prepared {
                written.push(update_projection!(tx, pr, &ts));
            }
            let mut heads: BTreeMap<&str, (i64, String)> = BTreeMap::new();
            for ((pr, _), _) in prepared.iter().zip(&written).filter(|(_, w)| **w) {
                let chain = dingdian_core::audit::chain_of(Some(&pr.app.city));
                if !heads.contains_key(chain) {
                    heads.insert(chain, (0, String::new()));
                }
            }
            for (chain, head) in heads.iter_mut() {
                let chain: &str = chain;
                *head = crate::audit_store::lock_chain!(tx, pg, chain, &ts);
            }
            let mut recipients: HashMap<i64, Vec<(i64, Option<String>)>> = HashMap::new();
            for ((pr, _), _) in prepared.iter().zip(&written).filter(|(_, w)| **w) {
                if !pr.notes.is_empty() && !recipients.contains_key(&pr.app.institution_id) {
                    recipients.insert(pr.app.institution_id, recipients!(tx, pr.app.institution_id));
                }
                let chain = dingdian_core::audit::chain_of(Some(&pr.app.city));
                let Some(head) = heads.get_mut(chain) else { continue };
                let (mut audit_seq, mut prev) = (head.0, std::mem::take(&mut head.1));
                let none = Vec::new();
                let to = if pr.notes.is_empty() { &none } else { recipients.get(&pr.app.institution_id).unwrap_or(&none) };
                write_events!(tx, pr, now, &ts, &on, chain, audit_seq, prev, to);
                *head = (audit_seq, prev);
            }
            for (chain, (audit_seq, prev)) in &heads {
                let chain: &str = chain;
                crate::audit_store::advance_chain!(tx, chain, *audit_seq, prev, &ts);
            }
            if std::env::var_os("DINGDIAN_FAULT_CRASH_BEFORE_COMMIT").is_some() {
                // Fault injection for the batch test: die with the batch written, not committed.
                std::process::abort();
            }
            tx.commit().await?;
            written
        });

        for ((pr, name), written) in prepared.into_iter().zip(written) {
            if !written {
                self.counters.command(name, "conflict");
                continue;
            }
            self.counters.command(name, "ok");
            tracing::info!(application = pr.app.id, command = name, "time limit fired");
            report.fired.push((pr.app.id, name));
            if pr.decision.to == State::ReadyToSign {
                // HRB-SIGN / URC-SIGN: entering `ready_to_sign` issues the agreement document.
                let application =
                    AppRecord { state: pr.decision.to, version: pr.expected + pr.decision.events.len() as i64, data: pr.state, ..pr.app };
                self.after(Executed { application, events: Vec::new() }, now).await?;
            }
        }
        Ok(())
    }

    /// Gives back the timers this process holds (on shutdown), so another instance can fire them
    /// at once instead of after the lease. Returns how many were released.
    pub async fn release_timer_leases(&self) -> Result<u64> {
        let released = with_pool!(self, p => {
            sqlx::query("update applications set timer_owner = null, timer_lease_until = null where timer_owner = $1")
                .bind(worker_id())
                .execute(p)
                .await?
                .rows_affected()
        });
        Ok(released)
    }

    /// Claims up to `limit` due timers for `owner` until `now + lease_secs`. Returns
    /// (application, version, city, action). Uses the partial index on `due_on`, so an idle
    /// sweep costs the same however many deadlines are open.
    pub async fn claim_due(&self, owner: &str, now: Timestamp, lease_secs: i64, limit: i64) -> Result<Vec<(i64, i64, String, String)>> {
        let today = china_date(now).to_string();
        let until = now.as_second() + lease_secs;
        // PostgreSQL: skip rows another worker is claiming right now instead of waiting for them.
        let lock = match self.pool {
            crate::Pool::Postgres(_) => " for update skip locked",
            crate::Pool::Sqlite(_) => "",
        };
        let sql = format!(
            "update applications set timer_owner = $1, timer_lease_until = $2 where id in (
                select id from applications where due_action is not null and due_on < $3
                and (timer_lease_until is null or timer_lease_until < $4) order by due_on, id limit $5{lock})
             and (timer_lease_until is null or timer_lease_until < $4)
             returning id, version, city, due_action"
        );
        Ok(with_pool!(self, p => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(owner)
                .bind(until)
                .bind(&today)
                .bind(now.as_second())
                .bind(limit)
                .fetch_all(p)
                .await?
        }))
    }

    pub async fn create_round(&self, actor: &Actor, name: &str, now: Timestamp) -> Result<RoundRecord> {
        visibility::can_run_evaluation(actor, &actor.city)?;
        let name = name.trim();
        if name.is_empty() {
            return Err(Refusal::Invalid { field: "name", reason: "请填写批次名称。".into() }.into());
        }
        let ts = now.to_string();
        let (id,): (i64,) = with_pool!(self, p => {
            sqlx::query_as("insert into rounds (city, name, status, created_at, updated_at) values ($1, $2, 'open', $3, $3) returning id")
                .bind(&actor.city)
                .bind(name)
                .bind(&ts)
                .fetch_one(p)
                .await?
        });
        self.round(id).await?.ok_or(StoreError::NotFound)
    }

    pub async fn round(&self, id: i64) -> Result<Option<RoundRecord>> {
        Ok(with_pool!(self, p => {
            sqlx::query_as::<_, RoundRecord>("select id, city, name, status, created_at, filed_at, filing_acknowledged_at from rounds where id = $1").bind(id).fetch_optional(p).await?
        }))
    }

    pub async fn rounds(&self, city: &str) -> Result<Vec<RoundRecord>> {
        Ok(with_pool!(self, p => {
            sqlx::query_as::<_, RoundRecord>("select id, city, name, status, created_at, filed_at, filing_acknowledged_at from rounds where city = $1 order by id desc")
                .bind(city)
                .fetch_all(p)
                .await?
        }))
    }

    /// URC-EVAL-4: the round's collective decision — one outcome per application in
    /// `collective_decision`, all of them, recorded with the meeting's minutes in one transaction.
    pub async fn decide_round(
        &self,
        round_id: i64,
        actor: &Actor,
        minutes: &str,
        decisions: &[(i64, Command)],
        now: Timestamp,
    ) -> Result<Vec<i64>> {
        let round = self.round(round_id).await?.ok_or(StoreError::NotFound)?;
        visibility::can_run_evaluation(actor, &round.city)?;
        if minutes.trim().is_empty() {
            return Err(Refusal::Invalid { field: "minutes", reason: "请填写集体研究会议纪要。".into() }.into());
        }
        let waiting: Vec<(i64, i64)> = with_pool!(self, p => {
            sqlx::query_as("select id, version from applications where round_id = $1 and state = 'collective_decision' order by id")
                .bind(round_id)
                .fetch_all(p)
                .await?
        });
        let mut covered: Vec<i64> = decisions.iter().map(|(id, _)| *id).collect();
        covered.sort_unstable();
        let expected: Vec<i64> = waiting.iter().map(|(id, _)| *id).collect();
        if waiting.is_empty() || covered != expected {
            return Err(Refusal::Invalid {
                field: "decisions",
                reason: format!("集体决定须一次涵盖本批次全部待决定的申请：{expected:?}。"),
            }
            .into());
        }
        let pg = self.is_postgres();
        let mut prepared = Vec::new();
        for (id, cmd) in decisions {
            if !matches!(cmd, Command::Decide { .. }) {
                return Err(Refusal::Invalid { field: "decisions", reason: "只能包含 decide 决定。".into() }.into());
            }
            let version = waiting.iter().find(|(w, _)| w == id).map(|(_, v)| *v).unwrap_or_default();
            prepared.push(self.prepare(*id, actor, version, cmd, now).await?);
        }
        with_pool!(self, p => {
            let mut tx = p.begin().await?;
            let done = sqlx::query("update rounds set minutes = $1, decided_at = $2, updated_at = $2 where id = $3 and decided_at is null")
                .bind(minutes.trim())
                .bind(now.to_string())
                .bind(round_id)
                .execute(&mut *tx)
                .await?;
            if done.rows_affected() != 1 {
                return Err(StoreError::Rejected { code: "already_decided", message: "该批次已作出集体决定。".into() });
            }
            for pr in &prepared {
                write_prepared!(tx, pr, now, pg);
            }
            tx.commit().await?;
        });
        Ok(expected)
    }

    // --- urc: filing the passed list (URC-RES-1) ---

    /// URC-RES-1: the agency files the round's passed list with the administrative department:
    /// every passed application of the round records the filing, in one transaction with the
    /// round's `filed_at`. Refused while an application of the round awaits its decision.
    pub async fn file_round(&self, round_id: i64, actor: &Actor, now: Timestamp) -> Result<Vec<i64>> {
        let round = self.round(round_id).await?.ok_or(StoreError::NotFound)?;
        visibility::can_run_evaluation(actor, &round.city)?;
        if round.filed_at.is_some() {
            return Err(StoreError::Rejected { code: "already_filed", message: "该批次的评估合格名单已报备案。".into() });
        }
        let members: Vec<(i64, i64, String)> = with_pool!(self, p => {
            sqlx::query_as("select id, version, state from applications where round_id = $1 order by id")
                .bind(round_id)
                .fetch_all(p)
                .await?
        });
        let undecided = ["evaluator_draw", "on_site_evaluation", "expert_review", "collective_decision"];
        if members.iter().any(|(_, _, st)| undecided.contains(&st.as_str())) {
            return Err(Refusal::NotNow { reason: "本批次尚有申请未作出集体决定，决定后方可报备案。".into() }.into());
        }
        let cmd = Command::FileWithAdministration { round_id };
        self.round_act(
            round_id,
            actor,
            &cmd,
            &members,
            now,
            "update rounds set filed_at = $1, filed_by = $2, updated_at = $1 where id = $3 and filed_at is null",
        )
        .await
    }

    /// URC-RES-1: the administrative department (the `admin` of the round's city) acknowledges
    /// the round's filing; each filed application records it, in one transaction.
    pub async fn acknowledge_filing(&self, round_id: i64, actor: &Actor, now: Timestamp) -> Result<Vec<i64>> {
        let round = self.round(round_id).await?.ok_or(StoreError::NotFound)?;
        visibility::can_acknowledge_filing(actor, &round.city)?;
        if round.filed_at.is_none() {
            return Err(Refusal::NotNow { reason: "该批次的评估合格名单尚未报备案。".into() }.into());
        }
        if round.filing_acknowledged_at.is_some() {
            return Err(StoreError::Rejected { code: "already_acknowledged", message: "该批次的备案已确认。".into() });
        }
        let members: Vec<(i64, i64, String)> = with_pool!(self, p => {
            sqlx::query_as("select id, version, state from applications where round_id = $1 order by id")
                .bind(round_id)
                .fetch_all(p)
                .await?
        });
        let cmd = Command::AcknowledgeFiling { round_id };
        self.round_act(
            round_id,
            actor,
            &cmd,
            &members,
            now,
            "update rounds set filing_acknowledged_at = $1, filing_acknowledged_by = $2, updated_at = $1 where id = $3 and filing_acknowledged_at is null",
        )
        .await
    }

    /// One act on a round's passed list: the command on every passed member the core takes it
    /// for, and the round's own record, in one transaction.
    async fn round_act(
        &self,
        round_id: i64,
        actor: &Actor,
        cmd: &Command,
        members: &[(i64, i64, String)],
        now: Timestamp,
        round_sql: &'static str,
    ) -> Result<Vec<i64>> {
        let mut prepared = Vec::new();
        let mut ids = Vec::new();
        for (id, version, state) in members {
            if state != State::Passed.as_str() {
                continue;
            }
            prepared.push(self.prepare(*id, actor, *version, cmd, now).await?);
            ids.push(*id);
        }
        if prepared.is_empty() {
            return Err(Refusal::NotNow { reason: "该批次没有待备案的评估合格申请。".into() }.into());
        }
        let pg = self.is_postgres();
        with_pool!(self, p => {
            let mut tx = p.begin().await?;
            let done = sqlx::query(round_sql).bind(now.to_string()).bind(actor.user_id).bind(round_id).execute(&mut *tx).await?;
            if done.rows_affected() != 1 {
                return Err(StoreError::Rejected { code: "already_filed", message: "该批次已办理。".into() });
            }
            for pr in &prepared {
                write_prepared!(tx, pr, now, pg);
            }
            tx.commit().await?;
        });
        Ok(ids)
    }

    /// URC-RES-1: the round's passed list, filed (备案) with the administrative department.
    pub async fn filing_list(&self, round_id: i64) -> Result<Vec<(i64, String, String, String)>> {
        let rows: Vec<(i64, String, String, String)> = with_pool!(self, p => {
            sqlx::query_as(
                "select a.id, coalesce(a.number, ''), i.name, i.uscc from applications a join institutions i on i.id = a.institution_id
                 where a.round_id = $1 and exists (select 1 from events e where e.application_id = a.id and e.kind = 'result_decided'
                   and e.payload like '%\"outcome\":\"pass\"%') order by a.id",
            )
            .bind(round_id)
            .fetch_all(p)
            .await?
        });
        Ok(rows)
    }

    /// URC-EVAL-1: the round's evaluators have been drawn; every member application moves to
    /// site evaluation together, in one transaction.
    pub async fn start_round(&self, round_id: i64, actor: &Actor, now: Timestamp) -> Result<Vec<i64>> {
        let round = self.round(round_id).await?.ok_or(StoreError::NotFound)?;
        visibility::can_run_evaluation(actor, &round.city)?;
        if round.status != "open" {
            return Err(Refusal::Invalid { field: "round_id", reason: "该评估批次已开始。".into() }.into());
        }
        let members: Vec<(i64, i64)> = with_pool!(self, p => {
            sqlx::query_as("select id, version from applications where round_id = $1 and state = 'evaluator_draw' order by id")
                .bind(round_id)
                .fetch_all(p)
                .await?
        });
        if members.is_empty() {
            return Err(Refusal::Invalid { field: "round_id", reason: "该评估批次还没有申请。".into() }.into());
        }
        let cmd = Command::StartSiteEvaluation { round_id };
        let pg = self.is_postgres();
        let mut prepared = Vec::new();
        for (id, version) in &members {
            prepared.push(self.prepare(*id, actor, *version, &cmd, now).await?);
        }
        with_pool!(self, p => {
            let mut tx = p.begin().await?;
            let done = sqlx::query("update rounds set status = 'started', updated_at = $1 where id = $2 and status = 'open'")
                .bind(now.to_string())
                .bind(round_id)
                .execute(&mut *tx)
                .await?;
            if done.rows_affected() != 1 {
                return Err(StoreError::Conflict { actual: 0 });
            }
            for pr in &prepared {
                write_prepared!(tx, pr, now, pg);
            }
            tx.commit().await?;
        });
        Ok(members.into_iter().map(|(id, _)| id).collect())
    }
}
