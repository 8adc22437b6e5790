//! Accounts a real agency can run, against the real binary (issue: accounts and hardening): a
//! fresh installation without demo data creates its first administrator from the shell and
//! signs in with it; weak passwords, unknown cities, districts outside the city and duplicate
//! names (ignoring case) are refused; `passwd`, `disable`, `enable` and `list` keep their
//! contracts; and a form field that used to overflow the stack cannot stop the server.

mod support;

use std::io::Write;
use std::process::{Output, Stdio};

use support::{dingdian, http, start};

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
