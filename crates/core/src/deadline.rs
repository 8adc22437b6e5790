//! Deadlines under Chinese law on time limits: a budget (number + unit) counted from a start date,
//! minus paused stretches, giving a due date that explains itself in Chinese.
//!
//! LAW-WD (working days skip holidays and rest days, count adjusted working days), LAW-START (the
//! start day is not counted), LAW-MONTH (months end on the corresponding day, or the month's last
//! day), LAW-HOLIDAY-END (a calendar period ending on a day off ends on the next working day),
//! LAW-SUSPEND (paused time does not count). A deadline that reaches into a year without calendar
//! data is reported as unknown, never guessed; one that leaves the range of representable dates
//! (years -9999 to 9999) is reported as out of range, never a panic. Not responsible for deciding
//! what a missed deadline means: that is the lifecycle's job.

use std::fmt;

use jiff::Span;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::calendar::{Calendar, DayKind, MissingYear};

/// The unit a time limit is counted in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    WorkingDays,
    CalendarDays,
    Months,
    Years,
}

impl Unit {
    pub fn zh(self) -> &'static str {
        match self {
            Unit::WorkingDays => "个工作日",
            Unit::CalendarDays => "日",
            Unit::Months => "个月",
            Unit::Years => "年",
        }
    }
}

/// A time limit: how much time, in which unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Budget {
    pub amount: u16,
    pub unit: Unit,
}

impl fmt::Display for Budget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.amount, self.unit.zh())
    }
}

/// A stretch in which the clock stood still: days after `from` up to and including `to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pause {
    pub from: Date,
    pub to: Date,
}

impl Pause {
    fn contains(&self, d: Date) -> bool {
        d > self.from && d <= self.to
    }
    fn days(&self) -> i64 {
        // `Date - Date` cannot fail: any two dates are at most 7,304,484 days apart, well inside
        // what a span holds.
        i64::from((self.to - self.from).get_days().max(0))
    }
}

/// Date arithmetic from `start` left the range of dates that can be represented (years -9999 to
/// 9999), e.g. a period counted from 9999-12-25. A refusal to compute, never a guess.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("date arithmetic from {start} leaves the range of representable dates")]
pub struct OutOfRange {
    pub start: Date,
}

impl OutOfRange {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        "date_out_of_range"
    }

    /// Plain Chinese for people.
    pub fn message_zh(&self) -> String {
        format!("自 {} 起算的期限超出可计算的日期范围（{} 至 {}），请核对日期和期限。", self.start, Date::MIN, Date::MAX)
    }
}

/// Why a computation stopped without a date.
enum Stop {
    Missing(MissingYear),
    OutOfRange,
}

impl From<MissingYear> for Stop {
    fn from(m: MissingYear) -> Stop {
        Stop::Missing(m)
    }
}

/// `amount` of `unit` as a span; `None` when the span itself cannot be represented (e.g. more
/// than 19,998 years), which only happens for periods that leave the date range anyway.
fn span(amount: i64, unit: Unit) -> Option<Span> {
    match unit {
        Unit::WorkingDays | Unit::CalendarDays => Span::new().try_days(amount),
        Unit::Months => Span::new().try_months(amount),
        Unit::Years => Span::new().try_years(amount),
    }
    .ok()
}

/// `start` plus `amount` of `unit` (LAW-MONTH clamping for months and years); `None` outside
/// the date range.
fn add(start: Date, amount: i64, unit: Unit) -> Option<Date> {
    start.checked_add(span(amount, unit)?).ok()
}

/// A computed due date with its reasons.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Due {
    /// The last day of the period (it ends at 24:00 of this day); `None` when a needed year of
    /// the calendar is missing.
    pub due: Option<Date>,
    /// Set when the calendar of a year the period reaches into is not loaded.
    pub missing_year: Option<i16>,
    /// Set when the period ends beyond the last representable date (9999-12-31).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub out_of_range: bool,
    /// Each step of the computation, in Chinese.
    pub explanation: Vec<String>,
}

/// Computes when a period of `budget` starting on `start` ends.
pub fn compute(start: Date, budget: Budget, pauses: &[Pause], cal: &Calendar) -> Due {
    let mut lines = vec![format!("自 {start} 起算 {budget}，起算日当日不计入（LAW-START）")];
    let result = match budget.unit {
        Unit::WorkingDays => count_working_days(start, budget.amount, pauses, cal, &mut lines),
        Unit::CalendarDays | Unit::Months | Unit::Years => calendar_period(start, budget, pauses, cal, &mut lines),
    };
    match result {
        Ok(due) => {
            lines.push(format!("截止 {due} 24:00"));
            Due { due: Some(due), missing_year: None, out_of_range: false, explanation: lines }
        }
        Err(Stop::Missing(MissingYear(y))) => {
            lines.push(format!("{y} 年节假日安排未载入，无法确定截止日期（不作推测）"));
            Due { due: None, missing_year: Some(y), out_of_range: false, explanation: lines }
        }
        Err(Stop::OutOfRange) => {
            lines.push(OutOfRange { start }.message_zh());
            Due { due: None, missing_year: None, out_of_range: true, explanation: lines }
        }
    }
}

fn count_working_days(start: Date, n: u16, pauses: &[Pause], cal: &Calendar, lines: &mut Vec<String>) -> Result<Date, Stop> {
    let mut d = start;
    let mut counted = 0;
    let mut skipped: Vec<(String, Date, Date)> = Vec::new();
    let mut paused_days = 0;
    while counted < n {
        d = d.tomorrow().map_err(|_| Stop::OutOfRange)?;
        if pauses.iter().any(|p| p.contains(d)) {
            paused_days += 1;
            continue;
        }
        match cal.day(d)? {
            DayKind::Workday => counted += 1,
            DayKind::AdjustedWorkday => {
                counted += 1;
                let holiday = cal.adjusted_for(d).unwrap_or_default();
                lines.push(format!("{d} 为{holiday}调休上班日，计为工作日（LAW-WD）"));
            }
            DayKind::Holiday(name) => match skipped.last_mut() {
                Some((last, _, to)) if *last == name && to.tomorrow().ok() == Some(d) => *to = d,
                _ => skipped.push((name, d, d)),
            },
            DayKind::RestDay => {}
        }
    }
    for (name, from, to) in skipped {
        lines.push(format!("跳过{name}假期 {from} 至 {to}（LAW-WD）"));
    }
    if paused_days > 0 {
        lines.push(format!("暂停计时 {paused_days} 日不计入（LAW-SUSPEND）"));
    }
    Ok(d)
}

fn calendar_period(start: Date, budget: Budget, pauses: &[Pause], cal: &Calendar, lines: &mut Vec<String>) -> Result<Date, Stop> {
    let mut end = add(start, i64::from(budget.amount), budget.unit).ok_or(Stop::OutOfRange)?;
    if matches!(budget.unit, Unit::Months | Unit::Years) {
        lines.push(format!("期间届满于对应日 {end}；无对应日的，以该月最后一日为准（LAW-MONTH）"));
    }
    let paused: i64 = pauses.iter().map(Pause::days).fold(0, i64::saturating_add);
    if paused > 0 {
        end = add(end, paused, Unit::CalendarDays).ok_or(Stop::OutOfRange)?;
        lines.push(format!("暂停计时 {paused} 日，期间顺延至 {end}（LAW-SUSPEND）"));
    }
    let nominal = end;
    while !cal.is_working_day(end)? {
        end = end.tomorrow().map_err(|_| Stop::OutOfRange)?;
    }
    if end != nominal {
        let what = match cal.day(nominal)? {
            DayKind::Holiday(name) => format!("{name}假期"),
            _ => "休息日".to_owned(),
        };
        lines.push(format!("{nominal} 为{what}，期间顺延至其后第一个工作日 {end}（LAW-HOLIDAY-END）"));
    }
    Ok(end)
}

/// The last day of a period of `budget` counted from `start` (LAW-START: the start day is not
/// counted; LAW-MONTH: months and years end on the corresponding day, or the month's last day),
/// without holiday extension: the last day a wait or a ban covers. A 1-year ban imposed on
/// 2026-07-08 covers 2027-07-08 (民法典 arts. 201–202). Working days count as calendar days here.
pub fn checked_period_end(start: Date, budget: Budget) -> Result<Date, OutOfRange> {
    add(start, i64::from(budget.amount), budget.unit).ok_or(OutOfRange { start })
}

/// [`checked_period_end`], saturating at the last representable date (9999-12-31).
pub fn period_end(start: Date, budget: Budget) -> Date {
    checked_period_end(start, budget).unwrap_or(Date::MAX)
}

/// The first day on which something that must wait `budget` after `start` may happen (e.g.
/// re-evaluation three months after a failure is served; a new application after a ban): the day
/// after the period ends on its corresponding day (民法典 arts. 201–202; LAW-START, LAW-MONTH). A
/// failure served 2026-03-02 may be re-evaluated from 2026-06-03; a 1-year ban imposed 2026-07-08
/// lets the institution apply again from 2027-07-09.
pub fn checked_earliest(start: Date, budget: Budget) -> Result<Date, OutOfRange> {
    checked_period_end(start, budget)?.tomorrow().map_err(|_| OutOfRange { start })
}

/// [`checked_earliest`], saturating at the last representable date (9999-12-31) instead of
/// failing: for a wait or a ban that reaches past it, "not before the end of the calendar" is
/// the closest true answer. Prefer `checked_earliest` where a refusal can be shown.
pub fn earliest(start: Date, budget: Budget) -> Date {
    checked_earliest(start, budget).unwrap_or(Date::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn wd(n: u16) -> Budget {
        Budget { amount: n, unit: Unit::WorkingDays }
    }

    #[test]
    fn law_wd_skips_national_day_and_counts_adjusted_workday() {
        let due = compute(date(2026, 9, 30), wd(5), &[], &Calendar::shipped());
        // 10-08, 10-09, 10-10 (adjusted), 10-12, 10-13.
        assert_eq!(due.due, Some(date(2026, 10, 13)));
        let text = due.explanation.join("\n");
        assert!(text.contains("跳过国庆节假期 2026-10-01 至 2026-10-07"), "{text}");
        assert!(text.contains("2026-10-10 为国庆节调休上班日"), "{text}");
    }

    #[test]
    fn law_start_start_day_not_counted() {
        // Monday 2026-11-23 + 1 working day = Tuesday.
        let due = compute(date(2026, 11, 23), wd(1), &[], &Calendar::shipped());
        assert_eq!(due.due, Some(date(2026, 11, 24)));
    }

    #[test]
    fn law_month_clamps_to_last_day() {
        let b = Budget { amount: 3, unit: Unit::Months };
        // 2025-11-30 + 3 months = 2026-02-28 (a Saturday, adjusted workday in 2026).
        assert_eq!(compute(date(2025, 11, 30), b, &[], &Calendar::shipped()).due, Some(date(2026, 2, 28)));
        assert_eq!(period_end(date(2026, 11, 30), b), date(2027, 2, 28));
        assert_eq!(earliest(date(2026, 11, 30), b), date(2027, 3, 1));
    }

    #[test]
    fn law_holiday_end_extends_calendar_period() {
        // 10 days from 2026-09-21 end on 2026-10-01, inside National Day: extend to 10-08.
        let b = Budget { amount: 10, unit: Unit::CalendarDays };
        let due = compute(date(2026, 9, 21), b, &[], &Calendar::shipped());
        assert_eq!(due.due, Some(date(2026, 10, 8)));
        assert!(due.explanation.iter().any(|l| l.contains("LAW-HOLIDAY-END")));
    }

    #[test]
    fn law_suspend_moves_deadline_by_pause() {
        let b = Budget { amount: 3, unit: Unit::Months };
        let pauses = [Pause { from: date(2026, 3, 2), to: date(2026, 3, 9) }];
        let due = compute(date(2026, 3, 2), b, &pauses, &Calendar::shipped());
        // 2026-06-02 + 7 days = 2026-06-09 (Tuesday).
        assert_eq!(due.due, Some(date(2026, 6, 9)));
        let wd_due = compute(date(2026, 11, 2), wd(5), &[Pause { from: date(2026, 11, 3), to: date(2026, 11, 5) }], &Calendar::shipped());
        // 11-03 counted, 11-04..11-05 paused, then 11-06, 11-09, 11-10, 11-11.
        assert_eq!(wd_due.due, Some(date(2026, 11, 11)));
    }

    #[test]
    fn missing_year_is_flagged_not_guessed() {
        let due = compute(date(2026, 12, 28), wd(10), &[], &Calendar::shipped());
        assert_eq!(due.due, None);
        assert_eq!(due.missing_year, Some(2027));
        assert!(due.explanation.last().unwrap().contains("2027 年节假日安排未载入"));
    }

    /// LAW-START at the end of the calendar: 10 days from 9999-12-25 end after 9999-12-31, so
    /// the computation refuses with a reason instead of panicking (`dingdian calendar due
    /// 9999-12-25 10 d` used to abort).
    #[test]
    fn law_start_period_past_year_9999_is_out_of_range() {
        let b = Budget { amount: 10, unit: Unit::CalendarDays };
        let due = compute(date(9999, 12, 25), b, &[], &Calendar::shipped());
        assert_eq!((due.due, due.missing_year, due.out_of_range), (None, None, true));
        let last = due.explanation.last().unwrap();
        assert!(last.contains("超出可计算的日期范围"), "{last}");
        // Working days from the last date: out of range before any calendar lookup.
        let due = compute(Date::MAX, wd(1), &[], &Calendar::shipped());
        assert_eq!((due.due, due.out_of_range), (None, true));
        // More years than a span can hold.
        let b = Budget { amount: u16::MAX, unit: Unit::Years };
        assert!(compute(date(1, 1, 1), b, &[], &Calendar::shipped()).out_of_range);
    }

    /// LAW-MONTH near the end of the calendar: operating since 9999-12-01, six months later is
    /// not a representable date; `checked_earliest` says so, `earliest` saturates (this used to
    /// panic and drop the connection of the application page).
    #[test]
    fn law_month_earliest_past_year_9999_is_out_of_range() {
        let b = Budget { amount: 6, unit: Unit::Months };
        let err = checked_earliest(date(9999, 12, 1), b).unwrap_err();
        assert_eq!(err.code(), "date_out_of_range");
        assert!(err.message_zh().contains("9999-12-01"), "{}", err.message_zh());
        assert_eq!(earliest(date(9999, 12, 1), b), Date::MAX);
        assert_eq!(checked_earliest(date(9999, 6, 30), b), Ok(date(9999, 12, 31)));
        assert_eq!(checked_period_end(date(9999, 6, 30), b), Ok(date(9999, 12, 30)));
        // The period ends on the last representable day: no day after it to permit.
        assert!(checked_earliest(date(9999, 6, 30), Budget { amount: 6, unit: Unit::Months }).is_ok());
        assert!(checked_earliest(date(9999, 7, 31), b).is_err());
    }

    /// LAW-SUSPEND with absurd pauses: the sum of many pauses spanning the whole calendar does
    /// not overflow; the deadline is out of range.
    #[test]
    fn law_suspend_huge_pauses_are_out_of_range() {
        let b = Budget { amount: 1, unit: Unit::CalendarDays };
        let pauses = vec![Pause { from: Date::MIN, to: Date::MAX }; 400];
        let due = compute(date(2026, 1, 5), b, &pauses, &Calendar::shipped());
        assert_eq!((due.due, due.out_of_range), (None, true));
    }
}
