//! Deadlines under Chinese law on time limits: a budget (number + unit) counted from a start date,
//! minus paused stretches, giving a due date that explains itself in Chinese.
//!
//! LAW-WD (working days skip holidays and rest days, count adjusted working days), LAW-START (the
//! start day is not counted), LAW-MONTH (months end on the corresponding day, or the month's last
//! day), LAW-HOLIDAY-END (a calendar period ending on a day off ends on the next working day),
//! LAW-SUSPEND (paused time does not count). A deadline that reaches into a year without calendar
//! data is reported as unknown, never guessed.

use std::fmt;

use jiff::ToSpan;
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
    fn days(&self) -> i32 {
        (self.to - self.from).get_days().max(0)
    }
}

/// A computed due date with its reasons.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Due {
    /// The last day of the period (it ends at 24:00 of this day); `None` when a needed year of
    /// the calendar is missing.
    pub due: Option<Date>,
    /// Set when the calendar of a year the period reaches into is not loaded.
    pub missing_year: Option<i16>,
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
            Due { due: Some(due), missing_year: None, explanation: lines }
        }
        Err(MissingYear(y)) => {
            lines.push(format!("{y} 年节假日安排未载入，无法确定截止日期（不作推测）"));
            Due { due: None, missing_year: Some(y), explanation: lines }
        }
    }
}

fn count_working_days(start: Date, n: u16, pauses: &[Pause], cal: &Calendar, lines: &mut Vec<String>) -> Result<Date, MissingYear> {
    let mut d = start;
    let mut counted = 0;
    let mut skipped: Vec<(String, Date, Date)> = Vec::new();
    let mut paused_days = 0;
    while counted < n {
        d = d.tomorrow().expect("date in range");
        if pauses.iter().any(|p| p.contains(d)) {
            paused_days += 1;
            continue;
        }
        match cal.day(d)? {
            DayKind::Workday => counted += 1,
            DayKind::AdjustedWorkday => {
                counted += 1;
                lines.push(format!("{d} 为调休上班日，计为工作日（LAW-WD）"));
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

fn calendar_period(start: Date, budget: Budget, pauses: &[Pause], cal: &Calendar, lines: &mut Vec<String>) -> Result<Date, MissingYear> {
    let amount = i64::from(budget.amount);
    let mut end = match budget.unit {
        Unit::CalendarDays => start.checked_add(amount.days()),
        Unit::Months => start.checked_add(amount.months()),
        _ => start.checked_add(amount.years()),
    }
    .expect("date in range");
    if matches!(budget.unit, Unit::Months | Unit::Years) {
        lines.push(format!("期间届满于对应日 {end}；无对应日的，以该月最后一日为准（LAW-MONTH）"));
    }
    let paused: i32 = pauses.iter().map(Pause::days).sum();
    if paused > 0 {
        end = end.checked_add(i64::from(paused).days()).expect("date in range");
        lines.push(format!("暂停计时 {paused} 日，期间顺延至 {end}（LAW-SUSPEND）"));
    }
    let nominal = end;
    while !cal.is_working_day(end)? {
        end = end.tomorrow().expect("date in range");
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

/// The first day on which something that must wait `budget` after `start` may happen (e.g.
/// re-evaluation three months after a failure is served; the end of a ban). Counted as a calendar
/// period without holiday extension: the day the period reaches is the first permitted day.
pub fn earliest(start: Date, budget: Budget) -> Date {
    let amount = i64::from(budget.amount);
    match budget.unit {
        Unit::WorkingDays | Unit::CalendarDays => start.checked_add(amount.days()),
        Unit::Months => start.checked_add(amount.months()),
        Unit::Years => start.checked_add(amount.years()),
    }
    .expect("date in range")
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
        assert!(text.contains("2026-10-10 为调休上班日"), "{text}");
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
        assert_eq!(earliest(date(2026, 11, 30), b), date(2027, 2, 28));
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
}
