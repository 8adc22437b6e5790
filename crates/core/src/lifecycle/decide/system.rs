//! Deciding the time-driven commands the system sends when a clock runs out or the calendar
//! changes: the end of the notice, deemed withdrawn (HRB-ACC-2), deemed given up (HRB-SIGN,
//! URC-SIGN), the Annex 2 request deemed withdrawn (HRB-ANNEX2), deemed accepted (G-AGENCY-TIME,
//! where the profile says so), and recalculated deadlines.
//!
//! Not responsible for knowing when a clock runs out before it is asked (that is `clocks`, which
//! tells the scheduler when to send these).

use super::support::{ban, expired, preparation};
use super::{Decision, Turn, go};
use crate::clocks::annex2_windows;
use crate::lifecycle::commands::Command;
use crate::lifecycle::events::Event;
use crate::policy::{Annex2Missed, BanTrigger, Expiry};
use crate::refusal::Refusal;
use crate::vocabulary::State;

/// Decides the commands of this group; one whose state or guard does not fit is not allowed here.
pub(super) fn decide(t: &Turn<'_>) -> Result<Decision, Refusal> {
    let Turn { ctx, st, cmd, .. } = *t;
    let p = ctx.profile;
    let s = st.state;
    match cmd {
        Command::EndNotice if s == State::PublicNotice => {
            expired(ctx, st, Expiry::EndNotice)?;
            if st.open_complaints() > 0 {
                return Err(Refusal::OpenComplaints);
            }
            t.advance(Event::NoticeEnded)
        }
        // HRB-ANNEX2: the open resubmission window ran out. What is deemed withdrawn is the
        // profile's reading: the acceptance request (the item is back to "not requested") or the
        // whole application.
        Command::DeemAnnex2Withdrawn if s == State::PresignPreparation => {
            let cfg = preparation(p)?;
            let a = &st.prep.annex2;
            let due = match a.open_window() {
                Some(_) => annex2_windows(p, st, ctx.calendar, ctx.today).pop().and_then(|w| w.due.due),
                None => a.legacy_window_due(),
            };
            match due {
                Some(due) if ctx.today > due && !st.prep.annex2.pending => match cfg.annex2_missed_window {
                    Annex2Missed::AcceptanceRequest => go(vec![Event::Annex2Withdrawn], s),
                    Annex2Missed::Application => go(
                        vec![
                            Event::Annex2Withdrawn,
                            Event::Withdrawn {
                                reason: Some("处方流转验收未通过后逾期未重新提交验收材料（HRB-ANNEX2）".into()),
                                deemed: true,
                            },
                        ],
                        State::Withdrawn,
                    ),
                },
                due => Err(Refusal::NotYetDue { due }),
            }
        }
        Command::RecalculateDeadlines { year } if !s.is_terminal() => go(vec![Event::DeadlinesRecalculated { year: *year }], s),
        // G-AGENCY-TIME (行政许可法 art. 32): no supplement notice within the agency's limit — the
        // application counts as accepted from receipt, as it stands.
        Command::DeemAccepted if s == State::Submitted && st.supplement_notices == 0 => {
            expired(ctx, st, Expiry::DeemAccepted)?;
            let rule = p.clock_with_expiry(Expiry::DeemAccepted).map(|c| c.rule.clone()).unwrap_or_default();
            t.advance(Event::DeemedAccepted { rule, received_on: st.submitted_on })
        }
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
        _ => Err(t.not_here()),
    }
}
