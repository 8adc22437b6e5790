//! A year's holiday arrangement as an administrator types it from the State Council's notice
//! (issue #16 item 8): rows of (name, first day, last day, adjusted working days), checked here
//! with messages in Chinese, then written as the same TOML text a pasted file would be, so the
//! store loads it by the one path (`Year::parse`, audit, re-projection).
//!
//! Not responsible for who may load a year (`province::may_load_calendar`) nor for which
//! deadlines move (the store compares the clocks under both calendars).

use jiff::civil::{Date, Weekday};

use crate::calendar::{Holiday, Year};

/// One row of the form, as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HolidayRow {
    pub name: String,
    pub from: String,
    pub to: String,
    /// The adjusted working days (调休上班) for this holiday, separated by commas, Chinese
    /// commas, semicolons or spaces.
    pub workdays: String,
}

/// The whole form, as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct YearEntry {
    pub year: String,
    pub source: String,
    pub rows: Vec<HolidayRow>,
}

fn date(s: &str) -> Option<Date> {
    s.trim().parse::<Date>().ok()
}

fn weekday_zh(d: Date) -> &'static str {
    match d.weekday() {
        Weekday::Monday => "星期一",
        Weekday::Tuesday => "星期二",
        Weekday::Wednesday => "星期三",
        Weekday::Thursday => "星期四",
        Weekday::Friday => "星期五",
        Weekday::Saturday => "星期六",
        Weekday::Sunday => "星期日",
    }
}

/// A TOML basic string (quoted, escaped).
fn quoted(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

impl YearEntry {
    /// LAW-WD: checks the form and builds the year. Every problem is one Chinese sentence naming
    /// the row; rows without any date are skipped.
    pub fn check(&self) -> Result<Year, Vec<String>> {
        let mut errors = Vec::new();
        let year = match self.year.trim().parse::<i16>() {
            Ok(y) if (2000..=2100).contains(&y) => Some(y),
            _ => {
                errors.push("年份应为 2000 至 2100 之间的四位数字。".to_owned());
                None
            }
        };
        let source = self.source.trim();
        if source.is_empty() {
            errors.push("请填写通知名称（如“国务院办公厅关于2027年部分节假日安排的通知”）。".to_owned());
        }
        if let Some(c) = crate::text::first_refused(source, false) {
            errors.push(format!("通知名称含有不可见或控制字符（{c}），请删除。"));
        }
        let mut holidays: Vec<(usize, Holiday)> = Vec::new();
        for (i, r) in self.rows.iter().enumerate() {
            let n = i + 1;
            // A row with a name but no dates is the form's prefilled holiday left unused.
            let blank = [&r.from, &r.to, &r.workdays].iter().all(|v| v.trim().is_empty());
            if blank {
                continue;
            }
            let name = r.name.trim();
            if name.is_empty() {
                errors.push(format!("第 {n} 行：请填写节日名称。"));
            } else if crate::text::first_refused(name, false).is_some() || name.chars().count() > 20 {
                errors.push(format!("第 {n} 行：节日名称应为 20 个字以内的普通文字。"));
            }
            let in_year = |label: &str, s: &str, errors: &mut Vec<String>| -> Option<Date> {
                match date(s) {
                    None => {
                        // Long junk is not echoed whole.
                        let shown: String = s.trim().chars().take(20).collect();
                        errors.push(format!("第 {n} 行：{label}“{shown}”不是有效日期，应写作 2027-01-01。"));
                        None
                    }
                    Some(d) if year.is_some_and(|y| d.year() != y) => {
                        errors.push(format!("第 {n} 行：{label} {d} 不在 {} 年内。", year.unwrap_or_default()));
                        None
                    }
                    Some(d) => Some(d),
                }
            };
            let from = in_year("放假首日", &r.from, &mut errors);
            let to = in_year("放假末日", &r.to, &mut errors);
            let mut workdays = Vec::new();
            for w in r.workdays.split([',', '，', '、', ';', '；', ' ']).map(str::trim).filter(|w| !w.is_empty()) {
                let Some(d) = in_year("调休上班日", w, &mut errors) else { continue };
                if !matches!(d.weekday(), Weekday::Saturday | Weekday::Sunday) {
                    errors.push(format!("第 {n} 行：调休上班日 {d} 是{}，本来就是工作日；调休上班日应为星期六或星期日。", weekday_zh(d)));
                } else if workdays.contains(&d) {
                    errors.push(format!("第 {n} 行：调休上班日 {d} 重复填写。"));
                } else {
                    workdays.push(d);
                }
            }
            if let (Some(from), Some(to)) = (from, to) {
                if to < from {
                    errors.push(format!("第 {n} 行：放假末日 {to} 早于放假首日 {from}。"));
                } else if (to - from).get_days() > 15 {
                    errors.push(format!("第 {n} 行：一次放假不超过 16 天，请核对日期。"));
                } else {
                    holidays.push((n, Holiday { name: name.to_owned(), from, to, adjusted_workdays: workdays }));
                }
            }
        }
        if holidays.is_empty() && errors.is_empty() {
            errors.push("请至少填写一个节日。".to_owned());
        }
        // No two holidays share a day; no adjusted working day falls on a day off.
        for (a, (na, ha)) in holidays.iter().enumerate() {
            for (nb, hb) in &holidays[a + 1..] {
                if ha.from <= hb.to && hb.from <= ha.to {
                    errors.push(format!("第 {na} 行与第 {nb} 行的放假日期重叠（{}、{}）。", ha.name, hb.name));
                }
            }
        }
        for (nw, hw) in &holidays {
            for d in &hw.adjusted_workdays {
                if let Some((nh, h)) = holidays.iter().find(|(_, h)| *d >= h.from && *d <= h.to) {
                    errors.push(format!("第 {nw} 行：调休上班日 {d} 落在第 {nh} 行“{}”的放假期间内。", h.name));
                }
                if let Some((other, _)) = holidays.iter().find(|(n, h)| n != nw && h.adjusted_workdays.contains(d))
                    && other > nw
                {
                    errors.push(format!("第 {nw} 行与第 {other} 行填写了同一个调休上班日 {d}。"));
                }
            }
        }
        match year {
            Some(year) if errors.is_empty() => {
                let mut holidays: Vec<Holiday> = holidays.into_iter().map(|(_, h)| h).collect();
                holidays.sort_by_key(|h| h.from);
                Ok(Year { year, source: source.to_owned(), holidays })
            }
            _ => Err(errors),
        }
    }
}

impl Year {
    /// The year as a calendar file (the format of `calendars/2026.toml`), which `Year::parse`
    /// reads back to the same year.
    pub fn to_toml(&self) -> String {
        let mut out =
            format!("# Entered by an administrator in the holiday form.\nyear = {}\nsource = {}\n", self.year, quoted(&self.source));
        for h in &self.holidays {
            out.push_str(&format!("\n[[holidays]]\nname = {}\nfrom = \"{}\"\nto = \"{}\"\n", quoted(&h.name), h.from, h.to));
            if !h.adjusted_workdays.is_empty() {
                let days: Vec<String> = h.adjusted_workdays.iter().map(|d| format!("\"{d}\"")).collect();
                out.push_str(&format!("adjusted_workdays = [{}]\n", days.join(", ")));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str, from: &str, to: &str, workdays: &str) -> HolidayRow {
        HolidayRow { name: name.into(), from: from.into(), to: to.into(), workdays: workdays.into() }
    }

    fn entry(rows: Vec<HolidayRow>) -> YearEntry {
        YearEntry { year: "2027".into(), source: "国务院办公厅关于2027年部分节假日安排的通知".into(), rows }
    }

    #[test]
    fn law_wd_a_good_form_round_trips_through_the_file_format() {
        let e = entry(vec![
            row("元旦", "2027-01-01", "2027-01-03", ""),
            row("春节", "2027-02-06", "2027-02-13", "2027-01-31，2027-02-20"),
            HolidayRow::default(),
            row("清明节", "", "", ""),
            row("劳动节", "2027-05-01", "2027-05-05", "2027-04-25 2027-05-08"),
        ]);
        let y = e.check().unwrap();
        assert_eq!(y.year, 2027);
        assert_eq!(y.holidays.len(), 3);
        let text = y.to_toml();
        assert_eq!(Year::parse("form", &text).unwrap(), y, "{text}");
    }

    #[test]
    fn law_wd_form_refusals_name_the_row() {
        let check = |rows| entry(rows).check().unwrap_err().join("\n");
        let e = check(vec![row("元旦", "2026-12-31", "2027-01-02", "")]);
        assert!(e.contains("第 1 行") && e.contains("不在 2027 年内"), "{e}");
        let e = check(vec![row("元旦", "2027-01-03", "2027-01-01", "")]);
        assert!(e.contains("早于"), "{e}");
        let e = check(vec![row("元旦", "2027-1-1", "2027-01-01", "")]);
        assert!(e.contains("不是有效日期"), "{e}");
        let e = check(vec![row("元旦", "2027-01-01", "2027-01-03", ""), row("春节", "2027-01-03", "2027-01-09", "")]);
        assert!(e.contains("第 1 行与第 2 行的放假日期重叠"), "{e}");
        // 2027-02-08 is a Monday.
        let e = check(vec![row("春节", "2027-02-06", "2027-02-13", "2027-02-15")]);
        assert!(e.contains("星期一") && e.contains("本来就是工作日"), "{e}");
        let e = check(vec![row("春节", "2027-02-06", "2027-02-13", "2027-02-07")]);
        assert!(e.contains("落在第 1 行“春节”的放假期间内"), "{e}");
        let e = check(vec![row("", "2027-02-06", "2027-02-13", "")]);
        assert!(e.contains("请填写节日名称"), "{e}");
        let e = check(vec![row("春节", "2027-01-01", "2027-03-01", "")]);
        assert!(e.contains("不超过 16 天"), "{e}");
        let e = check(vec![HolidayRow::default()]);
        assert!(e.contains("至少填写一个节日"), "{e}");
        let e = check(vec![row("元旦", "2027-01-01", "2027-01-01", "2027-01-09"), row("春节", "2027-02-06", "2027-02-13", "2027-01-09")]);
        assert!(e.contains("同一个调休上班日"), "{e}");
        let mut bad = entry(vec![row("元旦", "2027-01-01", "2027-01-01", "")]);
        bad.year = "二〇二七".into();
        bad.source = " ".into();
        let e = bad.check().unwrap_err().join("\n");
        assert!(e.contains("年份") && e.contains("通知名称"), "{e}");
    }

    #[test]
    fn names_with_quotes_survive_the_file_format() {
        let y = entry(vec![row("“元旦\"\\", "2027-01-01", "2027-01-01", "")]).check().unwrap();
        assert_eq!(Year::parse("form", &y.to_toml()).unwrap(), y);
    }
}
