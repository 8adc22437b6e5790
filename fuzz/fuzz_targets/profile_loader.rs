#![no_main]
//! The policy-profile loader must never panic and every error must name a line in the file.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Err(errors) = dingdian_core::policy::Profile::parse("fuzz.toml", text) {
            assert!(!errors.is_empty());
            assert!(errors.iter().all(|e| e.line <= text.lines().count() + 1));
        }
    }
});
