//! Administrator screens: accounts and roles, profiles, calendar years; the evaluator's tasks.

mod common;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use common::{TestApp, percent};
use dingdian_store::testing::Backend;

async fn post_form(t: &TestApp, path: &str, token: &str, fields: &[(&str, &str)]) -> (StatusCode, String) {
    let fields: Vec<(&str, String)> = fields.iter().map(|(k, v)| (*k, (*v).to_owned())).collect();
    let (status, body, _) = t.post_form(path, token, &fields).await;
    (status, body)
}

/// Accounts are created in the administrator's city with the role's required scope; a taken
/// user name and a branch account without its district are refused in plain Chinese.
async fn admin_creates_accounts(b: Backend) {
    let t = TestApp::new(b).await;
    let admin = t.login("hrb-admin").await;
    let (status, page) = t.call(Method::GET, "/admin", Some(&admin), None).await;
    assert_eq!(status, StatusCode::OK);
    let page = page.as_str().unwrap().to_owned();
    assert!(page.contains("hrb-agency") && !page.contains("urc-agency"), "only the city's accounts");
    assert!(page.contains("哈尔滨市") && page.contains("2026.5"), "the profile in force");
    // Issue #16 item 10: the profile's steps by their Chinese names, not the code's.
    assert!(page.contains("材料补正（一次性告知）") && page.contains("签约前准备"), "{page}");
    assert!(!page.contains("CompletenessCheck") && !page.contains("PresignPreparation"), "{page}");

    let new = [("username", "hrb-agency-2"), ("display_name", "经办员乙"), ("role", "agency"), ("password", "雪乡 林海 松果 三号")];
    let (status, page) = post_form(&t, "/admin/users", &admin, &new).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("已创建账号"));
    let token = t.login_with("hrb-agency-2", "雪乡 林海 松果 三号").await;
    let (_, me) = t.call(Method::GET, "/api/me", Some(&token), None).await;
    assert_eq!((me["role"].as_str(), me["city"].as_str()), (Some("agency"), Some("harbin")), "{me}");

    let (status, page) = post_form(&t, "/admin/users", &admin, &new).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("已被使用"));
    let branch = [("username", "b1"), ("display_name", "分中心"), ("role", "branch_reviewer"), ("password", "雪乡 林海 松果 三号")];
    let (status, page) = post_form(&t, "/admin/users", &admin, &branch).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("所属区县"), "{page}");
    let weak = [("username", "weak"), ("display_name", "甲"), ("role", "expert"), ("password", "short")];
    let (status, page) = post_form(&t, "/admin/users", &admin, &weak).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("密码至少 10 个字符"), "{page}");

    // Nobody else reaches these screens.
    let agency = t.login("hrb-agency").await;
    assert_eq!(t.call(Method::GET, "/admin", Some(&agency), None).await.0, StatusCode::FORBIDDEN);
}
both!(admin_creates_accounts);

/// LAW-WD data without a release: a bad calendar text is refused with its line; a good one is
/// listed afterwards.
async fn admin_loads_a_calendar_year(b: Backend) {
    let t = TestApp::new(b).await;
    let admin = t.login("hrb-admin").await;
    let (status, page) = post_form(&t, "/admin/calendar", &admin, &[("name", "2027.toml"), ("toml", "year = \"x\"")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("2027.toml:1"), "{page}");
    let year =
        "year = 2027\nsource = \"测试用 2027 年安排\"\n\n[[holidays]]\nname = \"元旦\"\nfrom = \"2027-01-01\"\nto = \"2027-01-03\"\n";
    let (status, page) = post_form(&t, "/admin/calendar", &admin, &[("name", "2027.toml"), ("toml", year)]).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("已载入 2027 年"));
    assert!(t.store().calendar().has_year(2027));
}
both!(admin_loads_a_calendar_year);

/// An institution in the registry opens its own account, proving itself with its legal
/// representative's resident ID number on record; once only; unknown codes and wrong IDs are
/// refused in plain Chinese and change nothing.
async fn institution_registers_its_account(b: Backend) {
    use dingdian_core::ids::{ResidentId, Uscc};
    let t = TestApp::new(b).await;
    let now = t.now();
    let uscc = Uscc::with_check("52230104MJ1234567").expect("code");
    let inst = dingdian_store::NewInstitution {
        uscc: &uscc,
        name: "哈尔滨市道里区新阳诊所",
        kind: dingdian_core::policy::InstitutionKind::Medical,
        category: "诊所",
        city: "harbin",
        district: "230102",
        national_code: None,
        address: "哈尔滨市道里区新阳路 9 号",
        beds: 0,
    };
    let id = t.store().ensure_institution(inst, now).await.unwrap();
    let rid = ResidentId::parse("11010519491231002X").expect("a valid id");
    t.store().add_person(id, &rid, "王五", "legal_representative", now).await.unwrap();
    let form = |uscc: &str, rid: &str, user: &str| {
        vec![
            ("uscc", uscc.to_owned()),
            ("legal_rep_id", rid.to_owned()),
            ("username", user.to_owned()),
            ("display_name", "医保办".to_owned()),
            ("password", "雪乡 林海 松果 三号".to_owned()),
            ("password2", "雪乡 林海 松果 三号".to_owned()),
        ]
    };
    let router = t.router.clone();
    let post = |fields: Vec<(&'static str, String)>| {
        let router = router.clone();
        async move {
            let body = fields.iter().map(|(k, v)| format!("{}={}", percent(k), percent(v))).collect::<Vec<_>>().join("&");
            let mut req = Request::builder()
                .method(Method::POST)
                .uri("/register")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(body))
                .unwrap();
            req.extensions_mut().insert(axum::extract::ConnectInfo("192.0.2.50:4000".parse::<std::net::SocketAddr>().unwrap()));
            let resp = tower::ServiceExt::oneshot(router, req).await.unwrap();
            let status = resp.status();
            let cookie = resp.headers().get(header::SET_COOKIE).map(|v| v.to_str().unwrap().to_owned());
            let body = http_body_util::BodyExt::collect(resp.into_body()).await.unwrap().to_bytes();
            (status, cookie, String::from_utf8_lossy(&body).into_owned())
        }
    };
    let users_before = t.store().users().await.unwrap().len();
    let (status, _, page) = post(form("91230104MA0000001X", "11010519491231002X", "xinyang")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("统一社会信用代码") || page.contains("校验"), "{page}");
    let (status, _, page) = post(form(uscc.as_str(), "110105194912310029", "xinyang")).await;
    assert!(status.is_client_error(), "{status}");
    assert!(page.contains("身份证"), "{page}");
    assert_eq!(t.store().users().await.unwrap().len(), users_before, "nothing created");

    let (status, cookie, _) = post(form(uscc.as_str(), "11010519491231002X", "xinyang")).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(cookie.is_some_and(|c| c.starts_with("dd_session=")));
    let token = t.login_with("xinyang", "雪乡 林海 松果 三号").await;
    let (_, me) = t.call(Method::GET, "/api/me", Some(&token), None).await;
    assert_eq!((me["role"].as_str(), me["institution_id"].as_i64()), (Some("institution"), Some(id)), "{me}");
    let (status, _, page) = post(form(uscc.as_str(), "11010519491231002X", "xinyang2")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("已注册账号"));
}
both!(institution_registers_its_account);

async fn admin_page(t: &TestApp, token: &str) -> String {
    let (status, body) = t.call(Method::GET, "/admin", Some(token), None).await;
    assert_eq!(status, StatusCode::OK);
    body.as_str().unwrap().to_owned()
}

/// LAW-WD: from 1 November (China date) the administrator's page warns while next year's
/// holidays are missing, and stops once the year is loaded; other staff never see it.
async fn warns_from_november_when_next_year_is_missing(b: Backend) {
    let t = TestApp::new(b).await; // 2026-03-02
    let admin = t.login("hrb-admin").await;
    t.advance_days(243); // 2026-10-31
    assert!(!admin_page(&t, &admin).await.contains("尚未载入 2027 年的节假日安排"), "not before November");
    t.advance_days(1); // 2026-11-01
    let html = admin_page(&t, &admin).await;
    assert!(html.contains("尚未载入 2027 年的节假日安排") && html.contains("calendar-warning"), "{html}");
    assert!(!html.contains("LAW-WD"), "no internal vocabulary");
    let html = admin_page(&t, &t.login("urc-admin").await).await;
    assert!(html.contains("尚未载入 2027 年的节假日安排"), "every city's administrator: {html}");

    let year =
        "year = 2027\nsource = \"测试用 2027 年安排\"\n\n[[holidays]]\nname = \"元旦\"\nfrom = \"2027-01-01\"\nto = \"2027-01-03\"\n";
    let (status, html) = post_form(&t, "/admin/calendar", &admin, &[("name", "2027.toml"), ("toml", year)]).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(!html.contains("尚未载入 2027 年"), "{html}");
    assert!(!admin_page(&t, &admin).await.contains("尚未载入 2027 年"));
}
both!(warns_from_november_when_next_year_is_missing);

fn holiday_form(step: &str, rows: &[(&str, &str, &str, &str)]) -> Vec<(&'static str, String)> {
    const KEYS: [[&str; 4]; 3] =
        [["name_0", "from_0", "to_0", "work_0"], ["name_1", "from_1", "to_1", "work_1"], ["name_2", "from_2", "to_2", "work_2"]];
    let mut f =
        vec![("step", step.to_owned()), ("year", "2027".to_owned()), ("source", "国务院办公厅关于2027年部分节假日安排的通知".to_owned())];
    for ((name, from, to, work), keys) in rows.iter().zip(KEYS) {
        for (k, v) in keys.into_iter().zip([name, from, to, work]) {
            f.push((k, (*v).to_owned()));
        }
    }
    f
}

/// LAW-WD, issue #16 item 8: an administrator enters next year's holidays in a form, previews
/// the open deadlines that move (its own city's, the others only counted), then confirms; the
/// year loads as a pasted file does. Bad rows are refused in Chinese and load nothing; other
/// staff cannot reach the form.
async fn admin_enters_holidays_by_form_with_a_preview(b: Backend) {
    use dingdian_core::calendar::MissingYear;
    let t = TestApp::new(b).await; // 2026-03-02
    t.advance_days(301); // 2026-12-28, a Monday: five working days reach into 2027
    let hrb = t.submitted(&t.login("hrb-hospital").await).await;
    t.submitted(&t.login("urc-pharmacy").await).await;
    let number = t.store().application(hrb).await.unwrap().unwrap().number;
    assert_eq!(t.store().calendar().day(jiff::civil::date(2027, 1, 4)), Err(MissingYear(2027)));
    let admin = t.login("hrb-admin").await;

    let (status, html) = t.get_text("/admin/holidays", &admin).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("value=\"2027\"") && html.contains("调休上班日") && html.contains("预览"), "{html}");
    assert!(html.contains("name=\"name_1\" value=\"春节\""), "the statutory holidays are filled in: {html}");

    // A working day that is no weekend, and overlapping holidays: refused, nothing loaded.
    let bad = holiday_form("confirm", &[("元旦", "2027-01-01", "2027-01-03", "2027-01-04"), ("春节", "2027-01-03", "2027-01-05", "")]);
    let (status, html, _) = t.post_form("/admin/holidays", &admin, &bad).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
    assert!(html.contains("星期一") && html.contains("本来就是工作日") && html.contains("重叠"), "{html}");
    assert!(html.contains("value=\"2027-01-04\""), "the form keeps what was typed");
    assert!(!t.store().calendar().has_year(2027));

    let rows = [("元旦", "2027-01-01", "2027-01-03", ""), ("春节", "2027-02-06", "2027-02-13", "2027-01-31，2027-02-20")];
    let (status, html, _) = t.post_form("/admin/holidays", &admin, &holiday_form("preview", &rows)).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("将改变的期限") && html.contains(&number) && html.contains("无法确定"), "{html}");
    assert!(html.contains("2027-01-05"), "the new due date: {html}");
    assert!(html.contains("确认载入") && !html.contains("另有其他城市"));
    // Another city's administrator sees the Harbin change counted, not listed.
    let (status, html, _) = t.post_form("/admin/holidays", &t.login("urc-admin").await, &holiday_form("preview", &rows)).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(!html.contains(&number) && html.contains("另有其他城市的 1 件申请"), "{html}");
    assert!(!t.store().calendar().has_year(2027), "a preview loads nothing");

    let (status, html, _) = t.post_form("/admin/holidays", &admin, &holiday_form("confirm", &rows)).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("已载入 2027 年节假日安排，重新计算了 1 件申请的期限"), "{html}");
    let cal = t.store().calendar();
    assert_eq!(cal.day(jiff::civil::date(2027, 1, 4)).map(|d| d.is_working()), Ok(true));
    assert_eq!(cal.adjusted_for(jiff::civil::date(2027, 1, 31)), Some("春节"));
    let events = t.store().events(hrb).await.unwrap();
    assert!(events.iter().any(|e| e.kind == "deadlines_recalculated"), "re-projected as by the file path");

    // Who may: administrators only.
    for user in ["hrb-agency", "hrb-supervisor", "hrb-hospital", "hrb-evaluator"] {
        let token = t.login(user).await;
        let (status, _) = t.get_text("/admin/holidays", &token).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{user}");
        let (status, _, _) = t.post_form("/admin/holidays", &token, &holiday_form("confirm", &rows)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{user}");
    }
}
both!(admin_enters_holidays_by_form_with_a_preview);
