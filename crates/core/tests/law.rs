//! Integration tests of legal time (SPEC.md §5): LAW-WD, LAW-START, LAW-MONTH, LAW-HOLIDAY-END,
//! LAW-SUSPEND, and the self-explaining deadline of G-CLOCKS.
//!
//! The holiday table below is written independently from the State Council notices (as summarised
//! in STACK.md), NOT read from `calendars/`, so that a wrong data file is caught. The property tests
//! compare the crate's `deadline::compute` with a small model written here that never calls the
//! crate's deadline code.

use dingdian_core::calendar::{Calendar, DayKind, MissingYear};
use dingdian_core::deadline::{self, Budget, Due, Pause, Unit};
use jiff::ToSpan;
use jiff::civil::{Date, Weekday, date};
use proptest::prelude::*;

// ---------------------------------------------------------------------------------------------
// Independent model
// ---------------------------------------------------------------------------------------------

/// A civil date as (year, month, day).
type Ymd = (i16, i8, i8);

/// Days off (inclusive ranges), 2025 and 2026, from the State Council notices.
const HOLIDAYS: &[(Ymd, Ymd)] = &[
    // 2025
    ((2025, 1, 1), (2025, 1, 1)),
    ((2025, 1, 28), (2025, 2, 4)),
    ((2025, 4, 4), (2025, 4, 6)),
    ((2025, 5, 1), (2025, 5, 5)),
    ((2025, 5, 31), (2025, 6, 2)),
    ((2025, 10, 1), (2025, 10, 8)),
    // 2026
    ((2026, 1, 1), (2026, 1, 3)),
    ((2026, 2, 15), (2026, 2, 23)),
    ((2026, 4, 4), (2026, 4, 6)),
    ((2026, 5, 1), (2026, 5, 5)),
    ((2026, 6, 19), (2026, 6, 21)),
    ((2026, 9, 25), (2026, 9, 27)),
    ((2026, 10, 1), (2026, 10, 7)),
];

/// Adjusted working days (调休上班日), 2025 and 2026.
const ADJUSTED: &[Ymd] = &[
    (2025, 1, 26),
    (2025, 2, 8),
    (2025, 4, 27),
    (2025, 9, 28),
    (2025, 10, 11),
    (2026, 1, 4),
    (2026, 2, 14),
    (2026, 2, 28),
    (2026, 5, 9),
    (2026, 9, 20),
    (2026, 10, 10),
];

fn d3((y, m, d): Ymd) -> Date {
    date(y, m, d)
}

fn next(d: Date) -> Date {
    d.tomorrow().unwrap()
}

/// Every holiday day, expanded from the ranges.
fn holiday_days() -> Vec<Date> {
    let mut out = Vec::new();
    for &(from, to) in HOLIDAYS {
        let (from, to) = (d3(from), d3(to));
        let mut d = from;
        while d <= to {
            out.push(d);
            d = next(d);
        }
    }
    out
}

fn adjusted_days() -> Vec<Date> {
    ADJUSTED.iter().copied().map(d3).collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Work,
    Adjusted,
    Holiday,
    Rest,
}

fn is_weekend(d: Date) -> bool {
    matches!(d.weekday(), Weekday::Saturday | Weekday::Sunday)
}

/// The model's kind of day; `Err(year)` outside 2025–2026 (no calendar).
fn model_kind(d: Date) -> Result<Kind, i16> {
    if !(2025..=2026).contains(&d.year()) {
        return Err(d.year());
    }
    if ADJUSTED.iter().any(|&a| d3(a) == d) {
        return Ok(Kind::Adjusted);
    }
    if HOLIDAYS.iter().any(|&(f, t)| d3(f) <= d && d <= d3(t)) {
        return Ok(Kind::Holiday);
    }
    Ok(if is_weekend(d) { Kind::Rest } else { Kind::Work })
}

fn model_working(d: Date) -> Result<bool, i16> {
    model_kind(d).map(|k| matches!(k, Kind::Work | Kind::Adjusted))
}

/// LAW-WD + LAW-START + LAW-SUSPEND model: step day by day from start+1, skipping paused days
/// (after `from`, up to and including `to`), counting working days.
fn model_wd(start: Date, n: u16, pauses: &[(Date, Date)]) -> Result<Date, i16> {
    let mut d = start;
    let mut counted = 0;
    while counted < n {
        d = next(d);
        if pauses.iter().any(|&(f, t)| d > f && d <= t) {
            continue;
        }
        if model_working(d)? {
            counted += 1;
        }
    }
    Ok(d)
}

/// LAW-START + LAW-HOLIDAY-END model for calendar days: start + n days, then advance while not a
/// working day.
fn model_cd(start: Date, n: u16) -> Result<Date, i16> {
    let mut d = start;
    for _ in 0..n {
        d = next(d);
    }
    while !model_working(d)? {
        d = next(d);
    }
    Ok(d)
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

fn wd(n: u16) -> Budget {
    Budget { amount: n, unit: Unit::WorkingDays }
}

fn cd(n: u16) -> Budget {
    Budget { amount: n, unit: Unit::CalendarDays }
}

fn months(n: u16) -> Budget {
    Budget { amount: n, unit: Unit::Months }
}

fn due(start: Date, budget: Budget) -> Due {
    deadline::compute(start, budget, &[], &Calendar::shipped())
}

fn due_date(start: Date, budget: Budget) -> Option<Date> {
    due(start, budget).due
}

fn day_at(base: Date, offset: i32) -> Date {
    base.checked_add(offset.days()).unwrap()
}

fn days_between(a: Date, b: Date) -> i32 {
    let mut n = 0;
    let mut d = a;
    while d < b {
        d = next(d);
        n += 1;
    }
    n
}

// ---------------------------------------------------------------------------------------------
// 1. LAW-WD: the shipped calendar, day by day
// ---------------------------------------------------------------------------------------------

/// LAW-WD: the independent table itself has the expected size (guards against typos in it).
#[test]
fn law_wd_model_table_sizes() {
    let h = holiday_days();
    assert_eq!(h.iter().filter(|d| d.year() == 2025).count(), 1 + 8 + 3 + 5 + 3 + 8);
    assert_eq!(h.iter().filter(|d| d.year() == 2026).count(), 3 + 9 + 3 + 5 + 3 + 3 + 7);
    // Every adjusted working day is a weekend day outside any holiday.
    for a in adjusted_days() {
        assert!(is_weekend(a), "{a} should be a weekend day");
        assert!(!h.contains(&a), "{a} is both a holiday and an adjusted day");
    }
}

/// LAW-WD: every holiday day of 2025 and 2026 is `DayKind::Holiday` in the shipped calendar.
#[test]
fn law_wd_every_holiday_day_is_holiday() {
    let cal = Calendar::shipped();
    for d in holiday_days() {
        match cal.day(d) {
            Ok(DayKind::Holiday(name)) => assert!(!name.is_empty(), "{d}: holiday without a name"),
            other => panic!("{d}: expected a holiday, got {other:?}"),
        }
        assert_eq!(cal.is_working_day(d), Ok(false), "{d}");
    }
}

/// LAW-WD: every adjusted working day of 2025 and 2026 is `DayKind::AdjustedWorkday` and counts as
/// a working day.
#[test]
fn law_wd_every_adjusted_day_is_adjusted_workday() {
    let cal = Calendar::shipped();
    for d in adjusted_days() {
        assert_eq!(cal.day(d), Ok(DayKind::AdjustedWorkday), "{d}");
        assert_eq!(cal.is_working_day(d), Ok(true), "{d}");
    }
}

/// LAW-WD: all 730 days of 2025–2026 agree with the model (kind and working/non-working); the
/// years around are reported missing.
#[test]
fn law_wd_sweep_730_days() {
    let cal = Calendar::shipped();
    let mut d = date(2025, 1, 1);
    let mut n = 0;
    while d.year() <= 2026 {
        let expected_working = (!is_weekend(d) && !holiday_days().contains(&d)) || adjusted_days().contains(&d);
        assert_eq!(cal.is_working_day(d), Ok(expected_working), "{d}");
        let kind = cal.day(d).unwrap();
        let same = matches!(
            (model_kind(d).unwrap(), &kind),
            (Kind::Work, DayKind::Workday)
                | (Kind::Adjusted, DayKind::AdjustedWorkday)
                | (Kind::Holiday, DayKind::Holiday(_))
                | (Kind::Rest, DayKind::RestDay)
        );
        assert!(same, "{d}: model {:?}, calendar {kind:?}", model_kind(d));
        d = next(d);
        n += 1;
    }
    assert_eq!(n, 730);
    assert_eq!(cal.day(date(2024, 12, 31)), Err(MissingYear(2024)));
    assert_eq!(cal.day(date(2027, 1, 1)), Err(MissingYear(2027)));
}

// ---------------------------------------------------------------------------------------------
// 2. LAW-MONTH
// ---------------------------------------------------------------------------------------------

/// LAW-MONTH: 3 months from 2025-11-30 end on 2026-02-28 (no 02-30); that Saturday is an adjusted
/// working day, so LAW-HOLIDAY-END does not extend it.
#[test]
fn law_month_three_months_from_nov_30_to_adjusted_saturday() {
    let r = due(date(2025, 11, 30), months(3));
    assert_eq!(r.due, Some(date(2026, 2, 28)), "{:?}", r.explanation);
    assert_eq!(r.missing_year, None);
    assert!(r.explanation.iter().any(|l| l.contains("LAW-MONTH")), "{:?}", r.explanation);
    assert!(!r.explanation.iter().any(|l| l.contains("LAW-HOLIDAY-END")), "{:?}", r.explanation);
}

/// LAW-MONTH: 1 month from 2024-01-31 reaches 2024, whose calendar is not loaded: flagged.
#[test]
fn law_month_from_2024_needs_missing_year() {
    let r = due(date(2024, 1, 31), months(1));
    assert_eq!(r.due, None);
    assert_eq!(r.missing_year, Some(2024));
}

/// LAW-MONTH: 1 month from 2025-01-31 → 2025-02-28 (a Friday); from 2026-01-31 → 2026-02-28
/// (an adjusted working day).
#[test]
fn law_month_january_31_clamps_to_february_end() {
    let r = due(date(2025, 1, 31), months(1));
    assert_eq!(r.due, Some(date(2025, 2, 28)), "{:?}", r.explanation);
    assert_eq!(date(2025, 2, 28).weekday(), Weekday::Friday);
    assert_eq!(due_date(date(2026, 1, 31), months(1)), Some(date(2026, 2, 28)));
}

/// LAW-MONTH: `period_end` needs no calendar; leap year 2024 ends on 02-29. The first permitted
/// day after a wait is the day after it ends (民法典 arts. 201–202).
#[test]
fn law_month_earliest_clamps_including_leap_year() {
    assert_eq!(deadline::period_end(date(2024, 1, 31), months(1)), date(2024, 2, 29));
    assert_eq!(deadline::period_end(date(2025, 1, 31), months(1)), date(2025, 2, 28));
    assert_eq!(deadline::earliest(date(2024, 1, 31), months(1)), date(2024, 3, 1));
    assert_eq!(deadline::earliest(date(2025, 1, 31), months(1)), date(2025, 3, 1));
}

/// LAW-MONTH with 民法典 arts. 201–202 (issue: periods end on the corresponding day): a 1-year
/// ban imposed 2026-07-08 covers 2027-07-08 and the first permitted day is 2027-07-09; the same
/// for the 3-month wait.
#[test]
fn law_month_period_covers_corresponding_day() {
    let years = |n| deadline::Budget { amount: n, unit: deadline::Unit::Years };
    assert_eq!(deadline::period_end(date(2026, 7, 8), years(1)), date(2027, 7, 8));
    assert_eq!(deadline::earliest(date(2026, 7, 8), years(1)), date(2027, 7, 9));
    assert_eq!(deadline::earliest(date(2026, 3, 2), months(3)), date(2026, 6, 3));
    assert_eq!(deadline::earliest(date(2024, 2, 29), years(1)), date(2025, 3, 1));
}

// ---------------------------------------------------------------------------------------------
// 3. LAW-HOLIDAY-END
// ---------------------------------------------------------------------------------------------

/// LAW-HOLIDAY-END: 10 days from 2026-09-21 end nominally on 2026-10-01 (国庆节) → 2026-10-08.
#[test]
fn law_holiday_end_national_day_2026() {
    let r = due(date(2026, 9, 21), cd(10));
    assert_eq!(r.due, Some(date(2026, 10, 8)), "{:?}", r.explanation);
    assert!(r.explanation.iter().any(|l| l.contains("LAW-HOLIDAY-END")), "{:?}", r.explanation);
}

/// LAW-HOLIDAY-END: 10 days from 2026-02-08 end nominally on 2026-02-18 (春节) → 2026-02-24.
#[test]
fn law_holiday_end_spring_festival_2026() {
    assert_eq!(due_date(date(2026, 2, 8), cd(10)), Some(date(2026, 2, 24)));
    // Nominal end on the first holiday day, 2026-02-15, too.
    assert_eq!(due_date(date(2026, 2, 5), cd(10)), Some(date(2026, 2, 24)));
}

/// LAW-HOLIDAY-END: a nominal end on an adjusted working day (Saturday 2026-10-10) does not extend.
#[test]
fn law_holiday_end_adjusted_workday_does_not_extend() {
    assert_eq!(date(2026, 10, 10).weekday(), Weekday::Saturday);
    let r = due(date(2026, 9, 30), cd(10));
    assert_eq!(r.due, Some(date(2026, 10, 10)), "{:?}", r.explanation);
    assert!(!r.explanation.iter().any(|l| l.contains("LAW-HOLIDAY-END")), "{:?}", r.explanation);
}

/// LAW-HOLIDAY-END: a nominal end on an ordinary Sunday (2026-05-31) extends to Monday.
#[test]
fn law_holiday_end_ordinary_sunday_extends_to_monday() {
    assert_eq!(date(2026, 5, 31).weekday(), Weekday::Sunday);
    assert_eq!(due_date(date(2026, 5, 21), cd(10)), Some(date(2026, 6, 1)));
}

// ---------------------------------------------------------------------------------------------
// 4. LAW-WD + LAW-START: working days
// ---------------------------------------------------------------------------------------------

/// LAW-WD: 5 working days from 2026-09-30: 10-08, 10-09, 10-10 (adjusted), 10-12, 10-13.
#[test]
fn law_wd_five_from_sep_30_2026() {
    assert_eq!(due_date(date(2026, 9, 30), wd(5)), Some(date(2026, 10, 13)));
}

/// LAW-START: the start day is not counted: 1 wd from Monday → Tuesday, from Friday → Monday.
#[test]
fn law_start_start_day_not_counted() {
    assert_eq!(date(2026, 11, 16).weekday(), Weekday::Monday);
    assert_eq!(due_date(date(2026, 11, 16), wd(1)), Some(date(2026, 11, 17)));
    assert_eq!(date(2026, 11, 20).weekday(), Weekday::Friday);
    assert_eq!(due_date(date(2026, 11, 20), wd(1)), Some(date(2026, 11, 23)));
    // Calendar days too: 1 day from Monday 2026-11-16 is Tuesday.
    assert_eq!(due_date(date(2026, 11, 16), cd(1)), Some(date(2026, 11, 17)));
}

/// LAW-WD + LAW-START: starting on a holiday counts from the first working day after it.
#[test]
fn law_wd_start_on_holiday() {
    assert_eq!(due_date(date(2025, 10, 1), wd(1)), Some(date(2025, 10, 9)));
    assert_eq!(due_date(date(2026, 10, 3), wd(1)), Some(date(2026, 10, 8)));
    assert_eq!(due_date(date(2026, 10, 3), wd(3)), Some(date(2026, 10, 10)));
}

/// LAW-WD: across Spring Festival 2026, 2026-02-14 and 2026-02-28 (adjusted) are counted.
#[test]
fn law_wd_across_spring_festival_2026() {
    // From Thursday 2026-02-12: 02-13 (1), 02-14 adj (2), 02-24 (3) … 02-27 (6), 02-28 adj (7), 03-02 (8).
    assert_eq!(due_date(date(2026, 2, 12), wd(2)), Some(date(2026, 2, 14)));
    assert_eq!(due_date(date(2026, 2, 12), wd(3)), Some(date(2026, 2, 24)));
    assert_eq!(due_date(date(2026, 2, 12), wd(7)), Some(date(2026, 2, 28)));
    assert_eq!(due_date(date(2026, 2, 12), wd(8)), Some(date(2026, 3, 2)));
}

/// LAW-WD: a period reaching into 2027 (no calendar) is flagged, never guessed.
#[test]
fn law_wd_missing_2027_flagged() {
    let r = due(date(2026, 12, 28), wd(5));
    assert_eq!((r.due, r.missing_year), (None, Some(2027)));
    let r = due(date(2026, 12, 25), cd(10));
    assert_eq!((r.due, r.missing_year), (None, Some(2027)));
}

// ---------------------------------------------------------------------------------------------
// 5. LAW-SUSPEND
// ---------------------------------------------------------------------------------------------

/// LAW-SUSPEND: a pause over two working days moves a working-day deadline by two working days.
#[test]
fn law_suspend_working_days_moved_by_pause() {
    let cal = Calendar::shipped();
    let start = date(2026, 11, 2); // Monday
    assert_eq!(deadline::compute(start, wd(5), &[], &cal).due, Some(date(2026, 11, 9)));
    // 11-04 and 11-05 paused: counted 11-03, 11-06, 11-09, 11-10, 11-11.
    let p = [Pause { from: date(2026, 11, 3), to: date(2026, 11, 5) }];
    let r = deadline::compute(start, wd(5), &p, &cal);
    assert_eq!(r.due, Some(date(2026, 11, 11)), "{:?}", r.explanation);
    assert!(r.explanation.iter().any(|l| l.contains("LAW-SUSPEND")), "{:?}", r.explanation);
}

/// LAW-SUSPEND: a pause covering only a weekend does not move a working-day deadline.
#[test]
fn law_suspend_pause_over_rest_days_does_not_move_working_days() {
    let cal = Calendar::shipped();
    let start = date(2026, 11, 2);
    // Paused days 11-07 (Sat) and 11-08 (Sun) only.
    let p = [Pause { from: date(2026, 11, 6), to: date(2026, 11, 8) }];
    assert_eq!(deadline::compute(start, wd(5), &p, &cal).due, Some(date(2026, 11, 9)));
    // A pause over the National Day holiday only (10-01..10-07 paused).
    let p = [Pause { from: date(2026, 9, 30), to: date(2026, 10, 7) }];
    assert_eq!(deadline::compute(date(2026, 9, 30), wd(5), &p, &cal).due, Some(date(2026, 10, 13)));
}

/// LAW-SUSPEND: a month budget moves by the length of the pause (5 days).
#[test]
fn law_suspend_months_moved_by_pause() {
    let cal = Calendar::shipped();
    let start = date(2026, 3, 10);
    assert_eq!(deadline::compute(start, months(1), &[], &cal).due, Some(date(2026, 4, 10)));
    let p = [Pause { from: date(2026, 3, 15), to: date(2026, 3, 20) }];
    let r = deadline::compute(start, months(1), &p, &cal);
    // 2026-04-10 + 5 days = 2026-04-15 (Wednesday).
    assert_eq!(r.due, Some(date(2026, 4, 15)), "{:?}", r.explanation);
    assert!(r.explanation.iter().any(|l| l.contains("LAW-SUSPEND")), "{:?}", r.explanation);
}

// ---------------------------------------------------------------------------------------------
// 6. Properties against the model
// ---------------------------------------------------------------------------------------------

fn base() -> Date {
    date(2025, 1, 1)
}

fn cfg() -> ProptestConfig {
    ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() }
}

proptest! {
    #![proptest_config(cfg())]

    /// LAW-WD + LAW-START: working-day due equals the model; it is a working day after the start.
    #[test]
    fn law_wd_prop_matches_model(off in 0..=days_between(base(), date(2026, 10, 31)), n in 1u16..=30) {
        let start = day_at(base(), off);
        let r = due(start, wd(n));
        let expected = model_wd(start, n, &[]).expect("stays inside 2026");
        prop_assert_eq!(r.due, Some(expected), "start {} n {}", start, n);
        prop_assert_eq!(r.missing_year, None);
        prop_assert_eq!(model_working(expected), Ok(true));
        prop_assert!(expected > start);
    }

    /// LAW-HOLIDAY-END + LAW-START: calendar-day due equals the model; always a working day after
    /// the start.
    #[test]
    fn law_holiday_end_prop_calendar_days_match_model(off in 0..days_between(base(), date(2026, 1, 1)), n in 1u16..=60) {
        let start = day_at(base(), off);
        let r = due(start, cd(n));
        let expected = model_cd(start, n).expect("stays inside 2026");
        prop_assert_eq!(r.due, Some(expected), "start {} n {}", start, n);
        prop_assert_eq!(model_working(expected), Ok(true));
        prop_assert!(expected > start);
    }

    /// LAW-WD / LAW-HOLIDAY-END: the crate's due date is always a working day of its own
    /// calendar, strictly after the start.
    #[test]
    fn law_wd_prop_due_is_working_day_after_start(off in 0..=days_between(base(), date(2026, 10, 31)), n in 1u16..=30, calendar in any::<bool>()) {
        let start = day_at(base(), off);
        let b = if calendar { cd(n) } else { wd(n) };
        let d = due(start, b).due.expect("inside loaded years");
        prop_assert_eq!(Calendar::shipped().is_working_day(d), Ok(true), "{}", d);
        prop_assert!(d > start);
    }

    /// LAW-WD / LAW-HOLIDAY-END: more time never gives an earlier due date.
    #[test]
    fn law_wd_prop_monotonic(off in 0..=days_between(base(), date(2026, 10, 31)), n in 1u16..=30, extra in 0u16..=30, calendar in any::<bool>()) {
        let start = day_at(base(), off);
        let b = |k| if calendar { cd(k) } else { wd(k) };
        let a = due(start, b(n)).due.expect("inside loaded years");
        let m = (n + extra).min(30);
        let c = due(start, b(m)).due.expect("inside loaded years");
        prop_assert!(a <= c, "{} + {}: {} > {} + {}: {}", start, n, a, start, m, c);
    }

    /// LAW-SUSPEND: a pause never makes a working-day deadline earlier, and the result equals the
    /// model with the pause.
    #[test]
    fn law_suspend_prop_pause_never_earlier(
        off in 0..=days_between(base(), date(2026, 9, 30)),
        n in 1u16..=30,
        pause_at in -5i32..=30,
        pause_len in 0i32..=15,
    ) {
        let start = day_at(base(), off);
        let from = day_at(start, pause_at);
        let to = day_at(from, pause_len);
        let cal = Calendar::shipped();
        let without = deadline::compute(start, wd(n), &[], &cal).due.expect("inside loaded years");
        let with = deadline::compute(start, wd(n), &[Pause { from, to }], &cal);
        let with_date = with.due.expect("inside loaded years");
        prop_assert!(with_date >= without, "pause {}..{}: {} < {}", from, to, with_date, without);
        prop_assert_eq!(Ok(with_date), model_wd(start, n, &[(from, to)]));
    }

    /// LAW-WD: when the model leaves 2026 the crate reports the missing year 2027, otherwise the
    /// same due date.
    #[test]
    fn law_wd_prop_missing_2027(off in 0..=days_between(date(2026, 10, 1), date(2026, 12, 31)), n in 1u16..=60, calendar in any::<bool>()) {
        let start = day_at(date(2026, 10, 1), off);
        let (b, model) = if calendar { (cd(n), model_cd(start, n)) } else { (wd(n), model_wd(start, n, &[])) };
        let r = due(start, b);
        match model {
            Ok(d) => {
                prop_assert_eq!(r.due, Some(d));
                prop_assert_eq!(r.missing_year, None);
            }
            Err(y) => {
                prop_assert_eq!(y, 2027);
                prop_assert_eq!(r.due, None);
                prop_assert_eq!(r.missing_year, Some(2027));
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// 7. G-CLOCKS: the deadline explains itself
// ---------------------------------------------------------------------------------------------

/// G-CLOCKS (LAW-START, LAW-WD): 5 wd from 2026-09-30 explain the start rule, the skipped 国庆节,
/// the adjusted 2026-10-10 and the final due time.
#[test]
fn g_clocks_explanation_five_wd_from_sep_30_2026() {
    let r = due(date(2026, 9, 30), wd(5));
    let lines = &r.explanation;
    let text = lines.join("\n");
    assert!(lines.iter().any(|l| l.contains("LAW-START")), "{text}");
    assert!(lines.iter().any(|l| l.contains("国庆节") && l.contains("2026-10-01 至 2026-10-07")), "{text}");
    assert!(lines.iter().any(|l| l.contains("2026-10-10") && l.contains("调休")), "{text}");
    assert_eq!(lines.last().map(String::as_str), Some("截止 2026-10-13 24:00"), "{text}");
}
