//! Who may apply (SPEC §2): every condition (HRB-COND-1…6, HRB-PREP, URC-MED-1…8, URC-PHA-1…7),
//! every not-accepted rule (URC-REJ-MED-1…9, URC-REJ-PHA-1…7), their use by `decide` (submission,
//! override, URC-REV-2, G-BANS) and the registry import (HRB-ELIG-TYPE, HRB-SCOPE / URC-SCOPE),
//! against the shipped Harbin and Urumqi profiles. Every test names the rule it proves.

mod common;

use common::{checked, sources};

use dingdian_core::calendar::Calendar;
use dingdian_core::eligibility::{self, Declaration, Equipment, Finding, OnUnmet, Record, RecordKind, StaffContract, System};
use dingdian_core::ids::Uscc;
use dingdian_core::lifecycle::{self, ActiveBan, Actor, AppState, Command, Ctx, Decision, Event, Refusal, Role, Scope, State, decide};
use dingdian_core::policy::{InstitutionKind, Profile};
use dingdian_core::registry::{self, InstitutionRow, RowError};
use jiff::civil::{Date, date};

const MED: InstitutionKind = InstitutionKind::Medical;
const PHA: InstitutionKind = InstitutionKind::Pharmacy;

// ---------------------------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------------------------

/// The submission date most tests use.
fn on() -> Date {
    date(2026, 3, 2)
}

fn harbin() -> Profile {
    let p = Profile::shipped().swap_remove(0);
    assert_eq!(p.id, "harbin", "shipped profile order changed");
    p
}

fn urumqi() -> Profile {
    let p = Profile::shipped().swap_remove(1);
    assert_eq!(p.id, "urumqi", "shipped profile order changed");
    p
}

fn contract(name: &str, start: Date, end: Option<Date>) -> StaffContract {
    StaffContract { name: name.into(), contract_start: start, contract_end: end }
}

/// Everything a medical institution must declare (in either city), and nothing more.
fn medical(national_code: Option<&str>) -> Declaration {
    Declaration {
        operating_since: Some(date(2025, 1, 1)),
        beds: 20,
        first_registered_physicians: 1,
        principal_responsible: true,
        insurance_administrators: 1,
        systems: vec![System::Insurance, System::Finance, System::Statistics, System::Quality, System::Inventory],
        equipment: vec![Equipment::VideoSurveillance, Equipment::Biometric, Equipment::DrugTraceability],
        his_connected: true,
        national_codes_used: true,
        staff_contracts: true,
        social_insurance: true,
        national_code: national_code.map(str::to_owned),
        ..Declaration::default()
    }
}

/// A Harbin medical institution meeting every Harbin condition.
fn hrb_med() -> Declaration {
    medical(Some("H23010200001"))
}

/// An Urumqi medical institution meeting every Urumqi condition (Urumqi asks no national code).
fn urc_med() -> Declaration {
    medical(None)
}

/// An Urumqi pharmacy meeting every pharmacy condition, and nothing a medical institution needs.
fn urc_pha() -> Declaration {
    Declaration {
        operating_since: Some(date(2025, 1, 1)),
        pharmacists: vec![contract("药师甲", date(2025, 1, 1), None)],
        insurance_admin_contracts: vec![
            contract("医保员甲", date(2025, 1, 1), None),
            contract("医保员乙", date(2025, 6, 1), Some(date(2027, 5, 31))),
        ],
        systems: vec![System::DrugManagement, System::Finance, System::StaffManagement, System::Statistics, System::Settlement],
        gsp_zoning: true,
        his_connected: true,
        national_codes_used: true,
        social_insurance: true,
        ..Declaration::default()
    }
}

fn rules(findings: &[Finding]) -> Vec<&str> {
    findings.iter().map(|f| f.rule.as_str()).collect()
}

fn chinese(s: &str) -> bool {
    s.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
}

/// Exactly one finding, citing `rule`, explained in Chinese.
#[track_caller]
fn only<'a>(findings: &'a [Finding], rule: &str) -> &'a Finding {
    assert_eq!(rules(findings), vec![rule], "{findings:#?}");
    let f = &findings[0];
    assert!(chinese(&f.text), "finding text must be Chinese: {f:?}");
    f
}

/// Exactly one finding, citing `rule`, whose text contains `needle`.
#[track_caller]
fn only_saying<'a>(findings: &'a [Finding], rule: &str, needle: &str) -> &'a Finding {
    let f = only(findings, rule);
    assert!(f.text.contains(needle), "expected {needle:?} in {:?}", f.text);
    f
}

#[track_caller]
fn none(findings: &[Finding]) {
    assert!(findings.is_empty(), "expected no findings, got {findings:#?}");
}

fn unmet(p: &Profile, kind: InstitutionKind, d: &Declaration, day: Date) -> Vec<Finding> {
    eligibility::unmet(p, kind, d, day)
}

fn record(kind: RecordKind, day: Date, fulfilled: bool, until: Option<Date>, person: Option<&str>, note: &str) -> Record {
    Record { kind, date: day, fulfilled, until, person: person.map(str::to_owned), note: note.into() }
}

/// Not-accepted findings for a declaration that is clean, given `history`, on `day`.
fn rejections(p: &Profile, kind: InstitutionKind, history: &[Record], day: Date) -> Vec<Finding> {
    let d = if kind == MED { urc_med() } else { urc_pha() };
    eligibility::not_accepted(p, kind, &d, history, day)
}

#[test]
fn complete_declarations_meet_every_condition() {
    none(&unmet(&harbin(), MED, &hrb_med(), on()));
    none(&unmet(&urumqi(), MED, &urc_med(), on()));
    none(&unmet(&urumqi(), PHA, &urc_pha(), on()));
    // …and nothing is in the way of accepting them.
    none(&eligibility::not_accepted(&urumqi(), MED, &urc_med(), &[], on()));
    none(&eligibility::not_accepted(&urumqi(), PHA, &urc_pha(), &[], on()));
    // The shipped profiles flag unmet conditions rather than refusing the submission.
    assert_eq!(harbin().unmet_conditions, OnUnmet::Flag);
    assert_eq!(urumqi().unmet_conditions, OnUnmet::Flag);
}

// ---------------------------------------------------------------------------------------------
// Conditions — Harbin
// ---------------------------------------------------------------------------------------------

/// HRB-COND-1 with LAW-MONTH: 3 months from 2026-02-28 end on 2026-05-28, so they are complete
/// from 2026-05-29 (民法典 arts. 201–202); from 2025-11-30 they end on 2026-02-28.
#[test]
fn hrb_cond_1_operating_three_months_law_month() {
    let p = harbin();
    let d = Declaration { operating_since: Some(date(2026, 2, 28)), ..hrb_med() };
    only_saying(&unmet(&p, MED, &d, date(2026, 5, 27)), "HRB-COND-1", "2026-05-29");
    only_saying(&unmet(&p, MED, &d, date(2026, 5, 28)), "HRB-COND-1", "2026-05-29");
    none(&unmet(&p, MED, &d, date(2026, 5, 29)));

    // The corresponding day does not exist in February: the period ends on its last day.
    let d = Declaration { operating_since: Some(date(2025, 11, 30)), ..hrb_med() };
    only_saying(&unmet(&p, MED, &d, date(2026, 2, 28)), "HRB-COND-1", "2026-03-01");
    none(&unmet(&p, MED, &d, date(2026, 3, 1)));

    // Leap year: 3 months from 2023-11-30 end on 2024-02-29; complete from 2024-03-01.
    let d = Declaration { operating_since: Some(date(2023, 11, 30)), ..hrb_med() };
    only(&unmet(&p, MED, &d, date(2024, 2, 29)), "HRB-COND-1");
    none(&unmet(&p, MED, &d, date(2024, 3, 1)));

    // Not operating yet, or no date declared.
    let d = Declaration { operating_since: Some(date(2026, 4, 1)), ..hrb_med() };
    only(&unmet(&p, MED, &d, on()), "HRB-COND-1");
    let d = Declaration { operating_since: None, ..hrb_med() };
    only_saying(&unmet(&p, MED, &d, on()), "HRB-COND-1", "未填写");
}

/// HRB-COND-1 with LAW-MONTH at the end of the calendar: operating since 9999-12-01 is not three
/// months of operation, and saying so must not panic (it used to drop the connection of the
/// application page and of the submission).
#[test]
fn hrb_cond_1_operating_since_year_9999_is_a_finding_not_a_panic() {
    let d = Declaration { operating_since: Some(date(9999, 12, 1)), ..hrb_med() };
    only_saying(&unmet(&harbin(), MED, &d, on()), "HRB-COND-1", "超出可计算的日期范围");
    only_saying(&unmet(&harbin(), MED, &d, Date::MAX), "HRB-COND-1", "9999-12-01");
    let d = Declaration { operating_since: Some(Date::MIN), ..hrb_med() };
    none(&unmet(&harbin(), MED, &d, on()));
}

#[test]
fn hrb_cond_2_first_registered_physician() {
    let p = harbin();
    let d = Declaration { first_registered_physicians: 0, ..hrb_med() };
    only_saying(&unmet(&p, MED, &d, on()), "HRB-COND-2", "医师");
    let d = Declaration { first_registered_physicians: 1, ..hrb_med() };
    none(&unmet(&p, MED, &d, on()));
}

#[test]
fn hrb_cond_3_principal_and_administrators() {
    let p = harbin();
    let d = Declaration { principal_responsible: false, ..hrb_med() };
    only_saying(&unmet(&p, MED, &d, on()), "HRB-COND-3", "主要负责人");
    let d = Declaration { insurance_administrators: 0, ..hrb_med() };
    only_saying(&unmet(&p, MED, &d, on()), "HRB-COND-3", "医保管理人员");
    // Both missing: still one finding for the one condition, naming both.
    let d = Declaration { principal_responsible: false, insurance_administrators: 0, ..hrb_med() };
    let f = unmet(&p, MED, &d, on());
    let f = only(&f, "HRB-COND-3");
    assert!(f.text.contains("主要负责人") && f.text.contains("专（兼）职"), "{f:?}");
}

/// HRB-COND-3: from 100 beds an internal insurance department with full-time staff.
#[test]
fn hrb_cond_3_hundred_beds_needs_department() {
    let p = harbin();
    let d = Declaration { beds: 99, insurance_department: false, full_time_insurance_staff: 0, ..hrb_med() };
    none(&unmet(&p, MED, &d, on()));
    let d = Declaration { beds: 100, insurance_department: false, full_time_insurance_staff: 0, ..hrb_med() };
    only_saying(&unmet(&p, MED, &d, on()), "HRB-COND-3", "100 张");
    // A department without full-time staff is not enough, nor staff without a department.
    let d = Declaration { beds: 100, insurance_department: true, full_time_insurance_staff: 0, ..hrb_med() };
    only(&unmet(&p, MED, &d, on()), "HRB-COND-3");
    let d = Declaration { beds: 250, insurance_department: false, full_time_insurance_staff: 2, ..hrb_med() };
    only(&unmet(&p, MED, &d, on()), "HRB-COND-3");
    let d = Declaration { beds: 100, insurance_department: true, full_time_insurance_staff: 1, ..hrb_med() };
    none(&unmet(&p, MED, &d, on()));
}

#[test]
fn hrb_cond_4_management_systems() {
    let p = harbin();
    for s in [System::Insurance, System::Finance, System::Statistics, System::Quality] {
        let mut d = hrb_med();
        d.systems.retain(|x| *x != s);
        only_saying(&unmet(&p, MED, &d, on()), "HRB-COND-4", s.zh());
    }
    // Harbin does not ask for the 进销存 system (URC-MED-4 does).
    let mut d = hrb_med();
    d.systems.retain(|x| *x != System::Inventory);
    none(&unmet(&p, MED, &d, on()));
    // Every missing system named in the one finding.
    let d = Declaration { systems: vec![], ..hrb_med() };
    let f = unmet(&p, MED, &d, on());
    let f = only(&f, "HRB-COND-4");
    for s in [System::Insurance, System::Finance, System::Statistics, System::Quality] {
        assert!(f.text.contains(s.zh()), "{f:?}");
    }
}

#[test]
fn hrb_cond_5_his_connected_and_national_codes() {
    let p = harbin();
    let d = Declaration { his_connected: false, ..hrb_med() };
    only_saying(&unmet(&p, MED, &d, on()), "HRB-COND-5", "医保信息系统");
    let d = Declaration { national_codes_used: false, ..hrb_med() };
    only_saying(&unmet(&p, MED, &d, on()), "HRB-COND-5", "医保编码");
    let d = Declaration { his_connected: false, national_codes_used: false, ..hrb_med() };
    assert_eq!(rules(&unmet(&p, MED, &d, on())), vec!["HRB-COND-5", "HRB-COND-5"]);
}

#[test]
fn hrb_cond_6_equipment() {
    let p = harbin();
    for e in [Equipment::VideoSurveillance, Equipment::Biometric, Equipment::DrugTraceability] {
        let mut d = hrb_med();
        d.equipment.retain(|x| *x != e);
        only_saying(&unmet(&p, MED, &d, on()), "HRB-COND-6", e.zh());
    }
    let d = Declaration { equipment: vec![], ..hrb_med() };
    only_saying(&unmet(&p, MED, &d, on()), "HRB-COND-6", "视频监控");
}

/// HRB-PREP: a national code of Harbin (2301xx) and of the right kind (H) before applying.
#[test]
fn hrb_prep_national_code_missing_wrong_city_wrong_letter_malformed() {
    let p = harbin();
    let with = |code: Option<&str>| Declaration { national_code: code.map(str::to_owned), ..hrb_med() };

    only_saying(&unmet(&p, MED, &with(None), on()), "HRB-PREP", "未填写国家医保编码");
    // Urumqi's division.
    only_saying(&unmet(&p, MED, &with(Some("H65010200001")), on()), "HRB-PREP", "650102");
    // Heilongjiang province, but not Harbin.
    only(&unmet(&p, MED, &with(Some("H23020200001")), on()), "HRB-PREP");
    // A pharmacy's code for a medical institution.
    only_saying(&unmet(&p, MED, &with(Some("P23010200001")), on()), "HRB-PREP", "首位应为 H");
    // Malformed: too short, bad letter, letters among the digits, empty.
    for bad in ["H2301020000", "X23010200001", "H2301020000A", "", "H230102000011"] {
        only_saying(&unmet(&p, MED, &with(Some(bad)), on()), "HRB-PREP", "国家医保编码有误");
    }
    // Fine: a district of Harbin, the city itself, lower case and surrounding blanks tolerated.
    for good in ["H23010200001", "H23010000001", "H23018300123", " h23010200001 "] {
        none(&unmet(&p, MED, &with(Some(good)), on()));
    }
}

/// All failures at once, in the profile's order (SPEC §2: every finding listed).
#[test]
fn hrb_cond_all_failures_listed_at_once() {
    let p = harbin();
    let d = Declaration { national_code: None, ..Declaration::default() };
    let f = unmet(&p, MED, &d, on());
    assert_eq!(
        rules(&f),
        vec!["HRB-COND-1", "HRB-COND-2", "HRB-COND-3", "HRB-COND-4", "HRB-COND-5", "HRB-COND-5", "HRB-COND-6", "HRB-PREP"],
        "{f:#?}"
    );
    assert!(f.iter().all(|x| chinese(&x.text) && x.until.is_none()), "{f:#?}");

    // Three facts broken, three findings.
    let d = Declaration {
        first_registered_physicians: 0,
        equipment: vec![Equipment::Biometric],
        national_code: Some("P23010200001".into()),
        ..hrb_med()
    };
    let f = unmet(&p, MED, &d, on());
    assert_eq!(f.len(), 3, "{f:#?}");
    assert_eq!(rules(&f), vec!["HRB-COND-2", "HRB-COND-6", "HRB-PREP"]);
}

// ---------------------------------------------------------------------------------------------
// Conditions — Urumqi, medical institutions
// ---------------------------------------------------------------------------------------------

#[test]
fn urc_med_1_operating_three_months() {
    let p = urumqi();
    let d = Declaration { operating_since: Some(date(2026, 2, 28)), ..urc_med() };
    only_saying(&unmet(&p, MED, &d, date(2026, 5, 28)), "URC-MED-1", "2026-05-29");
    none(&unmet(&p, MED, &d, date(2026, 5, 29)));
    let d = Declaration { operating_since: None, ..urc_med() };
    only(&unmet(&p, MED, &d, on()), "URC-MED-1");
}

#[test]
fn urc_med_2_first_registered_physician() {
    let p = urumqi();
    let d = Declaration { first_registered_physicians: 0, ..urc_med() };
    only_saying(&unmet(&p, MED, &d, on()), "URC-MED-2", "第一注册地");
}

#[test]
fn urc_med_3_insurance_staffing_and_hundred_beds() {
    let p = urumqi();
    let d = Declaration { principal_responsible: false, ..urc_med() };
    only(&unmet(&p, MED, &d, on()), "URC-MED-3");
    let d = Declaration { insurance_administrators: 0, ..urc_med() };
    only(&unmet(&p, MED, &d, on()), "URC-MED-3");
    let d = Declaration { beds: 99, ..urc_med() };
    none(&unmet(&p, MED, &d, on()));
    let d = Declaration { beds: 100, ..urc_med() };
    only_saying(&unmet(&p, MED, &d, on()), "URC-MED-3", "内部医保管理部门");
    let d = Declaration { beds: 100, insurance_department: true, full_time_insurance_staff: 1, ..urc_med() };
    none(&unmet(&p, MED, &d, on()));
}

#[test]
fn urc_med_4_systems_with_inventory() {
    let p = urumqi();
    for s in [System::Insurance, System::Finance, System::Statistics, System::Quality, System::Inventory] {
        let mut d = urc_med();
        d.systems.retain(|x| *x != s);
        only_saying(&unmet(&p, MED, &d, on()), "URC-MED-4", s.zh());
    }
}

#[test]
fn urc_med_5_his_connected() {
    let p = urumqi();
    let d = Declaration { his_connected: false, ..urc_med() };
    only_saying(&unmet(&p, MED, &d, on()), "URC-MED-5", "直接联网结算");
}

#[test]
fn urc_med_6_national_codes_used() {
    let p = urumqi();
    let d = Declaration { national_codes_used: false, ..urc_med() };
    only_saying(&unmet(&p, MED, &d, on()), "URC-MED-6", "医保编码");
}

#[test]
fn urc_med_7_staff_contracts() {
    let p = urumqi();
    let d = Declaration { staff_contracts: false, ..urc_med() };
    only_saying(&unmet(&p, MED, &d, on()), "URC-MED-7", "劳动合同");
    // A medical-institution condition: not asked of a pharmacy (which proves contracts per person).
    let d = Declaration { staff_contracts: false, ..urc_pha() };
    none(&unmet(&p, PHA, &d, on()));
}

#[test]
fn urc_med_8_social_insurance() {
    let p = urumqi();
    let d = Declaration { social_insurance: false, ..urc_med() };
    only_saying(&unmet(&p, MED, &d, on()), "URC-MED-8", "社会保险");
}

#[test]
fn urc_med_all_failures_listed_at_once() {
    let p = urumqi();
    let f = unmet(&p, MED, &Declaration::default(), on());
    assert_eq!(
        rules(&f),
        vec!["URC-MED-1", "URC-MED-2", "URC-MED-3", "URC-MED-4", "URC-MED-5", "URC-MED-6", "URC-MED-7", "URC-MED-8"],
        "{f:#?}"
    );
    let d = Declaration { beds: 120, staff_contracts: false, ..urc_med() };
    let f = unmet(&p, MED, &d, on());
    assert_eq!(f.len(), 2, "{f:#?}");
    assert_eq!(rules(&f), vec!["URC-MED-3", "URC-MED-7"]);
}

// ---------------------------------------------------------------------------------------------
// Conditions — Urumqi, retail pharmacies
// ---------------------------------------------------------------------------------------------

#[test]
fn urc_pha_1_operating_three_months_at_registered_address() {
    let p = urumqi();
    let d = Declaration { operating_since: Some(date(2025, 11, 30)), ..urc_pha() };
    only_saying(&unmet(&p, PHA, &d, date(2026, 2, 28)), "URC-PHA-1", "2026-03-01");
    none(&unmet(&p, PHA, &d, date(2026, 3, 1)));
    let d = Declaration { operating_since: None, ..urc_pha() };
    only(&unmet(&p, PHA, &d, on()), "URC-PHA-1");
}

/// URC-PHA-2: a pharmacist whose labour contract is in force on the submission date and at least
/// one year long.
#[test]
fn urc_pha_2_pharmacist_contract_in_force_and_one_year() {
    let p = urumqi();
    let with = |c: Vec<StaffContract>| Declaration { pharmacists: c, ..urc_pha() };
    let fails = |c: StaffContract| {
        let f = unmet(&p, PHA, &with(vec![c.clone()]), on());
        only_saying(&f, "URC-PHA-2", "执业药师");
    };
    // Ended before the submission date (though it lasted two years).
    fails(contract("甲", date(2024, 1, 1), Some(date(2025, 12, 31))));
    // Six months.
    fails(contract("乙", date(2026, 1, 1), Some(date(2026, 6, 30))));
    // Eleven months, in force today.
    fails(contract("丙", date(2025, 6, 1), Some(date(2026, 4, 30))));
    // Starts after the submission date (open-ended or not).
    fails(contract("丁", date(2026, 4, 1), None));
    fails(contract("戊", date(2026, 3, 3), Some(date(2028, 3, 2))));

    // Open-ended, in force.
    none(&unmet(&p, PHA, &with(vec![contract("己", date(2025, 1, 1), None)]), on()));
    // Starting on the submission date.
    none(&unmet(&p, PHA, &with(vec![contract("庚", on(), None)]), on()));
    // One year exactly by the calendar, ending on the submission date.
    none(&unmet(&p, PHA, &with(vec![contract("辛", date(2025, 3, 2), Some(date(2026, 3, 2)))]), on()));
    // One good contract among bad ones is enough.
    let mixed = vec![contract("壬", date(2026, 1, 1), Some(date(2026, 6, 30))), contract("癸", date(2025, 9, 1), Some(date(2027, 8, 31)))];
    none(&unmet(&p, PHA, &with(mixed), on()));
    // Nobody.
    only_saying(&unmet(&p, PHA, &with(vec![]), on()), "URC-PHA-2", "0 名");
}

/// URC-PHA-3: at least two insurance administrators with contracts of ≥ 1 year in force.
#[test]
fn urc_pha_3_two_insurance_admins() {
    let p = urumqi();
    let with = |c: Vec<StaffContract>| Declaration { insurance_admin_contracts: c, ..urc_pha() };
    let one = vec![contract("医保员甲", date(2025, 1, 1), None)];
    only_saying(&unmet(&p, PHA, &with(one), on()), "URC-PHA-3", "2 名");
    // Two, but one of them expired.
    let two_one_expired =
        vec![contract("医保员甲", date(2025, 1, 1), None), contract("医保员乙", date(2024, 1, 1), Some(date(2025, 12, 31)))];
    only_saying(&unmet(&p, PHA, &with(two_one_expired), on()), "URC-PHA-3", "符合条件的为 1 名");
    // Two, but one contract is six months long.
    let two_one_short = vec![contract("医保员甲", date(2025, 1, 1), None), contract("医保员乙", date(2026, 1, 1), Some(date(2026, 6, 30)))];
    only(&unmet(&p, PHA, &with(two_one_short), on()), "URC-PHA-3");
    // Three, two of which qualify.
    let three = vec![
        contract("医保员甲", date(2025, 1, 1), None),
        contract("医保员乙", date(2026, 1, 1), Some(date(2026, 6, 30))),
        contract("医保员丙", date(2025, 3, 1), Some(date(2027, 2, 28))),
    ];
    none(&unmet(&p, PHA, &with(three), on()));
    // A pharmacist does not count as an insurance administrator.
    let d = Declaration { insurance_admin_contracts: vec![], ..urc_pha() };
    only_saying(&unmet(&p, PHA, &d, on()), "URC-PHA-3", "0 名");
}

#[test]
fn urc_pha_4_gsp_zoning() {
    let p = urumqi();
    let d = Declaration { gsp_zoning: false, ..urc_pha() };
    only_saying(&unmet(&p, PHA, &d, on()), "URC-PHA-4", "GSP");
}

#[test]
fn urc_pha_5_pharmacy_systems() {
    let p = urumqi();
    for s in [System::DrugManagement, System::Finance, System::StaffManagement, System::Statistics, System::Settlement] {
        let mut d = urc_pha();
        d.systems.retain(|x| *x != s);
        only_saying(&unmet(&p, PHA, &d, on()), "URC-PHA-5", s.zh());
    }
}

/// URC-PHA-6: a pharmacy's information system and databases. A finding about a pharmacy must
/// cite the pharmacy rule (SPEC §2: every reason cites its rule), not a medical one.
#[test]
fn urc_pha_6_his_connected_and_national_codes() {
    let p = urumqi();
    let d = Declaration { his_connected: false, ..urc_pha() };
    only_saying(&unmet(&p, PHA, &d, on()), "URC-PHA-6", "直接联网结算");
    let d = Declaration { national_codes_used: false, ..urc_pha() };
    only_saying(&unmet(&p, PHA, &d, on()), "URC-PHA-6", "医保编码");
}

/// URC-PHA-7: a pharmacy and its staff in social insurance, cited as the pharmacy rule.
#[test]
fn urc_pha_7_social_insurance() {
    let p = urumqi();
    let d = Declaration { social_insurance: false, ..urc_pha() };
    only_saying(&unmet(&p, PHA, &d, on()), "URC-PHA-7", "社会保险");
}

#[test]
fn urc_pha_all_failures_listed_at_once() {
    let p = urumqi();
    let f = unmet(&p, PHA, &Declaration::default(), on());
    // PHA-1…5 plus the two shared information-system facts and social insurance.
    assert_eq!(f.len(), 8, "{f:#?}");
    assert_eq!(&rules(&f)[..5], &["URC-PHA-1", "URC-PHA-2", "URC-PHA-3", "URC-PHA-4", "URC-PHA-5"], "{f:#?}");
    assert!(f.iter().all(|x| chinese(&x.text)), "{f:#?}");
    let d = Declaration { gsp_zoning: false, insurance_admin_contracts: vec![], pharmacists: vec![], ..urc_pha() };
    assert_eq!(rules(&unmet(&p, PHA, &d, on())), vec!["URC-PHA-2", "URC-PHA-3", "URC-PHA-4"]);
}

// ---------------------------------------------------------------------------------------------
// applies_to: pharmacy conditions are not asked of medical institutions and vice versa
// ---------------------------------------------------------------------------------------------

#[test]
fn urc_scope_pharmacy_conditions_not_asked_of_medical_institutions() {
    let p = urumqi();
    // A medical institution with no pharmacist, no administrator contracts, no GSP zoning and
    // none of the pharmacy-only systems still meets every condition that applies to it.
    let d = urc_med();
    assert!(d.pharmacists.is_empty() && d.insurance_admin_contracts.is_empty() && !d.gsp_zoning);
    assert!(!d.systems.contains(&System::DrugManagement) && !d.systems.contains(&System::Settlement));
    none(&unmet(&p, MED, &d, on()));
    for c in p.conditions.iter().filter(|c| c.rule.starts_with("URC-PHA-")) {
        assert_eq!(c.applies_to, vec![PHA], "{c:?}");
    }
    // And HRB-only conditions (equipment, national code) are not Urumqi's.
    let d = Declaration { equipment: vec![], national_code: Some("garbage".into()), ..urc_med() };
    none(&unmet(&p, MED, &d, on()));
}

#[test]
fn urc_scope_medical_conditions_not_asked_of_pharmacies() {
    let p = urumqi();
    // A pharmacy with no physician, no principal or administrator count, 500 beds without a
    // department, no medical systems and no staff-contract declaration.
    let d = Declaration { beds: 500, ..urc_pha() };
    assert!(d.first_registered_physicians == 0 && !d.principal_responsible && !d.staff_contracts);
    none(&unmet(&p, PHA, &d, on()));
    for c in p.conditions.iter().filter(|c| c.rule.starts_with("URC-MED-1") || c.rule == "URC-MED-2" || c.rule == "URC-MED-3") {
        assert_eq!(c.applies_to, vec![MED], "{c:?}");
    }
}

#[test]
fn hrb_scope_harbin_serves_medical_institutions_only() {
    let p = harbin();
    assert_eq!(p.kinds, vec![MED]);
    assert!(p.conditions.iter().all(|c| c.applies_to == vec![MED]), "{:?}", p.conditions);
    assert_eq!(lifecycle::check_kind(&p, MED), Ok(()));
    assert_eq!(lifecycle::check_kind(&p, PHA), Err(Refusal::KindNotServed { profile: "harbin".into(), kind: PHA }));
    let u = urumqi();
    assert_eq!(u.kinds, vec![MED, PHA]);
    assert_eq!(lifecycle::check_kind(&u, PHA), Ok(()));
}

// ---------------------------------------------------------------------------------------------
// Not accepted (URC-REJ-*)
// ---------------------------------------------------------------------------------------------

#[test]
fn urc_rej_med_1_non_basic_main_practice() {
    let p = urumqi();
    let d = Declaration { non_basic_main_practice: true, ..urc_med() };
    let f = eligibility::not_accepted(&p, MED, &d, &[], on());
    assert_eq!(only_saying(&f, "URC-REJ-MED-1", "医疗美容").until, None);
    // A medical-institution rule only.
    let d = Declaration { non_basic_main_practice: true, ..urc_pha() };
    none(&eligibility::not_accepted(&p, PHA, &d, &[], on()));
    none(&eligibility::not_accepted(&p, MED, &urc_med(), &[], on()));
}

#[test]
fn urc_rej_med_2_price_policy() {
    let p = urumqi();
    let d = Declaration { price_policy_violation: true, ..urc_med() };
    only_saying(&eligibility::not_accepted(&p, MED, &d, &[], on()), "URC-REJ-MED-2", "政府定价");
    let d = Declaration { price_policy_violation: true, ..urc_pha() };
    none(&eligibility::not_accepted(&p, PHA, &d, &[], on()));
}

/// URC-REJ-MED-3 / URC-REJ-PHA-1: an administrative penalty not yet fulfilled, however old.
fn unfulfilled_penalty(kind: InstitutionKind, rule: &str) {
    let p = urumqi();
    let open = record(RecordKind::Penalty, date(2019, 5, 6), false, None, None, "罚款 5 万元");
    let f = rejections(&p, kind, std::slice::from_ref(&open), on());
    let f = only_saying(&f, rule, "罚款 5 万元");
    assert!(f.text.contains("尚未履行"), "{f:?}");
    assert_eq!(f.until, None);
    let done = Record { fulfilled: true, ..open.clone() };
    none(&rejections(&p, kind, std::slice::from_ref(&done), on()));
    // Each unfulfilled penalty is listed.
    let other = record(RecordKind::Penalty, date(2025, 8, 1), false, None, None, "责令改正");
    assert_eq!(rules(&rejections(&p, kind, &[open, done, other], on())), vec![rule, rule]);
}

#[test]
fn urc_rej_med_3_unfulfilled_penalty() {
    unfulfilled_penalty(MED, "URC-REJ-MED-3");
}

#[test]
fn urc_rej_pha_1_unfulfilled_penalty() {
    unfulfilled_penalty(PHA, "URC-REJ-PHA-1");
}

/// URC-REJ-MED-4 / URC-REJ-PHA-2: fraud, 3 years from discovery; the window covers its
/// corresponding day (`until`), a new application is possible the day after (民法典 arts. 201–202).
fn fraud_three_years(kind: InstitutionKind, rule: &str) {
    let p = urumqi();
    let h = [record(RecordKind::Fraud, date(2024, 5, 10), true, None, None, "伪造申请材料")];
    let f = rejections(&p, kind, &h, on());
    assert_eq!(only_saying(&f, rule, "弄虚作假").until, Some(date(2027, 5, 10)));
    assert_eq!(rejections(&p, kind, &h, date(2027, 5, 9))[0].until, Some(date(2027, 5, 10)));
    assert_eq!(rejections(&p, kind, &h, date(2027, 5, 10))[0].until, Some(date(2027, 5, 10)));
    none(&rejections(&p, kind, &h, date(2027, 5, 11)));
    none(&rejections(&p, kind, &h, date(2028, 1, 1)));
    // Fraud knows no "longer while unfulfilled".
    let h = [record(RecordKind::Fraud, date(2022, 1, 1), false, None, None, "伪造申请材料")];
    none(&rejections(&p, kind, &h, on()));
    // LAW-MONTH: 2024-02-29 + 3 years = 2027-02-28.
    let h = [record(RecordKind::Fraud, date(2024, 2, 29), true, None, None, "伪造申请材料")];
    assert_eq!(rejections(&p, kind, &h, on())[0].until, Some(date(2027, 2, 28)));
    assert_eq!(rejections(&p, kind, &h, date(2027, 2, 28)).len(), 1);
    none(&rejections(&p, kind, &h, date(2027, 3, 1)));
}

/// URC-REJ-MED-4 with LAW-MONTH at the end of the calendar: fraud discovered in 9999 keeps the
/// window open (its end lies past 9999-12-31) instead of being silently ignored or panicking.
#[test]
fn urc_rej_med_4_fraud_window_past_year_9999_stays_open() {
    let h = [record(RecordKind::Fraud, date(9999, 6, 1), true, None, None, "伪造申请材料")];
    let f = rejections(&urumqi(), MED, &h, date(9999, 12, 31));
    assert_eq!(only_saying(&f, "URC-REJ-MED-4", "3 年内不予受理").until, None);
}

#[test]
fn urc_rej_med_4_fraud_three_years() {
    fraud_three_years(MED, "URC-REJ-MED-4");
}

#[test]
fn urc_rej_pha_2_fraud_three_years() {
    fraud_three_years(PHA, "URC-REJ-PHA-2");
}

/// URC-REJ-MED-5 / URC-REJ-PHA-3: terminated for violating the law, 3 years, or longer while the
/// penalty is unfulfilled.
fn termination_violation(kind: InstitutionKind, rule: &str) {
    let p = urumqi();
    let done = record(RecordKind::TerminationViolation, date(2023, 1, 10), true, None, None, "违法违规");
    let f = rejections(&p, kind, std::slice::from_ref(&done), date(2026, 1, 9));
    assert_eq!(only_saying(&f, rule, "2026-01-10").until, Some(date(2026, 1, 10)));
    assert_eq!(rejections(&p, kind, std::slice::from_ref(&done), date(2026, 1, 10)).len(), 1);
    none(&rejections(&p, kind, std::slice::from_ref(&done), date(2026, 1, 11)));
    none(&rejections(&p, kind, std::slice::from_ref(&done), on()));
    // Unfulfilled: still inside the window (with its end) and after it (with no known end).
    let open = Record { fulfilled: false, ..done };
    assert_eq!(rejections(&p, kind, std::slice::from_ref(&open), date(2026, 1, 9))[0].until, Some(date(2026, 1, 10)));
    let f = rejections(&p, kind, std::slice::from_ref(&open), on());
    let f = only_saying(&f, rule, "尚未履行");
    assert_eq!(f.until, None);
    none(&rejections(&p, kind, &[Record { fulfilled: true, ..open }], on()));
}

#[test]
fn urc_rej_med_5_termination_violation_three_years_or_unfulfilled() {
    termination_violation(MED, "URC-REJ-MED-5");
}

#[test]
fn urc_rej_pha_3_termination_violation_three_years_or_unfulfilled() {
    termination_violation(PHA, "URC-REJ-PHA-3");
}

/// URC-REJ-MED-6 / URC-REJ-PHA-4: terminated for a serious breach, 1 year, or longer while
/// liability is unfulfilled.
fn serious_breach(kind: InstitutionKind, rule: &str) {
    let p = urumqi();
    let done = record(RecordKind::TerminationSeriousBreach, date(2025, 6, 1), true, None, None, "严重违约");
    let f = rejections(&p, kind, std::slice::from_ref(&done), on());
    assert_eq!(only_saying(&f, rule, "严重违反协议").until, Some(date(2026, 6, 1)));
    assert_eq!(rejections(&p, kind, std::slice::from_ref(&done), date(2026, 5, 31)).len(), 1);
    assert_eq!(rejections(&p, kind, std::slice::from_ref(&done), date(2026, 6, 1)).len(), 1);
    none(&rejections(&p, kind, std::slice::from_ref(&done), date(2026, 6, 2)));
    let open = Record { fulfilled: false, ..done };
    let f = rejections(&p, kind, std::slice::from_ref(&open), date(2026, 6, 2));
    assert_eq!(only_saying(&f, rule, "尚未履行").until, None);
    assert_eq!(rejections(&p, kind, std::slice::from_ref(&open), date(2030, 1, 1)).len(), 1);
}

#[test]
fn urc_rej_med_6_serious_breach_one_year_or_unfulfilled() {
    serious_breach(MED, "URC-REJ-MED-6");
}

#[test]
fn urc_rej_pha_4_serious_breach_one_year_or_unfulfilled() {
    serious_breach(PHA, "URC-REJ-PHA-4");
}

/// URC-REJ-MED-7 / URC-REJ-PHA-5: the person caused an earlier termination, 5 years.
fn person_five_years(kind: InstitutionKind, rule: &str) {
    let p = urumqi();
    let h = [record(RecordKind::PersonCausedTermination, date(2021, 4, 1), true, None, Some("张*明"), "原某某诊所法定代表人")];
    let f = rejections(&p, kind, &h, on());
    let f = only_saying(&f, rule, "张*明");
    assert_eq!(f.until, Some(date(2026, 4, 1)));
    assert!(f.text.contains("5 年"), "{f:?}");
    assert_eq!(rejections(&p, kind, &h, date(2026, 3, 31)).len(), 1);
    assert_eq!(rejections(&p, kind, &h, date(2026, 4, 1)).len(), 1);
    none(&rejections(&p, kind, &h, date(2026, 4, 2)));
    // Five years, not longer: `fulfilled` plays no part.
    let h = [record(RecordKind::PersonCausedTermination, date(2021, 4, 1), false, None, Some("张*明"), "")];
    none(&rejections(&p, kind, &h, date(2026, 4, 2)));
}

#[test]
fn urc_rej_med_7_person_five_years() {
    person_five_years(MED, "URC-REJ-MED-7");
}

#[test]
fn urc_rej_pha_5_person_five_years() {
    person_five_years(PHA, "URC-REJ-PHA-5");
}

/// URC-REJ-MED-8 / URC-REJ-PHA-6: a person on the dishonest list, until delisted.
fn dishonest(kind: InstitutionKind, rule: &str) {
    let p = urumqi();
    let listed = record(RecordKind::Dishonest, date(2025, 2, 1), false, None, Some("李*"), "");
    let f = rejections(&p, kind, std::slice::from_ref(&listed), on());
    assert_eq!(only_saying(&f, rule, "失信").until, None);
    assert!(f[0].text.contains("李*"), "{f:?}");
    let until_later = Record { until: Some(date(2026, 9, 1)), ..listed.clone() };
    let f = rejections(&p, kind, std::slice::from_ref(&until_later), on());
    // Delisted on 2026-09-01: the finding applies up to and including 2026-08-31.
    assert_eq!(only(&f, rule).until, Some(date(2026, 8, 31)));
    // Delisted today or earlier.
    none(&rejections(&p, kind, &[Record { until: Some(on()), ..listed.clone() }], on()));
    none(&rejections(&p, kind, &[Record { until: Some(date(2025, 12, 31)), ..listed }], on()));
}

#[test]
fn urc_rej_med_8_person_dishonest_list() {
    dishonest(MED, "URC-REJ-MED-8");
}

#[test]
fn urc_rej_pha_6_person_dishonest_list() {
    dishonest(PHA, "URC-REJ-PHA-6");
}

/// URC-REJ-MED-9 / URC-REJ-PHA-7: other cases in law, with the agency's reason and end.
fn other(kind: InstitutionKind, rule: &str) {
    let p = urumqi();
    let h = [record(RecordKind::Other, date(2026, 1, 5), false, Some(date(2026, 7, 5)), None, "正在接受立案调查")];
    let f = rejections(&p, kind, &h, on());
    assert_eq!(only_saying(&f, rule, "正在接受立案调查").until, Some(date(2026, 7, 4)));
    none(&rejections(&p, kind, &h, date(2026, 7, 5)));
    let h = [record(RecordKind::Other, date(2025, 1, 5), false, Some(date(2026, 1, 5)), None, "已结案")];
    none(&rejections(&p, kind, &h, on()));
}

#[test]
fn urc_rej_med_9_other_with_until() {
    other(MED, "URC-REJ-MED-9");
}

#[test]
fn urc_rej_pha_7_other_with_until() {
    other(PHA, "URC-REJ-PHA-7");
}

/// Everything on the record, listed at once, each under its kind's rule.
fn full_history() -> Vec<Record> {
    vec![
        record(RecordKind::Penalty, date(2025, 1, 1), false, None, None, "罚款"),
        record(RecordKind::Fraud, date(2025, 1, 1), true, None, None, "伪造材料"),
        record(RecordKind::TerminationViolation, date(2025, 1, 1), true, None, None, "违法"),
        record(RecordKind::TerminationSeriousBreach, date(2025, 6, 1), true, None, None, "违约"),
        record(RecordKind::PersonCausedTermination, date(2025, 1, 1), true, None, Some("赵*"), "原机构"),
        record(RecordKind::Dishonest, date(2025, 1, 1), false, None, Some("钱*"), ""),
        record(RecordKind::Other, date(2025, 1, 1), false, Some(date(2027, 1, 1)), None, "其他"),
    ]
}

#[test]
fn urc_rej_med_every_rule_listed_at_once() {
    let p = urumqi();
    let d = Declaration { non_basic_main_practice: true, price_policy_violation: true, ..urc_med() };
    let f = eligibility::not_accepted(&p, MED, &d, &full_history(), on());
    let want: Vec<String> = (1..=9).map(|i| format!("URC-REJ-MED-{i}")).collect();
    assert_eq!(rules(&f), want, "{f:#?}");
    assert!(f.iter().all(|x| chinese(&x.text)), "{f:#?}");
}

#[test]
fn urc_rej_pha_every_rule_listed_at_once() {
    let p = urumqi();
    // The declaration-based MED-1 / MED-2 do not apply to pharmacies.
    let d = Declaration { non_basic_main_practice: true, price_policy_violation: true, ..urc_pha() };
    let f = eligibility::not_accepted(&p, PHA, &d, &full_history(), on());
    let want: Vec<String> = (1..=7).map(|i| format!("URC-REJ-PHA-{i}")).collect();
    assert_eq!(rules(&f), want, "{f:#?}");
}

#[test]
fn hrb_has_no_not_accepted_rules() {
    let p = harbin();
    assert!(p.not_accepted.is_empty(), "{:?}", p.not_accepted);
    let d = Declaration { non_basic_main_practice: true, price_policy_violation: true, ..hrb_med() };
    none(&eligibility::not_accepted(&p, MED, &d, &full_history(), on()));
}

// ---------------------------------------------------------------------------------------------
// decide(): submission, override, URC-REV-2, G-BANS
// ---------------------------------------------------------------------------------------------

fn facts(d: &Declaration) -> serde_json::Map<String, serde_json::Value> {
    match serde_json::to_value(d).unwrap() {
        serde_json::Value::Object(m) => m,
        other => panic!("{other:?}"),
    }
}

/// One application driven through `decide`, with the history and bans the store would pass.
struct Flow {
    profile: Profile,
    cal: Calendar,
    kind: InstitutionKind,
    scope: Scope,
    state: AppState,
    today: Date,
    history: Vec<Record>,
    bans: Vec<ActiveBan>,
}

impl Flow {
    fn new(profile: Profile, kind: InstitutionKind, d: &Declaration) -> Flow {
        let district = if profile.id == "harbin" { "230102" } else { "650102" };
        Flow {
            scope: Scope { institution_id: 1, city: profile.id.clone(), district: district.into(), grouping: None },
            profile,
            cal: Calendar::shipped(),
            kind,
            state: AppState { facts: facts(d), ..AppState::default() },
            today: on(),
            history: Vec::new(),
            bans: Vec::new(),
        }
    }

    fn actor(&self, role: Role) -> Actor {
        if role == Role::System {
            return Actor::system(&self.scope.city);
        }
        Actor {
            user_id: 100 + role as i64,
            role,
            city: self.scope.city.clone(),
            district: (role == Role::BranchReviewer).then(|| self.scope.district.clone()),
            institution_id: (role == Role::Institution).then_some(1),
            evaluator_id: None,
            province: None,
        }
    }

    fn ask(&self, role: Role, cmd: &Command) -> Result<Decision, Refusal> {
        let ctx = Ctx {
            profile: &self.profile,
            calendar: &self.cal,
            today: self.today,
            bans: &self.bans,
            kind: self.kind,
            history: &self.history,
            institution: None,
            open_rounds: &[],
            prior: &[],
            planning: None,
        };
        decide(&ctx, &self.scope, &self.state, &self.actor(role), cmd)
    }

    #[track_caller]
    fn run(&mut self, role: Role, cmd: Command) -> Decision {
        let d = self.ask(role, &cmd).unwrap_or_else(|r| panic!("{} by {role:?} in {:?} refused: {r:?}", cmd.name(), self.state.state));
        for e in &d.events {
            self.state.apply(e, d.to, self.today);
        }
        d
    }

    #[track_caller]
    fn refused(&self, role: Role, cmd: Command) -> Refusal {
        match self.ask(role, &cmd) {
            Ok(d) => panic!("{} by {role:?} in {:?} was allowed: {d:?}", cmd.name(), self.state.state),
            Err(r) => r,
        }
    }
}

#[track_caller]
fn assert_invalid(r: Refusal, want_field: &str) {
    match &r {
        Refusal::Invalid { field, reason } => {
            assert_eq!(*field, want_field, "{r:?}");
            assert!(chinese(reason), "{r:?}");
        }
        other => panic!("expected Invalid {{ field: {want_field} }}, got {other:?}"),
    }
}

#[track_caller]
fn not_accepted_findings(r: Refusal) -> Vec<Finding> {
    match r {
        Refusal::NotAccepted { findings } => findings,
        other => panic!("expected NotAccepted, got {other:?}"),
    }
}

/// URC-REV-1 / URC-REJ-*: a submission inside a window is refused, listing every finding.
#[test]
fn urc_rej_med_4_submit_refused_not_accepted_lists_every_finding() {
    let mut app = Flow::new(urumqi(), MED, &Declaration { non_basic_main_practice: true, ..urc_med() });
    app.history = vec![
        record(RecordKind::Fraud, date(2024, 5, 10), true, None, None, "伪造申请材料"),
        record(RecordKind::Dishonest, date(2025, 2, 1), false, None, Some("李*"), ""),
        record(RecordKind::Penalty, date(2020, 1, 1), true, None, None, "已履行的处罚"),
    ];
    let r = app.refused(Role::Institution, Command::Submit);
    assert!(r.message_zh().contains("2027-05-10"), "the refusal says when the window ends: {}", r.message_zh());
    let f = not_accepted_findings(r);
    assert_eq!(rules(&f), vec!["URC-REJ-MED-1", "URC-REJ-MED-4", "URC-REJ-MED-8"], "{f:#?}");
    assert_eq!(f[1].until, Some(date(2027, 5, 10)));
    assert_eq!(app.state.state, State::Draft);

    // Once the fraud window is over and the person delisted, only the declared practice remains;
    // with that corrected, the submission goes through.
    app.today = date(2027, 5, 11);
    app.history[1].until = Some(date(2026, 1, 1));
    assert_eq!(rules(&not_accepted_findings(app.refused(Role::Institution, Command::Submit))), vec!["URC-REJ-MED-1"]);
    app.state.facts = facts(&urc_med());
    let d = app.run(Role::Institution, Command::Submit);
    assert_eq!(d.to, State::InitialReview);
}

#[test]
fn urc_rej_pha_2_submit_refused_not_accepted_for_pharmacy() {
    let mut app = Flow::new(urumqi(), PHA, &urc_pha());
    app.history = vec![
        record(RecordKind::Fraud, date(2024, 5, 10), true, None, None, "伪造申请材料"),
        record(RecordKind::TerminationViolation, date(2020, 1, 1), false, None, None, "违法违规"),
    ];
    let f = not_accepted_findings(app.refused(Role::Institution, Command::Submit));
    assert_eq!(rules(&f), vec!["URC-REJ-PHA-2", "URC-REJ-PHA-3"], "{f:#?}");
}

/// HRB-COND-*: unmet conditions are flagged at submission; the agency must override with a
/// recorded reason before accepting.
#[test]
fn hrb_cond_2_submit_flags_unmet_then_accept_needs_override() {
    let d = Declaration { first_registered_physicians: 0, national_code: None, ..hrb_med() };
    let mut app = Flow::new(harbin(), MED, &d);
    let expected = unmet(&app.profile, MED, &d, on());
    assert_eq!(rules(&expected), vec!["HRB-COND-2", "HRB-PREP"]);

    let dec = app.run(Role::Institution, Command::Submit);
    assert_eq!(dec.to, State::Submitted);
    assert_eq!(
        dec.events,
        vec![Event::Submitted {
            profile_id: "harbin".into(),
            profile_version: "2026.5".into(),
            unmet: expected.clone(),
            missing_materials: hrb_slots(),
            prior_failures: 0
        }]
    );
    assert_eq!(app.state.unmet_conditions, expected);

    assert_eq!(app.refused(Role::Agency, Command::Accept), Refusal::ConditionsUnmet { findings: expected.clone() });
    // The reviewer of this step overrides, nobody else, and only with a reason.
    assert_eq!(
        app.refused(Role::Institution, Command::OverrideConditions { reason: "理由".into() }),
        Refusal::NotYourRole { required: Role::Agency }
    );
    assert_invalid(app.refused(Role::Agency, Command::OverrideConditions { reason: "   ".into() }), "reason");
    assert_invalid(app.refused(Role::Agency, Command::OverrideConditions { reason: String::new() }), "reason");

    let dec = app.run(Role::Agency, Command::OverrideConditions { reason: " 已现场核实首注医师，国家医保编码已取得 ".into() });
    assert_eq!(dec.to, State::Submitted);
    assert_eq!(
        dec.events,
        vec![Event::ConditionsOverridden {
            reason: "已现场核实首注医师，国家医保编码已取得".into(),
            rules: vec!["HRB-COND-2".into(), "HRB-PREP".into()]
        }]
    );
    assert!(app.state.unmet_conditions.is_empty());
    // Nothing left to override.
    assert!(matches!(
        app.refused(Role::Agency, Command::OverrideConditions { reason: "再次".into() }),
        Refusal::NotAllowedInState { state: State::Submitted, .. }
    ));
    let dec = app.run(Role::Agency, Command::Accept);
    assert_eq!((dec.to, dec.events), (State::Accepted, vec![Event::Accepted]));
}

#[test]
fn hrb_cond_complete_declaration_submits_without_findings() {
    let mut app = Flow::new(harbin(), MED, &hrb_med());
    let dec = app.run(Role::Institution, Command::Submit);
    assert_eq!(
        dec.events,
        vec![Event::Submitted {
            profile_id: "harbin".into(),
            profile_version: "2026.5".into(),
            unmet: vec![],
            missing_materials: hrb_slots(),
            prior_failures: 0
        }]
    );
    assert!(matches!(
        app.refused(Role::Agency, Command::OverrideConditions { reason: "无需".into() }),
        Refusal::NotAllowedInState { state: State::Submitted, .. }
    ));
    app.run(Role::Agency, Command::Accept);
}

/// URC-REV-1: the branch reviewer must override unmet conditions before passing initial review.
#[test]
fn urc_pha_3_submit_flags_unmet_then_initial_review_needs_override() {
    let d = Declaration { insurance_admin_contracts: vec![contract("医保员甲", date(2025, 1, 1), None)], ..urc_pha() };
    let mut app = Flow::new(urumqi(), PHA, &d);
    let dec = app.run(Role::Institution, Command::Submit);
    assert_eq!(dec.to, State::InitialReview);
    let unmet = match &dec.events[..] {
        [Event::Submitted { profile_id, unmet, .. }] if profile_id == "urumqi" => unmet.clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(rules(&unmet), vec!["URC-PHA-3"]);

    assert_eq!(app.refused(Role::BranchReviewer, Command::PassInitialReview), Refusal::ConditionsUnmet { findings: unmet.clone() });
    assert_eq!(
        app.refused(Role::Agency, Command::OverrideConditions { reason: "理由".into() }),
        Refusal::NotYourRole { required: Role::BranchReviewer }
    );
    assert_invalid(app.refused(Role::BranchReviewer, Command::OverrideConditions { reason: "\t".into() }), "reason");
    let dec = app.run(Role::BranchReviewer, Command::OverrideConditions { reason: "第二名医保员合同已续签".into() });
    assert_eq!(dec.to, State::InitialReview);
    assert_eq!(dec.events, vec![Event::ConditionsOverridden { reason: "第二名医保员合同已续签".into(), rules: vec!["URC-PHA-3".into()] }]);
    let dec = app.run(Role::BranchReviewer, Command::PassInitialReview);
    assert_eq!((dec.to, dec.events), (State::InfoVerification, vec![Event::InitialReviewPassed]));
}

#[test]
fn urc_med_1_submit_flags_unmet_for_medical_institution() {
    let d = Declaration { operating_since: Some(date(2026, 1, 15)), staff_contracts: false, ..urc_med() };
    let mut app = Flow::new(urumqi(), MED, &d);
    let dec = app.run(Role::Institution, Command::Submit);
    match &dec.events[..] {
        [Event::Submitted { unmet, .. }] => assert_eq!(rules(unmet), vec!["URC-MED-1", "URC-MED-7"]),
        other => panic!("{other:?}"),
    }
    assert!(
        matches!(app.refused(Role::BranchReviewer, Command::PassInitialReview), Refusal::ConditionsUnmet { findings } if findings.len() == 2)
    );
}

/// A profile may refuse the submission outright (`unmet_conditions = "refuse"`).
#[test]
fn hrb_cond_profile_may_refuse_submission_with_unmet_conditions() {
    let src = harbin().source.replacen("[profile]\n", "[profile]\nunmet_conditions = \"refuse\"\n", 1);
    let p = Profile::parse("harbin-refuse.toml", &src).unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(p.unmet_conditions, OnUnmet::Refuse);
    let d = Declaration { beds: 150, ..hrb_med() };
    let app = Flow::new(p.clone(), MED, &d);
    match app.refused(Role::Institution, Command::Submit) {
        Refusal::ConditionsUnmet { findings } => assert_eq!(rules(&findings), vec!["HRB-COND-3"]),
        other => panic!("{other:?}"),
    }
    let mut app = Flow::new(p, MED, &hrb_med());
    assert_eq!(app.run(Role::Institution, Command::Submit).to, State::Submitted);
}

/// URC-REV-2: the not-accepted rules are checked again at information verification, against the
/// record as it is then.
#[test]
fn urc_rev_2_pass_verification_refused_when_history_gained_a_record() {
    let mut app = Flow::new(urumqi(), MED, &urc_med());
    app.run(Role::Institution, Command::Submit);
    app.today = date(2026, 3, 5);
    app.run(Role::BranchReviewer, Command::PassInitialReview);
    assert_eq!(app.state.state, State::InfoVerification);

    app.today = date(2026, 3, 10);
    app.history = vec![
        record(RecordKind::Dishonest, date(2026, 3, 6), false, None, Some("王*"), ""),
        record(RecordKind::Penalty, date(2026, 3, 8), false, None, None, "罚款 2 万元"),
    ];
    let f = not_accepted_findings(app.refused(Role::BranchReviewer, Command::PassVerification { sources: sources() }));
    assert_eq!(rules(&f), vec!["URC-REJ-MED-3", "URC-REJ-MED-8"], "{f:#?}");

    // Penalty paid and person delisted: verification passes.
    app.history[0].until = Some(date(2026, 3, 9));
    app.history[1].fulfilled = true;
    let dec = app.run(Role::BranchReviewer, Command::PassVerification { sources: sources() });
    assert_eq!((dec.to, dec.events), (State::EvaluatorDraw, vec![Event::VerificationPassed { sources: checked() }]));
}

#[test]
fn urc_rev_2_pass_verification_refused_for_pharmacy_record() {
    let mut app = Flow::new(urumqi(), PHA, &urc_pha());
    app.run(Role::Institution, Command::Submit);
    app.run(Role::BranchReviewer, Command::PassInitialReview);
    app.history = vec![record(RecordKind::Other, date(2026, 3, 2), false, Some(date(2026, 12, 31)), None, "立案调查中")];
    let f = not_accepted_findings(app.refused(Role::BranchReviewer, Command::PassVerification { sources: sources() }));
    assert_eq!(rules(&f), vec!["URC-REJ-PHA-7"]);
    // The agency's end is the first day it no longer applies: the finding applies up to the day before.
    assert_eq!(f[0].until, Some(date(2026, 12, 30)));
}

/// The declared facts are parsed strictly: unknown keys and wrongly typed values are refused,
/// naming the fact (`facts.beds`) for the form to show the message at; an unknown key names `facts`.
#[test]
fn hrb_cond_update_draft_refuses_unknown_or_mistyped_facts() {
    let mut app = Flow::new(harbin(), MED, &Declaration::default());
    let one = |k: &str, v: serde_json::Value| Command::UpdateDraft { facts: serde_json::Map::from_iter([(k.to_owned(), v)]) };
    assert_invalid(app.refused(Role::Institution, one("bedz", serde_json::json!(120))), "facts");
    assert_invalid(app.refused(Role::Institution, one("beds", serde_json::json!("很多"))), "facts.beds");
    assert_invalid(app.refused(Role::Institution, one("beds", serde_json::json!(-1))), "facts.beds");
    assert_invalid(app.refused(Role::Institution, one("his_connected", serde_json::json!("yes"))), "facts.his_connected");
    assert_invalid(app.refused(Role::Institution, one("operating_since", serde_json::json!("2025-02-30"))), "facts.operating_since");
    assert_invalid(app.refused(Role::Institution, one("systems", serde_json::json!(["insurance", "astrology"]))), "facts.systems");
    assert_invalid(app.refused(Role::Institution, one("equipment", serde_json::json!("biometric"))), "facts.equipment");
    assert_invalid(
        app.refused(
            Role::Institution,
            one("pharmacists", serde_json::json!([{ "name": "甲", "contract_start": "2025-01-01", "salary": 1 }])),
        ),
        "facts.pharmacists",
    );
    assert_eq!(app.state.facts, facts(&Declaration::default()), "a refused update changes nothing");

    // Well-typed updates are saved and read back as a declaration.
    let ok = Command::UpdateDraft { facts: facts(&hrb_med()) };
    let dec = app.run(Role::Institution, ok);
    assert_eq!(dec.to, State::Draft);
    assert_eq!(lifecycle::declaration(&app.state.facts).unwrap(), hrb_med());
}

/// G-BANS: a new application inside a ban is refused with the date it ends.
#[test]
fn g_bans_submit_inside_ban_refused_with_end_date() {
    let mut app = Flow::new(harbin(), MED, &hrb_med());
    app.bans = vec![
        ActiveBan { rule: "HRB-EVAL-3".into(), until: date(2026, 6, 1), reason: "再次评估未通过".into() },
        ActiveBan { rule: "HRB-PRE-4".into(), until: date(2026, 9, 1), reason: "未参加培训".into() },
        ActiveBan { rule: "HRB-PRE-4".into(), until: date(2025, 9, 1), reason: "已过期".into() },
    ];
    let r = app.refused(Role::Institution, Command::Submit);
    assert_eq!(r, Refusal::Banned { until: date(2026, 9, 1), rule: "HRB-PRE-4".into() });
    assert!(r.message_zh().contains("2026-09-01"), "{}", r.message_zh());
    app.today = date(2026, 8, 31);
    assert!(matches!(app.refused(Role::Institution, Command::Submit), Refusal::Banned { .. }));
    // G-BANS with 民法典 arts. 201–202: the ban covers its last day; the day after is free.
    app.today = date(2026, 9, 1);
    assert!(matches!(app.refused(Role::Institution, Command::Submit), Refusal::Banned { .. }));
    app.today = date(2026, 9, 2);
    assert_eq!(app.run(Role::Institution, Command::Submit).to, State::Submitted);
}

/// G-BANS: the URC windows are found with the day they end (the ban's end).
#[test]
fn g_bans_urc_windows_carry_their_end() {
    let p = urumqi();
    let h = full_history();
    let f = rejections(&p, MED, &h, on());
    let until: Vec<(&str, Option<Date>)> = f.iter().map(|x| (x.rule.as_str(), x.until)).collect();
    assert_eq!(
        until,
        vec![
            ("URC-REJ-MED-3", None),
            ("URC-REJ-MED-4", Some(date(2028, 1, 1))),
            ("URC-REJ-MED-5", Some(date(2028, 1, 1))),
            ("URC-REJ-MED-6", Some(date(2026, 6, 1))),
            ("URC-REJ-MED-7", Some(date(2030, 1, 1))),
            ("URC-REJ-MED-8", None),
            ("URC-REJ-MED-9", Some(date(2026, 12, 31))),
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// Registry import (registry::parse_csv)
// ---------------------------------------------------------------------------------------------

const HEADER: &str = "uscc,name,kind,category,city,district,national_code,address,beds";

/// A valid USCC, distinct for each `n`.
fn uscc(n: u32) -> String {
    Uscc::with_check(&format!("1223010200{n:07}")).unwrap().as_str().to_owned()
}

fn parse(text: &str) -> Result<Vec<InstitutionRow>, Vec<RowError>> {
    let profiles = Profile::shipped();
    let refs: Vec<&Profile> = profiles.iter().collect();
    registry::parse_csv(text, &refs)
}

fn lines(errs: &[RowError]) -> Vec<usize> {
    errs.iter().map(|e| e.line).collect()
}

/// Harbin's HRB-ELIG-TYPE list, from its profile.
fn harbin_categories() -> Vec<String> {
    let p = harbin();
    let e = p.eligible_categories.expect("HRB-ELIG-TYPE list");
    assert_eq!(e.rule, "HRB-ELIG-TYPE");
    e.medical.expect("medical categories")
}

#[test]
fn hrb_elig_type_every_listed_category_accepted() {
    let cats = harbin_categories();
    let mut text = format!("{HEADER}\n");
    for (i, cat) in cats.iter().enumerate() {
        text.push_str(&format!("{},机构{i},medical,{cat},harbin,230102,,道里区某街 {i} 号,{i}\n", uscc(i as u32)));
    }
    let rows = parse(&text).unwrap_or_else(|e| panic!("{e:#?}"));
    assert_eq!(rows.len(), cats.len());
    for (i, (r, cat)) in rows.iter().zip(&cats).enumerate() {
        assert_eq!((r.line, r.category.as_str(), r.kind, r.beds), (i + 2, cat.as_str(), MED, i as i64));
    }
    // The six groups of HRB-ELIG-TYPE are all there.
    for cat in ["综合医院", "康复医院", "妇幼保健院", "村卫生室", "急救中心", "血液透析中心", "养老机构内设医疗机构"]
    {
        assert!(cats.iter().any(|c| c == cat), "{cat}");
    }
}

#[test]
fn hrb_elig_type_other_categories_refused() {
    let bad = ["美容院", "医疗美容诊所", "养生馆", "零售药店", "口腔诊所", "足疗店"];
    let mut text = format!("{HEADER}\n");
    for (i, cat) in bad.iter().enumerate() {
        text.push_str(&format!("{},机构{i},medical,{cat},harbin,230102,,道里区,0\n", uscc(100 + i as u32)));
    }
    let errs = parse(&text).unwrap_err();
    assert_eq!(lines(&errs), (2..2 + bad.len()).collect::<Vec<_>>(), "{errs:#?}");
    assert!(errs.iter().all(|e| e.reason.contains("HRB-ELIG-TYPE") && chinese(&e.reason)), "{errs:#?}");
    // A category is never empty, in any city.
    let text = format!("{HEADER}\n{},某药房,pharmacy,,urumqi,650102,,天山区,0\n", uscc(200));
    let errs = parse(&text).unwrap_err();
    assert_eq!(lines(&errs), vec![2]);
}

// Urumqi names no category list (URC-SCOPE only): categories Harbin's HRB-ELIG-TYPE refuses are
// admitted there, while Harbin still refuses them.
#[test]
fn urc_scope_no_category_list_admits_what_hrb_elig_type_refuses() {
    let cats = ["口腔诊所", "医务室", "中医馆", "健康体检中心", "医学检验实验室"];
    let mut text = format!("{HEADER}\n");
    for (i, cat) in cats.iter().enumerate() {
        text.push_str(&format!("{},机构{i},medical,{cat},urumqi,650103,,沙依巴克区,0\n", uscc(250 + i as u32)));
    }
    let rows = parse(&text).unwrap_or_else(|e| panic!("{e:#?}"));
    assert_eq!(rows.iter().map(|r| r.category.as_str()).collect::<Vec<_>>(), cats);
    assert!(urumqi().eligible_categories.is_none(), "URC names no list");
    let text = text.replace(",urumqi,650103,", ",harbin,230102,");
    let errs = parse(&text).unwrap_err();
    assert_eq!(lines(&errs), vec![2, 3, 4, 5, 6], "{errs:#?}");
    assert!(errs.iter().all(|e| e.reason.contains("HRB-ELIG-TYPE")), "{errs:#?}");
}

#[test]
fn hrb_scope_pharmacy_row_for_harbin_refused() {
    let text = format!(
        "{HEADER}\n{},某大药房,pharmacy,零售药店,harbin,230102,,道里区,0\n{},某大药房,零售药店,零售药店,urumqi,650102,P65010200001,天山区,0\n",
        uscc(300),
        uscc(301)
    );
    let errs = parse(&text).unwrap_err();
    assert_eq!(lines(&errs), vec![2], "{errs:#?}");
    assert!(errs[0].reason.contains("HRB-SCOPE"), "{errs:#?}");
    // URC-SCOPE: Urumqi takes the same pharmacy.
    let text = format!("{HEADER}\n{},某大药房,pharmacy,零售药店,urumqi,650102,P65010200001,天山区,0\n", uscc(300));
    let rows = parse(&text).unwrap_or_else(|e| panic!("{e:#?}"));
    assert_eq!((rows[0].kind, rows[0].city.as_str(), rows[0].national_code.as_deref()), (PHA, "urumqi", Some("P65010200001")));
}

#[test]
fn hrb_elig_type_import_tolerates_bom_and_any_column_order() {
    let body = format!("{},甲医院,medical,综合医院,harbin,230102,H23010200001,道里区,120\n", uscc(400));
    let with_bom = parse(&format!("\u{feff}{HEADER}\n{body}")).unwrap_or_else(|e| panic!("{e:#?}"));
    let without = parse(&format!("{HEADER}\n{body}")).unwrap();
    assert_eq!(with_bom, without);
    let r = &with_bom[0];
    assert_eq!(
        (r.line, r.uscc.as_str(), r.name.as_str(), r.district.as_str(), r.national_code.as_deref(), r.beds),
        (2, uscc(400).as_str(), "甲医院", "230102", Some("H23010200001"), 120)
    );
    // Columns in another order, blanks around the values.
    let text = format!(
        "\u{feff}name,beds,uscc,kind,category,city,district,national_code,address\n 甲医院 ,120,{},medical,综合医院,harbin,230102,H23010200001,道里区\n",
        uscc(400)
    );
    assert_eq!(parse(&text).unwrap_or_else(|e| panic!("{e:#?}")), with_bom);
}

#[test]
fn hrb_elig_type_import_duplicate_uscc_reported_with_both_lines() {
    let text = format!(
        "{HEADER}\n{a},甲医院,medical,综合医院,harbin,230102,,道里区,0\n{b},乙诊所,medical,诊所,harbin,230102,,道里区,0\n{a},甲医院分院,medical,门诊部,harbin,230103,,南岗区,0\n",
        a = uscc(500),
        b = uscc(501)
    );
    let errs = parse(&text).unwrap_err();
    assert_eq!(lines(&errs), vec![4], "{errs:#?}");
    assert!(errs[0].reason.contains("第 2 行") && errs[0].reason.contains(&uscc(500)), "{errs:#?}");
    // Lower case is the same code.
    let text = format!(
        "{HEADER}\n{a},甲医院,medical,综合医院,harbin,230102,,道里区,0\n{l},甲医院,medical,综合医院,harbin,230102,,道里区,0\n",
        a = uscc(500),
        l = uscc(500).to_lowercase()
    );
    assert_eq!(lines(&parse(&text).unwrap_err()), vec![3]);
}

#[test]
fn hrb_elig_type_import_every_bad_line_reported_at_once() {
    let rows = [
        format!("{},好医院,medical,综合医院,harbin,230102,,道里区,10", uscc(600)), // 2 ok
        "91350100M000100Y44,坏码,medical,诊所,harbin,230102,,道里区,0".to_owned(), // 3 USCC check
        format!("{},名称,clinic,诊所,harbin,230102,,道里区,0", uscc(601)),         // 4 kind
        format!("{},名称,medical,诊所,harbin,650102,,道里区,0", uscc(602)),        // 5 district outside Harbin
        format!("{},名称,medical,诊所,harbin,230102,,道里区,-1", uscc(603)),       // 6 beds
        format!("{},好诊所,medical,诊所,harbin,230103,,南岗区,", uscc(604)),       // 7 ok, beds empty = 0
        format!("{},,medical,诊所,harbin,230102,,道里区,0", uscc(605)),            // 8 name
        format!("{},名称,medical,诊所,harbin,230102,P23010200001,道里区,0", uscc(606)), // 9 code letter
        format!("{},名称,medical,诊所,harbin,230102,H65010200001,道里区,0", uscc(607)), // 10 code city
        format!("{},名称,medical,诊所,beijing,110101,,东城区,0", uscc(608)),       // 11 city
        format!("{},名称,medical,诊所,harbin,230102,,,0", uscc(609)),              // 12 address
        format!("{},名称,medical,诊所,harbin,230102", uscc(610)),                  // 13 too few fields
    ];
    let text = format!("{HEADER}\n{}\n", rows.join("\n"));
    let errs = parse(&text).unwrap_err();
    assert_eq!(lines(&errs), vec![3, 4, 5, 6, 8, 9, 10, 11, 12, 13], "{errs:#?}");
    assert!(errs.iter().all(|e| chinese(&e.reason)), "{errs:#?}");
    assert!(errs[0].reason.contains("统一社会信用代码"), "{errs:#?}");
    assert!(errs[4].reason.contains("名称"), "{errs:#?}");
    assert!(errs[5].reason.contains("首位应为 H"), "{errs:#?}");

    // With the bad lines gone, the good ones pass.
    let good = format!("{HEADER}\n{}\n{}\n", rows[0], rows[5]);
    let ok = parse(&good).unwrap_or_else(|e| panic!("{e:#?}"));
    assert_eq!(ok.iter().map(|r| (r.line, r.beds)).collect::<Vec<_>>(), vec![(2, 10), (3, 0)]);
}

/// Line numbers are the file's lines: a quoted field spanning two lines moves the next row down.
/// (A name may not itself hold a line break — stored text is single-line — so that row is
/// refused too, on the line it starts.)
#[test]
fn hrb_elig_type_import_line_numbers_after_quoted_newline() {
    let text = format!(
        "{HEADER}\n{},\"甲医院\n（总院）\",medical,综合医院,harbin,230102,,道里区,0\n{},名称,medical,美容院,harbin,230102,,道里区,0\n",
        uscc(700),
        uscc(701)
    );
    assert_eq!(lines(&parse(&text).unwrap_err()), vec![2, 4]);
    // Also for a row the CSV reader itself cannot read (too few fields), on line 4.
    let text = format!(
        "{HEADER}\n{},\"甲医院\n（总院）\",medical,综合医院,harbin,230102,,道里区,0\n{},名称,medical,诊所,harbin\n",
        uscc(700),
        uscc(701)
    );
    let errs = parse(&text).unwrap_err();
    assert_eq!(lines(&errs), vec![2, 4], "{errs:#?}");
}

/// Line numbers are the file's lines in a file saved with CRLF line ends (Excel on Windows).
#[test]
fn hrb_elig_type_import_line_numbers_with_crlf() {
    let text = format!(
        "\u{feff}{HEADER}\r\n{},甲医院,medical,综合医院,harbin,230102,,道里区,0\r\n{},名称,medical,美容院,harbin,230102,,道里区,0\r\n",
        uscc(710),
        uscc(711)
    );
    let errs = parse(&text).unwrap_err();
    assert_eq!(lines(&errs), vec![3], "{errs:#?}");
    let text = format!("{HEADER}\r\n{},甲医院,medical,综合医院,harbin,230102,,道里区,0\r\n", uscc(710));
    let rows = parse(&text).unwrap_or_else(|e| panic!("{e:#?}"));
    assert_eq!(rows[0].line, 2, "the first data row is line 2, the header line 1");
}

/// Line numbers are the file's lines after a blank line.
#[test]
fn hrb_elig_type_import_line_numbers_after_blank_line() {
    let text = format!(
        "{HEADER}\n{},甲医院,medical,综合医院,harbin,230102,,道里区,0\n\n{},名称,medical,美容院,harbin,230102,,道里区,0\n",
        uscc(720),
        uscc(721)
    );
    let errs = parse(&text).unwrap_err();
    assert_eq!(lines(&errs), vec![4], "{errs:#?}");
}

#[test]
fn hrb_elig_type_import_header_checked() {
    let errs = parse("uscc,name,kind\n").unwrap_err();
    assert_eq!(lines(&errs), vec![1]);
    assert!(errs[0].reason.contains("category"), "{errs:#?}");
}

/// HRB-MAT: a submission without files lists every slot as missing, for the completeness check.
fn hrb_slots() -> Vec<String> {
    [
        "application_form",
        "licence",
        "legal_entity",
        "internal_rules",
        "his_evidence",
        "forecast_report",
        "integrity_letter",
        "self_evaluation",
    ]
    .map(String::from)
    .to_vec()
}
