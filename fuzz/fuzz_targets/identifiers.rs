#![no_main]
//! Identifier parsers: never panic; a code accepted once is accepted again in its normal form.
use dingdian_core::ids;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(code) = std::str::from_utf8(data) {
        if let Ok(u) = ids::Uscc::parse(code) {
            assert_eq!(ids::Uscc::parse(u.as_str()).ok(), Some(u));
        }
        let _ = ids::InstitutionCode::parse(code);
        let _ = ids::StaffCode::parse(code);
        if let Ok(r) = ids::ResidentId::parse(code) {
            assert!(!r.masked().contains(&r.expose()[6..14]));
        }
        let _ = ids::check(code);
    }
});
