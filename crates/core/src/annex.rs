//! The two annexes of the Harbin guide that an institution fills in or uploads before signing
//! (HRB-PRE-2): Annex 1, the dedicated-line filing form (HRB-ANNEX1, 医疗保障业务专线连接申请备案表),
//! as a structured form with field-by-field validation; and Annex 2, the e-prescription flow
//! acceptance package (HRB-ANNEX2, 处方流转验收材料), as a check of the package's file name and of
//! the ZIP archive itself (safe paths, no encryption, no ZIP bomb, a real video and a stamped form).
//!
//! Pure: no file system, no clock. The archive is read from any `Read + Seek` the caller provides
//! (an in-memory buffer or a temporary file) and is never extracted; "today" is an argument.
//! Every refusal has a stable machine code and a plain-Chinese message saying what to fix.

use std::io::{self, Read, Seek, SeekFrom, Write};

use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use zip::read::ZipReadOptions;
use zip::result::ZipError;
use zip::{CompressionMethod, ZipArchive};

// =============================================================================================
// Annex 1 (HRB-ANNEX1): dedicated-line filing form
// =============================================================================================

/// The carrier of the dedicated insurance line (医保业务专线运营商).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Carrier {
    /// 中国联通
    Unicom,
    /// 中国移动
    Mobile,
    /// 中国电信
    Telecom,
    /// 中国广电
    Broadcast,
}

impl Carrier {
    /// The label printed on the form: 联通, 移动, 电信 or 广电.
    pub fn zh(self) -> &'static str {
        match self {
            Carrier::Unicom => "联通",
            Carrier::Mobile => "移动",
            Carrier::Telecom => "电信",
            Carrier::Broadcast => "广电",
        }
    }
}

/// The form of the dedicated line (医保业务专线形式).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LineForm {
    /// 有线: a wired line.
    Wired,
    /// VPDN: a virtual private dial-up network over the mobile network.
    Vpdn,
}

impl LineForm {
    /// The label printed on the form: 有线 or VPDN.
    pub fn zh(self) -> &'static str {
        match self {
            LineForm::Wired => "有线",
            LineForm::Vpdn => "VPDN",
        }
    }
}

/// The review-materials checklist of Annex 1 (审核材料): which attachments the institution
/// encloses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Attachments {
    /// 定点机构营业执照（副本）复印件. Always required.
    pub business_licence_copy: bool,
    /// 市医保定点机构网络和数据安全承诺书. Always required: it is signed before connection.
    pub security_commitment: bool,
    /// 本机构网络和数据安全组织架构图表. Always required: the security group is formed before
    /// connection.
    pub security_org_chart: bool,
    /// 网络安全设备照片. Required when the form declares network-security equipment.
    pub equipment_photos: bool,
}

/// Annex 1 of the Harbin guide (HRB-ANNEX1): the dedicated-line filing form; its printed title
/// is the profile's `[preparation] annex1_title`.
///
/// The paper form's official seal (公章), its date and the legal representative's handwritten
/// signature cannot be captured here; `legal_representative` is the signer's name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Annex1 {
    /// 定点机构名称: must equal the institution's registered name.
    pub institution_name: String,
    /// 定点机构国码: the national insurance institution code (e.g. `H23010200001`); must equal
    /// the institution's own.
    pub national_code: String,
    /// 定点机构经营地址. The carrier installs the line at the business-licence address.
    pub business_address: String,
    /// 医保业务专线运营商.
    pub carrier: Carrier,
    /// 医保业务专线形式.
    pub line_form: LineForm,
    /// 医保业务专线申请时间.
    pub application_date: Date,
    /// 网络安全设备（有/无）.
    pub security_equipment: bool,
    /// 安全设备品牌. Required when `security_equipment` is true; ignored (neither checked nor
    /// refused) when it is false.
    pub equipment_brand: Option<String>,
    /// 安全设备型号. Required when `security_equipment` is true; ignored (neither checked nor
    /// refused) when it is false.
    pub equipment_model: Option<String>,
    /// 网络安全制度（有/无）.
    pub security_rules: bool,
    /// 定点机构法人代表 (the person who signs the paper form).
    pub legal_representative: String,
    /// 法人代表联系方式: a mainland mobile number or a landline with its area code.
    pub phone: String,
    /// 审核材料.
    pub attachments: Attachments,
    /// 备注.
    pub remarks: Option<String>,
}

/// One field of a form that fails its rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// The field's name as serialized (`"phone"`, `"attachments.security_commitment"`, …).
    pub field: &'static str,
    /// What is wrong and what to do, in plain Chinese.
    pub message: String,
}

impl Annex1 {
    /// The carrier's label on the form (联通/移动/电信/广电).
    pub fn carrier_zh(&self) -> &'static str {
        self.carrier.zh()
    }

    /// The line form's label on the form (有线/VPDN).
    pub fn line_form_zh(&self) -> &'static str {
        self.line_form.zh()
    }

    /// Checks the form (HRB-ANNEX1) against the institution's own registered name and national
    /// code and against `today` (China Standard Time). Every failing field gives its own
    /// [`FieldError`], in the order of the paper form; `Ok(())` when none fails.
    ///
    /// Rules: every text field is required and must not be blank after trimming (`remarks` is
    /// optional); the name must equal `expected_name` exactly after trimming; the national code
    /// must equal `expected_code` after trimming, ignoring ASCII case (codes are stored upper
    /// case, see [`crate::ids::InstitutionCode`]); the application date must not be after
    /// `today`; with security equipment, its brand, model and photos are required (without it
    /// they are ignored); the phone is a mainland mobile number `1[3-9]` + 9 digits or a landline
    /// `0` + 2–3-digit area code, an optional `-`, and 7–8 digits; the business-licence copy,
    /// the security commitment letter and the security organisation chart are always required.
    ///
    /// Declaring no security equipment is accepted here because the form offers 有/无; the
    /// guide's notes say the equipment must be installed before the carrier connects the line.
    pub fn validate(&self, expected_name: &str, expected_code: &str, today: Date) -> Result<(), Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut fail = |field: &'static str, message: String| errors.push(FieldError { field, message });

        let name = self.institution_name.trim();
        let expected_name = expected_name.trim();
        if name.is_empty() {
            fail("institution_name", format!("请填写定点机构名称：“{expected_name}”。"));
        } else if name != expected_name {
            fail("institution_name", format!("定点机构名称“{name}”与本机构登记的名称不一致，请填写“{expected_name}”（须完全相同）。"));
        }

        let code = self.national_code.trim();
        let expected_code = expected_code.trim().to_ascii_uppercase();
        if code.is_empty() {
            fail("national_code", format!("请填写定点机构国码：“{expected_code}”。"));
        } else if !code.eq_ignore_ascii_case(&expected_code) {
            fail("national_code", format!("定点机构国码“{code}”与本机构的国码不一致，请填写“{expected_code}”。"));
        }

        if self.business_address.trim().is_empty() {
            fail("business_address", "请填写定点机构经营地址（运营商按营业执照上的地址安装专线）。".to_string());
        }

        if self.application_date > today {
            fail(
                "application_date",
                format!("专线申请时间{}晚于今天（{}），请填写实际申请的日期。", date_zh(self.application_date), date_zh(today)),
            );
        }

        if self.security_equipment {
            if blank(&self.equipment_brand) {
                fail("equipment_brand", "已选择“有”网络安全设备，请填写安全设备的品牌。".to_string());
            }
            if blank(&self.equipment_model) {
                fail("equipment_model", "已选择“有”网络安全设备，请填写安全设备的型号。".to_string());
            }
        }

        if self.legal_representative.trim().is_empty() {
            fail("legal_representative", "请填写定点机构法人代表的姓名（纸质备案表须由其本人签字）。".to_string());
        }

        let phone = self.phone.trim();
        if phone.is_empty() {
            fail("phone", "请填写法人代表的联系电话。".to_string());
        } else if !is_phone(phone) {
            fail(
                "phone",
                format!(
                    "法人代表联系方式“{phone}”格式不正确：请填写 11 位手机号码（如 13912345678），或带区号的固定电话（如 0451-12345678）。"
                ),
            );
        }

        let a = &self.attachments;
        if !a.business_licence_copy {
            fail("attachments.business_licence_copy", "审核材料缺少定点机构营业执照（副本）复印件，请补充并勾选。".to_string());
        }
        if !a.security_commitment {
            fail(
                "attachments.security_commitment",
                "审核材料缺少《市医保定点机构网络和数据安全承诺书》。接入医保专网前须签订该承诺书，请补充并勾选。".to_string(),
            );
        }
        if !a.security_org_chart {
            fail(
                "attachments.security_org_chart",
                "审核材料缺少本机构网络和数据安全组织架构图表。接入前须组建网络和数据安全责任小组，请补充并勾选。".to_string(),
            );
        }
        if self.security_equipment && !a.equipment_photos {
            fail("attachments.equipment_photos", "已选择“有”网络安全设备，审核材料须附网络安全设备照片，请补充并勾选。".to_string());
        }

        if errors.is_empty() { Ok(()) } else { Err(errors) }
    }
}

fn blank(s: &Option<String>) -> bool {
    s.as_deref().is_none_or(|s| s.trim().is_empty())
}

/// A mainland mobile number (`1[3-9]\d{9}`) or a landline with area code (`0\d{2,3}-?\d{7,8}`).
fn is_phone(s: &str) -> bool {
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    let b = s.as_bytes();
    if b.len() == 11 && b[0] == b'1' && (b'3'..=b'9').contains(&b[1]) && digits(s) {
        return true;
    }
    match s.split_once('-') {
        Some((area, local)) => {
            digits(area) && digits(local) && area.starts_with('0') && (3..=4).contains(&area.len()) && (7..=8).contains(&local.len())
        }
        // 0 + 2..=3 area digits + 7..=8 local digits: 10 to 12 digits in all.
        None => digits(s) && s.starts_with('0') && (10..=12).contains(&s.len()),
    }
}

/// `2026年11月27日`.
fn date_zh(d: Date) -> String {
    format!("{}年{}月{}日", d.year(), d.month(), d.day())
}

// =============================================================================================
// Annex 2 (HRB-ANNEX2): e-prescription flow acceptance package
// =============================================================================================

/// Entries whose real uncompressed size is at most this many bytes are exempt from the ratio
/// limit: a short text file of repeated characters compresses far better than 100:1 and is
/// harmless. 1 MiB.
pub const RATIO_FLOOR: u64 = 1 << 20;

/// How many leading bytes of each entry are kept to identify its type.
const SNIFF_BYTES: usize = 8192;

/// The dashes accepted between the prefix and the date (one, or two of them as in `——`): the
/// em dash `—` the guide prints (U+2014), the horizontal bar `―` (U+2015, which some input
/// methods produce for the Chinese dash and which looks the same), the en dash `–` (U+2013), the
/// ASCII hyphen `-` and the full-width hyphen `－` (U+FF0D).
const DASHES: [char; 5] = ['\u{2014}', '\u{2015}', '\u{2013}', '-', '\u{FF0D}'];

/// Resource limits for [`inspect_package`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageLimits {
    /// Most entries (files and directories) the archive may hold.
    pub max_entries: usize,
    /// Most bytes all entries together may decompress to.
    pub max_total_uncompressed: u64,
    /// Largest uncompressed : compressed ratio of one entry (above [`RATIO_FLOOR`]).
    pub max_ratio: u64,
}

impl Default for PackageLimits {
    /// 1000 entries, 4 GiB in all, ratio 100.
    ///
    /// The package holds one screen recording and one stamped form, so 1000 entries is far above
    /// any honest package while bounding the work. 4 GiB leaves room for a long continuous
    /// recording (an hour of 1080p H.264 is typically 1–3 GiB). Video, PDF scans and JPEG/PNG
    /// photos are already compressed and barely shrink in a ZIP (ratio close to 1); a ratio above
    /// 100 only comes from padding or from a deliberate bomb (deflate reaches about 1000:1).
    fn default() -> Self {
        PackageLimits { max_entries: 1000, max_total_uncompressed: 4 << 30, max_ratio: 100 }
    }
}

/// What a package entry holds, identified from its first bytes (not from its name).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    /// A video; the value is the container format's usual extension (`mp4`, `mov`, `m4v`,
    /// `mkv`, `webm`, `avi`, `wmv`, `mpg` or `flv`).
    Video(String),
    /// A PDF document.
    Pdf,
    /// A JPEG image.
    Jpeg,
    /// A PNG image.
    Png,
    /// Anything else (including a text file merely named `.mp4`).
    Other,
}

impl EntryKind {
    /// Whether this is a video.
    pub fn is_video(&self) -> bool {
        matches!(self, EntryKind::Video(_))
    }

    /// Whether this can be the stamped acceptance form: a PDF scan or a JPEG/PNG photo.
    pub fn is_form(&self) -> bool {
        matches!(self, EntryKind::Pdf | EntryKind::Jpeg | EntryKind::Png)
    }
}

/// One file of the package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryInfo {
    /// The entry's path inside the archive (UTF-8, or decoded as CP437 when the archive does not
    /// mark its names as UTF-8; control characters replaced by U+FFFD).
    pub name: String,
    /// The real uncompressed size in bytes, as counted while decompressing.
    pub size: u64,
    /// What the entry holds.
    pub kind: EntryKind,
}

/// An accepted package: the acceptance video, the stamped form, and every file entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageSummary {
    /// The first video in archive order.
    pub video: EntryInfo,
    /// The first PDF/JPEG/PNG file in archive order (the stamped acceptance form 6-03-01).
    pub form: EntryInfo,
    /// Every file entry in archive order; directory entries are not listed.
    pub entries: Vec<EntryInfo>,
}

/// What is wrong with a package's file name (see [`PackageError::NameFormat`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NameProblem {
    /// The name does not end in `.zip`.
    Extension,
    /// The name does not start with the profile's prefix (`annex2_package_prefix`).
    Prefix,
    /// No dash after the prefix.
    Dash,
    /// No date after the dash in a recognised form.
    Date,
}

/// Why an entry's path is unsafe (see [`PackageError::UnsafePath`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PathProblem {
    /// The name is empty.
    Empty,
    /// The name contains a NUL character.
    Nul,
    /// The name starts with `/` or `\` (absolute or UNC path).
    Absolute,
    /// A component is `..` (or, as Windows reads it, dots and spaces only with at least two dots).
    ParentDir,
    /// A component starts with a drive letter such as `C:`.
    DriveLetter,
    /// The entry is a symbolic link.
    Symlink,
}

impl PathProblem {
    fn zh(self) -> &'static str {
        match self {
            PathProblem::Empty => "文件名为空",
            PathProblem::Nul => "文件名含有空字符",
            PathProblem::Absolute => "使用了绝对路径",
            PathProblem::ParentDir => "含有“..”上级目录",
            PathProblem::DriveLetter => "含有“C:”等盘符",
            PathProblem::Symlink => "是符号链接（快捷方式）",
        }
    }
}

/// Why a package looks like a ZIP bomb (see [`PackageError::ZipBomb`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BombReason {
    /// The sizes the archive declares already add up to more than the limit.
    DeclaredTotal { declared: u64, max: u64 },
    /// One entry declares a ratio above the limit.
    DeclaredRatio { entry: String, max_ratio: u64 },
    /// Decompressing produced more than the limit in all.
    RealTotal { max: u64 },
    /// Decompressing one entry produced more than the ratio limit allows.
    RealRatio { entry: String, max_ratio: u64 },
    /// An entry decompresses to more than its declared size (the header lies).
    SizeMismatch { entry: String, declared: u64 },
    /// Entries share compressed data (overlapping entries, the non-recursive ZIP bomb).
    Overlapping,
}

impl BombReason {
    fn zh(&self) -> String {
        match self {
            BombReason::DeclaredTotal { declared, max } => {
                format!("声明的解压后总大小为 {}，超过上限 {}", size_zh(*declared), size_zh(*max))
            }
            BombReason::DeclaredRatio { entry, max_ratio } => format!("“{entry}”声明的压缩比超过 {max_ratio} 倍"),
            BombReason::RealTotal { max } => format!("实际解压后的总大小超过上限 {}", size_zh(*max)),
            BombReason::RealRatio { entry, max_ratio } => format!("“{entry}”实际的压缩比超过 {max_ratio} 倍"),
            BombReason::SizeMismatch { entry, declared } => {
                format!("“{entry}”实际解压后的大小超过其声明的 {}", size_zh(*declared))
            }
            BombReason::Overlapping => "多个文件共用同一段压缩数据".to_string(),
        }
    }
}

/// Why an acceptance package (HRB-ANNEX2) is refused. [`PackageError::code`] is stable,
/// [`PackageError::message_zh`] is for people; `Display` is English, for logs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PackageError {
    /// The file name does not follow `<prefix>—<年月日><机构名>.zip`, `prefix` being the
    /// profile's `annex2_package_prefix`. `example` is a correct name for this institution and
    /// today.
    #[error("package name {file_name:?} does not follow the required pattern: {problem:?}")]
    NameFormat { file_name: String, problem: NameProblem, prefix: String, example: String },
    /// The date in the name is not a real date (e.g. 2026年2月30日).
    #[error("date {text:?} in the package name is not a real date")]
    NameDate { text: String },
    /// The date in the name is after today.
    #[error("date {date} in the package name is after today ({today})")]
    NameDateFuture { date: Date, today: Date },
    /// The institution name in the file name is not the institution's own (`found` may be empty).
    #[error("institution {found:?} in the package name is not {expected:?}")]
    NameInstitution { found: String, expected: String },
    /// The file is not a ZIP archive (or is damaged beyond reading its directory).
    #[error("not a ZIP archive")]
    NotAZip,
    /// More entries than [`PackageLimits::max_entries`].
    #[error("{count} entries, at most {max} allowed")]
    TooManyEntries { count: u64, max: usize },
    /// Two entries have the same name.
    #[error("duplicate entry names")]
    DuplicateEntries,
    /// An entry's path could escape the extraction directory.
    #[error("unsafe entry path {entry:?}: {problem:?}")]
    UnsafePath { entry: String, problem: PathProblem },
    /// An entry is password-protected.
    #[error("entry {entry:?} is encrypted")]
    Encrypted { entry: String },
    /// An entry uses a compression method other than stored or deflate.
    #[error("entry {entry:?} uses unsupported compression {method}")]
    UnsupportedCompression { entry: String, method: String },
    /// The archive expands beyond the limits, or lies about its sizes.
    #[error("ZIP bomb: {0:?}")]
    ZipBomb(BombReason),
    /// The archive is damaged (CRC mismatch, truncated data, local and central headers that
    /// disagree). `detail` is the reader's English message, for logs.
    #[error("damaged archive (entry {entry:?}): {detail}")]
    Corrupt { entry: Option<String>, detail: String },
    /// No entry is a video. `misnamed` lists (up to five) entries named like a video whose
    /// content is not one; `form_missing_too` is set when there is no form either.
    #[error("no video in the package")]
    NoVideo { misnamed: Vec<String>, form_missing_too: bool },
    /// No entry is a PDF, JPEG or PNG. `misnamed` lists (up to five) entries named like one
    /// whose content is not.
    #[error("no stamped acceptance form in the package")]
    NoForm { misnamed: Vec<String> },
}

impl PackageError {
    /// A stable snake_case machine code.
    pub fn code(&self) -> &'static str {
        match self {
            PackageError::NameFormat { .. } => "package_name",
            PackageError::NameDate { .. } => "package_name_date",
            PackageError::NameDateFuture { .. } => "package_name_future_date",
            PackageError::NameInstitution { .. } => "package_name_institution",
            PackageError::NotAZip => "not_a_zip",
            PackageError::TooManyEntries { .. } => "too_many_entries",
            PackageError::DuplicateEntries => "duplicate_entries",
            PackageError::UnsafePath { .. } => "unsafe_path",
            PackageError::Encrypted { .. } => "encrypted",
            PackageError::UnsupportedCompression { .. } => "unsupported_compression",
            PackageError::ZipBomb(_) => "zip_bomb",
            PackageError::Corrupt { .. } => "corrupt",
            PackageError::NoVideo { .. } => "no_video",
            PackageError::NoForm { .. } => "no_form",
        }
    }

    /// What is wrong and what to do, in plain Chinese.
    pub fn message_zh(&self) -> String {
        const REZIP: &str = "请只放入验收视频和盖章的验收申请表，重新压缩后再上传。";
        match self {
            PackageError::NameFormat { problem, prefix, example, .. } => {
                let what = match problem {
                    NameProblem::Extension => "压缩包须为 ZIP 格式，文件名以“.zip”结尾（不接受 rar、7z 等格式）".to_string(),
                    NameProblem::Prefix => format!("文件名须以“{prefix}”开头"),
                    NameProblem::Dash => format!("“{prefix}”之后须接破折号“—”，再接日期和机构名称"),
                    NameProblem::Date => "破折号之后须为日期，写作“2026年11月27日”或“20261127”".to_string(),
                };
                format!("压缩包名称不符合要求：{what}。请按此格式重新命名：“{example}”。")
            }
            PackageError::NameDate { text } => format!("压缩包名称中的日期“{text}”不是有效的日期，请核对年、月、日。"),
            PackageError::NameDateFuture { date, today } => {
                format!("压缩包名称中的日期{}晚于今天（{}），请改为实际打包提交的日期。", date_zh(*date), date_zh(*today))
            }
            PackageError::NameInstitution { found, expected } if found.is_empty() => {
                format!("压缩包名称的日期之后缺少机构名称，请在日期后加上“{expected}”。")
            }
            PackageError::NameInstitution { found, expected } => {
                format!("压缩包名称中的机构名称“{found}”与本机构名称不一致，请改为“{expected}”（须与登记的名称完全相同，包括括号等符号）。")
            }
            PackageError::NotAZip => "上传的文件不是有效的 ZIP 压缩包（可能是其他格式改了扩展名，或文件已损坏）。\
                请将验收视频和盖章的验收申请表用 ZIP 格式重新压缩后上传。"
                .to_string(),
            PackageError::TooManyEntries { count, max } => {
                format!("压缩包内有 {count} 个文件或文件夹，超过上限 {max} 个。{REZIP}")
            }
            PackageError::DuplicateEntries => format!("压缩包内有重名的文件。{REZIP}"),
            PackageError::UnsafePath { entry, problem } => format!(
                "压缩包内的“{entry}”{}，解压时可能写到压缩包以外的位置，不予受理。请把文件直接放入压缩包，\
                不要使用“..”、绝对路径、盘符或快捷方式，重新压缩后再上传。",
                problem.zh()
            ),
            PackageError::Encrypted { entry } => {
                format!("压缩包内的“{entry}”设置了密码，经办机构无法打开。请不要设置密码，重新压缩后再上传。")
            }
            PackageError::UnsupportedCompression { entry, method } => format!(
                "压缩包内的“{entry}”使用了不支持的压缩方式（{method}）。请改用标准 ZIP 格式（“存储”或“Deflate”压缩方式）\
                重新压缩，例如在 Windows 中右键选择“发送到 → 压缩(zipped)文件夹”。"
            ),
            PackageError::ZipBomb(reason) => {
                format!("压缩包解压后异常膨胀（{}），疑似“压缩炸弹”，不予受理。{REZIP}", reason.zh())
            }
            PackageError::Corrupt { entry: Some(entry), .. } => {
                format!("压缩包已损坏或结构异常，其中的“{entry}”无法完整读取。请重新压缩后再上传。")
            }
            PackageError::Corrupt { entry: None, .. } => "压缩包已损坏或结构异常，无法完整读取。请重新压缩后再上传。".to_string(),
            PackageError::NoVideo { misnamed, form_missing_too } => {
                let mut s = if *form_missing_too {
                    "压缩包内既没有验收视频，也没有盖章的验收申请表。".to_string()
                } else {
                    "压缩包内没有验收视频。".to_string()
                };
                if !misnamed.is_empty() {
                    s += &format!("其中“{}”的文件名像视频，但内容不是视频文件。", misnamed.join("”“"));
                }
                s += "请放入测试全过程连续录制、未经剪辑的验收视频（如 MP4 格式）";
                if *form_missing_too {
                    s += "和盖章的《定点医疗机构验收申请表》（6-03-01，PDF 扫描件或 JPG/PNG 照片）";
                }
                s + "，重新压缩后再上传。"
            }
            PackageError::NoForm { misnamed } => {
                let mut s = "压缩包内没有盖章的验收申请表。".to_string();
                if !misnamed.is_empty() {
                    s += &format!("其中“{}”的文件名像 PDF 或图片，但内容不是。", misnamed.join("”“"));
                }
                s + "请将盖章后的《定点医疗机构验收申请表》（6-03-01）扫描为 PDF 或拍照为 JPG/PNG 图片，与验收视频一起重新压缩后再上传。"
            }
        }
    }
}

/// A byte count for people: `512 字节`, `10.0 MB`, `4.0 GB` (powers of 1024, as Windows shows).
fn size_zh(n: u64) -> String {
    const K: u64 = 1024;
    match n {
        n if n < K => format!("{n} 字节"),
        n if n < K * K => format!("{:.1} KB", n as f64 / K as f64),
        n if n < K * K * K => format!("{:.1} MB", n as f64 / (K * K) as f64),
        n => format!("{:.1} GB", n as f64 / (K * K * K) as f64),
    }
}

/// Checks an acceptance package's file name (HRB-ANNEX2 step 4) and returns the date it names.
///
/// The name is `<prefix>—<年月日><机构名>.zip`, where `prefix` is the profile's
/// `[preparation] annex2_package_prefix` (for Harbin, the prefix its guide prints):
/// - any directory part (up to the last `/` or `\`, as some browsers send) and surrounding
///   whitespace are ignored; the extension `.zip` is matched case-insensitively;
/// - the dash may be one or two of `—` (U+2014, as printed), `―` (U+2015), `–` (U+2013), `-`
///   or `－` (U+FF0D), with optional whitespace around it;
/// - the date is `2026年11月27日` (month and day with or without a leading zero) or `20261127`;
///   it must be a real date and not after `today`;
/// - the rest, trimmed, must equal `institution_name` (trimmed) exactly.
pub fn check_package_name(file_name: &str, prefix: &str, institution_name: &str, today: Date) -> Result<Date, PackageError> {
    let institution = institution_name.trim();
    let prefix = prefix.trim();
    let base = file_name.rsplit(['/', '\\']).next().unwrap_or(file_name).trim();
    let format_error = |problem| PackageError::NameFormat {
        file_name: base.to_string(),
        problem,
        prefix: prefix.to_string(),
        example: format!("{prefix}\u{2014}{}{institution}.zip", date_zh(today)),
    };

    let stem = match base.len().checked_sub(4).and_then(|i| base.get(i..).map(|ext| (i, ext))) {
        Some((i, ext)) if ext.eq_ignore_ascii_case(".zip") => &base[..i],
        _ => return Err(format_error(NameProblem::Extension)),
    };
    let rest = stem.strip_prefix(prefix).ok_or_else(|| format_error(NameProblem::Prefix))?.trim_start();
    let after_dash = rest.trim_start_matches(DASHES);
    let dashes = rest[..rest.len() - after_dash.len()].chars().count();
    if !(1..=2).contains(&dashes) {
        return Err(format_error(NameProblem::Dash));
    }
    let (text, y, m, d, rest) = split_date(after_dash.trim_start()).ok_or_else(|| format_error(NameProblem::Date))?;
    let date = Date::new(y, m, d).map_err(|_| PackageError::NameDate { text: text.to_string() })?;
    if date > today {
        return Err(PackageError::NameDateFuture { date, today });
    }
    let found = rest.trim();
    if found != institution {
        return Err(PackageError::NameInstitution { found: found.to_string(), expected: institution.to_string() });
    }
    Ok(date)
}

/// Splits a leading `YYYY年M月D日` or `YYYYMMDD` off `s`: the date's text, year, month, day and
/// the remainder. `None` when `s` starts with neither. Month and day are not range-checked here.
fn split_date(s: &str) -> Option<(&str, i16, i8, i8, &str)> {
    fn number(s: &str, min: usize, max: usize) -> Option<(u32, &str)> {
        let n = s.bytes().take(max).take_while(u8::is_ascii_digit).count();
        if n < min {
            return None;
        }
        Some((s[..n].parse().ok()?, &s[n..]))
    }
    let (year, after_year) = number(s, 4, 4)?;
    let (year, month, day, rest) = if let Some(r) = after_year.strip_prefix('年') {
        let (month, r) = number(r, 1, 2)?;
        let (day, r) = number(r.strip_prefix('月')?, 1, 2)?;
        (year, month, day, r.strip_prefix('日')?)
    } else {
        let (md, r) = number(after_year, 4, 4)?;
        (year, md / 100, md % 100, r)
    };
    let text = &s[..s.len() - rest.len()];
    Some((text, i16::try_from(year).ok()?, i8::try_from(month).ok()?, i8::try_from(day).ok()?, rest))
}

/// Checks an acceptance package's content (HRB-ANNEX2 step 4: the video plus the stamped
/// acceptance form, zipped) without extracting anything. Checks, in order; the first failure is
/// returned:
///
/// 1. the declared entry count (read from the end-of-central-directory record before the
///    directory is parsed, so a huge directory is refused cheaply), then the real one →
///    `too_many_entries`; an unreadable archive → `not_a_zip`; duplicate names →
///    `duplicate_entries`;
/// 2. per entry, from the central directory: unsafe path (empty, NUL, absolute, `..`, drive
///    letter, with `/` and `\` both taken as separators; symbolic links) → `unsafe_path`;
///    password protection → `encrypted`; compression other than stored/deflate →
///    `unsupported_compression`; declared sizes whose total exceeds the limit, or an entry whose
///    declared ratio exceeds the limit → `zip_bomb` (fast path, nothing decompressed yet);
/// 3. entries sharing compressed data → `zip_bomb`;
/// 4. every file entry is decompressed into a counting sink, never trusting the declared sizes:
///    each is read through a `take` of the remaining total budget (or of its ratio allowance if
///    smaller) plus one byte, and refused as `zip_bomb` as soon as it exceeds it, or when it
///    outgrows its declared size; a CRC mismatch, truncated data or local and central headers
///    that disagree → `corrupt`;
/// 5. each file's type is identified from its first bytes: at least one video → else
///    `no_video`, and at least one PDF/JPEG/PNG (the stamped form) → else `no_form`.
///
/// Directory entries are allowed and not listed. Files of other types are allowed and listed
/// as [`EntryKind::Other`]. An I/O error of `reader` itself is reported as `not_a_zip` or
/// `corrupt`.
pub fn inspect_package<R: Read + Seek>(mut reader: R, limits: &PackageLimits) -> Result<PackageSummary, PackageError> {
    if let Some(count) = declared_entry_count(&mut reader)
        && count > limits.max_entries as u64
    {
        return Err(PackageError::TooManyEntries { count, max: limits.max_entries });
    }
    reader.seek(SeekFrom::Start(0)).map_err(|_| PackageError::NotAZip)?;
    let mut archive = ZipArchive::new(reader).map_err(|_| PackageError::NotAZip)?;
    if archive.len() > limits.max_entries {
        return Err(PackageError::TooManyEntries { count: archive.len() as u64, max: limits.max_entries });
    }
    if archive.has_duplicate_names() {
        return Err(PackageError::DuplicateEntries);
    }

    // Fast path: the central directory alone.
    let mut declared_total: u64 = 0;
    let mut files = Vec::new();
    for i in 0..archive.len() {
        let entry = archive.by_index_data(i).map_err(|e| corrupt(None, &e))?;
        let name = entry_name(entry.name_raw(), entry.name().ok().as_deref());
        if let Some(problem) = path_problem(entry.name_raw(), &name, entry.is_symlink()) {
            return Err(PackageError::UnsafePath { entry: name, problem });
        }
        if entry.encrypted() {
            return Err(PackageError::Encrypted { entry: name });
        }
        match entry.compression() {
            CompressionMethod::Stored | CompressionMethod::Deflated => {}
            other => return Err(PackageError::UnsupportedCompression { entry: name, method: method_name(other) }),
        }
        declared_total = declared_total.saturating_add(entry.size());
        if declared_total > limits.max_total_uncompressed {
            return Err(PackageError::ZipBomb(BombReason::DeclaredTotal { declared: declared_total, max: limits.max_total_uncompressed }));
        }
        if exceeds_ratio(entry.size(), entry.compressed_size(), limits.max_ratio) {
            return Err(PackageError::ZipBomb(BombReason::DeclaredRatio { entry: name, max_ratio: limits.max_ratio }));
        }
        if !entry.is_dir() {
            files.push((i, name));
        }
    }
    if archive.has_overlapping_files().map_err(|e| corrupt(None, &e))? {
        return Err(PackageError::ZipBomb(BombReason::Overlapping));
    }

    // Real sizes: decompress everything, counting.
    let mut total: u64 = 0;
    let mut entries = Vec::new();
    for (i, name) in files {
        let options = ZipReadOptions::new().enforce_header_consistency(true);
        let mut file = archive.by_index_with_options(i, options).map_err(|e| corrupt(Some(name.clone()), &e))?;
        let budget = limits.max_total_uncompressed.saturating_sub(total);
        let allowance = file.compressed_size().saturating_mul(limits.max_ratio).max(RATIO_FLOOR);
        let limit = budget.min(allowance);
        let declared = file.size();
        let mut sink = HeadSink::default();
        let copied = io::copy(&mut (&mut file).take(limit.saturating_add(1)), &mut sink);
        drop(file);
        let size = match copied {
            Ok(n) => n,
            // The zip reader itself stops an entry that outgrows its declared size, with this
            // message (zip 9); the test `hrb_annex2_refuses_a_zip_bomb_whose_declared_size_lies`
            // notices if it changes. Any other failure is damage.
            Err(e) if e.kind() == io::ErrorKind::InvalidData && e.to_string().contains("declared uncompressed size") => {
                return Err(PackageError::ZipBomb(BombReason::SizeMismatch { entry: name, declared }));
            }
            Err(e) => return Err(PackageError::Corrupt { entry: Some(name), detail: e.to_string() }),
        };
        if size > limit {
            return Err(PackageError::ZipBomb(if limit == budget {
                BombReason::RealTotal { max: limits.max_total_uncompressed }
            } else {
                BombReason::RealRatio { entry: name, max_ratio: limits.max_ratio }
            }));
        }
        total += size;
        entries.push(EntryInfo { name, size, kind: sniff(&sink.head) });
    }

    let video = entries.iter().find(|e| e.kind.is_video()).cloned();
    let form = entries.iter().find(|e| e.kind.is_form()).cloned();
    match (video, form) {
        (Some(video), Some(form)) => Ok(PackageSummary { video, form, entries }),
        (None, form) => Err(PackageError::NoVideo {
            misnamed: misnamed(&entries, &["mp4", "m4v", "mov", "mkv", "webm", "avi", "wmv", "mpg", "mpeg", "flv"], EntryKind::is_video),
            form_missing_too: form.is_none(),
        }),
        (Some(_), None) => Err(PackageError::NoForm { misnamed: misnamed(&entries, &["pdf", "jpg", "jpeg", "png"], EntryKind::is_form) }),
    }
}

/// Whether `size` bytes from `compressed` exceed `max_ratio`, for sizes above [`RATIO_FLOOR`].
fn exceeds_ratio(size: u64, compressed: u64, max_ratio: u64) -> bool {
    size > RATIO_FLOOR && size > compressed.saturating_mul(max_ratio)
}

fn corrupt(entry: Option<String>, e: &ZipError) -> PackageError {
    PackageError::Corrupt { entry, detail: e.to_string() }
}

#[allow(deprecated)] // `Unsupported` is deprecated for construction, not for matching.
fn method_name(m: CompressionMethod) -> String {
    match m {
        CompressionMethod::Unsupported(n) => format!("方法 {n}"),
        other => format!("{other:?}"),
    }
}

/// Up to five entry names with one of `extensions` whose content is not `kind`.
fn misnamed(entries: &[EntryInfo], extensions: &[&str], kind: fn(&EntryKind) -> bool) -> Vec<String> {
    entries
        .iter()
        .filter(|e| !kind(&e.kind))
        .filter(|e| e.name.rsplit_once('.').is_some_and(|(_, ext)| extensions.iter().any(|x| x.eq_ignore_ascii_case(ext))))
        .take(5)
        .map(|e| e.name.clone())
        .collect()
}

/// An entry's name for people: the decoded name (UTF-8 or CP437), else the raw bytes read
/// lossily; control characters replaced by U+FFFD.
fn entry_name(raw: &[u8], decoded: Option<&str>) -> String {
    let name = match decoded {
        Some(s) => s.to_string(),
        None => String::from_utf8_lossy(raw).into_owned(),
    };
    name.chars().map(|c| if c.is_control() { '\u{FFFD}' } else { c }).collect()
}

/// Why an entry's path is unsafe to extract on any system, if it is. `/` and `\` are both
/// separators (the agency may extract on Windows).
fn path_problem(raw: &[u8], name: &str, symlink: bool) -> Option<PathProblem> {
    if raw.is_empty() {
        return Some(PathProblem::Empty);
    }
    if raw.contains(&0) {
        return Some(PathProblem::Nul);
    }
    let decoded = String::from_utf8_lossy(raw);
    for candidate in [name, decoded.as_ref()] {
        if candidate.starts_with(['/', '\\']) {
            return Some(PathProblem::Absolute);
        }
        for component in candidate.split(['/', '\\']) {
            if component.matches('.').count() >= 2 && component.chars().all(|c| c == '.' || c == ' ') {
                return Some(PathProblem::ParentDir);
            }
            let mut chars = component.chars();
            if let (Some(letter), Some(':')) = (chars.next(), chars.next())
                && letter.is_ascii_alphabetic()
            {
                return Some(PathProblem::DriveLetter);
            }
        }
    }
    if symlink {
        return Some(PathProblem::Symlink);
    }
    None
}

/// The type of an entry from its first bytes.
fn sniff(head: &[u8]) -> EntryKind {
    if infer::is_mime(head, "application/pdf") {
        return EntryKind::Pdf;
    }
    if infer::is_mime(head, "image/jpeg") {
        return EntryKind::Jpeg;
    }
    if infer::is_mime(head, "image/png") {
        return EntryKind::Png;
    }
    if infer::is_video(head) {
        let ext = ["mp4", "mov", "m4v", "mkv", "webm", "avi", "wmv", "mpg", "flv"].into_iter().find(|ext| infer::is(head, ext));
        return EntryKind::Video(ext.unwrap_or("video").to_string());
    }
    EntryKind::Other
}

/// A writer that discards everything but the first [`SNIFF_BYTES`] (`io::copy` counts).
#[derive(Default)]
struct HeadSink {
    head: Vec<u8>,
}

impl Write for HeadSink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let room = SNIFF_BYTES.saturating_sub(self.head.len()).min(buf.len());
        self.head.extend_from_slice(&buf[..room]);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The total entry count the end-of-central-directory record declares (ZIP64 aware), read
/// without parsing the central directory. `None` when the record cannot be found; the archive
/// reader then decides.
fn declared_entry_count<R: Read + Seek>(r: &mut R) -> Option<u64> {
    const EOCD: &[u8; 4] = b"PK\x05\x06";
    const EOCD_LEN: u64 = 22;
    let len = r.seek(SeekFrom::End(0)).ok()?;
    let tail_len = len.min(EOCD_LEN + u64::from(u16::MAX));
    let tail_start = len - tail_len;
    r.seek(SeekFrom::Start(tail_start)).ok()?;
    let mut tail = vec![0; usize::try_from(tail_len).ok()?];
    r.read_exact(&mut tail).ok()?;
    let pos = tail.windows(4).rposition(|w| w == EOCD)?;
    let eocd = tail.get(pos..pos + EOCD_LEN as usize)?;
    // `eocd` is the full 22-byte record (`get` above).
    let count = u16::from_le_bytes([eocd[10], eocd[11]]);
    if count != u16::MAX {
        return Some(count.into());
    }
    // ZIP64: the locator is the 20 bytes before the record; it points at the ZIP64 record, whose
    // total entry count is at offset 32.
    let locator_at = (tail_start + pos as u64).checked_sub(20)?;
    r.seek(SeekFrom::Start(locator_at)).ok()?;
    let mut locator = [0u8; 20];
    r.read_exact(&mut locator).ok()?;
    if &locator[..4] != b"PK\x06\x07" {
        return Some(count.into());
    }
    let record_at = u64::from_le_bytes(locator[8..16].try_into().ok()?);
    r.seek(SeekFrom::Start(record_at)).ok()?;
    let mut record = [0u8; 40];
    r.read_exact(&mut record).ok()?;
    if &record[..4] != b"PK\x06\x06" {
        return None;
    }
    Some(u64::from_le_bytes(record[32..40].try_into().ok()?))
}
