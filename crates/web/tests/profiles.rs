//! An application keeps the profile version it was submitted under; a changed profile needs a
//! new version number.

#[macro_use]
mod common;

use common::TestApp;
use dingdian_core::policy::Profile;
use dingdian_store::StoreError;
use dingdian_store::testing::Backend;
use serde_json::json;

fn notice() -> serde_json::Value {
    json!({ "command": "issue_supplement_notice", "items": [{ "slot": "licence", "problem": "missing", "reason": "缺" }] })
}

async fn applications_keep_their_profile_version(b: Backend) {
    let t = TestApp::new(b).await;
    let hosp = t.login("hrb-hospital").await;
    let clinic = t.login("hrb-clinic").await;
    let agency = t.login("hrb-agency").await;
    let old = t.submitted(&hosp).await;

    // A new Harbin version gives 10 working days to supplement instead of 5 (HRB-ACC-2).
    let text = dingdian_core::policy::SHIPPED[0].1.replacen("version = \"2026.5\"", "version = \"2026.9\"", 1).replacen(
        "amount = 5\nunit = \"working_days\"\nruns_in = [\"awaiting_supplement\"]",
        "amount = 10\nunit = \"working_days\"\nruns_in = [\"awaiting_supplement\"]",
        1,
    );
    let v2 = Profile::parse("harbin-2026.9.toml", &text).expect("valid");
    assert_eq!(v2.clock("supplement").unwrap().budget.amount, 10);
    let now = dingdian_store::clock::Clock::now(&*t.clock);
    t.store().register_profile(v2, now).await.unwrap();

    let new = t.submitted(&clinic).await;
    t.cmd(&agency, old, notice()).await;
    t.cmd(&agency, new, notice()).await;
    let old_app = t.store().application(old).await.unwrap().unwrap();
    let new_app = t.store().application(new).await.unwrap().unwrap();
    assert_eq!(old_app.profile_version, "2026.5");
    assert_eq!(new_app.profile_version, "2026.9");
    // Notice on Mon 2026-03-02: 5 working days → 03-09; 10 → 03-16.
    assert_eq!(old_app.due_on.unwrap().to_string(), "2026-03-09");
    assert_eq!(new_app.due_on.unwrap().to_string(), "2026-03-16");

    // The same version number with different rules is refused.
    let tampered = dingdian_core::policy::SHIPPED[0].1.replacen("amount = 5", "amount = 6", 1);
    let err = t.store().register_profile(Profile::parse("x.toml", &tampered).unwrap(), now).await.unwrap_err();
    assert!(matches!(err, StoreError::ProfileChanged { .. }), "{err}");

    // After a restart, the stored versions are loaded again.
    let reopened = dingdian_store::Store::open(&t_url(&t)).await.unwrap();
    assert!(reopened.profile_version("harbin", "2026.5").is_some());
    assert!(reopened.profile_version("harbin", "2026.9").is_some());
    reopened.close().await;
}
both!(applications_keep_their_profile_version);

fn t_url(t: &TestApp) -> String {
    t.db_url.clone()
}

/// Harbin's profile as an earlier release stored it, before the city data moved into profiles.
const HARBIN_2026_2: &str = include_str!("../../core/tests/fixtures/harbin-2026.2.toml");

// G-PROFILE: an application submitted under a profile text stored by an earlier release keeps
// that version after an upgrade; the names the old text lacks (here the Annex 2 package prefix,
// HRB-ANNEX2) come from the newer version of the same city.
async fn g_profile_older_stored_texts_still_load(b: Backend) {
    let t = TestApp::new(b).await;
    let hosp = t.login("hrb-hospital").await;
    let now = t.now();
    let old = Profile::parse_stored("<stored profile harbin>", HARBIN_2026_2).expect("old text");
    t.store().register_profile(old, now).await.unwrap();
    let id = t.harbin_to_preparation(&hosp).await;
    t.store().register_profile(Profile::shipped().swap_remove(0), now).await.unwrap();
    assert_eq!(t.store().current_profile("harbin").unwrap().version, "2026.5");

    let bound = t.store().profile_version("harbin", "2026.2").expect("old version loaded");
    assert_eq!(bound.district_name("230102"), Some("道里区"), "inherited");
    assert_eq!(bound.sha256, Profile::parse_stored("x", HARBIN_2026_2).unwrap().sha256, "the stored text is unchanged");
    assert_eq!(t.complete_harbin_preparation(&hosp, id).await, "ready_to_sign", "the package name is checked with the inherited prefix");
    assert_eq!(t.get_app(&hosp, id).await["application"]["profile_version"], "2026.2");

    // After a restart the old text is parsed again from the database and filled again.
    let reopened = dingdian_store::Store::open(&t_url(&t)).await.unwrap();
    let bound = reopened.profile_version("harbin", "2026.2").expect("old version loaded");
    let prefix = bound.preparation.as_ref().and_then(|p| p.annex2_package_prefix.clone());
    assert_eq!(prefix.as_deref(), Some("哈尔滨市处方流转验收材料"));
    reopened.close().await;
}
both!(g_profile_older_stored_texts_still_load);
