//! Deciding the public notice (HRB-NOTICE, URC-RES-2): publishing it, and the complaints
//! received and resolved while it runs.
//!
//! Not responsible for ending the notice when its period is over (a time-driven command: `system`).

use super::support::{expired, expiry_due, invalid, required_text, within};
use super::{Decision, Turn, go};
use crate::lifecycle::commands::Command;
use crate::lifecycle::events::Event;
use crate::policy::Expiry;
use crate::refusal::Refusal;
use crate::vocabulary::State;

/// Decides the commands of this group; one whose state or guard does not fit is not allowed here.
pub(super) fn decide(t: &Turn<'_>) -> Result<Decision, Refusal> {
    let Turn { ctx, st, cmd, .. } = *t;
    let p = ctx.profile;
    let s = st.state;
    match cmd {
        Command::PublishNotice if s == State::Passed => {
            // URC-RES-1: where the profile says so, the passed list is filed with the
            // administration, and the filing acknowledged, before the notice.
            if let Some(f) = p.filing.as_ref().filter(|f| f.before_notice)
                && st.filing.acknowledged_on.is_none()
            {
                return Err(Refusal::FilingNotAcknowledged { rule: f.rule.clone(), filed: st.filing.filed_on.is_some() });
            }
            let ends_on = expiry_due(ctx, Expiry::EndNotice, ctx.today).ok();
            go(vec![Event::NoticePublished { ends_on }], State::PublicNotice)
        }
        // URC-RES-1: the round's passed list, filed once, then acknowledged once.
        Command::FileWithAdministration { round_id } if s == State::Passed && p.filing.is_some() && st.filing.filed_on.is_none() => {
            if st.round_id != Some(*round_id) {
                return Err(invalid("round_id", "该申请不在此评估批次。"));
            }
            go(vec![Event::PassedListFiled { round_id: *round_id }], s)
        }
        Command::AcknowledgeFiling { round_id }
            if s == State::Passed && st.filing.filed_on.is_some() && st.filing.acknowledged_on.is_none() =>
        {
            if st.round_id != Some(*round_id) {
                return Err(invalid("round_id", "该申请不在此评估批次。"));
            }
            go(vec![Event::FilingAcknowledged { round_id: *round_id }], s)
        }
        Command::RecordComplaint { summary } if s == State::PublicNotice => {
            // HRB-NOTICE / URC-RES-2: complaints are taken during the notice period — by date, not
            // by whether the system has closed the notice yet.
            within(ctx, st, Expiry::EndNotice)?;
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
        _ => Err(t.not_here()),
    }
}
