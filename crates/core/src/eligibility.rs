//! Who may apply (SPEC §2): the conditions a profile sets, checked against the institution's
//! declared facts (HRB-COND-*, URC-MED-*, URC-PHA-*, HRB-PREP), and the not-accepted rules
//! (URC-REJ-MED-*, URC-REJ-PHA-*) checked against its record and the records of the people who
//! run it. Every finding cites its rule and explains itself in Chinese; all are listed at once.
//!
//! Not responsible for what the rules are: they are profile data, defined in `rules` (re-exported
//! here) and loaded by `policy`.

use jiff::Span;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::ids::InstitutionCode;
use crate::policy::Profile;
pub use crate::rules::{Check, Condition, Equipment, Fact, NotAcceptedRule, OnUnmet, StaffRole, System, Trigger};
use crate::vocabulary::InstitutionKind;

/// A staff member with a labour contract (URC-PHA-2, URC-PHA-3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaffContract {
    pub name: String,
    pub contract_start: Date,
    /// `None`: open-ended.
    #[serde(default)]
    pub contract_end: Option<Date>,
}

impl StaffContract {
    /// In force on `on` and at least `years` long.
    fn qualifies(&self, on: Date, years: u16) -> bool {
        let long_enough = match self.contract_end {
            None => true,
            // A contract from 2025-01-01 to 2025-12-31 is a one-year contract: the term ends
            // the day before the corresponding date.
            // A term that cannot be represented (more than 19,998 years, or reaching past
            // 9999-12-31) is longer than any contract that can be entered.
            Some(end) => years_after(self.contract_start, years).and_then(|d| d.yesterday().ok()).is_some_and(|min| end >= min),
        };
        self.contract_start <= on && self.contract_end.is_none_or(|end| end >= on) && long_enough
    }
}

/// The same day `years` years after `d` (LAW-MONTH); `None` past the representable dates.
/// A record's explicit end (delisting, an agency-set end) is the first day it no longer applies;
/// a finding names the last day it does.
fn last_day_before(end: Option<Date>) -> Option<Date> {
    end.and_then(|d| d.yesterday().ok())
}

fn years_after(d: Date, years: u16) -> Option<Date> {
    d.checked_add(Span::new().try_years(years).ok()?).ok()
}

/// What an institution declares on its application. Parsed once: unknown keys are refused.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Declaration {
    pub operating_since: Option<Date>,
    pub beds: u32,
    pub first_registered_physicians: u32,
    pub principal_responsible: bool,
    pub insurance_administrators: u32,
    pub insurance_department: bool,
    pub full_time_insurance_staff: u32,
    pub pharmacists: Vec<StaffContract>,
    pub insurance_admin_contracts: Vec<StaffContract>,
    pub systems: Vec<System>,
    pub equipment: Vec<Equipment>,
    pub his_connected: bool,
    pub national_codes_used: bool,
    pub staff_contracts: bool,
    pub social_insurance: bool,
    pub gsp_zoning: bool,
    /// HRB-PREP: the national insurance institution code.
    pub national_code: Option<String>,
    /// URC-REJ-MED-1: main practice is non-basic care (医疗美容、辅助生殖、生活照护、种植牙).
    pub non_basic_main_practice: bool,
    /// URC-REJ-MED-2: basic services not priced by the government price policy.
    pub price_policy_violation: bool,
}

/// Every declared fact: its key, its command field, its name on the form.
const FACT_FIELDS: &[(&str, &str, &str)] = &[
    ("operating_since", "facts.operating_since", "开始执业（营业）日期"),
    ("beds", "facts.beds", "核定床位数"),
    ("first_registered_physicians", "facts.first_registered_physicians", "首注医师人数"),
    ("principal_responsible", "facts.principal_responsible", "主要负责人负责医保工作"),
    ("insurance_administrators", "facts.insurance_administrators", "医保管理人员人数"),
    ("insurance_department", "facts.insurance_department", "设有医保管理部门"),
    ("full_time_insurance_staff", "facts.full_time_insurance_staff", "专职医保管理人员人数"),
    ("pharmacists", "facts.pharmacists", "药学技术人员"),
    ("insurance_admin_contracts", "facts.insurance_admin_contracts", "医保管理人员"),
    ("systems", "facts.systems", "已建立的制度"),
    ("equipment", "facts.equipment", "已配备的设备"),
    ("his_connected", "facts.his_connected", "医院信息系统已对接"),
    ("national_codes_used", "facts.national_codes_used", "使用医保信息业务编码"),
    ("staff_contracts", "facts.staff_contracts", "与工作人员签订劳动合同"),
    ("social_insurance", "facts.social_insurance", "为工作人员缴纳社会保险"),
    ("gsp_zoning", "facts.gsp_zoning", "经营场所按 GSP 分区"),
    ("national_code", "facts.national_code", "国家医保定点机构代码（国码）"),
    ("non_basic_main_practice", "facts.non_basic_main_practice", "主要执业范围为非基本医疗服务"),
    ("price_policy_violation", "facts.price_policy_violation", "基本医疗服务未执行政府价格政策"),
];

impl Declaration {
    /// The people's name of a declared fact (as the application form labels it).
    pub fn field_zh(field: &str) -> Option<&'static str> {
        FACT_FIELDS.iter().find(|(k, _, _)| *k == field).map(|(_, _, zh)| *zh)
    }

    /// The command field of a declared fact (`facts.beds`), which forms show a refusal at.
    pub fn field_path(field: &str) -> Option<&'static str> {
        FACT_FIELDS.iter().find(|(k, _, _)| *k == field).map(|(_, path, _)| *path)
    }

    /// Parses declared facts; what does not parse is explained in plain Chinese, naming the
    /// field as the form does and what it expects — never the parser's own words.
    pub fn parse(facts: serde_json::Value) -> Result<Declaration, String> {
        Declaration::parse_field(facts).map_err(|(_, reason)| reason)
    }

    /// As `parse`, with the command field the refusal is about (`facts.operating_since`; `facts`
    /// when the fact is unknown), for the form to show it there.
    pub fn parse_field(facts: serde_json::Value) -> Result<Declaration, (&'static str, String)> {
        serde_path_to_error::deserialize(facts).map_err(|e| {
            let path = e.path().to_string();
            let top = path.split(['[', '.']).next().unwrap_or_default();
            (Declaration::field_path(top).unwrap_or("facts"), Declaration::explain(&path))
        })
    }

    /// The message for a fact at `path` (`operating_since`, `pharmacists[1].contract_start`)
    /// that does not parse.
    fn explain(path: &str) -> String {
        let top = path.split(['[', '.']).next().unwrap_or_default();
        let Some(label) = Declaration::field_zh(top) else {
            return "申报信息中有无法识别的项目，请刷新页面后重新填写。".to_owned();
        };
        let person = path.split_once('[').and_then(|(_, rest)| rest.split_once(']')).and_then(|(n, _)| n.parse::<usize>().ok());
        let date = "请按“年-月-日”填写日期，例如 2025-03-01";
        match top {
            "operating_since" => format!("“{label}”填写有误：{date}。"),
            "pharmacists" | "insurance_admin_contracts" => {
                let who = person.map(|n| format!("第 {} 人", n + 1)).unwrap_or_default();
                if path.ends_with("contract_end") {
                    format!("“{label}”{who}的劳动合同终止日期填写有误：{date}；无固定期限的请留空。")
                } else if path.ends_with("contract_start") {
                    format!("“{label}”{who}的劳动合同起始日期填写有误：{date}。")
                } else {
                    format!("“{label}”填写有误：每行填写一人，格式为“姓名, 劳动合同起始日期”。")
                }
            }
            "beds" | "first_registered_physicians" | "insurance_administrators" | "full_time_insurance_staff" => {
                format!("“{label}”填写有误：请填写 0 或正整数。")
            }
            "systems" | "equipment" => format!("“{label}”填写有误：请从所列选项中勾选。"),
            "national_code" => format!("“{label}”填写有误：请填写国家医保定点机构代码。"),
            _ => format!("“{label}”填写有误：请选择“是”或“否”。"),
        }
    }

    fn has(&self, f: Fact) -> bool {
        match f {
            Fact::HisConnected => self.his_connected,
            Fact::NationalCodesUsed => self.national_codes_used,
            Fact::StaffContracts => self.staff_contracts,
            Fact::SocialInsurance => self.social_insurance,
            Fact::GspZoning => self.gsp_zoning,
        }
    }
}

/// A condition not met, or a not-accepted rule that applies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub rule: String,
    pub text: String,
    /// For not-accepted windows: the last day the finding applies (a window covers its
    /// corresponding day, 民法典 arts. 201–202), when known; a new application is possible the day
    /// after.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<Date>,
}

/// Checks every condition that applies to `kind`; returns all failures.
/// Which facts the application form asks an institution of `kind` (issue #16 item 7: a pharmacy
/// never sees hospital fields): those the profile's conditions and not-accepted rules for that
/// kind read. The national code is always asked (HRB-PREP, the registry).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Asked {
    pub operating_since: bool,
    pub first_registered_physicians: bool,
    /// Principal responsible, insurance administrators, and (with beds) the department.
    pub staffing: bool,
    pub beds: bool,
    pub pharmacists: bool,
    pub insurance_admin_contracts: bool,
    pub systems: Vec<System>,
    pub equipment: Vec<Equipment>,
    pub facts: Vec<Fact>,
    /// URC-REJ-MED-1 / -2: asked as separate yes/no questions, never among the conditions.
    pub non_basic_main_practice: bool,
    pub price_policy_violation: bool,
}

pub fn asked(profile: &Profile, kind: InstitutionKind) -> Asked {
    let mut a = Asked::default();
    for c in profile.conditions.iter().filter(|c| c.applies_to.contains(&kind)) {
        match &c.check {
            Check::OperatingMonths { .. } => a.operating_since = true,
            Check::FirstRegisteredPhysicians { .. } => a.first_registered_physicians = true,
            Check::InsuranceStaffing { .. } => {
                a.staffing = true;
                a.beds = kind == InstitutionKind::Medical;
            }
            Check::ContractedStaff { role: StaffRole::Pharmacist, .. } => a.pharmacists = true,
            Check::ContractedStaff { role: StaffRole::InsuranceAdmin, .. } => a.insurance_admin_contracts = true,
            Check::Systems { required } => {
                a.systems.extend(required.iter().copied().filter(|x| !a.systems.contains(x)).collect::<Vec<_>>())
            }
            Check::Equipment { required } => {
                a.equipment.extend(required.iter().copied().filter(|x| !a.equipment.contains(x)).collect::<Vec<_>>())
            }
            Check::Declared { fact } if !a.facts.contains(fact) => a.facts.push(*fact),
            Check::Declared { .. } | Check::NationalCode => {}
        }
    }
    for r in profile.not_accepted.iter().filter(|r| r.applies_to.contains(&kind)) {
        match r.trigger {
            Trigger::NonBasicPractice => a.non_basic_main_practice = true,
            Trigger::PricePolicy => a.price_policy_violation = true,
            _ => {}
        }
    }
    a
}

pub fn unmet(profile: &Profile, kind: InstitutionKind, d: &Declaration, on: Date) -> Vec<Finding> {
    profile
        .conditions
        .iter()
        .filter(|c| c.applies_to.contains(&kind))
        .filter_map(|c| failure(profile, kind, &c.check, d, on).map(|text| Finding { rule: c.rule.clone(), text, until: None }))
        .collect()
}

fn failure(profile: &Profile, kind: InstitutionKind, check: &Check, d: &Declaration, on: Date) -> Option<String> {
    match check {
        Check::OperatingMonths { months } => match d.operating_since {
            None => Some(format!("未填写正式运营起始日期，无法确认已运营满 {months} 个月。")),
            Some(since) => {
                let budget = crate::deadline::Budget { amount: *months, unit: crate::deadline::Unit::Months };
                match crate::deadline::checked_earliest(since, budget) {
                    Ok(enough) => (enough > on).then(|| format!("自 {since} 起运营，至 {on} 未满 {months} 个月（{enough} 起方满）。")),
                    // Months after `since` lie past 9999-12-31, so they cannot have passed by `on`.
                    Err(e) => Some(format!("自 {since} 起运营，至 {on} 未满 {months} 个月：{}", e.message_zh())),
                }
            }
        },
        Check::FirstRegisteredPhysicians { min } => (d.first_registered_physicians < *min)
            .then(|| format!("第一注册地在本机构的医师应至少 {min} 名，申报为 {} 名。", d.first_registered_physicians)),
        Check::InsuranceStaffing { department_from_beds } => {
            let mut missing = Vec::new();
            if !d.principal_responsible {
                missing.push("主要负责人负责医保工作".to_owned());
            }
            if d.insurance_administrators == 0 {
                missing.push("配备专（兼）职医保管理人员".to_owned());
            }
            if d.beds >= *department_from_beds && !(d.insurance_department && d.full_time_insurance_staff > 0) {
                missing.push(format!("床位 {} 张（{department_from_beds} 张以上）须设内部医保管理部门并安排专职工作人员", d.beds));
            }
            (!missing.is_empty()).then(|| format!("医保管理人员配备不符合要求：{}。", missing.join("；")))
        }
        Check::ContractedStaff { role, min, contract_years } => {
            let (list, what) = match role {
                StaffRole::Pharmacist => (&d.pharmacists, "执业药师（药学技术人员）"),
                StaffRole::InsuranceAdmin => (&d.insurance_admin_contracts, "医保管理人员"),
            };
            let n = list.iter().filter(|c| c.qualifies(on, *contract_years)).count() as u32;
            (n < *min)
                .then(|| format!("应至少有 {min} 名{what}签订 {contract_years} 年以上且在 {on} 有效的劳动合同，符合条件的为 {n} 名。"))
        }
        Check::Systems { required } => {
            let missing: Vec<&str> = required.iter().filter(|s| !d.systems.contains(s)).map(|s| s.zh()).collect();
            (!missing.is_empty()).then(|| format!("缺少管理制度：{}。", missing.join("、")))
        }
        Check::Equipment { required } => {
            let missing: Vec<&str> = required.iter().filter(|e| !d.equipment.contains(e)).map(|e| e.zh()).collect();
            (!missing.is_empty()).then(|| format!("未配备设施设备：{}。", missing.join("、")))
        }
        Check::Declared { fact } => (!d.has(*fact)).then(|| format!("未满足：{}。", fact.zh_for(kind))),
        Check::NationalCode => match d.national_code.as_deref().map(InstitutionCode::parse) {
            None => Some("未填写国家医保编码（须先在国家医保信息业务编码标准数据库动态维护平台申请）。".into()),
            Some(Err(e)) => Some(format!("国家医保编码有误：{}", e.message_zh())),
            Some(Ok(code)) => {
                // Profiles are validated to carry a 6-digit division; the whole code is the
                // (stricter) fallback for one built in code.
                let city = profile.division.get(..4).unwrap_or(&profile.division);
                let letter = if kind == InstitutionKind::Pharmacy { 'P' } else { 'H' };
                if !code.division().starts_with(city) {
                    Some(format!("国家医保编码的行政区划 {} 不在{}。", code.division(), profile.name))
                } else if !code.as_str().starts_with(letter) {
                    Some(format!("国家医保编码首位应为 {letter}（{}）。", kind.zh()))
                } else {
                    None
                }
            }
        },
    }
}

/// A fact on the record of an institution or a person (registry history).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordKind {
    /// An administrative penalty; `fulfilled` says whether it has been carried out.
    Penalty,
    /// Applied by fraud (弄虚作假); `date` is when it was discovered.
    Fraud,
    /// Agreement terminated for violating the law.
    TerminationViolation,
    /// Agreement terminated for a serious breach of the agreement.
    TerminationSeriousBreach,
    /// A person (legal representative, principal, actual controller) caused a designated
    /// institution's termination through serious violations.
    PersonCausedTermination,
    /// A person on the dishonest-persons list (失信人名单); `until` when delisted.
    Dishonest,
    /// Other cases in law, entered by the agency with a reason and an end date.
    Other,
}

impl RecordKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RecordKind::Penalty => "penalty",
            RecordKind::Fraud => "fraud",
            RecordKind::TerminationViolation => "termination_violation",
            RecordKind::TerminationSeriousBreach => "termination_serious_breach",
            RecordKind::PersonCausedTermination => "person_caused_termination",
            RecordKind::Dishonest => "dishonest",
            RecordKind::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<RecordKind> {
        use RecordKind::*;
        [Penalty, Fraud, TerminationViolation, TerminationSeriousBreach, PersonCausedTermination, Dishonest, Other]
            .into_iter()
            .find(|k| k.as_str() == s)
    }

    pub fn zh(self) -> &'static str {
        match self {
            RecordKind::Penalty => "行政处罚",
            RecordKind::Fraud => "弄虚作假",
            RecordKind::TerminationViolation => "因违法违规被解除医保协议",
            RecordKind::TerminationSeriousBreach => "因严重违反协议约定被解除医保协议",
            RecordKind::PersonCausedTermination => "负责人因严重违法违规导致原定点机构被解除协议",
            RecordKind::Dishonest => "被列入失信人名单",
            RecordKind::Other => "其他不予受理情形",
        }
    }
}

/// One entry of the history the not-accepted rules read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub kind: RecordKind,
    pub date: Date,
    /// Penalty or liability carried out.
    pub fulfilled: bool,
    /// An explicit end (delisting, an agency-set end for `other`).
    pub until: Option<Date>,
    /// For person records: who (masked), to say whose record it is.
    pub person: Option<String>,
    pub note: String,
}

/// Every not-accepted rule that applies today, with the day it stops applying when known.
pub fn not_accepted(profile: &Profile, kind: InstitutionKind, d: &Declaration, history: &[Record], on: Date) -> Vec<Finding> {
    let mut out = Vec::new();
    for r in profile.not_accepted.iter().filter(|r| r.applies_to.contains(&kind)) {
        let find = |text: String, until: Option<Date>| Finding { rule: r.rule.clone(), text, until };
        let windowed = |k: RecordKind, years: u16, or_unfulfilled: bool| {
            history.iter().filter(move |h| h.kind == k).filter_map(move |h| {
                // The window covers its corresponding day (民法典 arts. 201–202): a fraud found
                // 2026-02-20 bars up to and including 2029-02-20. A window that ends past
                // 9999-12-31 is still open on any representable day.
                let end = years_after(h.date, years);
                let running = end.is_none_or(|end| end >= on);
                let open = running || (or_unfulfilled && !h.fulfilled);
                open.then(|| {
                    let who = h.person.as_deref().map(|p| format!("（{p}）")).unwrap_or_default();
                    let tail = match end {
                        Some(end) if running => format!("，{years} 年内（至 {end}）不予受理"),
                        None => format!("，{years} 年内不予受理"),
                        Some(_) => "，相关责任尚未履行完毕".to_owned(),
                    };
                    (format!("{} {}{who}{tail}。", h.date, k.zh()), end.filter(|_| running))
                })
            })
        };
        match &r.trigger {
            Trigger::NonBasicPractice if d.non_basic_main_practice => {
                out.push(find("主要执业范围为医疗美容、辅助生殖、生活照护、种植牙等非基本医疗服务。".into(), None))
            }
            Trigger::PricePolicy if d.price_policy_violation => out.push(find("基本医疗服务未执行政府定价政策。".into(), None)),
            Trigger::UnfulfilledPenalty => {
                for h in history.iter().filter(|h| h.kind == RecordKind::Penalty && !h.fulfilled) {
                    out.push(find(format!("{} 受到的行政处罚尚未履行完毕：{}。", h.date, h.note), None));
                }
            }
            Trigger::Fraud { years } => out.extend(windowed(RecordKind::Fraud, *years, false).map(|(t, u)| find(t, u))),
            Trigger::TerminationViolation { years } => {
                out.extend(windowed(RecordKind::TerminationViolation, *years, true).map(|(t, u)| find(t, u)))
            }
            Trigger::TerminationSeriousBreach { years } => {
                out.extend(windowed(RecordKind::TerminationSeriousBreach, *years, true).map(|(t, u)| find(t, u)))
            }
            Trigger::PersonCausedTermination { years } => {
                out.extend(windowed(RecordKind::PersonCausedTermination, *years, false).map(|(t, u)| find(t, u)))
            }
            Trigger::PersonDishonest => {
                for h in history.iter().filter(|h| h.kind == RecordKind::Dishonest && h.until.is_none_or(|u| u > on)) {
                    let who = h.person.as_deref().unwrap_or("相关负责人");
                    out.push(find(format!("{who}被列入失信人名单（{}）。", h.date), last_day_before(h.until)));
                }
            }
            Trigger::Other => {
                for h in history.iter().filter(|h| h.kind == RecordKind::Other && h.until.is_none_or(|u| u > on)) {
                    out.push(find(format!("其他法律法规规定的情形：{}。", h.note), last_day_before(h.until)));
                }
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod declaration_errors {
    use super::Declaration;
    use serde_json::json;

    /// Issue #16 item 1: "failed to parse two digit integer as month…" for "2025年3月1日" never
    /// reaches a person; the field is named as the form names it.
    #[test]
    fn declared_facts_errors_are_plain_chinese() {
        let e = Declaration::parse(json!({ "operating_since": "2025年3月1日" })).unwrap_err();
        assert_eq!(e, "“开始执业（营业）日期”填写有误：请按“年-月-日”填写日期，例如 2025-03-01。");
        let e = Declaration::parse(json!({ "beds": -3 })).unwrap_err();
        assert!(e.contains("核定床位数") && e.contains("正整数"), "{e}");
        let e = Declaration::parse(
            json!({ "pharmacists": [{ "name": "张三", "contract_start": "2024-01-01" }, { "name": "李四", "contract_start": "昨天" }] }),
        )
        .unwrap_err();
        assert!(e.contains("第 2 人") && e.contains("起始日期"), "{e}");
        let e = Declaration::parse(json!({ "his_connected": "也许" })).unwrap_err();
        assert!(e.contains("是”或“否"), "{e}");
        for e in [e, Declaration::parse(json!({ "operating_since": 7 })).unwrap_err()] {
            assert!(!e.chars().any(|c| c.is_ascii_alphabetic()), "no parser words: {e}");
        }
        assert!(Declaration::parse(json!({ "operating_since": "2025-03-01", "beds": 20 })).is_ok());
    }
}

#[cfg(test)]
mod asked_by_kind {
    use super::*;

    fn shipped(id: &str) -> Profile {
        Profile::shipped().into_iter().find(|p| p.id == id).expect("shipped profile")
    }

    /// Issue #16 item 7: a pharmacy is never asked hospital facts (URC-PHA-*: no beds, no
    /// first-registered physicians, no hospital information system); the not-accepted facts of
    /// medical institutions (URC-REJ-MED-1/-2) are asked of medical institutions only.
    #[test]
    fn urc_pha_pharmacy_form_has_no_hospital_fields() {
        let urumqi = shipped("urumqi");
        let pharmacy = asked(&urumqi, InstitutionKind::Pharmacy);
        assert!(!pharmacy.beds && !pharmacy.first_registered_physicians, "{pharmacy:?}");
        assert!(pharmacy.facts.iter().all(|f| !f.zh_for(InstitutionKind::Pharmacy).contains("医院")), "{pharmacy:?}");
        assert!(!pharmacy.non_basic_main_practice && !pharmacy.price_policy_violation, "{pharmacy:?}");
        assert!(pharmacy.pharmacists, "URC-PHA: pharmacists are asked");
        let medical = asked(&urumqi, InstitutionKind::Medical);
        assert!(medical.non_basic_main_practice && medical.price_policy_violation, "{medical:?}");
        let harbin = asked(&shipped("harbin"), InstitutionKind::Medical);
        assert!(harbin.beds && harbin.staffing && harbin.operating_since, "{harbin:?}");
    }
}
