//! Integration tests of the application state machine (`lifecycle::decide` + `AppState::apply`)
//! against the shipped Harbin and Urumqi profiles and the shipped calendar. Every test names the
//! rule it proves (SPEC.md rule IDs).

mod common;

use common::{checked, sources};

use dingdian_core::annex::{Annex1, Attachments, Carrier, LineForm};
use dingdian_core::calendar::Calendar;
use dingdian_core::clocks::{self, ClockStatus, ClockView, Transition};
use dingdian_core::deadline::Pause;
use dingdian_core::lifecycle::{
    ALL_ROLES, ActiveBan, Actor, AppState, ChecklistItem, Command, Ctx, Decision, Event, FileRef, Grouping, InstitutionFacts, Outcome,
    PriorApplication, Problem, Reason, Refusal, Role, Scope, State, SupplementItem, decide,
};
use dingdian_core::policy::{Expiry, FileType, Profile};
use jiff::civil::{Date, date};

// ---------------------------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------------------------

const HARBIN_DISTRICT: &str = "230102";
const URUMQI_DISTRICT: &str = "650102";

/// An account of `role` in `city`, scoped like a real account: branch reviewers carry the
/// district, institutions carry institution 1.
fn actor(role: Role, city: &str) -> Actor {
    if role == Role::System {
        return Actor::system(city);
    }
    let district = match city {
        "harbin" => HARBIN_DISTRICT,
        _ => URUMQI_DISTRICT,
    };
    Actor {
        user_id: 100 + role as i64,
        role,
        city: city.to_owned(),
        district: (role == Role::BranchReviewer).then(|| district.to_owned()),
        institution_id: (role == Role::Institution).then_some(1),
        evaluator_id: (role == Role::Evaluator).then(|| EVALUATOR.to_owned()),
        province: None,
    }
}

/// The test evaluator's pool id; the test applications are grouped with it and revealed from
/// the start, so the role rules are what the lifecycle tests see (visibility has its own tests).
const EVALUATOR: &str = "E1";

fn revealed_grouping() -> Option<Grouping> {
    Some(Grouping { evaluators: vec![EVALUATOR.to_owned()], visit_on: None, reveal_on: Some(date(2026, 1, 1)), pending: None })
}

fn test_institution() -> InstitutionFacts {
    InstitutionFacts { name: "测试医院".into(), national_code: Some("H23010200001".into()) }
}

/// One application driven through `decide` and folded with `apply`, with its transition history
/// kept for the clocks.
#[derive(Clone)]
struct App {
    profile: Profile,
    cal: Calendar,
    city: &'static str,
    scope: Scope,
    state: AppState,
    history: Vec<Transition>,
    events: Vec<Event>,
    today: Date,
    bans: Vec<ActiveBan>,
    /// The institution's earlier applications (G-FOLLOWS).
    prior: Vec<PriorApplication>,
    /// URC-REV-1: the district's planning figures.
    planning: Option<dingdian_core::planning::Assessment>,
}

impl App {
    fn new(index: usize, city: &'static str, district: &str) -> App {
        let profile = Profile::shipped().swap_remove(index);
        assert_eq!(profile.id, city, "shipped profile order changed");
        App {
            profile,
            cal: Calendar::shipped(),
            city,
            scope: Scope { institution_id: 1, city: city.to_owned(), district: district.to_owned(), grouping: revealed_grouping() },
            state: AppState { facts: full_facts(city), ..AppState::default() },
            history: Vec::new(),
            events: Vec::new(),
            today: date(2026, 3, 2),
            bans: Vec::new(),
            prior: Vec::new(),
            planning: None,
        }
    }

    fn harbin() -> App {
        App::new(0, "harbin", HARBIN_DISTRICT)
    }

    fn urumqi() -> App {
        App::new(1, "urumqi", URUMQI_DISTRICT)
    }

    fn actor(&self, role: Role) -> Actor {
        actor(role, self.city)
    }

    fn on(&mut self, d: Date) -> &mut App {
        self.today = d;
        self
    }

    /// Asks without changing anything.
    fn ask(&self, actor: &Actor, cmd: &Command) -> Result<Decision, Refusal> {
        let inst = test_institution();
        let ctx = Ctx {
            profile: &self.profile,
            calendar: &self.cal,
            today: self.today,
            bans: &self.bans,
            kind: dingdian_core::policy::InstitutionKind::Medical,
            history: &[],
            institution: Some(&inst),
            open_rounds: &[1, 7],
            prior: &self.prior,
            planning: self.planning.as_ref(),
        };
        decide(&ctx, &self.scope, &self.state, actor, cmd)
    }

    /// Decides and folds the events; panics on a refusal.
    #[track_caller]
    fn run_as(&mut self, actor: &Actor, cmd: Command) -> Decision {
        let d = self
            .ask(actor, &cmd)
            .unwrap_or_else(|r| panic!("{} by {:?} in {:?} on {} refused: {r:?}", cmd.name(), actor.role, self.state.state, self.today));
        let from = self.state.state;
        for e in &d.events {
            self.state.apply(e, d.to, self.today);
        }
        assert_eq!(self.state.state, d.to, "apply must land in decision.to");
        self.history.push(Transition { from, to: d.to, on: self.today });
        self.events.extend(d.events.iter().cloned());
        d
    }

    #[track_caller]
    fn run(&mut self, role: Role, cmd: Command) -> Decision {
        let a = self.actor(role);
        self.run_as(&a, cmd)
    }

    /// The refusal; panics if the command would be allowed. Changes nothing.
    #[track_caller]
    fn refused_as(&self, actor: &Actor, cmd: &Command) -> Refusal {
        match self.ask(actor, cmd) {
            Ok(d) => panic!("{} by {:?} in {:?} on {} was allowed: {d:?}", cmd.name(), actor.role, self.state.state, self.today),
            Err(r) => r,
        }
    }

    #[track_caller]
    fn refused(&self, role: Role, cmd: Command) -> Refusal {
        self.refused_as(&self.actor(role), &cmd)
    }

    fn clocks(&self) -> Vec<ClockView> {
        clocks::clocks(&self.profile, &self.history, &self.cal, self.today)
    }

    #[track_caller]
    fn clock(&self, id: &str) -> ClockView {
        self.clocks().into_iter().find(|c| c.id == id).unwrap_or_else(|| panic!("clock {id} has not started"))
    }

    fn st(&self) -> State {
        self.state.state
    }
}

// Commands with valid payloads.

fn supplement_notice() -> Command {
    Command::IssueSupplementNotice {
        items: vec![SupplementItem {
            slot: "licence".into(), problem: Problem::Missing, reason: "未上传医疗机构执业许可证副本".into()
        }],
    }
}

fn supplement() -> Command {
    Command::Supplement { note: Some("已补传".into()) }
}

fn pdf(n: u8) -> FileRef {
    FileRef { sha256: format!("{n:02x}").repeat(32), size: 1024, file_type: FileType::Pdf, name: format!("许可证{n}.pdf") }
}

fn attach(slot: &str, n: u8) -> Command {
    Command::AttachMaterial { slot: slot.into(), file: pdf(n) }
}

fn attach_zip(n: u8) -> Command {
    let file = FileRef {
        file_type: FileType::Zip, name: "哈尔滨市处方流转验收材料—2026年4月13日测试医院.zip".into(), ..pdf(n)
    };
    Command::AttachMaterial { slot: "annex2_package".into(), file }
}

fn annex1_form() -> Annex1 {
    Annex1 {
        institution_name: "测试医院".into(),
        national_code: "H23010200001".into(),
        business_address: "哈尔滨市南岗区测试路 1 号".into(),
        carrier: Carrier::Telecom,
        line_form: LineForm::Wired,
        application_date: date(2026, 4, 13),
        security_equipment: true,
        equipment_brand: Some("某品牌".into()),
        equipment_model: Some("FW-100".into()),
        security_rules: true,
        legal_representative: "张三".into(),
        phone: "13800138000".into(),
        attachments: Attachments {
            business_licence_copy: true,
            security_commitment: true,
            security_org_chart: true,
            equipment_photos: true,
        },
        remarks: None,
    }
}

fn training(passed: bool) -> Command {
    Command::RecordTraining { session: "2026 年第 1 期定点培训".into(), attended: true, passed }
}

fn verify(item: ChecklistItem) -> Command {
    Command::VerifyChecklistItem { item, note: "现场核验属实".into() }
}

fn site(score: u16) -> Command {
    Command::RecordSiteEvaluation { score, items: Default::default(), notes: None }
}

fn review_pass() -> Command {
    Command::RecordExpertReview {
        recommendation: Outcome::Pass,
        reasons: vec![],
        rectification: None,
        attendees: vec!["专家甲".into(), "专家乙".into()],
    }
}

fn review_fail(reasons: &[&str], rectification: Option<&str>) -> Command {
    Command::RecordExpertReview {
        recommendation: Outcome::Fail,
        reasons: reasons.iter().map(|s| s.to_string()).collect(),
        rectification: rectification.map(str::to_owned),
        attendees: vec!["专家甲".into(), "专家乙".into()],
    }
}

fn decide_pass() -> Command {
    Command::Decide {
        outcome: Outcome::Pass,
        reasons: vec![],
        rectification: None,
        minutes: Some("集体研究会议纪要".into()),
        attendees: vec!["主任".into()],
        departure_reason: None,
    }
}

fn reasons(texts: &[&str]) -> Vec<Reason> {
    texts.iter().map(|t| Reason { rule: Some("URC-REJ-MED-1".into()), text: t.to_string() }).collect()
}

fn complaint(summary: &str) -> Command {
    Command::RecordComplaint { summary: summary.into() }
}

fn resolve(number: u32, founded: bool) -> Command {
    Command::ResolveComplaint { number, founded, finding: "经调查核实".into() }
}

/// One of every command, with valid payloads.
fn all_commands() -> Vec<Command> {
    vec![
        Command::UpdateDraft { facts: serde_json::Map::new() },
        Command::Submit,
        Command::Withdraw { reason: None },
        supplement_notice(),
        supplement(),
        attach("licence", 1),
        Command::RemoveMaterial { slot: "licence".into(), sha256: pdf(1).sha256 },
        Command::Accept,
        Command::Reject { reasons: reasons(&["主要执业范围为医疗美容"]) },
        Command::ScheduleEvaluation { date: None, note: None },
        Command::PassInitialReview,
        Command::PassVerification { sources: sources() },
        Command::Terminate { reason: "信息不符".into(), sources: sources() },
        Command::JoinRound { round_id: 1 },
        Command::StartSiteEvaluation { round_id: 1 },
        site(80),
        Command::ConfirmScoreSheet,
        review_pass(),
        decide_pass(),
        Command::RequestReevaluation,
        Command::PublishNotice,
        complaint("投诉"),
        resolve(1, false),
        Command::CompletePreparation,
        Command::FailPreparation { reason: "未参加培训".into() },
        Command::Sign { document_sha256: None },
        Command::Countersign { document_sha256: None },
        Command::EndNotice,
        Command::DeemWithdrawn,
        Command::DeemGivenUp,
    ]
}

/// Harbin's happy path: (date, role, command, state after).
#[rustfmt::skip]
fn harbin_path() -> Vec<(Date, Role, Command, State)> {
    use Role::*;
    let schedule = Command::ScheduleEvaluation {
        date: Some(date(2026, 3, 20)),
        note: Some("线下踏查".into()),
    };
    vec![
        (date(2026, 3, 2), Institution, Command::Submit, State::Submitted),
        (date(2026, 3, 4), Agency, supplement_notice(), State::AwaitingSupplement),
        (date(2026, 3, 6), Institution, attach("licence", 2), State::AwaitingSupplement),
        (date(2026, 3, 9), Institution, supplement(), State::Submitted),
        (date(2026, 3, 10), Agency, Command::Accept, State::Accepted),
        (date(2026, 3, 12), Agency, schedule, State::OnSiteEvaluation),
        (date(2026, 3, 20), Agency, site(88), State::ExpertReview),
        (date(2026, 4, 1), Expert, review_pass(), State::Passed),
        (date(2026, 4, 2), Agency, Command::PublishNotice, State::PublicNotice),
        (date(2026, 4, 11), System, Command::EndNotice, State::PresignPreparation),
        (date(2026, 4, 13), Agency, training(true), State::PresignPreparation),
        (date(2026, 4, 13), Institution, attach("evidence_network_security", 11), State::PresignPreparation),
        (date(2026, 4, 13), Institution, attach("annex1_signed", 15), State::PresignPreparation),
        (date(2026, 4, 13), Institution, attach("annex1_materials", 12), State::PresignPreparation),
        (date(2026, 4, 13), Institution, attach("evidence_inventory_interface", 13), State::PresignPreparation),
        (date(2026, 4, 13), Institution, attach_zip(14), State::PresignPreparation),
        (date(2026, 4, 14), Institution, Command::FileAnnex1 { form: annex1_form() }, State::PresignPreparation),
        (date(2026, 4, 14), Institution, Command::RequestAnnex2Acceptance, State::PresignPreparation),
        (date(2026, 4, 15), Agency, Command::ReviewAnnex2 { passed: true, reason: None }, State::PresignPreparation),
        (date(2026, 4, 16), Agency, verify(ChecklistItem::NetworkSecurity), State::PresignPreparation),
        (date(2026, 4, 16), Agency, verify(ChecklistItem::DedicatedLine), State::PresignPreparation),
        (date(2026, 4, 16), Agency, verify(ChecklistItem::InventoryInterface), State::PresignPreparation),
        (date(2026, 4, 17), Agency, Command::RecordStationAcceptance { note: "龙江医保一体化平台验收通过".into() }, State::PresignPreparation),
        (date(2026, 4, 20), Agency, Command::CompletePreparation, State::ReadyToSign),
        (date(2026, 4, 21), Institution, Command::Sign { document_sha256: None }, State::ReadyToSign),
        (date(2026, 4, 22), Agency, Command::Countersign { document_sha256: None }, State::Signed),
    ]
}

/// Urumqi's happy path: (date, role, command, state after).
#[rustfmt::skip]
fn urumqi_path() -> Vec<(Date, Role, Command, State)> {
    use Role::*;
    vec![
        (date(2026, 3, 2), Institution, Command::Submit, State::InitialReview),
        (date(2026, 3, 5), BranchReviewer, Command::PassInitialReview, State::InfoVerification),
        (date(2026, 3, 10), BranchReviewer, Command::PassVerification { sources: sources() }, State::EvaluatorDraw),
        (date(2026, 3, 12), Agency, Command::JoinRound { round_id: 1 }, State::EvaluatorDraw),
        (date(2026, 3, 19), Agency, Command::StartSiteEvaluation { round_id: 1 }, State::OnSiteEvaluation),
        (date(2026, 3, 20), Evaluator, site(91), State::OnSiteEvaluation),
        (date(2026, 3, 20), Institution, Command::ConfirmScoreSheet, State::ExpertReview),
        (date(2026, 3, 25), Expert, review_pass(), State::CollectiveDecision),
        (date(2026, 3, 30), Agency, decide_pass(), State::Passed),
        (date(2026, 4, 1), Agency, Command::FileWithAdministration { round_id: 1 }, State::Passed),
        (date(2026, 4, 2), Admin, Command::AcknowledgeFiling { round_id: 1 }, State::Passed),
        (date(2026, 4, 7), Agency, Command::PublishNotice, State::PublicNotice),
        (date(2026, 4, 18), System, Command::EndNotice, State::ReadyToSign),
        (date(2026, 4, 20), Institution, Command::Sign { document_sha256: None }, State::ReadyToSign),
        (date(2026, 4, 21), Agency, Command::Countersign { document_sha256: None }, State::Signed),
    ]
}

/// Drives `app` along `path` until it first reaches `target`.
#[track_caller]
fn drive_until(mut app: App, path: Vec<(Date, Role, Command, State)>, target: State) -> App {
    for (d, role, cmd, want) in path {
        app.on(d).run(role, cmd);
        assert_eq!(app.st(), want);
        if app.st() == target {
            return app;
        }
    }
    panic!("the path never reaches {target:?}");
}

#[track_caller]
fn harbin_at(target: State) -> App {
    drive_until(App::harbin(), harbin_path(), target)
}

#[track_caller]
fn urumqi_at(target: State) -> App {
    drive_until(App::urumqi(), urumqi_path(), target)
}

fn not_here(state: State, command: &'static str) -> Refusal {
    Refusal::NotAllowedInState { state, command }
}

#[track_caller]
fn assert_invalid(r: Refusal, want_field: &str) {
    match r {
        Refusal::Invalid { field, .. } => assert_eq!(field, want_field, "{r:?}"),
        other => panic!("expected Invalid {{ field: {want_field} }}, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Happy paths
// ---------------------------------------------------------------------------------------------

/// HRB-APPLY, HRB-ACC-1, HRB-ACC-2, HRB-EVAL-1, HRB-EVAL-2, HRB-EVAL-3 (pass), HRB-NOTICE,
/// HRB-PRE-1…3, HRB-SIGN.
#[test]
fn hrb_happy_path_apply_to_sign() {
    use Role::*;
    let mut app = App::harbin();
    assert_eq!(app.st(), State::Draft);

    // HRB-APPLY
    let d = app.on(date(2026, 3, 2)).run(Institution, Command::Submit);
    assert_eq!(d.to, State::Submitted);
    assert!(matches!(&d.events[..], [Event::Submitted { profile_id, unmet, missing_materials, .. }]
        if profile_id == "harbin" && unmet.is_empty() && missing_materials.len() == 8));
    assert_eq!(app.state.submitted_on, Some(date(2026, 3, 2)));
    assert_eq!(app.state.entered_on, Some(date(2026, 3, 2)));

    // HRB-ACC-1: one notice; HRB-ACC-2: due 5 working days later (03-05,06,09,10,11).
    let d = app.on(date(2026, 3, 4)).run(Agency, supplement_notice());
    assert_eq!(d.to, State::AwaitingSupplement);
    match &d.events[..] {
        [Event::SupplementNoticeIssued { items, due }] => {
            assert_eq!(items.len(), 1);
            assert_eq!(*due, Some(date(2026, 3, 11)));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(app.state.supplement_notices, 1);

    // HRB-ACC-2: supplementing needs a new file in every reopened slot.
    assert!(matches!(app.on(date(2026, 3, 9)).refused(Institution, supplement()), Refusal::SupplementIncomplete { .. }));
    app.on(date(2026, 3, 9)).run(Institution, attach("licence", 2));
    let d = app.on(date(2026, 3, 9)).run(Institution, supplement());
    assert_eq!(d.to, State::Submitted);
    assert_eq!(d.events, vec![Event::Supplemented { note: Some("已补传".into()) }]);

    let d = app.on(date(2026, 3, 10)).run(Agency, Command::Accept);
    assert_eq!((d.to, d.events), (State::Accepted, vec![Event::Accepted]));

    // HRB-EVAL-1
    let d = app
        .on(date(2026, 3, 12))
        .run(Agency, Command::ScheduleEvaluation { date: Some(date(2026, 3, 20)), note: Some("  线下踏查 ".into()) });
    assert_eq!(d.to, State::OnSiteEvaluation);
    assert_eq!(d.events, vec![Event::EvaluationScheduled { date: Some(date(2026, 3, 20)), note: Some("线下踏查".into()) }]);

    // Harbin has no score-sheet confirmation: recording moves straight to expert review.
    let d = app.on(date(2026, 3, 20)).run(Agency, site(88));
    assert_eq!(d.to, State::ExpertReview);
    assert!(app.state.site_recorded);

    // HRB-EVAL-2 → HRB-EVAL-3: the result follows the experts directly (no collective decision).
    let d = app.on(date(2026, 4, 1)).run(Expert, review_pass());
    assert_eq!(d.to, State::Passed);
    assert_eq!(
        d.events,
        vec![
            Event::ExpertReviewRecorded {
                recommendation: Outcome::Pass,
                reasons: vec![],
                rectification: None,
                attendees: vec!["专家甲".into(), "专家乙".into()]
            },
            Event::ResultDecided {
                outcome: Outcome::Pass,
                reasons: vec![],
                rectification: None,
                attempt: 1,
                minutes: None,
                attendees: vec![],
                departure_reason: None,
            },
        ]
    );
    assert_eq!(app.state.expert_recommendation, Some(Outcome::Pass));
    assert_eq!(app.state.result_served_on, Some(date(2026, 4, 1)));
    assert_eq!(app.state.failures, 0);

    // HRB-NOTICE: 5 working days from 04-02 skipping Qingming (04-04..06): 04-03, 07, 08, 09, 10.
    let d = app.on(date(2026, 4, 2)).run(Agency, Command::PublishNotice);
    assert_eq!(d.to, State::PublicNotice);
    assert_eq!(d.events, vec![Event::NoticePublished { ends_on: Some(date(2026, 4, 10)) }]);
    assert_eq!(app.state.notice_ends_on, Some(date(2026, 4, 10)));

    assert_eq!(app.on(date(2026, 4, 10)).refused(System, Command::EndNotice), Refusal::NotYetDue { due: Some(date(2026, 4, 10)) });
    let d = app.on(date(2026, 4, 11)).run(System, Command::EndNotice);
    assert_eq!((d.to, d.events), (State::PresignPreparation, vec![Event::NoticeEnded]));
    assert_eq!(app.state.entered_on, Some(date(2026, 4, 11)));

    // HRB-PRE-1…3: every item is needed; what is missing is listed.
    match app.on(date(2026, 4, 13)).refused(Agency, Command::CompletePreparation) {
        Refusal::PreparationIncomplete { missing } => assert_eq!(missing.len(), 7, "{missing:?}"),
        other => panic!("{other:?}"),
    }
    for (d, role, cmd, want) in harbin_path().into_iter().filter(|(d, ..)| *d > date(2026, 4, 11) && *d < date(2026, 4, 20)) {
        app.on(d).run(role, cmd);
        assert_eq!(app.st(), want);
    }
    assert!(app.state.prep.training_passed() && app.state.prep.annex2.accepted && app.state.prep.annex1.is_some());
    let d = app.on(date(2026, 4, 20)).run(Agency, Command::CompletePreparation);
    assert_eq!((d.to, d.events), (State::ReadyToSign, vec![Event::PreparationCompleted]));

    // HRB-SIGN: the institution signs first, then the agency.
    assert_invalid(app.refused(Agency, Command::Countersign { document_sha256: None }), "signature");
    let d = app.on(date(2026, 4, 21)).run(Institution, Command::Sign { document_sha256: None });
    assert_eq!((d.to, d.events), (State::ReadyToSign, vec![Event::InstitutionSigned { document_sha256: None }]));
    assert!(app.state.institution_signed);
    assert_eq!(app.state.entered_on, Some(date(2026, 4, 20)), "signing does not restart the HRB-SIGN window");
    assert_eq!(
        app.refused(Institution, Command::Sign { document_sha256: None }),
        not_here(State::ReadyToSign, "sign"),
        "the institution signs once"
    );
    let d = app.on(date(2026, 4, 22)).run(Agency, Command::Countersign { document_sha256: None });
    assert_eq!((d.to, d.events), (State::Signed, vec![Event::Countersigned { document_sha256: None }]));
    assert!(app.st().is_terminal());
    assert_eq!(app.history.len(), 26);
}

/// URC-APPLY, URC-REV-1, URC-REV-2, URC-EVAL-1…4, URC-RES-1, URC-RES-2, URC-SIGN.
#[test]
fn urc_happy_path_apply_to_sign() {
    use Role::*;
    let mut app = App::urumqi();

    // URC-APPLY: straight to the branch's initial review (no acceptance step).
    let d = app.on(date(2026, 3, 2)).run(Institution, Command::Submit);
    assert_eq!(d.to, State::InitialReview);
    assert!(matches!(&d.events[..], [Event::Submitted { profile_id, unmet, .. }] if profile_id == "urumqi" && unmet.is_empty()));

    // URC-REV-1
    let d = app.on(date(2026, 3, 5)).run(BranchReviewer, Command::PassInitialReview);
    assert_eq!((d.to, d.events), (State::InfoVerification, vec![Event::InitialReviewPassed]));

    // URC-REV-2
    let d = app.on(date(2026, 3, 10)).run(BranchReviewer, Command::PassVerification { sources: sources() });
    assert_eq!((d.to, d.events), (State::EvaluatorDraw, vec![Event::VerificationPassed { sources: checked() }]));

    // URC-EVAL-1: join the round, then start once the draw is done.
    assert_invalid(app.refused(Agency, Command::StartSiteEvaluation { round_id: 1 }), "round_id");
    let d = app.on(date(2026, 3, 12)).run(Agency, Command::JoinRound { round_id: 1 });
    assert_eq!((d.to, d.events), (State::EvaluatorDraw, vec![Event::JoinedRound { round_id: 1 }]));
    assert_eq!(app.state.round_id, Some(1));
    assert_eq!(
        app.refused(Agency, Command::JoinRound { round_id: 2 }),
        not_here(State::EvaluatorDraw, "join_round"),
        "an application is in one round at a time"
    );
    assert_invalid(app.refused(Agency, Command::StartSiteEvaluation { round_id: 2 }), "round_id");
    let d = app.on(date(2026, 3, 19)).run(Agency, Command::StartSiteEvaluation { round_id: 1 });
    assert_eq!((d.to, d.events), (State::OnSiteEvaluation, vec![Event::SiteEvaluationStarted { round_id: 1 }]));

    // URC-EVAL-2: the institution cannot confirm a score sheet that does not exist yet.
    app.on(date(2026, 3, 20));
    assert_invalid(app.refused(Institution, Command::ConfirmScoreSheet), "score_sheet");
    assert_invalid(app.refused(Evaluator, site(101)), "score");
    let d = app.run(Evaluator, site(91));
    assert_eq!(d.to, State::OnSiteEvaluation, "waits for the institution");
    assert!(app.state.site_recorded && !app.state.score_confirmed);
    assert_eq!(app.refused(Evaluator, site(92)), not_here(State::OnSiteEvaluation, "record_site_evaluation"), "the score is recorded once");
    let d = app.run(Institution, Command::ConfirmScoreSheet);
    assert_eq!((d.to, d.events), (State::ExpertReview, vec![Event::ScoreSheetConfirmed]));
    assert!(app.state.score_confirmed);

    // URC-EVAL-3: the experts recommend; the meeting decides (URC-EVAL-4).
    let d = app.on(date(2026, 3, 25)).run(Expert, review_pass());
    assert_eq!(d.to, State::CollectiveDecision);
    assert_eq!(d.events.len(), 1, "no result yet: {:?}", d.events);
    assert_eq!(app.state.result_served_on, None);
    let d = app.on(date(2026, 3, 30)).run(Agency, decide_pass());
    assert_eq!(d.to, State::Passed);
    assert_eq!(
        d.events,
        vec![Event::ResultDecided {
            outcome: Outcome::Pass,
            reasons: vec![],
            rectification: None,
            attempt: 1,
            minutes: Some("集体研究会议纪要".into()),
            attendees: vec!["主任".into()],
            departure_reason: None,
        }]
    );

    // URC-RES-1: the passed list is filed with the administration and acknowledged first.
    let refused = app.on(date(2026, 3, 31)).refused(Agency, Command::PublishNotice);
    assert_eq!(refused, Refusal::FilingNotAcknowledged { rule: "URC-RES-1".into(), filed: false });
    assert_eq!(refused.code(), "filing_not_acknowledged");
    assert_eq!(app.refused(Admin, Command::AcknowledgeFiling { round_id: 1 }), not_here(State::Passed, "acknowledge_filing"));
    assert_invalid(app.refused(Agency, Command::FileWithAdministration { round_id: 2 }), "round_id");
    app.on(date(2026, 4, 1)).run(Agency, Command::FileWithAdministration { round_id: 1 });
    assert_eq!(app.refused(Agency, Command::PublishNotice), Refusal::FilingNotAcknowledged { rule: "URC-RES-1".into(), filed: true });
    assert_eq!(app.refused(Agency, Command::AcknowledgeFiling { round_id: 1 }), Refusal::NotYourRole { required: Admin });
    app.on(date(2026, 4, 2)).run(Admin, Command::AcknowledgeFiling { round_id: 1 });
    assert_eq!(app.state.filing.acknowledged_on, Some(date(2026, 4, 2)));

    // URC-RES-2: 10 calendar days from 04-07 → 04-17 (a Friday).
    let d = app.on(date(2026, 4, 7)).run(Agency, Command::PublishNotice);
    assert_eq!(d.to, State::PublicNotice);
    assert_eq!(app.state.notice_ends_on, Some(date(2026, 4, 17)));
    assert_eq!(app.on(date(2026, 4, 17)).refused(System, Command::EndNotice), Refusal::NotYetDue { due: Some(date(2026, 4, 17)) });
    let d = app.on(date(2026, 4, 18)).run(System, Command::EndNotice);
    assert_eq!((d.to, d.events), (State::ReadyToSign, vec![Event::NoticeEnded]));

    // URC-SIGN
    assert_invalid(app.refused(Agency, Command::Countersign { document_sha256: None }), "signature");
    app.on(date(2026, 4, 20)).run(Institution, Command::Sign { document_sha256: None });
    assert_eq!(app.st(), State::ReadyToSign);
    assert!(app.state.institution_signed);
    let d = app.on(date(2026, 4, 21)).run(Agency, Command::Countersign { document_sha256: None });
    assert_eq!((d.to, d.events), (State::Signed, vec![Event::Countersigned { document_sha256: None }]));
}

/// The Urumqi path also serves pharmacies (URC-SCOPE): the same steps, driven from the table.
#[test]
fn urc_path_table_reaches_signed() {
    let app = urumqi_at(State::Signed);
    assert_eq!(app.history.len(), 15, "13 steps, and the filing with its acknowledgement (URC-RES-1)");
    assert!(
        app.history.iter().all(|t| !matches!(t.to, State::Submitted | State::Accepted)),
        "URC has no acceptance step: {:?}",
        app.history
    );
}

// ---------------------------------------------------------------------------------------------
// Acceptance and supplement (HRB-ACC-*, G-ONE-NOTICE)
// ---------------------------------------------------------------------------------------------

/// G-ONE-NOTICE: after supplementing the application is back in `submitted`, and a second
/// supplement notice is refused.
#[test]
fn g_one_notice_second_supplement_notice_refused() {
    let mut app = harbin_at(State::Submitted);
    // The notice must list something real, once each, with reasons (HRB-ACC-1).
    assert_invalid(app.refused(Role::Agency, Command::IssueSupplementNotice { items: vec![] }), "items");
    let bad_slot = Command::IssueSupplementNotice {
        items: vec![SupplementItem { slot: "no_such_slot".into(), problem: Problem::Missing, reason: "缺".into() }],
    };
    assert_invalid(app.refused(Role::Agency, bad_slot), "items");
    let twice = Command::IssueSupplementNotice {
        items: vec![
            SupplementItem { slot: "licence".into(), problem: Problem::Missing, reason: "缺".into() },
            SupplementItem { slot: "licence".into(), problem: Problem::Defective, reason: "不清晰".into() },
        ],
    };
    assert_invalid(app.refused(Role::Agency, twice), "items");

    app.on(date(2026, 3, 4)).run(Role::Agency, supplement_notice());
    assert_eq!(app.st(), State::AwaitingSupplement);
    assert_eq!(app.refused(Role::Agency, supplement_notice()), not_here(State::AwaitingSupplement, "issue_supplement_notice"));
    app.on(date(2026, 3, 9)).run(Role::Institution, attach("licence", 3));
    app.on(date(2026, 3, 9)).run(Role::Institution, supplement());
    assert_eq!(app.st(), State::Submitted);
    assert_eq!(app.refused(Role::Agency, supplement_notice()), Refusal::SecondSupplementNotice);
    // Acceptance is still possible.
    app.on(date(2026, 3, 10)).run(Role::Agency, Command::Accept);
    assert_eq!(app.st(), State::Accepted);
}

/// Drives a Harbin application to `awaiting_supplement` with the notice issued on 2026-09-30.
fn harbin_notice_before_national_day() -> App {
    let mut app = App::harbin();
    app.on(date(2026, 9, 28)).run(Role::Institution, Command::Submit);
    let d = app.on(date(2026, 9, 30)).run(Role::Agency, supplement_notice());
    app.on(date(2026, 9, 30)).run(Role::Institution, attach("licence", 3));
    // LAW-WD: 10-08, 10-09, 10-10 (adjusted working day), 10-12, 10-13.
    assert_eq!(
        d.events,
        vec![Event::SupplementNoticeIssued {
            items: match supplement_notice() {
                Command::IssueSupplementNotice { items } => items,
                _ => unreachable!(),
            },
            due: Some(date(2026, 10, 13)),
        }]
    );
    app
}

/// HRB-ACC-2 / LAW-WD: deemed withdrawn only once the 5th working day after the notice is over.
#[test]
fn hrb_acc_2_deem_withdrawn_only_after_fifth_working_day() {
    let mut app = harbin_notice_before_national_day();
    for d in [date(2026, 10, 1), date(2026, 10, 8), date(2026, 10, 13)] {
        assert_eq!(app.on(d).refused(Role::System, Command::DeemWithdrawn), Refusal::NotYetDue { due: Some(date(2026, 10, 13)) }, "on {d}");
    }
    assert!(matches!(app.refused(Role::Agency, Command::DeemWithdrawn), Refusal::NotYourRole { required: Role::System }));
    let d = app.on(date(2026, 10, 14)).run(Role::System, Command::DeemWithdrawn);
    assert_eq!(d.to, State::Withdrawn);
    match &d.events[..] {
        [Event::Withdrawn { reason, deemed }] => {
            assert!(*deemed);
            assert!(reason.as_deref().unwrap_or("").contains("HRB-ACC-2"));
        }
        other => panic!("{other:?}"),
    }
    // Exactly once (G-CLOCKS): a second firing is refused.
    assert_eq!(app.refused(Role::System, Command::DeemWithdrawn), not_here(State::Withdrawn, "deem_withdrawn"));
}

/// HRB-ACC-2: a supplement within the period saves the application (last day included).
#[test]
fn hrb_acc_2_supplement_on_last_day_is_in_time() {
    let mut app = harbin_notice_before_national_day();
    app.on(date(2026, 10, 13)).run(Role::Institution, supplement());
    assert_eq!(app.st(), State::Submitted);
    assert_eq!(app.on(date(2026, 10, 14)).refused(Role::System, Command::DeemWithdrawn), not_here(State::Submitted, "deem_withdrawn"));
}

/// HRB-ACC-2: "otherwise the application is deemed withdrawn" — once the 5 working days have
/// run out, the institution can no longer supplement, even if the system has not fired yet
/// (the automatic consequence may run late, G-CLOCKS).
#[test]
fn hrb_acc_2_supplement_after_period_is_refused() {
    let app = harbin_notice_before_national_day();
    let r = app.ask(&actor(Role::Institution, "harbin"), &supplement()).map(|d| d.to);
    assert!(r.is_ok(), "in time on 2026-09-30: {r:?}");
    let mut late = harbin_notice_before_national_day();
    late.on(date(2026, 10, 14));
    let r = late.ask(&late.actor(Role::Institution), &supplement());
    assert!(r.is_err(), "supplement on 2026-10-14, after the HRB-ACC-2 due date 2026-10-13, was allowed: {r:?}");
}

// ---------------------------------------------------------------------------------------------
// Signing window (HRB-SIGN, URC-SIGN)
// ---------------------------------------------------------------------------------------------

/// HRB-SIGN / LAW-WD: 10 working days from 04-20, skipping May Day (05-01..05) → 05-07.
#[test]
fn hrb_sign_deem_given_up_after_window() {
    let mut app = harbin_at(State::ReadyToSign);
    assert_eq!(app.state.entered_on, Some(date(2026, 4, 20)));
    assert_eq!(app.on(date(2026, 5, 7)).refused(Role::System, Command::DeemGivenUp), Refusal::NotYetDue { due: Some(date(2026, 5, 7)) });
    assert_eq!(app.clock("signing").due.due, Some(date(2026, 5, 7)));
    let d = app.on(date(2026, 5, 8)).run(Role::System, Command::DeemGivenUp);
    assert_eq!(d.to, State::GivenUp);
    match &d.events[..] {
        // Harbin's profile has no ban for missing the signing window.
        [Event::GivenUp { reason, deemed }] => {
            assert!(*deemed);
            assert!(reason.contains("HRB-SIGN"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(app.refused(Role::Institution, Command::Sign { document_sha256: None }), not_here(State::GivenUp, "sign"));
}

/// HRB-SIGN: "within 10 working days … else deemed to give up" — once the window has run out the
/// institution can no longer sign, even if the system has not fired deem_given_up yet.
#[test]
fn hrb_sign_institution_sign_after_window_is_refused() {
    let mut app = harbin_at(State::ReadyToSign);
    assert!(
        app.on(date(2026, 5, 7)).ask(&actor(Role::Institution, "harbin"), &Command::Sign { document_sha256: None }).is_ok(),
        "last day of the window is in time"
    );
    let r = app.on(date(2026, 5, 8)).ask(&actor(Role::Institution, "harbin"), &Command::Sign { document_sha256: None });
    assert!(r.is_err(), "sign on 2026-05-08, after the HRB-SIGN due date 2026-05-07, was allowed: {r:?}");
}

/// URC-SIGN ("公示期满后，10日内"): 10 calendar days from the notice's last day (04-17), not from
/// the day the system closed it (ready_to_sign entered 04-18) → 04-27.
#[test]
fn urc_sign_deem_given_up_after_window() {
    let mut app = urumqi_at(State::ReadyToSign);
    assert_eq!((app.state.notice_ends_on, app.state.entered_on), (Some(date(2026, 4, 17)), Some(date(2026, 4, 18))));
    assert_eq!(app.on(date(2026, 4, 27)).refused(Role::System, Command::DeemGivenUp), Refusal::NotYetDue { due: Some(date(2026, 4, 27)) });
    let d = app.on(date(2026, 4, 28)).run(Role::System, Command::DeemGivenUp);
    assert_eq!(d.to, State::GivenUp);
    match &d.events[..] {
        [Event::GivenUp { reason, deemed }] => {
            assert!(*deemed);
            assert!(reason.contains("URC-SIGN"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Results, re-evaluation and bans (HRB-EVAL-3, HRB-PRE-4, G-BANS)
// ---------------------------------------------------------------------------------------------

/// HRB-EVAL-3 / LAW-MONTH: a first failure needs reasons and rectification advice; re-evaluation
/// no sooner than 3 months after the result is served; a second failure is final with a 1-year ban.
#[test]
fn hrb_eval_3_fail_rectify_reevaluate_fail_again_banned() {
    use Role::*;
    let mut app = harbin_at(State::ExpertReview);
    app.on(date(2026, 3, 31));
    // HRB-EVAL-2 / URC-EVAL-3: "not passed" without reasons has its own code.
    let no_reasons = Refusal::ReasonsRequired { rule: "HRB-EVAL-2".into() };
    assert_eq!(app.refused(Expert, review_fail(&[], Some("整改"))), no_reasons);
    assert_eq!(app.refused(Expert, review_fail(&["  "], Some("整改"))), no_reasons);
    assert_invalid(app.refused(Expert, review_fail(&["制度不健全"], None)), "rectification");
    assert_invalid(app.refused(Expert, review_fail(&["制度不健全"], Some(" "))), "rectification");

    let d = app.run(Expert, review_fail(&["制度不健全"], Some("完善医保管理制度")));
    assert_eq!(d.to, State::FailedRectifying);
    assert_eq!(d.events.len(), 2, "no ban on a first failure: {:?}", d.events);
    assert!(matches!(d.events[1], Event::ResultDecided { outcome: Outcome::Fail, attempt: 1, .. }));
    assert_eq!(app.state.failures, 1);
    assert_eq!(app.state.result_served_on, Some(date(2026, 3, 31)));

    // LAW-MONTH: 03-31 + 3 months has no 06-31, so the period ends on 06-30; with 民法典
    // arts. 201–202 the wait covers 06-30 and re-evaluation is possible from 07-01.
    for d in [date(2026, 4, 1), date(2026, 6, 29), date(2026, 6, 30)] {
        assert_eq!(
            app.on(d).refused(Institution, Command::RequestReevaluation),
            Refusal::TooEarly { earliest: date(2026, 7, 1), rule: "HRB-EVAL-3".into() },
            "on {d}"
        );
    }
    assert!(matches!(app.refused(Agency, Command::RequestReevaluation), Refusal::NotYourRole { required: Role::Institution }));
    let d = app.on(date(2026, 7, 1)).run(Institution, Command::RequestReevaluation);
    assert_eq!((d.to, d.events), (State::OnSiteEvaluation, vec![Event::ReevaluationRequested]));
    assert!(!app.state.site_recorded);
    assert_eq!(app.state.expert_recommendation, None);

    app.on(date(2026, 7, 10)).run(Agency, site(60));
    assert_eq!(app.st(), State::ExpertReview);
    let d = app.on(date(2026, 7, 20)).run(Expert, review_fail(&["整改不到位"], None));
    assert_eq!(d.to, State::FailedFinal);
    assert_eq!(app.state.failures, 2);
    match &d.events[..] {
        [
            Event::ExpertReviewRecorded { .. },
            Event::ResultDecided { outcome: Outcome::Fail, attempt: 2, .. },
            Event::BanImposed { rule, until, .. },
        ] => {
            assert_eq!(rule, "HRB-EVAL-3");
            assert_eq!(*until, date(2027, 7, 20));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(app.refused(Institution, Command::RequestReevaluation), not_here(State::FailedFinal, "request_reevaluation"));
}

/// URC-RES-1: a failure at the collective decision; re-evaluation re-enters the evaluator draw.
#[test]
fn urc_res_1_fail_then_reevaluation_reenters_draw() {
    use Role::*;
    let mut app = urumqi_at(State::CollectiveDecision);
    app.on(date(2026, 3, 30));
    let d = app.run(
        Agency,
        Command::Decide {
            outcome: Outcome::Fail,
            reasons: vec!["进销存台账不全".into()],
            rectification: Some("补建台账".into()),
            minutes: Some("集体研究会议纪要".into()),
            attendees: vec!["主任".into()],
            departure_reason: Some("会议复核现场评估记录，认定台账不全".into()),
        },
    );
    assert_eq!(d.to, State::FailedRectifying);
    // 3 months from 03-30 end on 06-30 (民法典 arts. 201–202): re-evaluation from 07-01.
    assert_eq!(
        app.on(date(2026, 6, 30)).refused(Institution, Command::RequestReevaluation),
        Refusal::TooEarly { earliest: date(2026, 7, 1), rule: "URC-RES-1".into() }
    );
    app.on(date(2026, 7, 1)).run(Institution, Command::RequestReevaluation);
    assert_eq!(app.st(), State::EvaluatorDraw);
    assert_eq!(app.state.round_id, None, "must join a new round");
    app.run(Agency, Command::JoinRound { round_id: 7 });
    assert_eq!(app.state.round_id, Some(7));
}

/// HRB-PRE-4: failing pre-signing preparation → deemed to give up, banned for 1 year.
#[test]
fn hrb_pre_4_fail_preparation_gives_up_with_ban() {
    let mut app = harbin_at(State::PresignPreparation);
    app.on(date(2026, 4, 15));
    assert_invalid(app.refused(Role::Agency, Command::FailPreparation { reason: "   ".into() }), "reason");
    let d = app.run(Role::Agency, Command::FailPreparation { reason: "培训考试两次未通过".into() });
    assert_eq!(d.to, State::GivenUp);
    assert_eq!(
        d.events,
        vec![
            Event::PreparationFailed { reason: "培训考试两次未通过".into() },
            Event::BanImposed { rule: "HRB-PRE-4".into(), until: date(2027, 4, 15), reason: "培训考试两次未通过".into() },
        ]
    );
}

/// G-BANS: a submission inside a ban is refused with the date it ends (the latest ban wins);
/// an expired ban does not stop it.
#[test]
fn g_bans_submit_refused_while_banned() {
    let mut app = App::harbin();
    app.on(date(2026, 5, 6));
    app.bans = vec![
        ActiveBan { rule: "HRB-PRE-4".into(), until: date(2026, 12, 1), reason: "x".into() },
        ActiveBan { rule: "HRB-EVAL-3".into(), until: date(2027, 1, 1), reason: "再次评估未通过".into() },
        ActiveBan { rule: "HRB-PRE-4".into(), until: date(2025, 1, 1), reason: "old".into() },
    ];
    assert_eq!(app.refused(Role::Institution, Command::Submit), Refusal::Banned { until: date(2027, 1, 1), rule: "HRB-EVAL-3".into() });
    app.bans = vec![ActiveBan { rule: "HRB-EVAL-3".into(), until: date(2026, 5, 7), reason: "x".into() }];
    assert_eq!(app.refused(Role::Institution, Command::Submit), Refusal::Banned { until: date(2026, 5, 7), rule: "HRB-EVAL-3".into() });
    // The ban covers its last day (民法典 arts. 201–202)…
    app.bans = vec![ActiveBan { rule: "HRB-EVAL-3".into(), until: date(2026, 5, 6), reason: "x".into() }];
    assert_eq!(app.refused(Role::Institution, Command::Submit), Refusal::Banned { until: date(2026, 5, 6), rule: "HRB-EVAL-3".into() });
    // …and is over from the day after.
    for until in [date(2026, 5, 4), date(2026, 5, 5)] {
        app.bans = vec![ActiveBan { rule: "HRB-EVAL-3".into(), until, reason: "x".into() }];
        assert!(app.ask(&app.actor(Role::Institution), &Command::Submit).is_ok(), "ban until {until} has expired on {}", app.today);
    }
    app.run(Role::Institution, Command::Submit);
    assert_eq!(app.st(), State::Submitted);
}

// ---------------------------------------------------------------------------------------------
// Public notice and complaints (URC-RES-2)
// ---------------------------------------------------------------------------------------------

/// URC-RES-2: an open complaint holds the notice; an unfounded finding after the notice end
/// moves the application on.
#[test]
fn urc_res_2_open_complaint_blocks_end_notice_unfounded_moves_on() {
    use Role::*;
    let mut app = urumqi_at(State::PublicNotice);
    assert_invalid(app.on(date(2026, 4, 10)).refused(Agency, complaint(" ")), "summary");
    let d = app.run(Agency, complaint("从业人员非本机构注册"));
    assert_eq!(d.to, State::PublicNotice);
    assert_eq!(d.events, vec![Event::ComplaintRecorded { number: 1, summary: "从业人员非本机构注册".into() }]);
    assert_eq!(app.state.open_complaints(), 1);
    assert_eq!(app.state.entered_on, Some(date(2026, 4, 7)), "a complaint does not restart the notice");
    assert_invalid(app.refused(Agency, resolve(2, false)), "number");

    assert_eq!(app.on(date(2026, 4, 18)).refused(System, Command::EndNotice), Refusal::OpenComplaints);
    assert_eq!(app.st(), State::PublicNotice);

    let d = app.on(date(2026, 4, 20)).run(Agency, resolve(1, false));
    assert_eq!(d.to, State::ReadyToSign);
    assert_eq!(d.events, vec![Event::ComplaintResolved { number: 1, founded: false, finding: "经调查核实".into() }, Event::NoticeEnded,]);
    assert_eq!(app.state.open_complaints(), 0);
}

/// URC-RES-2: resolved as unfounded during the notice — the notice runs its course.
#[test]
fn urc_res_2_unfounded_during_notice_then_end_notice() {
    use Role::*;
    let mut app = urumqi_at(State::PublicNotice);
    app.on(date(2026, 4, 9)).run(Agency, complaint("a"));
    let d = app.on(date(2026, 4, 12)).run(Agency, resolve(1, false));
    assert_eq!(d.to, State::PublicNotice, "notice not over yet");
    assert_eq!(d.events.len(), 1);
    assert_invalid(app.refused(Agency, resolve(1, false)), "number");
    assert_eq!(app.on(date(2026, 4, 17)).refused(System, Command::EndNotice), Refusal::NotYetDue { due: Some(date(2026, 4, 17)) });
    app.on(date(2026, 4, 18)).run(System, Command::EndNotice);
    assert_eq!(app.st(), State::ReadyToSign);
}

/// URC-RES-2: a founded complaint means no agreement, even with others still open.
#[test]
fn urc_res_2_founded_complaint_not_signed() {
    use Role::*;
    let mut app = urumqi_at(State::PublicNotice);
    app.on(date(2026, 4, 9)).run(Agency, complaint("a"));
    app.run(Agency, complaint("b"));
    assert_eq!(app.state.open_complaints(), 2);
    app.on(date(2026, 4, 19)).run(Agency, resolve(1, false));
    assert_eq!(app.st(), State::PublicNotice, "complaint 2 still open");
    assert_eq!(app.refused(System, Command::EndNotice), Refusal::OpenComplaints);
    let d = app.run(Agency, resolve(2, true));
    assert_eq!(d.to, State::NotSigned);
    assert_eq!(d.events, vec![Event::ComplaintResolved { number: 2, founded: true, finding: "经调查核实".into() }]);
}

// ---------------------------------------------------------------------------------------------
// Rejection, termination, withdrawal, terminal states
// ---------------------------------------------------------------------------------------------

/// URC-REV-1: 不予受理 states its reasons; without reasons it is refused.
#[test]
fn urc_rev_1_reject_needs_reasons() {
    let mut app = urumqi_at(State::InitialReview);
    assert_invalid(app.refused(Role::BranchReviewer, Command::Reject { reasons: vec![] }), "reasons");
    assert_invalid(app.refused(Role::BranchReviewer, Command::Reject { reasons: reasons(&["主要执业范围为医疗美容", "  "]) }), "reasons");
    assert_eq!(
        app.refused(Role::Agency, Command::Reject { reasons: reasons(&["x"]) }),
        Refusal::NotYourRole { required: Role::BranchReviewer }
    );
    let d = app.run(Role::BranchReviewer, Command::Reject { reasons: reasons(&["主要执业范围为医疗美容"]) });
    assert_eq!(d.to, State::Rejected);
    assert_eq!(d.events, vec![Event::Rejected { reasons: reasons(&["主要执业范围为医疗美容"]) }]);
}

/// HRB-ACC-1: Harbin's agency may return (不予受理) a submitted application, with reasons.
#[test]
fn hrb_acc_1_reject_by_agency() {
    let mut app = harbin_at(State::Submitted);
    assert_eq!(
        app.refused(Role::BranchReviewer, Command::Reject { reasons: reasons(&["x"]) }),
        Refusal::NotYourRole { required: Role::Agency }
    );
    app.run(Role::Agency, Command::Reject { reasons: reasons(&["不属于定点范围"]) });
    assert_eq!(app.st(), State::Rejected);
}

/// URC-REV-2: a mismatch in information verification terminates the application.
#[test]
fn urc_rev_2_terminate() {
    let mut app = urumqi_at(State::InfoVerification);
    assert_invalid(app.refused(Role::BranchReviewer, Command::Terminate { reason: "".into(), sources: sources() }), "reason");
    let d = app.run(Role::BranchReviewer, Command::Terminate { reason: "企业信用信息与申报不符".into(), sources: sources() });
    assert_eq!(d.to, State::Terminated);
    assert_eq!(d.events, vec![Event::Terminated { reason: "企业信用信息与申报不符".into(), sources: checked() }]);
}

/// The institution may withdraw from any non-terminal state.
#[test]
fn withdraw_by_institution() {
    let targets = [State::Submitted, State::AwaitingSupplement, State::OnSiteEvaluation, State::PublicNotice, State::ReadyToSign];
    for target in targets {
        let mut app = harbin_at(target);
        let d = app.run(Role::Institution, Command::Withdraw { reason: Some("  不再申请 ".into()) });
        assert_eq!(d.to, State::Withdrawn, "from {target:?}");
        assert_eq!(d.events, vec![Event::Withdrawn { reason: Some("不再申请".into()), deemed: false }]);
    }
    let mut app = urumqi_at(State::EvaluatorDraw);
    app.run(Role::Institution, Command::Withdraw { reason: None });
    assert_eq!(app.st(), State::Withdrawn);
    // Even a draft.
    let mut app = App::harbin();
    app.run(Role::Institution, Command::Withdraw { reason: None });
    assert_eq!(app.st(), State::Withdrawn);
}

/// Nothing moves an application out of a terminal state: every command from every role is
/// refused, and the refusal is about the state (or the role), never accepted.
#[test]
fn terminal_states_refuse_every_command() {
    let mut apps = Vec::new();

    let mut a = harbin_at(State::Submitted);
    a.run(Role::Institution, Command::Withdraw { reason: None });
    apps.push(a);
    apps.push(harbin_at(State::Signed));
    apps.push(urumqi_at(State::Signed));
    let mut a = urumqi_at(State::InitialReview);
    a.run(Role::BranchReviewer, Command::Reject { reasons: reasons(&["x"]) });
    apps.push(a);
    let mut a = urumqi_at(State::InfoVerification);
    a.run(Role::BranchReviewer, Command::Terminate { reason: "x".into(), sources: sources() });
    apps.push(a);
    let mut a = harbin_at(State::PresignPreparation);
    a.run(Role::Agency, Command::FailPreparation { reason: "x".into() });
    apps.push(a);

    for app in &mut apps {
        let state = app.st();
        assert!(state.is_terminal(), "{state:?}");
        app.on(date(2026, 12, 1));
        for cmd in all_commands() {
            let mut about_state = false;
            for &role in ALL_ROLES {
                match app.ask(&app.actor(role), &cmd) {
                    Ok(d) => panic!("{} by {role:?} allowed in terminal {state:?} ({}): {d:?}", cmd.name(), app.city),
                    Err(Refusal::NotAllowedInState { state: s, command }) => {
                        assert_eq!((s, command), (state, cmd.name()));
                        about_state = true;
                    }
                    Err(Refusal::NotYourRole { .. }) => {}
                    Err(other) => panic!("{} by {role:?} in terminal {state:?}: unexpected {other:?}", cmd.name()),
                }
            }
            assert!(about_state, "{} in {state:?}: no role got NotAllowedInState", cmd.name());
        }
        assert_eq!(app.refused(Role::Institution, Command::Withdraw { reason: None }), not_here(state, "withdraw"));
    }
}

// ---------------------------------------------------------------------------------------------
// Authorization
// ---------------------------------------------------------------------------------------------

/// Institutions act only on their own applications.
#[test]
fn auth_other_institution_refused() {
    let app = harbin_at(State::ReadyToSign);
    let mut other = app.actor(Role::Institution);
    other.institution_id = Some(2);
    for cmd in [Command::Sign { document_sha256: None }, Command::Withdraw { reason: None }, Command::Submit] {
        assert_eq!(app.refused_as(&other, &cmd), Refusal::NotYourInstitution, "{}", cmd.name());
    }
    let mut no_inst = app.actor(Role::Institution);
    no_inst.institution_id = None;
    assert_eq!(app.refused_as(&no_inst, &Command::Sign { document_sha256: None }), Refusal::NotYourInstitution);
}

/// Staff act only in their own city; branch reviewers only in their own district.
#[test]
fn auth_other_region_refused() {
    let app = urumqi_at(State::InitialReview);
    let harbin_agency = actor(Role::Agency, "harbin");
    for cmd in [Command::PublishNotice, Command::JoinRound { round_id: 1 }, Command::Withdraw { reason: None }] {
        assert_eq!(app.refused_as(&harbin_agency, &cmd), Refusal::NotYourRegion, "{}", cmd.name());
    }
    let harbin_branch = actor(Role::BranchReviewer, "harbin");
    assert_eq!(app.refused_as(&harbin_branch, &Command::PassInitialReview), Refusal::NotYourRegion);
    let mut other_district = app.actor(Role::BranchReviewer);
    other_district.district = Some("650103".into());
    assert_eq!(app.refused_as(&other_district, &Command::PassInitialReview), Refusal::NotYourRegion);
    other_district.district = None;
    assert_eq!(app.refused_as(&other_district, &Command::PassInitialReview), Refusal::NotYourRegion);
    // The right district passes the scope check.
    assert!(app.ask(&app.actor(Role::BranchReviewer), &Command::PassInitialReview).is_ok());
    for role in [Role::Evaluator, Role::Expert, Role::Supervisor, Role::Admin] {
        assert_eq!(app.refused_as(&actor(role, "harbin"), &Command::PassInitialReview), Refusal::NotYourRegion, "{role:?}");
    }
}

/// Each command belongs to one role (fixed, or the actor of the profile step); every other role
/// is refused with NotYourRole naming the right one.
#[test]
fn auth_commands_of_another_role_refused() {
    use Role::*;
    let harbin = harbin_at(State::Submitted);
    let harbin_cmds: Vec<(Command, Role)> = vec![
        (Command::Submit, Institution),
        (Command::Withdraw { reason: None }, Institution),
        (supplement(), Institution),
        (Command::ConfirmScoreSheet, Institution),
        (Command::RequestReevaluation, Institution),
        (Command::Sign { document_sha256: None }, Institution),
        (Command::UpdateDraft { facts: serde_json::Map::new() }, Institution),
        (supplement_notice(), Agency),
        (Command::Accept, Agency),
        (Command::Reject { reasons: reasons(&["x"]) }, Agency),
        (Command::ScheduleEvaluation { date: None, note: None }, Agency),
        (site(80), Agency),
        (review_pass(), Expert),
        (Command::PublishNotice, Agency),
        (complaint("x"), Agency),
        (resolve(1, false), Agency),
        (Command::CompletePreparation, Agency),
        (Command::FailPreparation { reason: "x".into() }, Agency),
        (Command::Countersign { document_sha256: None }, Agency),
        (Command::EndNotice, System),
        (Command::DeemWithdrawn, System),
        (Command::DeemGivenUp, System),
    ];
    let urumqi = urumqi_at(State::InitialReview);
    let urumqi_cmds: Vec<(Command, Role)> = vec![
        (Command::Submit, Institution),
        (Command::ConfirmScoreSheet, Institution),
        (Command::Sign { document_sha256: None }, Institution),
        (Command::Reject { reasons: reasons(&["x"]) }, BranchReviewer),
        (Command::PassInitialReview, BranchReviewer),
        (Command::PassVerification { sources: sources() }, BranchReviewer),
        (Command::Terminate { reason: "x".into(), sources: sources() }, BranchReviewer),
        (Command::JoinRound { round_id: 1 }, Agency),
        (Command::StartSiteEvaluation { round_id: 1 }, Agency),
        (site(80), Evaluator),
        (review_pass(), Expert),
        (decide_pass(), Agency),
        (Command::PublishNotice, Agency),
        (Command::Countersign { document_sha256: None }, Agency),
        (Command::EndNotice, System),
        (Command::DeemGivenUp, System),
    ];
    for (app, cmds) in [(&harbin, harbin_cmds), (&urumqi, urumqi_cmds)] {
        for (cmd, required) in cmds {
            for &role in ALL_ROLES {
                let r = app.ask(&app.actor(role), &cmd);
                // HRB-NOTICE / URC-RES-2: the system records complaints filed by the public.
                let public_complaint = role == System && matches!(cmd, Command::RecordComplaint { .. });
                if role == required || public_complaint {
                    assert!(
                        !matches!(r, Err(Refusal::NotYourRole { .. })),
                        "{} by its own role {role:?} ({}): {r:?}",
                        cmd.name(),
                        app.city
                    );
                } else {
                    assert_eq!(r, Err(Refusal::NotYourRole { required }), "{} by {role:?} ({})", cmd.name(), app.city);
                }
            }
        }
    }
    // The examples named in the brief, spelled out.
    assert_eq!(harbin.refused(Agency, Command::Submit), Refusal::NotYourRole { required: Institution });
    assert_eq!(harbin.refused(Institution, Command::Accept), Refusal::NotYourRole { required: Agency });
    for role in [Institution, BranchReviewer, Agency, Evaluator, Expert, Supervisor, Admin] {
        assert_eq!(harbin.refused(role, Command::EndNotice), Refusal::NotYourRole { required: System }, "{role:?}");
    }
}

/// Supervisors (纪检监察) and administrators only read: every command they send, in every state
/// of both happy paths, is refused.
#[test]
fn auth_supervisor_and_admin_cannot_act() {
    for (mut app, path) in [(App::harbin(), harbin_path()), (App::urumqi(), urumqi_path())] {
        let mut path = path.into_iter();
        loop {
            for role in [Role::Supervisor, Role::Admin] {
                for cmd in all_commands() {
                    match app.ask(&app.actor(role), &cmd) {
                        Err(Refusal::NotYourRole { required }) => {
                            assert_ne!(required, role)
                        }
                        // The command's step is not in this profile at all.
                        Err(Refusal::NotAllowedInState { .. }) => {}
                        other => panic!("{} by {role:?} in {:?} ({}): {other:?}", cmd.name(), app.st(), app.city),
                    }
                }
                for fixed in [Command::Submit, Command::Sign { document_sha256: None }, Command::EndNotice] {
                    assert!(matches!(app.ask(&app.actor(role), &fixed), Err(Refusal::NotYourRole { .. })), "{}", fixed.name());
                }
            }
            let Some((d, role, cmd, _)) = path.next() else {
                break;
            };
            app.on(d).run(role, cmd);
        }
    }
}

/// A command whose step the profile does not have is not allowed in any state.
#[test]
fn step_missing_from_profile_refused() {
    let urumqi = urumqi_at(State::InitialReview);
    for cmd in [
        supplement_notice(),
        Command::Accept,
        Command::ScheduleEvaluation { date: None, note: None },
        Command::CompletePreparation,
        Command::FailPreparation { reason: "x".into() },
    ] {
        for role in [Role::Agency, Role::BranchReviewer, Role::Institution] {
            assert_eq!(
                urumqi.refused(role, cmd.clone()),
                not_here(State::InitialReview, cmd.name()),
                "{} by {role:?} on Urumqi",
                cmd.name()
            );
        }
    }
    let harbin = harbin_at(State::Submitted);
    for cmd in [
        Command::PassInitialReview,
        Command::PassVerification { sources: sources() },
        Command::Terminate { reason: "x".into(), sources: sources() },
        Command::JoinRound { round_id: 1 },
        Command::StartSiteEvaluation { round_id: 1 },
        decide_pass(),
    ] {
        for role in [Role::Agency, Role::BranchReviewer] {
            assert_eq!(harbin.refused(role, cmd.clone()), not_here(State::Submitted, cmd.name()), "{} by {role:?} on Harbin", cmd.name());
        }
    }
    // Harbin's site evaluation has no score sheet to confirm (URC-EVAL-2 is Urumqi's).
    let harbin = harbin_at(State::OnSiteEvaluation);
    assert!(harbin.ask(&harbin.actor(Role::Institution), &Command::ConfirmScoreSheet).is_err());
}

// ---------------------------------------------------------------------------------------------
// Clocks (G-CLOCKS, LAW-SUSPEND)
// ---------------------------------------------------------------------------------------------

/// G-CLOCKS / LAW-SUSPEND / HRB-EVAL-2: the evaluation clock stands still while awaiting a
/// supplement and its due date moves by the pause; next_expiry is the supplement clock's.
#[test]
fn g_clocks_law_suspend_evaluation_pauses_during_supplement() {
    let mut app = App::harbin();
    app.on(date(2026, 3, 2)).run(Role::Institution, Command::Submit);
    let eval = app.clock("evaluation");
    assert_eq!(eval.rule, "HRB-EVAL-2");
    assert_eq!(eval.started_on, date(2026, 3, 2));
    assert_eq!(eval.status, ClockStatus::Running);
    assert_eq!(eval.due.due, Some(date(2026, 6, 2)), "3 months, unpaused");
    assert_eq!(clocks::next_expiry(&app.clocks()), None, "no automatic consequence while submitted");

    app.on(date(2026, 3, 4)).run(Role::Agency, supplement_notice());
    app.on(date(2026, 3, 6));
    let eval = app.clock("evaluation");
    assert_eq!(eval.status, ClockStatus::Paused);
    assert_eq!(eval.pauses, vec![Pause { from: date(2026, 3, 4), to: date(2026, 3, 6) }]);
    assert_eq!(eval.due.due, Some(date(2026, 6, 4)), "moved by 2 paused days");
    let acc = app.clock("acceptance_notice");
    assert_eq!(acc.status, ClockStatus::Met, "the notice was issued in time");
    assert_eq!(acc.ended_on, Some(date(2026, 3, 4)));
    let sup = app.clock("supplement");
    assert_eq!(sup.status, ClockStatus::Running);
    assert_eq!(sup.on_expiry, Some(Expiry::DeemWithdrawn));
    assert_eq!(sup.due.due, Some(date(2026, 3, 11)));
    assert_eq!(clocks::next_expiry(&app.clocks()), Some((date(2026, 3, 11), Expiry::DeemWithdrawn)));

    // Supplemented on the last day: 7 paused days, 06-02 + 7 = 06-09.
    app.on(date(2026, 3, 11)).run(Role::Institution, attach("licence", 3));
    app.on(date(2026, 3, 11)).run(Role::Institution, supplement());
    app.on(date(2026, 3, 12));
    let eval = app.clock("evaluation");
    assert_eq!(eval.status, ClockStatus::Running);
    assert_eq!(eval.pauses, vec![Pause { from: date(2026, 3, 4), to: date(2026, 3, 11) }]);
    assert_eq!(eval.due.due, Some(date(2026, 6, 9)));
    assert!(eval.due.explanation.iter().any(|l| l.contains("LAW-SUSPEND")), "{:?}", eval.due.explanation);
    assert_eq!(app.clock("supplement").status, ClockStatus::Met);
    assert_eq!(clocks::next_expiry(&app.clocks()), None);

    // The evaluation clock keeps running through acceptance and evaluation, and stops at the result.
    app.on(date(2026, 3, 13)).run(Role::Agency, Command::Accept);
    app.run(Role::Agency, Command::ScheduleEvaluation { date: None, note: None });
    app.on(date(2026, 3, 20)).run(Role::Agency, site(90));
    app.on(date(2026, 6, 10)).run(Role::Expert, review_pass());
    let eval = app.clock("evaluation");
    assert_eq!(eval.ended_on, Some(date(2026, 6, 10)));
    assert_eq!(eval.status, ClockStatus::MetLate, "due 06-09, result 06-10");
}

/// G-CLOCKS / HRB-ACC-1: the agency's 5-working-day acceptance limit shows overdue while the
/// application is still waiting.
#[test]
fn g_clocks_acceptance_notice_overdue() {
    let mut app = App::harbin();
    app.on(date(2026, 3, 2)).run(Role::Institution, Command::Submit);
    // 03-03, 04, 05, 06, 09.
    app.on(date(2026, 3, 9));
    let acc = app.clock("acceptance_notice");
    assert_eq!(acc.rule, "HRB-ACC-1");
    assert_eq!(acc.on_expiry, None, "a limit on the agency, nothing fires");
    assert_eq!(acc.due.due, Some(date(2026, 3, 9)));
    assert_eq!(acc.status, ClockStatus::Running, "last day still in time");
    app.on(date(2026, 3, 10));
    assert_eq!(app.st(), State::Submitted);
    assert_eq!(app.clock("acceptance_notice").status, ClockStatus::Overdue);
    assert_eq!(clocks::next_expiry(&app.clocks()), None);
    app.run(Role::Agency, Command::Accept);
    let acc = app.clock("acceptance_notice");
    assert_eq!(acc.ended_on, Some(date(2026, 3, 10)));
    assert_eq!(acc.status, ClockStatus::MetLate);
}

/// G-CLOCKS: the clocks with automatic consequences agree with what `decide` enforces.
#[test]
fn g_clocks_next_expiry_matches_decide() {
    // Notice (HRB-NOTICE): next_expiry is the notice's end, and end_notice fires the day after.
    let mut app = harbin_at(State::PublicNotice);
    let (due, what) = clocks::next_expiry(&app.clocks()).expect("notice clock");
    assert_eq!((due, what), (date(2026, 4, 10), Expiry::EndNotice));
    assert_eq!(Some(due), app.state.notice_ends_on);
    assert!(app.on(due).ask(&Actor::system("harbin"), &Command::EndNotice).is_err());
    app.on(due.tomorrow().unwrap()).run(Role::System, Command::EndNotice);
    // Signing (URC-SIGN).
    let app = urumqi_at(State::ReadyToSign);
    assert_eq!(clocks::next_expiry(&app.clocks()), Some((date(2026, 4, 27), Expiry::DeemGivenUp)));
}

/// G-CLOCKS / HRB-NOTICE / URC-RES-2: a notice that ran exactly its period and was ended by the
/// system on the first day after its last day (the earliest `decide` allows) ran its full
/// length: it shows as Expired (期限届满), never as 逾期完成 (MetLate).
#[test]
fn g_clocks_notice_ended_on_time_is_met_not_late() {
    let app = harbin_at(State::PresignPreparation);
    let notice = app.clock("notice");
    assert_eq!(notice.due.due, Some(date(2026, 4, 10)));
    assert_eq!(notice.ended_on, Some(date(2026, 4, 11)));
    assert_eq!(notice.status, ClockStatus::Expired, "HRB-NOTICE: {notice:?}");

    let app = urumqi_at(State::ReadyToSign);
    let notice = app.clock("notice");
    assert_eq!(notice.due.due, Some(date(2026, 4, 17)));
    assert_eq!(notice.ended_on, Some(date(2026, 4, 18)));
    assert_eq!(notice.status, ClockStatus::Expired, "URC-RES-2: {notice:?}");
}

/// Declared facts meeting every condition of both profiles (SPEC §2), for a medical institution.
fn full_facts(city: &str) -> serde_json::Map<String, serde_json::Value> {
    let national = if city == "harbin" { "H23010200001" } else { "H65010200001" };
    let v = serde_json::json!({
        "operating_since": "2025-01-01", "beds": 10, "first_registered_physicians": 2, "principal_responsible": true,
        "insurance_administrators": 1, "insurance_department": true, "full_time_insurance_staff": 1,
        "systems": ["insurance", "finance", "statistics", "quality", "inventory", "drug_management", "staff_management", "settlement"],
        "equipment": ["video_surveillance", "biometric", "drug_traceability"],
        "his_connected": true, "national_codes_used": true, "staff_contracts": true, "social_insurance": true, "gsp_zoning": true,
        "national_code": national,
        "pharmacists": [{ "name": "药师甲", "contract_start": "2025-01-01" }],
        "insurance_admin_contracts": [{ "name": "医保员甲", "contract_start": "2025-01-01" }, { "name": "医保员乙", "contract_start": "2025-01-01" }]
    });
    v.as_object().unwrap().clone()
}

// ---------------------------------------------------------------------------------------------
// Pre-signing preparation (HRB-PRE-1…4, HRB-ANNEX2).

/// HRB-PRE-1 / HRB-PRE-4: a failed test leaves one retest; failing the retest is giving up, with
/// the 1-year ban.
#[test]
fn hrb_pre_4_failed_training_twice_gives_up_with_ban() {
    use Role::*;
    let mut app = harbin_at(State::PresignPreparation);
    let d = app.on(date(2026, 4, 13)).run(Agency, training(false));
    assert_eq!(d.to, State::PresignPreparation, "one retest (HRB-PRE-1)");
    let d = app.on(date(2026, 4, 20)).run(Agency, training(false));
    assert_eq!(d.to, State::GivenUp);
    match &d.events[..] {
        [
            Event::TrainingRecorded { attempt: 2, passed: false, .. },
            Event::PreparationFailed { .. },
            Event::BanImposed { rule, until, .. },
        ] => {
            assert_eq!(rule, "HRB-PRE-4");
            assert_eq!(*until, date(2027, 4, 20));
        }
        other => panic!("{other:?}"),
    }
}

/// HRB-PRE-4 read for the applicant: absence from the first session uses the first attempt, not
/// the whole chance; passing is only possible when attending.
#[test]
fn hrb_pre_1_absence_counts_as_an_attempt() {
    use Role::*;
    let mut app = harbin_at(State::PresignPreparation);
    let absent = Command::RecordTraining { session: "第 1 期".into(), attended: false, passed: false };
    assert_eq!(app.on(date(2026, 4, 13)).run(Agency, absent).to, State::PresignPreparation);
    assert_invalid(app.refused(Agency, Command::RecordTraining { session: "第 2 期".into(), attended: false, passed: true }), "passed");
    assert_eq!(app.on(date(2026, 4, 20)).run(Agency, training(true)).to, State::PresignPreparation);
    assert!(app.state.prep.training_passed());
}

/// HRB-ANNEX2: every failed acceptance opens a resubmission window of 5 working days; missing it
/// makes the request deemed withdrawn (fired by the system) and the item is back to "not
/// requested"; a second failure opens a new window (unlimited tries in the shipped profile).
#[test]
fn hrb_annex2_resubmission_windows() {
    use Role::*;
    let mut app = harbin_at(State::PresignPreparation);
    assert_invalid(app.on(date(2026, 4, 13)).refused(Institution, Command::RequestAnnex2Acceptance), "annex2");
    app.run(Institution, attach_zip(21));
    let d = app.run(Institution, Command::RequestAnnex2Acceptance);
    // The agency's 5 working days: 04-14 … 04-20.
    assert_eq!(d.events, vec![Event::Annex2Requested { review_due: Some(date(2026, 4, 20)) }]);
    assert_invalid(app.refused(Agency, Command::ReviewAnnex2 { passed: false, reason: None }), "reason");
    let d = app.on(date(2026, 4, 15)).run(Agency, Command::ReviewAnnex2 { passed: false, reason: Some("录屏不连续".into()) });
    // Resubmit by 04-22 (04-16, 17, 20, 21, 22).
    assert!(
        matches!(&d.events[..], [Event::Annex2Reviewed { passed: false, resubmit_due: Some(due), opens_window: true, .. }] if *due == date(2026, 4, 22))
    );
    let mut late = app.clone();
    let mut legacy = app.clone();
    assert!(matches!(late.on(date(2026, 4, 22)).refused(System, Command::DeemAnnex2Withdrawn), Refusal::NotYetDue { .. }));
    assert!(matches!(late.on(date(2026, 4, 23)).refused(Institution, Command::RequestAnnex2Acceptance), Refusal::DeadlinePassed { .. }));
    let d = late.run(System, Command::DeemAnnex2Withdrawn);
    assert_eq!((d.events, d.to), (vec![Event::Annex2Withdrawn], State::PresignPreparation));
    assert!(late.state.prep.annex2.withdrawn && late.state.prep.annex2.windows[0].missed);
    assert!(matches!(late.refused(System, Command::DeemAnnex2Withdrawn), Refusal::NotYetDue { due: None }), "fires once");
    late.run(Institution, Command::RequestAnnex2Acceptance);
    assert!(late.state.prep.annex2.pending, "back to not requested: a new request");

    // A state stored before windows were recorded (only `resubmit_due`): the date still holds and
    // fires, once.
    legacy.state.prep.annex2.windows.clear();
    let timers = clocks::timers(&legacy.profile, &legacy.history, &legacy.cal, date(2026, 4, 15), &legacy.state);
    assert_eq!(timers.due, Some((date(2026, 4, 22), Expiry::Annex2Withdrawn)));
    assert!(matches!(legacy.on(date(2026, 4, 23)).refused(Institution, Command::RequestAnnex2Acceptance), Refusal::DeadlinePassed { .. }));
    legacy.run(System, Command::DeemAnnex2Withdrawn);
    assert!(legacy.state.prep.annex2.withdrawn && legacy.state.prep.annex2.legacy_window_due().is_none());
    let timers = clocks::timers(&legacy.profile, &legacy.history, &legacy.cal, date(2026, 4, 23), &legacy.state);
    assert_eq!(timers.due, None);

    // In time: the resubmission; failing again opens a new window (04-24 … 04-30).
    app.on(date(2026, 4, 22)).run(Institution, Command::RequestAnnex2Acceptance);
    let d = app.on(date(2026, 4, 23)).run(Agency, Command::ReviewAnnex2 { passed: false, reason: Some("仍不连续".into()) });
    assert!(matches!(&d.events[..], [Event::Annex2Reviewed { resubmit_due: Some(_), opens_window: true, .. }]), "{d:?}");
    assert_eq!(app.state.prep.annex2.windows.len(), 2);
    app.run(Institution, Command::RequestAnnex2Acceptance);
    app.run(Agency, Command::ReviewAnnex2 { passed: true, reason: None });
    assert!(app.state.prep.annex2.accepted && app.state.prep.annex2.open_window().is_none());
}

/// G-CLOCKS for HRB-ANNEX2: a window is a clock like the others — a failure notified on
/// 2026-09-30 gives 5 working days past 国庆节 and the adjusted 10-10, to 2026-10-13, and says so.
#[test]
fn hrb_annex2_window_is_a_clock_explaining_its_due_date() {
    use Role::*;
    let mut app = harbin_at(State::PresignPreparation);
    app.on(date(2026, 9, 29)).run(Institution, attach_zip(21));
    app.run(Institution, Command::RequestAnnex2Acceptance);
    app.on(date(2026, 9, 30)).run(Agency, Command::ReviewAnnex2 { passed: false, reason: Some("录屏不连续".into()) });
    let views = clocks::application_clocks(&app.profile, &app.history, &app.state, &app.cal, date(2026, 10, 8));
    let w = views.iter().find(|c| c.id == "annex2_resubmit_1").expect("the window is listed with the clocks");
    assert_eq!(
        (w.rule.as_str(), w.started_on, w.due.due, w.status),
        ("HRB-ANNEX2", date(2026, 9, 30), Some(date(2026, 10, 13)), ClockStatus::Running)
    );
    let text = w.due.explanation.join("\n");
    assert!(text.contains("LAW-START") && text.contains("国庆节") && text.contains("LAW-WD"), "{text}");
    assert_eq!(clocks::next_expiry(&views), Some((date(2026, 10, 13), Expiry::Annex2Withdrawn)));
}

/// HRB-PRE-2 ⑤ is switchable: off in the shipped profile (适时推进), required when switched on.
#[test]
fn hrb_pre_2_real_name_device_is_a_profile_switch() {
    let shipped = Profile::shipped().swap_remove(0);
    assert!(!shipped.preparation.as_ref().unwrap().real_name_device);
    let text = dingdian_core::policy::SHIPPED[0].1.replacen("real_name_device = false", "real_name_device = true", 1);
    let on = Profile::parse("harbin.toml", &text).expect("valid");
    assert!(on.preparation.as_ref().unwrap().real_name_device);
    let mut app = App::harbin();
    app.profile = on;
    let mut app = drive_until(app, harbin_path(), State::PresignPreparation);
    for (d, role, cmd, _) in harbin_path().into_iter().filter(|(d, ..)| *d > date(2026, 4, 11) && *d < date(2026, 4, 20)) {
        app.on(d).run(role, cmd);
    }
    match app.on(date(2026, 4, 20)).refused(Role::Agency, Command::CompletePreparation) {
        Refusal::PreparationIncomplete { missing } => assert_eq!(missing, vec!["⑤ 配备实名认证设备（适时推进） 未核验（HRB-PRE-2）"]),
        other => panic!("{other:?}"),
    }
}

/// One application at a time (decisions.md): an institution with an open application continues
/// it; only an institution account starts one, and only of a kind the city serves (HRB-SCOPE).
#[test]
fn g_follows_one_open_application_at_a_time() {
    let harbin = Profile::shipped().swap_remove(0);
    let inst = actor(Role::Institution, "harbin");
    let medical = dingdian_core::policy::InstitutionKind::Medical;
    assert_eq!(dingdian_core::lifecycle::may_open_application(&harbin, medical, &inst, 0), Ok(()));
    assert_eq!(dingdian_core::lifecycle::may_open_application(&harbin, medical, &inst, 1), Err(Refusal::ApplicationOpen));
    let pharmacy = dingdian_core::policy::InstitutionKind::Pharmacy;
    assert!(matches!(dingdian_core::lifecycle::may_open_application(&harbin, pharmacy, &inst, 0), Err(Refusal::KindNotServed { .. })));
    let agency = actor(Role::Agency, "harbin");
    assert!(matches!(dingdian_core::lifecycle::may_open_application(&harbin, medical, &agency, 0), Err(Refusal::NotYourRole { .. })));
}

/// G-FOLLOWS: the standing a new application inherits is the latest earlier application's,
/// unless that one ended signed.
#[test]
fn g_follows_standing_comes_from_the_latest_earlier_application() {
    use dingdian_core::lifecycle::{Standing, standing};
    let failed = PriorApplication { state: State::Withdrawn, failures: 1, result_served_on: Some(date(2026, 3, 2)) };
    assert_eq!(standing(&[]), Standing::default());
    assert_eq!(standing(std::slice::from_ref(&failed)), Standing { failures: 1, failed_on: Some(date(2026, 3, 2)) });
    let signed = PriorApplication { state: State::Signed, ..failed.clone() };
    assert_eq!(standing(&[signed, failed.clone()]), Standing::default());
    // A draft withdrawn after the failure does not wash it out.
    let clean = PriorApplication { state: State::Withdrawn, failures: 0, result_served_on: None };
    assert_eq!(standing(&[clean, failed.clone()]), Standing { failures: 1, failed_on: Some(date(2026, 3, 2)) });
    let twice = PriorApplication { state: State::Withdrawn, failures: 2, result_served_on: Some(date(2026, 9, 1)) };
    assert_eq!(standing(&[twice, failed]), Standing { failures: 2, failed_on: Some(date(2026, 9, 1)) }, "the latest failure");
}

// ---------------------------------------------------------------------------------------------
// Negotiating the agreement (URC-NEGOTIATE, HRB-SIGN)
// ---------------------------------------------------------------------------------------------

fn agreement_pdf(tag: &str) -> FileRef {
    FileRef { sha256: format!("{tag:0>64}"), size: 1000, file_type: FileType::Pdf, name: format!("协议-{tag}.pdf") }
}

/// URC-NEGOTIATE: comments and revisions fold into numbered versions; a revision withdraws the
/// signable text until its document is issued; signatures record the version signed, and the
/// countersignature names only that one.
#[test]
fn urc_negotiate_versions_and_signatures_name_the_version() {
    use Role::*;
    let mut app = urumqi_at(State::ReadyToSign);
    let (v1, v2) = (agreement_pdf("a1"), agreement_pdf("b2"));
    app.run(System, Command::IssueAgreement { document: v1.clone() });
    let d = app.run(Institution, Command::CommentAgreement { text: " 第五条请写明起止日期 ".into() });
    assert_eq!(d.events, vec![Event::AgreementCommented { version: 1, text: "第五条请写明起止日期".into() }]);
    let revise = |clauses: &[&str]| Command::ReviseAgreement {
        clauses: clauses.iter().map(|c| (*c).to_owned()).collect(),
        reply: "已采纳".into(),
    };
    assert_invalid(app.refused(Agency, revise(&[" "])), "clauses");
    let d = app.run(Agency, revise(&["有效期至 2027 年 3 月 31 日。", ""]));
    assert_eq!(
        d.events,
        vec![Event::AgreementRevised {
            version: 2, clauses: vec!["有效期至 2027 年 3 月 31 日。".into()], reply: "已采纳".into()
        }]
    );
    assert_eq!(app.state.agreement, None, "version 1 is off the table");
    assert!(
        matches!(app.refused(Institution, Command::Sign { document_sha256: None }), Refusal::NotNow { .. }),
        "nothing to sign until rendered"
    );
    app.run(System, Command::IssueAgreement { document: v2.clone() });
    let n = &app.state.negotiation;
    assert_eq!(
        n.versions.iter().map(|v| (v.number, v.document.clone())).collect::<Vec<_>>(),
        vec![(1, Some(v1.clone())), (2, Some(v2.clone()))]
    );

    let named = |sha: &str| Command::Sign { document_sha256: Some(sha.to_owned()) };
    assert_eq!(app.refused(Institution, named(&v1.sha256)), Refusal::AgreementVersionMismatch { countersign: false });
    let d = app.run(Institution, named(&v2.sha256));
    assert_eq!(d.events, vec![Event::InstitutionSigned { document_sha256: Some(v2.sha256.clone()) }]);
    assert!(matches!(app.refused(Agency, revise(&["再改"])), Refusal::NotNow { .. }), "no version after the signature");
    let counter = |sha: &str| Command::Countersign { document_sha256: Some(sha.to_owned()) };
    assert_eq!(app.refused(Agency, counter(&v1.sha256)), Refusal::AgreementVersionMismatch { countersign: true });
    let d = app.run(Agency, counter(&v2.sha256));
    assert_eq!((d.to, d.events), (State::Signed, vec![Event::Countersigned { document_sha256: Some(v2.sha256.clone()) }]));
}

/// URC-NEGOTIATE: declining ends as not signed, with no ban event; after the window it is the
/// deemed give-up's turn instead.
#[test]
fn urc_negotiate_decline_ends_without_ban() {
    use Role::*;
    let mut app = urumqi_at(State::ReadyToSign);
    app.run(System, Command::IssueAgreement { document: agreement_pdf("a1") });
    let late = app.today.checked_add(jiff::Span::new().days(11)).unwrap();
    let decline = || Command::DeclineAgreement { reason: "未能协商一致".into() };
    assert!(matches!(app.on(late).refused(Institution, decline()), Refusal::DeadlinePassed { .. }));
    let today = app.history.last().unwrap().on;
    let d = app.on(today).run(Institution, decline());
    assert_eq!((d.to, d.events), (State::NotSigned, vec![Event::AgreementDeclined { reason: "未能协商一致".into() }]));
}

/// HRB-SIGN: Harbin signs the platform's text; every negotiation command is refused, whoever
/// sends it.
#[test]
fn hrb_sign_no_negotiation() {
    use Role::*;
    let app = harbin_at(State::ReadyToSign);
    assert_eq!(app.refused(Institution, Command::CommentAgreement { text: "意见".into() }), Refusal::NoNegotiation);
    assert_eq!(app.refused(Institution, Command::DeclineAgreement { reason: "不签".into() }), Refusal::NoNegotiation);
    assert_eq!(
        app.refused(Agency, Command::ReviseAgreement { clauses: vec!["条款".into()], reply: "修订".into() }),
        Refusal::NoNegotiation
    );
}

/// URC-EVAL-3 / URC-EVAL-4: a "not passed" recommendation says why; the collective decision
/// records its minutes and attendees; a decision departing from the experts' recommendation
/// records why (each refused without, with a stable code).
#[test]
fn urc_eval_3_4_reasons_minutes_attendees_and_departure() {
    use Role::*;
    let mut app = urumqi_at(State::ExpertReview);
    app.on(date(2026, 3, 25));
    let refused = app.refused(Expert, review_fail(&[" "], Some("整改")));
    assert_eq!(refused, Refusal::ReasonsRequired { rule: "URC-EVAL-3".into() });
    assert_eq!(refused.code(), "reasons_required");
    app.run(Expert, review_pass());
    assert_eq!(app.st(), State::CollectiveDecision);

    let decide = |outcome, minutes: Option<&str>, attendees: &[&str], why: Option<&str>| Command::Decide {
        outcome,
        reasons: vec!["现场评估发现进销存台账不全".into()],
        rectification: Some("补建台账".into()),
        minutes: minutes.map(str::to_owned),
        attendees: attendees.iter().map(|a| a.to_string()).collect(),
        departure_reason: why.map(str::to_owned),
    };
    app.on(date(2026, 3, 30));
    assert_invalid(app.refused(Agency, decide(Outcome::Pass, None, &["主任"], None)), "minutes");
    assert_invalid(app.refused(Agency, decide(Outcome::Pass, Some("纪要"), &[" "], None)), "attendees");
    let departs = app.refused(Agency, decide(Outcome::Fail, Some("纪要"), &["主任"], Some("  ")));
    assert_eq!(departs, Refusal::DepartureReasonRequired { rule: "URC-EVAL-4".into(), recommended_pass: true });
    assert_eq!(departs.code(), "departure_reason_required");

    let d = app.run(Agency, decide(Outcome::Fail, Some("第一期集体研究会议纪要"), &["主任", "副主任"], Some("投诉核实存在问题")));
    assert_eq!(d.to, State::FailedRectifying);
    match &d.events[0] {
        Event::ResultDecided { minutes, attendees, departure_reason, .. } => {
            assert_eq!(minutes.as_deref(), Some("第一期集体研究会议纪要"));
            assert_eq!(attendees, &vec!["主任".to_owned(), "副主任".to_owned()]);
            assert_eq!(departure_reason.as_deref(), Some("投诉核实存在问题"));
        }
        other => panic!("{other:?}"),
    }
}

/// URC-REV-1: the initial review is held against the district's plan: a full district refuses
/// the pass (`outside_plan`) and the rejection cites the planning rule; a reason citing the plan
/// is refused while the plan has room.
#[test]
fn urc_rev_1_initial_review_against_the_plan() {
    use dingdian_core::planning::{PlanRow, assess};
    let row = |ceiling| PlanRow {
        district: URUMQI_DISTRICT.into(),
        kind: dingdian_core::policy::InstitutionKind::Medical,
        population: 300_000,
        ceiling: Some(ceiling),
        density_centi: None,
    };
    let mut app = urumqi_at(State::InitialReview);
    let planning_reason = vec![Reason { rule: Some("URC-REV-1".into()), text: "区域内定点机构已达规划数".into() }];
    app.planning = Some(assess("URC-REV-1", Some(row(5)), 4));
    assert_invalid(app.refused(Role::BranchReviewer, Command::Reject { reasons: planning_reason.clone() }), "reasons");

    app.planning = Some(assess("URC-REV-1", Some(row(5)), 5));
    let refused = app.refused(Role::BranchReviewer, Command::PassInitialReview);
    assert_eq!(refused, Refusal::OutsidePlan { rule: "URC-REV-1".into(), designated: 5, capacity: 5 });
    assert_eq!(refused.code(), "outside_plan");
    let d = app.run(Role::BranchReviewer, Command::Reject { reasons: planning_reason.clone() });
    assert_eq!((d.to, d.events), (State::Rejected, vec![Event::Rejected { reasons: planning_reason }]));

    // No plan set for the district: nothing to hold against.
    let mut app = urumqi_at(State::InitialReview);
    app.planning = Some(assess("URC-REV-1", None, 9));
    app.run(Role::BranchReviewer, Command::PassInitialReview);
    assert_eq!(app.st(), State::InfoVerification);
}

/// G-VISIBILITY (issue #17 item 10): a provincial administrator, even scoped to a city of its
/// province, handles no application: it accepts, reviews, scores and signs nothing.
#[test]
fn g_visibility_provincial_admin_sends_no_application_command() {
    let apps = [harbin_at(State::Submitted), harbin_at(State::ReadyToSign), urumqi_at(State::InitialReview), urumqi_at(State::ReadyToSign)];
    for app in apps {
        let state = app.st();
        {
            let mut provincial = app.actor(Role::ProvincialAdmin);
            provincial.province = Some(if app.city == "harbin" { "230000" } else { "650000" }.into());
            for cmd in all_commands() {
                let r = app.ask(&provincial, &cmd);
                assert!(
                    matches!(r, Err(Refusal::NotYourRole { .. }) | Err(Refusal::NotAllowedInState { .. })),
                    "{} in {state:?}: {r:?}",
                    cmd.name()
                );
                assert!(r.is_err());
            }
        }
    }
}
