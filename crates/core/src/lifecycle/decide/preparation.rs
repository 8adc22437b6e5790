//! Deciding pre-signing preparation and signing: training (HRB-PRE-1), the system-work checklist
//! (HRB-PRE-2), the Annex 1 form and the Annex 2 acceptance (HRB-ANNEX1, HRB-ANNEX2), the service
//! station (HRB-PRE-3), completing or failing preparation (HRB-PRE-4), the agreement, its
//! negotiation (URC-NEGOTIATE: comments, revised versions, declining) and the two signatures
//! (HRB-SIGN, URC-SIGN), each naming the version signed.
//!
//! Not responsible for the time-driven consequences (deemed given up or withdrawn: `system`),
//! nor for rendering the agreement (the server issues it).

use super::support::{ban, invalid, non_empty, preparation, required_text, within, working_days_after};
use super::{Decision, Turn, go};
use crate::clocks::annex2_windows;
use crate::lifecycle::commands::Command;
use crate::lifecycle::events::Event;
use crate::lifecycle::projection::{AgreementVersion, AppState};
use crate::lifecycle::records::ChecklistItem;
use crate::policy::{BanTrigger, Expiry};
use crate::refusal::Refusal;
use crate::vocabulary::State;

/// Decides the commands of this group; one whose state or guard does not fit is not allowed here.
pub(super) fn decide(t: &Turn<'_>) -> Result<Decision, Refusal> {
    let Turn { ctx, st, cmd, .. } = *t;
    let p = ctx.profile;
    let s = st.state;
    match cmd {
        // URC-NEGOTIATE: a city that signs the platform's text as issued (HRB-SIGN) takes none
        // of the negotiation commands, in any state.
        Command::CommentAgreement { .. } | Command::ReviseAgreement { .. } | Command::DeclineAgreement { .. }
            if !p.agreement.as_ref().is_some_and(|a| a.negotiation) =>
        {
            Err(Refusal::NoNegotiation)
        }
        Command::CommentAgreement { text } if s == State::ReadyToSign => {
            unsigned(st, "机构已签订协议，不能再对协议文本提出意见。")?;
            within(ctx, st, Expiry::DeemGivenUp)?;
            let version = rendered(st)?.number;
            go(vec![Event::AgreementCommented { version, text: required_text("text", text)? }], s)
        }
        // URC-NEGOTIATE: a new version once the institution signed is refused, not a void
        // signature: what was signed stays signed (docs/decisions.md).
        Command::ReviseAgreement { clauses, reply } if s == State::ReadyToSign => {
            unsigned(st, "机构已签订当前版本的协议，不能再修订协议文本。")?;
            within(ctx, st, Expiry::DeemGivenUp)?;
            let current = rendered(st)?;
            let reply = required_text("reply", reply)?;
            let mut agreed = Vec::new();
            for c in clauses {
                let c = c.trim();
                if c.is_empty() {
                    continue;
                }
                agreed.push(required_text("clauses", c)?);
            }
            if agreed.len() > MAX_CLAUSES {
                return Err(invalid("clauses", format!("补充条款最多 {MAX_CLAUSES} 条。")));
            }
            if agreed == current.clauses {
                return Err(invalid("clauses", "修订后的条款与现行版本相同，请写明修改或补充的条款。"));
            }
            let version = current.number.saturating_add(1);
            go(vec![Event::AgreementRevised { version, clauses: agreed, reply }], s)
        }
        // URC-NEGOTIATE: signing is voluntary (自愿签订): declining ends the application as not
        // signed, without the ban of a missed window.
        Command::DeclineAgreement { reason } if s == State::ReadyToSign => {
            unsigned(st, "机构已签订协议，不能再拒签。")?;
            within(ctx, st, Expiry::DeemGivenUp)?;
            go(vec![Event::AgreementDeclined { reason: required_text("reason", reason)? }], State::NotSigned)
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
            t.advance(Event::PreparationCompleted)
        }
        Command::FailPreparation { reason } if s == State::PresignPreparation => {
            let reason = required_text("reason", reason)?;
            let mut events = vec![Event::PreparationFailed { reason: reason.clone() }];
            events.extend(ban(ctx, BanTrigger::PresignGiveUp, &reason));
            go(events, State::GivenUp)
        }
        Command::Sign { document_sha256 } if s == State::ReadyToSign && !st.institution_signed => {
            within(ctx, st, Expiry::DeemGivenUp)?;
            // A revision not yet rendered has no text to sign; the previous one is withdrawn.
            if st.negotiation.current().is_some_and(|v| v.document.is_none()) {
                return Err(Refusal::NotNow {
                    reason: "修订后的协议文本正在生成，请稍后刷新页面，核对新版本后再签订。".into()
                });
            }
            let current = st.agreement.as_ref().map(|d| d.sha256.clone());
            names(document_sha256, current.as_deref(), false)?;
            go(vec![Event::InstitutionSigned { document_sha256: current }], s)
        }
        // Once per version: the first on entering ready_to_sign, then one per revision.
        Command::IssueAgreement { document } if s == State::ReadyToSign && !st.institution_signed && st.agreement.is_none() => {
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
            let cfg = preparation(p)?;
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
            // HRB-ANNEX1: the printed form carries the legal representative's signature and the
            // official seal (法人代表签字, 公章); it is filed with its scan.
            if let Some(slot) = &cfg.annex1_signed_slot
                && st.materials.get(slot).is_none_or(Vec::is_empty)
            {
                let name = p.material(slot).map_or_else(|| slot.clone(), |m| m.name.clone());
                return Err(Refusal::Annex1Unsigned { slot: slot.clone(), name });
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
            // HRB-ANNEX2: as many tries as the profile allows (0 = no limit).
            if cfg.annex2_attempts > 0 && a.requests >= cfg.annex2_attempts {
                return Err(Refusal::Annex2AttemptsUsed { attempts: a.requests });
            }
            // HRB-ANNEX2: after a failure, resubmit within the open window (until 24:00 of its
            // last day, even if the timer has not fired yet). A withdrawn request starts afresh.
            let window_due = match a.open_window() {
                Some(_) => annex2_windows(p, st, ctx.calendar, ctx.today).pop().and_then(|w| w.due.due),
                None => a.legacy_window_due(),
            };
            if let Some(due) = window_due
                && ctx.today > due
            {
                return Err(Refusal::DeadlinePassed { due, rule: "HRB-ANNEX2".into() });
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
            // HRB-ANNEX2: every failure with a try left opens a new resubmission window.
            let tries_left = cfg.annex2_attempts == 0 || st.prep.annex2.requests < cfg.annex2_attempts;
            let opens_window = !*passed && tries_left;
            let resubmit_due = if opens_window { working_days_after(ctx, ctx.today, cfg.annex2_resubmit_working_days) } else { None };
            go(vec![Event::Annex2Reviewed { passed: *passed, reason, resubmit_due, opens_window }], s)
        }
        Command::RecordStationAcceptance { note } if s == State::PresignPreparation => {
            preparation(p)?;
            if st.prep.station_accepted.is_some() {
                return Err(Refusal::NotNow { reason: "服务站点验收已记录。".into() });
            }
            go(vec![Event::StationAccepted { note: required_text("note", note)? }], s)
        }
        Command::Countersign { document_sha256 } if s == State::ReadyToSign => {
            if !st.institution_signed {
                return Err(invalid("signature", "机构尚未签订协议，经办机构暂不能签订。"));
            }
            // URC-NEGOTIATE: the agency signs the very version the institution signed.
            let signed = st.negotiation.signed_sha256.clone();
            names(document_sha256, signed.as_deref(), true)?;
            go(vec![Event::Countersigned { document_sha256: signed }], State::Signed)
        }
        _ => Err(t.not_here()),
    }
}

/// The most supplementary clauses one version carries.
const MAX_CLAUSES: usize = 50;

/// URC-NEGOTIATE: once the institution signed, the text is settled.
fn unsigned(st: &AppState, reason: &str) -> Result<(), Refusal> {
    if st.institution_signed { Err(Refusal::NotNow { reason: reason.into() }) } else { Ok(()) }
}

/// The version on the table, rendered: comments and revisions answer a text the parties can read.
fn rendered(st: &AppState) -> Result<&AgreementVersion, Refusal> {
    match st.negotiation.current() {
        Some(v) if v.document.is_some() => Ok(v),
        Some(_) => Err(Refusal::NotNow { reason: "修订后的协议文本正在生成，请稍后刷新页面。".into() }),
        None => Err(Refusal::NotNow { reason: "协议文本尚未生成，请稍后刷新页面。".into() }),
    }
}

/// URC-NEGOTIATE: a signature naming a version (`sent`) must name `expected`; naming none signs
/// `expected`.
fn names(sent: &Option<String>, expected: Option<&str>, countersign: bool) -> Result<(), Refusal> {
    match non_empty(sent) {
        Some(sha) if Some(sha.to_ascii_lowercase().as_str()) != expected => Err(Refusal::AgreementVersionMismatch { countersign }),
        _ => Ok(()),
    }
}
