//! The step bar (issue "a public service people can use", item 2): the stages of an application
//! as people name them (填报 → 提交 → 受理 → 审核 → 评估 → 公示 → 签约前准备 → 签约), taken from the
//! profile's steps, with where the application stands and which time limits belong to each stage.
//!
//! Not responsible for the limits' dates (that is `clocks`), nor for drawing the bar (the web).

use crate::policy::{Profile, Step};
use crate::vocabulary::State;

/// Where a stage stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StageStatus {
    Done,
    Current,
    Ahead,
    /// The application ended in this stage (withdrawn, refused, …).
    Ended,
    /// Never reached: the application ended earlier.
    Skipped,
}

impl StageStatus {
    pub fn zh(self) -> &'static str {
        match self {
            StageStatus::Done => "已完成",
            StageStatus::Current => "当前",
            StageStatus::Ahead => "未开始",
            StageStatus::Ended => "在此办结",
            StageStatus::Skipped => "未进行",
        }
    }
}

/// One stage of the bar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stage {
    pub name: &'static str,
    pub status: StageStatus,
    /// The profile's time limits that run in this stage (clock ids, profile order).
    pub clocks: Vec<String>,
}

/// The stages and the profile steps each gathers; a stage with steps shows only when the
/// profile enables one of them.
const STAGES: &[(&str, &[Step])] = &[
    ("填报", &[Step::Apply]),
    ("提交", &[]),
    ("受理", &[Step::Acceptance, Step::CompletenessCheck]),
    ("审核", &[Step::InitialReview, Step::InfoVerification]),
    ("评估", &[Step::EvaluatorDraw, Step::SiteEvaluation, Step::ExpertReview, Step::CollectiveDecision]),
    ("公示", &[Step::PublicNotice]),
    ("签约前准备", &[Step::PresignPreparation]),
    ("签约", &[Step::Signing]),
];

/// The stage (index into `STAGES`) an open state belongs to.
fn stage_of(state: State) -> usize {
    match state {
        State::Draft => 0,
        State::Submitted | State::AwaitingSupplement => 2,
        State::Accepted => 4,
        State::InitialReview | State::InfoVerification => 3,
        State::EvaluatorDraw | State::OnSiteEvaluation | State::ExpertReview | State::CollectiveDecision | State::FailedRectifying => 4,
        State::Passed | State::PublicNotice => 5,
        State::PresignPreparation => 6,
        State::ReadyToSign | State::Signed => 7,
        // An ended state is placed by the state it ended from (`last_open`).
        State::Withdrawn | State::Rejected | State::Terminated | State::NotSigned | State::GivenUp | State::FailedFinal => 0,
    }
}

/// The bar for an application in `state`; `last_open` is the last state before it ended (for
/// an ended application), as the record shows it.
pub fn stages(profile: &Profile, state: State, last_open: Option<State>) -> Vec<Stage> {
    let shown: Vec<usize> = (0..STAGES.len()).filter(|&i| i < 2 || STAGES[i].1.iter().any(|s| profile.has(*s))).collect();
    let (at, ended) = match state {
        State::Signed => (STAGES.len(), false),
        s if s.is_terminal() => (stage_of(last_open.unwrap_or(State::Draft)), true),
        s => (stage_of(s), false),
    };
    // A stage the profile does not have is never current: the next shown one is.
    let at = shown.iter().copied().find(|&i| i >= at).unwrap_or(STAGES.len());
    shown
        .into_iter()
        .map(|i| {
            let status = match (i.cmp(&at), ended) {
                (std::cmp::Ordering::Less, _) => StageStatus::Done,
                (std::cmp::Ordering::Equal, false) => StageStatus::Current,
                (std::cmp::Ordering::Equal, true) => StageStatus::Ended,
                (std::cmp::Ordering::Greater, false) => StageStatus::Ahead,
                (std::cmp::Ordering::Greater, true) => StageStatus::Skipped,
            };
            let clocks =
                profile.clocks.iter().filter(|c| c.runs_in.first().is_some_and(|s| stage_of(*s) == i)).map(|c| c.id.clone()).collect();
            Stage { name: STAGES[i].0, status, clocks }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shipped(id: &str) -> Profile {
        Profile::shipped().into_iter().find(|p| p.id == id).expect("shipped profile")
    }

    fn names(st: &[Stage]) -> Vec<&str> {
        st.iter().map(|s| s.name).collect()
    }

    #[test]
    fn stages_follow_the_profile_steps() {
        // HRB: no initial review or verification step; pre-signing preparation (HRB-PRE).
        let harbin = stages(&shipped("harbin"), State::Draft, None);
        assert_eq!(names(&harbin), ["填报", "提交", "受理", "评估", "公示", "签约前准备", "签约"]);
        assert_eq!(harbin[0].status, StageStatus::Current);
        // URC: submission goes straight to the initial review and verification (URC-REV-1/2); no
        // preparation.
        let urumqi = stages(&shipped("urumqi"), State::InitialReview, None);
        assert_eq!(names(&urumqi), ["填报", "提交", "审核", "评估", "公示", "签约"]);
        let status: Vec<StageStatus> = urumqi.iter().map(|s| s.status).collect();
        use StageStatus::*;
        assert_eq!(status, [Done, Done, Current, Ahead, Ahead, Ahead]);
    }

    #[test]
    fn an_ended_application_shows_where_it_ended() {
        let bar = stages(&shipped("harbin"), State::Withdrawn, Some(State::AwaitingSupplement));
        let status: Vec<StageStatus> = bar.iter().map(|s| s.status).collect();
        use StageStatus::*;
        assert_eq!(status, [Done, Done, Ended, Skipped, Skipped, Skipped, Skipped]);
        let signed = stages(&shipped("harbin"), State::Signed, None);
        assert!(signed.iter().all(|s| s.status == Done));
    }

    #[test]
    fn hrb_acc_1_time_limits_sit_beside_their_stage() {
        let bar = stages(&shipped("harbin"), State::Submitted, None);
        let acceptance = bar.iter().find(|s| s.name == "受理").unwrap();
        assert!(!acceptance.clocks.is_empty(), "the acceptance limits belong to 受理: {bar:?}");
        let notice = bar.iter().find(|s| s.name == "公示").unwrap();
        assert!(!notice.clocks.is_empty(), "the notice period belongs to 公示");
    }
}
