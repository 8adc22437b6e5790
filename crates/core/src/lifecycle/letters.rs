//! Letters (文书) to the applying institution: every decision that reaches it — accepted,
//! supplement notice, not accepted, evaluation result, terminated, deemed withdrawn, deemed to
//! give up, eligible to sign — as a numbered letter saying what was decided, on which rule, why,
//! by when the institution must act and what happens if it does not, the remedy the profile
//! gives, and the contact and supervision channels (HRB-HOTLINE, URC-CHANNEL).
//!
//! Letters are derived from the recorded events on read: the number is the application number
//! and the event's sequence number, so a letter renders the same every time and needs no write
//! path of its own.
//!
//! Legal remedies: neither SPEC.md nor the profiles name administrative reconsideration or
//! litigation, so no letter invents them; the remedies printed are the profile's own (evaluation
//! again after HRB-EVAL-3's wait, the day a ban ends, resubmission under HRB-ANNEX2).
//!
//! Not responsible for who may read a letter (that is `visibility::can_read`), nor for rendering
//! it (the web and docs crates), nor for the short inbox message (that is `messages`).

use jiff::civil::Date;
use serde::Serialize;

use super::events::Event;
use super::records::Outcome;
use crate::calendar::Calendar;
use crate::deadline::{self, Budget};
use crate::policy::{Annex2Missed, BanTrigger, ClockDef, Expiry, Profile, Step};
use crate::vocabulary::State;

/// The kinds of letter, each with its Chinese title.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LetterKind {
    /// 受理通知书 (HRB-ACC-1, G-AGENCY-TIME).
    Acceptance,
    /// 补正材料通知书（一次性告知书） (HRB-ACC-1, G-ONE-NOTICE).
    Supplement,
    /// 不予受理告知书 (URC-REJ-*).
    Rejection,
    /// 评估结果告知书 (HRB-EVAL-3, URC-RES-1).
    EvaluationResult,
    /// 终止申请通知书 (URC-REV-2).
    Termination,
    /// 视为撤回申请通知书 (HRB-ACC-2).
    DeemedWithdrawn,
    /// 视为放弃通知书 (HRB-PRE-4, HRB-SIGN, URC-SIGN).
    DeemedGivenUp,
    /// 签订协议通知书 (HRB-SIGN, URC-SIGN).
    Signing,
    /// 处方流转验收结果告知书 (HRB-ANNEX2).
    Annex2Result,
}

impl LetterKind {
    pub fn title(self) -> &'static str {
        match self {
            LetterKind::Acceptance => "受理通知书",
            LetterKind::Supplement => "补正材料通知书（一次性告知书）",
            LetterKind::Rejection => "不予受理告知书",
            LetterKind::EvaluationResult => "评估结果告知书",
            LetterKind::Termination => "终止申请通知书",
            LetterKind::DeemedWithdrawn => "视为撤回申请通知书",
            LetterKind::DeemedGivenUp => "视为放弃通知书",
            LetterKind::Signing => "签订协议通知书",
            LetterKind::Annex2Result => "处方流转验收结果告知书",
        }
    }
}

/// A rule a letter rests on: its ID (for tracing; not printed) and what it says, in Chinese.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Basis {
    pub rule: String,
    pub wording: String,
}

/// By when the institution must act.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LetterDeadline {
    /// What must be done, e.g. "一次性补正全部材料".
    pub act: String,
    /// The period as the rule states it (e.g. 5 个工作日), when there is one.
    pub period: Option<Budget>,
    /// The last day (the period ends at 24:00 of it); `None` when it cannot be computed (a
    /// calendar year not loaded).
    pub due: Option<Date>,
}

impl LetterDeadline {
    /// "5个工作日内（至 2026-10-13 24:00 止）".
    pub fn text(&self) -> String {
        let period = self.period.map(|b| format!("自本通知书送达之日起 {b}内")).unwrap_or_default();
        match (self.due, period.is_empty()) {
            (Some(d), true) => format!("{}：{d} 24:00 前", self.act),
            (Some(d), false) => format!("{}：{period}（至 {d} 24:00 止）", self.act),
            (None, false) => format!("{}：{period}", self.act),
            (None, true) => format!("{}：请在规定期限内办理", self.act),
        }
    }
}

/// A letter to the applying institution.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Letter {
    /// The event's sequence number within the application: the letter's place in the URL.
    pub seq: i64,
    /// `<application number>-L<seq>`: unique (an application number is unique, a sequence
    /// number unique within it) and stable.
    pub number: String,
    pub kind: LetterKind,
    pub issued_on: Date,
    /// What was decided, in one or two sentences.
    pub decision: String,
    pub basis: Vec<Basis>,
    pub reasons: Vec<String>,
    pub deadline: Option<LetterDeadline>,
    /// What happens if the deadline is missed, or what the decision entails.
    pub consequence: Option<String>,
    /// The remedy the profile gives, with its time limit.
    pub remedy: Option<String>,
    /// The next step, where there is one.
    pub next_step: Option<String>,
    /// (label, value) of the profile's contact and supervision channels.
    pub contacts: Vec<(String, String)>,
}

/// One recorded event with its sequence number and the day it happened.
#[derive(Debug, Clone, Copy)]
pub struct LetterEvent<'a> {
    pub seq: i64,
    pub on: Date,
    pub event: &'a Event,
}

/// The letter number of an application's event: `<number>-L<seq>`.
pub fn letter_number(application_number: &str, seq: i64) -> String {
    format!("{application_number}-L{seq}")
}

/// Every letter of an application, in the order of its events.
pub fn letters(history: &[LetterEvent<'_>], number: &str, p: &Profile, cal: &Calendar) -> Vec<Letter> {
    (0..history.len()).filter_map(|i| letter(history, i, number, p, cal)).collect()
}

/// The letter the `i`-th event produces, if any. Later events of the same day may complete it
/// (a ban imposed with a deemed give-up or a second failure).
pub fn letter(history: &[LetterEvent<'_>], i: usize, number: &str, p: &Profile, cal: &Calendar) -> Option<Letter> {
    let e = history.get(i)?;
    let ban = history[i + 1..].iter().take_while(|n| n.on == e.on).find_map(|n| match n.event {
        Event::BanImposed { until, rule, .. } => Some((*until, rule.clone())),
        _ => None,
    });
    let mut l = Letter {
        seq: e.seq,
        number: letter_number(number, e.seq),
        kind: LetterKind::Acceptance,
        issued_on: e.on,
        decision: String::new(),
        basis: Vec::new(),
        reasons: Vec::new(),
        deadline: None,
        consequence: None,
        remedy: None,
        next_step: None,
        contacts: p.contacts.iter().map(|c| (c.label.clone(), c.value.clone())).collect(),
    };
    let clock_basis = |c: &ClockDef, then: &str| Basis { rule: c.rule.clone(), wording: format!("{}为 {}{then}", c.name, c.budget) };
    let step_rule = |s: Step| p.step(s).map(|c| c.rule.clone());
    match e.event {
        Event::Accepted => {
            l.decision = "经审核，您单位提交的定点申请材料齐全，决定予以受理。".into();
            if let Some(rule) = step_rule(Step::Acceptance).or_else(|| step_rule(Step::CompletenessCheck)) {
                l.basis.push(Basis { rule, wording: "申请材料齐全的，经办机构予以受理".into() });
            }
            l.next_step = Some(next_after_acceptance(p));
        }
        Event::DeemedAccepted { rule, received_on } => {
            let since = received_on.map(|d| format!("（{d}）")).unwrap_or_default();
            l.decision = format!("经办机构未在规定时限内一次性告知需补正的材料，您单位的定点申请自收到申请材料之日{since}起即为受理。");
            l.basis.push(Basis {
                rule: rule.clone(),
                wording: "《中华人民共和国行政许可法》第三十二条：逾期不告知的，自收到申请材料之日起即为受理".into(),
            });
            l.next_step = Some(next_after_acceptance(p));
        }
        Event::SupplementNoticeIssued { items, due } => {
            l.kind = LetterKind::Supplement;
            l.decision = "经审核，您单位的定点申请材料不齐全或不符合要求，现一次性告知需补正的全部内容。".into();
            l.reasons = items
                .iter()
                .map(|it| {
                    let name = p.material(&it.slot).map(|m| m.name.as_str()).unwrap_or("其他材料");
                    format!("{name}：{}", it.reason)
                })
                .collect();
            let clock = p.clock_with_expiry(Expiry::DeemWithdrawn);
            if let Some(c) = clock {
                l.basis.push(clock_basis(c, "，逾期未补正的，视为撤回申请"));
            }
            l.deadline =
                Some(LetterDeadline { act: "一次性补正上述全部材料".into(), period: clock.map(|c| c.budget), due: *due });
            l.consequence = Some("逾期未补正的，视为撤回申请。".into());
        }
        Event::Rejected { reasons } => {
            l.kind = LetterKind::Rejection;
            l.decision = "经审核，您单位的定点申请不予受理。".into();
            l.reasons = reasons.iter().map(|r| r.text.clone()).collect();
            l.basis = reasons.iter().filter_map(|r| r.rule.clone()).map(|rule| Basis { rule, wording: "不予受理的情形".into() }).collect();
            l.consequence = Some("本次申请办理终结；不予受理的情形消除后，可重新提出申请。".into());
        }
        Event::ResultDecided { outcome: Outcome::Pass, .. } => {
            l.kind = LetterKind::EvaluationResult;
            l.decision = "经评估，您单位的定点申请评估通过。".into();
            l.basis.extend(result_basis(p));
            l.next_step = Some("评估通过的名单将依规定进行公示，公示期满无异议的，进入签约环节。".into());
        }
        Event::ResultDecided { reasons, rectification, attempt, .. } => {
            l.kind = LetterKind::EvaluationResult;
            l.decision = "经评估，您单位的定点申请评估未通过。".into();
            l.reasons = reasons.clone();
            if let Some(fix) = rectification {
                l.reasons.push(format!("整改意见：{fix}"));
            }
            l.basis.extend(result_basis(p));
            match (&p.reevaluation, ban) {
                (_, Some((until, rule))) => {
                    l.basis.push(Basis { rule, wording: "再次评估仍未通过的，1 年内不得再次申请".into() });
                    l.consequence = Some(ban_text(until));
                }
                (Some(re), None) if *attempt <= 1 => {
                    let from = deadline::checked_earliest(e.on, re.wait).ok();
                    l.basis.push(Basis {
                        rule: re.rule.clone(), wording: format!("评估未通过的，可在结果送达 {}后申请再次评估", re.wait)
                    });
                    l.remedy = Some(match from {
                        Some(d) => format!("整改后，可自 {d} 起申请再次评估（结果送达 {} 后）。", re.wait),
                        None => format!("整改后，可在结果送达 {} 后申请再次评估。", re.wait),
                    });
                    l.consequence = Some("再次评估仍未通过的，一定期限内不得再次申请。".into());
                }
                _ => {}
            }
        }
        Event::Terminated { reason, .. } => {
            l.kind = LetterKind::Termination;
            l.decision = "经信息核查，您单位的定点申请终止办理。".into();
            l.reasons = vec![reason.clone()];
            if let Some(rule) = step_rule(Step::InfoVerification) {
                l.basis.push(Basis {
                    rule, wording: "信息核查中发现信息不符或存在严重违法违规行为的，终止申请".into()
                });
            }
        }
        Event::Withdrawn { deemed: true, reason } => {
            l.kind = LetterKind::DeemedWithdrawn;
            l.decision = "您单位的定点申请视为撤回。".into();
            l.reasons = vec![reason.clone().unwrap_or_else(|| "未在补正期限内补正材料".into())];
            if let Some(c) = p.clock_with_expiry(Expiry::DeemWithdrawn) {
                l.basis.push(clock_basis(c, "，逾期未补正的，视为撤回申请"));
            }
            l.consequence = Some("本次申请办理终结；如需定点，可重新提出申请。".into());
        }
        Event::GivenUp { reason, deemed: true } | Event::PreparationFailed { reason } => {
            l.kind = LetterKind::DeemedGivenUp;
            l.decision = "您单位视为放弃本次定点申请。".into();
            l.reasons = vec![reason.clone()];
            let signing = p.clock_with_expiry(Expiry::DeemGivenUp);
            match (e.event, signing) {
                (Event::GivenUp { .. }, Some(c)) if !matches!(ban.as_ref(), Some((_, r)) if r != &c.rule) => {
                    l.basis.push(clock_basis(c, "，逾期未签订的，视为放弃"))
                }
                _ => {}
            }
            match ban {
                Some((until, rule)) => {
                    l.basis.push(Basis { rule, wording: "视为放弃的，原则上 1 年内不予受理其定点申请".into() });
                    l.consequence = Some(ban_text(until));
                }
                None => l.consequence = Some("本次申请办理终结；如需定点，可重新提出申请。".into()),
            }
        }
        Event::NoticeEnded if p.next_after(State::PublicNotice) == State::PresignPreparation => return None,
        Event::NoticeEnded | Event::PreparationCompleted => {
            l.kind = LetterKind::Signing;
            l.decision = "您单位已具备签订医保服务协议的条件。".into();
            let clock = p.clock_with_expiry(Expiry::DeemGivenUp)?;
            l.basis.push(clock_basis(clock, "，逾期未签订的，视为放弃"));
            let due = deadline::compute(e.on, clock.budget, &[], cal).due;
            l.deadline = Some(LetterDeadline { act: "登录平台在线签订医保服务协议".into(), period: Some(clock.budget), due });
            l.consequence = Some(match p.ban(BanTrigger::SigningGiveUp) {
                Some(b) => format!("逾期未签订的，视为放弃，{} 内不予受理其定点申请。", b.length),
                None => "逾期未签订的，视为放弃。".into(),
            });
            if p.agreement.as_ref().is_some_and(|a| a.negotiation) {
                l.next_step = Some("签订前可就协议文本提出协商意见；协商一致的，自愿签订。".into());
            }
        }
        Event::Annex2Reviewed { passed: false, reason, resubmit_due, opens_window } => {
            l.kind = LetterKind::Annex2Result;
            l.decision = "您单位的电子处方流转测试验收未通过。".into();
            l.reasons = reason.iter().cloned().collect();
            let days = p.preparation.as_ref().map(|c| Budget { amount: c.annex2_resubmit_working_days, unit: deadline::Unit::WorkingDays });
            let within = days.map(|d| format!(" {d}内")).unwrap_or_default();
            let wording = format!("验收不合格的，按照告知的原因在接到通知后{within}重新提交验收材料");
            l.basis.push(Basis { rule: "HRB-ANNEX2".into(), wording });
            if *opens_window {
                l.deadline = Some(LetterDeadline { act: "整改后重新提交验收材料".into(), period: days, due: *resubmit_due });
                // The profile's reading of a missed window (`annex2_missed_window`).
                let whole = p.preparation.as_ref().is_some_and(|c| c.annex2_missed_window == Annex2Missed::Application);
                l.consequence = Some(
                    if whole {
                        "逾期未重新提交的，定点申请视为撤回。"
                    } else {
                        "逾期未重新提交的，验收申请视为撤回。"
                    }
                    .into(),
                );
            } else {
                l.consequence = Some("验收次数已用完。".into());
            }
        }
        _ => return None,
    }
    l.reasons = l.reasons.iter().map(|r| without_rule_ids(r)).collect();
    Some(l)
}

/// HRB-ACC-1/2: what the application page tells the institution while a supplement is due: the
/// last day and what happens after it, worded from the profile's clock.
pub fn supplement_banner(p: &Profile, due: Option<Date>) -> String {
    let clock = p.clock_with_expiry(Expiry::DeemWithdrawn);
    let period = clock.map(|c| format!("（{}：{}）", c.name, c.budget)).unwrap_or_default();
    let until = due
        .map(|d| format!("请于 {d} 24:00 前逐项重新上传并提交补正{period}"))
        .unwrap_or_else(|| format!("请在补正期限内逐项重新上传并提交补正{period}"));
    match clock {
        Some(_) => format!("{until}。逾期未补正的，视为撤回申请。"),
        None => format!("{until}。"),
    }
}

/// The receipt's next step after a submission: who looks at the application next and within what
/// time, from the profile (HRB-ACC-1 / URC-REV-1).
pub fn after_submit(p: &Profile) -> String {
    let limit = p.clock_bounding(crate::policy::Bound::SupplementNotice).map(|c| format!("在 {} 内", c.budget)).unwrap_or_default();
    match p.next_after(State::Submitted) {
        State::InitialReview => "下一步：区（县）医保分中心对申请进行初审，结果将通过站内消息和文书通知您。".into(),
        _ => format!("下一步：经办机构{limit}审核申请材料；材料不齐全的，将一次性告知需补正的全部内容。结果将通过站内消息和文书通知您。"),
    }
}

/// Text recorded with an event may cite a rule by its ID for the staff ("逾期未补正材料（HRB-ACC-2）");
/// a letter states the rule in words, so a parenthesised rule ID is dropped.
pub fn without_rule_ids(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find(['（', '(']) {
        let after = &rest[open + rest[open..].chars().next().map_or(1, char::len_utf8)..];
        let close = after.find(['）', ')']);
        let inner = close.map(|c| &after[..c]);
        let is_rule = inner.is_some_and(|i| {
            !i.is_empty()
                && i.split(['、', ',', '，', '/', ' '])
                    .filter(|s| !s.is_empty())
                    .all(|id| id.contains('-') && id.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-'))
        });
        match (is_rule, close) {
            (true, Some(c)) => {
                out.push_str(&rest[..open]);
                let tail = &after[c..];
                rest = &tail[tail.chars().next().map_or(0, char::len_utf8)..];
            }
            _ => {
                let step = open + rest[open..].chars().next().map_or(1, char::len_utf8);
                out.push_str(&rest[..step]);
                rest = &rest[step..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn next_after_acceptance(p: &Profile) -> String {
    match p.next_after(State::Accepted) {
        State::InitialReview => "下一步：区（县）医保分中心进行初审。".into(),
        _ => "下一步：经办机构将组织现场踏查和专家评估，请保持联系渠道畅通。".into(),
    }
}

fn result_basis(p: &Profile) -> Option<Basis> {
    let rule = p.step(Step::CollectiveDecision).or_else(|| p.step(Step::ExpertReview)).map(|c| c.rule.clone())?;
    Some(Basis {
        rule, wording: "评估结果由专家评估（集体研究）确定，未通过的应说明理由并提出整改意见".into()
    })
}

/// G-BANS with 民法典 arts. 201–202: the ban covers its last day.
fn ban_text(until: Date) -> String {
    match until.tomorrow() {
        Ok(next) => format!("至 {until}（含当日）不得再次申请定点，自 {next} 起方可重新申请。"),
        Err(_) => format!("至 {until}（含当日）不得再次申请定点。"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lifecycle::{Problem, Reason, SupplementItem};
    use jiff::civil::date;

    fn harbin() -> Profile {
        Profile::shipped().into_iter().find(|p| p.id == "harbin").expect("harbin")
    }
    fn urumqi() -> Profile {
        Profile::shipped().into_iter().find(|p| p.id == "urumqi").expect("urumqi")
    }

    fn one(p: &Profile, events: &[(Date, Event)]) -> Vec<Letter> {
        let h: Vec<LetterEvent> =
            events.iter().enumerate().map(|(i, (on, e))| LetterEvent { seq: i as i64 + 1, on: *on, event: e }).collect();
        letters(&h, "HRB-2026-000001", p, &Calendar::shipped())
    }

    #[test]
    fn hrb_acc_1_supplement_letter_names_materials_deadline_and_consequence() {
        let p = harbin();
        let slot = p.materials[0].id.clone();
        let e = Event::SupplementNoticeIssued {
            items: vec![SupplementItem { slot, problem: Problem::Missing, reason: "缺少盖章页".into() }],
            due: Some(date(2026, 10, 13)),
        };
        let ls = one(&p, &[(date(2026, 9, 29), Event::Accepted), (date(2026, 9, 30), e)]);
        let l = &ls[1];
        assert_eq!(l.kind, LetterKind::Supplement);
        assert_eq!(l.number, "HRB-2026-000001-L2");
        assert!(l.reasons[0].starts_with(&p.materials[0].name), "{:?}", l.reasons);
        // HRB-ACC-2: 5 working days, the date, and deemed withdrawn.
        assert!(l.basis.iter().any(|b| b.rule == "HRB-ACC-2"));
        let d = l.deadline.as_ref().unwrap().text();
        assert!(d.contains("5个工作日") && d.contains("2026-10-13"), "{d}");
        assert!(l.consequence.as_deref().unwrap().contains("视为撤回"));
        // HRB-HOTLINE on every letter.
        assert!(l.contacts.iter().any(|(_, v)| v == "0451-12393"));
    }

    #[test]
    fn hrb_acc_2_banner_states_the_date_and_deemed_withdrawal() {
        let b = supplement_banner(&harbin(), Some(date(2026, 3, 9)));
        assert!(b.contains("2026-03-09 24:00") && b.contains("5个工作日") && b.contains("逾期未补正的，视为撤回申请"), "{b}");
        assert!(after_submit(&harbin()).contains("5个工作日"), "HRB-ACC-1");
        assert!(after_submit(&urumqi()).contains("初审"), "URC-REV-1");
    }

    #[test]
    fn g_agency_time_deemed_acceptance_is_an_acceptance_letter_citing_art_32() {
        let p = harbin();
        let e = Event::DeemedAccepted { rule: "G-AGENCY-TIME".into(), received_on: Some(date(2026, 3, 2)) };
        let l = &one(&p, &[(date(2026, 3, 10), e)])[0];
        assert_eq!(l.kind, LetterKind::Acceptance);
        assert!(l.decision.contains("2026-03-02"), "{}", l.decision);
        assert!(l.basis[0].wording.contains("第三十二条") && l.basis[0].rule == "G-AGENCY-TIME");
        assert!(l.next_step.is_some());
    }

    #[test]
    fn urc_res_1_pass_letter_has_next_step_and_no_deadline() {
        let pass = Event::ResultDecided {
            outcome: Outcome::Pass,
            reasons: vec![],
            rectification: None,
            attempt: 1,
            minutes: None,
            attendees: vec![],
            departure_reason: None,
        };
        let l = &one(&urumqi(), &[(date(2026, 4, 1), pass)])[0];
        assert_eq!(l.kind, LetterKind::EvaluationResult);
        assert!(l.basis.iter().any(|b| b.rule == "URC-EVAL-4"), "{:?}", l.basis);
        assert!(l.deadline.is_none() && l.remedy.is_none() && l.next_step.is_some());
    }

    #[test]
    fn rule_ids_recorded_in_reasons_are_not_printed() {
        assert_eq!(without_rule_ids("逾期未补正材料（HRB-ACC-2）"), "逾期未补正材料");
        assert_eq!(without_rule_ids("理由（URC-REJ-MED-1、URC-REJ-MED-2）。另（见附件）"), "理由。另（见附件）");
        assert_eq!(without_rule_ids("未闭合（HRB"), "未闭合（HRB");
        assert_eq!(without_rule_ids("(a-b)"), "(a-b)");
    }

    #[test]
    fn urc_rej_letter_cites_each_reason() {
        let p = urumqi();
        let e = Event::Rejected { reasons: vec![Reason { rule: Some("URC-REJ-MED-1".into()), text: "主要从事医疗美容".into() }] };
        let l = &one(&p, &[(date(2026, 9, 30), e)])[0];
        assert_eq!(l.kind, LetterKind::Rejection);
        assert_eq!(l.basis[0].rule, "URC-REJ-MED-1");
        assert_eq!(l.reasons, vec!["主要从事医疗美容".to_owned()]);
        assert!(l.contacts.iter().any(|(_, v)| v.contains("656693658")), "URC-CHANNEL: {:?}", l.contacts);
    }

    #[test]
    fn hrb_eval_3_first_failure_gives_reevaluation_date_second_gives_ban() {
        let p = harbin();
        let fail = |attempt| Event::ResultDecided {
            outcome: Outcome::Fail,
            reasons: vec!["制度不健全".into()],
            rectification: Some("完善制度".into()),
            attempt,
            minutes: None,
            attendees: vec![],
            departure_reason: None,
        };
        let l = &one(&p, &[(date(2026, 3, 31), fail(1))])[0];
        assert_eq!(l.kind, LetterKind::EvaluationResult);
        // LAW-MONTH: 3 months from 03-31 end on 06-30; re-evaluation from the next day.
        assert!(l.remedy.as_deref().unwrap().contains("2026-07-01"), "{:?}", l.remedy);
        let ban = Event::BanImposed { rule: "HRB-EVAL-3".into(), until: date(2027, 3, 31), reason: "二次评估未通过".into() };
        let l = &one(&p, &[(date(2026, 3, 31), fail(2)), (date(2026, 3, 31), ban)])[0];
        assert!(l.remedy.is_none());
        assert!(l.consequence.as_deref().unwrap().contains("2027-04-01"), "{:?}", l.consequence);
    }

    #[test]
    fn hrb_sign_letter_counts_working_days_with_the_date() {
        let p = harbin();
        let l = &one(&p, &[(date(2026, 9, 30), Event::PreparationCompleted)])[0];
        assert_eq!(l.kind, LetterKind::Signing);
        let d = l.deadline.as_ref().unwrap();
        // LAW-WD: 10 working days from 09-30 skip the National Day holiday.
        assert_eq!(d.period.map(|b| b.amount), Some(10));
        assert!(d.due.is_some_and(|due| due > date(2026, 10, 14)), "{d:?}");
        assert!(l.consequence.as_deref().unwrap().contains("视为放弃"));
    }

    #[test]
    fn deemed_and_termination_letters_and_events_without_letters() {
        let p = urumqi();
        let ls = one(
            &p,
            &[
                (date(2026, 9, 1), Event::InitialReviewPassed),
                (date(2026, 9, 2), Event::Terminated { reason: "执业地址不符".into(), sources: vec![] }),
            ],
        );
        assert_eq!(ls.len(), 1);
        assert_eq!(ls[0].kind, LetterKind::Termination);
        assert!(ls[0].basis.iter().any(|b| b.rule == "URC-REV-2"), "{:?}", ls[0].basis);
        let h = harbin();
        let l = &one(&h, &[(date(2026, 9, 2), Event::Withdrawn { reason: None, deemed: true })])[0];
        assert_eq!(l.kind, LetterKind::DeemedWithdrawn);
        assert!(one(&h, &[(date(2026, 9, 2), Event::Withdrawn { reason: None, deemed: false })]).is_empty());
        let ban = Event::BanImposed { rule: "HRB-PRE-4".into(), until: date(2027, 9, 2), reason: "未参加培训".into() };
        let l = &one(&h, &[(date(2026, 9, 2), Event::PreparationFailed { reason: "未参加培训".into() }), (date(2026, 9, 2), ban)])[0];
        assert_eq!(l.kind, LetterKind::DeemedGivenUp);
        assert!(l.basis.iter().any(|b| b.rule == "HRB-PRE-4"));
        assert!(l.consequence.as_deref().unwrap().contains("2027-09-03"));
    }
}
