//! Identifiers parsed once into types: the unified social credit code (统一社会信用代码,
//! GB 32100-2015), the national insurance institution code (定点医药机构代码), insurance staff
//! codes (医保医师/药师/技师代码) and the resident identity card number (居民身份证号码,
//! GB 11643-1999). [`check`] identifies an unknown code by its shape and validates it.
//!
//! Every error names the 1-based position of the offending character (where there is one) and what
//! was expected there; [`IdError::code`] is stable, [`IdError::message_zh`] is for people.

use std::fmt;

use jiff::civil::Date;
use serde::{Deserialize, Serialize, Serializer};

use crate::vocabulary::InstitutionKind;

const USCC_CHARS: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";
const USCC_WEIGHTS: [u32; 17] = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];
const ORG_WEIGHTS: [u32; 8] = [3, 7, 9, 10, 5, 8, 4, 2];

/// Why an identifier is not valid. `position` is 1-based.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("expected {expected} characters, got {actual}")]
    Length { expected: usize, actual: usize },
    #[error("character {position} {found:?} is not allowed: {expected}")]
    Char { position: usize, found: char, expected: &'static str },
    /// The check character (at `position`, the last one) does not match the computed one.
    #[error("check character {position} is {found:?}, expected {expected:?}")]
    Check { position: usize, found: char, expected: char },
    /// The date starting at `position` (the year, month or day that is wrong) is not a real date.
    #[error("date {found:?} is not valid at character {position}: {expected}")]
    Date { position: usize, found: String, expected: &'static str },
    /// The code's administrative division (whose first wrong digit is at `position`) lies outside
    /// the profile's city.
    #[error("division {division} (character {position}) is outside {city}")]
    Region { position: usize, division: String, city: String },
    /// The code's first letter (position 1) does not match the kind of institution.
    #[error("character 1 {letter:?} does not match the institution kind: expected {expected:?}")]
    KindMismatch { letter: char, expected: char },
    /// Empty input.
    #[error("empty code")]
    Empty,
    /// [`check`] could not tell what kind of code this is.
    #[error("unrecognised code of {length} characters: expected {expected}")]
    Unrecognised { length: usize, expected: &'static str },
}

impl IdError {
    pub fn code(&self) -> &'static str {
        match self {
            IdError::Length { .. } => "id_length",
            IdError::Char { .. } => "id_char",
            IdError::Check { .. } => "id_check",
            IdError::Date { .. } => "id_date",
            IdError::Region { .. } => "id_region",
            IdError::KindMismatch { .. } => "id_kind",
            IdError::Empty => "id_empty",
            IdError::Unrecognised { .. } => "id_unrecognised",
        }
    }

    pub fn message_zh(&self) -> String {
        match self {
            IdError::Length { expected, actual } => {
                format!("应为 {expected} 位，实际为 {actual} 位。")
            }
            IdError::Char { position, found, expected } => format!("第 {position} 位“{found}”不符合要求：{expected}。"),
            IdError::Check { position, found, expected } => {
                format!("第 {position} 位校验码为“{found}”，按规则应为“{expected}”，请核对各位是否有误。")
            }
            IdError::Date { position, found, expected } => {
                format!("第 {position} 位起的出生日期“{found}”不是有效日期：{expected}。")
            }
            IdError::Region { position, division, city } => format!(
                "第 {position} 位有误：行政区划代码“{division}”不在本统筹地区（{city}）范围内，应以“{}”开头。",
                division_prefix(city)
            ),
            IdError::KindMismatch { letter, expected } => {
                format!("第 1 位“{letter}”表示{}，与申请的机构类型不符，应为“{expected}”（{}）。", letter_zh(*letter), letter_zh(*expected))
            }
            IdError::Empty => "代码为空。".to_string(),
            IdError::Unrecognised { length, expected } => {
                format!("无法识别的代码（共 {length} 位）：应为{expected}。")
            }
        }
    }
}

fn letter_zh(letter: char) -> &'static str {
    match letter {
        'H' => "医疗机构",
        'P' => "零售药店",
        _ => "未知类型",
    }
}

/// The prefix every division inside `city` starts with: trailing `00` pairs removed
/// (230100 → 2301, 230000 → 23, 230102 → 230102).
fn division_prefix(city: &str) -> &str {
    let mut p = city.trim();
    while p.len() > 2 && p.ends_with("00") {
        p = &p[..p.len() - 2];
    }
    p
}

/// Checks that `chars[range]` are ASCII digits; `what` is the expectation named in the error.
/// Every caller checks the length of `chars` first, so the range is always inside it.
fn digits(chars: &[char], range: std::ops::Range<usize>, what: &'static str) -> Result<(), IdError> {
    for i in range {
        if !chars[i].is_ascii_digit() {
            return Err(IdError::Char { position: i + 1, found: chars[i], expected: what });
        }
    }
    Ok(())
}

/// Normalises input: surrounding whitespace removed, upper case.
fn normalise(s: &str) -> (String, Vec<char>) {
    let s = s.trim().to_ascii_uppercase();
    let chars = s.chars().collect();
    (s, chars)
}

/// A valid 统一社会信用代码. Holds the 18 upper-case characters.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Uscc(String);

impl Uscc {
    /// Parses and checks the GB 32100 check character.
    pub fn parse(s: &str) -> Result<Uscc, IdError> {
        let s = s.trim().to_ascii_uppercase();
        let chars: Vec<char> = s.chars().collect();
        if chars.len() != 18 {
            return Err(IdError::Length { expected: 18, actual: chars.len() });
        }
        let mut sum = 0;
        for (i, c) in chars.iter().enumerate() {
            let Some(v) = USCC_CHARS.find(*c) else {
                return Err(IdError::Char {
                    position: i + 1, found: *c, expected: "只能使用数字和除 I、O、S、V、Z 以外的大写字母"
                });
            };
            if i < 17 {
                sum += v as u32 * USCC_WEIGHTS[i];
            }
        }
        let expected = Self::check_char(sum);
        if chars[17] != expected {
            return Err(IdError::Check { position: 18, found: chars[17], expected });
        }
        Ok(Uscc(s))
    }

    fn check_char(sum: u32) -> char {
        // The index is below 31, the length of USCC_CHARS.
        USCC_CHARS.as_bytes()[((31 - sum % 31) % 31) as usize] as char
    }

    /// Builds a valid code from its first 17 characters (demo data and tests).
    pub fn with_check(first17: &str) -> Result<Uscc, IdError> {
        let sum: u32 = first17.chars().zip(USCC_WEIGHTS).map(|(c, w)| USCC_CHARS.find(c).unwrap_or(0) as u32 * w).sum();
        Uscc::parse(&format!("{first17}{}", Self::check_char(sum)))
    }

    /// Whether the embedded GB 11714 organisation code (characters 9–17) passes its own check.
    /// Some genuine registrations fail it, so this is a warning, never a refusal.
    pub fn organisation_code_ok(&self) -> bool {
        self.organisation_check_expected() == self.0[16..17].chars().next()
    }

    /// The GB 11714 check character that characters 9–16 call for (at position 17).
    fn organisation_check_expected(&self) -> Option<char> {
        let mut sum = 0;
        for (c, w) in self.0[8..16].chars().zip(ORG_WEIGHTS) {
            sum += c.to_digit(36)? * w;
        }
        Some(match 11 - sum % 11 {
            10 => 'X',
            11 => '0',
            n => char::from_digit(n, 10)?,
        })
    }

    /// Chinese warnings about a code that is valid but unusual: the embedded organisation code
    /// failing its own GB 11714 check.
    pub fn warnings(&self) -> Vec<String> {
        let mut w = Vec::new();
        if !self.organisation_code_ok() {
            let expected = self.organisation_check_expected().map(|c| format!("，按 GB 11714 应为“{c}”")).unwrap_or_default();
            w.push(format!(
                "第 9 至 17 位的组织机构代码未通过其自身校验（第 17 位为“{}”{expected}）。部分真实登记存在此情况，代码仍予接受，请人工核对营业执照。",
                &self.0[16..17]
            ));
        }
        w
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Uscc {
    type Error = IdError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Uscc::parse(&s)
    }
}

impl From<Uscc> for String {
    fn from(u: Uscc) -> String {
        u.0
    }
}

impl fmt::Display for Uscc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A national insurance institution code: `H` (medical) or `P` (pharmacy), a 6-digit division
/// code and a 5-digit sequence. It has no check digit.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct InstitutionCode(String);

impl InstitutionCode {
    pub fn parse(s: &str) -> Result<InstitutionCode, IdError> {
        let s = s.trim().to_ascii_uppercase();
        let chars: Vec<char> = s.chars().collect();
        if chars.len() != 12 {
            return Err(IdError::Length { expected: 12, actual: chars.len() });
        }
        if !matches!(chars[0], 'H' | 'P') {
            return Err(IdError::Char {
                position: 1, found: chars[0], expected: "首位应为 H（医疗机构）或 P（零售药店）"
            });
        }
        for (i, c) in chars.iter().enumerate().skip(1) {
            if !c.is_ascii_digit() {
                return Err(IdError::Char { position: i + 1, found: *c, expected: "第 2 至 12 位应为数字" });
            }
        }
        Ok(InstitutionCode(s))
    }

    /// The administrative division (6 digits).
    pub fn division(&self) -> &str {
        &self.0[1..7]
    }

    pub fn is_pharmacy(&self) -> bool {
        self.0.starts_with('P')
    }

    /// Whether this code fits a profile: the division must lie inside `city_division` (the
    /// profile's GB/T 2260 code, e.g. 230100 admits 2301xx including 230100 itself) and the
    /// letter must match `kind` (H = medical institution, P = retail pharmacy).
    pub fn check_for(&self, city_division: &str, kind: InstitutionKind) -> Result<(), IdError> {
        let expected = match kind {
            InstitutionKind::Medical => 'H',
            InstitutionKind::Pharmacy => 'P',
        };
        let letter = self.0.chars().next().unwrap_or(' ');
        if letter != expected {
            return Err(IdError::KindMismatch { letter, expected });
        }
        let prefix = division_prefix(city_division);
        let division = self.division();
        if !division.starts_with(prefix) {
            let first_wrong = division.bytes().zip(prefix.bytes()).position(|(a, b)| a != b).unwrap_or(0);
            return Err(IdError::Region {
                position: first_wrong + 2,
                division: division.to_string(),
                city: city_division.trim().to_string(),
            });
        }
        Ok(())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for InstitutionCode {
    type Error = IdError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        InstitutionCode::parse(&s)
    }
}

impl From<InstitutionCode> for String {
    fn from(u: InstitutionCode) -> String {
        u.0
    }
}

/// What an insurance staff code identifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StaffKind {
    /// `HY`: pharmacy staff (医保药师).
    Pharmacist,
    /// `HJ`: technical staff (医保技师).
    Technician,
    /// `D`: insurance physician (医保医师).
    Physician,
}

impl StaffKind {
    pub fn zh(self) -> &'static str {
        match self {
            StaffKind::Pharmacist => "药师",
            StaffKind::Technician => "技师",
            StaffKind::Physician => "医师",
        }
    }

    /// The code prefix.
    pub fn prefix(self) -> &'static str {
        match self {
            StaffKind::Pharmacist => "HY",
            StaffKind::Technician => "HJ",
            StaffKind::Physician => "D",
        }
    }
}

/// An insurance staff code as seen in practice: `HY` (pharmacist) or `HJ` (technician) + 6-digit
/// division + 6-digit sequence (14 characters), or `D` (physician) + 6-digit division + 6-digit
/// sequence (13 characters). No check digit.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct StaffCode(String);

impl StaffCode {
    pub fn parse(s: &str) -> Result<StaffCode, IdError> {
        let (s, chars) = normalise(s);
        let kind = match (chars.first(), chars.get(1)) {
            (None, _) => return Err(IdError::Empty),
            (Some('D'), _) => StaffKind::Physician,
            (Some('H'), Some('Y')) => StaffKind::Pharmacist,
            (Some('H'), Some('J')) => StaffKind::Technician,
            (Some('H'), Some(c)) => {
                return Err(IdError::Char { position: 2, found: *c, expected: "H 之后应为 Y（药师）或 J（技师）" });
            }
            (Some('H'), None) => return Err(IdError::Length { expected: 14, actual: 1 }),
            (Some(c), _) => {
                return Err(IdError::Char {
                    position: 1, found: *c, expected: "应以 D（医师）、HY（药师）或 HJ（技师）开头"
                });
            }
        };
        let p = kind.prefix().len();
        if chars.len() != p + 12 {
            return Err(IdError::Length { expected: p + 12, actual: chars.len() });
        }
        let (division, sequence) = if p == 1 {
            ("第 2 至 7 位应为数字的行政区划代码", "第 8 至 13 位应为数字的顺序号")
        } else {
            ("第 3 至 8 位应为数字的行政区划代码", "第 9 至 14 位应为数字的顺序号")
        };
        digits(&chars, p..p + 6, division)?;
        digits(&chars, p + 6..p + 12, sequence)?;
        Ok(StaffCode(s))
    }

    pub fn kind(&self) -> StaffKind {
        if self.0.starts_with('D') {
            StaffKind::Physician
        } else if self.0.starts_with("HY") {
            StaffKind::Pharmacist
        } else {
            StaffKind::Technician
        }
    }

    /// The administrative division (6 digits).
    pub fn division(&self) -> &str {
        let p = self.kind().prefix().len();
        &self.0[p..p + 6]
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for StaffCode {
    type Error = IdError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        StaffCode::parse(&s)
    }
}

impl From<StaffCode> for String {
    fn from(u: StaffCode) -> String {
        u.0
    }
}

impl fmt::Display for StaffCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

const RESIDENT_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const RESIDENT_CHECK: &[u8; 11] = b"10X98765432";

/// A valid 居民身份证号码 (GB 11643-1999): 6-digit division, 8-digit birth date, 3-digit sequence,
/// check character (digit or `X`; a lower-case `x` is accepted and stored as `X`).
///
/// This is personal information. `Debug` prints only the masked form and there is deliberately no
/// `Display`: use [`ResidentId::masked`] for anything shown or logged, and [`ResidentId::expose`]
/// only where the full number is really needed. Serialization writes the full number (for
/// storage); APIs and pages must send `masked()` instead of serializing this type.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(try_from = "String")]
pub struct ResidentId(String);

impl ResidentId {
    pub fn parse(s: &str) -> Result<ResidentId, IdError> {
        let (s, chars) = normalise(s);
        if chars.len() != 18 {
            return Err(IdError::Length { expected: 18, actual: chars.len() });
        }
        digits(&chars, 0..17, "第 1 至 17 位应为数字")?;
        if !(chars[17].is_ascii_digit() || chars[17] == 'X') {
            return Err(IdError::Char { position: 18, found: chars[17], expected: "第 18 位校验码应为数字或 X" });
        }
        resident_birth_date(&chars)?;
        let expected = Self::check_char(&chars);
        if chars[17] != expected {
            return Err(IdError::Check { position: 18, found: chars[17], expected });
        }
        Ok(ResidentId(s))
    }

    /// The GB 11643 check character of the first 17 (digit) characters.
    fn check_char(chars: &[char]) -> char {
        let sum: u32 = chars.iter().zip(RESIDENT_WEIGHTS).map(|(c, w)| c.to_digit(10).unwrap_or(0) * w).sum();
        // The index is below 11, the length of RESIDENT_CHECK.
        RESIDENT_CHECK[(sum % 11) as usize] as char
    }

    /// The full number. Use only where it is really needed (storage, matching); show `masked()`.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The full number (same as [`ResidentId::expose`]).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first 6 and last 4 characters with `*` between: `230102********123X`. (The slices
    /// below are safe: `parse` admits only 18 ASCII characters.)
    pub fn masked(&self) -> String {
        format!("{}{}{}", &self.0[..6], "*".repeat(8), &self.0[14..])
    }

    /// The administrative division of first registration (6 digits).
    pub fn division(&self) -> &str {
        &self.0[..6]
    }

    /// The birth date (characters 7–14).
    pub fn birth_date(&self) -> Date {
        let chars: Vec<char> = self.0.chars().collect();
        // Checked by `parse`.
        resident_birth_date(&chars).unwrap_or(Date::MIN)
    }
}

/// The birth date at characters 7–14 of 18 characters whose first 17 are digits (both callers
/// check the length first; the fold cannot overflow: 4 digits at most).
fn resident_birth_date(chars: &[char]) -> Result<Date, IdError> {
    let num = |r: std::ops::Range<usize>| chars[r].iter().fold(0i32, |n, c| n * 10 + c.to_digit(10).unwrap_or(0) as i32);
    let (year, month, day) = (num(6..10), num(10..12), num(12..14));
    let found: String = chars[6..14].iter().collect();
    if year < 1800 {
        return Err(IdError::Date { position: 7, found, expected: "第 7 至 10 位的出生年份不应早于 1800 年" });
    }
    if !(1..=12).contains(&month) {
        return Err(IdError::Date { position: 11, found, expected: "第 11 至 12 位的月份应为 01 至 12" });
    }
    // year ≤ 9999 and month/day ≤ 99 fit the narrower types.
    Date::new(year as i16, month as i8, day as i8).map_err(|_| IdError::Date {
        position: 13,
        found,
        expected: "第 13 至 14 位的日期在该月不存在",
    })
}

impl TryFrom<String> for ResidentId {
    type Error = IdError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        ResidentId::parse(&s)
    }
}

impl Serialize for ResidentId {
    /// The full number, for storage. APIs must send [`ResidentId::masked`] instead.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl fmt::Debug for ResidentId {
    /// Masked, so the number can never leak into logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ResidentId").field(&self.masked()).finish()
    }
}

/// Whether 18 normalised characters have the shape of a resident ID: 17 digits, a digit or `X`,
/// and a real birth date at characters 7–14.
fn resident_shaped(chars: &[char]) -> bool {
    chars.len() == 18
        && chars[..17].iter().all(char::is_ascii_digit)
        && (chars[17].is_ascii_digit() || chars[17] == 'X')
        && resident_birth_date(chars).is_ok()
}

const CHECK_EXPECTED: &str =
    "统一社会信用代码（18 位）、定点医药机构代码（12 位，H 或 P 开头）、医保人员代码（D、HY 或 HJ 开头）或居民身份证号码（18 位）之一";

/// Identifies what `code` is by its shape and validates it. Returns the kind (`"uscc"`,
/// `"institution-code"`, `"staff-code"` or `"resident-id"`) and Chinese warnings (a USCC whose
/// embedded GB 11714 organisation code fails its own check is accepted with a warning).
///
/// Shape: 18 characters, 17 digits then a digit or X, with a real date at 7–14 → resident ID
/// (if that fails its check but the code is a valid USCC, it is a USCC); other 18 → USCC;
/// `HY`/`HJ` → staff code; 12 starting with H or P → institution code; `D` → staff code.
pub fn check(code: &str) -> Result<(&'static str, Vec<String>), IdError> {
    let (norm, chars) = normalise(code);
    if chars.is_empty() {
        return Err(IdError::Empty);
    }
    if resident_shaped(&chars) {
        return match (ResidentId::parse(&norm), Uscc::parse(&norm)) {
            (Ok(_), Ok(_)) => {
                Ok(("resident-id", vec!["该号码同时符合统一社会信用代码的校验规则，已按居民身份证号码识别，请核对。".to_string()]))
            }
            (Ok(_), Err(_)) => Ok(("resident-id", Vec::new())),
            (Err(_), Ok(u)) => Ok(("uscc", u.warnings())),
            (Err(e), Err(_)) => Err(e),
        };
    }
    if chars.len() == 18 {
        let u = Uscc::parse(&norm)?;
        return Ok(("uscc", u.warnings()));
    }
    if norm.starts_with("HY") || norm.starts_with("HJ") {
        StaffCode::parse(&norm)?;
        return Ok(("staff-code", Vec::new()));
    }
    if chars.len() == 12 && matches!(chars[0], 'H' | 'P') {
        InstitutionCode::parse(&norm)?;
        return Ok(("institution-code", Vec::new()));
    }
    if chars[0] == 'D' {
        StaffCode::parse(&norm)?;
        return Ok(("staff-code", Vec::new()));
    }
    Err(IdError::Unrecognised { length: chars.len(), expected: CHECK_EXPECTED })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uscc_check_character() {
        // A widely published valid example.
        assert!(Uscc::parse("91350100M000100Y43").is_ok());
        assert_eq!(Uscc::parse("91350100M000100Y44"), Err(IdError::Check { position: 18, found: '4', expected: '3' }));
        assert!(matches!(Uscc::parse("91350100M000100YI3"), Err(IdError::Char { position: 17, .. })));
        assert!(matches!(Uscc::parse("9135"), Err(IdError::Length { expected: 18, actual: 4 })));
        let built = Uscc::with_check("12230100MB1234567").unwrap();
        assert_eq!(Uscc::parse(built.as_str()).unwrap(), built);
    }

    #[test]
    fn institution_code_shape() {
        let c = InstitutionCode::parse("H23010200001").unwrap();
        assert_eq!(c.division(), "230102");
        assert!(!c.is_pharmacy());
        assert!(matches!(InstitutionCode::parse("X23010200001"), Err(IdError::Char { position: 1, .. })));
    }
}
