//! What anyone can ask an application to do: the `Command`s with their input, their names as
//! sent in the `command` field, who may send each (a fixed role or a profile step's actor),
//! and which facts beyond the application each decision reads (`Needs`).
//!
//! Not responsible for deciding whether a command is taken (that is `decide`), nor for what it
//! records (that is `events`).

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use super::records::{ChecklistItem, FileRef, Outcome, Reason, SourceInput, SupplementItem, VerificationSource};
use crate::policy::Step;
use crate::vocabulary::Role;

/// Everything anyone can ask an application to do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case", deny_unknown_fields)]
pub enum Command {
    /// Institution: save declared facts on a draft.
    UpdateDraft {
        facts: serde_json::Map<String, serde_json::Value>,
    },
    /// HRB-APPLY / URC-APPLY.
    Submit,
    Withdraw {
        #[serde(default)]
        reason: Option<String>,
    },
    /// The reviewer accepts an application whose declared facts do not meet every condition,
    /// recording why (SPEC §2: the agency may override with a recorded reason).
    OverrideConditions {
        reason: String,
    },
    /// HRB-ACC-1: one notice listing everything to supplement.
    IssueSupplementNotice {
        items: Vec<SupplementItem>,
    },
    /// HRB-ACC-2.
    Supplement {
        #[serde(default)]
        note: Option<String>,
    },
    /// Institution: a file stored by the upload endpoint joins a material slot (HRB-MAT). Sent
    /// only by the server after it stored and hashed the bytes; the command API refuses it.
    AttachMaterial {
        slot: String,
        file: FileRef,
    },
    /// Institution: take a file out of a slot while the slot is open. Its version stays in the
    /// history.
    RemoveMaterial {
        slot: String,
        sha256: String,
    },
    Accept,
    /// 不予受理, with reasons (HRB-ACC-1, URC-REV-1).
    Reject {
        reasons: Vec<Reason>,
    },
    /// HRB-EVAL-1: organise the inspection.
    ScheduleEvaluation {
        #[serde(default)]
        date: Option<Date>,
        #[serde(default)]
        note: Option<String>,
    },
    /// URC-REV-1.
    PassInitialReview,
    /// URC-REV-2, with the sources checked (at least one).
    PassVerification {
        #[serde(default)]
        sources: std::collections::BTreeMap<VerificationSource, SourceInput>,
    },
    /// URC-REV-2: mismatch or serious violation, with the sources that showed it.
    Terminate {
        reason: String,
        #[serde(default)]
        sources: std::collections::BTreeMap<VerificationSource, SourceInput>,
    },
    /// URC-EVAL-1: put the application into an evaluation round (当期).
    JoinRound {
        round_id: i64,
    },
    /// URC-EVAL-1: the round's evaluators are drawn and grouped; site evaluation begins.
    StartSiteEvaluation {
        round_id: i64,
    },
    /// HRB-EVAL-1 / URC-EVAL-2.
    RecordSiteEvaluation {
        /// The total; with `items`, it must be their sum.
        score: u16,
        /// Points per score-sheet item (profile `score_sheets`).
        #[serde(default)]
        items: std::collections::BTreeMap<String, u16>,
        #[serde(default)]
        notes: Option<String>,
    },
    /// URC-EVAL-2: the institution signs the score sheet.
    ConfirmScoreSheet,
    /// HRB-EVAL-2 / URC-EVAL-3.
    RecordExpertReview {
        recommendation: Outcome,
        #[serde(default)]
        reasons: Vec<String>,
        #[serde(default)]
        rectification: Option<String>,
        /// The experts present who sign the review record (URC-EVAL-3).
        #[serde(default)]
        attendees: Vec<String>,
    },
    /// URC-EVAL-4.
    Decide {
        outcome: Outcome,
        #[serde(default)]
        reasons: Vec<String>,
        #[serde(default)]
        rectification: Option<String>,
        // --- urc: the meeting's record (URC-EVAL-4) ---
        /// The minutes of the meeting that decided (组织会议研究).
        #[serde(default)]
        minutes: Option<String>,
        /// Who attended the meeting.
        #[serde(default)]
        attendees: Vec<String>,
        /// Why the outcome departs from the expert review's recommendation; required then.
        #[serde(default)]
        departure_reason: Option<String>,
    },
    /// HRB-EVAL-3 / URC-RES-1.
    RequestReevaluation,
    /// HRB-NOTICE / URC-RES-2.
    PublishNotice,
    // --- urc: filing the passed list (URC-RES-1) ---
    /// The agency files the round's passed list with the administration (报…备案). Sent only
    /// by the store, for every passed application of the round at once (the command API refuses
    /// it: `POST /api/rounds/{id}/filing`).
    FileWithAdministration {
        round_id: i64,
    },
    /// The administration (医疗保障行政部门, role `admin`) acknowledges the round's filing. Sent
    /// only by the store (`POST /api/rounds/{id}/filing/acknowledgement`).
    AcknowledgeFiling {
        round_id: i64,
    },
    /// A complaint received during the notice (recorded by the agency).
    RecordComplaint {
        summary: String,
    },
    ResolveComplaint {
        number: u32,
        founded: bool,
        finding: String,
    },
    /// HRB-PRE-1: a training session's attendance and test result.
    RecordTraining {
        session: String,
        attended: bool,
        passed: bool,
    },
    /// HRB-PRE-2: the agency verified a checklist item against the institution's evidence.
    VerifyChecklistItem {
        item: ChecklistItem,
        note: String,
    },
    /// HRB-ANNEX1: the institution files the dedicated-line form.
    FileAnnex1 {
        form: crate::annex::Annex1,
    },
    /// HRB-ANNEX2: the institution asks for acceptance of its uploaded package.
    RequestAnnex2Acceptance,
    /// HRB-ANNEX2: the agency notifies the result, once, online.
    ReviewAnnex2 {
        passed: bool,
        #[serde(default)]
        reason: Option<String>,
    },
    /// HRB-PRE-3: the service station was accepted on the provincial platform.
    RecordStationAcceptance {
        note: String,
    },
    /// HRB-PRE-1…3 all done.
    CompletePreparation,
    /// HRB-PRE-4.
    FailPreparation {
        reason: String,
    },
    /// HRB-SIGN / URC-SIGN: the institution signs first… The version signed is the current
    /// one; `document_sha256`, when sent, names it, and another is refused (URC-NEGOTIATE).
    Sign {
        #[serde(default)]
        document_sha256: Option<String>,
    },
    /// …then the agency, the version the institution signed (URC-NEGOTIATE).
    Countersign {
        #[serde(default)]
        document_sha256: Option<String>,
    },
    /// URC-NEGOTIATE: the institution comments on the current version of the agreement.
    CommentAgreement {
        text: String,
    },
    /// URC-NEGOTIATE: the agency issues a revised version: the template's text plus these
    /// agreed supplementary clauses (replacing the previous version's), with its reply to the
    /// comments. The server renders and stores the new version's PDF.
    ReviseAgreement {
        #[serde(default)]
        clauses: Vec<String>,
        reply: String,
    },
    /// URC-NEGOTIATE: the institution declines to sign (自愿签订): not signed, without a ban.
    DeclineAgreement {
        reason: String,
    },
    /// System: notice period over (HRB-NOTICE / URC-RES-2).
    EndNotice,
    /// System: HRB-ACC-2 supplement overdue.
    DeemWithdrawn,
    /// System: HRB-SIGN / URC-SIGN window missed.
    DeemGivenUp,
    /// System: HRB-ANNEX2 resubmission window missed.
    DeemAnnex2Withdrawn,
    /// System: G-AGENCY-TIME — no supplement notice within the agency's limit; accepted as it
    /// stands (行政许可法 art. 32), where the profile says so.
    DeemAccepted,
    /// Server: the agreement to sign was generated from the profile's template. Sent only by
    /// the server, which rendered and stored the document.
    IssueAgreement {
        document: FileRef,
    },
    /// System: a calendar year was loaded; the application's deadlines were computed anew
    /// (LAW-WD data changed).
    RecalculateDeadlines {
        year: i16,
    },
}

/// The name of every command, as sent in the `command` field.
pub const COMMAND_NAMES: &[&str] = &[
    "update_draft",
    "submit",
    "withdraw",
    "override_conditions",
    "issue_supplement_notice",
    "supplement",
    "remove_material",
    "accept",
    "reject",
    "schedule_evaluation",
    "pass_initial_review",
    "pass_verification",
    "terminate",
    "join_round",
    "start_site_evaluation",
    "record_site_evaluation",
    "confirm_score_sheet",
    "record_expert_review",
    "decide",
    "request_reevaluation",
    "publish_notice",
    "record_complaint",
    "resolve_complaint",
    "record_training",
    "verify_checklist_item",
    "file_annex1",
    "request_annex2_acceptance",
    "review_annex2",
    "record_station_acceptance",
    "complete_preparation",
    "fail_preparation",
    "sign",
    "countersign",
    "comment_agreement",
    "revise_agreement",
    "decline_agreement",
    "end_notice",
    "deem_withdrawn",
    "deem_given_up",
    "recalculate_deadlines",
];

impl Command {
    pub fn name(&self) -> &'static str {
        match self {
            Command::UpdateDraft { .. } => "update_draft",
            Command::Submit => "submit",
            Command::Withdraw { .. } => "withdraw",
            Command::OverrideConditions { .. } => "override_conditions",
            Command::IssueSupplementNotice { .. } => "issue_supplement_notice",
            Command::Supplement { .. } => "supplement",
            Command::AttachMaterial { .. } => "attach_material",
            Command::RemoveMaterial { .. } => "remove_material",
            Command::Accept => "accept",
            Command::Reject { .. } => "reject",
            Command::ScheduleEvaluation { .. } => "schedule_evaluation",
            Command::PassInitialReview => "pass_initial_review",
            Command::PassVerification { .. } => "pass_verification",
            Command::Terminate { .. } => "terminate",
            Command::JoinRound { .. } => "join_round",
            Command::StartSiteEvaluation { .. } => "start_site_evaluation",
            Command::RecordSiteEvaluation { .. } => "record_site_evaluation",
            Command::ConfirmScoreSheet => "confirm_score_sheet",
            Command::RecordExpertReview { .. } => "record_expert_review",
            Command::Decide { .. } => "decide",
            Command::RequestReevaluation => "request_reevaluation",
            Command::PublishNotice => "publish_notice",
            Command::FileWithAdministration { .. } => "file_with_administration",
            Command::AcknowledgeFiling { .. } => "acknowledge_filing",
            Command::RecordComplaint { .. } => "record_complaint",
            Command::ResolveComplaint { .. } => "resolve_complaint",
            Command::RecordTraining { .. } => "record_training",
            Command::VerifyChecklistItem { .. } => "verify_checklist_item",
            Command::FileAnnex1 { .. } => "file_annex1",
            Command::RequestAnnex2Acceptance => "request_annex2_acceptance",
            Command::ReviewAnnex2 { .. } => "review_annex2",
            Command::RecordStationAcceptance { .. } => "record_station_acceptance",
            Command::DeemAnnex2Withdrawn => "deem_annex2_withdrawn",
            Command::DeemAccepted => "deem_accepted",
            Command::IssueAgreement { .. } => "issue_agreement",
            Command::CompletePreparation => "complete_preparation",
            Command::FailPreparation { .. } => "fail_preparation",
            Command::Sign { .. } => "sign",
            Command::Countersign { .. } => "countersign",
            Command::CommentAgreement { .. } => "comment_agreement",
            Command::ReviseAgreement { .. } => "revise_agreement",
            Command::DeclineAgreement { .. } => "decline_agreement",
            Command::EndNotice => "end_notice",
            Command::DeemWithdrawn => "deem_withdrawn",
            Command::DeemGivenUp => "deem_given_up",
            Command::RecalculateDeadlines { .. } => "recalculate_deadlines",
        }
    }

    /// Text this command would store carries no control or invisible characters (`text`): checked
    /// once for a command that is about to be recorded, after `decide` took it (so a stranger
    /// learns about permissions first, and forms probing `decide` pay nothing for it).
    pub fn check_text(&self) -> Result<(), crate::refusal::Refusal> {
        match serde_json::to_value(self) {
            Ok(input) => crate::text::check_json("input", &input),
            Err(_) => Ok(()),
        }
    }

    /// What this command's decision reads beyond the application; the store loads exactly this.
    pub fn needs(&self) -> Needs {
        match self {
            // G-BANS and the not-accepted rules at submission (URC-REJ-*).
            Command::Submit => Needs { bans: true, history: true, open_rounds: false, prior: true, planning: false },
            // URC-REV-1: the initial review is held against the district's plan.
            Command::PassInitialReview | Command::Reject { .. } => Needs { planning: true, ..Needs::default() },
            // URC-REV-2: the not-accepted rules again, against today's record.
            Command::PassVerification { .. } => Needs { history: true, ..Needs::default() },
            Command::JoinRound { .. } => Needs { open_rounds: true, ..Needs::default() },
            _ => Needs::default(),
        }
    }

    /// A command of this name with placeholder input, to ask `decide` whether its form belongs on
    /// a page (see `available`). `None` for a name no page sends.
    pub fn probe(name: &str) -> Option<Command> {
        let text = || "—".to_owned();
        Some(match name {
            "update_draft" => Command::UpdateDraft { facts: serde_json::Map::new() },
            "submit" => Command::Submit,
            "withdraw" => Command::Withdraw { reason: None },
            "override_conditions" => Command::OverrideConditions { reason: text() },
            "issue_supplement_notice" => Command::IssueSupplementNotice { items: Vec::new() },
            "supplement" => Command::Supplement { note: None },
            "accept" => Command::Accept,
            "reject" => Command::Reject { reasons: Vec::new() },
            "schedule_evaluation" => Command::ScheduleEvaluation { date: None, note: None },
            "pass_initial_review" => Command::PassInitialReview,
            "pass_verification" => Command::PassVerification { sources: Default::default() },
            "terminate" => Command::Terminate { reason: text(), sources: Default::default() },
            "join_round" => Command::JoinRound { round_id: 0 },
            "start_site_evaluation" => Command::StartSiteEvaluation { round_id: 0 },
            "record_site_evaluation" => Command::RecordSiteEvaluation { score: 0, items: std::collections::BTreeMap::new(), notes: None },
            "confirm_score_sheet" => Command::ConfirmScoreSheet,
            "record_expert_review" => Command::RecordExpertReview {
                recommendation: Outcome::Pass,
                reasons: Vec::new(),
                rectification: None,
                attendees: vec![text()],
            },
            "decide" => Command::Decide {
                outcome: Outcome::Pass,
                reasons: Vec::new(),
                rectification: None,
                minutes: Some(text()),
                attendees: vec![text()],
                departure_reason: Some(text()),
            },
            "request_reevaluation" => Command::RequestReevaluation,
            "publish_notice" => Command::PublishNotice,
            "record_complaint" => Command::RecordComplaint { summary: text() },
            "resolve_complaint" => Command::ResolveComplaint { number: 0, founded: false, finding: text() },
            "record_training" => Command::RecordTraining { session: text(), attended: true, passed: true },
            "file_annex1" => Command::FileAnnex1 {
                form: crate::annex::Annex1 {
                    institution_name: String::new(),
                    national_code: String::new(),
                    business_address: String::new(),
                    carrier: crate::annex::Carrier::Unicom,
                    line_form: crate::annex::LineForm::Wired,
                    application_date: Date::MIN,
                    security_equipment: false,
                    equipment_brand: None,
                    equipment_model: None,
                    security_rules: false,
                    legal_representative: String::new(),
                    phone: String::new(),
                    attachments: crate::annex::Attachments {
                        business_licence_copy: false,
                        security_commitment: false,
                        security_org_chart: false,
                        equipment_photos: false,
                    },
                    remarks: None,
                },
            },
            "request_annex2_acceptance" => Command::RequestAnnex2Acceptance,
            "review_annex2" => Command::ReviewAnnex2 { passed: true, reason: None },
            "record_station_acceptance" => Command::RecordStationAcceptance { note: text() },
            "complete_preparation" => Command::CompletePreparation,
            "fail_preparation" => Command::FailPreparation { reason: text() },
            "sign" => Command::Sign { document_sha256: None },
            "countersign" => Command::Countersign { document_sha256: None },
            "comment_agreement" => Command::CommentAgreement { text: text() },
            "revise_agreement" => Command::ReviseAgreement { clauses: Vec::new(), reply: text() },
            "decline_agreement" => Command::DeclineAgreement { reason: text() },
            _ => return None,
        })
    }

    /// Who may send this command: a fixed role, or the actor of a profile step.
    pub(super) fn who(&self) -> Who {
        use Command::*;
        match self {
            UpdateDraft { .. }
            | Submit
            | Withdraw { .. }
            | Supplement { .. }
            | FileAnnex1 { .. }
            | RequestAnnex2Acceptance
            | ConfirmScoreSheet
            | RequestReevaluation
            | Sign { .. }
            | CommentAgreement { .. }
            | DeclineAgreement { .. } => Who::Role(Role::Institution),
            EndNotice
            | DeemWithdrawn
            | DeemGivenUp
            | DeemAnnex2Withdrawn
            | DeemAccepted
            | IssueAgreement { .. }
            | RecalculateDeadlines { .. } => Who::Role(Role::System),
            // --- urc: a verification slot is the verification step's (URC-REV-2) ---
            AttachMaterial { slot, .. } | RemoveMaterial { slot, .. } => Who::Slot(slot.clone()),
            IssueSupplementNotice { .. } => Who::Step(Step::CompletenessCheck),
            Accept | ScheduleEvaluation { .. } => Who::Step(Step::Acceptance),
            Reject { .. } | OverrideConditions { .. } => Who::StateStep,
            PassInitialReview => Who::Step(Step::InitialReview),
            PassVerification { .. } | Terminate { .. } => Who::Step(Step::InfoVerification),
            JoinRound { .. } | StartSiteEvaluation { .. } => Who::Step(Step::EvaluatorDraw),
            RecordSiteEvaluation { .. } => Who::Step(Step::SiteEvaluation),
            RecordExpertReview { .. } => Who::Step(Step::ExpertReview),
            Decide { .. } => Who::Step(Step::CollectiveDecision),
            PublishNotice | ResolveComplaint { .. } => Who::Step(Step::PublicNotice),
            // URC-RES-1: the centre that decided files; the administration acknowledges.
            FileWithAdministration { .. } => Who::Step(Step::CollectiveDecision),
            AcknowledgeFiling { .. } => Who::Role(Role::Admin),
            // A complaint is recorded by the agency, or by the system on behalf of the public.
            RecordComplaint { .. } => Who::StepOrSystem(Step::PublicNotice),
            CompletePreparation
            | FailPreparation { .. }
            | RecordTraining { .. }
            | VerifyChecklistItem { .. }
            | ReviewAnnex2 { .. }
            | RecordStationAcceptance { .. } => Who::Step(Step::PresignPreparation),
            Countersign { .. } | ReviseAgreement { .. } => Who::Step(Step::Signing),
        }
    }
}

pub(super) enum Who {
    Role(Role),
    Step(Step),
    /// The actor of the step that owns the current state.
    StateStep,
    /// The step's actor, or the system acting for someone without an account (the public).
    StepOrSystem(Step),
    /// Whoever fills this material slot: the institution, or for a verification slot the
    /// information-verification step's actor (URC-REV-2).
    Slot(String),
}

/// The facts beyond the application that a command's decision reads; the store loads these.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Needs {
    /// Bans in force against the institution (G-BANS).
    pub bans: bool,
    /// The institution's and its people's record (the not-accepted rules).
    pub history: bool,
    /// The city's open rounds.
    pub open_rounds: bool,
    /// The institution's earlier applications (G-FOLLOWS).
    pub prior: bool,
    /// The district's planning figures (URC-REV-1).
    pub planning: bool,
}

impl Needs {
    pub const ALL: Needs = Needs { bans: true, history: true, open_rounds: true, prior: true, planning: true };
}
