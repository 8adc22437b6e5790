//! Decides a command: may this actor, on this application, today, do this, and what events does
//! it produce (`decide`); and, from that, which forms a page shows (`available`). The context a
//! decision reads beyond the application is `Ctx`; the store fills what the command `needs`.
//!
//! Not responsible for loading the context or recording the events (the store), nor for
//! folding them into the state (that is `projection`).

mod application;
mod evaluation;
mod notice;
mod preparation;
mod support;
mod system;

use jiff::civil::Date;
use serde::Serialize;

use super::commands::{COMMAND_NAMES, Command, Who};
use super::events::Event;
use super::projection::AppState;
use crate::calendar::Calendar;
use crate::eligibility::{Declaration, Record};
use crate::policy::{Profile, Step};
use crate::refusal::Refusal;
use crate::visibility::{Scope, can_read};
use crate::vocabulary::{Actor, InstitutionKind, Role, State};

pub use support::{MAX_FILES_PER_SLOT, MAX_TEXT_CHARS};

/// A ban on the applying institution or its people (G-BANS).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ActiveBan {
    pub rule: String,
    /// The last day the ban covers: the corresponding day of its period (民法典 arts. 201–202).
    pub until: Date,
    pub reason: String,
}

impl ActiveBan {
    /// G-BANS: a ban is in force up to and including its last day; the institution may apply
    /// again from the day after.
    pub fn in_force(&self, today: Date) -> bool {
        today <= self.until
    }
}

/// The applying institution as a decision sees it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InstitutionFacts {
    pub name: String,
    /// The national insurance institution code (国码) on record, if any.
    pub national_code: Option<String>,
}

/// What a decision may look at besides the application. The store fills what the command
/// `needs` (see `Command::needs`); what a command does not need may stay empty.
pub struct Ctx<'a> {
    pub profile: &'a Profile,
    pub calendar: &'a Calendar,
    pub today: Date,
    /// Bans in force against the institution (checked on submission).
    pub bans: &'a [ActiveBan],
    /// The applying institution's kind.
    pub kind: InstitutionKind,
    /// The record of the institution and its people (read by the not-accepted rules).
    pub history: &'a [Record],
    /// The applying institution (HRB-ANNEX1: the form names it).
    pub institution: Option<&'a InstitutionFacts>,
    /// The city's rounds still open for applications to join (URC-EVAL-1).
    pub open_rounds: &'a [i64],
    /// The institution's earlier applications (G-FOLLOWS), newest first.
    pub prior: &'a [PriorApplication],
    /// URC-REV-1: the district's planning figures for the application's kind, when the profile
    /// plans.
    pub planning: Option<&'a crate::planning::Assessment>,
}

/// One of the institution's earlier applications, as far as its standing goes (G-FOLLOWS).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriorApplication {
    pub state: State,
    /// Failed evaluations (HRB-EVAL-3 / URC-RES-1).
    pub failures: u32,
    /// The day its last result was served.
    pub result_served_on: Option<Date>,
}

/// The evaluation standing an institution carries into a new application (G-FOLLOWS).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Standing {
    pub failures: u32,
    /// The day the failure it carries was served (the rectification wait counts from it).
    pub failed_on: Option<Date>,
}

/// G-FOLLOWS (HRB-EVAL-3, URC-RES-1): failures belong to the institution, not to one
/// application. A new application continues from the latest earlier application that carries a
/// failure (each application carries its predecessor's, so the latest is the whole story) — a
/// draft withdrawn in between changes nothing. A signed agreement since then starts afresh.
pub fn standing(prior: &[PriorApplication]) -> Standing {
    prior
        .iter()
        .take_while(|a| a.state != State::Signed)
        .find(|a| a.failures > 0)
        .map(|a| Standing { failures: a.failures, failed_on: a.result_served_on })
        .unwrap_or_default()
}

impl<'a> Ctx<'a> {
    /// A context with nothing loaded beyond the rules, the calendar and the day.
    pub fn new(profile: &'a Profile, calendar: &'a Calendar, today: Date, kind: InstitutionKind) -> Ctx<'a> {
        Ctx { profile, calendar, today, bans: &[], kind, history: &[], institution: None, open_rounds: &[], prior: &[], planning: None }
    }
}

/// The events a command produces and the state it leads to.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub events: Vec<Event>,
    pub to: State,
}

/// Authorization before state: is `actor` the one who issues `cmd` on an application in `st`
/// under `profile`? Checked before anything about the application's state or version, so a
/// caller in the wrong role always hears "not your role" (403). `Err(None)` when the command's
/// step is not part of the profile at all.
pub fn authorize(profile: &Profile, st: &AppState, actor: &Actor, cmd: &Command) -> Result<(), Option<Refusal>> {
    let required = match cmd.who() {
        Who::Role(r) => Some(r),
        Who::Step(step) => profile.step(step).map(|s| s.actor),
        Who::StateStep => Step::owning(st.state).and_then(|s| profile.step(s)).map(|s| s.actor),
        Who::StepOrSystem(_) if actor.role == Role::System => Some(Role::System),
        Who::StepOrSystem(step) => profile.step(step).map(|s| s.actor),
        Who::Slot(slot) => match profile.material(&slot).map(|m| m.phase) {
            Some(crate::policy::MaterialPhase::Verification) => profile.step(Step::InfoVerification).map(|s| s.actor),
            _ => Some(Role::Institution),
        },
    };
    match required {
        Some(r) if r != actor.role => Err(Some(Refusal::NotYourRole { required: r })),
        Some(_) => Ok(()),
        None => Err(None),
    }
}

/// The declared facts of an application, parsed.
pub fn declaration(facts: &serde_json::Map<String, serde_json::Value>) -> Result<Declaration, Refusal> {
    Declaration::parse_field(serde_json::Value::Object(facts.clone())).map_err(|(field, reason)| Refusal::Invalid { field, reason })
}

/// HRB-SCOPE / URC-SCOPE: may this profile take an application from this kind of institution?
pub fn check_kind(profile: &Profile, kind: InstitutionKind) -> Result<(), Refusal> {
    if profile.kinds.contains(&kind) { Ok(()) } else { Err(Refusal::KindNotServed { profile: profile.id.clone(), kind }) }
}

/// May `actor` start a new draft under `profile` for an institution of `kind` that has
/// `open_applications` applications not yet ended? Only an institution account, of a kind the
/// city serves (HRB-SCOPE / URC-SCOPE), and one application at a time: an open one is continued,
/// not duplicated (so its history, failures and clocks stay one).
pub fn may_open_application(profile: &Profile, kind: InstitutionKind, actor: &Actor, open_applications: usize) -> Result<(), Refusal> {
    if actor.role != Role::Institution || actor.institution_id.is_none() {
        return Err(Refusal::NotYourRole { required: Role::Institution });
    }
    check_kind(profile, kind)?;
    if open_applications > 0 {
        return Err(Refusal::ApplicationOpen);
    }
    Ok(())
}

/// Decides a command: checks scope, role and state, and returns the events it produces.
pub fn decide(ctx: &Ctx<'_>, scope: &Scope, st: &AppState, actor: &Actor, cmd: &Command) -> Result<Decision, Refusal> {
    can_read(actor, scope, ctx.today)?;
    let turn = Turn { ctx, scope, st, actor, cmd };
    authorize(ctx.profile, st, actor, cmd).map_err(|r| r.unwrap_or_else(|| turn.not_here()))?;
    // Each group matches its own commands with their guards and ends in `NotAllowedInState`
    // when none fits, as one match over every command would.
    match cmd {
        Command::UpdateDraft { .. }
        | Command::Submit
        | Command::OverrideConditions { .. }
        | Command::Withdraw { .. }
        | Command::IssueSupplementNotice { .. }
        | Command::Supplement { .. }
        | Command::AttachMaterial { .. }
        | Command::RemoveMaterial { .. }
        | Command::Accept
        | Command::Reject { .. }
        | Command::ScheduleEvaluation { .. }
        | Command::PassInitialReview
        | Command::PassVerification { .. }
        | Command::Terminate { .. } => application::decide(&turn),
        Command::JoinRound { .. }
        | Command::StartSiteEvaluation { .. }
        | Command::RecordSiteEvaluation { .. }
        | Command::ConfirmScoreSheet
        | Command::RecordExpertReview { .. }
        | Command::Decide { .. }
        | Command::RequestReevaluation => evaluation::decide(&turn),
        Command::PublishNotice
        | Command::FileWithAdministration { .. }
        | Command::AcknowledgeFiling { .. }
        | Command::RecordComplaint { .. }
        | Command::ResolveComplaint { .. } => notice::decide(&turn),
        Command::CompletePreparation
        | Command::FailPreparation { .. }
        | Command::Sign { .. }
        | Command::CommentAgreement { .. }
        | Command::ReviseAgreement { .. }
        | Command::DeclineAgreement { .. }
        | Command::IssueAgreement { .. }
        | Command::RecordTraining { .. }
        | Command::VerifyChecklistItem { .. }
        | Command::FileAnnex1 { .. }
        | Command::RequestAnnex2Acceptance
        | Command::ReviewAnnex2 { .. }
        | Command::RecordStationAcceptance { .. }
        | Command::Countersign { .. } => preparation::decide(&turn),
        Command::EndNotice
        | Command::RecalculateDeadlines { .. }
        | Command::DeemWithdrawn
        | Command::DeemGivenUp
        | Command::DeemAnnex2Withdrawn
        | Command::DeemAccepted => system::decide(&turn),
    }
}

/// One command being decided, past the checks every command passes (scope and role): what
/// each group of commands reads.
#[derive(Clone, Copy)]
struct Turn<'t> {
    ctx: &'t Ctx<'t>,
    scope: &'t Scope,
    st: &'t AppState,
    actor: &'t Actor,
    cmd: &'t Command,
}

impl Turn<'_> {
    /// The refusal for a command this state does not take, or whose step the profile lacks.
    fn not_here(&self) -> Refusal {
        Refusal::NotAllowedInState { state: self.st.state, command: self.cmd.name() }
    }

    /// One event, and on to the state the profile's next step owns.
    fn advance(&self, event: Event) -> Result<Decision, Refusal> {
        Ok(Decision { events: vec![event], to: self.ctx.profile.next_after(self.st.state) })
    }
}

/// These events, then this state.
fn go(events: Vec<Event>, to: State) -> Result<Decision, Refusal> {
    Ok(Decision { events, to })
}

/// "What may this actor do now?" (DESIGN §7): the commands whose form a page shows this actor
/// today — those `decide` takes as they are, or would take with suitable input.
pub fn available(ctx: &Ctx<'_>, scope: &Scope, st: &AppState, actor: &Actor) -> Vec<&'static str> {
    COMMAND_NAMES.iter().copied().filter(|name| allows_form(ctx, scope, st, actor, name)).collect()
}

/// Does `decide` take this command exactly as it is?
pub fn allows(ctx: &Ctx<'_>, scope: &Scope, st: &AppState, actor: &Actor, cmd: &Command) -> bool {
    decide(ctx, scope, st, actor, cmd).is_ok()
}

/// Does `decide` take the command of this name, as it is or with suitable input?
pub fn allows_form(ctx: &Ctx<'_>, scope: &Scope, st: &AppState, actor: &Actor, name: &str) -> bool {
    Command::probe(name).is_some_and(|cmd| allows_with_input(ctx, scope, st, actor, &cmd))
}

/// Does `decide` take this command, or refuse it only for its input?
pub fn allows_with_input(ctx: &Ctx<'_>, scope: &Scope, st: &AppState, actor: &Actor, cmd: &Command) -> bool {
    match decide(ctx, scope, st, actor, cmd) {
        Ok(_) => true,
        Err(r) => r.is_about_input(),
    }
}
