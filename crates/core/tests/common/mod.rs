//! Inputs several core test files share.
#![allow(dead_code)]

use std::collections::BTreeMap;

use dingdian_core::lifecycle::{SourceChecked, SourceInput, VerificationSource};
use jiff::civil::date;

/// URC-REV-2: the sources a verification checked (a written review on 2026-03-02).
pub fn sources() -> BTreeMap<VerificationSource, SourceInput> {
    [(VerificationSource::WrittenReview, SourceInput { checked_on: date(2026, 3, 2), note: None, attachments: vec![] })].into()
}

/// The same sources as the verification event records them.
pub fn checked() -> Vec<SourceChecked> {
    vec![SourceChecked { source: VerificationSource::WrittenReview, checked_on: date(2026, 3, 2), note: None, attachments: vec![] }]
}
