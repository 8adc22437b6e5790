#![no_main]
//! The calendar-year loader must never panic.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = dingdian_core::calendar::Year::parse("fuzz.toml", text);
    }
});
