//! Identifiers parsed once into types: the unified social credit code (统一社会信用代码,
//! GB 32100-2015) and the national insurance institution code (定点医药机构代码).

use std::fmt;

use serde::{Deserialize, Serialize};

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
    #[error("check character is {found:?}, expected {expected:?}")]
    Check { found: char, expected: char },
}

impl IdError {
    pub fn code(&self) -> &'static str {
        match self {
            IdError::Length { .. } => "id_length",
            IdError::Char { .. } => "id_char",
            IdError::Check { .. } => "id_check",
        }
    }

    pub fn message_zh(&self) -> String {
        match self {
            IdError::Length { expected, actual } => {
                format!("应为 {expected} 位，实际为 {actual} 位。")
            }
            IdError::Char { position, found, expected } => format!("第 {position} 位“{found}”不符合要求：{expected}。"),
            IdError::Check { found, expected } => {
                format!("校验码为“{found}”，按规则应为“{expected}”。")
            }
        }
    }
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
            return Err(IdError::Check { found: chars[17], expected });
        }
        Ok(Uscc(s))
    }

    fn check_char(sum: u32) -> char {
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
        let org: Vec<char> = self.0[8..17].chars().collect();
        let mut sum = 0;
        for (c, w) in org[..8].iter().zip(ORG_WEIGHTS) {
            let v = match c.to_digit(36) {
                Some(v) => v,
                None => return false,
            };
            sum += v * w;
        }
        let check = match 11 - sum % 11 {
            10 => 'X',
            11 => '0',
            n => char::from_digit(n, 10).unwrap_or('?'),
        };
        org[8] == check
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uscc_check_character() {
        // A widely published valid example.
        assert!(Uscc::parse("91350100M000100Y43").is_ok());
        assert_eq!(Uscc::parse("91350100M000100Y44"), Err(IdError::Check { found: '4', expected: '3' }));
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
