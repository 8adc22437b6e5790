//! Identifier rules: GB 32100-2015 (统一社会信用代码) with its embedded GB 11714 organisation code,
//! the national insurance institution code and its fit to a city profile (HRB-PREP: national code
//! first), insurance staff codes, and GB 11643-1999 (居民身份证号码).

use dingdian_core::ids::IdError;
use dingdian_core::ids::{InstitutionCode, ResidentId, StaffCode, StaffKind, Uscc, check};
use dingdian_core::policy::InstitutionKind;
use proptest::prelude::*;

const USCC_CHARS: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";

/// 17 random characters from the GB 32100 character set.
fn first17() -> impl Strategy<Value = String> {
    proptest::collection::vec(0..31usize, 17).prop_map(|v| v.into_iter().map(|i| USCC_CHARS.as_bytes()[i] as char).collect())
}

/// The GB 11714 check character of an 8-character organisation code body.
fn gb11714_check(body: &str) -> char {
    let sum: u32 = body.chars().zip([3, 7, 9, 10, 5, 8, 4, 2]).map(|(c, w)| c.to_digit(36).unwrap() * w).sum();
    match 11 - sum % 11 {
        10 => 'X',
        11 => '0',
        n => char::from_digit(n, 10).unwrap(),
    }
}

/// The GB 11643 check character of 17 digits, computed here independently of the library.
fn gb11643_check(first17: &str) -> char {
    let weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = first17.chars().zip(weights).map(|(c, w)| c.to_digit(10).unwrap() * w).sum();
    "10X98765432".as_bytes()[(sum % 11) as usize] as char
}

fn resident(first17: &str) -> String {
    format!("{first17}{}", gb11643_check(first17))
}

// ---------------------------------------------------------------- GB 32100-2015

proptest! {
    #[test]
    fn gb32100_generated_codes_accepted(f in first17()) {
        let built = Uscc::with_check(&f).unwrap();
        prop_assert_eq!(&built.as_str()[..17], f.as_str());
        prop_assert_eq!(Uscc::parse(built.as_str()).unwrap(), built.clone());
        // Lower case is normalised.
        prop_assert_eq!(Uscc::parse(&built.as_str().to_ascii_lowercase()).unwrap(), built);
    }

    #[test]
    fn gb32100_every_single_substitution_refused(f in first17()) {
        let valid = Uscc::with_check(&f).unwrap();
        let chars: Vec<char> = valid.as_str().chars().collect();
        for pos in 0..18 {
            for c in USCC_CHARS.chars().filter(|c| *c != chars[pos]) {
                let mut changed = chars.clone();
                changed[pos] = c;
                let changed: String = changed.into_iter().collect();
                let err = Uscc::parse(&changed).unwrap_err();
                prop_assert!(matches!(err, IdError::Check { position: 18, .. }), "{changed} gave {err:?}");
            }
        }
    }

    #[test]
    fn gb32100_forbidden_letters_refused_at_position(f in first17(), pos in 0..18usize, bad in prop::sample::select(vec!['I', 'O', 'S', 'V', 'Z'])) {
        let valid = Uscc::with_check(&f).unwrap();
        let mut chars: Vec<char> = valid.as_str().chars().collect();
        chars[pos] = bad;
        let changed: String = chars.into_iter().collect();
        let err = Uscc::parse(&changed).unwrap_err();
        prop_assert_eq!(&err, &IdError::Char { position: pos + 1, found: bad, expected: "只能使用数字和除 I、O、S、V、Z 以外的大写字母" });
        prop_assert_eq!(err.code(), "id_char");
        let pos_text = format!("第 {} 位", pos + 1);
        prop_assert!(err.message_zh().contains(&pos_text));
        prop_assert!(check(&changed).is_err());
    }
}

#[test]
fn gb32100_published_example_91350100m000100y43() {
    let u = Uscc::parse("91350100M000100Y43").unwrap();
    assert_eq!(u.as_str(), "91350100M000100Y43");
    assert!(u.organisation_code_ok());
    assert_eq!(check("91350100M000100Y43"), Ok(("uscc", vec![])));
    assert_eq!(check(" 91350100m000100y43 "), Ok(("uscc", vec![])));
    // Serde goes through parse.
    let json = serde_json::to_string(&u).unwrap();
    assert_eq!(json, "\"91350100M000100Y43\"");
    assert_eq!(serde_json::from_str::<Uscc>(&json).unwrap(), u);
    assert!(serde_json::from_str::<Uscc>("\"91350100M000100Y44\"").is_err());
}

#[test]
fn gb32100_errors_name_position() {
    let e = Uscc::parse("91350100M000100Y44").unwrap_err();
    assert_eq!(e, IdError::Check { position: 18, found: '4', expected: '3' });
    assert_eq!(e.code(), "id_check");
    assert!(e.message_zh().contains("第 18 位"), "{}", e.message_zh());
    assert!(e.message_zh().contains('3'));

    let e = Uscc::parse("91350100M0001O0Y43").unwrap_err();
    assert!(matches!(e, IdError::Char { position: 14, found: 'O', .. }));
    assert!(e.message_zh().contains("第 14 位“O”"), "{}", e.message_zh());

    let e = Uscc::parse("9135").unwrap_err();
    assert_eq!(e, IdError::Length { expected: 18, actual: 4 });
    assert_eq!(e.code(), "id_length");
}

#[test]
fn gb11714_inner_organisation_code_is_only_a_warning() {
    // Characters 9–16 of the organisation code, then a deliberately wrong GB 11714 check at 17.
    let body = "MA1CXY2K";
    let good = gb11714_check(body);
    let bad = if good == '0' { '1' } else { '0' };

    let ok = Uscc::with_check(&format!("91230102{body}{good}")).unwrap();
    assert!(ok.organisation_code_ok());
    assert_eq!(check(ok.as_str()), Ok(("uscc", vec![])));

    let odd = Uscc::with_check(&format!("91230102{body}{bad}")).unwrap();
    assert!(!odd.organisation_code_ok(), "the code itself is valid GB 32100 but the inner check fails");
    let (kind, warnings) = check(odd.as_str()).unwrap();
    assert_eq!(kind, "uscc");
    assert_eq!(warnings.len(), 1);
    assert!(warnings[0].contains("组织机构代码"), "{}", warnings[0]);
    assert!(warnings[0].contains("第 9 至 17 位"), "{}", warnings[0]);
    assert!(warnings[0].contains(good), "names the expected check character: {}", warnings[0]);
}

// ---------------------------------------------------------------- institution code (HRB-PREP)

#[test]
fn hrb_prep_institution_code_region_and_kind() {
    let c = InstitutionCode::parse("H23010200001").unwrap();
    assert_eq!(c.check_for("230100", InstitutionKind::Medical), Ok(()));

    let e = c.check_for("230100", InstitutionKind::Pharmacy).unwrap_err();
    assert_eq!(e, IdError::KindMismatch { letter: 'H', expected: 'P' });
    assert_eq!(e.code(), "id_kind");
    assert!(e.message_zh().contains("第 1 位“H”"), "{}", e.message_zh());
    assert!(e.message_zh().contains("零售药店"), "{}", e.message_zh());

    let e = c.check_for("650100", InstitutionKind::Medical).unwrap_err();
    assert_eq!(e.code(), "id_region");
    assert!(matches!(&e, IdError::Region { position: 2, division, city } if division == "230102" && city == "650100"));
    assert!(e.message_zh().contains("第 2 位"), "{}", e.message_zh());
    assert!(e.message_zh().contains("6501"), "{}", e.message_zh());
}

#[test]
fn hrb_prep_institution_code_region_boundaries() {
    // The city code itself counts as inside the city.
    assert_eq!(InstitutionCode::parse("H23010000007").unwrap().check_for("230100", InstitutionKind::Medical), Ok(()));
    // Same province, other city (2302xx Qiqihar): the first wrong digit is the 4th of the division, character 5.
    let e = InstitutionCode::parse("H23020200001").unwrap().check_for("230100", InstitutionKind::Medical).unwrap_err();
    assert!(matches!(e, IdError::Region { position: 5, .. }), "{e:?}");
    // Urumqi pharmacy.
    let p = InstitutionCode::parse("p65010400012").unwrap();
    assert!(p.is_pharmacy());
    assert_eq!(p.check_for("650100", InstitutionKind::Pharmacy), Ok(()));
    assert_eq!(p.check_for("650100", InstitutionKind::Medical).unwrap_err().code(), "id_kind");
}

#[test]
fn institution_code_shape_errors_name_position() {
    let e = InstitutionCode::parse("H2301020000A").unwrap_err();
    assert!(matches!(e, IdError::Char { position: 12, found: 'A', .. }));
    assert!(e.message_zh().contains("第 12 位"));
    assert_eq!(InstitutionCode::parse("H230102").unwrap_err(), IdError::Length { expected: 12, actual: 7 });
}

// ---------------------------------------------------------------- staff codes

#[test]
fn staff_code_valid_examples() {
    let d = StaffCode::parse("D230102000123").unwrap();
    assert_eq!(d.kind(), StaffKind::Physician);
    assert_eq!(d.division(), "230102");
    assert_eq!(d.as_str(), "D230102000123");

    let y = StaffCode::parse("hy650104000001").unwrap();
    assert_eq!(y.kind(), StaffKind::Pharmacist);
    assert_eq!(y.division(), "650104");
    assert_eq!(y.as_str(), "HY650104000001");

    let j = StaffCode::parse("HJ230103000042").unwrap();
    assert_eq!(j.kind(), StaffKind::Technician);
    assert_eq!(j.division(), "230103");

    let json = serde_json::to_string(&j).unwrap();
    assert_eq!(serde_json::from_str::<StaffCode>(&json).unwrap(), j);
    assert!(serde_json::from_str::<StaffCode>("\"HX230103000042\"").is_err());
}

#[test]
fn staff_code_invalid_examples() {
    // Physician codes are 13 characters, HY/HJ codes 14.
    assert_eq!(StaffCode::parse("D2301020001234").unwrap_err(), IdError::Length { expected: 13, actual: 14 });
    assert_eq!(StaffCode::parse("HY23010200012").unwrap_err(), IdError::Length { expected: 14, actual: 13 });
    let e = StaffCode::parse("HX230102000123").unwrap_err();
    assert!(matches!(e, IdError::Char { position: 2, found: 'X', .. }));
    assert!(e.message_zh().contains("第 2 位"));
    let e = StaffCode::parse("X230102000123").unwrap_err();
    assert!(matches!(e, IdError::Char { position: 1, .. }));
    let e = StaffCode::parse("D2301A2000123").unwrap_err();
    assert!(matches!(e, IdError::Char { position: 6, found: 'A', .. }));
    assert!(e.message_zh().contains("行政区划"), "{}", e.message_zh());
    let e = StaffCode::parse("HY23010200012B").unwrap_err();
    assert!(matches!(e, IdError::Char { position: 14, found: 'B', .. }));
    assert!(e.message_zh().contains("顺序号"), "{}", e.message_zh());
    assert_eq!(StaffCode::parse("  ").unwrap_err(), IdError::Empty);
}

// ---------------------------------------------------------------- GB 11643-1999

#[test]
fn gb11643_valid_example_with_computed_check() {
    let number = resident("23010219900307123");
    let id = ResidentId::parse(&number).unwrap();
    assert_eq!(id.expose(), number);
    assert_eq!(id.as_str(), number);
    assert_eq!(id.division(), "230102");
    assert_eq!(id.birth_date(), jiff::civil::date(1990, 3, 7));
    assert_eq!(check(&number), Ok(("resident-id", vec![])));
}

#[test]
fn gb11643_invalid_check_character() {
    let number = resident("23010219900307123");
    let good = number.chars().last().unwrap();
    let wrong = if good == '0' { '1' } else { '0' };
    let bad = format!("{}{wrong}", &number[..17]);
    let e = ResidentId::parse(&bad).unwrap_err();
    assert_eq!(e, IdError::Check { position: 18, found: wrong, expected: good });
    assert!(e.message_zh().contains("第 18 位"), "{}", e.message_zh());
    // Shaped like a resident ID, so check() reports the resident-ID error.
    assert_eq!(check(&bad).unwrap_err().code(), "id_check");
    // A letter in the middle.
    assert!(matches!(ResidentId::parse("2301021990A307123X"), Err(IdError::Char { position: 11, found: 'A', .. })));
    assert!(matches!(ResidentId::parse("23010219900307123Y"), Err(IdError::Char { position: 18, found: 'Y', .. })));
}

#[test]
fn gb11643_impossible_birth_date() {
    let feb30 = resident("23010219990230123");
    let e = ResidentId::parse(&feb30).unwrap_err();
    assert_eq!(e.code(), "id_date");
    assert!(matches!(&e, IdError::Date { position: 13, found, .. } if found == "19990230"));
    assert!(e.message_zh().contains("第 13 位"), "{}", e.message_zh());
    assert!(e.message_zh().contains("19990230"));
    assert!(matches!(ResidentId::parse(&resident("23010219991301123")), Err(IdError::Date { position: 11, .. })));
    // 29 February exists only in leap years.
    assert!(ResidentId::parse(&resident("23010220000229123")).is_ok());
    assert!(matches!(ResidentId::parse(&resident("23010219000229123")), Err(IdError::Date { position: 13, .. })));
}

#[test]
fn gb11643_lowercase_x_normalised() {
    // Find a 17-digit body whose check character is X.
    let body = (0..1000).map(|n| format!("23010219850615{n:03}")).find(|b| gb11643_check(b) == 'X').unwrap();
    let id = ResidentId::parse(&format!("{body}x")).unwrap();
    assert_eq!(id.expose(), format!("{body}X"));
    assert!(id.masked().ends_with('X'));
    assert_eq!(check(&format!("{body}x")).unwrap().0, "resident-id");
}

#[test]
fn gb11643_masked_and_debug_never_show_the_number() {
    let number = resident("23010219900307123");
    let id = ResidentId::parse(&number).unwrap();
    let masked = id.masked();
    assert_eq!(masked, format!("230102********{}", &number[14..]));
    assert_eq!(masked.chars().count(), 18);
    let debug = format!("{id:?}");
    assert!(!debug.contains(&number), "{debug}");
    assert!(!debug.contains("19900307"), "{debug}");
    assert!(debug.contains(&masked), "{debug}");
    let pretty = format!("{:#?}", Some(id.clone()));
    assert!(!pretty.contains(&number), "{pretty}");
    // Storage keeps the full number; deserializing validates it.
    let json = serde_json::to_string(&id).unwrap();
    assert_eq!(json, format!("\"{number}\""));
    assert_eq!(serde_json::from_str::<ResidentId>(&json).unwrap(), id);
    assert!(serde_json::from_str::<ResidentId>("\"230102199902301230\"").is_err());
}

// ---------------------------------------------------------------- check()

#[test]
fn check_identifies_each_kind() {
    assert_eq!(check("91350100M000100Y43").unwrap().0, "uscc");
    assert_eq!(check("H23010200001").unwrap().0, "institution-code");
    assert_eq!(check("P65010400012").unwrap().0, "institution-code");
    assert_eq!(check("D230102000123").unwrap().0, "staff-code");
    assert_eq!(check("HY230102000123").unwrap().0, "staff-code");
    assert_eq!(check("HJ230102000123").unwrap().0, "staff-code");
    assert_eq!(check(&resident("11010519491231002")).unwrap().0, "resident-id");
}

#[test]
fn check_all_digit_uscc_without_a_date_is_a_uscc() {
    // 18 digits whose characters 7–14 are no date (year 0000) are a USCC by shape.
    let u = Uscc::with_check("12230100000012345").unwrap();
    assert_eq!(check(u.as_str()).unwrap().0, "uscc");
}

#[test]
fn check_refuses_garbage() {
    let e = check("hello").unwrap_err();
    assert_eq!(e.code(), "id_unrecognised");
    let m = e.message_zh();
    for kind in ["统一社会信用代码", "定点医药机构代码", "医保人员代码", "居民身份证号码"] {
        assert!(m.contains(kind), "{m}");
    }
    assert_eq!(check("").unwrap_err(), IdError::Empty);
    assert_eq!(check("H2301").unwrap_err().code(), "id_unrecognised");
    // Right shape, wrong content: the specific error, with its position.
    assert!(matches!(check("H2301020000A"), Err(IdError::Char { position: 12, .. })));
    assert!(matches!(check("D23010200012"), Err(IdError::Length { expected: 13, actual: 12 })));
    assert!(matches!(check("91350100M000100Y44"), Err(IdError::Check { position: 18, .. })));
}
