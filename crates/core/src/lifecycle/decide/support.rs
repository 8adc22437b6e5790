//! The helpers the groups of commands share: the evaluation result and its ban (HRB-EVAL-3,
//! URC-RES-1), the clocks a command must be within or past, score sheets, material slots,
//! supplement items and free text.
//!
//! Not responsible for any command on its own: each group file decides its commands and calls
//! these.

use super::{Ctx, Decision};
use crate::deadline;
use crate::deadline::Due;
use crate::lifecycle::events::Event;
use crate::lifecycle::projection::AppState;
use crate::lifecycle::records::{Outcome, SupplementItem};
use crate::policy::{BanTrigger, Bound, ClockStart, Expiry, MaterialPhase, Profile};
use crate::refusal::Refusal;
use crate::vocabulary::{InstitutionKind, State};
use jiff::civil::Date;

/// HRB-EVAL-3 / URC-RES-1: a pass, a first failure (rectify, may be re-evaluated), or a second
/// failure (final, with a ban).
pub(super) fn result(
    ctx: &Ctx<'_>,
    st: &AppState,
    outcome: Outcome,
    reasons: &[String],
    rectification: &Option<String>,
) -> Result<Decision, Refusal> {
    let attempt = st.failures.saturating_add(1);
    let decided = Event::ResultDecided {
        outcome,
        reasons: reasons.to_vec(),
        rectification: rectification.clone(),
        attempt,
        minutes: None,
        attendees: Vec::new(),
        departure_reason: None,
    };
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

pub(super) fn ban(ctx: &Ctx<'_>, on: BanTrigger, reason: &str) -> Option<Event> {
    ctx.profile.ban(on).map(|b| Event::BanImposed {
        rule: b.rule.clone(),
        until: deadline::period_end(ctx.today, b.length),
        reason: reason.to_owned(),
    })
}

/// The due date of the clock with this consequence, counted from `start`.
pub(super) fn expiry_due(ctx: &Ctx<'_>, e: Expiry, start: Date) -> Result<Date, Refusal> {
    expiry_due_paused(ctx, e, start, &[])
}

/// The due date of the running clock with this consequence for an application in `st`: from the
/// day it entered its state, or where the profile says so from the notice's last day
/// (URC-SIGN, `clocks::after_notice`).
pub(super) fn running_due(ctx: &Ctx<'_>, st: &AppState, e: Expiry) -> Result<Date, Refusal> {
    let entered = st.entered_on.unwrap_or(ctx.today);
    let starts = ctx.profile.clock_with_expiry(e).map(|c| c.starts).unwrap_or_default();
    match (starts, st.notice_ends_on) {
        (ClockStart::NoticeEnd, Some(last)) => {
            let (start, held) = crate::clocks::after_notice(last, entered);
            expiry_due_paused(ctx, e, start, held.as_slice())
        }
        _ => expiry_due(ctx, e, entered),
    }
}

fn expiry_due_paused(ctx: &Ctx<'_>, e: Expiry, start: Date, pauses: &[deadline::Pause]) -> Result<Date, Refusal> {
    let clock = ctx.profile.clock_with_expiry(e).ok_or(Refusal::NotYetDue { due: None })?;
    let due: Due = deadline::compute(start, clock.budget, pauses, ctx.calendar);
    match (due.due, due.missing_year) {
        (Some(d), _) => Ok(d),
        (None, _) if due.out_of_range => Err(Refusal::DateOutOfRange { start }),
        (None, y) => Err(Refusal::MissingCalendar(y.unwrap_or(start.year()))),
    }
}

/// G-AGENCY-TIME (HRB-ACC-1; 行政许可法 art. 32): the agency's own limit on this act binds the
/// agency. Refused once the limit has run out; a limit whose end cannot be computed (calendar
/// year missing) has not run out.
pub(super) fn agency_limit(ctx: &Ctx<'_>, st: &AppState, b: Bound) -> Result<(), Refusal> {
    let Some(clock) = ctx.profile.clock_bounding(b) else { return Ok(()) };
    let start = st.entered_on.unwrap_or(ctx.today);
    match deadline::compute(start, clock.budget, &[], ctx.calendar).due {
        Some(due) if ctx.today > due => Err(Refusal::AgencyLimitPassed { due, rule: clock.rule.clone() }),
        _ => Ok(()),
    }
}

/// For system commands: the clock must have run out (today is past its last day).
pub(super) fn expired(ctx: &Ctx<'_>, st: &AppState, e: Expiry) -> Result<(), Refusal> {
    let due = running_due(ctx, st, e)?;
    if ctx.today > due { Ok(()) } else { Err(Refusal::NotYetDue { due: Some(due) }) }
}

/// For the applicant's own acts: the clock must not have run out (the period ends at 24:00 of its
/// last day, LAW-HOLIDAY-END), even if the system has not fired the consequence yet.
/// A period whose end cannot be computed (calendar year missing) has not ended for the applicant.
pub(super) fn within(ctx: &Ctx<'_>, st: &AppState, e: Expiry) -> Result<(), Refusal> {
    let Ok(due) = running_due(ctx, st, e) else { return Ok(()) };
    if ctx.today > due {
        let rule = ctx.profile.clock_with_expiry(e).map(|c| c.rule.clone()).unwrap_or_default();
        return Err(Refusal::DeadlinePassed { due, rule });
    }
    Ok(())
}

/// Checks a score against the profile's sheet; returns whether it reaches the pass mark.
pub(super) fn check_sheet(
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
pub(super) fn preparation(p: &Profile) -> Result<&crate::policy::PreparationConfig, Refusal> {
    p.preparation.as_ref().ok_or_else(|| invalid("preparation", "本地区没有签约前准备环节。"))
}

/// The last day of a period of `n` working days starting after `start` (LAW-WD). `None` when the
/// calendar does not reach that far (never guessed).
pub(super) fn working_days_after(ctx: &Ctx<'_>, start: Date, n: u16) -> Option<Date> {
    let budget = crate::deadline::Budget { amount: n, unit: crate::deadline::Unit::WorkingDays };
    deadline::compute(start, budget, &[], ctx.calendar).due
}

/// The most files one slot holds.
pub const MAX_FILES_PER_SLOT: usize = 50;

/// A slot the institution may change now: any of its application slots in a draft, only the
/// slots a supplement notice reopened while it awaits the supplement (HRB-ACC-2), and the
/// preparation slots during pre-signing preparation.
pub(super) fn open_slot<'p>(
    ctx: &Ctx<'p>,
    st: &AppState,
    slot: &str,
    command: &'static str,
) -> Result<&'p crate::policy::MaterialSlot, Refusal> {
    let m = ctx
        .profile
        .material(slot)
        .filter(|m| m.applies_to.contains(&ctx.kind))
        .ok_or_else(|| invalid("slot", format!("材料项“{slot}”不存在。")))?;
    if !matches!(st.state, State::Draft | State::AwaitingSupplement | State::PresignPreparation | State::InfoVerification) {
        return Err(Refusal::NotAllowedInState { state: st.state, command });
    }
    let open = match (st.state, m.phase) {
        (State::Draft, MaterialPhase::Application) => true,
        (State::AwaitingSupplement, MaterialPhase::Application) => st.open_slots.iter().any(|s| s == slot),
        (State::PresignPreparation, MaterialPhase::Preparation) => true,
        (State::InfoVerification, MaterialPhase::Verification) => true,
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
pub(super) fn unmet_settled(st: &AppState) -> Result<(), Refusal> {
    if st.unmet_conditions.is_empty() { Ok(()) } else { Err(Refusal::ConditionsUnmet { findings: st.unmet_conditions.clone() }) }
}

pub(super) fn validate_items(p: &Profile, kind: InstitutionKind, items: &[SupplementItem]) -> Result<(), Refusal> {
    if items.is_empty() {
        return Err(invalid("items", "一次性告知须列明全部需补正的材料，至少一项。"));
    }
    for it in items {
        if p.material(&it.slot).is_none_or(|m| m.phase != MaterialPhase::Application || !m.applies_to.contains(&kind)) {
            return Err(invalid("items", format!("材料项“{}”不存在。", it.slot)));
        }
        if it.reason.trim().is_empty() {
            // Named as the page names the slot, never by its id (issue #16 item 1).
            let name = p.material(&it.slot).map_or(it.slot.as_str(), |m| m.name.as_str());
            return Err(invalid("items", format!("材料“{name}”缺失或有误，须说明补正理由。")));
        }
    }
    let mut slots: Vec<&str> = items.iter().map(|i| i.slot.as_str()).collect();
    slots.sort_unstable();
    if slots.windows(2).any(|w| w[0] == w[1]) {
        return Err(invalid("items", "同一材料项只能列出一次。"));
    }
    Ok(())
}

pub(super) fn invalid(field: &'static str, reason: impl Into<String>) -> Refusal {
    Refusal::Invalid { field, reason: reason.into() }
}

/// The longest free text a command records (reasons, findings, notes): a few pages.
pub const MAX_TEXT_CHARS: usize = 10_000;

pub(super) fn required_text(field: &'static str, s: &str) -> Result<String, Refusal> {
    let t = s.trim();
    if t.is_empty() {
        return Err(invalid(field, "此项不能为空。"));
    }
    if t.chars().count() > MAX_TEXT_CHARS {
        return Err(invalid(field, format!("内容过长，最多 {MAX_TEXT_CHARS} 字。")));
    }
    Ok(t.to_owned())
}

pub(super) fn non_empty(s: &Option<String>) -> Option<String> {
    s.as_deref().map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned)
}

// --- urc: information verification's sources (URC-REV-2) ---

/// URC-REV-2: the sources checked, at least one, each on a day not after today, each file one
/// the reviewer uploaded to a verification slot of this application.
pub(super) fn checked_sources(
    ctx: &Ctx<'_>,
    st: &AppState,
    sources: &std::collections::BTreeMap<crate::lifecycle::records::VerificationSource, crate::lifecycle::records::SourceInput>,
) -> Result<Vec<crate::lifecycle::records::SourceChecked>, Refusal> {
    let rule = ctx.profile.step(crate::policy::Step::InfoVerification).map(|c| c.rule.clone()).unwrap_or_default();
    if sources.is_empty() {
        return Err(Refusal::SourcesRequired { rule });
    }
    let evidence: Vec<&crate::lifecycle::records::FileRef> = st
        .materials
        .iter()
        .filter(|(slot, _)| ctx.profile.material(slot).is_some_and(|m| m.phase == MaterialPhase::Verification))
        .flat_map(|(_, files)| files.iter())
        .collect();
    let mut out = Vec::new();
    for (source, input) in sources {
        if input.checked_on > ctx.today {
            return Err(invalid("sources", format!("“{}”的核查日期不能晚于今天。", source.zh())));
        }
        let mut attachments = Vec::new();
        for sha in &input.attachments {
            let f = evidence
                .iter()
                .find(|f| &f.sha256 == sha)
                .ok_or_else(|| invalid("sources", format!("“{}”所附文件须先上传到核查材料。", source.zh())))?;
            if !attachments.iter().any(|a: &crate::lifecycle::records::FileRef| &a.sha256 == sha) {
                attachments.push((*f).clone());
            }
        }
        let note = match input.note.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
            Some(n) => Some(required_text("sources", n)?),
            None => None,
        };
        out.push(crate::lifecycle::records::SourceChecked { source: *source, checked_on: input.checked_on, note, attachments });
    }
    Ok(out)
}
