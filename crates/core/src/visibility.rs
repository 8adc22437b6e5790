//! Who may see what, and from which day (G-VISIBILITY, G-DRAW, URC-EVAL-1). One answer for every
//! list, page, export, API response, PDF and download: the store loads the facts (the
//! application's scope with its grouping), the pages and handlers render what this module
//! allows. It also answers who may write the city's shared records (the registry and the
//! evaluator pool): nothing crosses cities.
//!
//! Not responsible for loading anything, nor for what an actor may *do* to an application (that
//! is `lifecycle::decide`, which starts by asking `can_read`).

use jiff::civil::Date;
use serde::Serialize;

use crate::calendar::Calendar;
use crate::refusal::Refusal;
use crate::vocabulary::{Actor, Role};

/// URC-EVAL-1: an application's place in a drawn round — the evaluators grouped with its
/// institution and the days that matter.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Grouping {
    /// Pool ids of the evaluators grouped with the institution (after replacements).
    pub evaluators: Vec<String>,
    /// The site visit.
    pub visit_on: Option<Date>,
    /// The grouping is drawn (stage 2) and becomes known to the evaluators and the institution
    /// on this day.
    pub reveal_on: Option<Date>,
    /// While the grouping is not drawn yet (a two-stage draw between its stages): the pool ids
    /// of everyone drawn for the round. `evaluators` is empty meanwhile.
    pub pending: Option<Vec<String>>,
}

impl Grouping {
    /// Is this evaluator (by pool id) grouped with the institution?
    pub fn includes(&self, evaluator_id: Option<&str>) -> bool {
        evaluator_id.is_some_and(|me| self.evaluators.iter().any(|e| e == me))
    }

    /// Is this evaluator drawn for the round while the grouping is still to be drawn?
    pub fn drawn_pending(&self, evaluator_id: Option<&str>) -> bool {
        evaluator_id.is_some_and(|me| self.pending.as_ref().is_some_and(|d| d.iter().any(|e| e == me)))
    }

    /// G-DRAW: has the grouping been revealed by `today`? Never before a reveal day is set, nor
    /// before the grouping is drawn.
    pub fn revealed(&self, today: Date) -> bool {
        self.pending.is_none() && self.reveal_on.is_some_and(|r| today >= r)
    }
}

/// The parts of an application that decide who may see and touch it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Scope {
    pub institution_id: i64,
    pub city: String,
    pub district: String,
    /// The application's grouping, once its round is drawn (URC-EVAL-1).
    pub grouping: Option<Grouping>,
}

impl Scope {
    /// The scope of an institution's own record (no application, so no grouping).
    pub fn institution(institution_id: i64, city: &str, district: &str) -> Scope {
        Scope { institution_id, city: city.to_owned(), district: district.to_owned(), grouping: None }
    }
}

/// G-VISIBILITY: may `actor` see this application today? Institutions see only their own; branch
/// reviewers their district; evaluators only the applications they are grouped with, and only
/// from the reveal day on (URC-EVAL-1 "于现场评估前日…分组"); everyone else their city.
pub fn can_read(actor: &Actor, scope: &Scope, today: Date) -> Result<(), Refusal> {
    match actor.role {
        Role::System => Ok(()),
        Role::Institution if actor.institution_id == Some(scope.institution_id) => Ok(()),
        Role::Institution => Err(Refusal::NotYourInstitution),
        _ if actor.city != scope.city => Err(Refusal::NotYourRegion),
        Role::BranchReviewer if actor.district.as_deref() != Some(scope.district.as_str()) => Err(Refusal::NotYourRegion),
        Role::Evaluator => match &scope.grouping {
            Some(g) if g.includes(actor.evaluator_id.as_deref()) => match g.reveal_on {
                Some(_) if g.revealed(today) => Ok(()),
                on => Err(Refusal::NotRevealed { on }),
            },
            // URC-EVAL-1: drawn, but the grouping is drawn only the day before the visit; the
            // same answer for every application of the round, so it tells nothing.
            Some(g) if g.drawn_pending(actor.evaluator_id.as_deref()) => Err(Refusal::NotRevealed { on: g.reveal_on }),
            _ => Err(Refusal::NotAssigned),
        },
        _ => Ok(()),
    }
}

/// Which applications a list shows an actor. The store turns this into a query; rows of an
/// `Assigned` listing are then each checked with `can_read`, since the grouping decides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Listing {
    Everything,
    Institution(i64),
    City(String),
    District {
        city: String,
        district: String,
    },
    /// Applications of the city in a drawn round, each shown only if `can_read` allows it today.
    Assigned {
        city: String,
    },
}

/// G-VISIBILITY: the candidate rows of an actor's application lists.
pub fn listing(actor: &Actor) -> Listing {
    match actor.role {
        Role::System => Listing::Everything,
        // An institution account without an institution sees nothing: id -1 matches no row.
        Role::Institution => Listing::Institution(actor.institution_id.unwrap_or(-1)),
        Role::BranchReviewer => Listing::District { city: actor.city.clone(), district: actor.district.clone().unwrap_or_default() },
        Role::Evaluator => Listing::Assigned { city: actor.city.clone() },
        Role::Agency | Role::Expert | Role::Supervisor | Role::Admin => Listing::City(actor.city.clone()),
        // Scoped to one city of its province by `province::administer`; unscoped, its city is
        // empty and matches no row.
        Role::ProvincialAdmin => Listing::City(actor.city.clone()),
    }
}

/// G-VISIBILITY: the rows the staff's queues, exports and statistics cover — the city, or for
/// a branch reviewer the district. Institutions, evaluators and experts have none.
pub fn reporting(actor: &Actor) -> Result<Listing, Refusal> {
    match listing(actor) {
        Listing::Institution(_) | Listing::Assigned { .. } => Err(Refusal::NotYourRole { required: Role::Agency }),
        _ if actor.role == Role::Expert => Err(Refusal::NotYourRole { required: Role::Agency }),
        l => Ok(l),
    }
}

/// G-VISIBILITY: may `actor` read an institution's registry entry (its people and history)?
/// Staff of its city (branch reviewers: its district) and its own accounts. Evaluators and
/// experts meet institutions only through the applications they are shown.
pub fn can_read_institution(actor: &Actor, scope: &Scope) -> Result<(), Refusal> {
    match actor.role {
        Role::Evaluator | Role::Expert => Err(Refusal::NotYourRole { required: Role::Agency }),
        _ => can_read(actor, scope, Date::MIN),
    }
}

/// G-VISIBILITY, G-DRAW: may `actor` see the names of the evaluators grouped with an
/// application? The agency running the round and the supervisors as soon as there is a grouping
/// (with a two-stage draw, from the grouping day: before it there is none to see, URC-EVAL-1);
/// the institution (and anyone else who may read the application) only from the reveal day on.
pub fn sees_evaluator_names(actor: &Actor, scope: &Scope, today: Date) -> bool {
    if can_read(actor, scope, today).is_err() {
        return false;
    }
    sees_draw_record(actor) || scope.grouping.as_ref().is_some_and(|g| g.revealed(today))
}

/// G-DRAW: the full draw record (every group, every institution) is for the agency running the
/// round and the supervisors; everyone else in the city sees its public facts only.
pub fn sees_draw_record(actor: &Actor) -> bool {
    matches!(actor.role, Role::Agency | Role::Supervisor)
}

/// G-DRAW, URC-EVAL-1: may `actor` see a round's groups — which evaluators visit which
/// institution? Only once the grouping is drawn (with a two-stage draw, the day before the
/// visit: before it there is none, for anyone), and then only the agency running the round and
/// the supervisors. Evaluators and institutions learn their own group through the application
/// (`can_read`, `sees_evaluator_names`), never the round's.
pub fn sees_round_groups(actor: &Actor, grouped: bool) -> bool {
    grouped && sees_draw_record(actor)
}

/// G-DRAW: the evaluator pool (names, employers, declared ties) is for the agency, the
/// supervisors and the administrator.
pub fn sees_evaluator_pool(actor: &Actor) -> bool {
    matches!(actor.role, Role::Agency | Role::Supervisor | Role::Admin)
}

/// HRB-QUERY: the progress-query code lets anyone the institution tells follow its progress; it
/// is shown to the institution and the staff handling it, never to evaluators or experts.
pub fn sees_query_code(actor: &Actor) -> bool {
    !matches!(actor.role, Role::Evaluator | Role::Expert)
}

/// Issue #16 item 10: rule IDs (`HRB-MAT`, `LAW-WD`) are a reference for staff, shown small and
/// muted; applicants and the public read what a rule says, never its ID.
pub fn sees_rule_ids(actor: &Actor) -> bool {
    !matches!(actor.role, Role::Institution | Role::System)
}

/// A line that cites a rule in parentheses (`……（LAW-WD）`), as `actor` reads it: as it is for
/// staff; for applicants with the law's own article where the rule is a statute (LAW-*), and
/// without the ID otherwise.
pub fn cite_for(actor: &Actor, line: &str) -> String {
    if sees_rule_ids(actor) {
        return line.to_owned();
    }
    for_people(line)
}

/// `cite_for` for someone who does not read rule IDs (the public, an applicant).
pub fn for_people(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(open) = rest.find('（') {
        let after = &rest[open + '（'.len_utf8()..];
        let Some(close) = after.find('）') else { break };
        let inner = &after[..close];
        out.push_str(&rest[..open]);
        if is_rule_id(inner) {
            if let Some(law) = statute(inner) {
                out.push_str(&format!("（{law}）"));
            }
        } else {
            out.push_str(&rest[open..open + '（'.len_utf8() + close + '）'.len_utf8()]);
        }
        rest = &after[close + '）'.len_utf8()..];
    }
    out.push_str(rest);
    out
}

/// Whether `s` is a rule ID (`HRB-COND-3`, `LAW-WD`, `G-ONE-NOTICE`).
fn is_rule_id(s: &str) -> bool {
    let mut parts = s.split('-');
    let prefix = parts.next().unwrap_or_default();
    matches!(prefix, "HRB" | "URC" | "LAW" | "G")
        && s.contains('-')
        && s.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-')
}

/// The statute a LAW-* rule restates (SPEC.md §5), as people cite it.
fn statute(rule: &str) -> Option<&'static str> {
    Some(match rule {
        "LAW-WD" => "《行政许可法》第八十二条",
        "LAW-START" => "《民法典》第二百零一条",
        "LAW-MONTH" => "《民法典》第二百零二条",
        "LAW-HOLIDAY-END" => "《民法典》第二百零三条",
        _ => return None,
    })
}

/// G-VISIBILITY (URC-RES-2's complaints): the complainant — name, contact, the complaint's text
/// and attachments — is seen by the agency investigating and the supervisors only, never by the
/// institution complained about.
pub fn sees_complainant(actor: &Actor) -> bool {
    matches!(actor.role, Role::Agency | Role::Supervisor)
}

/// URC-EVAL-1: may an evaluator see which institution an assignment is, today?
pub fn sees_assignment(grouping: &Grouping, today: Date) -> bool {
    grouping.revealed(today)
}

/// May `actor` see anything of a round (a city's round)? Nothing crosses cities.
pub fn can_read_round(actor: &Actor, round_city: &str) -> Result<(), Refusal> {
    if actor.role != Role::System && actor.city != round_city { Err(Refusal::NotYourRegion) } else { Ok(()) }
}

/// Writes to a city's shared records (the institution registry, its people and history, the
/// evaluator pool): the agency (and for the registry the administrator) of that city only.
/// `record_city` is the city the written record belongs to — for an update, the city it already
/// has, so a record of another city is never renamed or overwritten.
pub fn can_write_registry(actor: &Actor, record_city: &str) -> Result<(), Refusal> {
    if !matches!(actor.role, Role::Agency | Role::Admin) {
        return Err(Refusal::NotYourRole { required: Role::Agency });
    }
    if actor.city != record_city {
        return Err(Refusal::NotYourRegion);
    }
    Ok(())
}

// --- urc: the administration's acts (URC-RES-1 filing, URC-REV-1 planning) ---

/// URC-RES-1 "报市医疗保障行政部门备案": the administrative department of the round's city (the
/// `admin` role) acknowledges a filing.
pub fn can_acknowledge_filing(actor: &Actor, round_city: &str) -> Result<(), Refusal> {
    if actor.role != Role::Admin {
        return Err(Refusal::NotYourRole { required: Role::Admin });
    }
    if actor.city != round_city {
        return Err(Refusal::NotYourRegion);
    }
    Ok(())
}

/// URC-REV-1 "根据医疗保障定点医药机构设置规划要求": the plan is the administrative department's
/// (the `admin` role), city by city.
pub fn can_edit_planning(actor: &Actor, city: &str) -> Result<(), Refusal> {
    can_acknowledge_filing(actor, city)
}

/// URC-EVAL-1, G-DRAW: the evaluator pool and the rounds (commitment, draw, replacements,
/// decision) are the agency's, city by city. `record_city` is the city the pool entry or round
/// belongs to (for an existing evaluator, the city it already has).
pub fn can_run_evaluation(actor: &Actor, record_city: &str) -> Result<(), Refusal> {
    if actor.role != Role::Agency {
        return Err(Refusal::NotYourRole { required: Role::Agency });
    }
    if actor.city != record_city {
        return Err(Refusal::NotYourRegion);
    }
    Ok(())
}

/// URC-EVAL-1 ("于现场评估前日随机抽取评估人员与医药机构的分组"): the day the grouping (stage 2 of
/// the draw) is drawn and revealed. With `working_days_before` unset (the seed's reading of
/// 前日, docs/decisions.md) it is the calendar day before the visit; a profile that sets it keeps
/// the older reading, that many working days before. The visit must lie after `today`; a visit
/// on a rest day or holiday (LAW-WD calendar) is refused (`rest_day_visit`) unless
/// `confirm_rest_day` says the agency means it.
pub fn grouping_day(
    cal: &Calendar,
    today: Date,
    visit_on: Date,
    working_days_before: Option<u16>,
    confirm_rest_day: bool,
) -> Result<Date, Refusal> {
    if visit_on <= today {
        return Err(Refusal::Invalid { field: "visit_on", reason: "现场评估日期应晚于今天。".into() });
    }
    match cal.is_working_day(visit_on) {
        Ok(true) => {}
        Ok(false) if confirm_rest_day => {}
        Ok(false) => return Err(Refusal::RestDayVisit { on: visit_on }),
        Err(missing) => return Err(Refusal::MissingCalendar(missing.0)),
    }
    match working_days_before {
        Some(n) => reveal_day(cal, today, visit_on, n),
        None => visit_on
            .yesterday()
            .map_err(|_| Refusal::Invalid { field: "visit_on", reason: "现场评估日期超出可计算的范围。".into() }),
    }
}

/// URC-EVAL-1 (a profile's `reveal_working_days_before`): the day the grouping is revealed, `n` working days
/// before the visit. The visit must lie after `today`; a reveal that would fall before the day
/// after the draw is the day after the draw.
pub fn reveal_day(cal: &Calendar, today: Date, visit_on: Date, n: u16) -> Result<Date, Refusal> {
    if visit_on <= today {
        return Err(Refusal::Invalid { field: "visit_on", reason: "现场评估日期应晚于今天。".into() });
    }
    let mut day = visit_on;
    let mut left = n;
    while left > 0 {
        day = day
            .yesterday()
            .map_err(|_| Refusal::Invalid { field: "visit_on", reason: "现场评估日期超出可计算的范围。".into() })?;
        match cal.is_working_day(day) {
            Ok(true) => left -= 1,
            Ok(false) => {}
            Err(missing) => return Err(Refusal::MissingCalendar(missing.0)),
        }
    }
    Ok(day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn applicants_read_the_statute_not_the_rule_id() {
        // Issue #16 item 10, LAW-WD / LAW-START: the explanation of a clock as people read it.
        assert_eq!(
            for_people("自 2026-12-01 起算 20 个工作日，起算日当日不计入（LAW-START）"),
            "自 2026-12-01 起算 20 个工作日，起算日当日不计入（《民法典》第二百零一条）"
        );
        assert_eq!(
            for_people("跳过国庆节假期 2026-10-01 至 2026-10-07（LAW-WD）"),
            "跳过国庆节假期 2026-10-01 至 2026-10-07（《行政许可法》第八十二条）"
        );
        // A profile's own rule is dropped; other parentheses stay.
        assert_eq!(for_people("营业满 3 个月（HRB-COND-2）"), "营业满 3 个月");
        assert_eq!(for_people("暂停计时 3 日不计入（LAW-SUSPEND）；（含补正）"), "暂停计时 3 日不计入；（含补正）");
        assert_eq!(for_people("没有括号"), "没有括号");
        assert_eq!(for_people("未闭合（LAW-WD"), "未闭合（LAW-WD");
    }

    #[test]
    fn staff_keep_the_reference() {
        let staff = Actor { role: Role::Agency, ..Actor::system("harbin") };
        assert!(sees_rule_ids(&staff));
        assert_eq!(cite_for(&staff, "x（LAW-WD）"), "x（LAW-WD）");
        let inst = Actor { role: Role::Institution, institution_id: Some(1), ..Actor::system("harbin") };
        assert!(!sees_rule_ids(&inst));
        assert_eq!(cite_for(&inst, "x（HRB-MAT）"), "x");
    }
}
