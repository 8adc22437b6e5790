//! Deciding the application phase: the draft and its materials, submission (G-BANS, the
//! conditions and the not-accepted rules), withdrawal, the one supplement notice and the
//! supplement (HRB-ACC-*), acceptance or rejection, initial review and information
//! verification (URC-REV-*).
//!
//! Not responsible for the checks every command passes first (scope, role: `decide/mod.rs`).

use super::support::{
    MAX_FILES_PER_SLOT, agency_limit, checked_sources, expiry_due, invalid, non_empty, open_slot, required_text, unmet_settled,
    validate_items, within,
};
use super::{Decision, Turn, declaration, go};
use crate::eligibility;
use crate::lifecycle::commands::Command;
use crate::lifecycle::events::Event;
use crate::lifecycle::records::FileRef;
use crate::policy::{Bound, Expiry, MaterialPhase};
use crate::refusal::Refusal;
use crate::vocabulary::State;

/// Decides the commands of this group; one whose state or guard does not fit is not allowed here.
pub(super) fn decide(t: &Turn<'_>) -> Result<Decision, Refusal> {
    let Turn { ctx, st, cmd, .. } = *t;
    let p = ctx.profile;
    let s = st.state;
    match cmd {
        Command::UpdateDraft { facts } if s == State::Draft => {
            let mut merged = st.facts.clone();
            merged.extend(facts.clone());
            declaration(&merged)?;
            go(vec![Event::DraftUpdated { facts: facts.clone() }], s)
        }
        Command::Submit if s == State::Draft => {
            if let Some(ban) = ctx.bans.iter().filter(|b| b.in_force(ctx.today)).max_by_key(|b| b.until) {
                return Err(Refusal::Banned { until: ban.until, rule: ban.rule.clone() });
            }
            // G-FOLLOWS (HRB-EVAL-3 / URC-RES-1): a failure follows the institution; a new
            // application after one waits out the rectification period like a re-evaluation.
            let carried = super::standing(ctx.prior);
            if let (Some(re), Some(failed_on)) = (p.reevaluation.as_ref(), carried.failed_on.filter(|_| carried.failures > 0)) {
                let earliest =
                    crate::deadline::checked_earliest(failed_on, re.wait).map_err(|e| Refusal::DateOutOfRange { start: e.start })?;
                if ctx.today < earliest {
                    return Err(Refusal::TooEarly { earliest, rule: re.rule.clone() });
                }
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
            let submitted = Event::Submitted {
                profile_id: p.id.clone(),
                profile_version: p.version.clone(),
                unmet,
                missing_materials,
                prior_failures: carried.failures,
            };
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
            agency_limit(ctx, st, Bound::SupplementNotice)?;
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
            t.advance(Event::Accepted)
        }
        Command::Reject { reasons } if matches!(s, State::Submitted | State::InitialReview) => {
            if reasons.is_empty() || reasons.iter().any(|r| r.text.trim().is_empty()) {
                return Err(invalid("reasons", "不予受理须逐条说明理由。"));
            }
            // URC-REV-1: a refusal for planning cites the plan, and only when it is full.
            if let Some(plan) = &p.planning
                && reasons.iter().any(|r| r.rule.as_deref() == Some(plan.rule.as_str()))
                && ctx.planning.and_then(|a| a.fits) != Some(false)
            {
                return Err(invalid("reasons", "按设置规划该区县此类机构尚有名额（或规划未设定），不能以规划为由不予受理。"));
            }
            go(vec![Event::Rejected { reasons: reasons.clone() }], State::Rejected)
        }
        Command::ScheduleEvaluation { date, note } if s == State::Accepted => {
            t.advance(Event::EvaluationScheduled { date: *date, note: non_empty(note) })
        }
        Command::PassInitialReview if s == State::InitialReview => {
            unmet_settled(st)?;
            // URC-REV-1: held against the district's plan for the kind.
            if let (Some(a), Some(capacity)) = (ctx.planning.filter(|a| a.fits == Some(false)), ctx.planning.and_then(|a| a.capacity)) {
                return Err(Refusal::OutsidePlan { rule: a.rule.clone(), designated: a.designated, capacity });
            }
            t.advance(Event::InitialReviewPassed)
        }
        // URC-REV-2: the not-accepted rules are checked again against today's record.
        Command::PassVerification { sources } if s == State::InfoVerification => {
            let findings = eligibility::not_accepted(p, ctx.kind, &declaration(&st.facts)?, ctx.history, ctx.today);
            if !findings.is_empty() {
                return Err(Refusal::NotAccepted { findings });
            }
            // URC-REV-2: which sources were checked, and when.
            let sources = checked_sources(ctx, st, sources)?;
            t.advance(Event::VerificationPassed { sources })
        }
        Command::Terminate { reason, sources } if s == State::InfoVerification => {
            let reason = required_text("reason", reason)?;
            let sources = checked_sources(ctx, st, sources)?;
            go(vec![Event::Terminated { reason, sources }], State::Terminated)
        }
        _ => Err(t.not_here()),
    }
}
