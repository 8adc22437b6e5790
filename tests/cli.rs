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

// G-PROFILE: a third city is a file: `policy check` accepts it, and `--policy-dir` loads it beside
// the shipped ones.
#[test]
fn g_profile_third_city_loads_from_the_policy_dir() {
    let third = "crates/web/tests/fixtures/third_city.toml";
    let out = dingdian().args(["policy", "check", third]).output().unwrap();
    assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let dir = temp_dir("policy-dir");
    let policies = dir.join("policies");
    std::fs::create_dir_all(&policies).unwrap();
    for (from, to) in [("policies/harbin.toml", "harbin.toml"), ("policies/urumqi.toml", "urumqi.toml"), (third, "shifan.toml")] {
        std::fs::copy(from, policies.join(to)).unwrap();
    }
    let out = dingdian().args(["migrate", "--data-dir"]).arg(dir.join("data")).arg("--policy-dir").arg(&policies).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let _ = std::fs::remove_dir_all(dir);
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
    assert!(run().contains("13 new applications"));
    assert!(run().contains("0 new applications"));
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let store = dingdian_store::Store::open(&data.join("dingdian.db").to_string_lossy()).await.unwrap();
        assert_eq!(store.institutions(None).await.unwrap().len(), 13);
        let users = store.users().await.unwrap();
        assert_eq!(users.len(), 43, "12 staff, 18 evaluator-pool and 13 institution accounts");
        let all = dingdian_core::lifecycle::Actor::system("*");
        let apps = store.applications_for(&all, None, 100, jiff::civil::Date::MIN).await.unwrap();
        assert_eq!(apps.len(), 13);
        let states: std::collections::BTreeSet<&str> = apps.iter().map(|a| a.state.as_str()).collect();
        for s in [
            "draft",
            "submitted",
            "awaiting_supplement",
            "public_notice",
            "presign_preparation",
            "signed",
            "rejected",
            "on_site_evaluation",
        ] {
            assert!(states.contains(s), "demo has an application in {s}: {states:?}");
        }
        assert!(apps.iter().any(|a| a.profile_id == "harbin") && apps.iter().any(|a| a.profile_id == "urumqi"));
        store.close().await;
    });
    let _ = std::fs::remove_dir_all(dir);
}

fn tick(data: &std::path::Path, now: &str, crash: bool) -> std::process::Output {
    let mut c = dingdian();
    c.args(["tick", "--data-dir"]).arg(data).args(["--now", now]);
    if crash {
        c.env("DINGDIAN_FAULT_CRASH_AFTER_CLAIM", "1");
    }
    c.output().unwrap()
}

/// G-CLOCKS: a process killed between claiming due timers and committing them leaves nothing
/// half-done; after a restart each timer fires exactly once.
#[test]
fn killed_between_claim_and_commit_fires_once_after_restart() {
    let dir = temp_dir("crash");
    let data = dir.join("data");
    let out = dingdian().args(["demo", "--now", "2026-11-27T02:00:00Z", "--data-dir"]).arg(&data).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let at = "2026-12-21T02:00:00Z";
    let crashed = tick(&data, at, true);
    assert!(!crashed.status.success(), "the fault aborts the process");
    assert!(String::from_utf8_lossy(&crashed.stdout).lines().all(|l| !l.starts_with("fired ") || l.starts_with("fired 0")));

    // Within the dead process's lease nothing fires.
    let held = tick(&data, "2026-12-21T02:00:30Z", false);
    assert!(String::from_utf8_lossy(&held.stdout).contains("fired 0,"), "{}", String::from_utf8_lossy(&held.stdout));

    let restarted = tick(&data, "2026-12-21T02:02:00Z", false);
    let stdout = String::from_utf8_lossy(&restarted.stdout).into_owned();
    assert!(restarted.status.success(), "{stdout}");
    let fired: Vec<&str> = stdout.lines().filter(|l| l.starts_with("fired ") && l.contains(" on application ")).collect();
    assert!(fired.len() >= 2, "the demo's due supplement and notice fire: {stdout}");
    let again = tick(&data, "2026-12-21T03:00:00Z", false);
    assert!(String::from_utf8_lossy(&again.stdout).contains("fired 0,"));

    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let store = dingdian_store::Store::open(&data.join("dingdian.db").to_string_lossy()).await.unwrap();
        let all = dingdian_core::lifecycle::Actor::system("*");
        for app in store.applications_for(&all, None, 100, jiff::civil::Date::MIN).await.unwrap() {
            let events = store.events(app.id).await.unwrap();
            let by_system = events.iter().filter(|e| e.actor_role == "system" && e.from_state != e.to_state).count();
            assert!(by_system <= 2, "application {} fired twice: {:?}", app.id, events.iter().map(|e| &e.kind).collect::<Vec<_>>());
            let fired_now = events.iter().filter(|e| e.occurred_on.to_string() == "2026-12-21").count();
            assert!(fired_now <= 1, "application {}: {fired_now} events fired on restart", app.id);
        }
        store.close().await;
    });
    let _ = std::fs::remove_dir_all(dir);
}

/// G-AUDIT: `dingdian audit verify` passes on demo data and names the first entry that does not
/// match after a single event is changed.
#[test]
fn audit_verify_contract() {
    let dir = temp_dir("audit");
    let data = dir.join("data");
    let out = dingdian().args(["demo", "--now", "2026-11-27T02:00:00Z", "--data-dir"]).arg(&data).output().unwrap();
    assert!(out.status.success());
    let out = dingdian().args(["audit", "verify", "--data-dir"]).arg(&data).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success() && stdout.starts_with("OK ") && stdout.contains(" entries"), "{stdout}");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        use sqlx::Connection;
        let url = format!("sqlite://{}", data.join("dingdian.db").display());
        let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
        sqlx::query("update events set occurred_at = '2026-11-01T00:00:00Z' where audit_seq = 10").execute(&mut c).await.unwrap();
    });
    let out = dingdian().args(["audit", "verify", "--data-dir"]).arg(&data).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.starts_with("MISMATCH at entry 10 "), "{stdout}");
    let _ = std::fs::remove_dir_all(dir);
}

/// `dingdian backup` and `dingdian restore` round-trip: a backup taken, later changes, the
/// restore brings back exactly the backed-up data with a verifying audit chain.
#[test]
fn backup_and_restore_round_trip() {
    let dir = temp_dir("backup");
    let data = dir.join("data");
    let backup = dir.join("backup.tar");
    let out = dingdian().args(["demo", "--now", "2026-11-27T02:00:00Z", "--data-dir"]).arg(&data).output().unwrap();
    assert!(out.status.success());
    let rt = tokio::runtime::Runtime::new().unwrap();
    let fingerprint = |rt: &tokio::runtime::Runtime| {
        rt.block_on(async {
            let store = dingdian_store::Store::open(&data.join("dingdian.db").to_string_lossy()).await.unwrap();
            let f = store.fingerprint().await.unwrap();
            store.close().await;
            f
        })
    };
    let before = fingerprint(&rt);
    let out = dingdian().args(["backup"]).arg(&backup).args(["--data-dir"]).arg(&data).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("backup written"));
    // Writing over an existing backup is refused.
    let again = dingdian().args(["backup"]).arg(&backup).args(["--data-dir"]).arg(&data).output().unwrap();
    assert!(!again.status.success());

    let fired = tick(&data, "2026-12-21T02:00:00Z", false);
    assert!(String::from_utf8_lossy(&fired.stdout).contains("fired "));
    assert_ne!(fingerprint(&rt), before, "the data changed after the backup");

    let out = dingdian().args(["restore"]).arg(&backup).args(["--data-dir"]).arg(&data).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(fingerprint(&rt), before, "restored exactly");
    let out = dingdian().args(["audit", "verify", "--data-dir"]).arg(&data).output().unwrap();
    assert!(out.status.success());

    // A file that is not a backup restores nothing.
    let junk = dir.join("junk.db");
    std::fs::write(&junk, b"not a database").unwrap();
    let out = dingdian().args(["restore"]).arg(&junk).args(["--data-dir"]).arg(&data).output().unwrap();
    assert!(!out.status.success());
    assert_eq!(fingerprint(&rt), before);
    let _ = std::fs::remove_dir_all(dir);
}

/// G-DRAW: `dingdian draw list / export / verify` on demo data, which includes an Urumqi round
/// with a completed draw; a changed record fails verification.
#[test]
fn draw_cli_contract() {
    let dir = temp_dir("draw");
    let data = dir.join("data");
    let out = dingdian().args(["demo", "--now", "2026-11-27T02:00:00Z", "--data-dir"]).arg(&data).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = dingdian().args(["draw", "list", "--data-dir"]).arg(&data).output().unwrap();
    let listing = String::from_utf8_lossy(&out.stdout).into_owned();
    let first: String = listing.lines().next().expect("a drawn round").split('\t').next().unwrap().to_owned();
    assert!(first.parse::<i64>().is_ok(), "{listing}");
    let out = dingdian().args(["draw", "export", &first, "--data-dir"]).arg(&data).output().unwrap();
    assert!(out.status.success());
    let record = dir.join("record.json");
    std::fs::write(&record, &out.stdout).unwrap();
    let out = dingdian().args(["draw", "verify"]).arg(&record).output().unwrap();
    assert_eq!((out.status.code(), String::from_utf8_lossy(&out.stdout).trim()), (Some(0), "OK"));

    let mut json: serde_json::Value = serde_json::from_slice(&std::fs::read(&record).unwrap()).unwrap();
    json["input"]["public_value"] = serde_json::json!("changed");
    std::fs::write(&record, json.to_string()).unwrap();
    let out = dingdian().args(["draw", "verify"]).arg(&record).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("seed"), "{}", String::from_utf8_lossy(&out.stdout));
    let _ = std::fs::remove_dir_all(dir);
}

/// G-DRAW, URC-EVAL-1: `dingdian draw verify FILE` recomputes both stages of a two-stage record
/// (the demo's rounds are grouped): OK as exported; any change to either stage fails with exit 1
/// naming the stage; a one-stage (v1) record still verifies.
#[test]
fn g_draw_verify_two_stages_detects_tampering() {
    let dir = temp_dir("draw2");
    let data = dir.join("data");
    let out = dingdian().args(["demo", "--now", "2026-11-27T02:00:00Z", "--data-dir"]).arg(&data).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = dingdian().args(["draw", "list", "--data-dir"]).arg(&data).output().unwrap();
    let listing = String::from_utf8_lossy(&out.stdout).into_owned();
    let first: String = listing.lines().next().expect("a drawn round").split('\t').next().unwrap().to_owned();
    let out = dingdian().args(["draw", "export", &first, "--data-dir"]).arg(&data).output().unwrap();
    assert!(out.status.success());
    let exported: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(exported["alg"], "dingdian-draw-v2");
    assert!(exported["stage1"]["drawn"].is_array() && exported["stage2"]["seed"].is_string(), "{exported}");
    let record = dir.join("record.json");
    let verify = |json: &serde_json::Value| {
        std::fs::write(&record, json.to_string()).unwrap();
        let out = dingdian().args(["draw", "verify"]).arg(&record).output().unwrap();
        (out.status.code(), String::from_utf8_lossy(&out.stdout).trim().to_owned())
    };
    assert_eq!(verify(&exported), (Some(0), "OK".to_owned()));
    let first_group = exported["groups"].as_object().unwrap().keys().next().unwrap().clone();
    type Change = Box<dyn Fn(&mut serde_json::Value)>;
    let changes: Vec<(&str, Change)> = vec![
        ("stage 1", Box::new(|j| j["input"]["public_value"] = serde_json::json!("changed"))),
        ("stage 1", Box::new(|j| j["stage1"]["drawn"][0] = serde_json::json!("X-999"))),
        ("stage 2", Box::new(|j| j["stage2"]["public_value"] = serde_json::json!("audit:1:00"))),
        ("stage 2", Box::new(move |j| j["groups"][&first_group][0] = serde_json::json!("X-999"))),
    ];
    for (stage, change) in changes {
        let mut j = exported.clone();
        change(&mut j);
        let (code, stdout) = verify(&j);
        assert_eq!(code, Some(1), "{stdout}");
        assert!(stdout.lines().any(|l| l.starts_with(stage)), "{stage}: {stdout}");
    }
    // A one-stage record (dingdian-draw-v1) from the same input still verifies.
    let input: dingdian_core::draw::DrawInput = serde_json::from_value(exported["input"].clone()).unwrap();
    let v1 = dingdian_core::draw::draw(&input).unwrap();
    assert_eq!(verify(&serde_json::to_value(&v1).unwrap()), (Some(0), "OK".to_owned()));
    let _ = std::fs::remove_dir_all(dir);
}

/// Runs `dingdian` and asserts the contract for input it cannot serve: exit 1, a Chinese reason
/// on stderr, and no panic.
#[track_caller]
fn refused_in_chinese(args: &[&str], data: &std::path::Path) -> String {
    let out = dingdian().args(args).arg("--data-dir").arg(data).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "{args:?} panicked: {stderr}");
    assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
    assert!(stderr.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)), "{args:?} must say why in Chinese: {stderr}");
    stderr
}

/// LAW-START / LAW-MONTH at the ends of the calendar: periods that end past 9999-12-31, dates
/// without a loaded year, numbers too large and malformed arguments are refused in Chinese,
/// never with a panic (`calendar due 9999-12-25 10 d` used to abort).
#[test]
fn law_start_calendar_at_the_ends_of_time_refuses_in_chinese() {
    let dir = temp_dir("calendar-edges");
    let data = dir.join("data");
    let out_of_range = refused_in_chinese(&["calendar", "due", "9999-12-25", "10", "d"], &data);
    assert!(out_of_range.contains("超出可计算的日期范围"), "{out_of_range}");
    refused_in_chinese(&["calendar", "due", "0001-01-01", "65535", "y"], &data);
    refused_in_chinese(&["calendar", "due", "9999-12-31", "1", "wd"], &data);
    refused_in_chinese(&["calendar", "due", "9999-10-31", "3", "m"], &data);
    let too_big = refused_in_chinese(&["calendar", "due", "0001-01-01", "99999", "y"], &data);
    assert!(too_big.contains("65535"), "{too_big}");
    refused_in_chinese(&["calendar", "due", "2026-01-05", "99999999999999999999999999", "d"], &data);
    refused_in_chinese(&["calendar", "due", "2026-01-05", "0", "d"], &data);
    refused_in_chinese(&["calendar", "due", "2026-01-05", "5", "fortnights"], &data);
    let missing = refused_in_chinese(&["calendar", "due", "2026-01-05", "65535", "wd"], &data);
    assert!(missing.contains("2027 年节假日安排未载入"), "{missing}");
    let not_loaded = refused_in_chinese(&["calendar", "is-workday", "9999-12-31"], &data);
    assert!(not_loaded.contains("9999"), "{not_loaded}");
    refused_in_chinese(&["calendar", "is-workday", "2026-02-30"], &data);
    let long = format!("2026-01-01{}", "\u{7}长".repeat(20_000));
    let quoted = refused_in_chinese(&["calendar", "is-workday", &long], &data);
    assert!(quoted.len() < 1000, "a long argument is quoted shortened: {} bytes", quoted.len());
    let _ = std::fs::remove_dir_all(dir);
}

/// The demo timeline at the first representable instant, with that year's calendar loaded:
/// it is pinned to 2026 instead of panicking on time arithmetic.
#[test]
fn demo_at_the_first_instant_does_not_panic() {
    let dir = temp_dir("demo-edge");
    let data = dir.join("data");
    let year = dir.join("m9999.toml");
    std::fs::write(&year, "year = -9999\nsource = \"边界测试\"\n").unwrap();
    let out = dingdian().args(["calendar", "load"]).arg(&year).arg("--data-dir").arg(&data).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = dingdian().args(["demo", "--now=-009999-01-02T01:59:59Z", "--data-dir"]).arg(&data).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked") && out.status.success(), "{stderr}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("13 new applications"));
    let _ = std::fs::remove_dir_all(dir);
}

/// Every regular file under `dir`, recursively.
fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() { out.extend(files_under(&p)) } else { out.push(p) }
    }
    out
}

fn backdate(path: &std::path::Path, hours: u64) {
    let file = std::fs::File::options().write(true).open(path).unwrap();
    file.set_modified(std::time::SystemTime::now() - std::time::Duration::from_secs(hours * 3600)).unwrap();
}

// G-NOTHING-LOST: `dingdian files gc` removes stored files no record refers to once they are
// older than the grace period, keeps every file the demo's records refer to (however old) and a
// young unreferenced one, lists what it removed and exits 0; `--dry-run` removes nothing.
#[test]
fn files_gc_contract() {
    let dir = temp_dir("files-gc");
    let data = dir.join("data");
    let out = dingdian().args(["demo", "--data-dir"]).arg(&data).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let blobs = data.join("files").join("blobs");
    let referenced = files_under(&blobs);
    assert!(!referenced.is_empty(), "the demo stores files");
    let orphan = format!("ab{}", "0".repeat(62));
    let young = format!("cd{}", "1".repeat(62));
    for name in [&orphan, &young] {
        std::fs::create_dir_all(blobs.join(&name[..2])).unwrap();
        std::fs::write(blobs.join(&name[..2]).join(name), b"%PDF-1.4\n% nothing refers to this\n").unwrap();
    }
    for path in referenced.iter().chain([&blobs.join("ab").join(&orphan)]) {
        backdate(path, 48);
    }
    backdate(&blobs.join("cd").join(&young), 23);

    let gc = |extra: &[&str]| {
        let out = dingdian().args(["files", "gc", "--data-dir"]).arg(&data).args(extra).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let dry = gc(&["--dry-run"]);
    assert!(dry.contains(&format!("would remove {orphan} (34 bytes)")) && dry.contains("would remove 1 files (34 bytes)"), "{dry}");
    assert!(blobs.join("ab").join(&orphan).exists(), "a dry run removed a file");

    let done = gc(&[]);
    assert!(done.contains(&format!("removed {orphan} (34 bytes)")), "{done}");
    let summary = format!("removed 1 files (34 bytes); kept {} referenced, 1 younger than 24 h", referenced.len());
    assert!(done.contains(&summary), "{done}");
    assert!(!blobs.join("ab").join(&orphan).exists());
    assert!(blobs.join("cd").join(&young).exists());
    assert!(referenced.iter().all(|p| p.exists()), "a file a record refers to was removed");
    // With a grace period of 22 hours the 23-hour-old file goes too.
    assert!(gc(&["--grace", "22"]).contains(&format!("removed {young}")));
    // A grace period under an hour is refused by the command line.
    let out = dingdian().args(["files", "gc", "--grace", "0", "--data-dir"]).arg(&data).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let _ = std::fs::remove_dir_all(dir);
}
