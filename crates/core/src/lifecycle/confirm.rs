//! Which acts a person confirms on a second page before they are recorded, and what that page
//! says (issue "a public service people can use", item 3): what will happen, and what cannot be
//! undone. Every command is recorded for good; these are the ones whose effect a slip would make
//! hard to live with — ending or refusing an application, a notice that may be given only once,
//! publishing, signing.
//!
//! Not responsible for whether the act is allowed (that is `decide`, asked before the page is
//! shown), nor for the page itself (the web crate).

use super::Command;

/// What the confirmation page says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confirmation {
    /// The act, as its button names it: 「确认{act}」.
    pub act: &'static str,
    /// What happens when it is confirmed.
    pub what_happens: &'static str,
    /// What cannot be undone afterwards.
    pub cannot_undo: &'static str,
    /// Signing: the signer ticks that they have read the agreement (HRB-SIGN, URC-SIGN).
    pub read_agreement: bool,
    /// The act ends or refuses the application (its button is marked as dangerous).
    pub ends: bool,
}

/// The confirmation an act needs, by the command's name (`None`: recorded at once).
pub fn confirmation(command: &str) -> Option<Confirmation> {
    let c = |act, what_happens, cannot_undo| Confirmation { act, what_happens, cannot_undo, read_agreement: false, ends: false };
    let ends = |act, what_happens, cannot_undo| Confirmation { ends: true, ..c(act, what_happens, cannot_undo) };
    Some(match command {
        "withdraw" => ends(
            "撤回申请",
            "本申请将撤回并办结，经办机构不再审核。",
            "撤回后不能恢复；如仍需纳入定点，须重新提交申请。此前评估未通过的记录和整改期限不因撤回而消除。",
        ),
        "issue_supplement_notice" => c(
            "发出一次性补正告知",
            "机构将收到补正材料通知，列明需补正的全部材料，并开始补正期限的计时。",
            "一次性告知只能发出一次，发出后不能修改或再次告知；请确认已列明全部需补正的材料。",
        ),
        "accept" => c("受理", "本申请将被受理，并开始后续审核与评估的办理时限。", "受理后不能撤销受理。"),
        "reject" => ends("不予受理", "本申请将不予受理并办结，机构将收到不予受理告知及理由。", "不予受理的决定发出后不能撤回。"),
        "terminate" => ends("终止办理", "本申请将终止办理并办结，机构将收到终止通知及理由。", "终止后不能恢复。"),
        "publish_notice" => {
            c("发布公示", "机构名称、地址等信息将在公示页面向社会公开，公示期开始计算，期间任何人可投诉举报。", "公示发布后不能撤回。")
        }
        "sign" | "countersign" => Confirmation {
            act: if command == "sign" { "签订协议" } else { "经办机构签订协议" },
            what_happens: "将以当前协议文本签订医保服务协议，签订记录写入办理记录。",
            cannot_undo: "签订后不能撤回；如有异议，请在签订前提出。",
            read_agreement: true,
            ends: false,
        },
        "decline_agreement" => ends("放弃签订协议", "本申请将以未签订协议办结。", "放弃后不能恢复；如仍需纳入定点，须重新提交申请。"),
        "fail_preparation" => ends("确认签约前准备未完成", "本申请将以签约前准备未完成办结。", "办结后不能恢复。"),
        // A round's act (URC-EVAL-1, G-DRAW), not an application's command.
        "draw_round" => c(
            "抽取评估人员",
            "将按已公布的承诺值和所填公开随机值抽取现场评估人员，并确定现场评估日期；评估人员与机构的分组由系统于现场评估前日抽取。",
            "抽取结果不能撤销，也不能重新抽取；现场评估日期不能更改。",
        ),
        _ => return None,
    })
}

/// The confirmation `cmd` needs.
pub fn confirmation_for(cmd: &Command) -> Option<Confirmation> {
    confirmation(cmd.name())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lifecycle::COMMAND_NAMES;

    #[test]
    fn irreversible_acts_named_by_the_issue_need_confirmation() {
        for name in ["withdraw", "issue_supplement_notice", "accept", "publish_notice", "sign", "countersign"] {
            assert!(confirmation(name).is_some(), "{name}");
        }
        assert!(confirmation("sign").unwrap().read_agreement, "HRB-SIGN / URC-SIGN: the signer confirms reading the agreement");
        assert!(confirmation("update_draft").is_none());
    }

    #[test]
    fn confirmations_name_real_commands_in_plain_chinese() {
        for name in COMMAND_NAMES {
            if let Some(c) = confirmation(name) {
                for text in [c.act, c.what_happens, c.cannot_undo] {
                    assert!(!text.is_empty() && !text.chars().any(|ch| ch.is_ascii_alphabetic()), "{name}: {text}");
                }
            }
        }
        let known: Vec<&str> = COMMAND_NAMES.to_vec();
        for name in [
            "withdraw",
            "issue_supplement_notice",
            "accept",
            "reject",
            "terminate",
            "publish_notice",
            "sign",
            "countersign",
            "decline_agreement",
            "fail_preparation",
        ] {
            assert!(known.contains(&name), "{name} is a command");
        }
    }
}
