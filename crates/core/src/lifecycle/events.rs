//! What happened to an application: each `Event` is one recorded fact, with its stable kind
//! (stored with the event) and its Chinese label for the history.
//!
//! Not responsible for what an event does to the current state (that is `projection`), nor for
//! what the institution is told about it (that is `messages`).

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use super::records::{ChecklistItem, FileRef, Outcome, Reason, SourceChecked, SupplementItem};
use crate::eligibility::Finding;

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
        /// G-FOLLOWS: failed evaluations the institution carries from an earlier application.
        #[serde(default, skip_serializing_if = "is_zero")]
        prior_failures: u32,
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
    /// G-AGENCY-TIME: no supplement notice within the agency's limit; the application counts as
    /// accepted from receipt (行政许可法 art. 32).
    DeemedAccepted {
        rule: String,
        /// The day the application was received (submitted).
        received_on: Option<Date>,
    },
    Rejected {
        reasons: Vec<Reason>,
    },
    EvaluationScheduled {
        date: Option<Date>,
        note: Option<String>,
    },
    InitialReviewPassed,
    VerificationPassed {
        /// URC-REV-2: the sources checked (empty in events recorded before they were kept).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        sources: Vec<SourceChecked>,
    },
    Terminated {
        reason: String,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        sources: Vec<SourceChecked>,
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
        // --- urc: the collective decision's record (URC-EVAL-4) ---
        /// The meeting's minutes (a collective decision only).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        minutes: Option<String>,
        /// Who attended the meeting.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        attendees: Vec<String>,
        /// Why the outcome departs from the expert review's recommendation.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        departure_reason: Option<String>,
    },
    ReevaluationRequested,
    NoticePublished {
        ends_on: Option<Date>,
    },
    // --- urc: filing the passed list (URC-RES-1) ---
    PassedListFiled {
        round_id: i64,
    },
    FilingAcknowledged {
        round_id: i64,
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
        /// After a failure with tries left: the last day to resubmit (`None` when the calendar
        /// does not reach it yet).
        resubmit_due: Option<Date>,
        /// The failure opened a resubmission window (HRB-ANNEX2); absent in events recorded
        /// before windows were counted, where a `resubmit_due` meant one.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        opens_window: bool,
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
    /// URC-NEGOTIATE: the institution's comment on version `version` of the agreement.
    AgreementCommented {
        version: u32,
        text: String,
    },
    /// URC-NEGOTIATE: the agency revised the agreement: version `version` is the template's text
    /// plus `clauses` (the agreed supplementary clauses, replacing the previous version's), with
    /// the agency's `reply`. Its document follows in `AgreementIssued`.
    AgreementRevised {
        version: u32,
        clauses: Vec<String>,
        reply: String,
    },
    /// URC-NEGOTIATE: the institution declined to sign.
    AgreementDeclined {
        reason: String,
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
            Event::DeemedAccepted { .. } => "deemed_accepted",
            Event::Rejected { .. } => "rejected",
            Event::EvaluationScheduled { .. } => "evaluation_scheduled",
            Event::InitialReviewPassed => "initial_review_passed",
            Event::VerificationPassed { .. } => "verification_passed",
            Event::Terminated { .. } => "terminated",
            Event::JoinedRound { .. } => "joined_round",
            Event::SiteEvaluationStarted { .. } => "site_evaluation_started",
            Event::SiteEvaluationRecorded { .. } => "site_evaluation_recorded",
            Event::ScoreSheetConfirmed => "score_sheet_confirmed",
            Event::ExpertReviewRecorded { .. } => "expert_review_recorded",
            Event::ResultDecided { .. } => "result_decided",
            Event::ReevaluationRequested => "reevaluation_requested",
            Event::NoticePublished { .. } => "notice_published",
            Event::PassedListFiled { .. } => "passed_list_filed",
            Event::FilingAcknowledged { .. } => "filing_acknowledged",
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
            Event::AgreementCommented { .. } => "agreement_commented",
            Event::AgreementRevised { .. } => "agreement_revised",
            Event::AgreementDeclined { .. } => "agreement_declined",
            Event::GivenUp { .. } => "given_up",
            Event::BanImposed { .. } => "ban_imposed",
            Event::DeadlinesRecalculated { .. } => "deadlines_recalculated",
        }
    }

    pub fn zh(&self) -> &'static str {
        match self {
            Event::DraftUpdated { .. } => "保存申请信息",
            Event::Submitted { .. } => "提交申请",
            Event::Withdrawn { deemed: true, .. } => "逾期视为自动撤回申请",
            Event::ConditionsOverridden { .. } => "申请条件未全部满足，经审核同意继续办理",
            Event::Withdrawn { .. } => "申请撤回",
            Event::SupplementNoticeIssued { .. } => "一次性告知补正材料",
            Event::Supplemented { .. } => "补正材料",
            Event::MaterialAttached { .. } => "上传材料",
            Event::MaterialRemoved { .. } => "移除材料",
            Event::Accepted => "受理",
            Event::DeemedAccepted { .. } => "逾期未告知补正，依法视为受理",
            Event::Rejected { .. } => "不予受理",
            Event::EvaluationScheduled { .. } => "安排现场踏查",
            Event::InitialReviewPassed => "初审通过",
            Event::VerificationPassed { .. } => "信息核查通过",
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
            Event::PassedListFiled { .. } => "评估合格名单报医疗保障行政部门备案",
            Event::FilingAcknowledged { .. } => "医疗保障行政部门确认备案",
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
            Event::AgreementCommented { .. } => "机构对协议文本提出意见",
            Event::AgreementRevised { .. } => "经办机构修订协议文本",
            Event::AgreementDeclined { .. } => "机构不同意签订协议",
            Event::GivenUp { deemed: true, .. } => "逾期未签订协议，视为放弃",
            Event::GivenUp { .. } => "放弃",
            Event::BanImposed { .. } => "记录限制申请期限",
            Event::DeadlinesRecalculated { .. } => "载入节假日安排，重新计算期限",
        }
    }
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}
