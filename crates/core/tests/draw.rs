//! The evaluator draw (URC-EVAL-1: pool from several departments, random draw meeting the
//! composition rules, grouping per institution) and its verifiability (G-DRAW: reproducible from
//! the published record, nobody chooses the outcome). The rules are re-checked here independently
//! of the library's own eligibility code.

use std::collections::{BTreeMap, BTreeSet};

use dingdian_core::draw::{
    ALG, Composition, Department, DrawError, DrawInput, DrawRecord, Evaluator, PastAssignment, Rule, Tie, TieKind, canonical_json, commit,
    draw, final_groups, keystream_words, replacement, seed_preimage, verify,
};
use jiff::ToSpan;
use jiff::civil::{Date, date};
use proptest::prelude::*;

const SECRET: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
const INSTITUTIONS: [&str; 4] = ["91230102MA1B2C3D4E", "91230103MA5F6G7H8J", "52230104MA9K0L1M2N", "12230105MA3P4Q5R6T"];
const KINDS: [TieKind; 7] = [
    TieKind::WorkedFor,
    TieKind::AdvisedFor,
    TieKind::RelativeWorksFor,
    TieKind::LegalDispute,
    TieKind::SameLegalRepresentative,
    TieKind::Ownership,
    TieKind::OtherFinancialInterest,
];

fn on() -> Date {
    date(2026, 3, 2)
}

fn evaluator(id: &str, department: Department, employer: &str) -> Evaluator {
    Evaluator {
        id: id.into(),
        name: format!("评审员{id}"),
        department,
        employer: employer.into(),
        specialty: "临床医学".into(),
        active: true,
        ties: vec![],
    }
}

/// A fixed pool of 14, departments cycling through the first four (E00, E04, E08, E12 are 医保;
/// E01, E05, E09, E13 are 卫健), distinct employers.
fn fixed_pool() -> Vec<Evaluator> {
    let depts = [Department::Insurance, Department::Health, Department::MarketRegulation, Department::IndustryAssociation];
    (0..14).map(|i| evaluator(&format!("E{i:02}"), depts[i % 4], &format!("单位{i}"))).collect()
}

fn fixed_input() -> DrawInput {
    DrawInput {
        round_id: "2026-Q1-哈尔滨".into(),
        on: on(),
        composition: Composition {
            group_size: 3,
            min_per_department: vec![(Department::Insurance, 1), (Department::Health, 1)],
            distinct_employers: true,
            no_repeat_years: 2,
        },
        candidates: fixed_pool(),
        institutions: INSTITUTIONS[..3].iter().map(|s| s.to_string()).collect(),
        history: vec![],
        secret_commitment: commit(SECRET).unwrap(),
        secret: SECRET.into(),
        public_value: "福彩3D 2026055: 4 7 1".into(),
    }
}

/// The rules, re-implemented here: eligible for an institution on the draw date.
fn independently_eligible(e: &Evaluator, inst: &str, input: &DrawInput) -> bool {
    let tie_cutoff = input.on.checked_sub(3.years()).unwrap();
    let conflicted = e.ties.iter().any(|t| {
        t.institution_uscc == inst
            && (matches!(t.kind, TieKind::SameLegalRepresentative | TieKind::Ownership | TieKind::OtherFinancialInterest)
                || t.since >= tie_cutoff)
    });
    let n = input.composition.no_repeat_years;
    let recent = n > 0 && {
        let cutoff = input.on.checked_sub(i64::from(n).years()).unwrap();
        input.history.iter().any(|h| h.evaluator_id == e.id && h.institution_uscc == inst && h.on >= cutoff)
    };
    e.active && !conflicted && !recent
}

/// Every rule of URC-EVAL-1 on the given groups; returns the first violation.
fn check_groups(input: &DrawInput, groups: &BTreeMap<String, Vec<String>>) -> Result<(), String> {
    let by_id: BTreeMap<&str, &Evaluator> = input.candidates.iter().map(|e| (e.id.as_str(), e)).collect();
    let insts: BTreeSet<&str> = input.institutions.iter().map(String::as_str).collect();
    let keys: BTreeSet<&str> = groups.keys().map(String::as_str).collect();
    if insts != keys {
        return Err(format!("groups {keys:?} for institutions {insts:?}"));
    }
    let mut seen = BTreeSet::new();
    for (inst, g) in groups {
        if g.len() != input.composition.group_size as usize {
            return Err(format!("{inst}: size {}", g.len()));
        }
        let members: Vec<&Evaluator> =
            g.iter().map(|id| by_id.get(id.as_str()).copied().ok_or(format!("{id} not in pool"))).collect::<Result<_, _>>()?;
        for (d, min) in &input.composition.min_per_department {
            let n = members.iter().filter(|e| e.department == *d).count() as u32;
            if n < *min {
                return Err(format!("{inst}: {n} of {d:?}, min {min}"));
            }
        }
        if input.composition.distinct_employers {
            let employers: BTreeSet<&str> = members.iter().map(|e| e.employer.as_str()).collect();
            if employers.len() != members.len() {
                return Err(format!("{inst}: employers repeat"));
            }
        }
        for e in &members {
            if !independently_eligible(e, inst, input) {
                return Err(format!("{inst}: {} is not eligible", e.id));
            }
            if !seen.insert(e.id.clone()) {
                return Err(format!("{} appears twice", e.id));
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------- random pools

fn arb_input() -> impl Strategy<Value = DrawInput> {
    let tie = (0..4usize, 0..7usize, 0..2500i64);
    let cand = (0..5usize, 0..8usize, 0..10u8, proptest::collection::vec(tie, 0..3));
    let depts = Department::ALL;
    (
        proptest::collection::vec(cand, 10..60),
        1..=4usize,
        (2..=6u32, proptest::collection::vec(0..=2u32, 5), any::<bool>(), 0..=4u16),
        proptest::collection::vec((0..60usize, 0..4usize, 0..2000i64), 0..20),
        proptest::collection::vec(any::<u8>(), 16..33),
        "[0-9 ]{1,12}",
    )
        .prop_map(move |(cands, n_inst, (group_size, mins, distinct, years), hist, secret, public_value)| {
            let candidates: Vec<Evaluator> = cands
                .iter()
                .enumerate()
                .map(|(i, (d, emp, act, ties))| Evaluator {
                    id: format!("P{i:03}"),
                    name: format!("评审员{i}"),
                    department: depts[*d],
                    employer: format!("单位{emp}"),
                    specialty: "医保管理".into(),
                    active: *act < 9,
                    ties: ties
                        .iter()
                        .map(|(inst, kind, ago)| Tie {
                            institution_uscc: INSTITUTIONS[*inst].into(),
                            kind: KINDS[*kind],
                            since: on().checked_sub(ago.days()).unwrap(),
                        })
                        .collect(),
                })
                .collect();
            // Minimums that fit in the group, in department order.
            let mut left = group_size;
            let mut min_per_department = vec![];
            for (d, m) in depts.iter().zip(mins) {
                let m = m.min(left);
                left -= m;
                if m > 0 {
                    min_per_department.push((*d, m));
                }
            }
            let history = hist
                .iter()
                .filter(|(c, _, _)| *c < candidates.len())
                .map(|(c, inst, ago)| PastAssignment {
                    evaluator_id: candidates[*c].id.clone(),
                    institution_uscc: INSTITUTIONS[*inst].into(),
                    on: on().checked_sub(ago.days()).unwrap(),
                })
                .collect();
            let secret = hex::encode(secret);
            DrawInput {
                round_id: "R-prop".into(),
                on: on(),
                composition: Composition { group_size, min_per_department, distinct_employers: distinct, no_repeat_years: years },
                candidates,
                institutions: INSTITUTIONS[..n_inst].iter().rev().map(|s| s.to_string()).collect(),
                history,
                secret_commitment: commit(&secret).unwrap(),
                secret,
                public_value,
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    /// URC-EVAL-1: whenever a draw succeeds, every group meets size, department minimums, distinct
    /// employers and eligibility, and nobody is in two groups; when it refuses, it names the
    /// institution and the rule; it refuses whenever the pool obviously cannot suffice. G-DRAW: the
    /// record verifies, and the candidates' listing order does not matter.
    #[test]
    fn urc_eval_1_draw_meets_the_composition_or_refuses(input in arb_input()) {
        let comp = &input.composition;
        let active = |d: Option<Department>| input.candidates.iter().filter(|e| e.active && d.is_none_or(|d| e.department == d)).count() as u32;
        let obviously_short = comp.min_per_department.iter().any(|(d, m)| active(Some(*d)) < *m)
            || active(None) < comp.group_size * input.institutions.len() as u32;
        match draw(&input) {
            Ok(record) => {
                prop_assert!(!obviously_short, "a draw from a pool too small succeeded");
                prop_assert_eq!(&record.alg, ALG);
                if let Err(e) = check_groups(&record.input, &record.groups) {
                    return Err(TestCaseError::fail(e));
                }
                prop_assert_eq!(verify(&record), Ok(()));
                // Same input, listed in another order: same record.
                let mut reordered = input.clone();
                reordered.candidates.reverse();
                prop_assert_eq!(draw(&reordered).unwrap(), record.clone());

                // A replacement for the first member of the first group keeps the rules.
                let (inst, g) = record.groups.iter().next().unwrap();
                let declined = g[0].clone();
                let mut a = record.clone();
                let mut b = record.clone();
                let ra = replacement(&mut a, inst, &declined, "因病无法参加");
                let rb = replacement(&mut b, inst, &declined, "因病无法参加");
                prop_assert_eq!(&ra, &rb, "replacement is deterministic");
                match ra {
                    Ok(new_id) => {
                        let before: BTreeSet<&String> = record.groups.values().flatten().collect();
                        prop_assert!(!before.contains(&new_id), "the replacement was already drawn");
                        let fg = final_groups(&a);
                        prop_assert!(!fg[inst].contains(&declined));
                        if let Err(e) = check_groups(&a.input, &fg) {
                            return Err(TestCaseError::fail(e));
                        }
                        prop_assert_eq!(verify(&a), Ok(()));
                    }
                    Err(DrawError::Unmet { institution, .. }) => prop_assert_eq!(&institution, inst),
                    Err(e) => return Err(TestCaseError::fail(format!("unexpected {e}"))),
                }
            }
            Err(DrawError::Unmet { institution, rule }) => {
                prop_assert!(input.institutions.contains(&institution));
                prop_assert!(matches!(rule, Rule::DepartmentMinimum { .. } | Rule::GroupSize { .. }), "{rule:?}");
            }
            Err(e) => return Err(TestCaseError::fail(format!("unexpected refusal {e}"))),
        }
    }

    /// G-DRAW: the same inputs give the same result, byte for byte.
    #[test]
    fn g_draw_same_inputs_same_result(input in arb_input()) {
        let a = draw(&input);
        let b = draw(&input.clone());
        prop_assert_eq!(&a, &b);
        if let Ok(r) = a {
            prop_assert_eq!(canonical_json(&r), canonical_json(&b.unwrap()));
        }
    }
}

// ---------------------------------------------------------------- refusals

#[test]
fn urc_eval_1_pool_too_small_refused() {
    let mut input = fixed_input();
    input.candidates.truncate(4);
    input.institutions.truncate(1);
    input.composition.group_size = 5;
    input.composition.min_per_department = vec![];
    let err = draw(&input).unwrap_err();
    assert_eq!(err, DrawError::Unmet { institution: INSTITUTIONS[0].into(), rule: Rule::GroupSize { required: 5, found: 4 } });
    assert!(err.to_string().contains(INSTITUTIONS[0]) && err.to_string().contains("group size"), "{err}");

    // Enough for two institutions (14 = 5 + 5 + 4), not for three: the third (in sorted order) is named.
    let mut input = fixed_input();
    input.composition.group_size = 5;
    input.composition.min_per_department = vec![];
    let mut sorted: Vec<&str> = INSTITUTIONS[..3].to_vec();
    sorted.sort();
    assert_eq!(
        draw(&input).unwrap_err(),
        DrawError::Unmet { institution: sorted[2].into(), rule: Rule::GroupSize { required: 5, found: 4 } }
    );
}

#[test]
fn urc_eval_1_missing_department_refused() {
    let mut input = fixed_input();
    input.composition.min_per_department = vec![(Department::Insurance, 1), (Department::InsuranceCommittee, 1)];
    let err = draw(&input).unwrap_err();
    let mut first = INSTITUTIONS[..3].to_vec();
    first.sort();
    assert_eq!(
        err,
        DrawError::Unmet {
            institution: first[0].into(),
            rule: Rule::DepartmentMinimum { department: Department::InsuranceCommittee, required: 1, found: 0 }
        }
    );
    assert!(err.to_string().contains("医保委员会"), "{err}");
}

#[test]
fn urc_eval_1_conflicts_and_history_exclude_and_may_force_refusal() {
    // Every 医保 evaluator is tied to the first institution: a recent job, an old stake, a recent
    // assignment. An old job (more than 3 years) is no conflict, but that one is inactive.
    let mut input = fixed_input();
    input.candidates.truncate(12);
    let inst = INSTITUTIONS[0].to_string();
    input.institutions = vec![inst.clone()];
    let tie = |kind, since| Tie { institution_uscc: inst.clone(), kind, since };
    input.candidates[0].ties = vec![tie(TieKind::WorkedFor, date(2023, 3, 2))]; // exactly 3 years: conflict
    input.candidates[4].ties = vec![tie(TieKind::Ownership, date(2001, 1, 1))]; // always a conflict
    input.history = vec![PastAssignment { evaluator_id: "E08".into(), institution_uscc: inst.clone(), on: date(2025, 6, 1) }];
    let err = draw(&input).unwrap_err();
    assert_eq!(
        err,
        DrawError::Unmet {
            institution: inst.clone(),
            rule: Rule::DepartmentMinimum { department: Department::Insurance, required: 1, found: 0 }
        }
    );

    // A job that ended 3 years and a day ago is no longer a conflict: E00 must then be drawn.
    input.candidates[0].ties = vec![tie(TieKind::WorkedFor, date(2023, 3, 1))];
    let r = draw(&input).unwrap();
    assert!(r.groups[&inst].contains(&"E00".to_string()));
    // An assignment older than no_repeat_years is no bar either.
    input.candidates[0].active = false;
    input.history[0].on = date(2024, 3, 1);
    let r = draw(&input).unwrap();
    assert!(r.groups[&inst].contains(&"E08".to_string()));
}

#[test]
fn g_draw_wrong_secret_refused() {
    let mut input = fixed_input();
    input.secret = "ff".repeat(32);
    assert!(matches!(draw(&input), Err(DrawError::CommitmentMismatch { .. })));
    // Malformed secrets and commitments are refused too.
    input.secret = SECRET.to_uppercase();
    assert!(matches!(draw(&input), Err(DrawError::InvalidInput(_))));
    input.secret = "00".repeat(8);
    input.secret_commitment = commit(&"00".repeat(16)).unwrap();
    assert!(matches!(draw(&input), Err(DrawError::InvalidInput(_))), "an 8-byte secret is too short");
}

#[test]
fn urc_eval_1_malformed_composition_and_duplicates_refused() {
    let mut input = fixed_input();
    input.composition.min_per_department = vec![(Department::Insurance, 2), (Department::Health, 2)];
    assert!(matches!(draw(&input), Err(DrawError::InvalidInput(_))), "minimums above group size");
    let mut input = fixed_input();
    input.composition.min_per_department = vec![(Department::Insurance, 1), (Department::Insurance, 1)];
    assert!(matches!(draw(&input), Err(DrawError::InvalidInput(_))));
    let mut input = fixed_input();
    input.candidates.push(input.candidates[0].clone());
    assert!(matches!(draw(&input), Err(DrawError::InvalidInput(_))));
    let mut input = fixed_input();
    input.institutions.push(input.institutions[0].clone());
    assert!(matches!(draw(&input), Err(DrawError::InvalidInput(_))));
}

// ---------------------------------------------------------------- verification

/// Each single change to the input changes the seed, and the old result no longer verifies.
#[test]
fn g_draw_any_single_change_changes_seed_and_fails_verify() {
    let record = draw(&fixed_input()).unwrap();
    assert_eq!(verify(&record), Ok(()));
    let other_secret = "ab".repeat(32);
    type Change<'a> = Box<dyn Fn(&mut DrawInput) + 'a>;
    let changes: Vec<(&str, Change)> = vec![
        (
            "secret",
            Box::new(|i| {
                i.secret = other_secret.clone();
                i.secret_commitment = commit(&other_secret).unwrap();
            }),
        ),
        ("public value", Box::new(|i| i.public_value.push('9'))),
        ("round id", Box::new(|i| i.round_id = "2026-Q2-哈尔滨".into())),
        ("date", Box::new(|i| i.on = date(2026, 3, 3))),
        ("candidate name", Box::new(|i| i.candidates[5].name.push('甲'))),
        ("candidate employer", Box::new(|i| i.candidates[7].employer = "单位99".into())),
        ("candidate specialty", Box::new(|i| i.candidates[2].specialty = "药学".into())),
        ("candidate active", Box::new(|i| i.candidates[11].active = false)),
        (
            "candidate tie",
            Box::new(|i| {
                i.candidates[3].ties.push(Tie { institution_uscc: "X".into(), kind: TieKind::LegalDispute, since: date(2010, 1, 1) })
            }),
        ),
        ("institution", Box::new(|i| i.institutions[1] = INSTITUTIONS[3].into())),
        ("composition", Box::new(|i| i.composition.no_repeat_years = 3)),
        (
            "history",
            Box::new(|i| i.history.push(PastAssignment { evaluator_id: "E01".into(), institution_uscc: "X".into(), on: date(2010, 1, 1) })),
        ),
    ];
    for (what, change) in changes {
        let mut changed = fixed_input();
        change(&mut changed);
        let fresh = draw(&changed).unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_ne!(fresh.seed, record.seed, "{what}: same seed");

        let mut tampered = record.clone();
        change(&mut tampered.input);
        let diffs = verify(&tampered).expect_err(what);
        assert!(diffs.iter().any(|d| d.starts_with("seed mismatch")), "{what}: {diffs:?}");
    }
}

#[test]
fn g_draw_verify_lists_every_difference() {
    let record = draw(&fixed_input()).unwrap();
    let mut t = record.clone();
    t.input.secret = "ab".repeat(32);
    let diffs = verify(&t).unwrap_err();
    assert!(diffs.iter().any(|d| d.starts_with("commitment mismatch")), "{diffs:?}");
    assert!(diffs.iter().any(|d| d.starts_with("seed mismatch")), "{diffs:?}");

    // A group edited by hand is caught, naming the institution; the seed itself still matches.
    let mut t = record.clone();
    let inst = t.groups.keys().next().unwrap().clone();
    t.groups.get_mut(&inst).unwrap().swap(0, 1);
    let diffs = verify(&t).unwrap_err();
    assert_eq!(diffs.len(), 1, "{diffs:?}");
    assert!(diffs[0].contains(&inst), "{diffs:?}");

    let mut t = record.clone();
    t.seed = "00".repeat(32);
    t.candidates_hash = "00".repeat(32);
    assert_eq!(verify(&t).unwrap_err().len(), 2);

    let mut t = record.clone();
    t.alg = "dingdian-draw-v0".into();
    assert!(verify(&t).unwrap_err()[0].contains("unknown algorithm"));
}

#[test]
fn g_draw_canonical_json_sorted_and_round_trips() {
    let record = draw(&fixed_input()).unwrap();
    let json = canonical_json(&record);
    assert!(json.starts_with(r#"{"alg":"dingdian-draw-v1","candidates_hash":""#), "{json}");
    assert!(json.contains(r#""composition":{"distinct_employers":true,"group_size":3,"min_per_department":[["insurance",1],["health",1]],"no_repeat_years":2}"#), "{json}");
    // No insignificant whitespace: the compact re-serialisation of the parsed text is the text.
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(serde_json::to_string(&value).unwrap(), json);
    let back: DrawRecord = serde_json::from_str(&json).unwrap();
    assert_eq!(back, record);
    assert_eq!(verify(&back), Ok(()));
}

// ---------------------------------------------------------------- known answers

/// RFC 8439 A.1 test vector #1 (all-zero key and nonce, counter 0), read as little-endian words:
/// the keystream is standard ChaCha20.
#[test]
fn g_draw_keystream_is_rfc8439_chacha20() {
    assert_eq!(keystream_words(&[0u8; 32], 4), vec![0xade0_b876, 0x903d_f1a0, 0xe56a_5d40, 0x28bd_8653]);
}

/// Any change to the algorithm (canonical JSON, seed, keystream use, shuffle, grouping or
/// replacement) must change the algorithm id; this test catches a change made without one.
#[test]
fn g_draw_known_answer_dingdian_draw_v1() {
    let input = fixed_input();
    assert_eq!(seed_preimage(&input).unwrap(), KAT_PREIMAGE);
    let mut record = draw(&input).unwrap();
    assert_eq!(record.seed, KAT_SEED);
    let groups: Vec<(&str, Vec<&str>)> = record.groups.iter().map(|(k, v)| (k.as_str(), v.iter().map(String::as_str).collect())).collect();
    assert_eq!(groups, KAT_GROUPS.iter().map(|(k, v)| (*k, v.to_vec())).collect::<Vec<_>>());
    let inst = KAT_GROUPS[0].0;
    let declined = KAT_GROUPS[0].1[0];
    assert_eq!(replacement(&mut record, inst, declined, "回避").unwrap(), KAT_REPLACEMENT);
}

const KAT_PREIMAGE: &str = concat!(
    r#"{"alg":"dingdian-draw-v1","candidates_hash":"bc3570b473531c304ad624dbb322ee3e70251d565cbdaa9f57d0e2f812b4f5d0","#,
    r#""composition":{"distinct_employers":true,"group_size":3,"min_per_department":[["insurance",1],["health",1]],"no_repeat_years":2},"#,
    r#""history_hash":"4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945","#,
    r#""institutions":["52230104MA9K0L1M2N","91230102MA1B2C3D4E","91230103MA5F6G7H8J"],"on":"2026-03-02","#,
    r#""public_value":"福彩3D 2026055: 4 7 1","round_id":"2026-Q1-哈尔滨","#,
    r#""secret":"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"}"#
);
const KAT_SEED: &str = "372eff494b7e13c1d3334f15992227597de352f760608e49fbc7cbc3b87a5fdb";
const KAT_GROUPS: [(&str, [&str; 3]); 3] = [
    ("52230104MA9K0L1M2N", ["E00", "E09", "E02"]),
    ("91230102MA1B2C3D4E", ["E08", "E13", "E11"]),
    ("91230103MA5F6G7H8J", ["E04", "E05", "E06"]),
];
const KAT_REPLACEMENT: &str = "E12";

// ---------------------------------------------------------------- replacements

#[test]
fn urc_eval_1_replacement_deterministic_rule_abiding_and_verified() {
    let record = draw(&fixed_input()).unwrap();
    let inst = record.groups.keys().next().unwrap().clone();
    // Replace the 医保 member: the replacement must be 医保 again (minimum 1, group of 3).
    let by_id: BTreeMap<String, Evaluator> = record.input.candidates.iter().map(|e| (e.id.clone(), e.clone())).collect();
    let declined = record.groups[&inst].iter().find(|id| by_id[*id].department == Department::Insurance).unwrap().clone();
    let mut a = record.clone();
    let mut b = record.clone();
    let ra = replacement(&mut a, &inst, &declined, "本人申请回避").unwrap();
    let rb = replacement(&mut b, &inst, &declined, "本人申请回避").unwrap();
    assert_eq!(ra, rb);
    assert_eq!(a, b);
    assert_eq!(by_id[&ra].department, Department::Insurance);
    assert_eq!(a.replacements.len(), 1);
    assert_eq!(a.replacements[0].reason, "本人申请回避");
    let fg = final_groups(&a);
    assert_eq!(fg[&inst].iter().position(|m| *m == ra), record.groups[&inst].iter().position(|m| *m == declined), "takes the same place");
    check_groups(&a.input, &fg).unwrap();
    assert_eq!(verify(&a), Ok(()));

    // A second replacement (of the member drawn in the fill pass) continues the keystream and
    // excludes everyone already drawn or declined.
    let third = final_groups(&a)[&inst][2].clone();
    let r2 = replacement(&mut a, &inst, &third, "临时出差").unwrap();
    assert!(!record.groups.values().flatten().any(|m| *m == r2) && r2 != ra, "{r2}");
    check_groups(&a.input, &final_groups(&a)).unwrap();
    assert_eq!(verify(&a), Ok(()));

    // A forged replacement does not verify.
    let mut forged = a.clone();
    forged.replacements[1].replacement = declined.clone();
    assert!(verify(&forged).unwrap_err()[0].starts_with("replacement 1"));

    // Wrong institution or evaluator.
    let mut c = record.clone();
    assert!(matches!(replacement(&mut c, "nope", &declined, ""), Err(DrawError::UnknownInstitution(_))));
    assert!(matches!(replacement(&mut c, &inst, "E99", ""), Err(DrawError::NotInGroup { .. })));
    assert_eq!(c, record, "a refused replacement leaves the record unchanged");
}

#[test]
fn urc_eval_1_replacement_refused_when_pool_exhausted() {
    // 14 evaluators, 3 institutions × 3 = 9 drawn; at most one 医保 is left in reserve.
    let record = draw(&fixed_input()).unwrap();
    let by_id: BTreeMap<String, Evaluator> = record.input.candidates.iter().map(|e| (e.id.clone(), e.clone())).collect();
    let inst = record.groups.keys().next().unwrap().clone();
    let declined = record.groups[&inst].iter().find(|id| by_id[*id].department == Department::Insurance).unwrap().clone();
    let used_insurance = record.groups.values().flatten().filter(|id| by_id[*id].department == Department::Insurance).count();
    let mut r = record.clone();
    let res = replacement(&mut r, &inst, &declined, "");
    if used_insurance == 4 {
        assert_eq!(
            res,
            Err(DrawError::Unmet {
                institution: inst.clone(),
                rule: Rule::DepartmentMinimum { department: Department::Insurance, required: 1, found: 0 }
            })
        );
        assert!(r.replacements.is_empty());
    } else {
        assert_eq!(by_id[&res.unwrap()].department, Department::Insurance);
    }
    // Keep replacing anyone until the pool is exhausted: it ends with a refusal, never a broken rule.
    let mut r = record.clone();
    let mut refused = false;
    for _ in 0..20 {
        let current = final_groups(&r)[&inst].clone();
        let target = current.iter().find(|id| by_id[*id].department != Department::Insurance).unwrap().clone();
        match replacement(&mut r, &inst, &target, "") {
            Ok(_) => check_groups(&r.input, &final_groups(&r)).unwrap(),
            Err(DrawError::Unmet { institution, .. }) => {
                assert_eq!(institution, inst);
                refused = true;
                break;
            }
            Err(e) => panic!("{e}"),
        }
    }
    assert!(refused);
}
