//! Accounts a real agency can run, against the real binary (issue: accounts and hardening): a
//! fresh installation without demo data creates its first administrator from the shell and
//! signs in with it; weak passwords, unknown cities, districts outside the city and duplicate
//! names (ignoring case) are refused; `passwd`, `disable`, `enable` and `list` keep their
//! contracts; and a form field that used to overflow the stack cannot stop the server.

mod support;

use std::io::Write;
use std::process::{Output, Stdio};

use support::{dingdian, http, start, start_with};

fn temp_dir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("dingdian-accounts-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// `dingdian user …ARGS --data-dir DATA` with `stdin` on standard input.
fn user(data: &std::path::Path, args: &[&str], stdin: &str) -> Output {
    let mut child = dingdian()
        .arg("user")
        .args(args)
        .arg("--data-dir")
        .arg(data)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

const STRONG: &str = "松花江 冰灯 七点 开门";

fn sign_in(port: u16, username: &str, password: &str) -> (u16, String) {
    let body = serde_json::json!({ "username": username, "password": password }).to_string();
    http(port, "POST", "/api/session", None, Some(&body)).expect("the server answers")
}

#[test]
fn first_admin_on_a_fresh_installation_and_the_user_commands() {
    let data = temp_dir("fresh");
    let add = |args: &[&str], pw: &str| user(&data, &[&["add"], args, &["--password-stdin"]].concat(), &format!("{pw}\n"));

    let ok = add(&["admin", "--role", "admin", "--city", "harbin", "--display-name", "系统管理员"], STRONG);
    assert!(ok.status.success(), "{}", text(&ok));
    let printed = String::from_utf8_lossy(&ok.stdout);
    assert!(printed.contains("admin\tadmin\tharbin"), "prints the user: {printed}");

    // Refusals: exit 1, a Chinese message with a stable code, nothing created.
    for (args, pw, code, why) in [
        (&["weak", "--role", "agency", "--city", "harbin"][..], "12345678", "invalid_input", "密码至少 10 个字符"),
        (&["weak2", "--role", "agency", "--city", "harbin"][..], "          ", "invalid_input", "不能只有空格"),
        (&["weak3", "--role", "agency", "--city", "harbin"][..], "weak3weak3weak3", "invalid_input", "不能是用户名"),
        (&["nowhere", "--role", "agency", "--city", "atlantis"][..], STRONG, "invalid_input", "没有城市"),
        (
            &["branch", "--role", "branch_reviewer", "--city", "harbin", "--district", "650102"][..],
            STRONG,
            "invalid_input",
            "不属于哈尔滨市",
        ),
        (&["ADMIN", "--role", "agency", "--city", "harbin"][..], STRONG, "invalid_input", "已被使用"),
    ] {
        let out = add(args, pw);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", text(&out));
        let t = text(&out);
        assert!(t.contains(code) && t.contains(why), "{args:?}: {t}");
    }
    let list = user(&data, &["list"], "");
    let listed = String::from_utf8_lossy(&list.stdout).to_string();
    assert_eq!(listed.lines().count(), 1, "only the administrator exists: {listed}");
    assert!(listed.starts_with("admin\tadmin\tharbin\t-\tactive"), "{listed}");

    // The administrator signs in to the running service.
    let (mut server, port) = start(&data);
    let (status, body) = sign_in(port, "admin", STRONG);
    assert_eq!(status, 201, "{body}");
    let token = serde_json::from_str::<serde_json::Value>(&body).unwrap()["token"].as_str().unwrap().to_owned();
    let (status, _) = http(port, "GET", "/api/me", Some(&token), None).unwrap();
    assert_eq!(status, 200);

    // Disabled from the shell: the session stops working at once, and sign-in is refused.
    let out = user(&data, &["disable", "admin"], "");
    assert!(out.status.success(), "{}", text(&out));
    let (status, _) = http(port, "GET", "/api/me", Some(&token), None).unwrap();
    assert_eq!(status, 401, "a disabled account's session ends at once");
    assert_eq!(sign_in(port, "admin", STRONG).0, 401);
    assert!(String::from_utf8_lossy(&user(&data, &["list", "--city", "harbin"], "").stdout).contains("disabled"));

    // Recovered: enabled, and a new password set from the shell.
    assert!(user(&data, &["enable", "admin"], "").status.success());
    let new_pw = "哈尔滨 中央大街 石头路";
    let out = user(&data, &["passwd", "admin", "--password-stdin"], &format!("{new_pw}\n"));
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(sign_in(port, "admin", STRONG).0, 401);
    assert_eq!(sign_in(port, "Admin", new_pw).0, 201, "usernames ignore case");
    assert_eq!(user(&data, &["passwd", "nobody", "--password-stdin"], &format!("{new_pw}\n")).status.code(), Some(1));
    assert_eq!(user(&data, &["list", "--city", "urumqi"], "").stdout.len(), 0);

    // The audit chain holds every account event and still verifies.
    let audit = dingdian().args(["audit", "verify", "--data-dir"]).arg(&data).output().unwrap();
    assert!(audit.status.success(), "{}", text(&audit));
    server.kill().unwrap();
    server.wait().unwrap();
}

/// A form field name of 5,000 dots used to overflow the stack and abort the process; the form
/// is refused with a Chinese page and the server keeps answering.
#[test]
fn deep_form_field_does_not_stop_the_server() {
    let data = temp_dir("deep");
    let ok = user(&data, &["add", "admin", "--role", "admin", "--city", "harbin", "--password-stdin"], &format!("{STRONG}\n"));
    assert!(ok.status.success(), "{}", text(&ok));
    let (mut server, port) = start(&data);
    let (_, body) = sign_in(port, "admin", STRONG);
    let token = serde_json::from_str::<serde_json::Value>(&body).unwrap()["token"].as_str().unwrap().to_owned();
    let field = format!("a{}=1", ".a".repeat(5000));
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let req = format!(
        "POST /applications/1/act HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nOrigin: http://127.0.0.1:{port}\r\nCookie: dd_session={token}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{field}",
        field.len()
    );
    s.write_all(req.as_bytes()).unwrap();
    let mut resp = String::new();
    std::io::Read::read_to_string(&mut s, &mut resp).unwrap();
    let status: u16 = resp.split(' ').nth(1).and_then(|c| c.parse().ok()).expect("an HTTP answer");
    assert!((400..500).contains(&status), "refused as bad input: {resp}");
    let (status, _) = http(port, "GET", "/healthz", None, None).expect("the server is still running");
    assert_eq!(status, 200);
    assert!(server.try_wait().unwrap().is_none(), "the process is alive");
    server.kill().unwrap();
    server.wait().unwrap();
}

/// Harbin's profile turned into Qiqihar's (docs/province.md): a new id, name, division code and
/// the city's own districts (the loader refuses a district outside the division).
fn qiqihar_profile() -> String {
    let harbin = std::fs::read_to_string("policies/harbin.toml").unwrap();
    let (head, rest) = harbin.split_once("[[districts]]").unwrap();
    let (_, tail) = rest.split_once("[[contacts]]").unwrap();
    let districts: String = [("230202", "龙沙区"), ("230203", "建华区"), ("230204", "铁锋区"), ("230281", "讷河市")]
        .iter()
        .map(|(c, n)| format!("[[districts]]\ncode = \"{c}\"\nname = \"{n}\"\n"))
        .collect();
    format!("{head}{districts}\n[[contacts]]{tail}")
        .replacen("id = \"harbin\"", "id = \"qiqihar\"", 1)
        .replacen("name = \"哈尔滨市\"", "name = \"齐齐哈尔市\"", 1)
        .replacen("division = \"230100\"", "division = \"230200\"", 1)
}

/// Issue #17 item 10, from the shell: a city is onboarded by dropping its profile into the
/// policy directory and creating its first administrator; the provincial administrator is
/// created with `--role provincial_admin --province`, signs in and sees both cities of its
/// province. Bad provinces and mixed placements are refused; a directory whose files claim one
/// city twice, or are not named after their city, stops the command with the file named.
#[test]
fn provincial_admin_and_a_city_onboarded_from_the_shell() {
    let dir = temp_dir("province");
    let (data, policies) = (dir.join("data"), dir.join("policies"));
    std::fs::create_dir_all(&policies).unwrap();
    for city in ["harbin", "urumqi"] {
        std::fs::copy(format!("policies/{city}.toml"), policies.join(format!("{city}.toml"))).unwrap();
    }
    std::fs::write(policies.join("qiqihar.toml"), qiqihar_profile()).unwrap();
    let pd = policies.to_str().unwrap();
    let add =
        |args: &[&str], pw: &str| user(&data, &[&["add"], args, &["--policy-dir", pd, "--password-stdin"]].concat(), &format!("{pw}\n"));

    let ok = add(&["hlj", "--role", "provincial_admin", "--province", "230000", "--display-name", "黑龙江省医保局"], STRONG);
    assert!(ok.status.success(), "{}", text(&ok));
    assert!(String::from_utf8_lossy(&ok.stdout).contains("hlj\tprovincial_admin\t230000"), "{}", text(&ok));
    let ok = add(&["qqhr-admin", "--role", "admin", "--city", "qiqihar"], STRONG);
    assert!(ok.status.success(), "the dropped-in city takes its first administrator: {}", text(&ok));

    for (args, why) in [
        (&["p2", "--role", "provincial_admin", "--province", "990000"][..], "不是省级行政区划代码"),
        (&["p3", "--role", "provincial_admin", "--province", "230100"][..], "不是省级行政区划代码"),
        (&["p4", "--role", "provincial_admin", "--province", "230000", "--city", "harbin"][..], "不指定城市"),
        (&["p5", "--role", "admin", "--city", "harbin", "--province", "230000"][..], "只有省级管理员"),
    ] {
        let out = add(args, STRONG);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", text(&out));
        assert!(text(&out).contains(why), "{args:?}: {}", text(&out));
    }
    let out = add(&["p6", "--role", "provincial_admin"], STRONG);
    assert_eq!(out.status.code(), Some(2), "neither --city nor --province: {}", text(&out));
    let listed = String::from_utf8_lossy(&user(&data, &["list", "--policy-dir", pd], "").stdout).to_string();
    assert_eq!(listed.lines().count(), 2, "{listed}");
    assert!(listed.contains("hlj\tprovincial_admin\t230000\t-\tactive"), "{listed}");

    let (mut server, port) = start_with(&data, &["--policy-dir", pd]);
    let (status, body) = sign_in(port, "hlj", STRONG);
    assert_eq!(status, 201, "{body}");
    let token = serde_json::from_str::<serde_json::Value>(&body).unwrap()["token"].as_str().unwrap().to_owned();
    let (status, page) = http(port, "GET", "/admin", Some(&token), None).unwrap();
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("哈尔滨市") && page.contains("齐齐哈尔市") && !page.contains("乌鲁木齐市"), "{page}");
    assert_eq!(http(port, "GET", "/admin?city=urumqi", Some(&token), None).unwrap().0, 403);
    server.kill().unwrap();
    server.wait().unwrap();

    // `dingdian check` names accounts left without their city's profile.
    let check = || dingdian().args(["check", "--data-dir"]).arg(&data).args(["--policy-dir", pd]).output().unwrap();
    let out = check();
    assert!(out.status.success(), "{}", text(&out));
    std::fs::rename(policies.join("qiqihar.toml"), dir.join("qiqihar.away")).unwrap();
    let out = check();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("account qqhr-admin") && text(&out).contains("qiqihar.toml"), "{}", text(&out));
    std::fs::rename(dir.join("qiqihar.away"), policies.join("qiqihar.toml")).unwrap();

    // One city, one file named after it.
    std::fs::write(policies.join("daqing.toml"), qiqihar_profile().replacen("id = \"qiqihar\"", "id = \"daqing\"", 1)).unwrap();
    let out = user(&data, &["list", "--policy-dir", pd], "");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("daqing.toml") && text(&out).contains("230200"), "{}", text(&out));
    std::fs::remove_file(policies.join("daqing.toml")).unwrap();
    std::fs::write(policies.join("mudanjiang.toml"), qiqihar_profile()).unwrap();
    let out = user(&data, &["list", "--policy-dir", pd], "");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("mudanjiang.toml") && text(&out).contains("qiqihar.toml"), "{}", text(&out));
    let checked =
        dingdian().args(["policy", "check"]).arg(policies.join("qiqihar.toml")).arg(policies.join("mudanjiang.toml")).output().unwrap();
    assert_eq!(checked.status.code(), Some(1), "{}", text(&checked));
    assert!(text(&checked).contains("claimed by"), "{}", text(&checked));
    let _ = std::fs::remove_dir_all(dir);
}
