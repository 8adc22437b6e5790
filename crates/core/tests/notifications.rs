//! What the institution is told (`lifecycle::notification`): periods, rule IDs and the next step
//! come from the profile the application is bound to, never from the code.

use dingdian_core::lifecycle::{Event, Outcome, notification};
use dingdian_core::policy::{Profile, SHIPPED};

fn shipped(i: usize) -> Profile {
    Profile::shipped().swap_remove(i)
}

fn failed(attempt: u32) -> Event {
    Event::ResultDecided {
        outcome: Outcome::Fail,
        reasons: vec!["制度不全".into()],
        rectification: Some("补齐制度".into()),
        attempt,
        minutes: None,
        attendees: vec![],
        departure_reason: None,
    }
}

// HRB-EVAL-3 / URC-RES-1: the wait before re-evaluation is the profile's.
#[test]
fn hrb_eval_3_failure_quotes_the_profiles_reevaluation_wait() {
    let (_, body) = notification(&failed(1), "HRB-1", &shipped(0)).expect("notified");
    assert!(body.contains("结果送达 3 个月后申请再次评估（HRB-EVAL-3）") && body.contains("补齐制度"), "{body}");

    let text = SHIPPED[1].1.replacen("wait_amount = 3", "wait_amount = 6", 1);
    let urc = Profile::parse("u.toml", &text).expect("valid");
    let (_, body) = notification(&failed(1), "URC-1", &urc).expect("notified");
    assert!(body.contains("结果送达 6 个月后申请再次评估（URC-RES-1）") && !body.contains("3 个月"), "{body}");

    // A second failure is final: no re-evaluation is offered.
    let (_, body) = notification(&failed(2), "HRB-1", &shipped(0)).expect("notified");
    assert!(!body.contains("再次评估"), "{body}");
}

// HRB-NOTICE → HRB-PRE-1: in Harbin the notice is followed by pre-signing preparation, so the
// institution is not told to sign yet; in Urumqi (URC-SIGN) it is, within the profile's period.
#[test]
fn hrb_notice_end_names_the_profiles_next_step() {
    let (subject, body) = notification(&Event::NoticeEnded, "HRB-1", &shipped(0)).expect("notified");
    assert!(subject.contains("签约前准备") && body.contains("签约前准备") && !subject.contains("签订协议"), "{subject} {body}");

    let (subject, body) = notification(&Event::PreparationCompleted, "HRB-1", &shipped(0)).expect("notified");
    assert!(subject.contains("请签订协议") && body.contains("10 个工作日") && body.contains("HRB-SIGN"), "{subject} {body}");

    let (subject, body) = notification(&Event::NoticeEnded, "URC-1", &shipped(1)).expect("notified");
    assert!(subject.contains("请签订协议") && body.contains("10 日") && body.contains("URC-SIGN"), "{subject} {body}");
}

// HRB-ACC-2: the rule cited for the deemed withdrawal is the profile's supplement clock.
#[test]
fn hrb_acc_2_withdrawal_cites_the_profiles_rule() {
    let (_, body) = notification(&Event::Withdrawn { reason: None, deemed: true }, "HRB-1", &shipped(0)).expect("notified");
    assert!(body.contains("（HRB-ACC-2）"), "{body}");
    let (_, body) = notification(&Event::Withdrawn { reason: None, deemed: true }, "URC-1", &shipped(1)).expect("notified");
    assert!(!body.contains("HRB-"), "{body}");
}

// HRB-HOTLINE: every letter to the applicant ends with the supervision hotline; URC-CHANNEL: with
// Urumqi's channels. Both come from the profile.
#[test]
fn hrb_hotline_ends_every_letter() {
    for event in [Event::NoticeEnded, Event::PreparationCompleted, failed(1)] {
        let (_, body) = notification(&event, "HRB-1", &shipped(0)).expect("notified");
        assert!(body.ends_with("监督电话：0451-12393。"), "{body}");
    }
    let (_, body) = notification(&Event::NoticeEnded, "URC-1", &shipped(1)).expect("notified");
    assert!(body.contains("656693658") && !body.contains("12393"), "{body}");
}
