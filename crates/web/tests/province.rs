//! The provincial administrator (issue #17 item 10, G-VISIBILITY): it manages the accounts of
//! every city of its province, sees their profiles in force and statistics, loads calendar
//! years — and is refused everything in a city of another province and every act on an
//! application. Only the operator creates one (`dingdian user add`); a city's administrator
//! never can.

#[macro_use]
mod common;

use axum::http::{Method, StatusCode};
use common::TestApp;
use dingdian_core::lifecycle::Role;
use dingdian_core::policy::Profile;
use dingdian_store::testing::Backend;
use dingdian_store::{By, NewStaff};
use serde_json::json;

/// Qiqihar's districts (GB/T 2260).
const QIQIHAR_DISTRICTS: &[(&str, &str)] = &[
    ("230202", "龙沙区"),
    ("230203", "建华区"),
    ("230204", "铁锋区"),
    ("230205", "昂昂溪区"),
    ("230206", "富拉尔基区"),
    ("230207", "碾子山区"),
    ("230208", "梅里斯达斡尔族区"),
    ("230221", "龙江县"),
    ("230223", "依安县"),
    ("230224", "泰来县"),
    ("230225", "甘南县"),
    ("230227", "富裕县"),
    ("230229", "克山县"),
    ("230230", "克东县"),
    ("230231", "拜泉县"),
    ("230281", "讷河市"),
];

/// A second Heilongjiang city, derived from Harbin's profile the way docs/province.md says:
/// a new id, name and division code, and the city's own districts.
fn qiqihar() -> Profile {
    let harbin = include_str!("../../../policies/harbin.toml");
    let (head, rest) = harbin.split_once("[[districts]]").expect("districts");
    let (_, tail) = rest.split_once("[[contacts]]").expect("contacts follow the districts");
    let districts: String = QIQIHAR_DISTRICTS.iter().map(|(c, n)| format!("[[districts]]\ncode = \"{c}\"\nname = \"{n}\"\n")).collect();
    let text = format!("{head}{districts}\n[[contacts]]{tail}")
        .replacen("id = \"harbin\"", "id = \"qiqihar\"", 1)
        .replacen("name = \"哈尔滨市\"", "name = \"齐齐哈尔市\"", 1)
        .replacen("division = \"230100\"", "division = \"230200\"", 1);
    Profile::parse("qiqihar.toml", &text).unwrap_or_else(|e| panic!("derived profile: {e:?}"))
}

const PROVINCE_PASSWORD: &str = "松花江 冰灯 七盏 省里 渡口";

/// The operator creates a provincial administrator (as `dingdian user add` does) and it signs in.
async fn provincial(t: &TestApp, username: &str, province: &str) -> String {
    let new = NewStaff {
        username,
        display_name: username,
        password: PROVINCE_PASSWORD,
        role: Role::ProvincialAdmin,
        city: "",
        district: None,
        province: Some(province),
    };
    let u = t.store().create_staff(By::OPERATOR, new, t.now()).await.expect("operator creates a provincial admin");
    assert_eq!(u.city, "", "a provincial administrator belongs to no city");
    assert_eq!(u.province, Some(format!("{}0000", &province[..2])));
    t.login_with(username, PROVINCE_PASSWORD).await
}

async fn with_qiqihar(b: Backend) -> TestApp {
    let t = TestApp::new(b).await;
    t.store().register_profile(qiqihar(), t.now()).await.expect("register qiqihar");
    t
}

async fn id_of(t: &TestApp, username: &str) -> i64 {
    t.store().user_by_username(username).await.unwrap().expect("account").id
}

async fn disabled(t: &TestApp, username: &str) -> bool {
    let all = t.store().accounts(None).await.unwrap();
    all.iter().find(|a| a.username == username).expect("account").disabled_at.is_some()
}

fn f(pairs: &[(&'static str, &str)]) -> Vec<(&'static str, String)> {
    pairs.iter().map(|(k, v)| (*k, (*v).to_owned())).collect()
}

/// G-VISIBILITY: the provincial administrator of Heilongjiang lands on its cities, creates the
/// first administrator of one of them, manages that city's accounts — and is refused (403,
/// nothing changed) in Urumqi, a city of Xinjiang.
async fn provincial_admin_manages_its_cities_only(b: Backend) {
    let t = with_qiqihar(b).await;
    let hlj = provincial(&t, "hlj-province", "230000").await;

    // Signing in on the page lands on the province's cities, not on an application list.
    let signin = f(&[("username", "hlj-province"), ("password", PROVINCE_PASSWORD)]);
    let (status, _, location) = t.post_form("/login", "none", &signin).await;
    assert_eq!((status, location.as_deref()), (StatusCode::SEE_OTHER, Some("/admin")));
    let (status, page) = t.get_text("/admin", &hlj).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("全省管理"), "the menu names the page: {page}");
    assert!(page.contains("黑龙江省") && page.contains("哈尔滨市") && page.contains("齐齐哈尔市"), "{page}");
    assert!(!page.contains("乌鲁木齐市"), "another province's city is not listed: {page}");
    assert!(page.contains("/admin?city=qiqihar") && page.contains("/stats?city=qiqihar"), "{page}");
    assert!(!page.contains("provincial_admin") && !page.contains("G-VISIBILITY"), "no internal vocabulary");

    // The first administrator of Qiqihar, created by the province.
    let new_admin = f(&[
        ("city", "qiqihar"),
        ("username", "qqhr-admin"),
        ("display_name", "齐齐哈尔市医保局"),
        ("role", "admin"),
        ("password", "柳树 渡口 七盏 灯笼 齐市"),
    ]);
    let (status, page, _) = t.post_form("/admin/users", &hlj, &new_admin).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("已创建账号") && page.contains("齐齐哈尔市"), "{page}");
    let created = t.store().user_by_username("qqhr-admin").await.unwrap().expect("created");
    assert_eq!((created.role.as_str(), created.city.as_str()), ("admin", "qiqihar"));
    let qqhr = t.login_with("qqhr-admin", "柳树 渡口 七盏 灯笼 齐市").await;
    let (status, page) = t.get_text("/admin", &qqhr).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("齐齐哈尔市"), "{page}");

    // Harbin's screens, and one of its accounts managed.
    let (status, page) = t.get_text("/admin?city=harbin", &hlj).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("hrb-agency") && !page.contains("urc-agency"), "{page}");
    let agency = id_of(&t, "hrb-agency").await;
    let (status, page, _) = t.post_form(&format!("/admin/users/{agency}"), &hlj, &f(&[("city", "harbin"), ("action", "disable")])).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(disabled(&t, "hrb-agency").await);

    // Urumqi is Xinjiang's: every door is shut and nothing changes.
    let before = t.store().fingerprint().await.unwrap();
    assert_eq!(t.get_text("/admin?city=urumqi", &hlj).await.0, StatusCode::FORBIDDEN);
    let mut in_urumqi = new_admin.clone();
    in_urumqi[0].1 = "urumqi".into();
    in_urumqi[1].1 = "urc-admin-2".into();
    let (status, page, _) = t.post_form("/admin/users", &hlj, &in_urumqi).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{page}");
    assert!(t.store().user_by_username("urc-admin-2").await.unwrap().is_none());
    let urc_agency = id_of(&t, "urc-agency").await;
    for action in ["disable", "revoke_sessions"] {
        // Whatever city the form claims, the account's own city decides.
        for city in ["harbin", "urumqi", ""] {
            let form = f(&[("city", city), ("action", action)]);
            let (status, _, _) = t.post_form(&format!("/admin/users/{urc_agency}"), &hlj, &form).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{action} from {city:?}");
        }
    }
    let reset = f(&[("city", "harbin"), ("action", "reset_password"), ("temporary_password", "临时 口令 换掉 它吧")]);
    assert_eq!(t.post_form(&format!("/admin/users/{urc_agency}"), &hlj, &reset).await.0, StatusCode::FORBIDDEN);
    assert_eq!(t.store().fingerprint().await.unwrap(), before, "refusals change nothing");
    assert!(!disabled(&t, "urc-agency").await);

    // And Xinjiang's provincial administrator is refused in Harbin.
    let xj = provincial(&t, "xj-province", "65").await;
    assert_eq!(t.get_text("/admin?city=harbin", &xj).await.0, StatusCode::FORBIDDEN);
    let (status, page) = t.get_text("/admin", &xj).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("乌鲁木齐市") && !page.contains("哈尔滨市"), "{page}");
}
both!(provincial_admin_manages_its_cities_only);

/// G-VISIBILITY: a provincial administrator handles no application — no command through the
/// API or the page, no workbench — and the application stays as it was.
async fn provincial_admin_is_refused_every_application_command(b: Backend) {
    let t = TestApp::new(b).await;
    let hosp = t.login("hrb-hospital").await;
    let id = t.submitted(&hosp).await;
    let hlj = provincial(&t, "hlj-province", "230000").await;
    let before = t.store().fingerprint().await.unwrap();
    for command in [
        json!({ "command": "accept" }),
        json!({ "command": "reject", "reasons": ["x"] }),
        json!({ "command": "issue_supplement_notice", "items": [{ "material": "licence", "reason": "x" }] }),
        json!({ "command": "withdraw" }),
        json!({ "command": "sign" }),
    ] {
        let (status, body) = t.try_cmd(&hlj, id, command.clone()).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{command}: {body}");
    }
    let (status, _, _) =
        t.post_form(&format!("/applications/{id}/act"), &hlj, &f(&[("command", "accept"), ("expected_version", "2")])).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    for path in ["/workbench", "/rounds", "/api/evaluators"] {
        let (status, _) = t.get_text(path, &hlj).await;
        assert_ne!(status, StatusCode::OK, "{path}");
    }
    let (status, _) = t.call(Method::POST, "/api/rounds", Some(&hlj), Some(json!({ "name": "x" }))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(t.store().fingerprint().await.unwrap(), before);
    assert_eq!(t.state_of(id).await, "submitted");
}
both!(provincial_admin_is_refused_every_application_command);

/// G-VISIBILITY: the provincial overview counts each of its cities and the province's total,
/// never another province's applications; a city's statistics page opens for a city of the
/// province only.
async fn provincial_admin_sees_statistics_across_its_cities(b: Backend) {
    let t = with_qiqihar(b).await;
    let hosp = t.login("hrb-hospital").await;
    t.submitted(&hosp).await;
    let urc = t.login("urc-clinic").await;
    t.submitted(&urc).await;
    let hlj = provincial(&t, "hlj-province", "230000").await;

    let (status, page) = t.get_text("/admin", &hlj).await;
    assert_eq!(status, StatusCode::OK);
    let row = |name: &str| page.split("<tr>").find(|r| r.contains(name)).unwrap_or_default().to_owned();
    let harbin = row("<td>哈尔滨市</td>");
    assert!(harbin.contains("<td>1</td><td>1</td><td>0</td>"), "one open Harbin application: {harbin}");
    let qiqihar = row("<td>齐齐哈尔市</td>");
    assert!(qiqihar.contains("<td>0</td><td>0</td><td>0</td>"), "{qiqihar}");
    let total = row("全省合计");
    assert!(total.contains("<td>1</td><td>1</td><td>0</td>"), "Urumqi's application is not Heilongjiang's: {total}");

    let (status, page) = t.get_text("/stats?city=harbin", &hlj).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("哈尔滨市") && page.contains("共 1 件"), "{page}");
    assert!(page.contains("name=\"city\" value=\"harbin\""), "filters keep the city: {page}");
    assert_eq!(t.get_text("/stats?city=urumqi", &hlj).await.0, StatusCode::FORBIDDEN);
    let (status, _) = t.get_text("/stats", &hlj).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "the province's statistics are on its overview");
    // A city's administrator cannot borrow the parameter.
    let urc_admin = t.login("urc-admin").await;
    let (status, page) = t.get_text("/stats?city=harbin", &urc_admin).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("乌鲁木齐市") && !page.contains("哈尔滨市"), "{page}");
}
both!(provincial_admin_sees_statistics_across_its_cities);

/// Only the operator creates a provincial administrator: a city's administrator cannot, on the
/// page or by a hand-made form, nor manage one; nor can a provincial administrator raise
/// another. The role is not even offered.
async fn city_admin_cannot_create_a_provincial_admin(b: Backend) {
    let t = TestApp::new(b).await;
    let admin = t.login("hrb-admin").await;
    let (_, page) = t.get_text("/admin", &admin).await;
    assert!(!page.contains("省级管理员"), "not offered: {page}");
    let before = t.store().fingerprint().await.unwrap();
    let form = f(&[("username", "sneaky"), ("display_name", "x"), ("role", "provincial_admin"), ("password", "柳树 渡口 七盏 灯笼 齐市")]);
    let (status, page, _) = t.post_form("/admin/users", &admin, &form).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
    assert!(page.contains("只能由系统运维人员"), "{page}");
    assert_eq!(t.store().fingerprint().await.unwrap(), before);
    assert!(t.store().user_by_username("sneaky").await.unwrap().is_none());

    let hlj = provincial(&t, "hlj-province", "230000").await;
    let (status, _, _) = t.post_form("/admin/users", &hlj, &[f(&[("city", "harbin")]), form.clone()].concat()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(t.store().user_by_username("sneaky").await.unwrap().is_none());

    // The provincial administrator's own account is the operator's to manage.
    let id = id_of(&t, "hlj-province").await;
    let (status, _, _) = t.post_form(&format!("/admin/users/{id}"), &admin, &f(&[("action", "disable")])).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, _) = t.post_form(&format!("/admin/users/{id}"), &admin, &f(&[("action", "placement"), ("role", "admin")])).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Nor can a city's administrator turn an account of its city into one.
    let agency = id_of(&t, "hrb-agency").await;
    let (status, _, _) =
        t.post_form(&format!("/admin/users/{agency}"), &admin, &f(&[("action", "placement"), ("role", "provincial_admin")])).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(t.store().user(agency).await.unwrap().unwrap().role, "agency");
    // Nor can a provincial administrator change a city's account's role to its own.
    let (status, _, _) = t
        .post_form(
            &format!("/admin/users/{agency}"),
            &hlj,
            &f(&[("city", "harbin"), ("action", "placement"), ("role", "provincial_admin")]),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(t.store().user(agency).await.unwrap().unwrap().role, "agency");
}
both!(city_admin_cannot_create_a_provincial_admin);

const Y2027: &str = r#"
year = 2027
source = "测试用 2027 年安排"

[[holidays]]
name = "元旦"
from = "2027-01-01"
to = "2027-01-03"
"#;

/// LAW-WD: a provincial administrator loads a calendar year, on the API and on its overview.
async fn provincial_admin_loads_calendar_years(b: Backend) {
    let t = TestApp::new(b).await;
    let hlj = provincial(&t, "hlj-province", "230000").await;
    let (status, body) = t.call(Method::POST, "/api/calendar/years", Some(&hlj), Some(json!({ "name": "2027.toml", "toml": Y2027 }))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, page, _) = t.post_form("/admin/calendar", &hlj, &f(&[("name", "2027.toml"), ("toml", Y2027)])).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("已载入 2027 年节假日安排") && page.contains("全省管理"), "{page}");
}
both!(provincial_admin_loads_calendar_years);

async fn overview(t: &TestApp, token: &str) -> String {
    let (status, body) = t.call(Method::GET, "/admin", Some(token), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body.as_str().unwrap().to_owned()
}

/// LAW-WD: the provincial administrator's overview warns from 1 November while next year's
/// holidays are missing (they are the same for every city).
async fn provincial_overview_warns_of_a_missing_year(b: Backend) {
    let t = TestApp::new(b).await; // 2026-03-02
    let hlj = provincial(&t, "hlj-province", "230000").await;
    assert!(!overview(&t, &hlj).await.contains("尚未载入 2027 年"));
    t.advance_days(244); // 2026-11-01
    // Signed in again: sessions end long before eight months.
    let hlj = t.login_with("hlj-province", PROVINCE_PASSWORD).await;
    let html = overview(&t, &hlj).await;
    assert!(html.contains("尚未载入 2027 年的节假日安排") && html.contains("calendar-warning"), "{html}");
    let (status, _, _) = t.post_form("/admin/calendar", &hlj, &[("name", "2027.toml".to_owned()), ("toml", Y2027.to_owned())]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!overview(&t, &hlj).await.contains("尚未载入 2027 年"));
}
both!(provincial_overview_warns_of_a_missing_year);

/// Issue #16 item 8: the provincial administrator uses the holiday form too (the same core
/// decision as the file); its preview lists its province's applications, another province's
/// only counted; junk in the form is refused in Chinese and loads nothing.
async fn provincial_admin_enters_holidays_by_form(b: Backend) {
    let t = TestApp::new(b).await; // 2026-03-02
    t.advance_days(301); // 2026-12-28: five working days reach into 2027
    let hrb = t.submitted(&t.login("hrb-hospital").await).await;
    let number = t.store().application(hrb).await.unwrap().unwrap().number;
    let hlj = provincial(&t, "hlj-province", "230000").await;
    let xj = provincial(&t, "xj-province", "650000").await;
    let form = |step: &str| {
        vec![
            ("step", step.to_owned()),
            ("year", "2027".to_owned()),
            ("source", "国务院办公厅关于2027年部分节假日安排的通知".to_owned()),
            ("name_0", "元旦".to_owned()),
            ("from_0", "2027-01-01".to_owned()),
            ("to_0", "2027-01-03".to_owned()),
        ]
    };
    let (status, html) = t.get_text("/admin/holidays", &hlj).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    let (status, html, _) = t.post_form("/admin/holidays", &hlj, &form("preview")).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains(&number) && html.contains("无法确定"), "{html}");
    let (status, html, _) = t.post_form("/admin/holidays", &xj, &form("preview")).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(!html.contains(&number) && html.contains("另有其他城市的 1 件申请"), "{html}");

    let junk = [
        ("step", "confirm".to_owned()),
        ("year", "9999999999".to_owned()),
        ("source", "\u{0}".to_owned()),
        ("name_0", "%_'\"<b>".to_owned()),
        ("from_0", "x".repeat(10_000)),
        ("to_0", "2027-13-40".to_owned()),
        ("work_0", "，，;;".to_owned()),
        ("name_99", "ignored".to_owned()),
    ];
    let (status, html, _) = t.post_form("/admin/holidays", &hlj, &junk).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
    assert!(html.contains("年份") && html.contains("不是有效日期") && !html.contains("<b>"), "{html}");
    let errors = &html[html.find("role=\"alert\"").unwrap()..];
    let errors = &errors[..errors.find("</div>").unwrap()];
    assert!(!errors.contains(&"x".repeat(21)), "long junk is not echoed whole in the message: {errors}");
    assert!(!t.store().calendar().has_year(2027));

    let (status, html, _) = t.post_form("/admin/holidays", &hlj, &form("confirm")).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("已载入 2027 年节假日安排") && t.store().calendar().has_year(2027), "{html}");
}
both!(provincial_admin_enters_holidays_by_form);
