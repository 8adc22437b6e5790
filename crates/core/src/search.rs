//! What a member of staff typed into the workbench's search box (issue #16 item 9), classified
//! once: an application number, a unified social credit code, a national insurance institution
//! code, or else part of an institution's name. The store turns the classified query into SQL.
//!
//! Not responsible for who may see what: the search only narrows the queue the actor already
//! sees (`visibility::reporting` decides that), and for building SQL (the store's job, which
//! escapes the name for `LIKE`).

use crate::ids::{InstitutionCode, Uscc};

/// The longest search text accepted, in characters (after cleaning). The longest institution
/// names are around 40 characters.
pub const MAX_CHARS: usize = 60;

/// A classified search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Query {
    /// An application number in its stored form, `230100-2026-000123` (division, year,
    /// sequence; see `Store::create_application`), typed with or without hyphens or spaces.
    Number(String),
    /// A whole 统一社会信用代码 with a valid check character (any letter case).
    Uscc(Uscc),
    /// A whole national insurance institution code (`H`/`P` and 11 digits).
    NationalCode(InstitutionCode),
    /// Part of an institution's name, lower-cased (matched case-insensitively, as a substring).
    Name(String),
}

/// Why a search text is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SearchError {
    #[error("search text of {actual} characters, at most {max}")]
    TooLong { max: usize, actual: usize },
}

impl SearchError {
    /// A stable code for the API.
    pub fn code(&self) -> &'static str {
        match self {
            SearchError::TooLong { .. } => "search_too_long",
        }
    }

    pub fn message_zh(&self) -> String {
        match self {
            SearchError::TooLong { max, actual } => {
                format!(
                    "搜索内容过长（{actual} 个字），最多 {max} 个字。请输入机构名称的一部分，或完整的申请编号、统一社会信用代码、医保编码。"
                )
            }
        }
    }
}

/// Separators people put inside codes and numbers: spaces and hyphens (ASCII, full-width, dashes).
fn is_separator(c: char) -> bool {
    c.is_whitespace() || matches!(c, '-' | '－' | '‐' | '‑' | '–' | '—')
}

/// `230100-2026-000123` from its 16 or more digits (6 division, 4 year, at least 6 sequence).
fn number(compact: &str) -> Option<String> {
    if !(16..=20).contains(&compact.len()) || !compact.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (division, rest) = compact.split_at(6);
    let (year, seq) = rest.split_at(4);
    // The sequence is the application id padded to six digits: longer ones never start with 0.
    if seq.len() > 6 && seq.starts_with('0') {
        return None;
    }
    Some(format!("{division}-{year}-{seq}"))
}

impl Query {
    /// Classifies a search text. Invisible characters are dropped, control characters count as
    /// spaces, runs of
    /// spaces as one, surrounding ones are dropped; `Ok(None)` when nothing is left. A whole
    /// code is recognised with or without separators, in any letter case; anything else is a
    /// name fragment.
    pub fn parse(raw: &str) -> Result<Option<Query>, SearchError> {
        let cleaned: String = raw
            .chars()
            // Invisible characters (a zero-width space pasted inside a name) are dropped;
            // control characters (tabs, line breaks) separate words.
            .filter(|c| !crate::text::is_invisible(*c))
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect::<String>()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        if cleaned.is_empty() {
            return Ok(None);
        }
        let actual = cleaned.chars().count();
        if actual > MAX_CHARS {
            return Err(SearchError::TooLong { max: MAX_CHARS, actual });
        }
        let compact: String = cleaned.chars().filter(|c| !is_separator(*c)).collect();
        if let Ok(u) = Uscc::parse(&compact) {
            return Ok(Some(Query::Uscc(u)));
        }
        if let Ok(c) = InstitutionCode::parse(&compact) {
            return Ok(Some(Query::NationalCode(c)));
        }
        if let Some(n) = number(&compact) {
            return Ok(Some(Query::Number(n)));
        }
        Ok(Some(Query::Name(cleaned.to_lowercase())))
    }

    /// The text to show back in the search box's hint ("按申请编号 … 查找").
    pub fn describe_zh(&self) -> String {
        match self {
            Query::Number(n) => format!("申请编号 {n}"),
            Query::Uscc(u) => format!("统一社会信用代码 {u}"),
            Query::NationalCode(c) => format!("医保编码 {}", c.as_str()),
            Query::Name(n) => format!("机构名称包含“{n}”"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str) -> Option<Query> {
        Query::parse(s).unwrap()
    }

    #[test]
    fn empty_and_blank_are_no_search() {
        assert_eq!(q(""), None);
        assert_eq!(q("   \t "), None);
        assert_eq!(q("\u{0}\u{202E}"), None);
    }

    #[test]
    fn application_numbers_with_or_without_separators() {
        let want = Some(Query::Number("230100-2026-000123".into()));
        assert_eq!(q("230100-2026-000123"), want);
        assert_eq!(q(" 230100 2026 000123 "), want);
        assert_eq!(q("2301002026000123"), want);
        assert_eq!(q("230100－2026－000123"), want);
        assert_eq!(q("230100-2026-1234567"), Some(Query::Number("230100-2026-1234567".into())));
        // Too short to be a whole number: a name fragment (which matches nothing).
        assert_eq!(q("2026-000123"), Some(Query::Name("2026-000123".into())));
    }

    #[test]
    fn uscc_in_any_case_with_a_valid_check() {
        let u = Uscc::with_check("91230102MA1B2C3D4").unwrap();
        assert_eq!(q(u.as_str()), Some(Query::Uscc(u.clone())));
        assert_eq!(q(&u.as_str().to_lowercase()), Some(Query::Uscc(u.clone())));
        assert_eq!(q(&format!(" {} {} ", &u.as_str()[..9], &u.as_str()[9..])), Some(Query::Uscc(u.clone())));
        // A wrong check character is not a code: searched as a name, finds nothing.
        let mut bad = u.as_str().to_owned();
        let last = bad.pop().unwrap();
        bad.push(if last == '0' { '1' } else { '0' });
        assert!(matches!(q(&bad), Some(Query::Name(_))));
    }

    #[test]
    fn national_codes() {
        assert_eq!(q("h23010200001"), Some(Query::NationalCode(InstitutionCode::parse("H23010200001").unwrap())));
        assert_eq!(q("P65010200002"), Some(Query::NationalCode(InstitutionCode::parse("P65010200002").unwrap())));
        assert!(matches!(q("X23010200001"), Some(Query::Name(_))));
    }

    #[test]
    fn names_are_trimmed_collapsed_and_lower_cased() {
        assert_eq!(q("  康宁  "), Some(Query::Name("康宁".into())));
        assert_eq!(q("哈尔滨\u{0}康宁\u{202E}  ABC"), Some(Query::Name("哈尔滨 康宁 abc".into())));
        assert_eq!(q("康\u{200B}宁"), Some(Query::Name("康宁".into())));
        // LIKE wildcards and quotes are plain text here; the store escapes them.
        assert_eq!(q("100%_'\""), Some(Query::Name("100%_'\"".into())));
    }

    #[test]
    fn too_long_is_refused_with_a_message() {
        let long = "康".repeat(MAX_CHARS + 1);
        let e = Query::parse(&long).unwrap_err();
        assert_eq!(e, SearchError::TooLong { max: MAX_CHARS, actual: MAX_CHARS + 1 });
        assert_eq!(e.code(), "search_too_long");
        assert!(e.message_zh().contains("过长"));
        assert!(Query::parse(&"康".repeat(MAX_CHARS)).is_ok());
        // A megabyte of text is refused the same way, without trouble.
        assert!(Query::parse(&"a".repeat(1 << 20)).is_err());
    }
}
