//! The application state machine: commands → events → state. `decide` checks who may do what,
//! where and when, and returns the events a command produces; `AppState::apply` folds events into
//! the current state. No I/O and no clock: today's date comes in through `Ctx`.
//!
//! States follow DESIGN.md; a profile enables the states its steps own, and `Profile::next_after`
//! gives each forward move its target, so a profile enables exactly the transitions its steps imply.
//!
//! In reading order: `commands` (what can be asked, and by whom), `decide` (whether it is
//! taken, and the events it produces), `events` (what was recorded), `projection` (the state
//! those events fold into) and `messages` (what the institution is told). The words they share
//! (`State`, `Role`, `Actor`) live in `crate::vocabulary`, refusals in `crate::refusal`; both
//! are re-exported here, so `lifecycle::X` names every part.
//!
//! Not responsible for who may *see* an application (that is `visibility`, which `decide` asks
//! first), nor for loading or storing anything (the store crate).

mod commands;
mod confirm;
mod decide;
mod events;
pub mod letters;
mod messages;
mod progress;
mod projection;
mod records;

pub use crate::refusal::Refusal;
pub use crate::visibility::{Grouping, Scope, can_read};
pub use crate::vocabulary::{ALL_ROLES, ALL_STATES, Actor, Role, State};
pub use commands::{COMMAND_NAMES, Command, Needs};
pub use confirm::{Confirmation, confirmation, confirmation_for};
pub use decide::{
    ActiveBan, Ctx, Decision, InstitutionFacts, MAX_FILES_PER_SLOT, MAX_TEXT_CHARS, PriorApplication, Standing, allows, allows_form,
    allows_with_input, authorize, available, check_kind, decide, declaration, may_open_application, standing,
};
pub use events::Event;
pub use messages::notification;
pub use progress::{Stage, StageStatus, stages};
pub use projection::{
    AgreementComment, AgreementVersion, Annex2State, Annex2Window, AppState, Complaint, Filing, Negotiation, Preparation, TrainingResult,
};
pub use records::{ChecklistItem, FileRef, Outcome, Problem, Reason, SourceChecked, SourceInput, SupplementItem, VerificationSource};
