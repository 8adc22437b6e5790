//! The application state machine: commands → events → state. `decide` checks who may do what,
//! where and when, and returns the events a command produces; `AppState::apply` folds events into
//! the current state. No I/O and no clock: today's date comes in through `Ctx`.
//!
//! States follow DESIGN.md; a profile enables the states its steps own, and `Profile::next_after`
//! gives each forward move its target, so a profile enables exactly the transitions its steps imply.

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::calendar::Calendar;
use crate::deadline::{self, Due};
use crate::eligibility::{self, Declaration, Finding, Record};
use crate::policy::{BanTrigger, Expiry, FileType, MaterialPhase, Profile, Step};
pub use crate::refusal::Refusal;
pub use crate::visibility::{Grouping, Scope, can_read};
use crate::vocabulary::InstitutionKind;
pub use crate::vocabulary::{ALL_ROLES, ALL_STATES, Actor, Role, State};

/// One item of a supplement notice (HRB-ACC-1, G-ONE-NOTICE).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SupplementItem {
    /// A material slot id of the profile.
    pub slot: String,
    pub problem: Problem,
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Problem {
    Missing,
    Defective,
}

/// A stored file attached to a material slot. The bytes live in file storage under their
/// SHA-256; the user's file name is data, never a path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileRef {
    pub sha256: String,
    pub size: u64,
    pub file_type: FileType,
    pub name: String,
}

/// HRB-PRE-2's system-work checklist.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChecklistItem {
    /// ① network-security equipment.
    NetworkSecurity,
    /// ② the dedicated line (Annex 1).
    DedicatedLine,
    /// ③ the 进销存 upload interface to the provincial platform.
    InventoryInterface,
    /// ④ the e-prescription flow accepted in the test environment (Annex 2).
    EPrescription,
    /// ⑤ the real-name device, when rolled out.
    RealNameDevice,
}

impl ChecklistItem {
    pub const ALL: [ChecklistItem; 5] = [
        ChecklistItem::NetworkSecurity,
        ChecklistItem::DedicatedLine,
        ChecklistItem::InventoryInterface,
        ChecklistItem::EPrescription,
        ChecklistItem::RealNameDevice,
    ];

    pub fn zh(self) -> &'static str {
        match self {
            ChecklistItem::NetworkSecurity => "① 配备网络安全设备",
            ChecklistItem::DedicatedLine => "② 开通医保专线（附件1备案）",
            ChecklistItem::InventoryInterface => "③ 完成进销存数据上传省平台接口改造",
            ChecklistItem::EPrescription => "④ 处方流转测试环境验收通过（附件2）",
            ChecklistItem::RealNameDevice => "⑤ 配备实名认证设备（适时推进）",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ChecklistItem::NetworkSecurity => "network_security",
            ChecklistItem::DedicatedLine => "dedicated_line",
            ChecklistItem::InventoryInterface => "inventory_interface",
            ChecklistItem::EPrescription => "e_prescription",
            ChecklistItem::RealNameDevice => "real_name_device",
        }
    }

    /// The material slot holding the institution's evidence for this item.
    pub fn evidence_slot(self) -> &'static str {
        match self {
            ChecklistItem::NetworkSecurity => "evidence_network_security",
            ChecklistItem::DedicatedLine => "annex1_materials",
            ChecklistItem::InventoryInterface => "evidence_inventory_interface",
            ChecklistItem::EPrescription => "annex2_package",
            ChecklistItem::RealNameDevice => "evidence_real_name_device",
        }
    }
}

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

impl FileRef {
    /// A stand-in file of this type, to ask whether a slot takes a file now before any byte of
    /// the real one is read.
    pub fn probe(file_type: FileType) -> FileRef {
        FileRef { sha256: "0".repeat(64), size: 1, file_type, name: "probe".into() }
    }

    /// "512 字节", "12.3 KB", "1.5 MB".
    pub fn size_label(&self) -> String {
        match self.size {
            n if n < 1024 => format!("{n} 字节"),
            n if n < 1024 * 1024 => format!("{:.1} KB", n as f64 / 1024.0),
            n => format!("{:.1} MB", n as f64 / (1024.0 * 1024.0)),
        }
    }
}

/// A reason for a refusal or rejection, citing the rule where there is one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reason {
    #[serde(default)]
    pub rule: Option<String>,
    pub text: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Pass,
    Fail,
}

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
    /// URC-REV-2.
    PassVerification,
    /// URC-REV-2: mismatch or serious violation.
    Terminate {
        reason: String,
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
    },
    /// HRB-EVAL-3 / URC-RES-1.
    RequestReevaluation,
    /// HRB-NOTICE / URC-RES-2.
    PublishNotice,
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
    /// HRB-SIGN / URC-SIGN: the institution signs first…
    Sign,
    /// …then the agency.
    Countersign,
    /// System: notice period over (HRB-NOTICE / URC-RES-2).
    EndNotice,
    /// System: HRB-ACC-2 supplement overdue.
    DeemWithdrawn,
    /// System: HRB-SIGN / URC-SIGN window missed.
    DeemGivenUp,
    /// System: HRB-ANNEX2 resubmission window missed.
    DeemAnnex2Withdrawn,
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
            Command::PassVerification => "pass_verification",
            Command::Terminate { .. } => "terminate",
            Command::JoinRound { .. } => "join_round",
            Command::StartSiteEvaluation { .. } => "start_site_evaluation",
            Command::RecordSiteEvaluation { .. } => "record_site_evaluation",
            Command::ConfirmScoreSheet => "confirm_score_sheet",
            Command::RecordExpertReview { .. } => "record_expert_review",
            Command::Decide { .. } => "decide",
            Command::RequestReevaluation => "request_reevaluation",
            Command::PublishNotice => "publish_notice",
            Command::RecordComplaint { .. } => "record_complaint",
            Command::ResolveComplaint { .. } => "resolve_complaint",
            Command::RecordTraining { .. } => "record_training",
            Command::VerifyChecklistItem { .. } => "verify_checklist_item",
            Command::FileAnnex1 { .. } => "file_annex1",
            Command::RequestAnnex2Acceptance => "request_annex2_acceptance",
            Command::ReviewAnnex2 { .. } => "review_annex2",
            Command::RecordStationAcceptance { .. } => "record_station_acceptance",
            Command::DeemAnnex2Withdrawn => "deem_annex2_withdrawn",
            Command::IssueAgreement { .. } => "issue_agreement",
            Command::CompletePreparation => "complete_preparation",
            Command::FailPreparation { .. } => "fail_preparation",
            Command::Sign => "sign",
            Command::Countersign => "countersign",
            Command::EndNotice => "end_notice",
            Command::DeemWithdrawn => "deem_withdrawn",
            Command::DeemGivenUp => "deem_given_up",
            Command::RecalculateDeadlines { .. } => "recalculate_deadlines",
        }
    }

    /// What this command's decision reads beyond the application; the store loads exactly this.
    pub fn needs(&self) -> Needs {
        match self {
            // G-BANS and the not-accepted rules at submission (URC-REJ-*).
            Command::Submit => Needs { bans: true, history: true, open_rounds: false },
            // URC-REV-2: the not-accepted rules again, against today's record.
            Command::PassVerification => Needs { history: true, ..Needs::default() },
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
            "pass_verification" => Command::PassVerification,
            "terminate" => Command::Terminate { reason: text() },
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
            "decide" => Command::Decide { outcome: Outcome::Pass, reasons: Vec::new(), rectification: None },
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
            "sign" => Command::Sign,
            "countersign" => Command::Countersign,
            _ => return None,
        })
    }

    /// Who may send this command: a fixed role, or the actor of a profile step.
    fn who(&self) -> Who {
        use Command::*;
        match self {
            UpdateDraft { .. }
            | Submit
            | Withdraw { .. }
            | Supplement { .. }
            | AttachMaterial { .. }
            | RemoveMaterial { .. }
            | FileAnnex1 { .. }
            | RequestAnnex2Acceptance
            | ConfirmScoreSheet
            | RequestReevaluation
            | Sign => Who::Role(Role::Institution),
            EndNotice | DeemWithdrawn | DeemGivenUp | DeemAnnex2Withdrawn | IssueAgreement { .. } | RecalculateDeadlines { .. } => {
                Who::Role(Role::System)
            }
            IssueSupplementNotice { .. } => Who::Step(Step::CompletenessCheck),
            Accept | ScheduleEvaluation { .. } => Who::Step(Step::Acceptance),
            Reject { .. } | OverrideConditions { .. } => Who::StateStep,
            PassInitialReview => Who::Step(Step::InitialReview),
            PassVerification | Terminate { .. } => Who::Step(Step::InfoVerification),
            JoinRound { .. } | StartSiteEvaluation { .. } => Who::Step(Step::EvaluatorDraw),
            RecordSiteEvaluation { .. } => Who::Step(Step::SiteEvaluation),
            RecordExpertReview { .. } => Who::Step(Step::ExpertReview),
            Decide { .. } => Who::Step(Step::CollectiveDecision),
            PublishNotice | ResolveComplaint { .. } => Who::Step(Step::PublicNotice),
            // A complaint is recorded by the agency, or by the system on behalf of the public.
            RecordComplaint { .. } => Who::StepOrSystem(Step::PublicNotice),
            CompletePreparation
            | FailPreparation { .. }
            | RecordTraining { .. }
            | VerifyChecklistItem { .. }
            | ReviewAnnex2 { .. }
            | RecordStationAcceptance { .. } => Who::Step(Step::PresignPreparation),
            Countersign => Who::Step(Step::Signing),
        }
    }
}

enum Who {
    Role(Role),
    Step(Step),
    /// The actor of the step that owns the current state.
    StateStep,
    /// The step's actor, or the system acting for someone without an account (the public).
    StepOrSystem(Step),
}

/// Facts recorded on an application. Each variant is one thing that happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    DraftUpdated {
        facts: serde_json::Map<String, serde_json::Value>,
    },
    Submitted {
        profile_id: String,
        profile_version: String,
        /// Conditions not met by the declared facts, listed for the reviewer.
        #[serde(default)]
        unmet: Vec<Finding>,
        /// Material slots without a file at submission, listed for the completeness check.
        #[serde(default)]
        missing_materials: Vec<String>,
    },
    ConditionsOverridden {
        reason: String,
        rules: Vec<String>,
    },
    Withdrawn {
        reason: Option<String>,
        deemed: bool,
    },
    SupplementNoticeIssued {
        items: Vec<SupplementItem>,
        due: Option<Date>,
    },
    Supplemented {
        note: Option<String>,
    },
    MaterialAttached {
        slot: String,
        file: FileRef,
        /// A one-file slot's earlier file, superseded (kept in the history).
        #[serde(default)]
        replaced: Option<String>,
    },
    MaterialRemoved {
        slot: String,
        sha256: String,
    },
    Accepted,
    Rejected {
        reasons: Vec<Reason>,
    },
    EvaluationScheduled {
        date: Option<Date>,
        note: Option<String>,
    },
    InitialReviewPassed,
    VerificationPassed,
    Terminated {
        reason: String,
    },
    JoinedRound {
        round_id: i64,
    },
    SiteEvaluationStarted {
        round_id: i64,
    },
    SiteEvaluationRecorded {
        score: u16,
        notes: Option<String>,
        #[serde(default)]
        items: std::collections::BTreeMap<String, u16>,
        /// The evaluator (user id) who scored.
        #[serde(default)]
        by: i64,
        /// Whether this sheet reaches the pass mark, when the profile has one.
        #[serde(default)]
        passes: Option<bool>,
    },
    ScoreSheetConfirmed,
    ExpertReviewRecorded {
        recommendation: Outcome,
        reasons: Vec<String>,
        rectification: Option<String>,
        #[serde(default)]
        attendees: Vec<String>,
    },
    ResultDecided {
        outcome: Outcome,
        reasons: Vec<String>,
        rectification: Option<String>,
        attempt: u32,
    },
    ReevaluationRequested,
    NoticePublished {
        ends_on: Option<Date>,
    },
    ComplaintRecorded {
        number: u32,
        summary: String,
    },
    ComplaintResolved {
        number: u32,
        founded: bool,
        finding: String,
    },
    NoticeEnded,
    TrainingRecorded {
        session: String,
        attended: bool,
        passed: bool,
        attempt: u32,
    },
    ChecklistItemVerified {
        item: ChecklistItem,
        note: String,
    },
    Annex1Filed {
        form: crate::annex::Annex1,
    },
    Annex2Requested {
        /// The agency's last day to notify the result.
        review_due: Option<Date>,
    },
    Annex2Reviewed {
        passed: bool,
        reason: Option<String>,
        /// After a first failure: the last day to resubmit.
        resubmit_due: Option<Date>,
    },
    Annex2Withdrawn,
    StationAccepted {
        note: String,
    },
    AgreementIssued {
        document: FileRef,
    },
    PreparationCompleted,
    PreparationFailed {
        reason: String,
    },
    /// The institution's signature: who and when are the event's actor and time.
    InstitutionSigned {
        /// SHA-256 of the agreement document signed.
        #[serde(default)]
        document_sha256: Option<String>,
    },
    Countersigned {
        #[serde(default)]
        document_sha256: Option<String>,
    },
    GivenUp {
        reason: String,
        deemed: bool,
    },
    BanImposed {
        rule: String,
        until: Date,
        reason: String,
    },
    DeadlinesRecalculated {
        year: i16,
    },
}

impl Event {
    pub fn kind(&self) -> &'static str {
        match self {
            Event::DraftUpdated { .. } => "draft_updated",
            Event::Submitted { .. } => "submitted",
            Event::Withdrawn { .. } => "withdrawn",
            Event::ConditionsOverridden { .. } => "conditions_overridden",
            Event::SupplementNoticeIssued { .. } => "supplement_notice_issued",
            Event::Supplemented { .. } => "supplemented",
            Event::MaterialAttached { .. } => "material_attached",
            Event::MaterialRemoved { .. } => "material_removed",
            Event::Accepted => "accepted",
            Event::Rejected { .. } => "rejected",
            Event::EvaluationScheduled { .. } => "evaluation_scheduled",
            Event::InitialReviewPassed => "initial_review_passed",
            Event::VerificationPassed => "verification_passed",
            Event::Terminated { .. } => "terminated",
            Event::JoinedRound { .. } => "joined_round",
            Event::SiteEvaluationStarted { .. } => "site_evaluation_started",
            Event::SiteEvaluationRecorded { .. } => "site_evaluation_recorded",
            Event::ScoreSheetConfirmed => "score_sheet_confirmed",
            Event::ExpertReviewRecorded { .. } => "expert_review_recorded",
            Event::ResultDecided { .. } => "result_decided",
            Event::ReevaluationRequested => "reevaluation_requested",
            Event::NoticePublished { .. } => "notice_published",
            Event::ComplaintRecorded { .. } => "complaint_recorded",
            Event::ComplaintResolved { .. } => "complaint_resolved",
            Event::NoticeEnded => "notice_ended",
            Event::PreparationCompleted => "preparation_completed",
            Event::PreparationFailed { .. } => "preparation_failed",
            Event::InstitutionSigned { .. } => "institution_signed",
            Event::Countersigned { .. } => "countersigned",
            Event::TrainingRecorded { .. } => "training_recorded",
            Event::ChecklistItemVerified { .. } => "checklist_item_verified",
            Event::Annex1Filed { .. } => "annex1_filed",
            Event::Annex2Requested { .. } => "annex2_requested",
            Event::Annex2Reviewed { .. } => "annex2_reviewed",
            Event::Annex2Withdrawn => "annex2_withdrawn",
            Event::StationAccepted { .. } => "station_accepted",
            Event::AgreementIssued { .. } => "agreement_issued",
            Event::GivenUp { .. } => "given_up",
            Event::BanImposed { .. } => "ban_imposed",
            Event::DeadlinesRecalculated { .. } => "deadlines_recalculated",
        }
    }

    pub fn zh(&self) -> &'static str {
        match self {
            Event::DraftUpdated { .. } => "保存申请信息",
            Event::Submitted { .. } => "提交申请",
            Event::Withdrawn { deemed: true, .. } => "逾期未补正，视为自动撤回",
            Event::ConditionsOverridden { .. } => "申请条件未全部满足，经审核同意继续办理",
            Event::Withdrawn { .. } => "申请撤回",
            Event::SupplementNoticeIssued { .. } => "一次性告知补正材料",
            Event::Supplemented { .. } => "补正材料",
            Event::MaterialAttached { .. } => "上传材料",
            Event::MaterialRemoved { .. } => "移除材料",
            Event::Accepted => "受理",
            Event::Rejected { .. } => "不予受理",
            Event::EvaluationScheduled { .. } => "安排现场踏查",
            Event::InitialReviewPassed => "初审通过",
            Event::VerificationPassed => "信息核查通过",
            Event::Terminated { .. } => "信息核查不符，终止申请",
            Event::JoinedRound { .. } => "纳入当期评估",
            Event::SiteEvaluationStarted { .. } => "评估人员已抽取，开始现场评估",
            Event::SiteEvaluationRecorded { .. } => "记录现场评估结果",
            Event::ScoreSheetConfirmed => "机构确认评分表",
            Event::ExpertReviewRecorded { .. } => "专家评估",
            Event::ResultDecided { outcome: Outcome::Pass, .. } => "评估通过",
            Event::ResultDecided { .. } => "评估未通过",
            Event::ReevaluationRequested => "申请再次评估",
            Event::NoticePublished { .. } => "发布公示",
            Event::ComplaintRecorded { .. } => "收到投诉举报",
            Event::ComplaintResolved { .. } => "投诉举报调查完毕",
            Event::NoticeEnded => "公示期满",
            Event::PreparationCompleted => "签约前准备完成",
            Event::PreparationFailed { .. } => "签约前准备未完成，视为放弃",
            Event::InstitutionSigned { .. } => "机构签订协议",
            Event::Countersigned { .. } => "经办机构签订协议",
            Event::TrainingRecorded { .. } => "记录培训考试结果",
            Event::ChecklistItemVerified { .. } => "核验系统改造事项",
            Event::Annex1Filed { .. } => "提交专线备案表（附件1）",
            Event::Annex2Requested { .. } => "申请处方流转验收（附件2）",
            Event::Annex2Reviewed { .. } => "通知处方流转验收结果",
            Event::Annex2Withdrawn => "处方流转验收申请视为撤回",
            Event::StationAccepted { .. } => "服务站点建设验收通过",
            Event::AgreementIssued { .. } => "生成协议文本",
            Event::GivenUp { deemed: true, .. } => "逾期未签订协议，视为放弃",
            Event::GivenUp { .. } => "放弃",
            Event::BanImposed { .. } => "记录限制申请期限",
            Event::DeadlinesRecalculated { .. } => "载入节假日安排，重新计算期限",
        }
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
        }
    }
}

impl AppState {
    /// Folds one event (that moved the application to `to` on date `on`) into the state.
    pub fn apply(&mut self, event: &Event, to: State, on: Date) {
        match event {
            Event::DraftUpdated { facts } => self.facts.extend(facts.clone()),
            Event::Submitted { unmet, missing_materials, .. } => {
                self.submitted_on = Some(self.submitted_on.unwrap_or(on));
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

/// An active ban on the applying institution or its people (G-BANS).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ActiveBan {
    pub rule: String,
    pub until: Date,
    pub reason: String,
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
}

impl<'a> Ctx<'a> {
    /// A context with nothing loaded beyond the rules, the calendar and the day.
    pub fn new(profile: &'a Profile, calendar: &'a Calendar, today: Date, kind: InstitutionKind) -> Ctx<'a> {
        Ctx { profile, calendar, today, bans: &[], kind, history: &[], institution: None, open_rounds: &[] }
    }
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
}

impl Needs {
    pub const ALL: Needs = Needs { bans: true, history: true, open_rounds: true };
}

/// The events a command produces and the state it leads to.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub events: Vec<Event>,
    pub to: State,
}

/// The declared facts of an application, parsed.
pub fn declaration(facts: &serde_json::Map<String, serde_json::Value>) -> Result<Declaration, Refusal> {
    serde_json::from_value(serde_json::Value::Object(facts.clone()))
        .map_err(|e| Refusal::Invalid { field: "facts", reason: format!("申报信息有误：{e}") })
}

/// HRB-SCOPE / URC-SCOPE: may this profile take an application from this kind of institution?
pub fn check_kind(profile: &Profile, kind: InstitutionKind) -> Result<(), Refusal> {
    if profile.kinds.contains(&kind) { Ok(()) } else { Err(Refusal::KindNotServed { profile: profile.id.clone(), kind }) }
}

/// Decides a command: checks scope, role and state, and returns the events it produces.
pub fn decide(ctx: &Ctx<'_>, scope: &Scope, st: &AppState, actor: &Actor, cmd: &Command) -> Result<Decision, Refusal> {
    can_read(actor, scope, ctx.today)?;
    let p = ctx.profile;
    let required = match cmd.who() {
        Who::Role(r) => Some(r),
        Who::Step(step) => p.step(step).map(|s| s.actor),
        Who::StateStep => Step::owning(st.state).and_then(|s| p.step(s)).map(|s| s.actor),
        Who::StepOrSystem(_) if actor.role == Role::System => Some(Role::System),
        Who::StepOrSystem(step) => p.step(step).map(|s| s.actor),
    };
    let not_here = || Refusal::NotAllowedInState { state: st.state, command: cmd.name() };
    match required {
        Some(r) if r != actor.role => return Err(Refusal::NotYourRole { required: r }),
        Some(_) => {}
        // The command's step is not part of this profile.
        None => return Err(not_here()),
    }
    let s = st.state;
    let go = |events: Vec<Event>, to: State| Ok(Decision { events, to });
    let advance = |event: Event| Ok(Decision { events: vec![event], to: p.next_after(s) });
    match cmd {
        Command::UpdateDraft { facts } if s == State::Draft => {
            let mut merged = st.facts.clone();
            merged.extend(facts.clone());
            declaration(&merged)?;
            go(vec![Event::DraftUpdated { facts: facts.clone() }], s)
        }
        Command::Submit if s == State::Draft => {
            if let Some(ban) = ctx.bans.iter().filter(|b| b.until > ctx.today).max_by_key(|b| b.until) {
                return Err(Refusal::Banned { until: ban.until, rule: ban.rule.clone() });
            }
            let d = declaration(&st.facts)?;
            let findings = eligibility::not_accepted(p, ctx.kind, &d, ctx.history, ctx.today);
            if !findings.is_empty() {
                return Err(Refusal::NotAccepted { findings });
            }
            let unmet = eligibility::unmet(p, ctx.kind, &d, ctx.today);
            if !unmet.is_empty() && p.unmet_conditions == eligibility::OnUnmet::Refuse {
                return Err(Refusal::ConditionsUnmet { findings: unmet });
            }
            let missing_materials = p
                .materials_for(ctx.kind, MaterialPhase::Application)
                .filter(|m| st.materials.get(&m.id).is_none_or(Vec::is_empty))
                .map(|m| m.id.clone())
                .collect();
            let submitted = Event::Submitted { profile_id: p.id.clone(), profile_version: p.version.clone(), unmet, missing_materials };
            go(vec![submitted], p.next_after(State::Draft))
        }
        Command::OverrideConditions { reason }
            if matches!(s, State::Submitted | State::InitialReview) && !st.unmet_conditions.is_empty() =>
        {
            let rules = st.unmet_conditions.iter().map(|f| f.rule.clone()).collect();
            go(vec![Event::ConditionsOverridden { reason: required_text("reason", reason)?, rules }], s)
        }
        Command::Withdraw { reason } if !s.is_terminal() => {
            go(vec![Event::Withdrawn { reason: non_empty(reason), deemed: false }], State::Withdrawn)
        }
        Command::IssueSupplementNotice { items } if s == State::Submitted => {
            if st.supplement_notices > 0 {
                return Err(Refusal::SecondSupplementNotice);
            }
            validate_items(p, ctx.kind, items)?;
            // A due date in a year without calendar data stays open (flagged on the clock); the
            // notice itself must not wait for the calendar.
            let due = expiry_due(ctx, Expiry::DeemWithdrawn, ctx.today).ok();
            go(vec![Event::SupplementNoticeIssued { items: items.clone(), due }], State::AwaitingSupplement)
        }
        Command::Supplement { note } if s == State::AwaitingSupplement => {
            within(ctx, st, Expiry::DeemWithdrawn)?;
            // HRB-ACC-2: every reopened slot must have received a file since the notice.
            let names: Vec<String> = st
                .open_slots
                .iter()
                .filter(|slot| !st.supplemented_slots.contains(slot))
                .map(|slot| p.material(slot).map_or_else(|| slot.clone(), |m| m.name.clone()))
                .collect();
            if !names.is_empty() {
                return Err(Refusal::SupplementIncomplete { names });
            }
            go(vec![Event::Supplemented { note: non_empty(note) }], State::Submitted)
        }
        Command::AttachMaterial { slot, file } => {
            let m = open_slot(ctx, st, slot, cmd.name())?;
            if !m.types.contains(&file.file_type) {
                return Err(invalid("file", format!("“{}”只接受 {} 文件。", m.name, m.types_label())));
            }
            if file.size == 0 {
                return Err(invalid("file", "文件是空的，请选择正确的文件重新上传。"));
            }
            if file.size > m.max_bytes() {
                return Err(invalid("file", format!("文件超过“{}”的大小上限 {} MB。", m.name, m.max_mb)));
            }
            if file.sha256.len() != 64 || !file.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(invalid("file", "文件摘要无效。"));
            }
            let name = required_text("file", &file.name)?;
            let current = st.materials.get(slot).map(Vec::as_slice).unwrap_or_default();
            if current.iter().any(|f| f.sha256 == file.sha256) {
                return Err(invalid("file", format!("同一文件已上传到“{}”。", m.name)));
            }
            if m.multiple && current.len() >= MAX_FILES_PER_SLOT {
                return Err(invalid("file", format!("“{}”最多上传 {MAX_FILES_PER_SLOT} 个文件。", m.name)));
            }
            let replaced = if m.multiple { None } else { current.first().map(|f| f.sha256.clone()) };
            let file = FileRef { name, ..file.clone() };
            go(vec![Event::MaterialAttached { slot: slot.clone(), file, replaced }], s)
        }
        Command::RemoveMaterial { slot, sha256 } => {
            open_slot(ctx, st, slot, cmd.name())?;
            if !st.materials.get(slot).is_some_and(|fs| fs.iter().any(|f| &f.sha256 == sha256)) {
                return Err(invalid("sha256", "该材料中没有这个文件。"));
            }
            go(vec![Event::MaterialRemoved { slot: slot.clone(), sha256: sha256.clone() }], s)
        }
        Command::Accept if s == State::Submitted => {
            unmet_settled(st)?;
            advance(Event::Accepted)
        }
        Command::Reject { reasons } if matches!(s, State::Submitted | State::InitialReview) => {
            if reasons.is_empty() || reasons.iter().any(|r| r.text.trim().is_empty()) {
                return Err(invalid("reasons", "不予受理须逐条说明理由。"));
            }
            go(vec![Event::Rejected { reasons: reasons.clone() }], State::Rejected)
        }
        Command::ScheduleEvaluation { date, note } if s == State::Accepted => {
            advance(Event::EvaluationScheduled { date: *date, note: non_empty(note) })
        }
        Command::PassInitialReview if s == State::InitialReview => {
            unmet_settled(st)?;
            advance(Event::InitialReviewPassed)
        }
        // URC-REV-2: the not-accepted rules are checked again against today's record.
        Command::PassVerification if s == State::InfoVerification => {
            let findings = eligibility::not_accepted(p, ctx.kind, &declaration(&st.facts)?, ctx.history, ctx.today);
            if !findings.is_empty() {
                return Err(Refusal::NotAccepted { findings });
            }
            advance(Event::VerificationPassed)
        }
        Command::Terminate { reason } if s == State::InfoVerification => {
            go(vec![Event::Terminated { reason: required_text("reason", reason)? }], State::Terminated)
        }
        Command::JoinRound { round_id } if s == State::EvaluatorDraw && st.round_id.is_none() => {
            // URC-EVAL-1: a round of this city that has not started drawing.
            if !ctx.open_rounds.contains(round_id) {
                return Err(invalid("round_id", "评估批次不存在或已开始。"));
            }
            go(vec![Event::JoinedRound { round_id: *round_id }], s)
        }
        Command::StartSiteEvaluation { round_id } if s == State::EvaluatorDraw => {
            if st.round_id != Some(*round_id) {
                return Err(invalid("round_id", "该申请未纳入此评估批次。"));
            }
            // URC-EVAL-1: where the profile draws evaluators, the site evaluation starts only
            // with the draw (a round started without one would have nobody to score it).
            if p.evaluation.is_some() && scope.grouping.is_none() {
                return Err(Refusal::NotNow {
                    reason: "须先抽取评估人员并随机分组后，方可开始现场评估（URC-EVAL-1）。".into()
                });
            }
            advance(Event::SiteEvaluationStarted { round_id: *round_id })
        }
        // Each evaluator scores once; without a confirmation step one score completes the step.
        Command::RecordSiteEvaluation { score, items, notes }
            if s == State::OnSiteEvaluation
                && !st.score_confirmed
                && !st.site_scores.iter().any(|(by, _)| *by == actor.user_id)
                && (p.step(Step::SiteEvaluation).is_some_and(|c| c.score_sheet_confirmation) || !st.site_recorded) =>
        {
            // URC-EVAL-1 / URC-EVAL-2: in a drawn round only the evaluators grouped with the
            // institution score it (`can_read` let only those, and only from the reveal, this
            // far), and nobody scores before the visit day.
            if let Some(g) = &scope.grouping {
                if actor.role == Role::Evaluator && !g.includes(actor.evaluator_id.as_deref()) {
                    return Err(Refusal::NotAssigned);
                }
                if let Some(visit) = g.visit_on.filter(|v| ctx.today < *v) {
                    return Err(Refusal::TooEarly { earliest: visit, rule: "URC-EVAL-2".into() });
                }
            }
            let passes = check_sheet(p.score_sheet(ctx.kind), *score, items)?;
            let event =
                Event::SiteEvaluationRecorded { score: *score, notes: non_empty(notes), items: items.clone(), by: actor.user_id, passes };
            let confirm = p.step(Step::SiteEvaluation).is_some_and(|c| c.score_sheet_confirmation);
            if confirm { go(vec![event], s) } else { advance(event) }
        }
        Command::ConfirmScoreSheet if s == State::OnSiteEvaluation && !st.score_confirmed => {
            if !st.site_recorded {
                return Err(invalid("score_sheet", "评估人员尚未录入评分，暂不能确认。"));
            }
            // URC-EVAL-2: the institution signs the sheet once every grouped evaluator has scored.
            if let Some(g) = scope.grouping.as_ref().filter(|g| st.site_scores.len() < g.evaluators.len()) {
                return Err(invalid(
                    "score_sheet",
                    format!("抽取的 {} 名评估人员中已有 {} 名评分，全部评分后方可确认。", g.evaluators.len(), st.site_scores.len()),
                ));
            }
            advance(Event::ScoreSheetConfirmed)
        }
        Command::RecordExpertReview { recommendation, reasons, rectification, attendees } if s == State::ExpertReview => {
            let attendees: Vec<String> = attendees.iter().map(|a| a.trim().to_owned()).filter(|a| !a.is_empty()).collect();
            if p.has(Step::CollectiveDecision) && attendees.is_empty() {
                return Err(invalid("attendees", "须记录参加评估的专家，由其签字确认评估结果（URC-EVAL-3）。"));
            }
            let review = Event::ExpertReviewRecorded {
                recommendation: *recommendation,
                reasons: reasons.clone(),
                rectification: rectification.clone(),
                attendees,
            };
            if p.has(Step::CollectiveDecision) {
                return advance(review);
            }
            let mut d = result(ctx, st, *recommendation, reasons, rectification)?;
            d.events.insert(0, review);
            Ok(d)
        }
        Command::Decide { outcome, reasons, rectification } if s == State::CollectiveDecision => {
            result(ctx, st, *outcome, reasons, rectification)
        }
        Command::RequestReevaluation if s == State::FailedRectifying => {
            let re = p.reevaluation.as_ref().ok_or_else(not_here)?;
            let served = st.result_served_on.unwrap_or(ctx.today);
            let earliest = deadline::checked_earliest(served, re.wait).map_err(|e| Refusal::DateOutOfRange { start: e.start })?;
            if ctx.today < earliest {
                return Err(Refusal::TooEarly { earliest, rule: re.rule.clone() });
            }
            go(vec![Event::ReevaluationRequested], re.reenter)
        }
        Command::PublishNotice if s == State::Passed => {
            let ends_on = expiry_due(ctx, Expiry::EndNotice, ctx.today).ok();
            go(vec![Event::NoticePublished { ends_on }], State::PublicNotice)
        }
        Command::RecordComplaint { summary } if s == State::PublicNotice => {
            let number = u32::try_from(st.complaints.len()).unwrap_or(u32::MAX).saturating_add(1);
            go(vec![Event::ComplaintRecorded { number, summary: required_text("summary", summary)? }], s)
        }
        Command::ResolveComplaint { number, founded, finding } if s == State::PublicNotice => {
            if !st.complaints.iter().any(|c| c.number == *number && c.open) {
                return Err(invalid("number", "没有该编号的待处理投诉。"));
            }
            let resolved = Event::ComplaintResolved { number: *number, founded: *founded, finding: required_text("finding", finding)? };
            if *founded {
                return go(vec![resolved], State::NotSigned);
            }
            let over = expired(ctx, st, Expiry::EndNotice).is_ok();
            if over && st.open_complaints() == 1 { go(vec![resolved, Event::NoticeEnded], p.next_after(s)) } else { go(vec![resolved], s) }
        }
        Command::EndNotice if s == State::PublicNotice => {
            expired(ctx, st, Expiry::EndNotice)?;
            if st.open_complaints() > 0 {
                return Err(Refusal::OpenComplaints);
            }
            advance(Event::NoticeEnded)
        }
        Command::CompletePreparation if s == State::PresignPreparation => {
            let cfg = preparation(p)?;
            let prep = &st.prep;
            let mut missing = Vec::new();
            if !prep.training_passed() {
                missing.push("培训考试未通过（HRB-PRE-1）".to_owned());
            }
            for item in ChecklistItem::ALL {
                if item == ChecklistItem::RealNameDevice && !cfg.real_name_device {
                    continue;
                }
                if !prep.verified.contains_key(&item) {
                    missing.push(format!("{} 未核验（HRB-PRE-2）", item.zh()));
                }
            }
            if prep.annex1.is_none() {
                missing.push("专线备案表（附件1）未提交（HRB-ANNEX1）".to_owned());
            }
            if prep.station_accepted.is_none() {
                missing.push("服务站点建设未验收（HRB-PRE-3）".to_owned());
            }
            if !missing.is_empty() {
                return Err(Refusal::PreparationIncomplete { missing });
            }
            advance(Event::PreparationCompleted)
        }
        Command::FailPreparation { reason } if s == State::PresignPreparation => {
            let reason = required_text("reason", reason)?;
            let mut events = vec![Event::PreparationFailed { reason: reason.clone() }];
            events.extend(ban(ctx, BanTrigger::PresignGiveUp, &reason));
            go(events, State::GivenUp)
        }
        Command::Sign if s == State::ReadyToSign && !st.institution_signed => {
            within(ctx, st, Expiry::DeemGivenUp)?;
            go(vec![Event::InstitutionSigned { document_sha256: st.agreement.as_ref().map(|d| d.sha256.clone()) }], s)
        }
        Command::IssueAgreement { document } if s == State::ReadyToSign && !st.institution_signed => {
            go(vec![Event::AgreementIssued { document: document.clone() }], s)
        }
        Command::RecordTraining { session, attended, passed } if s == State::PresignPreparation => {
            let cfg = preparation(p)?;
            if st.prep.training_passed() {
                return Err(Refusal::NotNow { reason: "培训考试已通过，无需再次记录。".into() });
            }
            if *passed && !*attended {
                return Err(invalid("passed", "未参加培训的不能记为考试通过。"));
            }
            let session = required_text("session", session)?;
            let attempt = u32::try_from(st.prep.training.len()).unwrap_or(u32::MAX).saturating_add(1);
            let mut events = vec![Event::TrainingRecorded { session, attended: *attended, passed: *passed, attempt }];
            // HRB-PRE-4: not attending or failing, with the one retest used up, is giving up.
            if !*passed && attempt >= cfg.training_attempts {
                let reason = if *attended {
                    "培训考试补考仍未通过（HRB-PRE-4）"
                } else {
                    "未参加培训考试且补考机会已用完（HRB-PRE-4）"
                };
                events.push(Event::PreparationFailed { reason: reason.into() });
                events.extend(ban(ctx, BanTrigger::PresignGiveUp, reason));
                return go(events, State::GivenUp);
            }
            go(events, s)
        }
        Command::VerifyChecklistItem { item, note } if s == State::PresignPreparation => {
            preparation(p)?;
            let note = required_text("note", note)?;
            if *item == ChecklistItem::EPrescription {
                return Err(invalid("item", "④ 由处方流转验收结果确定，请通过“通知验收结果”办理。"));
            }
            if *item == ChecklistItem::DedicatedLine && st.prep.annex1.is_none() {
                return Err(invalid("item", "机构尚未提交专线备案表（附件1），暂不能核验 ②。"));
            }
            if st.materials.get(item.evidence_slot()).is_none_or(Vec::is_empty) {
                return Err(invalid("item", format!("机构尚未上传“{}”的证明材料。", item.zh())));
            }
            go(vec![Event::ChecklistItemVerified { item: *item, note }], s)
        }
        Command::FileAnnex1 { form } if s == State::PresignPreparation => {
            preparation(p)?;
            // HRB-ANNEX1: the form names the institution itself, with its national code.
            let inst = ctx.institution.cloned().unwrap_or_default();
            let code = inst
                .national_code
                .or_else(|| st.facts.get("national_code").and_then(|v| v.as_str()).map(str::to_owned))
                .unwrap_or_default();
            if let Err(errors) = form.validate(&inst.name, &code, ctx.today) {
                let field = errors.first().map_or("form", |e| e.field);
                let reason = errors.iter().map(|e| e.message.clone()).collect::<Vec<_>>().join(" ");
                return Err(Refusal::Invalid { field, reason });
            }
            go(vec![Event::Annex1Filed { form: form.clone() }], s)
        }
        Command::RequestAnnex2Acceptance if s == State::PresignPreparation => {
            let cfg = preparation(p)?;
            let a = &st.prep.annex2;
            if a.accepted || a.pending {
                let reason =
                    if a.accepted { "处方流转验收已通过。" } else { "验收申请正在审核中，请等待结果通知。" };
                return Err(Refusal::NotNow { reason: reason.into() });
            }
            if a.withdrawn {
                return Err(Refusal::NotNow {
                    reason: "验收未通过后未在期限内重新提交，验收申请已视为撤回（HRB-ANNEX2）。".into()
                });
            }
            if a.requests >= 1 {
                match a.resubmit_due {
                    Some(due) if ctx.today > due => {
                        return Err(Refusal::DeadlinePassed { due, rule: "HRB-ANNEX2".into() });
                    }
                    Some(_) => {}
                    None => return Err(Refusal::NotNow { reason: "验收只能重新提交一次（HRB-ANNEX2）。".into() }),
                }
            }
            if st.materials.get(ChecklistItem::EPrescription.evidence_slot()).is_none_or(Vec::is_empty) {
                return Err(invalid("annex2", "请先上传处方流转验收材料压缩包（录屏视频和盖章验收单）。"));
            }
            let review_due = working_days_after(ctx, ctx.today, cfg.annex2_review_working_days);
            go(vec![Event::Annex2Requested { review_due }], s)
        }
        Command::ReviewAnnex2 { passed, reason } if s == State::PresignPreparation => {
            let cfg = preparation(p)?;
            if !st.prep.annex2.pending {
                return Err(Refusal::NotNow { reason: "没有待审核的处方流转验收申请。".into() });
            }
            let reason = non_empty(reason);
            if !*passed && reason.is_none() {
                return Err(invalid("reason", "验收未通过须说明原因，便于机构整改后重新提交。"));
            }
            // One resubmission window, after the first failure only.
            let resubmit_due = if !*passed && st.prep.annex2.requests == 1 {
                working_days_after(ctx, ctx.today, cfg.annex2_resubmit_working_days)
            } else {
                None
            };
            go(vec![Event::Annex2Reviewed { passed: *passed, reason, resubmit_due }], s)
        }
        Command::DeemAnnex2Withdrawn if s == State::PresignPreparation => match st.prep.annex2.resubmit_due {
            Some(due) if ctx.today > due && !st.prep.annex2.pending => go(vec![Event::Annex2Withdrawn], s),
            due => Err(Refusal::NotYetDue { due }),
        },
        Command::RecordStationAcceptance { note } if s == State::PresignPreparation => {
            preparation(p)?;
            if st.prep.station_accepted.is_some() {
                return Err(Refusal::NotNow { reason: "服务站点验收已记录。".into() });
            }
            go(vec![Event::StationAccepted { note: required_text("note", note)? }], s)
        }
        Command::Countersign if s == State::ReadyToSign => {
            if !st.institution_signed {
                return Err(invalid("signature", "机构尚未签订协议，经办机构暂不能签订。"));
            }
            go(vec![Event::Countersigned { document_sha256: st.agreement.as_ref().map(|d| d.sha256.clone()) }], State::Signed)
        }
        Command::RecalculateDeadlines { year } if !s.is_terminal() => go(vec![Event::DeadlinesRecalculated { year: *year }], s),
        Command::DeemWithdrawn if s == State::AwaitingSupplement => {
            expired(ctx, st, Expiry::DeemWithdrawn)?;
            go(vec![Event::Withdrawn { reason: Some("逾期未补正材料（HRB-ACC-2）".into()), deemed: true }], State::Withdrawn)
        }
        // Once the institution has signed, a late countersignature is the agency's delay, not a
        // give-up by the applicant.
        Command::DeemGivenUp if s == State::ReadyToSign && !st.institution_signed => {
            expired(ctx, st, Expiry::DeemGivenUp)?;
            let rule = p.clock_with_expiry(Expiry::DeemGivenUp).map(|c| c.rule.clone()).unwrap_or_default();
            let reason = format!("逾期未签订协议（{rule}）");
            let mut events = vec![Event::GivenUp { reason: reason.clone(), deemed: true }];
            events.extend(ban(ctx, BanTrigger::SigningGiveUp, &reason));
            go(events, State::GivenUp)
        }
        _ => Err(not_here()),
    }
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

/// HRB-EVAL-3 / URC-RES-1: a pass, a first failure (rectify, may be re-evaluated), or a second
/// failure (final, with a ban).
fn result(ctx: &Ctx<'_>, st: &AppState, outcome: Outcome, reasons: &[String], rectification: &Option<String>) -> Result<Decision, Refusal> {
    let attempt = st.failures.saturating_add(1);
    let decided = Event::ResultDecided { outcome, reasons: reasons.to_vec(), rectification: rectification.clone(), attempt };
    if outcome == Outcome::Pass {
        return Ok(Decision { events: vec![decided], to: State::Passed });
    }
    if reasons.iter().all(|r| r.trim().is_empty()) {
        return Err(invalid("reasons", "评估未通过须说明理由。"));
    }
    if st.failures == 0 && ctx.profile.reevaluation.is_some() {
        if rectification.as_deref().is_none_or(|r| r.trim().is_empty()) {
            return Err(invalid("rectification", "评估未通过须提出整改意见（HRB-EVAL-3）。"));
        }
        return Ok(Decision { events: vec![decided], to: State::FailedRectifying });
    }
    let mut events = vec![decided];
    events.extend(ban(ctx, BanTrigger::SecondFailure, "再次评估未通过"));
    Ok(Decision { events, to: State::FailedFinal })
}

fn ban(ctx: &Ctx<'_>, on: BanTrigger, reason: &str) -> Option<Event> {
    ctx.profile.ban(on).map(|b| Event::BanImposed {
        rule: b.rule.clone(),
        until: deadline::earliest(ctx.today, b.length),
        reason: reason.to_owned(),
    })
}

/// The due date of the clock with this consequence, counted from `start`.
fn expiry_due(ctx: &Ctx<'_>, e: Expiry, start: Date) -> Result<Date, Refusal> {
    let clock = ctx.profile.clock_with_expiry(e).ok_or(Refusal::NotYetDue { due: None })?;
    let due: Due = deadline::compute(start, clock.budget, &[], ctx.calendar);
    match (due.due, due.missing_year) {
        (Some(d), _) => Ok(d),
        (None, _) if due.out_of_range => Err(Refusal::DateOutOfRange { start }),
        (None, y) => Err(Refusal::MissingCalendar(y.unwrap_or(start.year()))),
    }
}

/// For system commands: the clock must have run out (today is past its last day).
fn expired(ctx: &Ctx<'_>, st: &AppState, e: Expiry) -> Result<(), Refusal> {
    let due = expiry_due(ctx, e, st.entered_on.unwrap_or(ctx.today))?;
    if ctx.today > due { Ok(()) } else { Err(Refusal::NotYetDue { due: Some(due) }) }
}

/// For the applicant's own acts: the clock must not have run out (the period ends at 24:00 of its
/// last day, LAW-HOLIDAY-END), even if the system has not fired the consequence yet.
/// A period whose end cannot be computed (calendar year missing) has not ended for the applicant.
fn within(ctx: &Ctx<'_>, st: &AppState, e: Expiry) -> Result<(), Refusal> {
    let Ok(due) = expiry_due(ctx, e, st.entered_on.unwrap_or(ctx.today)) else { return Ok(()) };
    if ctx.today > due {
        let rule = ctx.profile.clock_with_expiry(e).map(|c| c.rule.clone()).unwrap_or_default();
        return Err(Refusal::DeadlinePassed { due, rule });
    }
    Ok(())
}

/// Checks a score against the profile's sheet; returns whether it reaches the pass mark.
fn check_sheet(
    sheet: Option<&crate::policy::ScoreSheet>,
    score: u16,
    items: &std::collections::BTreeMap<String, u16>,
) -> Result<Option<bool>, Refusal> {
    let Some(sheet) = sheet else {
        if score > 100 || !items.is_empty() {
            return Err(invalid("score", "评分应在 0 至 100 之间。"));
        }
        return Ok(None);
    };
    if !items.is_empty() {
        for item in &sheet.items {
            match items.get(&item.id) {
                None => return Err(invalid("items", format!("评分表缺少“{}”一项。", item.name))),
                Some(v) if *v > item.max => return Err(invalid("items", format!("“{}”最高 {} 分，录入了 {v} 分。", item.name, item.max))),
                Some(_) => {}
            }
        }
        if let Some(extra) = items.keys().find(|k| !sheet.items.iter().any(|i| &i.id == *k)) {
            return Err(invalid("items", format!("评分表没有“{extra}”一项。")));
        }
        let sum: u32 = items.values().map(|v| u32::from(*v)).sum();
        if sum != u32::from(score) {
            return Err(invalid("score", format!("各项得分合计为 {sum} 分，与总分 {score} 分不一致。")));
        }
    }
    if score > sheet.total() {
        return Err(invalid("score", format!("总分最高为 {} 分。", sheet.total())));
    }
    Ok(Some(score >= sheet.pass_mark))
}

/// The profile's preparation settings, or the step is not part of it.
fn preparation(p: &Profile) -> Result<&crate::policy::PreparationConfig, Refusal> {
    p.preparation.as_ref().ok_or_else(|| invalid("preparation", "本地区没有签约前准备环节。"))
}

/// The last day of a period of `n` working days starting after `start` (LAW-WD). `None` when the
/// calendar does not reach that far (never guessed).
fn working_days_after(ctx: &Ctx<'_>, start: Date, n: u16) -> Option<Date> {
    let budget = crate::deadline::Budget { amount: n, unit: crate::deadline::Unit::WorkingDays };
    deadline::compute(start, budget, &[], ctx.calendar).due
}

/// The most files one slot holds.
pub const MAX_FILES_PER_SLOT: usize = 50;

/// A slot the institution may change now: any of its application slots in a draft, only the
/// slots a supplement notice reopened while it awaits the supplement (HRB-ACC-2), and the
/// preparation slots during pre-signing preparation.
fn open_slot<'p>(ctx: &Ctx<'p>, st: &AppState, slot: &str, command: &'static str) -> Result<&'p crate::policy::MaterialSlot, Refusal> {
    let m = ctx
        .profile
        .material(slot)
        .filter(|m| m.applies_to.contains(&ctx.kind))
        .ok_or_else(|| invalid("slot", format!("材料项“{slot}”不存在。")))?;
    if !matches!(st.state, State::Draft | State::AwaitingSupplement | State::PresignPreparation) {
        return Err(Refusal::NotAllowedInState { state: st.state, command });
    }
    let open = match (st.state, m.phase) {
        (State::Draft, MaterialPhase::Application) => true,
        (State::AwaitingSupplement, MaterialPhase::Application) => st.open_slots.iter().any(|s| s == slot),
        (State::PresignPreparation, MaterialPhase::Preparation) => true,
        _ => false,
    };
    if open {
        if st.state == State::AwaitingSupplement {
            within(ctx, st, Expiry::DeemWithdrawn)?;
        }
        Ok(m)
    } else {
        Err(Refusal::SlotClosed { slot: slot.to_owned(), name: m.name.clone() })
    }
}

/// Unmet conditions must be overridden (with a reason) or the application rejected.
fn unmet_settled(st: &AppState) -> Result<(), Refusal> {
    if st.unmet_conditions.is_empty() { Ok(()) } else { Err(Refusal::ConditionsUnmet { findings: st.unmet_conditions.clone() }) }
}

fn validate_items(p: &Profile, kind: InstitutionKind, items: &[SupplementItem]) -> Result<(), Refusal> {
    if items.is_empty() {
        return Err(invalid("items", "一次性告知须列明全部需补正的材料，至少一项。"));
    }
    for it in items {
        if p.material(&it.slot).is_none_or(|m| m.phase != MaterialPhase::Application || !m.applies_to.contains(&kind)) {
            return Err(invalid("items", format!("材料项“{}”不存在。", it.slot)));
        }
        if it.reason.trim().is_empty() {
            return Err(invalid("items", format!("材料项“{}”须说明补正理由。", it.slot)));
        }
    }
    let mut slots: Vec<&str> = items.iter().map(|i| i.slot.as_str()).collect();
    slots.sort_unstable();
    if slots.windows(2).any(|w| w[0] == w[1]) {
        return Err(invalid("items", "同一材料项只能列出一次。"));
    }
    Ok(())
}

fn invalid(field: &'static str, reason: impl Into<String>) -> Refusal {
    Refusal::Invalid { field, reason: reason.into() }
}

/// The longest free text a command records (reasons, findings, notes): a few pages.
pub const MAX_TEXT_CHARS: usize = 10_000;

fn required_text(field: &'static str, s: &str) -> Result<String, Refusal> {
    let t = s.trim();
    if t.is_empty() {
        return Err(invalid(field, "此项不能为空。"));
    }
    if t.chars().count() > MAX_TEXT_CHARS {
        return Err(invalid(field, format!("内容过长，最多 {MAX_TEXT_CHARS} 字。")));
    }
    Ok(t.to_owned())
}

fn non_empty(s: &Option<String>) -> Option<String> {
    s.as_deref().map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned)
}

/// What the applying institution is told when an event happens: (subject, body) in Chinese.
/// Periods, rule IDs and the next step come from the profile the application is bound to.
/// Events that need no notice give `None`.
pub fn notification(event: &Event, number: &str, p: &Profile) -> Option<(String, String)> {
    let subject = |s: &str| format!("定点申请 {number}：{s}");
    let rule_of = |e: Expiry| p.clock_with_expiry(e).map(|c| format!("（{}）", c.rule)).unwrap_or_default();
    let span = |b: deadline::Budget| format!("{} {}", b.amount, b.unit.zh());
    let (title, body) = match event {
        Event::SupplementNoticeIssued { items, due } => {
            let list: Vec<String> = items.iter().map(|i| format!("{}：{}", i.slot, i.reason)).collect();
            let rule = rule_of(Expiry::DeemWithdrawn);
            let until =
                due.map(|d| format!("请于 {d} 24:00 前一次性补正，逾期视为自动撤回{rule}。")).unwrap_or_else(|| "请尽快补正。".into());
            ("请补正材料", format!("经审核，以下材料需补正：{}。{until}", list.join("；")))
        }
        Event::Accepted => ("已受理", "您的定点申请已受理，我们将组织现场踏查。".to_owned()),
        Event::Rejected { reasons } => {
            let list: Vec<String> = reasons
                .iter()
                .map(|r| r.rule.as_ref().map(|rule| format!("{}（{rule}）", r.text)).unwrap_or_else(|| r.text.clone()))
                .collect();
            ("不予受理", format!("您的定点申请不予受理，理由：{}。", list.join("；")))
        }
        Event::InitialReviewPassed => ("初审通过", "您的定点申请已通过初审，进入信息核查。".to_owned()),
        Event::Terminated { reason } => ("申请终止", format!("经信息核查，您的定点申请终止：{reason}。")),
        Event::SiteEvaluationStarted { .. } => ("已抽取评估人员", "本期评估人员已随机抽取，现场评估前一个工作日揭晓评估小组。".to_owned()),
        Event::ResultDecided { outcome: Outcome::Pass, .. } => ("评估通过", "您的定点申请评估通过，将进行公示。".to_owned()),
        Event::ResultDecided { reasons, rectification, attempt, .. } => {
            let again = match &p.reevaluation {
                Some(re) if *attempt <= 1 => format!("可在结果送达 {}后申请再次评估（{}）。", span(re.wait), re.rule),
                _ => String::new(),
            };
            let fix = rectification.as_deref().map(|r| format!("整改意见：{r}。")).unwrap_or_default();
            ("评估未通过", format!("评估未通过，理由：{}。{fix}{again}", reasons.join("；")))
        }
        Event::NoticePublished { ends_on } => {
            ("进入公示", format!("您的机构已进入公示，公示期至 {}。", ends_on.map(|d| d.to_string()).unwrap_or_else(|| "另行通知".into())))
        }
        // The next step is the profile's: pre-signing preparation where it has one, else signing.
        Event::NoticeEnded if p.next_after(State::PublicNotice) == State::PresignPreparation => (
            "请完成签约前准备",
            "公示期满，您的机构进入签约前准备：请参加培训考试并完成系统改造等准备工作，经核验完成后方可签订协议。".to_owned(),
        ),
        Event::PreparationCompleted | Event::NoticeEnded => {
            let within = p
                .clock_with_expiry(Expiry::DeemGivenUp)
                .map(|c| format!("请在 {} 内", span(c.budget)))
                .unwrap_or_else(|| "请在规定期限内".into());
            ("请签订协议", format!("您的机构已具备签订协议条件，{within}在线签订协议，逾期视为放弃{}。", rule_of(Expiry::DeemGivenUp)))
        }
        Event::Countersigned { .. } => ("协议已签订", "医保服务协议已签订，您的机构已纳入医保定点管理。".to_owned()),
        Event::Withdrawn { deemed: true, .. } => {
            ("视为撤回", format!("逾期未补正材料，您的定点申请视为自动撤回{}。", rule_of(Expiry::DeemWithdrawn)))
        }
        Event::GivenUp { reason, .. } => ("视为放弃", format!("您的定点申请视为放弃：{reason}。")),
        Event::PreparationFailed { reason } => ("签约前准备未完成", format!("签约前准备未完成，视为放弃：{reason}。")),
        Event::BanImposed { until, rule, .. } => ("限制申请期限", format!("{until} 前不得再次申请（{rule}）。")),
        _ => return None,
    };
    // HRB-HOTLINE / URC-CHANNEL: every letter ends with the profile's contact channels.
    let contacts: Vec<String> = p.contacts.iter().map(|c| format!("{}：{}", c.label, c.value)).collect();
    let body = if contacts.is_empty() { body } else { format!("{body}\n{}。", contacts.join("；")) };
    Some((subject(title), body))
}
