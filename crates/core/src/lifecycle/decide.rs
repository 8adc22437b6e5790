//! Decides a command: may this actor, on this application, today, do this, and what events does
//! it produce (`decide`); and, from that, which forms a page shows (`available`). The context a
//! decision reads beyond the application is `Ctx`; the store fills what the command `needs`.
//!
//! Not responsible for loading the context or recording the events (the store), nor for
//! folding them into the state (that is `projection`).

use jiff::civil::Date;
use serde::Serialize;

use super::commands::{COMMAND_NAMES, Command, Outcome, SupplementItem, Who};
use super::events::Event;
use super::projection::{AppState, ChecklistItem, FileRef};
use crate::calendar::Calendar;
use crate::deadline::{self, Due};
use crate::eligibility::{self, Declaration, Record};
use crate::policy::{BanTrigger, Expiry, MaterialPhase, Profile, Step};
use crate::refusal::Refusal;
use crate::visibility::{Scope, can_read};
use crate::vocabulary::{Actor, InstitutionKind, Role, State};

/// An active ban on the applying institution or its people (G-BANS).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ActiveBan {
    pub rule: String,
    pub until: Date,
    pub reason: String,
}

/// The applying institution as a decision sees it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InstitutionFacts {
    pub name: String,
    /// The national insurance institution code (国码) on record, if any.
    pub national_code: Option<String>,
}

/// What a decision may look at besides the application. The store fills what the command
/// `needs` (see `Command::needs`); what a command does not need may stay empty.
pub struct Ctx<'a> {
    pub profile: &'a Profile,
    pub calendar: &'a Calendar,
    pub today: Date,
    /// Bans in force against the institution (checked on submission).
    pub bans: &'a [ActiveBan],
    /// The applying institution's kind.
    pub kind: InstitutionKind,
    /// The record of the institution and its people (read by the not-accepted rules).
    pub history: &'a [Record],
    /// The applying institution (HRB-ANNEX1: the form names it).
    pub institution: Option<&'a InstitutionFacts>,
    /// The city's rounds still open for applications to join (URC-EVAL-1).
    pub open_rounds: &'a [i64],
}

impl<'a> Ctx<'a> {
    /// A context with nothing loaded beyond the rules, the calendar and the day.
    pub fn new(profile: &'a Profile, calendar: &'a Calendar, today: Date, kind: InstitutionKind) -> Ctx<'a> {
        Ctx { profile, calendar, today, bans: &[], kind, history: &[], institution: None, open_rounds: &[] }
    }
}

/// The events a command produces and the state it leads to.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub events: Vec<Event>,
    pub to: State,
}

/// The declared facts of an application, parsed.
pub fn declaration(facts: &serde_json::Map<String, serde_json::Value>) -> Result<Declaration, Refusal> {
    serde_json::from_value(serde_json::Value::Object(facts.clone()))
        .map_err(|e| Refusal::Invalid { field: "facts", reason: format!("申报信息有误：{e}") })
}

/// HRB-SCOPE / URC-SCOPE: may this profile take an application from this kind of institution?
pub fn check_kind(profile: &Profile, kind: InstitutionKind) -> Result<(), Refusal> {
    if profile.kinds.contains(&kind) { Ok(()) } else { Err(Refusal::KindNotServed { profile: profile.id.clone(), kind }) }
}

/// Decides a command: checks scope, role and state, and returns the events it produces.
pub fn decide(ctx: &Ctx<'_>, scope: &Scope, st: &AppState, actor: &Actor, cmd: &Command) -> Result<Decision, Refusal> {
    can_read(actor, scope, ctx.today)?;
    let p = ctx.profile;
    let required = match cmd.who() {
        Who::Role(r) => Some(r),
        Who::Step(step) => p.step(step).map(|s| s.actor),
        Who::StateStep => Step::owning(st.state).and_then(|s| p.step(s)).map(|s| s.actor),
        Who::StepOrSystem(_) if actor.role == Role::System => Some(Role::System),
        Who::StepOrSystem(step) => p.step(step).map(|s| s.actor),
    };
    let not_here = || Refusal::NotAllowedInState { state: st.state, command: cmd.name() };
    match required {
        Some(r) if r != actor.role => return Err(Refusal::NotYourRole { required: r }),
        Some(_) => {}
        // The command's step is not part of this profile.
        None => return Err(not_here()),
    }
    let s = st.state;
    let go = |events: Vec<Event>, to: State| Ok(Decision { events, to });
    let advance = |event: Event| Ok(Decision { events: vec![event], to: p.next_after(s) });
    match cmd {
        Command::UpdateDraft { facts } if s == State::Draft => {
            let mut merged = st.facts.clone();
            merged.extend(facts.clone());
            declaration(&merged)?;
            go(vec![Event::DraftUpdated { facts: facts.clone() }], s)
        }
        Command::Submit if s == State::Draft => {
            if let Some(ban) = ctx.bans.iter().filter(|b| b.until > ctx.today).max_by_key(|b| b.until) {
                return Err(Refusal::Banned { until: ban.until, rule: ban.rule.clone() });
            }
            let d = declaration(&st.facts)?;
            let findings = eligibility::not_accepted(p, ctx.kind, &d, ctx.history, ctx.today);
            if !findings.is_empty() {
                return Err(Refusal::NotAccepted { findings });
            }
            let unmet = eligibility::unmet(p, ctx.kind, &d, ctx.today);
            if !unmet.is_empty() && p.unmet_conditions == eligibility::OnUnmet::Refuse {
                return Err(Refusal::ConditionsUnmet { findings: unmet });
            }
            let missing_materials = p
                .materials_for(ctx.kind, MaterialPhase::Application)
                .filter(|m| st.materials.get(&m.id).is_none_or(Vec::is_empty))
                .map(|m| m.id.clone())
                .collect();
            let submitted = Event::Submitted { profile_id: p.id.clone(), profile_version: p.version.clone(), unmet, missing_materials };
            go(vec![submitted], p.next_after(State::Draft))
        }
        Command::OverrideConditions { reason }
            if matches!(s, State::Submitted | State::InitialReview) && !st.unmet_conditions.is_empty() =>
        {
            let rules = st.unmet_conditions.iter().map(|f| f.rule.clone()).collect();
            go(vec![Event::ConditionsOverridden { reason: required_text("reason", reason)?, rules }], s)
        }
        Command::Withdraw { reason } if !s.is_terminal() => {
            go(vec![Event::Withdrawn { reason: non_empty(reason), deemed: false }], State::Withdrawn)
        }
        Command::IssueSupplementNotice { items } if s == State::Submitted => {
            if st.supplement_notices > 0 {
                return Err(Refusal::SecondSupplementNotice);
            }
            validate_items(p, ctx.kind, items)?;
            // A due date in a year without calendar data stays open (flagged on the clock); the
            // notice itself must not wait for the calendar.
            let due = expiry_due(ctx, Expiry::DeemWithdrawn, ctx.today).ok();
            go(vec![Event::SupplementNoticeIssued { items: items.clone(), due }], State::AwaitingSupplement)
        }
        Command::Supplement { note } if s == State::AwaitingSupplement => {
            within(ctx, st, Expiry::DeemWithdrawn)?;
            // HRB-ACC-2: every reopened slot must have received a file since the notice.
            let names: Vec<String> = st
                .open_slots
                .iter()
                .filter(|slot| !st.supplemented_slots.contains(slot))
                .map(|slot| p.material(slot).map_or_else(|| slot.clone(), |m| m.name.clone()))
                .collect();
            if !names.is_empty() {
                return Err(Refusal::SupplementIncomplete { names });
            }
            go(vec![Event::Supplemented { note: non_empty(note) }], State::Submitted)
        }
        Command::AttachMaterial { slot, file } => {
            let m = open_slot(ctx, st, slot, cmd.name())?;
            if !m.types.contains(&file.file_type) {
                return Err(invalid("file", format!("“{}”只接受 {} 文件。", m.name, m.types_label())));
            }
            if file.size == 0 {
                return Err(invalid("file", "文件是空的，请选择正确的文件重新上传。"));
            }
            if file.size > m.max_bytes() {
                return Err(invalid("file", format!("文件超过“{}”的大小上限 {} MB。", m.name, m.max_mb)));
            }
            if file.sha256.len() != 64 || !file.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(invalid("file", "文件摘要无效。"));
            }
            let name = required_text("file", &file.name)?;
            let current = st.materials.get(slot).map(Vec::as_slice).unwrap_or_default();
            if current.iter().any(|f| f.sha256 == file.sha256) {
                return Err(invalid("file", format!("同一文件已上传到“{}”。", m.name)));
            }
            if m.multiple && current.len() >= MAX_FILES_PER_SLOT {
                return Err(invalid("file", format!("“{}”最多上传 {MAX_FILES_PER_SLOT} 个文件。", m.name)));
            }
            let replaced = if m.multiple { None } else { current.first().map(|f| f.sha256.clone()) };
            let file = FileRef { name, ..file.clone() };
            go(vec![Event::MaterialAttached { slot: slot.clone(), file, replaced }], s)
        }
        Command::RemoveMaterial { slot, sha256 } => {
            open_slot(ctx, st, slot, cmd.name())?;
            if !st.materials.get(slot).is_some_and(|fs| fs.iter().any(|f| &f.sha256 == sha256)) {
                return Err(invalid("sha256", "该材料中没有这个文件。"));
            }
            go(vec![Event::MaterialRemoved { slot: slot.clone(), sha256: sha256.clone() }], s)
        }
        Command::Accept if s == State::Submitted => {
            unmet_settled(st)?;
            advance(Event::Accepted)
        }
        Command::Reject { reasons } if matches!(s, State::Submitted | State::InitialReview) => {
            if reasons.is_empty() || reasons.iter().any(|r| r.text.trim().is_empty()) {
                return Err(invalid("reasons", "不予受理须逐条说明理由。"));
            }
            go(vec![Event::Rejected { reasons: reasons.clone() }], State::Rejected)
        }
        Command::ScheduleEvaluation { date, note } if s == State::Accepted => {
            advance(Event::EvaluationScheduled { date: *date, note: non_empty(note) })
        }
        Command::PassInitialReview if s == State::InitialReview => {
            unmet_settled(st)?;
            advance(Event::InitialReviewPassed)
        }
        // URC-REV-2: the not-accepted rules are checked again against today's record.
        Command::PassVerification if s == State::InfoVerification => {
            let findings = eligibility::not_accepted(p, ctx.kind, &declaration(&st.facts)?, ctx.history, ctx.today);
            if !findings.is_empty() {
                return Err(Refusal::NotAccepted { findings });
            }
            advance(Event::VerificationPassed)
        }
        Command::Terminate { reason } if s == State::InfoVerification => {
            go(vec![Event::Terminated { reason: required_text("reason", reason)? }], State::Terminated)
        }
        Command::JoinRound { round_id } if s == State::EvaluatorDraw && st.round_id.is_none() => {
            // URC-EVAL-1: a round of this city that has not started drawing.
            if !ctx.open_rounds.contains(round_id) {
                return Err(invalid("round_id", "评估批次不存在或已开始。"));
            }
            go(vec![Event::JoinedRound { round_id: *round_id }], s)
        }
        Command::StartSiteEvaluation { round_id } if s == State::EvaluatorDraw => {
            if st.round_id != Some(*round_id) {
                return Err(invalid("round_id", "该申请未纳入此评估批次。"));
            }
            // URC-EVAL-1: where the profile draws evaluators, the site evaluation starts only
            // with the draw (a round started without one would have nobody to score it).
            if p.evaluation.is_some() && scope.grouping.is_none() {
                return Err(Refusal::NotNow {
                    reason: "须先抽取评估人员并随机分组后，方可开始现场评估（URC-EVAL-1）。".into()
                });
            }
            advance(Event::SiteEvaluationStarted { round_id: *round_id })
        }
        // Each evaluator scores once; without a confirmation step one score completes the step.
        Command::RecordSiteEvaluation { score, items, notes }
            if s == State::OnSiteEvaluation
                && !st.score_confirmed
                && !st.site_scores.iter().any(|(by, _)| *by == actor.user_id)
                && (p.step(Step::SiteEvaluation).is_some_and(|c| c.score_sheet_confirmation) || !st.site_recorded) =>
        {
            // URC-EVAL-1 / URC-EVAL-2: in a drawn round only the evaluators grouped with the
            // institution score it (`can_read` let only those, and only from the reveal, this
            // far), and nobody scores before the visit day.
            if let Some(g) = &scope.grouping {
                if actor.role == Role::Evaluator && !g.includes(actor.evaluator_id.as_deref()) {
                    return Err(Refusal::NotAssigned);
                }
                if let Some(visit) = g.visit_on.filter(|v| ctx.today < *v) {
                    return Err(Refusal::TooEarly { earliest: visit, rule: "URC-EVAL-2".into() });
                }
            }
            let passes = check_sheet(p.score_sheet(ctx.kind), *score, items)?;
            let event =
                Event::SiteEvaluationRecorded { score: *score, notes: non_empty(notes), items: items.clone(), by: actor.user_id, passes };
            let confirm = p.step(Step::SiteEvaluation).is_some_and(|c| c.score_sheet_confirmation);
            if confirm { go(vec![event], s) } else { advance(event) }
        }
        Command::ConfirmScoreSheet if s == State::OnSiteEvaluation && !st.score_confirmed => {
            if !st.site_recorded {
                return Err(invalid("score_sheet", "评估人员尚未录入评分，暂不能确认。"));
            }
            // URC-EVAL-2: the institution signs the sheet once every grouped evaluator has scored.
            if let Some(g) = scope.grouping.as_ref().filter(|g| st.site_scores.len() < g.evaluators.len()) {
                return Err(invalid(
                    "score_sheet",
                    format!("抽取的 {} 名评估人员中已有 {} 名评分，全部评分后方可确认。", g.evaluators.len(), st.site_scores.len()),
                ));
            }
            advance(Event::ScoreSheetConfirmed)
        }
        Command::RecordExpertReview { recommendation, reasons, rectification, attendees } if s == State::ExpertReview => {
            let attendees: Vec<String> = attendees.iter().map(|a| a.trim().to_owned()).filter(|a| !a.is_empty()).collect();
            if p.has(Step::CollectiveDecision) && attendees.is_empty() {
                return Err(invalid("attendees", "须记录参加评估的专家，由其签字确认评估结果（URC-EVAL-3）。"));
            }
            let review = Event::ExpertReviewRecorded {
                recommendation: *recommendation,
                reasons: reasons.clone(),
                rectification: rectification.clone(),
                attendees,
            };
            if p.has(Step::CollectiveDecision) {
                return advance(review);
            }
            let mut d = result(ctx, st, *recommendation, reasons, rectification)?;
            d.events.insert(0, review);
            Ok(d)
        }
        Command::Decide { outcome, reasons, rectification } if s == State::CollectiveDecision => {
            result(ctx, st, *outcome, reasons, rectification)
        }
        Command::RequestReevaluation if s == State::FailedRectifying => {
            let re = p.reevaluation.as_ref().ok_or_else(not_here)?;
            let served = st.result_served_on.unwrap_or(ctx.today);
            let earliest = deadline::checked_earliest(served, re.wait).map_err(|e| Refusal::DateOutOfRange { start: e.start })?;
            if ctx.today < earliest {
                return Err(Refusal::TooEarly { earliest, rule: re.rule.clone() });
            }
            go(vec![Event::ReevaluationRequested], re.reenter)
        }
        Command::PublishNotice if s == State::Passed => {
            let ends_on = expiry_due(ctx, Expiry::EndNotice, ctx.today).ok();
            go(vec![Event::NoticePublished { ends_on }], State::PublicNotice)
        }
        Command::RecordComplaint { summary } if s == State::PublicNotice => {
            let number = u32::try_from(st.complaints.len()).unwrap_or(u32::MAX).saturating_add(1);
            go(vec![Event::ComplaintRecorded { number, summary: required_text("summary", summary)? }], s)
        }
        Command::ResolveComplaint { number, founded, finding } if s == State::PublicNotice => {
            if !st.complaints.iter().any(|c| c.number == *number && c.open) {
                return Err(invalid("number", "没有该编号的待处理投诉。"));
            }
            let resolved = Event::ComplaintResolved { number: *number, founded: *founded, finding: required_text("finding", finding)? };
            if *founded {
                return go(vec![resolved], State::NotSigned);
            }
            let over = expired(ctx, st, Expiry::EndNotice).is_ok();
            if over && st.open_complaints() == 1 { go(vec![resolved, Event::NoticeEnded], p.next_after(s)) } else { go(vec![resolved], s) }
        }
        Command::EndNotice if s == State::PublicNotice => {
            expired(ctx, st, Expiry::EndNotice)?;
            if st.open_complaints() > 0 {
                return Err(Refusal::OpenComplaints);
            }
            advance(Event::NoticeEnded)
        }
        Command::CompletePreparation if s == State::PresignPreparation => {
            let cfg = preparation(p)?;
            let prep = &st.prep;
            let mut missing = Vec::new();
            if !prep.training_passed() {
                missing.push("培训考试未通过（HRB-PRE-1）".to_owned());
            }
            for item in ChecklistItem::ALL {
                if item == ChecklistItem::RealNameDevice && !cfg.real_name_device {
                    continue;
                }
                if !prep.verified.contains_key(&item) {
                    missing.push(format!("{} 未核验（HRB-PRE-2）", item.zh()));
                }
            }
            if prep.annex1.is_none() {
                missing.push("专线备案表（附件1）未提交（HRB-ANNEX1）".to_owned());
            }
            if prep.station_accepted.is_none() {
                missing.push("服务站点建设未验收（HRB-PRE-3）".to_owned());
            }
            if !missing.is_empty() {
                return Err(Refusal::PreparationIncomplete { missing });
            }
            advance(Event::PreparationCompleted)
        }
        Command::FailPreparation { reason } if s == State::PresignPreparation => {
            let reason = required_text("reason", reason)?;
            let mut events = vec![Event::PreparationFailed { reason: reason.clone() }];
            events.extend(ban(ctx, BanTrigger::PresignGiveUp, &reason));
            go(events, State::GivenUp)
        }
        Command::Sign if s == State::ReadyToSign && !st.institution_signed => {
            within(ctx, st, Expiry::DeemGivenUp)?;
            go(vec![Event::InstitutionSigned { document_sha256: st.agreement.as_ref().map(|d| d.sha256.clone()) }], s)
        }
        Command::IssueAgreement { document } if s == State::ReadyToSign && !st.institution_signed => {
            go(vec![Event::AgreementIssued { document: document.clone() }], s)
        }
        Command::RecordTraining { session, attended, passed } if s == State::PresignPreparation => {
            let cfg = preparation(p)?;
            if st.prep.training_passed() {
                return Err(Refusal::NotNow { reason: "培训考试已通过，无需再次记录。".into() });
            }
            if *passed && !*attended {
                return Err(invalid("passed", "未参加培训的不能记为考试通过。"));
            }
            let session = required_text("session", session)?;
            let attempt = u32::try_from(st.prep.training.len()).unwrap_or(u32::MAX).saturating_add(1);
            let mut events = vec![Event::TrainingRecorded { session, attended: *attended, passed: *passed, attempt }];
            // HRB-PRE-4: not attending or failing, with the one retest used up, is giving up.
            if !*passed && attempt >= cfg.training_attempts {
                let reason = if *attended {
                    "培训考试补考仍未通过（HRB-PRE-4）"
                } else {
                    "未参加培训考试且补考机会已用完（HRB-PRE-4）"
                };
                events.push(Event::PreparationFailed { reason: reason.into() });
                events.extend(ban(ctx, BanTrigger::PresignGiveUp, reason));
                return go(events, State::GivenUp);
            }
            go(events, s)
        }
        Command::VerifyChecklistItem { item, note } if s == State::PresignPreparation => {
            preparation(p)?;
            let note = required_text("note", note)?;
            if *item == ChecklistItem::EPrescription {
                return Err(invalid("item", "④ 由处方流转验收结果确定，请通过“通知验收结果”办理。"));
            }
            if *item == ChecklistItem::DedicatedLine && st.prep.annex1.is_none() {
                return Err(invalid("item", "机构尚未提交专线备案表（附件1），暂不能核验 ②。"));
            }
            if st.materials.get(item.evidence_slot()).is_none_or(Vec::is_empty) {
                return Err(invalid("item", format!("机构尚未上传“{}”的证明材料。", item.zh())));
            }
            go(vec![Event::ChecklistItemVerified { item: *item, note }], s)
        }
        Command::FileAnnex1 { form } if s == State::PresignPreparation => {
            preparation(p)?;
            // HRB-ANNEX1: the form names the institution itself, with its national code.
            let inst = ctx.institution.cloned().unwrap_or_default();
            let code = inst
                .national_code
                .or_else(|| st.facts.get("national_code").and_then(|v| v.as_str()).map(str::to_owned))
                .unwrap_or_default();
            if let Err(errors) = form.validate(&inst.name, &code, ctx.today) {
                let field = errors.first().map_or("form", |e| e.field);
                let reason = errors.iter().map(|e| e.message.clone()).collect::<Vec<_>>().join(" ");
                return Err(Refusal::Invalid { field, reason });
            }
            go(vec![Event::Annex1Filed { form: form.clone() }], s)
        }
        Command::RequestAnnex2Acceptance if s == State::PresignPreparation => {
            let cfg = preparation(p)?;
            let a = &st.prep.annex2;
            if a.accepted || a.pending {
                let reason =
                    if a.accepted { "处方流转验收已通过。" } else { "验收申请正在审核中，请等待结果通知。" };
                return Err(Refusal::NotNow { reason: reason.into() });
            }
            if a.withdrawn {
                return Err(Refusal::NotNow {
                    reason: "验收未通过后未在期限内重新提交，验收申请已视为撤回（HRB-ANNEX2）。".into()
                });
            }
            if a.requests >= 1 {
                match a.resubmit_due {
                    Some(due) if ctx.today > due => {
                        return Err(Refusal::DeadlinePassed { due, rule: "HRB-ANNEX2".into() });
                    }
                    Some(_) => {}
                    None => return Err(Refusal::NotNow { reason: "验收只能重新提交一次（HRB-ANNEX2）。".into() }),
                }
            }
            if st.materials.get(ChecklistItem::EPrescription.evidence_slot()).is_none_or(Vec::is_empty) {
                return Err(invalid("annex2", "请先上传处方流转验收材料压缩包（录屏视频和盖章验收单）。"));
            }
            let review_due = working_days_after(ctx, ctx.today, cfg.annex2_review_working_days);
            go(vec![Event::Annex2Requested { review_due }], s)
        }
        Command::ReviewAnnex2 { passed, reason } if s == State::PresignPreparation => {
            let cfg = preparation(p)?;
            if !st.prep.annex2.pending {
                return Err(Refusal::NotNow { reason: "没有待审核的处方流转验收申请。".into() });
            }
            let reason = non_empty(reason);
            if !*passed && reason.is_none() {
                return Err(invalid("reason", "验收未通过须说明原因，便于机构整改后重新提交。"));
            }
            // One resubmission window, after the first failure only.
            let resubmit_due = if !*passed && st.prep.annex2.requests == 1 {
                working_days_after(ctx, ctx.today, cfg.annex2_resubmit_working_days)
            } else {
                None
            };
            go(vec![Event::Annex2Reviewed { passed: *passed, reason, resubmit_due }], s)
        }
        Command::DeemAnnex2Withdrawn if s == State::PresignPreparation => match st.prep.annex2.resubmit_due {
            Some(due) if ctx.today > due && !st.prep.annex2.pending => go(vec![Event::Annex2Withdrawn], s),
            due => Err(Refusal::NotYetDue { due }),
        },
        Command::RecordStationAcceptance { note } if s == State::PresignPreparation => {
            preparation(p)?;
            if st.prep.station_accepted.is_some() {
                return Err(Refusal::NotNow { reason: "服务站点验收已记录。".into() });
            }
            go(vec![Event::StationAccepted { note: required_text("note", note)? }], s)
        }
        Command::Countersign if s == State::ReadyToSign => {
            if !st.institution_signed {
                return Err(invalid("signature", "机构尚未签订协议，经办机构暂不能签订。"));
            }
            go(vec![Event::Countersigned { document_sha256: st.agreement.as_ref().map(|d| d.sha256.clone()) }], State::Signed)
        }
        Command::RecalculateDeadlines { year } if !s.is_terminal() => go(vec![Event::DeadlinesRecalculated { year: *year }], s),
        Command::DeemWithdrawn if s == State::AwaitingSupplement => {
            expired(ctx, st, Expiry::DeemWithdrawn)?;
            go(vec![Event::Withdrawn { reason: Some("逾期未补正材料（HRB-ACC-2）".into()), deemed: true }], State::Withdrawn)
        }
        // Once the institution has signed, a late countersignature is the agency's delay, not a
        // give-up by the applicant.
        Command::DeemGivenUp if s == State::ReadyToSign && !st.institution_signed => {
            expired(ctx, st, Expiry::DeemGivenUp)?;
            let rule = p.clock_with_expiry(Expiry::DeemGivenUp).map(|c| c.rule.clone()).unwrap_or_default();
            let reason = format!("逾期未签订协议（{rule}）");
            let mut events = vec![Event::GivenUp { reason: reason.clone(), deemed: true }];
            events.extend(ban(ctx, BanTrigger::SigningGiveUp, &reason));
            go(events, State::GivenUp)
        }
        _ => Err(not_here()),
    }
}

/// "What may this actor do now?" (DESIGN §7): the commands whose form a page shows this actor
/// today — those `decide` takes as they are, or would take with suitable input.
pub fn available(ctx: &Ctx<'_>, scope: &Scope, st: &AppState, actor: &Actor) -> Vec<&'static str> {
    COMMAND_NAMES.iter().copied().filter(|name| allows_form(ctx, scope, st, actor, name)).collect()
}

/// Does `decide` take this command exactly as it is?
pub fn allows(ctx: &Ctx<'_>, scope: &Scope, st: &AppState, actor: &Actor, cmd: &Command) -> bool {
    decide(ctx, scope, st, actor, cmd).is_ok()
}

/// Does `decide` take the command of this name, as it is or with suitable input?
pub fn allows_form(ctx: &Ctx<'_>, scope: &Scope, st: &AppState, actor: &Actor, name: &str) -> bool {
    Command::probe(name).is_some_and(|cmd| allows_with_input(ctx, scope, st, actor, &cmd))
}

/// Does `decide` take this command, or refuse it only for its input?
pub fn allows_with_input(ctx: &Ctx<'_>, scope: &Scope, st: &AppState, actor: &Actor, cmd: &Command) -> bool {
    match decide(ctx, scope, st, actor, cmd) {
        Ok(_) => true,
        Err(r) => r.is_about_input(),
    }
}

/// HRB-EVAL-3 / URC-RES-1: a pass, a first failure (rectify, may be re-evaluated), or a second
/// failure (final, with a ban).
fn result(ctx: &Ctx<'_>, st: &AppState, outcome: Outcome, reasons: &[String], rectification: &Option<String>) -> Result<Decision, Refusal> {
    let attempt = st.failures.saturating_add(1);
    let decided = Event::ResultDecided { outcome, reasons: reasons.to_vec(), rectification: rectification.clone(), attempt };
    if outcome == Outcome::Pass {
        return Ok(Decision { events: vec![decided], to: State::Passed });
    }
    if reasons.iter().all(|r| r.trim().is_empty()) {
        return Err(invalid("reasons", "评估未通过须说明理由。"));
    }
    if st.failures == 0 && ctx.profile.reevaluation.is_some() {
        if rectification.as_deref().is_none_or(|r| r.trim().is_empty()) {
            return Err(invalid("rectification", "评估未通过须提出整改意见（HRB-EVAL-3）。"));
        }
        return Ok(Decision { events: vec![decided], to: State::FailedRectifying });
    }
    let mut events = vec![decided];
    events.extend(ban(ctx, BanTrigger::SecondFailure, "再次评估未通过"));
    Ok(Decision { events, to: State::FailedFinal })
}

fn ban(ctx: &Ctx<'_>, on: BanTrigger, reason: &str) -> Option<Event> {
    ctx.profile.ban(on).map(|b| Event::BanImposed {
        rule: b.rule.clone(),
        until: deadline::earliest(ctx.today, b.length),
        reason: reason.to_owned(),
    })
}

/// The due date of the clock with this consequence, counted from `start`.
fn expiry_due(ctx: &Ctx<'_>, e: Expiry, start: Date) -> Result<Date, Refusal> {
    let clock = ctx.profile.clock_with_expiry(e).ok_or(Refusal::NotYetDue { due: None })?;
    let due: Due = deadline::compute(start, clock.budget, &[], ctx.calendar);
    match (due.due, due.missing_year) {
        (Some(d), _) => Ok(d),
        (None, _) if due.out_of_range => Err(Refusal::DateOutOfRange { start }),
        (None, y) => Err(Refusal::MissingCalendar(y.unwrap_or(start.year()))),
    }
}

/// For system commands: the clock must have run out (today is past its last day).
fn expired(ctx: &Ctx<'_>, st: &AppState, e: Expiry) -> Result<(), Refusal> {
    let due = expiry_due(ctx, e, st.entered_on.unwrap_or(ctx.today))?;
    if ctx.today > due { Ok(()) } else { Err(Refusal::NotYetDue { due: Some(due) }) }
}

/// For the applicant's own acts: the clock must not have run out (the period ends at 24:00 of its
/// last day, LAW-HOLIDAY-END), even if the system has not fired the consequence yet.
/// A period whose end cannot be computed (calendar year missing) has not ended for the applicant.
fn within(ctx: &Ctx<'_>, st: &AppState, e: Expiry) -> Result<(), Refusal> {
    let Ok(due) = expiry_due(ctx, e, st.entered_on.unwrap_or(ctx.today)) else { return Ok(()) };
    if ctx.today > due {
        let rule = ctx.profile.clock_with_expiry(e).map(|c| c.rule.clone()).unwrap_or_default();
        return Err(Refusal::DeadlinePassed { due, rule });
    }
    Ok(())
}

/// Checks a score against the profile's sheet; returns whether it reaches the pass mark.
fn check_sheet(
    sheet: Option<&crate::policy::ScoreSheet>,
    score: u16,
    items: &std::collections::BTreeMap<String, u16>,
) -> Result<Option<bool>, Refusal> {
    let Some(sheet) = sheet else {
        if score > 100 || !items.is_empty() {
            return Err(invalid("score", "评分应在 0 至 100 之间。"));
        }
        return Ok(None);
    };
    if !items.is_empty() {
        for item in &sheet.items {
            match items.get(&item.id) {
                None => return Err(invalid("items", format!("评分表缺少“{}”一项。", item.name))),
                Some(v) if *v > item.max => return Err(invalid("items", format!("“{}”最高 {} 分，录入了 {v} 分。", item.name, item.max))),
                Some(_) => {}
            }
        }
        if let Some(extra) = items.keys().find(|k| !sheet.items.iter().any(|i| &i.id == *k)) {
            return Err(invalid("items", format!("评分表没有“{extra}”一项。")));
        }
        let sum: u32 = items.values().map(|v| u32::from(*v)).sum();
        if sum != u32::from(score) {
            return Err(invalid("score", format!("各项得分合计为 {sum} 分，与总分 {score} 分不一致。")));
        }
    }
    if score > sheet.total() {
        return Err(invalid("score", format!("总分最高为 {} 分。", sheet.total())));
    }
    Ok(Some(score >= sheet.pass_mark))
}

/// The profile's preparation settings, or the step is not part of it.
fn preparation(p: &Profile) -> Result<&crate::policy::PreparationConfig, Refusal> {
    p.preparation.as_ref().ok_or_else(|| invalid("preparation", "本地区没有签约前准备环节。"))
}

/// The last day of a period of `n` working days starting after `start` (LAW-WD). `None` when the
/// calendar does not reach that far (never guessed).
fn working_days_after(ctx: &Ctx<'_>, start: Date, n: u16) -> Option<Date> {
    let budget = crate::deadline::Budget { amount: n, unit: crate::deadline::Unit::WorkingDays };
    deadline::compute(start, budget, &[], ctx.calendar).due
}

/// The most files one slot holds.
pub const MAX_FILES_PER_SLOT: usize = 50;

/// A slot the institution may change now: any of its application slots in a draft, only the
/// slots a supplement notice reopened while it awaits the supplement (HRB-ACC-2), and the
/// preparation slots during pre-signing preparation.
fn open_slot<'p>(ctx: &Ctx<'p>, st: &AppState, slot: &str, command: &'static str) -> Result<&'p crate::policy::MaterialSlot, Refusal> {
    let m = ctx
        .profile
        .material(slot)
        .filter(|m| m.applies_to.contains(&ctx.kind))
        .ok_or_else(|| invalid("slot", format!("材料项“{slot}”不存在。")))?;
    if !matches!(st.state, State::Draft | State::AwaitingSupplement | State::PresignPreparation) {
        return Err(Refusal::NotAllowedInState { state: st.state, command });
    }
    let open = match (st.state, m.phase) {
        (State::Draft, MaterialPhase::Application) => true,
        (State::AwaitingSupplement, MaterialPhase::Application) => st.open_slots.iter().any(|s| s == slot),
        (State::PresignPreparation, MaterialPhase::Preparation) => true,
        _ => false,
    };
    if open {
        if st.state == State::AwaitingSupplement {
            within(ctx, st, Expiry::DeemWithdrawn)?;
        }
        Ok(m)
    } else {
        Err(Refusal::SlotClosed { slot: slot.to_owned(), name: m.name.clone() })
    }
}

/// Unmet conditions must be overridden (with a reason) or the application rejected.
fn unmet_settled(st: &AppState) -> Result<(), Refusal> {
    if st.unmet_conditions.is_empty() { Ok(()) } else { Err(Refusal::ConditionsUnmet { findings: st.unmet_conditions.clone() }) }
}

fn validate_items(p: &Profile, kind: InstitutionKind, items: &[SupplementItem]) -> Result<(), Refusal> {
    if items.is_empty() {
        return Err(invalid("items", "一次性告知须列明全部需补正的材料，至少一项。"));
    }
    for it in items {
        if p.material(&it.slot).is_none_or(|m| m.phase != MaterialPhase::Application || !m.applies_to.contains(&kind)) {
            return Err(invalid("items", format!("材料项“{}”不存在。", it.slot)));
        }
        if it.reason.trim().is_empty() {
            return Err(invalid("items", format!("材料项“{}”须说明补正理由。", it.slot)));
        }
    }
    let mut slots: Vec<&str> = items.iter().map(|i| i.slot.as_str()).collect();
    slots.sort_unstable();
    if slots.windows(2).any(|w| w[0] == w[1]) {
        return Err(invalid("items", "同一材料项只能列出一次。"));
    }
    Ok(())
}

fn invalid(field: &'static str, reason: impl Into<String>) -> Refusal {
    Refusal::Invalid { field, reason: reason.into() }
}

/// The longest free text a command records (reasons, findings, notes): a few pages.
pub const MAX_TEXT_CHARS: usize = 10_000;

fn required_text(field: &'static str, s: &str) -> Result<String, Refusal> {
    let t = s.trim();
    if t.is_empty() {
        return Err(invalid(field, "此项不能为空。"));
    }
    if t.chars().count() > MAX_TEXT_CHARS {
        return Err(invalid(field, format!("内容过长，最多 {MAX_TEXT_CHARS} 字。")));
    }
    Ok(t.to_owned())
}

fn non_empty(s: &Option<String>) -> Option<String> {
    s.as_deref().map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned)
}
