//! No input makes the core panic (issue 13, item 6). Extreme values — dates from jiff's first
//! to its last representable day, huge and negative numbers, very long strings, control
//! characters, deeply nested JSON in declared facts — are fed to every deadline and calendar
//! function and to `lifecycle::decide` for every command and role. A `Result` either way is fine;
//! a refusal must carry a stable code and a Chinese message. A panic fails the property
//! (proptest catches it and shrinks the input).
//!
//! Rule IDs: LAW-WD, LAW-START, LAW-MONTH, LAW-HOLIDAY-END, LAW-SUSPEND (deadline arithmetic at
//! the edges of the calendar); G-CLOCKS (clocks over extreme histories).

mod common;

use common::sources;

use dingdian_core::annex::{Annex1, Attachments, Carrier, LineForm};
use dingdian_core::calendar::{Calendar, Year};
use dingdian_core::clocks::{self, Transition};
use dingdian_core::deadline::{self, Budget, Pause, Unit};
use dingdian_core::eligibility::{Record, RecordKind};
use dingdian_core::lifecycle::{
    self, ALL_ROLES, ALL_STATES, ActiveBan, Actor, AppState, ChecklistItem, Command, Complaint, Ctx, FileRef, Grouping, InstitutionFacts,
    Outcome, PriorApplication, Problem, Reason, Role, Scope, State, SupplementItem, decide,
};
use dingdian_core::policy::{FileType, InstitutionKind, Profile};
use jiff::Span;
use jiff::civil::{Date, date};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

// ---------------------------------------------------------------------------------------------
// Extreme values
// ---------------------------------------------------------------------------------------------

/// Days from `Date::MIN` to `Date::MAX`.
const DAYS_IN_RANGE: i64 = 7_304_484;

/// Any representable date, with the edges and the known troublemakers often.
fn any_date() -> impl Strategy<Value = Date> {
    prop_oneof![
        3 => (0..=DAYS_IN_RANGE).prop_map(|n| Date::MIN.checked_add(Span::new().days(n)).unwrap_or(Date::MAX)),
        2 => prop::sample::select(vec![
            Date::MIN,
            Date::MAX,
            date(9999, 12, 1),
            date(9999, 12, 25),
            date(9999, 12, 30),
            date(1, 1, 1),
            date(-9999, 1, 2),
            date(2024, 2, 29),
        ]),
        2 => (2025i16..=2027, 1i8..=12, 1i8..=31).prop_filter_map("a real day", |(y, m, d)| Date::new(y, m, d).ok()),
    ]
}

fn any_unit() -> impl Strategy<Value = Unit> {
    prop::sample::select(vec![Unit::WorkingDays, Unit::CalendarDays, Unit::Months, Unit::Years])
}

fn any_u16() -> impl Strategy<Value = u16> {
    prop_oneof![Just(0), Just(1), Just(u16::MAX), Just(19_999), any::<u16>()]
}

fn any_u32() -> impl Strategy<Value = u32> {
    prop_oneof![Just(0), Just(u32::MAX), any::<u32>()]
}

fn any_i64() -> impl Strategy<Value = i64> {
    prop_oneof![Just(i64::MIN), Just(-1), Just(0), Just(i64::MAX), any::<i64>()]
}

fn budget() -> impl Strategy<Value = Budget> {
    (any_u16(), any_unit()).prop_map(|(amount, unit)| Budget { amount, unit })
}

/// Pauses: mostly short, sometimes the whole calendar.
fn pauses() -> impl Strategy<Value = Vec<Pause>> {
    let one = prop_oneof![
        4 => (any_date(), 0i64..2000).prop_map(|(from, n)| Pause { from, to: from.checked_add(Span::new().days(n)).unwrap_or(Date::MAX) }),
        1 => (any_date(), any_date()).prop_map(|(from, to)| Pause { from, to }),
        1 => Just(Pause { from: Date::MIN, to: Date::MAX }),
    ];
    prop::collection::vec(one, 0..4)
}

/// Text: empty, control characters and bidi overrides, any characters, or very long.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "[\\x00-\\x1f\\x7f\u{200b}\u{202e}\u{feff}]{1,40}",
        ".{0,40}",
        (1usize..4).prop_map(|k| "长".repeat(70_000 * k)),
        Just("a".repeat(1 << 20)),
    ]
}

/// Nested arrays and objects `depth` deep (beyond serde_json's parse limit of 128, so only code
/// that builds values itself can produce them).
fn deep(depth: usize) -> Value {
    let mut v = json!("底");
    for i in 0..depth {
        v = if i % 2 == 0 { json!([v]) } else { json!({ "k": v }) };
    }
    v
}

/// A JSON value meant to break whatever reads it.
fn wild_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(json!(u64::MAX)),
        Just(json!(i64::MIN)),
        Just(json!(-1)),
        Just(json!(1e308)),
        Just(json!(null)),
        Just(json!("9999-12-01")),
        Just(json!("-009999-01-01")),
        Just(json!("0000-00-00")),
        Just(json!([{ "name": "x", "contract_start": "9999-12-31", "contract_end": "-009999-01-01" }])),
        (1usize..600).prop_map(deep),
        text().prop_map(Value::String),
        any_date().prop_map(|d| json!(d.to_string())),
    ]
}

const FACT_KEYS: &[&str] = &[
    "operating_since",
    "beds",
    "first_registered_physicians",
    "insurance_administrators",
    "full_time_insurance_staff",
    "pharmacists",
    "insurance_admin_contracts",
    "systems",
    "equipment",
    "national_code",
    "his_connected",
    "no_such_fact",
];

/// Facts that meet every condition, with a few keys overwritten by wild values, so the checks
/// behind the first one are reached too.
fn facts() -> impl Strategy<Value = Map<String, Value>> {
    let overrides = prop::collection::vec((prop::sample::select(FACT_KEYS), wild_value()), 0..4);
    // The date that once aborted the application page (9999-12-01) is among the edges.
    let since = prop::option::of(any_date());
    (any::<bool>(), since, overrides).prop_map(|(harbin, since, overrides)| {
        let mut m = full_facts(harbin);
        if let Some(d) = since {
            m.insert("operating_since".to_owned(), json!(d.to_string()));
        }
        for (k, v) in overrides {
            m.insert(k.to_owned(), v);
        }
        m
    })
}

fn full_facts(harbin: bool) -> Map<String, Value> {
    let national = if harbin { "H23010200001" } else { "H65010200001" };
    let v = json!({
        "operating_since": "2025-01-01", "beds": 10, "first_registered_physicians": 2, "principal_responsible": true,
        "insurance_administrators": 1, "insurance_department": true, "full_time_insurance_staff": 1,
        "systems": ["insurance", "finance", "statistics", "quality", "inventory", "drug_management", "staff_management", "settlement"],
        "equipment": ["video_surveillance", "biometric", "drug_traceability"],
        "his_connected": true, "national_codes_used": true, "staff_contracts": true, "social_insurance": true, "gsp_zoning": true,
        "national_code": national,
        "pharmacists": [{ "name": "药师甲", "contract_start": "2025-01-01" }],
        "insurance_admin_contracts": [{ "name": "医保员甲", "contract_start": "2025-01-01" }]
    });
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// The values one case builds its commands and application from.
#[derive(Debug, Clone)]
struct Extremes {
    text: String,
    date: Date,
    other_date: Date,
    u16: u16,
    u32: u32,
    u64: u64,
    i64: i64,
    i16: i16,
    flag: bool,
    /// Picks a real material slot or score-sheet item of the profile when even, else `text`.
    pick: usize,
    facts: Map<String, Value>,
}

fn extremes() -> impl Strategy<Value = Extremes> {
    (
        (text(), any_date(), any_date(), any_u16(), any_u32()),
        (prop_oneof![Just(u64::MAX), any::<u64>()], any_i64(), any::<i16>(), any::<bool>(), any::<usize>(), facts()),
    )
        .prop_map(|((text, date, other_date, u16, u32), (u64, i64, i16, flag, pick, facts))| Extremes {
            text,
            date,
            other_date,
            u16,
            u32,
            u64,
            i64,
            i16,
            flag,
            pick,
            facts,
        })
}

// ---------------------------------------------------------------------------------------------
// The world a decision is taken in
// ---------------------------------------------------------------------------------------------

/// Everything `Ctx` borrows, owned by the test.
struct World {
    profile: Profile,
    calendar: Calendar,
    today: Date,
    bans: Vec<ActiveBan>,
    kind: InstitutionKind,
    history: Vec<Record>,
    institution: InstitutionFacts,
    open_rounds: Vec<i64>,
    prior: Vec<PriorApplication>,
}

/// The one place a `Ctx` is built: when `Ctx` gains a field, only this changes.
fn ctx(w: &World) -> Ctx<'_> {
    Ctx {
        profile: &w.profile,
        calendar: &w.calendar,
        today: w.today,
        bans: &w.bans,
        kind: w.kind,
        history: &w.history,
        institution: Some(&w.institution),
        open_rounds: &w.open_rounds,
        prior: &w.prior,
        planning: None,
    }
}

/// The shipped calendar, optionally with the first and last representable years loaded, so that
/// working-day counting can run into either end of the calendar.
fn calendar(with_edges: bool) -> Calendar {
    let mut cal = Calendar::shipped();
    if with_edges {
        for (year, from, to) in [(9999, "9999-12-30", "9999-12-31"), (-9999, "-009999-01-01", "-009999-01-03")] {
            let text = format!("year = {year}\nsource = \"edge\"\n[[holidays]]\nname = \"边界\"\nfrom = \"{from}\"\nto = \"{to}\"\n");
            match Year::parse("edge.toml", &text) {
                Ok(y) => cal.insert(y),
                Err(e) => panic!("edge calendar {year} does not load: {e:?}"),
            }
        }
    }
    cal
}

/// A `clean` world has no bans and no record, so that submission gets as far as the conditions.
fn world(harbin: bool, pharmacy: bool, today: Date, x: &Extremes, edges: bool, clean: bool) -> World {
    let profile = Profile::shipped().swap_remove(if harbin { 0 } else { 1 });
    let record = |kind| Record {
        kind,
        date: x.date,
        fulfilled: x.flag,
        until: Some(x.other_date),
        person: Some(x.text.clone()),
        note: x.text.clone(),
    };
    World {
        profile,
        calendar: calendar(edges),
        today,
        bans: if clean { Vec::new() } else { vec![ActiveBan { rule: x.text.clone(), until: x.other_date, reason: x.text.clone() }] },
        kind: if pharmacy { InstitutionKind::Pharmacy } else { InstitutionKind::Medical },
        history: [RecordKind::Penalty, RecordKind::Fraud, RecordKind::TerminationViolation, RecordKind::Dishonest, RecordKind::Other]
            .into_iter()
            .map(record)
            .filter(|_| !clean)
            .collect(),
        institution: InstitutionFacts { name: x.text.clone(), national_code: Some(x.text.clone()) },
        open_rounds: vec![x.i64],
        prior: vec![PriorApplication { state: State::Withdrawn, failures: x.u32, result_served_on: Some(x.date) }],
    }
}

fn scope(p: &Profile) -> Scope {
    let district = if p.id == "harbin" { "230102" } else { "650102" };
    // Grouped with the test evaluator since the first day, so decide goes past visibility.
    let grouping =
        Grouping { evaluators: vec![EVALUATOR.to_owned()], visit_on: Some(Date::MIN), reveal_on: Some(Date::MIN), pending: None };
    Scope { institution_id: 1, city: p.id.clone(), district: district.to_owned(), grouping: Some(grouping) }
}

/// An account of `role` whose scope covers the application, so that decide goes past the scope
/// check into the command's own logic.
fn actor(role: Role, s: &Scope) -> Actor {
    if role == Role::System {
        return Actor::system(&s.city);
    }
    Actor {
        user_id: 100 + role as i64,
        role,
        city: s.city.clone(),
        district: (role == Role::BranchReviewer).then(|| s.district.clone()),
        institution_id: (role == Role::Institution).then_some(1),
        evaluator_id: (role == Role::Evaluator).then(|| EVALUATOR.to_owned()),
        province: None,
    }
}

const EVALUATOR: &str = "E1";

/// An application in `state` whose every field, counters included, holds an extreme value.
fn app_state(state: State, x: &Extremes) -> AppState {
    let count = x.u32;
    let mut st = AppState {
        state,
        entered_on: Some(x.date),
        submitted_on: Some(x.other_date),
        facts: x.facts.clone(),
        supplement_notices: count,
        failures: count,
        result_served_on: Some(x.date),
        round_id: Some(x.i64),
        notice_ends_on: Some(x.other_date),
        complaints: vec![Complaint { number: x.u32, open: true, founded: None }],
        site_scores: vec![(x.i64, x.u16)],
        ..AppState::default()
    };
    st.prep.annex2.requests = count;
    st.prep.annex2.pending = x.flag;
    st.prep.annex2.review_due = Some(x.other_date);
    st.prep.annex2.resubmit_due = Some(x.date);
    st
}

fn slot(p: &Profile, x: &Extremes) -> String {
    match p.materials.get((x.pick / 2) % p.materials.len().max(1)) {
        Some(m) if x.pick.is_multiple_of(2) => m.id.clone(),
        _ => x.text.clone(),
    }
}

fn file(x: &Extremes) -> FileRef {
    FileRef { sha256: x.text.clone(), size: x.u64, file_type: FileType::Zip, name: x.text.clone() }
}

/// One of every command, filled with the case's extreme values.
fn commands(p: &Profile, x: &Extremes) -> Vec<Command> {
    let t = || x.text.clone();
    let items: std::collections::BTreeMap<String, u16> = p
        .score_sheets
        .iter()
        .flat_map(|s| s.items.iter().map(|i| (i.id.clone(), x.u16)))
        .chain((x.pick % 2 == 1).then(|| (t(), x.u16)))
        .collect();
    let outcome = if x.flag { Outcome::Pass } else { Outcome::Fail };
    let annex1 = Annex1 {
        institution_name: t(),
        national_code: t(),
        business_address: t(),
        carrier: Carrier::Unicom,
        line_form: LineForm::Vpdn,
        application_date: x.date,
        security_equipment: x.flag,
        equipment_brand: Some(t()),
        equipment_model: None,
        security_rules: x.flag,
        legal_representative: t(),
        phone: t(),
        attachments: Attachments {
            business_licence_copy: x.flag,
            security_commitment: true,
            security_org_chart: true,
            equipment_photos: x.flag,
        },
        remarks: Some(t()),
    };
    vec![
        Command::UpdateDraft { facts: x.facts.clone() },
        Command::Submit,
        Command::Withdraw { reason: Some(t()) },
        Command::OverrideConditions { reason: t() },
        Command::IssueSupplementNotice {
            items: vec![SupplementItem {
                slot: slot(p, x),
                problem: if x.flag { Problem::Missing } else { Problem::Defective },
                reason: t(),
            }],
        },
        Command::Supplement { note: Some(t()) },
        Command::AttachMaterial { slot: slot(p, x), file: file(x) },
        Command::RemoveMaterial { slot: slot(p, x), sha256: t() },
        Command::Accept,
        Command::Reject { reasons: vec![Reason { rule: Some(t()), text: t() }] },
        Command::ScheduleEvaluation { date: Some(x.other_date), note: Some(t()) },
        Command::PassInitialReview,
        Command::PassVerification { sources: sources() },
        Command::Terminate { reason: t(), sources: sources() },
        Command::JoinRound { round_id: x.i64 },
        Command::StartSiteEvaluation { round_id: x.i64 },
        Command::RecordSiteEvaluation { score: x.u16, items, notes: Some(t()) },
        Command::ConfirmScoreSheet,
        Command::RecordExpertReview { recommendation: outcome, reasons: vec![t()], rectification: Some(t()), attendees: vec![t()] },
        Command::Decide {
            outcome,
            reasons: vec![t()],
            rectification: Some(t()),
            minutes: Some(t()),
            attendees: vec![t()],
            departure_reason: Some(t()),
        },
        Command::RequestReevaluation,
        Command::PublishNotice,
        Command::RecordComplaint { summary: t() },
        Command::ResolveComplaint { number: x.u32, founded: x.flag, finding: t() },
        Command::RecordTraining { session: t(), attended: x.flag, passed: !x.flag },
        Command::VerifyChecklistItem { item: ChecklistItem::ALL[x.pick % ChecklistItem::ALL.len()], note: t() },
        Command::FileAnnex1 { form: annex1 },
        Command::RequestAnnex2Acceptance,
        Command::ReviewAnnex2 { passed: x.flag, reason: Some(t()) },
        Command::RecordStationAcceptance { note: t() },
        Command::CompletePreparation,
        Command::FailPreparation { reason: t() },
        Command::Sign { document_sha256: Some(t()) },
        Command::Countersign { document_sha256: Some(t()) },
        Command::CommentAgreement { text: t() },
        Command::ReviseAgreement { clauses: vec![t(), t()], reply: t() },
        Command::DeclineAgreement { reason: t() },
        Command::EndNotice,
        Command::DeemWithdrawn,
        Command::DeemGivenUp,
        Command::DeemAnnex2Withdrawn,
        Command::IssueAgreement { document: file(x) },
        Command::RecalculateDeadlines { year: x.i16 },
    ]
}

/// Every command name the API accepts is exercised by `commands`.
#[test]
fn every_command_is_exercised() {
    let x = Extremes {
        text: String::new(),
        date: Date::MIN,
        other_date: Date::MAX,
        u16: 0,
        u32: 0,
        u64: 0,
        i64: 0,
        i16: 0,
        flag: false,
        pick: 0,
        facts: Map::new(),
    };
    let names: Vec<&str> = commands(&Profile::shipped()[0], &x).iter().map(Command::name).collect();
    for name in lifecycle::COMMAND_NAMES {
        assert!(names.contains(name), "the no-panic property does not send {name}");
    }
}

// ---------------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// LAW-WD / LAW-START / LAW-MONTH / LAW-HOLIDAY-END / LAW-SUSPEND: any start, budget and
    /// pauses give a due date, a missing year or "out of range" — each explained — never a panic.
    #[test]
    fn deadlines_never_panic(start in any_date(), b in budget(), p in pauses(), edges in any::<bool>()) {
        let cal = calendar(edges);
        let due = deadline::compute(start, b, &p, &cal);
        prop_assert!(!due.explanation.is_empty());
        match (due.due, due.missing_year, due.out_of_range) {
            (Some(d), None, false) => prop_assert!(d >= start, "{d} before {start}"),
            (None, Some(_), false) | (None, None, true) => {}
            other => prop_assert!(false, "inconsistent due {other:?}"),
        }
        match deadline::checked_earliest(start, b) {
            Ok(d) => prop_assert_eq!(deadline::earliest(start, b), d),
            Err(e) => {
                prop_assert_eq!(e.code(), "date_out_of_range");
                prop_assert!(!e.message_zh().is_empty());
                prop_assert_eq!(deadline::earliest(start, b), Date::MAX);
            }
        }
    }

    /// LAW-WD: every date can be asked about, with or without the edge years loaded.
    #[test]
    fn calendar_questions_never_panic(d in any_date(), edges in any::<bool>()) {
        let cal = calendar(edges);
        match cal.day(d) {
            Ok(kind) => prop_assert_eq!(cal.is_working_day(d), Ok(kind.is_working())),
            Err(missing) => {
                prop_assert_eq!(missing.0, d.year());
                prop_assert!(!missing.to_string().is_empty());
            }
        }
    }

    /// A calendar file for any year with any holiday span loads or is refused with lines.
    #[test]
    fn calendar_years_of_any_range_load_or_refuse(year in any::<i16>(), from in any_date(), to in any_date()) {
        let text = format!("year = {year}\nsource = \"x\"\n[[holidays]]\nname = \"假\"\nfrom = \"{from}\"\nto = \"{to}\"\nadjusted_workdays = [\"{to}\"]\n");
        match Year::parse("any.toml", &text) {
            Ok(y) => {
                let mut cal = Calendar::shipped();
                cal.insert(y);
                prop_assert!(cal.has_year(year));
            }
            Err(errors) => prop_assert!(!errors.is_empty()),
        }
    }

    /// G-CLOCKS: clocks over a history of extreme dates and states compute or report, never panic.
    #[test]
    fn clocks_never_panic(
        harbin in any::<bool>(),
        steps in prop::collection::vec((0..ALL_STATES.len(), any_date()), 0..8),
        today in any_date(),
        edges in any::<bool>(),
    ) {
        let profile = Profile::shipped().swap_remove(if harbin { 0 } else { 1 });
        let mut from = ALL_STATES[0];
        let history: Vec<Transition> = steps
            .into_iter()
            .map(|(i, on)| {
                let to = ALL_STATES[i];
                let t = Transition { from, to, on };
                from = to;
                t
            })
            .collect();
        let views = clocks::clocks(&profile, &history, &calendar(edges), today);
        let _ = clocks::next_expiry(&views);
    }

}

proptest! {
    // Each case runs every command by every role in every state (about 7,000 decisions).
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    /// Every command, by every role, in every state, with extreme values everywhere: a decision or
    /// a refusal with a stable code and a Chinese message. Decisions are folded into the state too.
    #[test]
    fn decide_never_panics(
        harbin in any::<bool>(),
        pharmacy in any::<bool>(),
        today in any_date(),
        edges in any::<bool>(),
        clean in any::<bool>(),
        x in extremes(),
    ) {
        let w = world(harbin, pharmacy, today, &x, edges, clean);
        let scope = scope(&w.profile);
        let commands = commands(&w.profile, &x);
        for state in ALL_STATES {
            let st = app_state(*state, &x);
            for cmd in &commands {
                for role in ALL_ROLES {
                    match decide(&ctx(&w), &scope, &st, &actor(*role, &scope), cmd) {
                        Ok(d) => {
                            let mut next = st.clone();
                            for e in &d.events {
                                next.apply(e, d.to, today);
                            }
                            prop_assert_eq!(next.state, d.to);
                        }
                        Err(r) => {
                            prop_assert!(!r.code().is_empty(), "{r:?}");
                            let zh = r.message_zh();
                            prop_assert!(zh.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)), "{} gave {zh:?}", r.code());
                        }
                    }
                }
            }
        }
    }
}
