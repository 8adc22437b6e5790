//! The Chinese working-day calendar (LAW-WD): which civil dates are statutory holidays, rest days
//! or State Council adjusted working days. The data is ours, one file per year under `calendars/`;
//! a year that is not loaded is reported as missing, never guessed.

use std::collections::BTreeMap;

use jiff::civil::{Date, Weekday};
use serde::Deserialize;

use crate::spanned::{LoadError, line_of};

/// The calendars that ship with the product, from `calendars/`.
pub const SHIPPED: &[(&str, &str)] = &[
    ("calendars/2025.toml", include_str!("../../../calendars/2025.toml")),
    ("calendars/2026.toml", include_str!("../../../calendars/2026.toml")),
];

/// One named holiday: the days off and the weekend days worked in exchange.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holiday {
    pub name: String,
    pub from: Date,
    pub to: Date,
    pub adjusted_workdays: Vec<Date>,
}

/// One year's official arrangement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Year {
    pub year: i16,
    /// The notice the data comes from.
    pub source: String,
    pub holidays: Vec<Holiday>,
}

/// A set of loaded years. Answers "is this a working day" only for loaded years.
#[derive(Debug, Clone, Default)]
pub struct Calendar {
    years: BTreeMap<i16, Year>,
    days_off: BTreeMap<Date, String>,
    /// Adjusted working days, with the holiday they were worked for.
    workdays: BTreeMap<Date, String>,
}

/// The answer to a question about a year that has no calendar loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{0} 年节假日安排未载入")]
pub struct MissingYear(pub i16);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawYear {
    year: toml::Spanned<i16>,
    source: String,
    #[serde(default)]
    holidays: Vec<RawHoliday>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHoliday {
    name: String,
    from: toml::Spanned<String>,
    to: toml::Spanned<String>,
    #[serde(default)]
    adjusted_workdays: Vec<toml::Spanned<String>>,
}

impl Year {
    /// Parses and validates one year file. Every problem is reported with its line.
    pub fn parse(file: &str, text: &str) -> Result<Year, Vec<LoadError>> {
        let raw: RawYear = toml::from_str(text).map_err(|e| vec![LoadError::from_toml(file, text, &e)])?;
        let mut errors = Vec::new();
        let year = *raw.year.get_ref();
        let date = |s: &toml::Spanned<String>, what: &str, errors: &mut Vec<LoadError>| -> Option<Date> {
            let line = line_of(text, s.span().start);
            match s.get_ref().parse::<Date>() {
                Ok(d) if d.year() == year => Some(d),
                Ok(_) => {
                    errors.push(LoadError::new(file, line, format!("{what} {} is not in year {year}", s.get_ref())));
                    None
                }
                Err(_) => {
                    errors.push(LoadError::new(file, line, format!("{what} {:?} is not a date (YYYY-MM-DD)", s.get_ref())));
                    None
                }
            }
        };
        let mut holidays = Vec::new();
        for h in &raw.holidays {
            let from = date(&h.from, "from", &mut errors);
            let to = date(&h.to, "to", &mut errors);
            let adjusted: Vec<Option<Date>> = h.adjusted_workdays.iter().map(|d| date(d, "adjusted workday", &mut errors)).collect();
            if let (Some(from), Some(to)) = (from, to) {
                if to < from {
                    errors.push(LoadError::new(
                        file,
                        line_of(text, h.to.span().start),
                        format!("holiday {} ends before it starts", h.name),
                    ));
                }
                let adjusted_workdays: Vec<Date> = adjusted.into_iter().flatten().collect();
                for (d, raw_d) in adjusted_workdays.iter().zip(&h.adjusted_workdays) {
                    if *d >= from && *d <= to {
                        errors.push(LoadError::new(
                            file,
                            line_of(text, raw_d.span().start),
                            format!("adjusted workday {d} lies inside the holiday {}", h.name),
                        ));
                    }
                }
                holidays.push(Holiday { name: h.name.clone(), from, to, adjusted_workdays });
            }
        }
        if errors.is_empty() { Ok(Year { year, source: raw.source, holidays }) } else { Err(errors) }
    }
}

impl Calendar {
    /// The calendar with every shipped year loaded.
    pub fn shipped() -> Calendar {
        let mut cal = Calendar::default();
        for (file, text) in SHIPPED {
            // The shipped files are compiled in and checked by `law_wd_shipped_2026_days`, so
            // this cannot fail at run time; no outside input reaches it.
            let year = Year::parse(file, text).unwrap_or_else(|e| panic!("shipped calendar {file} is invalid: {e:?}"));
            cal.insert(year);
        }
        cal
    }

    /// Adds (or replaces) one year.
    pub fn insert(&mut self, year: Year) {
        self.years.insert(year.year, year);
        self.days_off.clear();
        self.workdays.clear();
        for y in self.years.values() {
            for h in &y.holidays {
                let mut d = h.from;
                while d <= h.to {
                    self.days_off.insert(d, h.name.clone());
                    // A holiday may end on the last representable date (9999-12-31).
                    let Ok(next) = d.tomorrow() else { break };
                    d = next;
                }
                self.workdays.extend(h.adjusted_workdays.iter().map(|d| (*d, h.name.clone())));
            }
        }
    }

    /// The holiday an adjusted working day was worked for (e.g. 2026-09-20: 国庆节), if `d` is one.
    pub fn adjusted_for(&self, d: Date) -> Option<&str> {
        self.workdays.get(&d).map(String::as_str)
    }

    pub fn years(&self) -> impl Iterator<Item = &Year> {
        self.years.values()
    }

    pub fn has_year(&self, year: i16) -> bool {
        self.years.contains_key(&year)
    }

    /// LAW-WD: the next year, when `today` (China date) is on or after 1 November and that
    /// year is not loaded. The State Council publishes the next year's arrangement around then,
    /// and any deadline running into a missing year cannot be computed (无法确定).
    pub fn next_year_missing(&self, today: Date) -> Option<i16> {
        let next = today.year().checked_add(1)?;
        (today.month() >= 11 && !self.has_year(next)).then_some(next)
    }

    /// What kind of day `d` is, for a loaded year.
    pub fn day(&self, d: Date) -> Result<DayKind, MissingYear> {
        if !self.has_year(d.year()) {
            return Err(MissingYear(d.year()));
        }
        if self.workdays.contains_key(&d) {
            return Ok(DayKind::AdjustedWorkday);
        }
        if let Some(name) = self.days_off.get(&d) {
            return Ok(DayKind::Holiday(name.clone()));
        }
        Ok(match d.weekday() {
            Weekday::Saturday | Weekday::Sunday => DayKind::RestDay,
            _ => DayKind::Workday,
        })
    }

    /// LAW-WD: true when `d` is a working day.
    pub fn is_working_day(&self, d: Date) -> Result<bool, MissingYear> {
        Ok(self.day(d)?.is_working())
    }
}

/// The kind of a civil date under LAW-WD.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DayKind {
    Workday,
    /// A weekend day worked in exchange for a holiday (调休上班日).
    AdjustedWorkday,
    /// A statutory holiday (the holiday's name).
    Holiday(String),
    /// An ordinary Saturday or Sunday.
    RestDay,
}

impl DayKind {
    pub fn is_working(&self) -> bool {
        matches!(self, DayKind::Workday | DayKind::AdjustedWorkday)
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn law_wd_next_year_missing_from_1_november() {
        let cal = Calendar::shipped();
        let last = cal.years().map(|y| y.year).max().unwrap();
        let d = |y: i16, m: i8, day: i8| jiff::civil::date(y, m, day);
        assert_eq!(cal.next_year_missing(d(last, 10, 31)), None, "not before November");
        assert_eq!(cal.next_year_missing(d(last, 11, 1)), Some(last + 1));
        assert_eq!(cal.next_year_missing(d(last, 12, 31)), Some(last + 1));
        // A year whose next year is loaded gives no warning.
        assert!(cal.has_year(last - 1));
        assert_eq!(cal.next_year_missing(d(last - 1, 11, 1)), None);
    }

    use super::*;
    use jiff::civil::date;

    #[test]
    fn law_wd_shipped_2026_days() {
        let cal = Calendar::shipped();
        assert_eq!(cal.day(date(2026, 10, 1)), Ok(DayKind::Holiday("国庆节".into())));
        assert_eq!(cal.day(date(2026, 10, 10)), Ok(DayKind::AdjustedWorkday));
        assert_eq!(cal.day(date(2026, 10, 11)), Ok(DayKind::RestDay));
        assert_eq!(cal.day(date(2026, 10, 12)), Ok(DayKind::Workday));
        assert_eq!(cal.day(date(2025, 1, 26)), Ok(DayKind::AdjustedWorkday));
        assert_eq!(cal.day(date(2027, 1, 4)), Err(MissingYear(2027)));
    }

    /// LAW-WD data: the State Council's notice for 2026 lists 9月20日（周日）under 国庆节 ("国庆节：
    /// 10月1日至7日放假调休，共7天。9月20日（周日）、10月10日（周六）上班"), not under 中秋节.
    #[test]
    fn law_wd_2026_adjusted_workdays_follow_the_notice() {
        let year = Year::parse(SHIPPED[1].0, SHIPPED[1].1).unwrap();
        let owner = |d: Date| year.holidays.iter().find(|h| h.adjusted_workdays.contains(&d)).map(|h| h.name.as_str());
        assert_eq!(owner(date(2026, 9, 20)), Some("国庆节"));
        assert_eq!(owner(date(2026, 10, 10)), Some("国庆节"));
        let mid_autumn = year.holidays.iter().find(|h| h.name == "中秋节").unwrap();
        assert!(mid_autumn.adjusted_workdays.is_empty());
        assert_eq!(Calendar::shipped().day(date(2026, 9, 20)), Ok(DayKind::AdjustedWorkday));
    }

    /// LAW-WD at the end of the calendar: a loaded year 9999 whose holiday ends on 9999-12-31
    /// loads without panicking, and its last day answers.
    #[test]
    fn law_wd_holiday_on_last_representable_day() {
        let text = "year = 9999\nsource = \"x\"\n[[holidays]]\nname = \"末日\"\nfrom = \"9999-12-30\"\nto = \"9999-12-31\"\n";
        let mut cal = Calendar::shipped();
        cal.insert(Year::parse("9999.toml", text).unwrap());
        assert_eq!(cal.day(Date::MAX), Ok(DayKind::Holiday("末日".into())));
        assert_eq!(cal.day(Date::MIN), Err(MissingYear(-9999)));
    }

    #[test]
    fn invalid_year_reports_lines() {
        let text = "year = 2026\nsource = \"x\"\n[[holidays]]\nname = \"a\"\nfrom = \"2026-13-01\"\nto = \"2025-01-01\"\n";
        let errs = Year::parse("bad.toml", text).unwrap_err();
        assert_eq!(errs.len(), 2, "{errs:?}");
        assert_eq!(errs[0].line, 5);
        assert_eq!(errs[1].line, 6);
    }
}
