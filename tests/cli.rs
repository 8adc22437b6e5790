//! The command-line contracts operators script against.

use std::process::Command;

fn dingdian() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_dingdian"));
    c.env("RUST_LOG", "error").current_dir(env!("CARGO_MANIFEST_DIR"));
    c
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("dingdian-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn policy_check_accepts_shipped_profiles() {
    let out = dingdian().args(["policy", "check", "policies/harbin.toml", "policies/urumqi.toml"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("policies/harbin.toml: ok") && stdout.contains("policies/urumqi.toml: ok"), "{stdout}");
}

#[test]
fn policy_check_rejects_broken_profile_with_line() {
    let dir = temp_dir("policy");
    let text = std::fs::read_to_string("policies/harbin.toml").unwrap();
    let broken = text.replacen("unit = \"working_days\"", "unit = \"fortnights\"", 1);
    let line = broken.lines().position(|l| l.contains("fortnights")).unwrap() + 1;
    let file = dir.join("broken.toml");
    std::fs::write(&file, broken).unwrap();
    let out = dingdian().args(["policy", "check"]).arg(&file).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains(&format!("broken.toml:{line}:")), "names the line {line}: {stdout}");
    assert!(stdout.contains("fortnights"), "{stdout}");

    let missing_rule = text.replacen("rule = \"HRB-NOTICE\"", "rule = \"notice\"", 1);
    std::fs::write(&file, missing_rule).unwrap();
    let out = dingdian().args(["policy", "check"]).arg(&file).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("is not a rule ID"));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn demo_twice_never_duplicates() {
    let dir = temp_dir("demo");
    let data = dir.join("data");
    let run = || {
        let out = dingdian().args(["demo", "--data-dir"]).arg(&data).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert!(run().contains("12 new applications"));
    assert!(run().contains("0 new applications"));
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let store = dingdian_store::Store::open(&data.join("dingdian.db").to_string_lossy()).await.unwrap();
        assert_eq!(store.institutions(None).await.unwrap().len(), 12);
        let users = store.users().await.unwrap();
        assert_eq!(users.len(), 24, "12 staff and 12 institution accounts");
        let all = dingdian_core::lifecycle::Actor::system("*");
        let apps = store.applications_for(&all, None, 100).await.unwrap();
        assert_eq!(apps.len(), 12);
        let states: std::collections::BTreeSet<&str> = apps.iter().map(|a| a.state.as_str()).collect();
        for s in ["draft", "submitted", "awaiting_supplement", "public_notice", "signed", "rejected", "on_site_evaluation"] {
            assert!(states.contains(s), "demo has an application in {s}: {states:?}");
        }
        assert!(apps.iter().any(|a| a.profile_id == "harbin") && apps.iter().any(|a| a.profile_id == "urumqi"));
        store.close().await;
    });
    let _ = std::fs::remove_dir_all(dir);
}
