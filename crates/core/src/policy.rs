//! Policy profiles: a city's rules as data (`policies/*.toml`). A profile says which steps run
//! and who acts in each, which clocks run in which states and what happens when they expire,
//! which material slots exist, the re-evaluation wait and the bans. Loading validates everything
//! and reports each problem with file, line and what is wrong; a loaded `Profile` is valid.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::deadline::Budget;
use crate::rules::{Check, Condition, NotAcceptedRule, OnUnmet, Trigger};
use crate::spanned::{LoadError, line_of};
pub use crate::vocabulary::InstitutionKind;
use crate::vocabulary::{Role, State};

/// The profiles that ship with the product.
pub const SHIPPED: &[(&str, &str)] = &[
    ("policies/harbin.toml", include_str!("../../../policies/harbin.toml")),
    ("policies/urumqi.toml", include_str!("../../../policies/urumqi.toml")),
];

/// A step of the process (SPEC §4). Each step owns one or more lifecycle states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    Apply,
    Acceptance,
    CompletenessCheck,
    InitialReview,
    InfoVerification,
    EvaluatorDraw,
    SiteEvaluation,
    ExpertReview,
    CollectiveDecision,
    PublicNotice,
    PresignPreparation,
    Signing,
}

impl Step {
    /// The step's name for people, as the guides name it.
    pub fn zh(self) -> &'static str {
        match self {
            Step::Apply => "网上申报",
            Step::Acceptance => "受理",
            Step::CompletenessCheck => "材料补正（一次性告知）",
            Step::InitialReview => "初审",
            Step::InfoVerification => "信息核查",
            Step::EvaluatorDraw => "抽取评估人员",
            Step::SiteEvaluation => "现场评估",
            Step::ExpertReview => "专家评审",
            Step::CollectiveDecision => "集体决策",
            Step::PublicNotice => "公示",
            Step::PresignPreparation => "签约前准备",
            Step::Signing => "签订协议",
        }
    }

    /// The states this step owns; they exist in a profile only when the step is enabled.
    pub fn states(self) -> &'static [State] {
        match self {
            Step::Apply => &[],
            Step::Acceptance => &[State::Submitted, State::Accepted],
            Step::CompletenessCheck => &[State::AwaitingSupplement],
            Step::InitialReview => &[State::InitialReview],
            Step::InfoVerification => &[State::InfoVerification],
            Step::EvaluatorDraw => &[State::EvaluatorDraw],
            Step::SiteEvaluation => &[State::OnSiteEvaluation],
            Step::ExpertReview => &[State::ExpertReview],
            Step::CollectiveDecision => &[State::CollectiveDecision],
            Step::PublicNotice => &[State::PublicNotice],
            Step::PresignPreparation => &[State::PresignPreparation],
            Step::Signing => &[State::ReadyToSign],
        }
    }

    /// The step that owns a state, if any (states like `draft` or `passed` belong to none).
    pub fn owning(state: State) -> Option<Step> {
        ALL_STEPS.iter().copied().find(|s| s.states().contains(&state))
    }
}

const ALL_STEPS: &[Step] = &[
    Step::Apply,
    Step::Acceptance,
    Step::CompletenessCheck,
    Step::InitialReview,
    Step::InfoVerification,
    Step::EvaluatorDraw,
    Step::SiteEvaluation,
    Step::ExpertReview,
    Step::CollectiveDecision,
    Step::PublicNotice,
    Step::PresignPreparation,
    Step::Signing,
];

/// How a step runs in this profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StepConfig {
    pub rule: String,
    /// The role that acts in this step.
    pub actor: Role,
    /// Site evaluation only: the institution must confirm the score sheet (URC-EVAL-2).
    pub score_sheet_confirmation: bool,
}

/// The automatic consequence of a clock running out; fired as a `system` command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Expiry {
    /// HRB-ACC-2: the application is deemed withdrawn.
    DeemWithdrawn,
    /// HRB-NOTICE / URC-RES-2: the notice period is over; the application moves on.
    EndNotice,
    /// HRB-SIGN / URC-SIGN: deemed to give up.
    DeemGivenUp,
    /// HRB-ANNEX2: no resubmission within the window after a failed acceptance; the acceptance
    /// request is deemed withdrawn.
    Annex2Withdrawn,
    /// G-AGENCY-TIME (行政许可法 art. 32: "逾期不告知的，自收到申请材料之日起即为受理"): the agency
    /// gave no supplement notice within its limit; the application is accepted as it stands.
    DeemAccepted,
}

impl Expiry {
    /// The state the clock must run in for this consequence to make sense.
    pub fn state(self) -> &'static [State] {
        match self {
            Expiry::DeemWithdrawn => &[State::AwaitingSupplement],
            Expiry::EndNotice => &[State::PublicNotice],
            Expiry::DeemGivenUp => &[State::ReadyToSign],
            Expiry::Annex2Withdrawn => &[State::PresignPreparation],
            Expiry::DeemAccepted => &[State::Submitted],
        }
    }
}

/// A clock: runs from entering any of `runs_in` until leaving them all, paused in `pauses_in`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClockDef {
    pub id: String,
    pub rule: String,
    pub name: String,
    pub budget: Budget,
    pub runs_in: Vec<State>,
    pub pauses_in: Vec<State>,
    /// `None`: a time limit on the agency, shown as due / overdue.
    pub on_expiry: Option<Expiry>,
    /// Where it starts counting.
    pub starts: ClockStart,
    /// The agency's act this limit binds (G-AGENCY-TIME), refused once it has run out.
    pub bounds: Option<Bound>,
}

/// An act of the agency that its own time limit binds (G-AGENCY-TIME).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Bound {
    /// HRB-ACC-1: the one-time supplement notice. A notice after the limit is refused and the
    /// application continues as it stands (行政许可法 art. 32); with `on_expiry = "deem_accepted"`
    /// the system also accepts it when the limit runs out.
    SupplementNotice,
}

/// Where a clock starts counting.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClockStart {
    /// On the day the application enters one of `runs_in` (HRB-SIGN: "符合服务协议签订条件后的10个
    /// 工作日内").
    #[default]
    Entry,
    /// On the last day of the public notice (URC-SIGN: "公示期满后，10日内"), not on the day the
    /// system happened to close it; days after that last day on which the application was still
    /// in the notice (a complaint held it open) do not count (LAW-SUSPEND).
    NoticeEnd,
}

/// A file type a material slot accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileType {
    Pdf,
    Jpeg,
    Png,
    Mp4,
    Zip,
}

impl FileType {
    /// The type of a file judged by its first bytes, never by its name. `None` for anything
    /// that is not one of the types a slot can accept (an executable renamed `.pdf`, say).
    pub fn sniff(head: &[u8]) -> Option<FileType> {
        let kind = infer::get(head)?;
        match kind.mime_type() {
            "application/pdf" => Some(FileType::Pdf),
            "image/jpeg" => Some(FileType::Jpeg),
            "image/png" => Some(FileType::Png),
            "video/mp4" | "video/quicktime" => Some(FileType::Mp4),
            "application/zip" => Some(FileType::Zip),
            _ => None,
        }
    }

    pub fn mime(self) -> &'static str {
        match self {
            FileType::Pdf => "application/pdf",
            FileType::Jpeg => "image/jpeg",
            FileType::Png => "image/png",
            FileType::Mp4 => "video/mp4",
            FileType::Zip => "application/zip",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            FileType::Pdf => "pdf",
            FileType::Jpeg => "jpg",
            FileType::Png => "png",
            FileType::Mp4 => "mp4",
            FileType::Zip => "zip",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            FileType::Pdf => "PDF",
            FileType::Jpeg => "JPEG",
            FileType::Png => "PNG",
            FileType::Mp4 => "MP4 视频",
            FileType::Zip => "ZIP 压缩包",
        }
    }
}

/// When a material slot is filled: with the application, during pre-signing preparation
/// (HRB-PRE-2 evidence, the Annex 2 package), or by the reviewer during information
/// verification (URC-REV-2: letters, credit-system extracts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MaterialPhase {
    #[default]
    Application,
    Preparation,
    // --- urc: URC-REV-2 evidence, uploaded by the information-verification step's actor ---
    Verification,
}

/// A check a slot's file must pass as a whole before it is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SlotCheck {
    /// HRB-ANNEX2: the acceptance package's name and contents.
    Annex2Package,
}

/// HRB-ANNEX2: what a missed resubmission window is deemed to withdraw.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Annex2Missed {
    /// The seed's reading (the guide's section on acceptance): the acceptance request is
    /// withdrawn; the Annex 2 item is back to "not requested" and preparation goes on.
    #[default]
    AcceptanceRequest,
    /// The whole application is deemed withdrawn.
    Application,
}

/// Pre-signing preparation settings (HRB-PRE-1…4, HRB-ANNEX1/2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PreparationConfig {
    /// HRB-PRE-1: training attempts including the one retest.
    pub training_attempts: u32,
    /// HRB-PRE-2 ⑤: the real-name device is required only once rolled out (适时推进).
    pub real_name_device: bool,
    /// HRB-ANNEX2: working days the agency has to notify the acceptance result.
    pub annex2_review_working_days: u16,
    /// HRB-ANNEX2: working days to resubmit after a failed acceptance; each failed review that
    /// leaves a try opens a new window of this length.
    pub annex2_resubmit_working_days: u16,
    /// HRB-ANNEX2: the acceptance requests allowed in one preparation (the first and the
    /// resubmissions); 0 (or absent) = unlimited, the guide sets no limit. A failure on the last
    /// allowed try opens no window.
    #[serde(default)]
    pub annex2_attempts: u32,
    /// HRB-ANNEX2: what a missed resubmission window withdraws ("逾期未提交验收材料的视为自动撤回申请").
    #[serde(default)]
    pub annex2_missed_window: Annex2Missed,
    /// HRB-ANNEX1: the preparation material slot holding the printed form signed by the legal
    /// representative and sealed (法人代表签字, 公章); filing the form needs a file in it. Absent
    /// in a stored text that predates the field: no scan is asked for.
    #[serde(default)]
    pub annex1_signed_slot: Option<String>,
    /// HRB-ANNEX1: the title printed on the dedicated-line filing form. Required on load; empty
    /// only in a stored text that predates the field (see [`Profile::inherit_missing`]).
    #[serde(default)]
    pub annex1_title: Option<String>,
    /// HRB-ANNEX2: the fixed beginning of the acceptance package's file name, as the city's
    /// guide prints it. Required when a material slot has `check = "annex2_package"`.
    #[serde(default)]
    pub annex2_package_prefix: Option<String>,
}

/// The categories of institution a profile admits, per kind (HRB-ELIG-TYPE). A kind without a
/// list, or a profile without the table, admits any category.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EligibleCategories {
    pub rule: String,
    #[serde(default)]
    pub medical: Option<Vec<String>>,
    #[serde(default)]
    pub pharmacy: Option<Vec<String>>,
}

impl EligibleCategories {
    /// The list for a kind; `None` when any category is admitted.
    pub fn for_kind(&self, kind: InstitutionKind) -> Option<&[String]> {
        match kind {
            InstitutionKind::Medical => self.medical.as_deref(),
            InstitutionKind::Pharmacy => self.pharmacy.as_deref(),
        }
    }
}

/// A way to reach the agency or its supervisors (HRB-HOTLINE, URC-CHANNEL), shown to the public
/// and at the end of every notice to the applicant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Contact {
    pub rule: String,
    /// What it is, e.g. "监督电话".
    pub label: String,
    /// The number, group or address.
    pub value: String,
}

/// A district (区县) of the city: its GB/T 2260 code and name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct District {
    pub code: String,
    pub name: String,
}

/// The agreement's text. `{institution_name}`, `{national_code}`, `{uscc}`, `{address}`,
/// `{district}`, `{number}`, `{agency}` and `{date}` are filled in per application.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgreementTemplate {
    pub rule: String,
    pub title: String,
    /// Party A: the insurance agency.
    pub agency: String,
    pub clauses: Vec<String>,
    /// URC-NEGOTIATE: the parties negotiate the text before signing (the institution comments,
    /// the agency issues revised versions, the institution may decline). Off, the platform's
    /// text is signed as issued (HRB-SIGN). Default off: a profile that says nothing signs the
    /// text as issued.
    #[serde(default)]
    pub negotiation: bool,
}

/// URC-RES-1 "评估合格的医药机构拟纳入签订协议机构名单，报市医疗保障行政部门备案": the agency
/// files each round's passed list; the administration (the `admin` role) acknowledges it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilingConfig {
    pub rule: String,
    /// The notice is published only once the filing is acknowledged.
    #[serde(default = "yes")]
    pub before_notice: bool,
}

/// URC-REV-1 "根据医疗保障定点医药机构设置规划要求": the rule the planning check cites. The
/// figures themselves are the administrator's, per district and kind, edited without a release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanningConfig {
    pub rule: String,
}

fn yes() -> bool {
    true
}

/// A named material slot taking one or more files (HRB-MAT).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MaterialSlot {
    pub id: String,
    pub rule: String,
    pub name: String,
    pub applies_to: Vec<InstitutionKind>,
    pub types: Vec<FileType>,
    pub max_mb: u32,
    pub multiple: bool,
    pub phase: MaterialPhase,
    pub check: Option<SlotCheck>,
}

impl MaterialSlot {
    /// The size limit in bytes.
    pub fn max_bytes(&self) -> u64 {
        u64::from(self.max_mb) * 1024 * 1024
    }

    /// "PDF、JPEG、PNG"
    pub fn types_label(&self) -> String {
        self.types.iter().map(|t| t.label()).collect::<Vec<_>>().join("、")
    }
}

/// Re-evaluation after a failure (HRB-EVAL-3 / URC-RES-1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reevaluation {
    pub rule: String,
    /// How long after the result is served the institution must wait.
    pub wait: Budget,
    /// The state a re-evaluation starts in.
    pub reenter: State,
}

/// What earns a ban.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BanTrigger {
    /// Failing the evaluation a second time (HRB-EVAL-3 / URC-RES-1).
    SecondFailure,
    /// Failing pre-signing preparation (HRB-PRE-4).
    PresignGiveUp,
    /// Missing the signing window (HRB-SIGN / URC-SIGN), when a profile chooses to ban for it.
    SigningGiveUp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BanRule {
    pub rule: String,
    pub on: BanTrigger,
    pub length: Budget,
}

/// A validated city profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Profile {
    pub id: String,
    pub version: String,
    pub name: String,
    /// The city's administrative-division code (GB/T 2260), e.g. 230100.
    pub division: String,
    /// The prefix of the city's own rule IDs, e.g. `HRB`; rules may also cite `LAW-` and `G-`.
    pub rule_prefix: String,
    pub kinds: Vec<InstitutionKind>,
    /// The rule that says which kinds the city serves (HRB-SCOPE, URC-SCOPE).
    pub scope_rule: Option<String>,
    /// The categories admitted (HRB-ELIG-TYPE); `None`: any category.
    pub eligible_categories: Option<EligibleCategories>,
    /// The city's districts (区县), GB/T 2260.
    pub districts: Vec<District>,
    /// The title of the printed application form (HRB-MAT item 1).
    pub application_form_title: Option<String>,
    /// Contact and supervision channels (HRB-HOTLINE, URC-CHANNEL), in profile order.
    pub contacts: Vec<Contact>,
    pub steps: BTreeMap<Step, StepConfig>,
    pub clocks: Vec<ClockDef>,
    pub materials: Vec<MaterialSlot>,
    pub reevaluation: Option<Reevaluation>,
    pub bans: Vec<BanRule>,
    /// Conditions checked at submission (SPEC §2).
    pub conditions: Vec<Condition>,
    /// Not-accepted rules (不予受理), checked at submission and at information verification.
    pub not_accepted: Vec<NotAcceptedRule>,
    /// What unmet conditions do at submission.
    pub unmet_conditions: OnUnmet,
    /// The evaluator draw (URC-EVAL-1), when the profile draws evaluators.
    pub evaluation: Option<EvaluationConfig>,
    /// Site-evaluation score sheets, per kind of institution (HRB-EVAL-1, URC-EVAL-2).
    pub score_sheets: Vec<ScoreSheet>,
    /// Pre-signing preparation (HRB-PRE-1…4, HRB-ANNEX1/2), when the profile has that step.
    pub preparation: Option<PreparationConfig>,
    /// The agreement's text (HRB-SIGN / URC-SIGN).
    pub agreement: Option<AgreementTemplate>,
    // --- urc: filing the passed list with the administration (URC-RES-1) ---
    /// Filing (备案) of a round's passed list with the administrative department, when the
    /// profile has it.
    pub filing: Option<FilingConfig>,
    /// URC-REV-1: the initial review is held against the planning figures the administrator
    /// keeps (a store table), when the profile has it.
    pub planning: Option<PlanningConfig>,
    /// SHA-256 of the source text: the identity of this exact version.
    pub sha256: String,
    /// The source text, kept so an application's rules can be shown and reloaded forever.
    #[serde(skip)]
    pub source: String,
}

/// How evaluators are drawn and when the grouping is revealed (URC-EVAL-1, G-DRAW).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EvaluationConfig {
    pub rule: String,
    pub composition: crate::draw::Composition,
    /// URC-EVAL-1 "于现场评估前日…分组": unset (the seed's reading), the grouping is drawn and
    /// revealed on the calendar day before the site visit; set (profiles up to 2026.3), this
    /// many working days before it.
    pub reveal_working_days_before: Option<u16>,
}

/// A score sheet: items with maximum points, and the pass mark.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScoreSheet {
    pub id: String,
    pub rule: String,
    pub applies_to: Vec<InstitutionKind>,
    pub pass_mark: u16,
    pub items: Vec<SheetItem>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SheetItem {
    pub id: String,
    pub name: String,
    pub max: u16,
}

impl ScoreSheet {
    /// The sum of the items' maxima, saturating at `u16::MAX` (a profile whose items add up to
    /// more is refused when it is loaded).
    pub fn total(&self) -> u16 {
        u16::try_from(self.items.iter().map(|i| u32::from(i.max)).sum::<u32>()).unwrap_or(u16::MAX)
    }
}

/// The lifecycle's main path, in order. A profile uses the states its steps enable.
pub const MAIN_PATH: &[State] = &[
    State::Submitted,
    State::Accepted,
    State::InitialReview,
    State::InfoVerification,
    State::EvaluatorDraw,
    State::OnSiteEvaluation,
    State::ExpertReview,
    State::CollectiveDecision,
    State::Passed,
    State::PublicNotice,
    State::PresignPreparation,
    State::ReadyToSign,
    State::Signed,
];

impl Profile {
    pub fn step(&self, step: Step) -> Option<&StepConfig> {
        self.steps.get(&step)
    }

    pub fn has(&self, step: Step) -> bool {
        self.steps.contains_key(&step)
    }

    /// True when the profile uses this state.
    pub fn uses(&self, state: State) -> bool {
        match Step::owning(state) {
            Some(step) => self.has(step),
            None => true,
        }
    }

    /// The next state on the main path after `state` that this profile uses.
    pub fn next_after(&self, state: State) -> State {
        let start = MAIN_PATH.iter().position(|s| *s == state).map(|i| i + 1).unwrap_or(0);
        MAIN_PATH[start..].iter().copied().find(|s| self.uses(*s)).unwrap_or(State::Signed)
    }

    pub fn clock(&self, id: &str) -> Option<&ClockDef> {
        self.clocks.iter().find(|c| c.id == id)
    }

    /// The clock whose expiry has the given consequence.
    pub fn clock_with_expiry(&self, e: Expiry) -> Option<&ClockDef> {
        self.clocks.iter().find(|c| c.on_expiry == Some(e))
    }

    /// The contact and supervision channels as one line, "label：value；…" (HRB-HOTLINE,
    /// URC-CHANNEL); `None` when the profile lists none.
    pub fn contacts_line(&self) -> Option<String> {
        let parts: Vec<String> = self.contacts.iter().map(|c| format!("{}：{}", c.label, c.value)).collect();
        (!parts.is_empty()).then(|| parts.join("；"))
    }

    /// The agency's time limit on this act, if the profile sets one (G-AGENCY-TIME).
    pub fn clock_bounding(&self, b: Bound) -> Option<&ClockDef> {
        self.clocks.iter().find(|c| c.bounds == Some(b))
    }

    pub fn ban(&self, on: BanTrigger) -> Option<&BanRule> {
        self.bans.iter().find(|b| b.on == on)
    }

    /// The score sheet for a kind of institution.
    pub fn score_sheet(&self, kind: InstitutionKind) -> Option<&ScoreSheet> {
        self.score_sheets.iter().find(|s| s.applies_to.contains(&kind))
    }

    pub fn material(&self, id: &str) -> Option<&MaterialSlot> {
        self.materials.iter().find(|m| m.id == id)
    }

    /// A district's name, when the code is one of the city's districts.
    pub fn district_name(&self, code: &str) -> Option<&str> {
        self.districts.iter().find(|d| d.code == code).map(|d| d.name.as_str())
    }

    /// Whether a category may apply here (HRB-ELIG-TYPE): `Err(rule)` when the profile lists
    /// the categories of this kind and `category` is not among them.
    pub fn category_admitted(&self, kind: InstitutionKind, category: &str) -> Result<(), &str> {
        match &self.eligible_categories {
            Some(e) if e.for_kind(kind).is_some_and(|list| !list.iter().any(|c| c == category)) => Err(&e.rule),
            _ => Ok(()),
        }
    }

    /// Fills the fields that an older text of this city's profile predates (it was stored by an
    /// earlier release, before the field existed) from `newer`, a version of the same city that
    /// has them: names and titles only, never a rule that decides anything. Fields the older
    /// text sets are kept.
    pub fn inherit_missing(&mut self, newer: &Profile) {
        if self.id != newer.id {
            return;
        }
        if self.rule_prefix.is_empty() {
            self.rule_prefix.clone_from(&newer.rule_prefix);
        }
        if self.scope_rule.is_none() {
            self.scope_rule.clone_from(&newer.scope_rule);
        }
        if self.districts.is_empty() {
            self.districts.clone_from(&newer.districts);
        }
        if self.contacts.is_empty() {
            self.contacts.clone_from(&newer.contacts);
        }
        if self.application_form_title.is_none() {
            self.application_form_title.clone_from(&newer.application_form_title);
        }
        if let (Some(old), Some(new)) = (self.preparation.as_mut(), newer.preparation.as_ref()) {
            if old.annex1_title.is_none() {
                old.annex1_title.clone_from(&new.annex1_title);
            }
            if old.annex2_package_prefix.is_none() {
                old.annex2_package_prefix.clone_from(&new.annex2_package_prefix);
            }
        }
    }

    /// The slots an institution of `kind` fills in `phase`, in profile order.
    pub fn materials_for(&self, kind: InstitutionKind, phase: MaterialPhase) -> impl Iterator<Item = &MaterialSlot> {
        self.materials.iter().filter(move |m| m.phase == phase && m.applies_to.contains(&kind))
    }

    /// The shipped profiles, parsed. Panics if a shipped file is invalid (a test guards this).
    pub fn shipped() -> Vec<Profile> {
        SHIPPED
            .iter()
            .map(|(file, text)| Profile::parse(file, text).unwrap_or_else(|e| panic!("shipped profile {file} is invalid: {e:?}")))
            .collect()
    }

    /// Parses and validates a profile. Every problem found is returned, each with its line.
    pub fn parse(file: &str, text: &str) -> Result<Profile, Vec<LoadError>> {
        Profile::parse_as(file, text, true)
    }

    /// Parses a profile text stored by an earlier release. Such a text may predate fields that
    /// are now required (they were added to take city data out of the code): it is accepted
    /// without them, and [`Profile::inherit_missing`] fills them from a newer version. Every
    /// other check applies.
    pub fn parse_stored(file: &str, text: &str) -> Result<Profile, Vec<LoadError>> {
        Profile::parse_as(file, text, false)
    }

    fn parse_as(file: &str, text: &str, complete: bool) -> Result<Profile, Vec<LoadError>> {
        let raw: RawProfile = toml::from_str(text).map_err(|e| vec![LoadError::from_toml(file, text, &e)])?;
        Validator { file, text, errors: Vec::new(), complete, rule_prefix: None }.build(raw)
    }
}

type Sp<T> = toml::Spanned<T>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProfile {
    profile: RawMeta,
    steps: Sp<BTreeMap<Sp<Step>, RawStep>>,
    #[serde(default)]
    clocks: Vec<RawClock>,
    #[serde(default)]
    materials: Vec<RawMaterial>,
    reevaluation: Option<RawReevaluation>,
    #[serde(default)]
    bans: Vec<RawBan>,
    #[serde(default)]
    conditions: Vec<RawCondition>,
    #[serde(default)]
    not_accepted: Vec<RawNotAccepted>,
    evaluation: Option<RawEvaluation>,
    #[serde(default)]
    score_sheets: Vec<RawSheet>,
    preparation: Option<Sp<PreparationConfig>>,
    agreement: Option<Sp<AgreementTemplate>>,
    filing: Option<Sp<FilingConfig>>,
    planning: Option<Sp<PlanningConfig>>,
    eligible_categories: Option<Sp<EligibleCategories>>,
    #[serde(default)]
    districts: Vec<Sp<District>>,
    documents: Option<Sp<RawDocuments>>,
    #[serde(default)]
    contacts: Vec<Sp<Contact>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDocuments {
    application_form_title: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSheet {
    id: Sp<String>,
    rule: Sp<String>,
    applies_to: Option<Vec<InstitutionKind>>,
    pass_mark: u16,
    items: Vec<SheetItem>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEvaluation {
    rule: Sp<String>,
    group_size: Sp<u32>,
    #[serde(default)]
    min_per_department: BTreeMap<crate::draw::Department, u32>,
    #[serde(default)]
    distinct_employers: bool,
    #[serde(default)]
    no_repeat_years: u16,
    #[serde(default)]
    reveal_working_days_before: Option<u16>,
}

#[derive(Deserialize)]
struct RawCondition {
    rule: Sp<String>,
    applies_to: Option<Vec<InstitutionKind>>,
    #[serde(flatten)]
    check: Check,
}

#[derive(Deserialize)]
struct RawNotAccepted {
    rule: Sp<String>,
    applies_to: Option<Vec<InstitutionKind>>,
    #[serde(flatten)]
    trigger: Trigger,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMeta {
    id: Sp<String>,
    version: Sp<String>,
    name: String,
    division: Sp<String>,
    rule_prefix: Option<Sp<String>>,
    kinds: Sp<Vec<InstitutionKind>>,
    scope_rule: Option<Sp<String>>,
    #[serde(default)]
    unmet_conditions: OnUnmet,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
    rule: Sp<String>,
    actor: Sp<Role>,
    #[serde(default)]
    score_sheet_confirmation: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawClock {
    id: Sp<String>,
    rule: Sp<String>,
    name: String,
    amount: Sp<u16>,
    unit: crate::deadline::Unit,
    runs_in: Sp<Vec<State>>,
    #[serde(default)]
    pauses_in: Option<Sp<Vec<State>>>,
    on_expiry: Option<Sp<Expiry>>,
    #[serde(default)]
    starts: Option<Sp<ClockStart>>,
    #[serde(default)]
    bounds: Option<Sp<Bound>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMaterial {
    id: Sp<String>,
    rule: Sp<String>,
    name: String,
    applies_to: Option<Vec<InstitutionKind>>,
    types: Sp<Vec<FileType>>,
    max_mb: Sp<u32>,
    #[serde(default)]
    multiple: bool,
    #[serde(default)]
    phase: MaterialPhase,
    check: Option<SlotCheck>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawReevaluation {
    rule: Sp<String>,
    wait_amount: Sp<u16>,
    wait_unit: crate::deadline::Unit,
    reenter: Sp<State>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBan {
    rule: Sp<String>,
    on: Sp<BanTrigger>,
    amount: Sp<u16>,
    unit: crate::deadline::Unit,
}

struct Validator<'a> {
    file: &'a str,
    text: &'a str,
    errors: Vec<LoadError>,
    /// False for a stored text of an earlier release: fields added since may be missing.
    complete: bool,
    /// The city's own rule-ID prefix, once read; `None` accepts any (reported once).
    rule_prefix: Option<String>,
}

impl Validator<'_> {
    fn err<T>(&mut self, at: &Sp<T>, msg: impl Into<String>) {
        self.errors.push(LoadError::new(self.file, line_of(self.text, at.span().start), msg));
    }

    /// A rule ID: the city's prefix (`rule_prefix`), `LAW` or `G`, a dash, then upper-case
    /// letters, digits and dashes.
    fn rule(&mut self, r: &Sp<String>) -> String {
        let own = self.rule_prefix.clone();
        let ok = r.get_ref().split_once('-').is_some_and(|(p, rest)| {
            let prefix_ok = match &own {
                Some(own) => p == own || p == "LAW" || p == "G",
                None => !p.is_empty() && p.chars().all(|c| c.is_ascii_uppercase()),
            };
            prefix_ok && !rest.is_empty() && rest.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-')
        });
        if !ok {
            let own = own.map(|p| format!("{p}-…, ")).unwrap_or_default();
            self.err(r, format!("rule {:?} is not a rule ID ({own}LAW-… or G-…, then upper-case letters, digits and dashes)", r.get_ref()));
        }
        r.get_ref().clone()
    }

    /// Reports a field that a complete profile must have.
    fn require<T>(&mut self, at: &Sp<T>, present: bool, msg: &str) {
        if self.complete && !present {
            self.err(at, msg.to_owned());
        }
    }

    fn nonzero(&mut self, n: &Sp<u16>, what: &str) -> u16 {
        if *n.get_ref() == 0 {
            self.err(n, format!("{what} must be at least 1"));
        }
        *n.get_ref()
    }

    fn build(mut self, raw: RawProfile) -> Result<Profile, Vec<LoadError>> {
        let m = &raw.profile;
        let id_ok = !m.id.get_ref().is_empty() && m.id.get_ref().chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !id_ok {
            self.err(&m.id, "profile id must be lowercase letters, digits or _");
        }
        if m.version.get_ref().trim().is_empty() {
            self.err(&m.version, "version must not be empty");
        }
        let div = m.division.get_ref();
        if div.len() != 6 || !div.chars().all(|c| c.is_ascii_digit()) || !div.ends_with("00") {
            self.err(&m.division, format!("division {div:?} must be a 6-digit city code ending in 00 (GB/T 2260), e.g. 230100"));
        }
        if m.kinds.get_ref().is_empty() {
            self.err(&m.kinds, "kinds must name at least one of medical, pharmacy");
        }
        match &m.rule_prefix {
            Some(p) if p.get_ref().len() >= 2 && p.get_ref().len() <= 8 && p.get_ref().chars().all(|c| c.is_ascii_uppercase()) => {
                if matches!(p.get_ref().as_str(), "LAW" | "G") {
                    self.err(p, "rule_prefix must be the city's own prefix, not LAW or G");
                }
                self.rule_prefix = Some(p.get_ref().clone());
            }
            Some(p) => self.err(p, format!("rule_prefix {:?} must be 2 to 8 upper-case letters, e.g. HRB", p.get_ref())),
            None => self.require(&m.id, false, "[profile] needs rule_prefix, the prefix of the city's rule IDs (e.g. \"HRB\")"),
        }
        let scope_rule = m.scope_rule.as_ref().map(|r| self.rule(r));
        self.require(&m.id, scope_rule.is_some(), "[profile] needs scope_rule, the rule saying which kinds of institution the city serves");

        let eligible_categories = raw.eligible_categories.as_ref().map(|e| {
            let c = e.get_ref().clone();
            let _ = self.rule(&Sp::new(e.span(), c.rule.clone()));
            for kind in [InstitutionKind::Medical, InstitutionKind::Pharmacy] {
                let Some(list) = c.for_kind(kind) else { continue };
                if !m.kinds.get_ref().contains(&kind) {
                    self.err(e, format!("[eligible_categories] lists {kind:?} categories, a kind this profile does not serve"));
                }
                let mut seen = BTreeSet::new();
                if list.is_empty() || list.iter().any(|x| x.trim().is_empty() || x.trim() != x || !seen.insert(x)) {
                    self.err(e, format!("the {kind:?} categories must be distinct, non-empty names without surrounding spaces"));
                }
            }
            if c.medical.is_none() && c.pharmacy.is_none() {
                self.err(e, "[eligible_categories] lists no categories; leave the table out to admit every category");
            }
            c
        });

        let prefix4 = div.get(..4).unwrap_or_default().to_owned();
        let mut districts: Vec<District> = Vec::new();
        for d in &raw.districts {
            let district = d.get_ref().clone();
            let code = &district.code;
            if code.len() != 6 || !code.chars().all(|c| c.is_ascii_digit()) || !code.starts_with(&prefix4) || code.ends_with("00") {
                self.err(d, format!("district code {code:?} must be a 6-digit GB/T 2260 code inside the city ({prefix4}xx, not {div})"));
            }
            if district.name.trim().is_empty() {
                self.err(d, format!("district {code} needs a name"));
            }
            if districts.iter().any(|o| &o.code == code) {
                self.err(d, format!("district code {code} is listed twice"));
            }
            districts.push(district);
        }
        self.require(&m.id, !districts.is_empty(), "the profile needs its [[districts]] (code and name of each 区县)");

        let mut contacts = Vec::new();
        for c in &raw.contacts {
            let contact = c.get_ref().clone();
            let _ = self.rule(&Sp::new(c.span(), contact.rule.clone()));
            if contact.label.trim().is_empty() || contact.value.trim().is_empty() {
                self.err(c, "a contact needs a label and a value");
            }
            contacts.push(contact);
        }

        let application_form_title = raw
            .documents
            .as_ref()
            .and_then(|d| d.get_ref().application_form_title.clone())
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty());
        match &raw.documents {
            Some(d) => self.require(d, application_form_title.is_some(), "[documents] needs a non-empty application_form_title"),
            None => self.require(&m.id, false, "the profile needs [documents] application_form_title"),
        }

        let mut steps = BTreeMap::new();
        for (step, cfg) in raw.steps.get_ref() {
            let rule = self.rule(&cfg.rule);
            let actor = *cfg.actor.get_ref();
            let step_id = *step.get_ref();
            let needs_institution = step_id == Step::Apply;
            if needs_institution != (actor == Role::Institution) {
                let want = if needs_institution { "institution" } else { "a reviewing role (agency, branch_reviewer, evaluator, expert)" };
                self.err(&cfg.actor, format!("the actor of step {step_id:?} must be {want}"));
            } else if matches!(actor, Role::System | Role::Supervisor | Role::Admin | Role::ProvincialAdmin) {
                self.err(&cfg.actor, format!("role {actor:?} cannot act in a step"));
            }
            if cfg.score_sheet_confirmation && step_id != Step::SiteEvaluation {
                self.err(&cfg.actor, "score_sheet_confirmation is only valid on site_evaluation");
            }
            steps.insert(step_id, StepConfig { rule, actor, score_sheet_confirmation: cfg.score_sheet_confirmation });
        }
        for required in [Step::Apply, Step::PublicNotice, Step::Signing] {
            if !steps.contains_key(&required) {
                self.err(&raw.steps, format!("step {required:?} is required in every profile"));
            }
        }
        if !(steps.contains_key(&Step::Acceptance) || steps.contains_key(&Step::InitialReview)) {
            self.err(&raw.steps, "a profile needs an acceptance or an initial_review step to receive applications");
        }
        if steps.contains_key(&Step::CompletenessCheck) && !steps.contains_key(&Step::Acceptance) {
            self.err(&raw.steps, "completeness_check needs the acceptance step");
        }
        if !steps.contains_key(&Step::SiteEvaluation) && !steps.contains_key(&Step::ExpertReview) {
            self.err(&raw.steps, "a profile needs site_evaluation or expert_review to reach a result");
        }
        // The result (pass, or fail with rectification) is decided in one of these; a site
        // evaluation alone would move every applicant on to `passed`, whatever the score. A text
        // stored by an earlier release keeps loading as it is.
        let decides = steps.contains_key(&Step::ExpertReview) || steps.contains_key(&Step::CollectiveDecision);
        self.require(
            &raw.steps,
            decides,
            "a profile needs expert_review or collective_decision, where the evaluation result is decided \
             (after site_evaluation alone every applicant would pass)",
        );
        let uses = |s: State| Step::owning(s).is_none_or(|st| steps.contains_key(&st));

        let mut clocks: Vec<ClockDef> = Vec::new();
        let mut seen = BTreeSet::new();
        for c in &raw.clocks {
            if !seen.insert(c.id.get_ref().clone()) {
                self.err(&c.id, format!("clock id {:?} is used twice", c.id.get_ref()));
            }
            let rule = self.rule(&c.rule);
            let amount = self.nonzero(&c.amount, "amount");
            for s in c.runs_in.get_ref() {
                if !uses(*s) || s.is_terminal() {
                    self.err(&c.runs_in, format!("clock {} runs in state {s:?}, which this profile does not use", c.id.get_ref()));
                }
            }
            if c.runs_in.get_ref().is_empty() {
                self.err(&c.runs_in, "runs_in must name at least one state");
            }
            let pauses_in = c.pauses_in.as_ref().map(|p| p.get_ref().clone()).unwrap_or_default();
            if let Some(p) = &c.pauses_in {
                for s in p.get_ref() {
                    if !c.runs_in.get_ref().contains(s) {
                        self.err(p, format!("clock {} pauses in {s:?}, which is not in runs_in", c.id.get_ref()));
                    }
                }
            }
            if let Some(e) = &c.on_expiry {
                let want = e.get_ref().state();
                if c.runs_in.get_ref().as_slice() != want {
                    self.err(e, format!("on_expiry = {:?} needs runs_in = {want:?}", e.get_ref()));
                }
                if clocks.iter().any(|o| o.on_expiry == Some(*e.get_ref())) {
                    self.err(e, format!("two clocks have on_expiry = {:?}", e.get_ref()));
                }
            }
            let starts = c.starts.as_ref().map(|s| *s.get_ref()).unwrap_or_default();
            if let Some(b) = &c.bounds {
                if !c.runs_in.get_ref().contains(&State::Submitted) {
                    self.err(b, format!("clock {} bounds the supplement notice: it must run in \"submitted\"", c.id.get_ref()));
                }
                if c.on_expiry.as_ref().is_some_and(|e| *e.get_ref() != Expiry::DeemAccepted) {
                    self.err(b, format!("clock {} bounds the agency: its on_expiry can only be \"deem_accepted\"", c.id.get_ref()));
                }
            }
            if c.on_expiry.as_ref().is_some_and(|e| *e.get_ref() == Expiry::DeemAccepted) && c.bounds.is_none() {
                self.err(&c.id, format!("clock {}: on_expiry = \"deem_accepted\" needs bounds = \"supplement_notice\"", c.id.get_ref()));
            }
            let notice_first = clocks.iter().any(|o| o.on_expiry == Some(Expiry::EndNotice));
            if let Some(s) = c.starts.as_ref().filter(|s| *s.get_ref() == ClockStart::NoticeEnd && !notice_first) {
                let what = "starts at the end of the notice: a clock with on_expiry = \"end_notice\" must come before it";
                self.err(s, format!("clock {} {what}", c.id.get_ref()));
            }
            clocks.push(ClockDef {
                id: c.id.get_ref().clone(),
                rule,
                name: c.name.clone(),
                budget: Budget { amount, unit: c.unit },
                runs_in: c.runs_in.get_ref().clone(),
                pauses_in,
                on_expiry: c.on_expiry.as_ref().map(|e| *e.get_ref()),
                starts,
                bounds: c.bounds.as_ref().map(|b| *b.get_ref()),
            });
        }
        let needs = [
            (Step::CompletenessCheck, Expiry::DeemWithdrawn),
            (Step::PublicNotice, Expiry::EndNotice),
            (Step::Signing, Expiry::DeemGivenUp),
        ];
        for (step, e) in needs {
            if steps.contains_key(&step) && !clocks.iter().any(|c| c.on_expiry == Some(e)) {
                self.err(&raw.steps, format!("step {step:?} needs a clock with on_expiry = {e:?}"));
            }
        }

        let mut materials: Vec<MaterialSlot> = Vec::new();
        for mat in &raw.materials {
            if materials.iter().any(|o| &o.id == mat.id.get_ref()) {
                self.err(&mat.id, format!("material id {:?} is used twice", mat.id.get_ref()));
            }
            let rule = self.rule(&mat.rule);
            if mat.types.get_ref().is_empty() {
                self.err(&mat.types, "types must name at least one file type");
            }
            if *mat.max_mb.get_ref() == 0 {
                self.err(&mat.max_mb, "max_mb must be at least 1");
            }
            let applies_to = mat.applies_to.clone().unwrap_or_else(|| m.kinds.get_ref().clone());
            if mat.phase == MaterialPhase::Verification && !raw.steps.get_ref().keys().any(|k| *k.get_ref() == Step::InfoVerification) {
                self.err(&mat.id, "a material with phase = \"verification\" needs the info_verification step");
            }
            materials.push(MaterialSlot {
                id: mat.id.get_ref().clone(),
                rule,
                name: mat.name.clone(),
                applies_to,
                types: mat.types.get_ref().clone(),
                max_mb: *mat.max_mb.get_ref(),
                multiple: mat.multiple,
                phase: mat.phase,
                check: mat.check,
            });
        }

        let reevaluation = raw.reevaluation.as_ref().map(|r| {
            let rule = self.rule(&r.rule);
            let amount = self.nonzero(&r.wait_amount, "wait_amount");
            let reenter = *r.reenter.get_ref();
            if !matches!(reenter, State::EvaluatorDraw | State::OnSiteEvaluation | State::ExpertReview) || !uses(reenter) {
                self.err(&r.reenter, format!("reenter = {reenter:?} must be an evaluation state this profile uses"));
            }
            Reevaluation { rule, wait: Budget { amount, unit: r.wait_unit }, reenter }
        });

        let mut bans: Vec<BanRule> = Vec::new();
        for b in &raw.bans {
            let rule = self.rule(&b.rule);
            let amount = self.nonzero(&b.amount, "amount");
            if bans.iter().any(|o| o.on == *b.on.get_ref()) {
                self.err(&b.on, format!("two bans for {:?}", b.on.get_ref()));
            }
            bans.push(BanRule { rule, on: *b.on.get_ref(), length: Budget { amount, unit: b.unit } });
        }

        let kinds = m.kinds.get_ref().clone();
        let applies = |v: &Validator, r: &Sp<String>, a: &Option<Vec<InstitutionKind>>, errs: &mut Vec<LoadError>| {
            let a = a.clone().unwrap_or_else(|| kinds.clone());
            if a.is_empty() || a.iter().any(|k| !kinds.contains(k)) {
                errs.push(LoadError::new(
                    v.file,
                    line_of(v.text, r.span().start),
                    format!("{}: applies_to must name kinds this profile serves", r.get_ref()),
                ));
            }
            a
        };
        let mut extra = Vec::new();
        let mut conditions = Vec::new();
        for c in &raw.conditions {
            let rule = self.rule(&c.rule);
            let applies_to = applies(&self, &c.rule, &c.applies_to, &mut extra);
            let zero = match &c.check {
                Check::OperatingMonths { months } => *months == 0,
                Check::FirstRegisteredPhysicians { min } => *min == 0,
                Check::ContractedStaff { min, contract_years, .. } => *min == 0 || *contract_years == 0,
                Check::Systems { required } => required.is_empty(),
                Check::Equipment { required } => required.is_empty(),
                _ => false,
            };
            if zero {
                extra.push(LoadError::new(
                    self.file,
                    line_of(self.text, c.rule.span().start),
                    format!("{rule}: a condition must ask for something (no zero or empty values)"),
                ));
            }
            conditions.push(Condition { rule, applies_to, check: c.check.clone() });
        }
        let mut not_accepted = Vec::new();
        for n in &raw.not_accepted {
            let rule = self.rule(&n.rule);
            let applies_to = applies(&self, &n.rule, &n.applies_to, &mut extra);
            not_accepted.push(NotAcceptedRule { rule, applies_to, trigger: n.trigger.clone() });
        }
        self.errors.extend(extra);

        let mut score_sheets: Vec<ScoreSheet> = Vec::new();
        for sh in &raw.score_sheets {
            let rule = self.rule(&sh.rule);
            let mut errs = Vec::new();
            let applies_to = applies(&self, &sh.id, &sh.applies_to, &mut errs);
            self.errors.extend(errs);
            let sheet = ScoreSheet { id: sh.id.get_ref().clone(), rule, applies_to, pass_mark: sh.pass_mark, items: sh.items.clone() };
            let mut ids: Vec<&str> = sheet.items.iter().map(|i| i.id.as_str()).collect();
            ids.sort_unstable();
            if sheet.items.is_empty() || sheet.items.iter().any(|i| i.max == 0) || ids.windows(2).any(|w| w[0] == w[1]) {
                self.err(&sh.id, "a score sheet needs items with distinct ids and a max of at least 1");
            }
            let sum: u32 = sheet.items.iter().map(|i| u32::from(i.max)).sum();
            if sum > u32::from(u16::MAX) {
                self.err(&sh.id, format!("the items' maxima add up to {sum}, more than {}", u16::MAX));
            }
            if sheet.pass_mark == 0 || sheet.pass_mark > sheet.total() {
                self.err(&sh.id, format!("pass_mark must be between 1 and the sheet's total ({})", sheet.total()));
            }
            if score_sheets.iter().any(|o| o.applies_to.iter().any(|k| sheet.applies_to.contains(k))) {
                self.err(&sh.id, "two score sheets apply to the same kind of institution");
            }
            score_sheets.push(sheet);
        }

        let evaluation = raw.evaluation.as_ref().map(|e| {
            let rule = self.rule(&e.rule);
            let size = *e.group_size.get_ref();
            let minimum: u64 = e.min_per_department.values().map(|m| u64::from(*m)).sum();
            if size == 0 || minimum > u64::from(size) {
                self.err(
                    &e.group_size,
                    format!("group_size {size} must be at least 1 and at least the sum of the department minimums ({minimum})"),
                );
            }
            if !steps.contains_key(&Step::EvaluatorDraw) {
                self.err(&e.rule, "[evaluation] needs the evaluator_draw step");
            }
            EvaluationConfig {
                rule,
                composition: crate::draw::Composition {
                    group_size: size,
                    min_per_department: e.min_per_department.iter().map(|(d, n)| (*d, *n)).collect(),
                    distinct_employers: e.distinct_employers,
                    no_repeat_years: e.no_repeat_years,
                },
                reveal_working_days_before: e.reveal_working_days_before,
            }
        });

        let agreement = raw.agreement.as_ref().map(|a| {
            let t = a.get_ref().clone();
            let rule = Sp::new(a.span(), t.rule.clone());
            let _ = self.rule(&rule);
            if t.clauses.is_empty() {
                self.err(a, "agreement needs at least one clause");
            }
            t
        });
        let filing = raw.filing.as_ref().map(|f| {
            let c = f.get_ref().clone();
            let _ = self.rule(&Sp::new(f.span(), c.rule.clone()));
            c
        });
        let planning = raw.planning.as_ref().map(|f| {
            let c = f.get_ref().clone();
            let _ = self.rule(&Sp::new(f.span(), c.rule.clone()));
            c
        });
        if raw.preparation.is_some() != raw.steps.get_ref().keys().any(|k| *k.get_ref() == Step::PresignPreparation) {
            self.err(&raw.steps, "[preparation] goes with the presign_preparation step, and only with it");
        }
        let packages = materials.iter().any(|m| m.check == Some(SlotCheck::Annex2Package));
        let preparation = raw.preparation.as_ref().map(|p| {
            let mut c = p.get_ref().clone();
            for field in [&mut c.annex1_title, &mut c.annex2_package_prefix] {
                *field = field.as_deref().map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned);
            }
            self.require(p, c.annex1_title.is_some(), "[preparation] needs annex1_title, the title of the dedicated-line filing form");
            if let Some(prefix) = &c.annex2_package_prefix
                && prefix.contains(['/', '\\', '.', '\u{2014}', '\u{2015}', '\u{2013}', '-', '\u{FF0D}'])
            {
                self.err(p, "annex2_package_prefix must not contain /, \\, dashes or dots (they separate the name's parts)");
            }
            self.require(
                p,
                !packages || c.annex2_package_prefix.is_some(),
                "[preparation] needs annex2_package_prefix: a material slot checks the Annex 2 package name",
            );
            if let Some(slot) = &c.annex1_signed_slot
                && !materials.iter().any(|m| &m.id == slot && m.phase == MaterialPhase::Preparation)
            {
                self.err(p, format!("annex1_signed_slot {slot:?} must name a material with phase = \"preparation\""));
            }
            c
        });
        if packages && raw.preparation.is_none() {
            self.err(&raw.steps, "a material with check = \"annex2_package\" needs [preparation] and its annex2_package_prefix");
        }
        if !self.errors.is_empty() {
            self.errors.sort_by_key(|e| e.line);
            return Err(self.errors);
        }
        Ok(Profile {
            id: m.id.get_ref().clone(),
            version: m.version.get_ref().clone(),
            name: m.name.clone(),
            division: div.clone(),
            rule_prefix: self.rule_prefix.clone().unwrap_or_default(),
            kinds: m.kinds.get_ref().clone(),
            scope_rule,
            eligible_categories,
            districts,
            application_form_title,
            contacts,
            steps,
            clocks,
            materials,
            reevaluation,
            bans,
            conditions,
            not_accepted,
            unmet_conditions: m.unmet_conditions,
            evaluation,
            score_sheets,
            preparation,
            agreement,
            filing,
            planning,
            sha256: hex::encode(Sha256::digest(self.text.as_bytes())),
            source: self.text.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_profiles_are_valid() {
        let ps = Profile::shipped();
        assert_eq!(ps.len(), 2);
        let hrb = &ps[0];
        assert_eq!(hrb.kinds, vec![InstitutionKind::Medical], "HRB-SCOPE");
        let application = hrb.materials.iter().filter(|m| m.phase == MaterialPhase::Application).count();
        assert_eq!(application, 8, "HRB-MAT has eight items");
        let annex2 = hrb.material("annex2_package").expect("HRB-ANNEX2 package slot");
        assert_eq!(
            (annex2.phase, annex2.check, annex2.types.as_slice()),
            (MaterialPhase::Preparation, Some(SlotCheck::Annex2Package), &[FileType::Zip][..])
        );
        assert_eq!(hrb.next_after(State::Draft), State::Submitted);
        assert_eq!(hrb.next_after(State::Accepted), State::OnSiteEvaluation);
        assert_eq!(hrb.next_after(State::ExpertReview), State::Passed);
        assert_eq!(hrb.next_after(State::PublicNotice), State::PresignPreparation);
        let urc = &ps[1];
        assert_eq!(urc.kinds, vec![InstitutionKind::Medical, InstitutionKind::Pharmacy], "URC-SCOPE");
        assert_eq!(urc.next_after(State::Draft), State::InitialReview);
        assert_eq!(urc.next_after(State::ExpertReview), State::CollectiveDecision);
        assert_eq!(urc.next_after(State::PublicNotice), State::ReadyToSign);
    }

    // What a city is, beyond its rules, is profile data too: the scope rule, the category list,
    // the districts and the document titles (G-PROFILE: a third city is a file).
    #[test]
    fn g_profile_city_data_comes_from_the_profile() {
        let ps = Profile::shipped();
        let (hrb, urc) = (&ps[0], &ps[1]);
        assert_eq!((hrb.rule_prefix.as_str(), hrb.scope_rule.as_deref()), ("HRB", Some("HRB-SCOPE")));
        assert_eq!((urc.rule_prefix.as_str(), urc.scope_rule.as_deref()), ("URC", Some("URC-SCOPE")));
        assert_eq!(hrb.category_admitted(InstitutionKind::Medical, "口腔诊所"), Err("HRB-ELIG-TYPE"));
        assert_eq!(hrb.category_admitted(InstitutionKind::Medical, "综合医院"), Ok(()));
        assert_eq!(urc.category_admitted(InstitutionKind::Medical, "口腔诊所"), Ok(()));
        assert_eq!((hrb.district_name("230102"), urc.district_name("650121")), (Some("道里区"), Some("乌鲁木齐县")));
        assert_eq!(hrb.district_name("650121"), None);
        let prep = hrb.preparation.as_ref().expect("HRB-PRE");
        assert_eq!(prep.annex2_package_prefix.as_deref(), Some("哈尔滨市处方流转验收材料"));
        assert!(prep.annex1_title.is_some() && hrb.application_form_title.is_some() && urc.application_form_title.is_some());
    }

    /// HRB-ANNEX1 / HRB-ANNEX2 settings: the shipped reading, and a signed-form slot that is not
    /// a preparation material is refused on load.
    #[test]
    fn hrb_annex_preparation_settings() {
        let hrb = Profile::shipped().swap_remove(0);
        let prep = hrb.preparation.as_ref().expect("HRB-PRE");
        assert_eq!((prep.annex2_attempts, prep.annex2_missed_window), (0, Annex2Missed::AcceptanceRequest));
        assert_eq!(prep.annex1_signed_slot.as_deref(), Some("annex1_signed"));
        assert_eq!(hrb.material("annex1_signed").map(|m| m.phase), Some(MaterialPhase::Preparation));
        let text = SHIPPED[0].1.replacen("annex1_signed_slot = \"annex1_signed\"", "annex1_signed_slot = \"licence\"", 1);
        let errs = Profile::parse("h.toml", &text).unwrap_err();
        assert!(errs.iter().any(|e| e.message.contains("annex1_signed_slot \"licence\"")), "{errs:?}");
    }

    #[test]
    fn g_profile_city_fields_are_required_and_checked_with_lines() {
        let text = SHIPPED[0]
            .1
            .replacen("rule_prefix = \"HRB\"", "", 1)
            .replacen("scope_rule = \"HRB-SCOPE\"", "", 1)
            .replacen("annex2_package_prefix = ", "# ", 1)
            .replacen("code = \"230104\"", "code = \"650104\"", 1);
        let errs = Profile::parse("h.toml", &text).unwrap_err();
        for want in ["needs rule_prefix", "needs scope_rule", "needs annex2_package_prefix", "\"650104\" must be a 6-digit"] {
            assert!(errs.iter().any(|e| e.message.contains(want) && e.line > 1), "{want}: {errs:?}");
        }
        // A city cites its own rules (and LAW-, G-), not another city's.
        let text = SHIPPED[0].1.replacen("scope_rule = \"HRB-SCOPE\"", "scope_rule = \"URC-SCOPE\"", 1);
        let errs = Profile::parse("h.toml", &text).unwrap_err();
        assert!(errs.iter().any(|e| e.message.contains("URC-SCOPE") && e.line == 12), "{errs:?}");
        // A category list for a kind the city does not serve is a mistake.
        let text = SHIPPED[0].1.replacen("rule = \"HRB-ELIG-TYPE\"", "rule = \"HRB-ELIG-TYPE\"\npharmacy = [\"零售药店\"]", 1);
        let errs = Profile::parse("h.toml", &text).unwrap_err();
        assert!(errs.iter().any(|e| e.message.contains("does not serve")), "{errs:?}");
        // The evaluation result needs a step that decides it.
        let start = SHIPPED[0].1.find("[steps.expert_review]").unwrap();
        let end = SHIPPED[0].1.find("[steps.public_notice]").unwrap();
        let text = format!("{}{}", &SHIPPED[0].1[..start], &SHIPPED[0].1[end..]);
        let errs = Profile::parse("h.toml", &text).unwrap_err();
        assert!(errs.iter().any(|e| e.message.contains("needs expert_review or collective_decision")), "{errs:?}");
        // HRB-HOTLINE: a contact says what it is and how to reach it.
        let text = SHIPPED[0].1.replacen("value = \"0451-12393\"", "value = \" \"", 1);
        let errs = Profile::parse("h.toml", &text).unwrap_err();
        assert!(errs.iter().any(|e| e.message.contains("a contact needs a label and a value") && e.line > 1), "{errs:?}");
    }

    // Applications stay bound to the version they were submitted under: the texts an earlier
    // release stored (before the city fields existed) still load, and take the names they lack
    // from a newer version of the same city.
    #[test]
    fn g_profile_stored_older_texts_load_and_inherit_names() {
        let old = include_str!("../tests/fixtures/harbin-2026.2.toml");
        assert!(Profile::parse("old.toml", old).is_err(), "a new file must carry the city fields");
        let mut p = Profile::parse_stored("<stored harbin>", old).expect("stored text loads");
        assert_eq!((p.version.as_str(), p.scope_rule.as_deref()), ("2026.2", None));
        let prefix = |p: &Profile| p.preparation.as_ref().and_then(|c| c.annex2_package_prefix.clone());
        assert_eq!(prefix(&p), None);
        let shipped = Profile::shipped();
        p.inherit_missing(&shipped[1]);
        assert_eq!(prefix(&p), None, "only the same city");
        p.inherit_missing(&shipped[0]);
        assert_eq!(prefix(&p).as_deref(), Some("哈尔滨市处方流转验收材料"));
        assert_eq!(p.district_name("230102"), Some("道里区"));
        assert_eq!(p.clock("supplement"), shipped[0].clock("supplement"), "rules are the old text's own");
        let urc = Profile::parse_stored("<stored urumqi>", include_str!("../tests/fixtures/urumqi-2026.2.toml"));
        assert!(urc.is_ok(), "{urc:?}");
    }

    #[test]
    fn broken_profile_reports_lines() {
        let text = SHIPPED[0].1.replacen("amount = 5", "amount = 0", 1).replacen("rule = \"HRB-ACC-2\"", "rule = \"ACC2\"", 1);
        let errs = Profile::parse("broken.toml", &text).unwrap_err();
        assert!(errs.iter().any(|e| e.message.contains("amount must be at least 1") && e.line > 0), "{errs:?}");
        assert!(errs.iter().any(|e| e.message.contains("not a rule ID")), "{errs:?}");
    }

    #[test]
    fn syntax_error_has_line() {
        let text = "[profile]\nid = \"x\"\nversion = 1\n";
        let errs = Profile::parse("x.toml", text).unwrap_err();
        assert_eq!(errs[0].line, 3, "{errs:?}");
    }

    /// Huge numbers in a profile are load errors, not arithmetic overflow.
    #[test]
    fn huge_maxima_and_minimums_are_errors_not_overflow() {
        let text = SHIPPED[0].1.replacen("max = 20 }", "max = 65535 }", 2);
        let errs = Profile::parse("h.toml", &text).unwrap_err();
        assert!(errs.iter().any(|e| e.message.contains("add up to")), "{errs:?}");
        let text = SHIPPED[1].1.replacen("insurance = 1\nhealth = 1", "insurance = 4294967295\nhealth = 4294967295", 1);
        let errs = Profile::parse("u.toml", &text).unwrap_err();
        assert!(errs.iter().any(|e| e.message.contains("8589934591")), "{errs:?}");
    }

    #[test]
    fn unknown_unit_has_line() {
        let text = SHIPPED[1].1.replacen("unit = \"calendar_days\"", "unit = \"weeks\"", 1);
        let errs = Profile::parse("u.toml", &text).unwrap_err();
        assert!(errs[0].line > 1 && errs[0].message.contains("weeks"), "{errs:?}");
    }
}
