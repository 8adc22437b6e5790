//! Deciding the evaluation phase: joining a round and starting the site evaluation (URC-EVAL-1),
//! scoring and confirming the sheet (HRB-EVAL-1, URC-EVAL-2), the expert review (HRB-EVAL-2,
//! URC-EVAL-3), the collective decision (URC-EVAL-4) and re-evaluation (HRB-EVAL-3, URC-RES-1).
//!
//! Not responsible for who is drawn and grouped (that is `draw`), nor for who may see the
//! grouping (that is `visibility`).

use super::support::{check_sheet, invalid, non_empty, required_text, result};
use super::{Decision, Turn, go};
use crate::deadline;
use crate::lifecycle::commands::Command;
use crate::lifecycle::events::Event;
use crate::lifecycle::records::Outcome;
use crate::policy::Step;
use crate::refusal::Refusal;
use crate::vocabulary::{Role, State};

/// Decides the commands of this group; one whose state or guard does not fit is not allowed here.
pub(super) fn decide(t: &Turn<'_>) -> Result<Decision, Refusal> {
    let Turn { ctx, scope, st, actor, cmd, .. } = *t;
    let p = ctx.profile;
    let s = st.state;
    let not_here = || t.not_here();
    match cmd {
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
            t.advance(Event::SiteEvaluationStarted { round_id: *round_id })
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
            if confirm { go(vec![event], s) } else { t.advance(event) }
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
            t.advance(Event::ScoreSheetConfirmed)
        }
        Command::RecordExpertReview { recommendation, reasons, rectification, attendees } if s == State::ExpertReview => {
            let attendees: Vec<String> = attendees.iter().map(|a| a.trim().to_owned()).filter(|a| !a.is_empty()).collect();
            if p.has(Step::CollectiveDecision) && attendees.is_empty() {
                return Err(invalid("attendees", "须记录参加评估的专家，由其签字确认评估结果（URC-EVAL-3）。"));
            }
            // URC-EVAL-3 (HRB-EVAL-2 alike): "not passed" says why, in every profile.
            if *recommendation == Outcome::Fail && reasons.iter().all(|r| r.trim().is_empty()) {
                let rule = p.step(Step::ExpertReview).map(|c| c.rule.clone()).unwrap_or_default();
                return Err(Refusal::ReasonsRequired { rule });
            }
            let reasons: Vec<String> = reasons.iter().map(|r| r.trim().to_owned()).filter(|r| !r.is_empty()).collect();
            let reasons = &reasons;
            let review = Event::ExpertReviewRecorded {
                recommendation: *recommendation,
                reasons: reasons.clone(),
                rectification: rectification.clone(),
                attendees,
            };
            if p.has(Step::CollectiveDecision) {
                return t.advance(review);
            }
            let mut d = result(ctx, st, *recommendation, reasons, rectification)?;
            d.events.insert(0, review);
            Ok(d)
        }
        Command::Decide { outcome, reasons, rectification, minutes, attendees, departure_reason } if s == State::CollectiveDecision => {
            // URC-EVAL-4: the meeting's minutes and attendees are part of the decision.
            let rule = p.step(Step::CollectiveDecision).map(|c| c.rule.clone()).unwrap_or_default();
            let minutes = required_text("minutes", minutes.as_deref().unwrap_or_default())
                .map_err(|_| invalid("minutes", "须记录集体研究会议纪要。"))?;
            let attendees: Vec<String> = attendees.iter().map(|a| a.trim().to_owned()).filter(|a| !a.is_empty()).collect();
            if attendees.is_empty() {
                return Err(invalid("attendees", "须记录参加集体研究会议的人员。"));
            }
            // A decision that departs from the experts' recommendation records why.
            let departure_reason = non_empty(departure_reason);
            if let Some(rec) = st.expert_recommendation.filter(|r| r != outcome)
                && departure_reason.is_none()
            {
                return Err(Refusal::DepartureReasonRequired { rule, recommended_pass: rec == Outcome::Pass });
            }
            let mut d = result(ctx, st, *outcome, reasons, rectification)?;
            if let Some(Event::ResultDecided { minutes: m, attendees: a, departure_reason: why, .. }) = d.events.first_mut() {
                *m = Some(minutes);
                *a = attendees;
                *why = departure_reason;
            }
            Ok(d)
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
        _ => Err(t.not_here()),
    }
}
