//! Text people type, as the product stores it: no control characters (they break feeds, CSV and
//! terminals: U+0000 makes `/notices.atom` invalid XML), no invisible direction or formatting
//! characters that make one name look like another (U+202E "right-to-left override"), bounded in
//! length. Line breaks and tabs are kept only where a text may span lines.
//!
//! Not responsible for escaping on output (the templates and serializers do that); this keeps
//! what is stored clean in the first place.

use crate::refusal::Refusal;

/// Characters that change how text is shown without being seen: the bidirectional embeddings,
/// overrides and isolates (U+202A–U+202E, U+2066–U+2069), the zero-width characters and marks
/// (U+200B–U+200F, U+2060–U+2064, U+FEFF) and the line and paragraph separators
/// (U+2028–U+2029).
pub fn is_invisible(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}' | '\u{2028}' | '\u{2029}')
}

/// Is this character refused in a text of this kind? Control characters (C0, DEL, C1) and the
/// invisible ones; a multi-line text keeps line feeds, carriage returns and tabs.
pub fn is_refused(c: char, multiline: bool) -> bool {
    if multiline && matches!(c, '\n' | '\r' | '\t') {
        return false;
    }
    c.is_control() || is_invisible(c)
}

/// The first refused character of `s`, if any, as "U+XXXX".
pub fn first_refused(s: &str, multiline: bool) -> Option<String> {
    s.chars().find(|c| is_refused(*c, multiline)).map(|c| format!("U+{:04X}", c as u32))
}

/// Checks a text field: refused characters are an error naming the field (in Chinese, with the
/// character's code so a person can find it), never silently dropped.
pub fn check(field: &'static str, s: &str, multiline: bool) -> Result<(), Refusal> {
    match first_refused(s, multiline) {
        None => Ok(()),
        Some(code) => Err(Refusal::Invalid {
            field, reason: format!("含有不允许的控制字符或不可见字符（{code}），请删除后重新填写。")
        }),
    }
}

/// Every string inside a JSON value (keys included), checked as single-line text unless the
/// value is a long free text: strings with line breaks are allowed in values, never in keys.
pub fn check_json(field: &'static str, v: &serde_json::Value) -> Result<(), Refusal> {
    match v {
        serde_json::Value::String(s) => check(field, s, true),
        serde_json::Value::Array(items) => items.iter().try_for_each(|i| check_json(field, i)),
        serde_json::Value::Object(map) => map.iter().try_for_each(|(k, v)| {
            check(field, k, false)?;
            check_json(field, v)
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_and_invisible_characters_are_refused() {
        for c in ['\u{0}', '\u{1}', '\u{b}', '\u{7f}', '\u{85}', '\u{202e}', '\u{200b}', '\u{feff}', '\u{2028}'] {
            let s = format!("诊所{c}名称");
            assert!(check("name", &s, false).is_err(), "{c:?}");
            assert!(check("name", &s, true).is_err(), "{c:?} in a multi-line text");
        }
        assert!(check("name", "第一行\n第二行", false).is_err());
        assert!(check("note", "第一行\r\n第二行\t缩进", true).is_ok());
        assert!(check("name", "哈尔滨市（道里区）诊所 No.1", false).is_ok());
        let msg = check("name", "a\u{202e}b", false).unwrap_err().message_zh();
        assert!(msg.contains("U+202E"), "{msg}");
    }

    #[test]
    fn json_strings_and_keys_are_checked() {
        assert!(check_json("facts", &serde_json::json!({ "staff": [{ "name": "张三" }] })).is_ok());
        assert!(check_json("facts", &serde_json::json!({ "staff": [{ "name": "张\u{1}三" }] })).is_err());
        assert!(check_json("facts", &serde_json::json!({ "a\nb": 1 })).is_err());
    }
}
