//! G-VISIBILITY, G-DRAW, URC-EVAL-1/2: who may see an application, and from which day; who scores
//! and from which day; who writes a city's shared records. The core decides all of it; these tests
//! ask it directly (the web crate's tests walk every read route for every role).

use dingdian_core::calendar::Calendar;
use dingdian_core::lifecycle::{AppState, Command, Ctx, Refusal, Role, State, available, decide};
use dingdian_core::policy::{InstitutionKind, Profile};
use dingdian_core::visibility::{self, Grouping, Listing, Scope};
use jiff::civil::{Date, date};

const ME: &str = "E07";

/// Urumqi: the round is drawn on 03-12, the grouping revealed on 03-19, the visit on 03-20.
fn grouping() -> Grouping {
    Grouping {
        evaluators: vec![ME.into(), "E11".into()],
        visit_on: Some(date(2026, 3, 20)),
        reveal_on: Some(date(2026, 3, 19)),
        pending: None,
    }
}

fn scope(grouping: Option<Grouping>) -> Scope {
    Scope { institution_id: 1, city: "urumqi".into(), district: "650102".into(), grouping }
}

fn actor(role: Role) -> dingdian_core::lifecycle::Actor {
    dingdian_core::lifecycle::Actor {
        user_id: 7,
        role,
        city: "urumqi".into(),
        district: (role == Role::BranchReviewer).then(|| "650102".into()),
        institution_id: (role == Role::Institution).then_some(1),
        evaluator_id: (role == Role::Evaluator).then(|| ME.into()),
        province: None,
    }
}

fn urumqi() -> Profile {
    Profile::shipped().into_iter().find(|p| p.id == "urumqi").expect("shipped Urumqi profile")
}

fn on_site() -> AppState {
    AppState { state: State::OnSiteEvaluation, round_id: Some(1), ..AppState::default() }
}

fn score(profile: &Profile, cal: &Calendar, today: Date, scope: &Scope, who: &dingdian_core::lifecycle::Actor) -> Result<(), Refusal> {
    let ctx = Ctx::new(profile, cal, today, InstitutionKind::Medical);
    let cmd = Command::RecordSiteEvaluation { score: 90, items: Default::default(), notes: None };
    decide(&ctx, scope, &on_site(), who, &cmd).map(|_| ())
}

#[test]
fn g_visibility_evaluator_sees_nothing_before_the_reveal_day() {
    let me = actor(Role::Evaluator);
    let s = scope(Some(grouping()));
    // Drawn on 03-12: a week of knowing nothing.
    for day in [date(2026, 3, 12), date(2026, 3, 18)] {
        assert_eq!(visibility::can_read(&me, &s, day), Err(Refusal::NotRevealed { on: Some(date(2026, 3, 19)) }), "{day}");
    }
    assert_eq!(visibility::can_read(&me, &s, date(2026, 3, 19)), Ok(()));
    assert_eq!(visibility::can_read(&me, &s, date(2026, 3, 25)), Ok(()));
}

#[test]
fn g_visibility_evaluator_sees_only_its_own_grouping() {
    let me = actor(Role::Evaluator);
    let day = date(2026, 3, 20);
    // Grouped with another institution, not this one.
    let other = Grouping { evaluators: vec!["E11".into()], ..grouping() };
    assert_eq!(visibility::can_read(&me, &scope(Some(other)), day), Err(Refusal::NotAssigned));
    // No draw yet, or no round at all.
    assert_eq!(visibility::can_read(&me, &scope(None), day), Err(Refusal::NotAssigned));
    // An evaluator account not linked to the pool is grouped with nothing.
    let unlinked = dingdian_core::lifecycle::Actor { evaluator_id: None, ..me.clone() };
    assert_eq!(visibility::can_read(&unlinked, &scope(Some(grouping())), day), Err(Refusal::NotAssigned));
    // Another city's evaluator with the same pool id sees nothing here.
    let harbin = dingdian_core::lifecycle::Actor { city: "harbin".into(), ..me };
    assert_eq!(visibility::can_read(&harbin, &scope(Some(grouping())), day), Err(Refusal::NotYourRegion));
}

#[test]
fn g_visibility_a_grouping_without_a_reveal_day_is_never_revealed() {
    let g = Grouping { reveal_on: None, ..grouping() };
    assert!(!g.revealed(date(2099, 1, 1)));
    assert_eq!(visibility::can_read(&actor(Role::Evaluator), &scope(Some(g)), date(2099, 1, 1)), Err(Refusal::NotRevealed { on: None }));
}

#[test]
fn g_visibility_staff_institution_and_branch_scopes() {
    let s = scope(Some(grouping()));
    let before = date(2026, 3, 12);
    for role in [Role::Agency, Role::Supervisor, Role::Admin, Role::Expert, Role::BranchReviewer, Role::Institution, Role::System] {
        assert_eq!(visibility::can_read(&actor(role), &s, before), Ok(()), "{role:?}");
    }
    let other_district = dingdian_core::lifecycle::Actor { district: Some("650103".into()), ..actor(Role::BranchReviewer) };
    assert_eq!(visibility::can_read(&other_district, &s, before), Err(Refusal::NotYourRegion));
    let other_institution = dingdian_core::lifecycle::Actor { institution_id: Some(2), ..actor(Role::Institution) };
    assert_eq!(visibility::can_read(&other_institution, &s, before), Err(Refusal::NotYourInstitution));
    for role in [Role::Agency, Role::Supervisor, Role::Expert] {
        let harbin = dingdian_core::lifecycle::Actor { city: "harbin".into(), ..actor(role) };
        assert_eq!(visibility::can_read(&harbin, &s, before), Err(Refusal::NotYourRegion), "{role:?}");
    }
}

#[test]
fn g_visibility_evaluator_names_only_from_the_reveal_except_for_the_agency_and_supervisors() {
    let s = scope(Some(grouping()));
    let before = date(2026, 3, 18);
    let after = date(2026, 3, 19);
    assert!(!visibility::sees_evaluator_names(&actor(Role::Institution), &s, before));
    assert!(visibility::sees_evaluator_names(&actor(Role::Institution), &s, after));
    for role in [Role::Agency, Role::Supervisor] {
        assert!(visibility::sees_evaluator_names(&actor(role), &s, before), "{role:?}");
    }
    assert!(!visibility::sees_evaluator_names(&actor(Role::Evaluator), &s, before));
    assert!(visibility::sees_draw_record(&actor(Role::Supervisor)));
    for role in [Role::Institution, Role::Evaluator, Role::Expert, Role::BranchReviewer, Role::Admin] {
        assert!(!visibility::sees_draw_record(&actor(role)), "{role:?}");
    }
    assert!(!visibility::sees_query_code(&actor(Role::Evaluator)));
    assert!(!visibility::sees_query_code(&actor(Role::Expert)));
    assert!(visibility::sees_query_code(&actor(Role::Institution)));
}

#[test]
fn g_visibility_listings_by_role() {
    assert_eq!(visibility::listing(&actor(Role::Institution)), Listing::Institution(1));
    assert_eq!(visibility::listing(&actor(Role::BranchReviewer)), Listing::District { city: "urumqi".into(), district: "650102".into() });
    assert_eq!(visibility::listing(&actor(Role::Evaluator)), Listing::Assigned { city: "urumqi".into() });
    for role in [Role::Agency, Role::Expert, Role::Supervisor, Role::Admin] {
        assert_eq!(visibility::listing(&actor(role)), Listing::City("urumqi".into()), "{role:?}");
    }
    let lost = dingdian_core::lifecycle::Actor { institution_id: None, ..actor(Role::Institution) };
    assert_eq!(visibility::listing(&lost), Listing::Institution(-1));
}

#[test]
fn g_visibility_evaluators_and_experts_do_not_browse_the_registry() {
    let s = Scope::institution(1, "urumqi", "650102");
    for role in [Role::Evaluator, Role::Expert] {
        assert!(matches!(visibility::can_read_institution(&actor(role), &s), Err(Refusal::NotYourRole { .. })), "{role:?}");
    }
    assert_eq!(visibility::can_read_institution(&actor(Role::Agency), &s), Ok(()));
    assert_eq!(visibility::can_read_institution(&actor(Role::Institution), &s), Ok(()));
}

#[test]
fn urc_eval_2_no_score_before_the_visit_day() {
    let (p, cal) = (urumqi(), Calendar::shipped());
    let s = scope(Some(grouping()));
    let me = actor(Role::Evaluator);
    // Revealed on 03-19, but the visit is 03-20.
    assert_eq!(
        score(&p, &cal, date(2026, 3, 19), &s, &me),
        Err(Refusal::TooEarly { earliest: date(2026, 3, 20), rule: "URC-EVAL-2".into() })
    );
    assert_eq!(score(&p, &cal, date(2026, 3, 20), &s, &me), Ok(()));
    // Before the reveal the evaluator cannot even see it.
    assert!(matches!(score(&p, &cal, date(2026, 3, 13), &s, &me), Err(Refusal::NotRevealed { .. })));
}

#[test]
fn urc_eval_1_only_a_grouped_evaluator_scores() {
    let (p, cal) = (urumqi(), Calendar::shipped());
    let other = Grouping { evaluators: vec!["E11".into()], ..grouping() };
    assert_eq!(score(&p, &cal, date(2026, 3, 20), &scope(Some(other)), &actor(Role::Evaluator)), Err(Refusal::NotAssigned));
}

#[test]
fn urc_eval_2_the_sheet_waits_for_every_grouped_evaluator() {
    let (p, cal) = (urumqi(), Calendar::shipped());
    let s = scope(Some(grouping()));
    let ctx = Ctx::new(&p, &cal, date(2026, 3, 20), InstitutionKind::Medical);
    let mut st = on_site();
    st.site_recorded = true;
    st.site_scores = vec![(7, 90)];
    let refused = decide(&ctx, &s, &st, &actor(Role::Institution), &Command::ConfirmScoreSheet);
    assert!(matches!(refused, Err(Refusal::Invalid { field: "score_sheet", .. })), "{refused:?}");
    st.site_scores.push((8, 85));
    assert!(decide(&ctx, &s, &st, &actor(Role::Institution), &Command::ConfirmScoreSheet).is_ok());
}

#[test]
fn urc_eval_1_a_round_must_be_open_to_join() {
    let (p, cal) = (urumqi(), Calendar::shipped());
    let st = AppState { state: State::EvaluatorDraw, ..AppState::default() };
    let s = scope(None);
    let mut ctx = Ctx::new(&p, &cal, date(2026, 3, 12), InstitutionKind::Medical);
    let join = Command::JoinRound { round_id: 3 };
    assert!(matches!(decide(&ctx, &s, &st, &actor(Role::Agency), &join), Err(Refusal::Invalid { field: "round_id", .. })));
    ctx.open_rounds = &[3];
    assert!(decide(&ctx, &s, &st, &actor(Role::Agency), &join).is_ok());
}

/// "What may this actor do now?": the page's forms come from here, so the score form is not
/// offered before the visit day, nor to anyone not grouped.
#[test]
fn urc_eval_2_available_actions_follow_the_days() {
    let (p, cal) = (urumqi(), Calendar::shipped());
    let s = scope(Some(grouping()));
    let me = actor(Role::Evaluator);
    let st = on_site();
    let offered = |day| available(&Ctx::new(&p, &cal, day, InstitutionKind::Medical), &s, &st, &me);
    assert!(offered(date(2026, 3, 13)).is_empty(), "nothing before the reveal");
    assert!(!offered(date(2026, 3, 19)).contains(&"record_site_evaluation"), "not before the visit");
    assert!(offered(date(2026, 3, 20)).contains(&"record_site_evaluation"));
    let agency = available(&Ctx::new(&p, &cal, date(2026, 3, 20), InstitutionKind::Medical), &s, &st, &actor(Role::Agency));
    assert!(!agency.contains(&"record_site_evaluation"));
    assert!(!agency.contains(&"withdraw"), "withdrawing is the institution's");
}

#[test]
fn g_visibility_city_records_are_written_by_their_own_city_only() {
    let agency = actor(Role::Agency);
    assert_eq!(visibility::can_write_registry(&agency, "urumqi"), Ok(()));
    assert_eq!(visibility::can_write_registry(&agency, "harbin"), Err(Refusal::NotYourRegion));
    assert_eq!(visibility::can_write_registry(&actor(Role::Admin), "urumqi"), Ok(()));
    assert!(matches!(visibility::can_write_registry(&actor(Role::Supervisor), "urumqi"), Err(Refusal::NotYourRole { .. })));
    assert_eq!(visibility::can_run_evaluation(&agency, "urumqi"), Ok(()));
    assert_eq!(visibility::can_run_evaluation(&agency, "harbin"), Err(Refusal::NotYourRegion));
    assert!(matches!(visibility::can_run_evaluation(&actor(Role::Admin), "urumqi"), Err(Refusal::NotYourRole { .. })));
    assert_eq!(visibility::can_read_round(&agency, "harbin"), Err(Refusal::NotYourRegion));
}

#[test]
fn urc_eval_1_reveal_is_the_working_day_before_the_visit() {
    let cal = Calendar::shipped();
    // Monday 2026-03-23's visit: revealed on Friday 03-20.
    assert_eq!(visibility::reveal_day(&cal, date(2026, 3, 12), date(2026, 3, 23), 1), Ok(date(2026, 3, 20)));
    // After the National Day holiday (10-01…10-07, 10-10 a working Saturday): 10-09 → 10-08.
    assert_eq!(visibility::reveal_day(&cal, date(2026, 9, 1), date(2026, 10, 9), 1), Ok(date(2026, 10, 8)));
    assert!(matches!(
        visibility::reveal_day(&cal, date(2026, 3, 12), date(2026, 3, 12), 1),
        Err(Refusal::Invalid { field: "visit_on", .. })
    ));
    assert_eq!(visibility::reveal_day(&cal, date(2026, 3, 12), date(2030, 3, 12), 1), Err(Refusal::MissingCalendar(2030)));
    // The far end of the calendar is a refusal, not a panic.
    assert!(visibility::reveal_day(&cal, Date::MIN, Date::MIN, 1).is_err());
}

/// URC-EVAL-1 "于现场评估前日…分组": the grouping is drawn on the calendar day before the visit
/// (a profile may still count working days); a visit on a rest day or holiday must be confirmed.
#[test]
fn urc_eval_1_grouping_day_is_the_day_before_the_visit() {
    let cal = Calendar::shipped();
    // Monday 2026-03-23's visit: grouped on Sunday 03-22, not three days earlier.
    assert_eq!(visibility::grouping_day(&cal, date(2026, 3, 12), date(2026, 3, 23), None, false), Ok(date(2026, 3, 22)));
    assert_eq!(visibility::grouping_day(&cal, date(2026, 3, 12), date(2026, 3, 23), Some(1), false), Ok(date(2026, 3, 20)));
    // Visit tomorrow: grouped today.
    assert_eq!(visibility::grouping_day(&cal, date(2026, 3, 12), date(2026, 3, 13), None, false), Ok(date(2026, 3, 12)));
    assert!(matches!(
        visibility::grouping_day(&cal, date(2026, 3, 12), date(2026, 3, 12), None, false),
        Err(Refusal::Invalid { field: "visit_on", .. })
    ));
    assert_eq!(visibility::grouping_day(&cal, date(2026, 3, 12), date(2030, 3, 12), None, false), Err(Refusal::MissingCalendar(2030)));
    assert!(visibility::grouping_day(&cal, Date::MIN, Date::MIN, None, true).is_err());
}

#[test]
fn urc_eval_1_rest_day_visit_needs_confirmation() {
    let cal = Calendar::shipped();
    // Saturday 2026-03-14; National Day 2026-10-01.
    for visit in [date(2026, 3, 14), date(2026, 10, 1)] {
        let refused = visibility::grouping_day(&cal, date(2026, 3, 2), visit, None, false).unwrap_err();
        assert_eq!(refused, Refusal::RestDayVisit { on: visit });
        assert_eq!(refused.code(), "rest_day_visit");
        assert!(refused.message_zh().contains("休息日") && refused.message_zh().contains(&visit.to_string()));
        assert_eq!(visibility::grouping_day(&cal, date(2026, 3, 2), visit, None, true), Ok(visit.yesterday().unwrap()));
    }
    // A working Saturday (2026-10-10) needs nothing.
    assert_eq!(visibility::grouping_day(&cal, date(2026, 9, 1), date(2026, 10, 10), None, false), Ok(date(2026, 10, 9)));
}

/// URC-EVAL-1: between the two stages a drawn evaluator is answered `not_revealed` for every
/// application of the round — nobody is grouped, so nobody reads and nobody scores.
#[test]
fn urc_eval_1_drawn_evaluator_sees_and_scores_nothing_before_the_grouping() {
    let me = actor(Role::Evaluator);
    let pending = Grouping { evaluators: vec![], pending: Some(vec![ME.into(), "E11".into()]), ..grouping() };
    let s = scope(Some(pending.clone()));
    for day in [date(2026, 3, 12), date(2026, 3, 19), date(2026, 3, 20), date(2026, 4, 1)] {
        assert_eq!(visibility::can_read(&me, &s, day), Err(Refusal::NotRevealed { on: Some(date(2026, 3, 19)) }), "{day}");
        assert!(!pending.revealed(day));
        assert!(!visibility::sees_evaluator_names(&actor(Role::Institution), &s, day));
    }
    let (p, cal) = (urumqi(), Calendar::shipped());
    assert!(score(&p, &cal, date(2026, 3, 20), &s, &me).is_err(), "nobody scores before the grouping, even on the visit day");
    let mut other = actor(Role::Evaluator);
    other.evaluator_id = Some("E99".into());
    assert_eq!(visibility::can_read(&other, &s, date(2026, 3, 20)), Err(Refusal::NotAssigned));
}

#[test]
fn g_draw_round_groups_only_once_drawn_and_only_for_the_agency_and_supervisors() {
    for role in [Role::Agency, Role::Supervisor] {
        assert!(!visibility::sees_round_groups(&actor(role), false), "{role:?}: no grouping yet, nothing to see");
        assert!(visibility::sees_round_groups(&actor(role), true), "{role:?}");
    }
    for role in [Role::Institution, Role::Evaluator, Role::Expert, Role::BranchReviewer, Role::Admin] {
        assert!(!visibility::sees_round_groups(&actor(role), true), "{role:?} never sees a round's groups");
    }
}
