#![no_main]
//! The institution CSV import: never panics; errors carry real line numbers.
use std::sync::OnceLock;

use dingdian_core::policy::Profile;
use libfuzzer_sys::fuzz_target;

static PROFILES: OnceLock<Vec<Profile>> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let profiles = PROFILES.get_or_init(Profile::shipped);
        let refs: Vec<&Profile> = profiles.iter().collect();
        if let Err(errors) = dingdian_core::registry::parse_csv(text, &refs) {
            assert!(errors.iter().all(|e| e.line >= 1 && e.line <= text.lines().count() + 2));
        }
    }
});
