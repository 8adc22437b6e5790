//! Robustness of every parser that takes outside input: the profile loader, the calendar loader,
//! the identifier parsers and the CSV import never panic, whatever they are given — arbitrary
//! text and random mutations of valid files. (A quick, always-on complement to the
//! coverage-guided fuzzing described in docs/reliability.md.)

use dingdian_core::calendar::Year;
use dingdian_core::ids;
use dingdian_core::policy::{Profile, SHIPPED};
use dingdian_core::registry;
use proptest::prelude::*;

/// A valid file with a few random edits: insertions, deletions and replacements.
fn mutated(base: &'static str) -> impl Strategy<Value = String> {
    prop::collection::vec((0..base.len(), 0u8..3, any::<char>()), 1..8).prop_map(move |edits| {
        let mut s: Vec<char> = base.chars().collect();
        for (pos, op, c) in edits {
            let at = pos % (s.len().max(1));
            match op {
                0 => s.insert(at, c),
                1 if !s.is_empty() => {
                    s.remove(at);
                }
                _ if !s.is_empty() => s[at] = c,
                _ => {}
            }
        }
        s.into_iter().collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn profile_loader_never_panics(text in ".{0,400}") {
        let _ = Profile::parse("fuzz.toml", &text);
    }

    #[test]
    fn profile_loader_survives_mutations(text in mutated(SHIPPED[1].1)) {
        if let Err(errors) = Profile::parse("fuzz.toml", &text) {
            prop_assert!(!errors.is_empty());
            for e in errors {
                prop_assert!(e.line <= text.lines().count() + 1, "{e}");
            }
        }
    }

    #[test]
    fn calendar_loader_never_panics(text in mutated(include_str!("../../../calendars/2026.toml"))) {
        let _ = Year::parse("fuzz.toml", &text);
    }

    #[test]
    fn identifier_parsers_never_panic(code in "\\PC{0,24}") {
        let _ = ids::Uscc::parse(&code);
        let _ = ids::InstitutionCode::parse(&code);
        let _ = ids::StaffCode::parse(&code);
        let _ = ids::ResidentId::parse(&code);
        let _ = ids::check(&code);
    }

    #[test]
    fn csv_import_never_panics(text in "(uscc,name,kind,category,city,district,national_code,address,beds\n)?[\\PC\n,\"]{0,300}") {
        let profiles = Profile::shipped();
        let refs: Vec<&Profile> = profiles.iter().collect();
        if let Err(errors) = registry::parse_csv(&text, &refs) {
            prop_assert!(errors.iter().all(|e| e.line >= 1));
        }
    }
}
