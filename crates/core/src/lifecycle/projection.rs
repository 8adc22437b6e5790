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

/// The Annex 2 acceptance request (HRB-ANNEX2).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Annex2State {
    /// Requests made (the first, and at most one resubmission).
    pub requests: u32,
    /// A request awaiting the agency's result, with the agency's due date.
    pub pending: bool,
    pub review_due: Option<Date>,
    pub accepted: bool,
    /// After a failed first request: the last day to resubmit.
    pub resubmit_due: Option<Date>,
    /// The request was deemed withdrawn (no resubmission in time).
    pub withdrawn: bool,
    pub last_reason: Option<String>,
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
            Event::InstitutionSigned { .. } => self.institution_signed = true,
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
            }
            Event::Annex2Reviewed { passed, reason, resubmit_due } => {
                let a = &mut self.prep.annex2;
                a.pending = false;
                a.review_due = None;
                a.accepted = *passed;
                a.resubmit_due = *resubmit_due;
                a.last_reason = reason.clone();
                if *passed {
                    self.prep.verified.insert(ChecklistItem::EPrescription, "处方流转测试环境验收通过".into());
                }
            }
            Event::Annex2Withdrawn => {
                self.prep.annex2.withdrawn = true;
                self.prep.annex2.resubmit_due = None;
            }
            Event::StationAccepted { note } => self.prep.station_accepted = Some(note.clone()),
            Event::AgreementIssued { document } => self.agreement = Some(document.clone()),
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
