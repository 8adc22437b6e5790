//! What a profile's eligibility rules say, as data (SPEC §2): the conditions an applicant must
//! meet (HRB-COND-*, URC-MED-*, URC-PHA-*, HRB-PREP) with the facts, systems and equipment they
//! name, and the not-accepted rules (URC-REJ-*) with their triggers. The profile (`policy`)
//! holds them; `eligibility` checks them against a declaration and a record.
//!
//! Not responsible for checking anything (that is `eligibility`), nor for loading or validating
//! a profile (that is `policy`).

use serde::{Deserialize, Serialize};

use crate::vocabulary::InstitutionKind;

/// A management system an institution declares it has (HRB-COND-4, URC-MED-4, URC-PHA-5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum System {
    Insurance,
    Finance,
    Statistics,
    Quality,
    Inventory,
    DrugManagement,
    StaffManagement,
    Settlement,
}

impl System {
    pub fn zh(self) -> &'static str {
        match self {
            System::Insurance => "医保管理制度",
            System::Finance => "财务制度",
            System::Statistics => "统计信息管理制度",
            System::Quality => "医疗质量安全核心制度",
            System::Inventory => "进销存管理制度及台账",
            System::DrugManagement => "医保药品管理制度",
            System::StaffManagement => "医保人员管理制度",
            System::Settlement => "医保结算制度",
        }
    }
}

/// Equipment HRB-COND-6 requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Equipment {
    VideoSurveillance,
    Biometric,
    DrugTraceability,
}

impl Equipment {
    pub fn zh(self) -> &'static str {
        match self {
            Equipment::VideoSurveillance => "视频监控",
            Equipment::Biometric => "生物识别",
            Equipment::DrugTraceability => "药品追溯系统",
        }
    }
}

/// A yes/no fact an institution declares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fact {
    HisConnected,
    NationalCodesUsed,
    StaffContracts,
    SocialInsurance,
    GspZoning,
}

impl Fact {
    /// As the form asks it of this kind: a pharmacy has an information system, not a hospital's
    /// (URC-PHA-6 "具备符合医保协议管理要求的信息系统技术和接口标准").
    pub fn zh_for(self, kind: crate::vocabulary::InstitutionKind) -> &'static str {
        match (self, kind) {
            (Fact::HisConnected, crate::vocabulary::InstitutionKind::Pharmacy) => {
                "信息系统符合医保接口标准并与医保信息系统有效对接、直接联网结算"
            }
            _ => self.zh(),
        }
    }

    pub fn zh(self) -> &'static str {
        match self {
            Fact::HisConnected => "医院信息系统符合接口标准并与医保信息系统有效对接、直接联网结算",
            Fact::NationalCodesUsed => "基础数据库使用国家统一的医保编码",
            Fact::StaffContracts => "与工作人员签订一年以上且在有效期内的劳动合同",
            Fact::SocialInsurance => "单位及其工作人员参加职工基本医疗保险等社会保险",
            Fact::GspZoning => "药品按 GSP 要求分区分类陈列，医保药品标识清晰",
        }
    }
}

/// Which staff a contract condition counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StaffRole {
    Pharmacist,
    InsuranceAdmin,
}

/// A condition's test, with its parameters (profile data).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "check", rename_all = "snake_case", deny_unknown_fields)]
pub enum Check {
    /// Operating at least N months by the submission date (LAW-MONTH counting).
    OperatingMonths {
        months: u16,
    },
    /// At least N physicians whose first registered practice site is this institution.
    FirstRegisteredPhysicians {
        min: u32,
    },
    /// Principal responsible and insurance administrators; from N beds up, an internal
    /// insurance department with full-time staff.
    InsuranceStaffing {
        department_from_beds: u32,
    },
    /// At least N staff of a role with labour contracts of ≥ `contract_years` in force.
    ContractedStaff {
        role: StaffRole,
        min: u32,
        contract_years: u16,
    },
    Systems {
        required: Vec<System>,
    },
    Equipment {
        required: Vec<Equipment>,
    },
    Declared {
        fact: Fact,
    },
    /// HRB-PREP: a national code of this city and kind.
    NationalCode,
}

/// One condition of a profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Condition {
    pub rule: String,
    pub applies_to: Vec<InstitutionKind>,
    pub check: Check,
}

/// How a profile treats unmet conditions at submission.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnUnmet {
    /// The application is submitted with its findings listed; the reviewer must reject it or
    /// override with a recorded reason (protects the applicant's right to apply).
    #[default]
    Flag,
    /// Submission is refused until every condition is met.
    Refuse,
}

/// What triggers a not-accepted rule (profile data).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "on", rename_all = "snake_case", deny_unknown_fields)]
pub enum Trigger {
    NonBasicPractice,
    PricePolicy,
    UnfulfilledPenalty,
    Fraud { years: u16 },
    TerminationViolation { years: u16 },
    TerminationSeriousBreach { years: u16 },
    PersonCausedTermination { years: u16 },
    PersonDishonest,
    Other,
}

/// A not-accepted rule of a profile (URC-REJ-*).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NotAcceptedRule {
    pub rule: String,
    pub applies_to: Vec<InstitutionKind>,
    pub trigger: Trigger,
}
