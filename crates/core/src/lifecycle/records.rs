//! The small values that commands, events and the projection share: files, checklist items,
//! supplement items, reasons and outcomes. Kept apart so those three modules depend on this one
//! and not on each other.
//!
//! Not responsible for any decision or state: plain values with their names for people.

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::policy::FileType;

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

// --- urc: information verification's sources (URC-REV-2) ---

/// URC-REV-2 "通过书面审核、部门函询、国家企业信用信息公示系统查询等方式": the ways declared
/// information is verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VerificationSource {
    /// 书面审核.
    WrittenReview,
    /// 部门函询.
    DepartmentLetter,
    /// 国家企业信用信息公示系统查询.
    CreditSystem,
}

impl VerificationSource {
    pub const ALL: [VerificationSource; 3] =
        [VerificationSource::WrittenReview, VerificationSource::DepartmentLetter, VerificationSource::CreditSystem];

    pub fn zh(self) -> &'static str {
        match self {
            VerificationSource::WrittenReview => "书面审核",
            VerificationSource::DepartmentLetter => "部门函询",
            VerificationSource::CreditSystem => "国家企业信用信息公示系统查询",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            VerificationSource::WrittenReview => "written_review",
            VerificationSource::DepartmentLetter => "department_letter",
            VerificationSource::CreditSystem => "credit_system",
        }
    }
}

/// One source as the reviewer enters it: the day it was checked, a note, and the SHA-256 of
/// files uploaded to a verification slot that document it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceInput {
    pub checked_on: Date,
    #[serde(default)]
    pub note: Option<String>,
    #[serde(default)]
    pub attachments: Vec<String>,
}

/// One source as recorded, with its files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceChecked {
    pub source: VerificationSource,
    pub checked_on: Date,
    #[serde(default)]
    pub note: Option<String>,
    #[serde(default)]
    pub attachments: Vec<FileRef>,
}
