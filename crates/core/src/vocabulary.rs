//! The shared vocabulary of the domain: the lifecycle states, the roles, who is acting, and the
//! kinds of institution. Every other module of the core speaks these words, so this one imports
//! none of them: it is the leaf that keeps the module graph free of circles.
//!
//! Not responsible for what the words imply (which command a role may send in which state is
//! `lifecycle::decide`; which steps a city runs is the profile in `policy`).

use serde::{Deserialize, Serialize};

/// Lifecycle states (DESIGN.md). The last six are terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    Draft,
    Submitted,
    AwaitingSupplement,
    Accepted,
    InitialReview,
    InfoVerification,
    EvaluatorDraw,
    OnSiteEvaluation,
    ExpertReview,
    CollectiveDecision,
    FailedRectifying,
    Passed,
    PublicNotice,
    PresignPreparation,
    ReadyToSign,
    Signed,
    Withdrawn,
    Rejected,
    Terminated,
    NotSigned,
    GivenUp,
    FailedFinal,
}

pub const ALL_STATES: &[State] = &[
    State::Draft,
    State::Submitted,
    State::AwaitingSupplement,
    State::Accepted,
    State::InitialReview,
    State::InfoVerification,
    State::EvaluatorDraw,
    State::OnSiteEvaluation,
    State::ExpertReview,
    State::CollectiveDecision,
    State::FailedRectifying,
    State::Passed,
    State::PublicNotice,
    State::PresignPreparation,
    State::ReadyToSign,
    State::Signed,
    State::Withdrawn,
    State::Rejected,
    State::Terminated,
    State::NotSigned,
    State::GivenUp,
    State::FailedFinal,
];

impl State {
    /// No command moves an application out of a terminal state (`signed` included).
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            State::Signed | State::Withdrawn | State::Rejected | State::Terminated | State::NotSigned | State::GivenUp | State::FailedFinal
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            State::Draft => "draft",
            State::Submitted => "submitted",
            State::AwaitingSupplement => "awaiting_supplement",
            State::Accepted => "accepted",
            State::InitialReview => "initial_review",
            State::InfoVerification => "info_verification",
            State::EvaluatorDraw => "evaluator_draw",
            State::OnSiteEvaluation => "on_site_evaluation",
            State::ExpertReview => "expert_review",
            State::CollectiveDecision => "collective_decision",
            State::FailedRectifying => "failed_rectifying",
            State::Passed => "passed",
            State::PublicNotice => "public_notice",
            State::PresignPreparation => "presign_preparation",
            State::ReadyToSign => "ready_to_sign",
            State::Signed => "signed",
            State::Withdrawn => "withdrawn",
            State::Rejected => "rejected",
            State::Terminated => "terminated",
            State::NotSigned => "not_signed",
            State::GivenUp => "given_up",
            State::FailedFinal => "failed_final",
        }
    }

    pub fn parse(s: &str) -> Option<State> {
        ALL_STATES.iter().copied().find(|st| st.as_str() == s)
    }

    pub fn zh(self) -> &'static str {
        match self {
            State::Draft => "草稿",
            State::Submitted => "已提交，待受理",
            State::AwaitingSupplement => "待补正材料",
            State::Accepted => "已受理",
            State::InitialReview => "初审中",
            State::InfoVerification => "信息核查中",
            State::EvaluatorDraw => "待抽取评估人员",
            State::OnSiteEvaluation => "现场评估中",
            State::ExpertReview => "专家评估中",
            State::CollectiveDecision => "待集体研究决定",
            State::FailedRectifying => "评估未通过，整改中",
            State::Passed => "评估通过",
            State::PublicNotice => "公示中",
            State::PresignPreparation => "签约前准备",
            State::ReadyToSign => "待签订协议",
            State::Signed => "已签订协议",
            State::Withdrawn => "已撤回",
            State::Rejected => "不予受理",
            State::Terminated => "已终止",
            State::NotSigned => "未签订协议",
            State::GivenUp => "视为放弃",
            State::FailedFinal => "评估未通过（终结）",
        }
    }
}

/// The roles of SPEC §1, plus the `system` actor that fires time-driven transitions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Institution,
    BranchReviewer,
    Agency,
    Evaluator,
    Expert,
    Supervisor,
    Admin,
    /// The provincial administrator: manages the accounts, profiles, calendars and statistics of
    /// every city of its province; acts on no application (`province`).
    ProvincialAdmin,
    System,
}

pub const ALL_ROLES: &[Role] = &[
    Role::Institution,
    Role::BranchReviewer,
    Role::Agency,
    Role::Evaluator,
    Role::Expert,
    Role::Supervisor,
    Role::Admin,
    Role::ProvincialAdmin,
    Role::System,
];

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Institution => "institution",
            Role::BranchReviewer => "branch_reviewer",
            Role::Agency => "agency",
            Role::Evaluator => "evaluator",
            Role::Expert => "expert",
            Role::Supervisor => "supervisor",
            Role::Admin => "admin",
            Role::ProvincialAdmin => "provincial_admin",
            Role::System => "system",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        ALL_ROLES.iter().copied().find(|r| r.as_str() == s)
    }

    pub fn zh(self) -> &'static str {
        match self {
            Role::Institution => "申请机构",
            Role::BranchReviewer => "区（县）医保分中心",
            Role::Agency => "医保经办机构",
            Role::Evaluator => "评估人员",
            Role::Expert => "评估专家",
            Role::Supervisor => "医保纪检监察",
            Role::Admin => "医疗保障行政部门",
            Role::ProvincialAdmin => "省级管理员",
            Role::System => "系统",
        }
    }
}

/// Who is acting, with the scope their account carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Actor {
    /// 0 for the system actor.
    pub user_id: i64,
    pub role: Role,
    /// The profile (city) the account belongs to.
    pub city: String,
    /// District code, for branch reviewers.
    pub district: Option<String>,
    /// The institution, for institution accounts.
    pub institution_id: Option<i64>,
    /// The evaluator's id in the city's pool, for evaluator accounts.
    pub evaluator_id: Option<String>,
    /// The province (GB/T 2260, e.g. `230000`), for provincial administrators; their `city` is
    /// empty until `province::administer` scopes them to one city of the province.
    pub province: Option<String>,
}

impl Actor {
    pub fn system(city: &str) -> Actor {
        Actor {
            user_id: 0,
            role: Role::System,
            city: city.to_owned(),
            district: None,
            institution_id: None,
            evaluator_id: None,
            province: None,
        }
    }
}

/// Which kinds of institution a profile serves (HRB-SCOPE, URC-SCOPE).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InstitutionKind {
    Medical,
    Pharmacy,
}

impl InstitutionKind {
    pub fn zh(self) -> &'static str {
        match self {
            InstitutionKind::Medical => "医疗机构",
            InstitutionKind::Pharmacy => "零售药店",
        }
    }
}
