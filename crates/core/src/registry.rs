//! The institution registry's input rules: one institution checked against its city's profile
//! (kinds served, eligible categories, districts), and the bulk CSV import (UTF-8, BOM
//! tolerated), which validates every row and reports each bad one by line and reason. Parsing
//! only; storing is the store's job, all-or-nothing. No city data lives here: it is all in the
//! profiles.

use std::collections::HashMap;

use serde::Serialize;

use crate::ids::{InstitutionCode, Uscc};
use crate::policy::Profile;
use crate::vocabulary::InstitutionKind;

/// One valid row of an import.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InstitutionRow {
    pub line: usize,
    pub uscc: Uscc,
    pub name: String,
    pub kind: InstitutionKind,
    pub category: String,
    pub city: String,
    pub district: String,
    pub national_code: Option<String>,
    pub address: String,
    pub beds: i64,
}

/// A bad row: its line in the file (the header is line 1) and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowError {
    pub line: usize,
    pub reason: String,
}

/// The columns an import file must have, in any order.
pub const COLUMNS: &[&str] = &["uscc", "name", "kind", "category", "city", "district", "national_code", "address", "beds"];

/// Parses and validates a whole CSV file. Either every row is valid, or every bad row is reported.
pub fn parse_csv(text: &str, profiles: &[&Profile]) -> Result<Vec<InstitutionRow>, Vec<RowError>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = csv::ReaderBuilder::new().has_headers(true).flexible(false).from_reader(text.as_bytes());
    let headers = match reader.headers() {
        Ok(h) => h.iter().map(|h| h.trim().to_owned()).collect::<Vec<_>>(),
        Err(e) => return Err(vec![RowError { line: 1, reason: format!("无法读取表头：{e}") }]),
    };
    let missing: Vec<&str> = COLUMNS.iter().copied().filter(|c| !headers.iter().any(|h| h == c)).collect();
    if !missing.is_empty() {
        return Err(vec![RowError {
            line: 1, reason: format!("表头缺少列：{}（应包含 {}）", missing.join("、"), COLUMNS.join(","))
        }]);
    }
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap_or(0);
    let idx: HashMap<&str, usize> = COLUMNS.iter().map(|c| (*c, col(c))).collect();
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    // Lines are counted from byte offsets, so CRLF files, blank lines and quoted line breaks
    // all give the line a person sees in an editor.
    // Records come in order, so newlines are counted incrementally: linear in the file size.
    let bytes = text.as_bytes();
    let (mut counted_to, mut newlines) = (0usize, 0usize);
    let mut line_at = |byte: u64| {
        // A record's position may point at the line break before it (CRLF, blank lines).
        let mut at = (byte as usize).min(bytes.len());
        while at < bytes.len() && matches!(bytes[at], b'\r' | b'\n') {
            at += 1;
        }
        if at < counted_to {
            counted_to = 0;
            newlines = 0;
        }
        newlines += bytes[counted_to..at].iter().filter(|b| **b == b'\n').count();
        counted_to = at;
        newlines + 1
    };
    for (i, rec) in reader.records().enumerate() {
        let pos = match &rec {
            Ok(r) => r.position().cloned(),
            Err(e) => e.position().cloned(),
        };
        let line = pos.map(|p| line_at(p.byte())).unwrap_or(i + 2);
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                errors.push(RowError { line, reason: format!("无法解析：{e}") });
                continue;
            }
        };
        let get = |c: &str| idx.get(c).and_then(|i| rec.get(*i)).unwrap_or("").trim().to_owned();
        match row(line, &get, profiles) {
            Ok(r) => {
                if let Some(first) = seen.insert(r.uscc.as_str().to_owned(), line) {
                    errors.push(RowError { line, reason: format!("统一社会信用代码 {} 与第 {first} 行重复", r.uscc) });
                } else {
                    rows.push(r);
                }
            }
            Err(reason) => errors.push(RowError { line, reason }),
        }
    }
    if errors.is_empty() { Ok(rows) } else { Err(errors) }
}

/// Validates one institution given by field name (a CSV row, or a JSON object in the API).
pub fn row(line: usize, get: &dyn Fn(&str) -> String, profiles: &[&Profile]) -> Result<InstitutionRow, String> {
    // Stored text carries no control or invisible characters (they break feeds and exports).
    for (field, zh) in
        [("name", "机构名称"), ("category", "机构类别"), ("address", "地址"), ("district", "区县"), ("national_code", "国家医保机构代码")]
    {
        if let Some(code) = crate::text::first_refused(&get(field), false) {
            return Err(format!("{zh}含有不允许的控制字符或不可见字符（{code}），请删除后重新填写"));
        }
    }
    let uscc = Uscc::parse(&get("uscc")).map_err(|e| format!("统一社会信用代码有误：{}", e.message_zh()))?;
    let name = get("name");
    if name.is_empty() {
        return Err("机构名称不能为空".into());
    }
    let kind = match get("kind").as_str() {
        "medical" | "医疗机构" => InstitutionKind::Medical,
        "pharmacy" | "零售药店" => InstitutionKind::Pharmacy,
        other => return Err(format!("机构类型“{other}”无效，应为 medical 或 pharmacy")),
    };
    let category = get("category");
    if category.is_empty() {
        return Err("机构类别不能为空".into());
    }
    let city = get("city");
    let profile = profiles.iter().find(|p| p.id == city).ok_or_else(|| format!("城市“{city}”未启用"))?;
    if !profile.kinds.contains(&kind) {
        let rule = profile.scope_rule.as_deref().map(|r| format!("（{r}）")).unwrap_or_default();
        return Err(format!("{}不受理{}{rule}", profile.name, kind.zh()));
    }
    if let Err(rule) = profile.category_admitted(kind, &category) {
        return Err(format!("机构类别“{category}”不在{}可申请范围内（{rule}）", profile.name));
    }
    let district = get("district");
    // Profiles are validated to carry a 6-digit division; the whole code is the (stricter)
    // fallback for one built in code.
    let prefix = profile.division.get(..4).unwrap_or(&profile.division);
    if district.len() != 6 || !district.chars().all(|c| c.is_ascii_digit()) || !district.starts_with(prefix) {
        return Err(format!("区县代码“{district}”应为{}的 6 位区划代码（{prefix}xx）", profile.name));
    }
    if !profile.districts.is_empty() && profile.district_name(&district).is_none() {
        return Err(format!("区县代码“{district}”不是{}的区县", profile.name));
    }
    let national_code = match get("national_code") {
        c if c.is_empty() => None,
        c => {
            let code = InstitutionCode::parse(&c).map_err(|e| format!("国家医保编码有误：{}", e.message_zh()))?;
            let letter = if kind == InstitutionKind::Pharmacy { 'P' } else { 'H' };
            if !code.division().starts_with(prefix) {
                return Err(format!("国家医保编码的区划 {} 不在{}", code.division(), profile.name));
            }
            if !code.as_str().starts_with(letter) {
                return Err(format!("国家医保编码首位应为 {letter}（{}）", kind.zh()));
            }
            Some(code.as_str().to_owned())
        }
    };
    let address = get("address");
    if address.is_empty() {
        return Err("地址不能为空".into());
    }
    let beds = match get("beds").as_str() {
        "" => 0,
        b => b.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| format!("床位数“{b}”应为非负整数"))?,
    };
    Ok(InstitutionRow { line, uscc, name, kind, category, city, district, national_code, address, beds })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hrb_elig_type_and_scope_checked_per_row() {
        let profiles = Profile::shipped();
        let refs: Vec<&Profile> = profiles.iter().collect();
        let good = Uscc::with_check("12230102MB1A2B3C4").unwrap();
        let text = format!(
            "\u{feff}uscc,name,kind,category,city,district,national_code,address,beds\n\
             {good},甲医院,medical,综合医院,harbin,230102,H23010200001,道里区,120\n\
             {good},重复,medical,诊所,harbin,230102,,道里区,0\n\
             91350100M000100Y44,乙,medical,诊所,harbin,230102,,x,0\n\
             91350100M000100Y43,丙药店,pharmacy,零售药店,harbin,230102,,x,0\n\
             91350100M000100Y43,丁,medical,美容院,harbin,230102,,x,0\n"
        );
        let errs = parse_csv(&text, &refs).unwrap_err();
        let lines: Vec<usize> = errs.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![3, 4, 5, 6], "{errs:?}");
        assert!(errs[2].reason.contains("HRB-SCOPE"), "{errs:?}");
        assert!(errs[3].reason.contains("HRB-ELIG-TYPE"), "{errs:?}");
    }

    // The district must be one the profile lists, not merely a code inside the city.
    #[test]
    fn g_profile_district_must_be_listed() {
        let profiles = Profile::shipped();
        let refs: Vec<&Profile> = profiles.iter().collect();
        let good = Uscc::with_check("12230102MB1A2B3C4").unwrap();
        let text = format!(
            "uscc,name,kind,category,city,district,national_code,address,beds\n{good},甲医院,medical,综合医院,harbin,230199,,x,0\n"
        );
        let errs = parse_csv(&text, &refs).unwrap_err();
        assert!(errs[0].reason.contains("不是哈尔滨市的区县"), "{errs:?}");
    }
}
