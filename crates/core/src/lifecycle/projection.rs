//! The current state of one application, folded from its events (`AppState::apply`), with the
//! records it keeps along the way: material files, complaints and pre-signing preparation
//! (training, the HRB-PRE-2 checklist, the Annex 1 form and the Annex 2 acceptance).
//!
//! Not responsible for deciding anything: `apply` never refuses an event (that is `decide`,
//! before the event is recorded).

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use super::events::Event;
use super::records::{ChecklistItem, FileRef, Outcome};
use crate::eligibility::Finding;
use crate::vocabulary::State;

/// One training session's result (HRB-PRE-1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrainingResult {
    pub session: String,
    pub attended: bool,
    pub passed: bool,
    pub on: Date,
}

/// One resubmission window opened by a failed acceptance result (HRB-ANNEX2). Its last day is
/// counted from `opened_on` by the profile's `annex2_resubmit_working_days` (see
/// `clocks::annex2_windows`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Annex2Window {
    /// The day the failed result was notified.
    pub opened_on: Date,
    /// The day it closed: a resubmission in time, or the deemed withdrawal.
    pub closed_on: Option<Date>,
    /// Closed by the deemed withdrawal (no resubmission in time).
    pub missed: bool,
}

/// The Annex 2 acceptance request (HRB-ANNEX2).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Annex2State {
    /// Requests made in this preparation (the first and every resubmission).
    pub requests: u32,
    /// A request awaiting the agency's result, with the agency's due date.
    pub pending: bool,
    pub review_due: Option<Date>,
    pub accepted: bool,
    /// After a failed request with tries left: the last day to resubmit, as computed when the
    /// result was notified (the clock recomputes it with the current calendar).
    pub resubmit_due: Option<Date>,
    /// The last request was deemed withdrawn (no resubmission in time); the item is back to
    /// "not requested".
    pub withdrawn: bool,
    pub last_reason: Option<String>,
    /// Every resubmission window opened so far, oldest first; the last one may be open.
    #[serde(default)]
    pub windows: Vec<Annex2Window>,
}

impl Annex2State {
    /// The resubmission window now open, if any.
    pub fn open_window(&self) -> Option<&Annex2Window> {
        self.windows.last().filter(|w| w.closed_on.is_none())
    }

    /// A window opened before windows were recorded (a state stored by an earlier release): only
    /// its last day is known. It is honoured and fires like the others, but is not listed as a
    /// clock (its start is unknown).
    pub fn legacy_window_due(&self) -> Option<Date> {
        self.resubmit_due.filter(|_| self.windows.is_empty())
    }

    fn close_window(&mut self, on: Date, missed: bool) {
        if let Some(w) = self.windows.last_mut().filter(|w| w.closed_on.is_none()) {
            w.closed_on = Some(on);
            w.missed = missed;
        }
    }
}

/// Pre-signing preparation (HRB-PRE-1…3) as recorded so far.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Preparation {
    pub training: Vec<TrainingResult>,
    /// Checklist items the agency verified, with its note.
    pub verified: std::collections::BTreeMap<ChecklistItem, String>,
    /// HRB-ANNEX1, as filed.
    pub annex1: Option<crate::annex::Annex1>,
    pub annex2: Annex2State,
    /// HRB-PRE-3: the service station's acceptance on the provincial platform.
    pub station_accepted: Option<String>,
}

impl Preparation {
    pub fn training_passed(&self) -> bool {
        self.training.iter().any(|t| t.passed)
    }
}

/// One version of the agreement's text (URC-NEGOTIATE). Version 1 is the profile's template;
/// each later one is the template plus the agreed supplementary `clauses`, with the agency's
/// `reply`. `document` is the rendered PDF, once stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgreementVersion {
    pub number: u32,
    pub clauses: Vec<String>,
    pub reply: Option<String>,
    pub document: Option<FileRef>,
    pub on: Date,
}

/// The institution's comment on one version (URC-NEGOTIATE).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgreementComment {
    pub version: u32,
    pub text: String,
    pub on: Date,
}

/// The agreement's versions and the talk about them (URC-NEGOTIATE), and what was signed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Negotiation {
    pub versions: Vec<AgreementVersion>,
    pub comments: Vec<AgreementComment>,
    /// SHA-256 of the version the institution signed.
    pub signed_sha256: Option<String>,
    /// The institution's reason for declining to sign.
    pub declined: Option<String>,
}

impl Negotiation {
    /// The version on the table: the latest, rendered or not yet.
    pub fn current(&self) -> Option<&AgreementVersion> {
        self.versions.last()
    }
}

/// A complaint's status in the projection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Complaint {
    pub number: u32,
    pub open: bool,
    pub founded: Option<bool>,
}

/// The current state of one application: the fold of its events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppState {
    pub state: State,
    /// The date the current state was entered.
    pub entered_on: Option<Date>,
    pub submitted_on: Option<Date>,
    pub facts: serde_json::Map<String, serde_json::Value>,
    /// G-ONE-NOTICE: supplement notices issued in this acceptance round.
    pub supplement_notices: u32,
    pub site_recorded: bool,
    /// Each evaluator's total (user id, points).
    #[serde(default)]
    pub site_scores: Vec<(i64, u16)>,
    pub score_confirmed: bool,
    pub expert_recommendation: Option<Outcome>,
    pub failures: u32,
    pub result_served_on: Option<Date>,
    pub round_id: Option<i64>,
    pub notice_ends_on: Option<Date>,
    pub complaints: Vec<Complaint>,
    pub institution_signed: bool,
    /// Conditions found unmet at submission and not yet overridden.
    #[serde(default)]
    pub unmet_conditions: Vec<Finding>,
    /// The current files of each material slot (HRB-MAT); superseded versions live in the events.
    #[serde(default)]
    pub materials: std::collections::BTreeMap<String, Vec<FileRef>>,
    /// HRB-ACC-2: the slots the supplement notice reopened, until the institution supplements.
    #[serde(default)]
    pub open_slots: Vec<String>,
    /// Reopened slots that received a file since the notice.
    #[serde(default)]
    pub supplemented_slots: Vec<String>,
    /// Slots empty at submission (listed for the completeness check).
    #[serde(default)]
    pub missing_materials: Vec<String>,
    /// The agreement document to sign (HRB-SIGN / URC-SIGN), once issued.
    #[serde(default)]
    pub agreement: Option<FileRef>,
    /// Pre-signing preparation (HRB-PRE-1…3).
    #[serde(default)]
    pub prep: Preparation,
    /// The agreement's versions, comments and replies (URC-NEGOTIATE).
    #[serde(default)]
    pub negotiation: Negotiation,
    /// URC-RES-1: the passed list's filing with the administration.
    #[serde(default)]
    pub filing: Filing,
}

/// URC-RES-1: the filing (备案) of the passed list this application is on.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Filing {
    pub filed_on: Option<Date>,
    pub acknowledged_on: Option<Date>,
}

impl Default for AppState {
    fn default() -> Self {
        AppState {
            state: State::Draft,
            entered_on: None,
            submitted_on: None,
            facts: serde_json::Map::new(),
            supplement_notices: 0,
            site_recorded: false,
            site_scores: Vec::new(),
            score_confirmed: false,
            expert_recommendation: None,
            failures: 0,
            result_served_on: None,
            round_id: None,
            notice_ends_on: None,
            complaints: Vec::new(),
            institution_signed: false,
            unmet_conditions: Vec::new(),
            materials: Default::default(),
            open_slots: Vec::new(),
            supplemented_slots: Vec::new(),
            missing_materials: Vec::new(),
            agreement: None,
            prep: Preparation::default(),
            negotiation: Negotiation::default(),
            filing: Filing::default(),
        }
    }
}

impl AppState {
    /// Folds one event (that moved the application to `to` on date `on`) into the state.
    pub fn apply(&mut self, event: &Event, to: State, on: Date) {
        match event {
            Event::DraftUpdated { facts } => self.facts.extend(facts.clone()),
            Event::Submitted { unmet, missing_materials, prior_failures, .. } => {
                self.submitted_on = Some(self.submitted_on.unwrap_or(on));
                self.failures = self.failures.max(*prior_failures);
                self.unmet_conditions = unmet.clone();
                self.missing_materials = missing_materials.clone();
            }
            Event::ConditionsOverridden { .. } => self.unmet_conditions.clear(),
            Event::SupplementNoticeIssued { items, .. } => {
                self.supplement_notices = self.supplement_notices.saturating_add(1);
                self.open_slots = items.iter().map(|i| i.slot.clone()).collect();
                self.supplemented_slots.clear();
            }
            Event::Supplemented { .. } => {
                self.open_slots.clear();
                self.supplemented_slots.clear();
            }
            Event::MaterialAttached { slot, file, replaced } => {
                let files = self.materials.entry(slot.clone()).or_default();
                if let Some(old) = replaced {
                    files.retain(|f| &f.sha256 != old);
                }
                files.push(file.clone());
                if self.open_slots.contains(slot) && !self.supplemented_slots.contains(slot) {
                    self.supplemented_slots.push(slot.clone());
                }
            }
            Event::MaterialRemoved { slot, sha256 } => {
                if let Some(files) = self.materials.get_mut(slot) {
                    files.retain(|f| &f.sha256 != sha256);
                    if files.is_empty() {
                        self.materials.remove(slot);
                        self.supplemented_slots.retain(|s| s != slot);
                    }
                }
            }
            Event::JoinedRound { round_id } | Event::SiteEvaluationStarted { round_id } => self.round_id = Some(*round_id),
            Event::SiteEvaluationRecorded { score, by, .. } => {
                self.site_recorded = true;
                self.site_scores.push((*by, *score));
            }
            Event::ScoreSheetConfirmed => self.score_confirmed = true,
            Event::ExpertReviewRecorded { recommendation, .. } => self.expert_recommendation = Some(*recommendation),
            Event::ResultDecided { outcome, .. } => {
                self.result_served_on = Some(on);
                if *outcome == Outcome::Fail {
                    self.failures = self.failures.saturating_add(1);
                }
            }
            Event::ReevaluationRequested => {
                self.site_recorded = false;
                self.site_scores.clear();
                self.score_confirmed = false;
                self.expert_recommendation = None;
                self.round_id = None;
            }
            Event::NoticePublished { ends_on } => self.notice_ends_on = *ends_on,
            Event::PassedListFiled { .. } => self.filing.filed_on = Some(on),
            Event::FilingAcknowledged { .. } => self.filing.acknowledged_on = Some(on),
            Event::ComplaintRecorded { number, .. } => self.complaints.push(Complaint { number: *number, open: true, founded: None }),
            Event::ComplaintResolved { number, founded, .. } => {
                if let Some(c) = self.complaints.iter_mut().find(|c| c.number == *number) {
                    c.open = false;
                    c.founded = Some(*founded);
                }
            }
            Event::InstitutionSigned { document_sha256 } => {
                self.institution_signed = true;
                self.negotiation.signed_sha256 = document_sha256.clone();
            }
            Event::AgreementCommented { version, text } => {
                self.negotiation.comments.push(AgreementComment { version: *version, text: text.clone(), on })
            }
            Event::AgreementRevised { version, clauses, reply } => {
                self.negotiation.versions.push(AgreementVersion {
                    number: *version,
                    clauses: clauses.clone(),
                    reply: Some(reply.clone()),
                    document: None,
                    on,
                });
                // The previous version is off the table; the new one is signable once rendered.
                self.agreement = None;
            }
            Event::AgreementDeclined { reason } => self.negotiation.declined = Some(reason.clone()),
            Event::TrainingRecorded { session, attended, passed, .. } => {
                self.prep.training.push(TrainingResult { session: session.clone(), attended: *attended, passed: *passed, on })
            }
            Event::ChecklistItemVerified { item, note } => {
                self.prep.verified.insert(*item, note.clone());
            }
            Event::Annex1Filed { form } => self.prep.annex1 = Some(form.clone()),
            Event::Annex2Requested { review_due } => {
                let a = &mut self.prep.annex2;
                a.requests = a.requests.saturating_add(1);
                a.pending = true;
                a.review_due = *review_due;
                a.resubmit_due = None;
                a.withdrawn = false;
                a.close_window(on, false);
            }
            Event::Annex2Reviewed { passed, reason, resubmit_due, opens_window } => {
                let a = &mut self.prep.annex2;
                a.pending = false;
                a.review_due = None;
                a.accepted = *passed;
                a.resubmit_due = *resubmit_due;
                a.last_reason = reason.clone();
                // Events recorded before `opens_window` existed opened a window iff they set a date.
                if !*passed && (*opens_window || resubmit_due.is_some()) {
                    a.windows.push(Annex2Window { opened_on: on, closed_on: None, missed: false });
                }
                if *passed {
                    self.prep.verified.insert(ChecklistItem::EPrescription, "处方流转测试环境验收通过".into());
                }
            }
            Event::Annex2Withdrawn => {
                let a = &mut self.prep.annex2;
                a.withdrawn = true;
                a.resubmit_due = None;
                a.close_window(on, true);
            }
            Event::StationAccepted { note } => self.prep.station_accepted = Some(note.clone()),
            Event::AgreementIssued { document } => {
                self.agreement = Some(document.clone());
                let versions = &mut self.negotiation.versions;
                match versions.last_mut() {
                    // The rendering of a revision.
                    Some(v) if v.document.is_none() => v.document = Some(document.clone()),
                    // The first version: the profile's template.
                    _ => {
                        let number = u32::try_from(versions.len()).unwrap_or(u32::MAX).saturating_add(1);
                        versions.push(AgreementVersion { number, clauses: Vec::new(), reply: None, document: Some(document.clone()), on });
                    }
                }
            }
            _ => {}
        }
        if to != self.state || self.entered_on.is_none() {
            self.entered_on = Some(on);
        }
        self.state = to;
    }

    pub fn open_complaints(&self) -> usize {
        self.complaints.iter().filter(|c| c.open).count()
    }
}
