//! What people are told: the letter (subject and body, in Chinese) the applying institution
//! receives when an event happens, with periods, rule IDs, the next step and the contact
//! channels taken from the application's profile.
//!
//! Not responsible for sending anything (the store queues letters), nor for the Chinese of
//! refusals (that is `refusal::Refusal::message_zh`).

use super::events::Event;
use super::records::Outcome;
use crate::deadline;
use crate::policy::{Annex2Missed, Expiry, Profile};
use crate::vocabulary::State;

/// What the applying institution is told when an event happens: (subject, body) in Chinese.
/// Periods, rule IDs and the next step come from the profile the application is bound to.
/// Events that need no notice give `None`.
pub fn notification(event: &Event, number: &str, p: &Profile) -> Option<(String, String)> {
    let subject = |s: &str| format!("定点申请 {number}：{s}");
    let rule_of = |e: Expiry| p.clock_with_expiry(e).map(|c| format!("（{}）", c.rule)).unwrap_or_default();
    let span = |b: deadline::Budget| format!("{} {}", b.amount, b.unit.zh());
    let (title, body) = match event {
        Event::SupplementNoticeIssued { items, due } => {
            let list: Vec<String> = items.iter().map(|i| format!("{}：{}", i.slot, i.reason)).collect();
            let rule = rule_of(Expiry::DeemWithdrawn);
            let until =
                due.map(|d| format!("请于 {d} 24:00 前一次性补正，逾期视为自动撤回{rule}。")).unwrap_or_else(|| "请尽快补正。".into());
            ("请补正材料", format!("经审核，以下材料需补正：{}。{until}", list.join("；")))
        }
        Event::Accepted => ("已受理", "您的定点申请已受理，我们将组织现场踏查。".to_owned()),
        Event::DeemedAccepted { received_on, .. } => (
            "已受理",
            format!(
                "经办机构未在规定时限内一次性告知补正材料，依照《行政许可法》第三十二条，您的定点申请自收到申请材料之日{}起即为受理，我们将组织现场踏查。",
                received_on.map(|d| format!("（{d}）")).unwrap_or_default()
            ),
        ),
        Event::Rejected { reasons } => {
            let list: Vec<String> = reasons
                .iter()
                .map(|r| r.rule.as_ref().map(|rule| format!("{}（{rule}）", r.text)).unwrap_or_else(|| r.text.clone()))
                .collect();
            ("不予受理", format!("您的定点申请不予受理，理由：{}。", list.join("；")))
        }
        Event::InitialReviewPassed => ("初审通过", "您的定点申请已通过初审，进入信息核查。".to_owned()),
        Event::Terminated { reason, .. } => ("申请终止", format!("经信息核查，您的定点申请终止：{reason}。")),
        Event::SiteEvaluationStarted { .. } => ("已抽取评估人员", "本期评估人员已随机抽取，现场评估前一个工作日揭晓评估小组。".to_owned()),
        Event::ResultDecided { outcome: Outcome::Pass, .. } => ("评估通过", "您的定点申请评估通过，将进行公示。".to_owned()),
        Event::ResultDecided { reasons, rectification, attempt, .. } => {
            let again = match &p.reevaluation {
                Some(re) if *attempt <= 1 => format!("可在结果送达 {}后申请再次评估（{}）。", span(re.wait), re.rule),
                _ => String::new(),
            };
            let fix = rectification.as_deref().map(|r| format!("整改意见：{r}。")).unwrap_or_default();
            ("评估未通过", format!("评估未通过，理由：{}。{fix}{again}", reasons.join("；")))
        }
        Event::NoticePublished { ends_on } => {
            ("进入公示", format!("您的机构已进入公示，公示期至 {}。", ends_on.map(|d| d.to_string()).unwrap_or_else(|| "另行通知".into())))
        }
        // The next step is the profile's: pre-signing preparation where it has one, else signing.
        Event::NoticeEnded if p.next_after(State::PublicNotice) == State::PresignPreparation => (
            "请完成签约前准备",
            "公示期满，您的机构进入签约前准备：请参加培训考试并完成系统改造等准备工作，经核验完成后方可签订协议。".to_owned(),
        ),
        Event::PreparationCompleted | Event::NoticeEnded => {
            let within = p
                .clock_with_expiry(Expiry::DeemGivenUp)
                .map(|c| format!("请在 {} 内", span(c.budget)))
                .unwrap_or_else(|| "请在规定期限内".into());
            ("请签订协议", format!("您的机构已具备签订协议条件，{within}在线签订协议，逾期视为放弃{}。", rule_of(Expiry::DeemGivenUp)))
        }
        Event::AgreementRevised { version, reply, .. } => (
            "协议文本已修订",
            format!("经办机构已根据协商意见修订服务协议文本（第 {version} 版）：{reply}。请登录查看新版本，协商一致的，在期限内在线签订。"),
        ),
        Event::Countersigned { .. } => ("协议已签订", "医保服务协议已签订，您的机构已纳入医保定点管理。".to_owned()),
        Event::Withdrawn { deemed: true, reason: Some(reason) } => ("视为撤回", format!("{reason}，您的定点申请视为自动撤回。")),
        Event::Withdrawn { deemed: true, .. } => {
            ("视为撤回", format!("逾期未补正材料，您的定点申请视为自动撤回{}。", rule_of(Expiry::DeemWithdrawn)))
        }
        Event::Annex2Reviewed { passed: false, reason, resubmit_due, opens_window } => {
            let why = reason.as_deref().map(|r| format!("原因：{r}。")).unwrap_or_default();
            let next = match (opens_window, resubmit_due) {
                (true, Some(d)) => format!("请整改后于 {d} 24:00 前重新提交验收材料，逾期视为自动撤回申请（HRB-ANNEX2）。"),
                (true, None) => {
                    let days = p.preparation.as_ref().map_or(0, |c| c.annex2_resubmit_working_days);
                    format!("请整改后在 {days} 个工作日内重新提交验收材料，逾期视为自动撤回申请（HRB-ANNEX2）。")
                }
                (false, _) => "验收次数已用完。".to_owned(),
            };
            ("处方流转验收未通过", format!("您的处方流转测试验收未通过。{why}{next}"))
        }
        // In the other reading the application's own withdrawal is the letter.
        Event::Annex2Withdrawn if p.preparation.as_ref().is_some_and(|c| c.annex2_missed_window == Annex2Missed::AcceptanceRequest) => (
            "处方流转验收申请视为撤回",
            "验收未通过后逾期未重新提交验收材料，验收申请视为自动撤回；签约前准备继续进行，请整改后重新申请验收（HRB-ANNEX2）。".to_owned(),
        ),
        Event::GivenUp { reason, .. } => ("视为放弃", format!("您的定点申请视为放弃：{reason}。")),
        Event::PreparationFailed { reason } => ("签约前准备未完成", format!("签约前准备未完成，视为放弃：{reason}。")),
        // G-BANS with 民法典 arts. 201–202: the ban covers its last day.
        Event::BanImposed { until, rule, .. } => (
            "限制申请期限",
            match until.tomorrow() {
                Ok(next) => format!("至 {until}（含当日）不得再次申请，{next} 起方可申请（{rule}）。"),
                Err(_) => format!("至 {until}（含当日）不得再次申请（{rule}）。"),
            },
        ),
        _ => return None,
    };
    // HRB-HOTLINE / URC-CHANNEL: every letter ends with the profile's contact channels.
    let body = match p.contacts_line() {
        Some(line) => format!("{body}\n{line}。"),
        None => body,
    };
    Some((subject(title), body))
}
