//! Why a command was refused, or a read denied: one enum for every "no" the core gives, each
//! with a stable machine-readable code (`code`) and plain Chinese for people (`message_zh`), and
//! whether the form can put it right (`is_about_input`).
//!
//! Not responsible for deciding when to refuse (that is `lifecycle::decide` and `visibility`),
//! nor for the HTTP status a refusal maps to (the web crate).

use jiff::civil::Date;

use crate::deadline;
use crate::eligibility::Finding;
use crate::vocabulary::{InstitutionKind, Role, State};

/// Why a command was refused. Each variant has a stable code and a Chinese message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("command {command} is not allowed in state {state:?}")]
    NotAllowedInState { state: State, command: &'static str },
    #[error("this command belongs to role {required:?}")]
    NotYourRole { required: Role },
    #[error("the application is outside your region")]
    NotYourRegion,
    #[error("the application belongs to another institution")]
    NotYourInstitution,
    #[error("the institution already has an open application")]
    ApplicationOpen,
    /// The application's own progress rules the command out for now (e.g. already done).
    #[error("not now: {reason}")]
    NotNow { reason: String },
    #[error("date arithmetic from {start} leaves the representable range")]
    DateOutOfRange { start: Date },
    #[error("the evaluator is not grouped with this institution")]
    NotAssigned,
    #[error("the grouping is not revealed yet (reveal on {on:?})")]
    NotRevealed { on: Option<Date> },
    #[error("stale version: expected {expected}, current {actual}")]
    StaleVersion { expected: i64, actual: i64 },
    #[error("invalid {field}: {reason}")]
    Invalid { field: &'static str, reason: String },
    #[error("a supplement notice was already issued (G-ONE-NOTICE)")]
    SecondSupplementNotice,
    #[error("banned until {until} ({rule})")]
    Banned { until: Date, rule: String },
    #[error("not before {earliest} ({rule})")]
    TooEarly { earliest: Date, rule: String },
    #[error("the time limit ended on {due} ({rule})")]
    DeadlinePassed { due: Date, rule: String },
    /// G-AGENCY-TIME: the agency's own limit for this act has run out (行政许可法 art. 32).
    #[error("the agency's limit ended on {due} ({rule})")]
    AgencyLimitPassed { due: Date, rule: String },
    #[error("the time limit has not run out yet")]
    NotYetDue { due: Option<Date> },
    #[error("complaints are still open")]
    OpenComplaints,
    #[error("the visit date {on} is a rest day or holiday and was not confirmed")]
    RestDayVisit { on: Date },
    #[error("the {0} calendar is not loaded")]
    MissingCalendar(i16),
    #[error("profile {profile} does not serve {kind:?}")]
    KindNotServed { profile: String, kind: InstitutionKind },
    #[error("not accepted: {findings:?}")]
    NotAccepted { findings: Vec<Finding> },
    #[error("conditions unmet: {findings:?}")]
    ConditionsUnmet { findings: Vec<Finding> },
    #[error("material slot {slot} is not open for files now")]
    SlotClosed { slot: String, name: String },
    #[error("supplement incomplete: {names:?}")]
    SupplementIncomplete { names: Vec<String> },
    #[error("preparation incomplete: {missing:?}")]
    PreparationIncomplete { missing: Vec<String> },
    /// URC-NEGOTIATE: the city signs the platform's text as issued; nothing to negotiate.
    #[error("the agreement is not negotiated under this profile")]
    NoNegotiation,
    /// URC-NEGOTIATE: the version named is not the one to sign (the current one, or for the
    /// countersignature the one the institution signed).
    #[error("agreement version mismatch (countersign: {countersign})")]
    AgreementVersionMismatch { countersign: bool },
    /// HRB-ANNEX1: the form is filed with its signed and sealed scan in `slot`, which is empty.
    #[error("the signed and sealed Annex 1 form is missing (slot {slot})")]
    Annex1Unsigned { slot: String, name: String },
    /// HRB-ANNEX2: the profile's acceptance tries are used up.
    #[error("Annex 2 acceptance tries used up ({attempts})")]
    Annex2AttemptsUsed { attempts: u32 },
    // --- urc: review, planning, filing (URC-EVAL-3/4, URC-REV-1/2, URC-RES-1) ---
    /// A "not passed" recommendation or result without its reasons.
    #[error("reasons required ({rule})")]
    ReasonsRequired { rule: String },
    /// A decision departing from the expert review's recommendation without saying why.
    #[error("the decision departs from the expert recommendation without a reason ({rule})")]
    DepartureReasonRequired { rule: String, recommended_pass: bool },
    /// Information verification without the sources checked.
    #[error("verification sources required ({rule})")]
    SourcesRequired { rule: String },
    /// URC-REV-1: one more designation does not fit the district's plan.
    #[error("outside the plan: {designated} designated of {capacity} ({rule})")]
    OutsidePlan { rule: String, designated: u32, capacity: u32 },
    /// The notice before the passed list's filing was acknowledged.
    #[error("the passed list's filing is not acknowledged ({rule})")]
    FilingNotAcknowledged { rule: String, filed: bool },
}

impl Refusal {
    /// Does this refusal concern what was entered (a form can put it right), rather than who
    /// acts, on what, and when? A page shows a command's form when only such a refusal stands
    /// in its way (see `available`).
    pub fn is_about_input(&self) -> bool {
        matches!(
            self,
            Refusal::Invalid { .. }
                | Refusal::RestDayVisit { .. }
                | Refusal::NotAccepted { .. }
                | Refusal::ConditionsUnmet { .. }
                | Refusal::SupplementIncomplete { .. }
                | Refusal::PreparationIncomplete { .. }
                | Refusal::Annex1Unsigned { .. }
                | Refusal::ReasonsRequired { .. }
                | Refusal::DepartureReasonRequired { .. }
                | Refusal::SourcesRequired { .. }
        )
    }

    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::NotAllowedInState { .. } => "not_allowed_in_state",
            Refusal::NotYourRole { .. } => "not_your_role",
            Refusal::NotYourRegion => "not_your_region",
            Refusal::NotYourInstitution => "not_your_institution",
            Refusal::ApplicationOpen => "application_open",
            Refusal::NotAssigned => "not_assigned",
            Refusal::DateOutOfRange { .. } => "date_out_of_range",
            Refusal::NotNow { .. } => "not_allowed_now",
            Refusal::NotRevealed { .. } => "not_revealed",
            Refusal::StaleVersion { .. } => "stale_version",
            Refusal::Invalid { .. } => "invalid_input",
            Refusal::SecondSupplementNotice => "second_supplement_notice",
            Refusal::Banned { .. } => "banned",
            Refusal::TooEarly { .. } => "too_early",
            Refusal::DeadlinePassed { .. } => "deadline_passed",
            Refusal::AgencyLimitPassed { .. } => "agency_limit_passed",
            Refusal::NotYetDue { .. } => "not_yet_due",
            Refusal::OpenComplaints => "open_complaints",
            Refusal::RestDayVisit { .. } => "rest_day_visit",
            Refusal::MissingCalendar(_) => "calendar_missing",
            Refusal::KindNotServed { .. } => "kind_not_served",
            Refusal::NotAccepted { .. } => "not_accepted",
            Refusal::ConditionsUnmet { .. } => "conditions_unmet",
            Refusal::SlotClosed { .. } => "slot_closed",
            Refusal::SupplementIncomplete { .. } => "supplement_incomplete",
            Refusal::PreparationIncomplete { .. } => "preparation_incomplete",
            Refusal::NoNegotiation => "negotiation_not_offered",
            Refusal::AgreementVersionMismatch { .. } => "agreement_version_mismatch",
            Refusal::Annex1Unsigned { .. } => "annex1_unsigned",
            Refusal::Annex2AttemptsUsed { .. } => "annex2_attempts_used",
            Refusal::ReasonsRequired { .. } => "reasons_required",
            Refusal::DepartureReasonRequired { .. } => "departure_reason_required",
            Refusal::SourcesRequired { .. } => "verification_sources_required",
            Refusal::FilingNotAcknowledged { .. } => "filing_not_acknowledged",
            Refusal::OutsidePlan { .. } => "outside_plan",
        }
    }

    /// Plain Chinese for people.
    pub fn message_zh(&self) -> String {
        match self {
            Refusal::NotAllowedInState { state, .. } => {
                format!("申请当前处于“{}”状态，不能进行此操作。", state.zh())
            }
            Refusal::NotYourRole { required } => {
                format!("此操作应由{}办理，您的账号无权进行。", required.zh())
            }
            Refusal::NotYourRegion => "该申请不属于您所在的地区，无权查看或办理。".into(),
            Refusal::NotYourInstitution => "该申请属于其他机构，无权查看或办理。".into(),
            Refusal::ApplicationOpen => "本机构已有一份正在办理的申请，请继续办理该申请。".into(),
            Refusal::NotAssigned => "您未被抽取为该机构的评估人员，无权查看或办理。".into(),
            Refusal::DateOutOfRange { start } => deadline::OutOfRange { start: *start }.message_zh(),
            Refusal::NotNow { reason } => reason.clone(),
            Refusal::NotRevealed { on: Some(on) } => {
                format!("评估分组将于 {on} 公布（现场评估前日），此前不能查看被评估机构的信息。")
            }
            Refusal::NotRevealed { on: None } => "评估分组尚未公布，此前不能查看被评估机构的信息。".into(),
            Refusal::StaleVersion { .. } => "该申请已被他人更新，请刷新页面后重试。".into(),
            Refusal::Invalid { reason, .. } => format!("填写有误：{reason}"),
            Refusal::SecondSupplementNotice => "本轮已发出一次性补正告知，不能再次告知（应一次性告知全部需补正材料）。".into(),
            Refusal::Banned { until, rule } => match until.tomorrow() {
                Ok(next) => format!("该机构至 {until}（含当日）不得申请，{next} 起方可申请（{rule}）。"),
                Err(_) => format!("该机构至 {until}（含当日）不得申请（{rule}）。"),
            },
            Refusal::TooEarly { earliest, rule } => format!("{earliest} 起方可办理（{rule}）。"),
            Refusal::DeadlinePassed { due, rule } => format!("办理期限已于 {due} 24:00 届满（{rule}），不能再办理。"),
            Refusal::AgencyLimitPassed { due, rule } => format!(
                "一次性告知补正材料的时限已于 {due} 24:00 届满（{rule}），不能再发出补正通知。依照《行政许可法》第三十二条，逾期不告知的，自收到申请材料之日起即为受理，请按现有材料继续办理。"
            ),
            Refusal::NotYetDue { due: Some(d) } => format!("期限至 {d} 24:00 届满，尚未到期。"),
            Refusal::NotYetDue { due: None } => "期限尚未届满。".into(),
            Refusal::RestDayVisit { on } => {
                format!("现场评估日期 {on} 是休息日或法定节假日。如确需在该日评估，请勾选“确认在休息日评估”后重新提交。")
            }
            Refusal::OpenComplaints => "公示期间的投诉举报尚未调查完毕，请先处理投诉。".into(),
            Refusal::MissingCalendar(y) => {
                format!("{y} 年节假日安排未载入，无法计算期限，请联系管理员载入。")
            }
            Refusal::KindNotServed { kind, .. } => format!("本地区不受理{}的定点申请。", kind.zh()),
            Refusal::NotAccepted { findings } => format!("不予受理：{}", list(findings)),
            Refusal::ConditionsUnmet { findings } => format!("申请条件未满足：{}", list(findings)),
            Refusal::SlotClosed { name, .. } => {
                format!("“{name}”现在不能上传或更改：已提交的申请只能补正一次性告知中列明的材料。")
            }
            Refusal::SupplementIncomplete { names } => {
                format!("以下告知补正的材料尚未重新上传，请上传后再提交补正：{}。", names.join("；"))
            }
            Refusal::PreparationIncomplete { missing } => format!("签约前准备尚未完成：{}。", missing.join("；")),
            Refusal::NoNegotiation => "本地区的服务协议按平台文本在线签订，不在线协商修改协议内容，也不办理拒签。".into(),
            Refusal::AgreementVersionMismatch { countersign: false } => {
                "所签协议文本不是当前版本（协议文本可能已修订），请刷新页面核对最新版本后再签订。".into()
            }
            Refusal::AgreementVersionMismatch { countersign: true } => {
                "经办机构只能签订机构已签订的协议版本，所选文本与机构所签版本不一致。".into()
            }
            Refusal::Annex1Unsigned { name, .. } => format!(
                "专线备案表须附法定代表人签字并加盖公章的备案表扫描件，尚未上传。请先在“{name}”上传（PDF、JPEG 或 PNG），再提交备案表。"
            ),
            Refusal::Annex2AttemptsUsed { attempts } => {
                format!("处方流转验收已申请 {attempts} 次均未通过，验收次数已用完，不能再申请验收。")
            }
            Refusal::ReasonsRequired { .. } => "评审意见为不通过的，须逐条说明理由。".into(),
            Refusal::DepartureReasonRequired { recommended_pass, .. } => {
                format!("专家评审意见为“{}”，集体决策结果与之不同，须说明理由。", if *recommended_pass { "通过" } else { "不通过" })
            }
            Refusal::SourcesRequired { .. } => {
                "须记录至少一项核查方式（书面审核、部门函询或国家企业信用信息公示系统查询）及核查日期。".into()
            }
            Refusal::OutsidePlan { designated, capacity, .. } => format!(
                "按医疗保障定点医药机构设置规划，该区县此类机构规划数为 {capacity} 家，已有定点 {designated} 家，不能初审通过；应不予受理并告知理由。"
            ),
            Refusal::FilingNotAcknowledged { filed: false, .. } => "评估合格名单尚未报医疗保障行政部门备案，备案确认后方可公示。".into(),
            Refusal::FilingNotAcknowledged { filed: true, .. } => "评估合格名单已报备案，尚待医疗保障行政部门确认，确认后方可公示。".into(),
        }
    }
}

fn list(findings: &[Finding]) -> String {
    findings.iter().enumerate().map(|(i, f)| format!("{}. {}（{}）", i + 1, f.text, f.rule)).collect::<Vec<_>>().join(" ")
}
