//! The agency workbench (issue #8): the queue's scope (city, branch district), filters, sorting
//! by the nearest deadline, overdue marking and paging; CSV and XLSX exports; the statistics
//! page's charts; and who may see them.

#[macro_use]
mod common;

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use common::{PASSWORD, TestApp};
use dingdian_core::ids::Uscc;
use dingdian_core::lifecycle::{Actor, AppState, Role, State};
use dingdian_core::policy::InstitutionKind;
use dingdian_store::testing::Backend;
use dingdian_store::{NewInstitution, NewUser, QueueFilter, StateFilter};
use serde_json::json;

/// GET with a bearer token, returning status, headers and the raw body.
async fn get(t: &TestApp, path: &str, token: &str) -> (StatusCode, HeaderMap, Vec<u8>) {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let req = Request::builder().uri(path).header(header::AUTHORIZATION, format!("Bearer {token}")).body(Body::empty()).unwrap();
    let resp = t.router.clone().oneshot(req).await.unwrap();
    let (parts, body) = resp.into_parts();
    (parts.status, parts.headers, body.collect().await.unwrap().to_bytes().to_vec())
}

async fn page(t: &TestApp, path: &str, token: &str) -> String {
    let (status, _, body) = get(t, path, token).await;
    let html = String::from_utf8(body).unwrap();
    assert_eq!(status, StatusCode::OK, "{path}: {html}");
    html
}

async fn number(t: &TestApp, id: i64) -> String {
    t.store().application(id).await.unwrap().unwrap().number
}

/// The queue table's row of an application (from `<tr` to `</tr>`).
fn row_of<'a>(html: &'a str, number: &str) -> &'a str {
    let at = html.find(&format!(">{number}</a>")).unwrap_or_else(|| panic!("{number} is listed: {html}"));
    let start = html[..at].rfind("<tr").unwrap();
    let end = at + html[at..].find("</tr>").unwrap();
    &html[start..end]
}

/// One more Harbin institution with its account (the fixture has two).
async fn extra_institution(t: &TestApp, username: &str, district: &str, code17: &str) -> String {
    let now = t.now();
    let uscc = Uscc::with_check(code17).unwrap();
    let inst = NewInstitution {
        uscc: &uscc,
        name: username,
        kind: InstitutionKind::Medical,
        category: "综合医院",
        city: "harbin",
        district,
        national_code: None,
        address: "测试地址",
        beds: 10,
    };
    let id = t.store().ensure_institution(inst, now).await.unwrap();
    let u = NewUser {
        username,
        display_name: username,
        password: PASSWORD,
        role: Role::Institution,
        city: "harbin",
        district: None,
        institution_id: Some(id),
    };
    t.store().ensure_user(u, now).await.unwrap();
    t.login(username).await
}

fn notice() -> serde_json::Value {
    json!({ "command": "issue_supplement_notice", "items": [{ "slot": "licence", "problem": "missing", "reason": "缺执业许可证" }] })
}

async fn scoped_to_city_and_district(b: Backend) {
    let t = TestApp::new(b).await;
    let hrb = t.submitted(&t.login("hrb-hospital").await).await;
    let urc_a = t.submitted(&t.login("urc-pharmacy").await).await; // 650102
    let urc_b = t.submitted(&t.login("urc-clinic").await).await; // 650103
    let (hrb, urc_a, urc_b) = (number(&t, hrb).await, number(&t, urc_a).await, number(&t, urc_b).await);

    let html = page(&t, "/workbench", &t.login("urc-agency").await).await;
    assert!(html.contains(&urc_a) && html.contains(&urc_b), "the agency sees its city: {html}");
    assert!(!html.contains(&hrb), "and nothing of another city");
    assert!(html.contains("href=\"/applications/"), "each row links to its application");

    let branch = t.login("urc-branch").await;
    let html = page(&t, "/workbench", &branch).await;
    assert!(html.contains(&urc_a), "{html}");
    assert!(!html.contains(&urc_b) && !html.contains(&hrb), "a branch reviewer sees only their district");
    // Asking for another district does not widen the scope.
    let html = page(&t, "/workbench?district=650103", &branch).await;
    assert!(!html.contains(&urc_b) && !html.contains(&urc_a), "{html}");
    let (_, _, csv) = get(&t, "/workbench/export.csv", &branch).await;
    let csv = String::from_utf8(csv).unwrap();
    assert!(csv.contains(&urc_a) && !csv.contains(&urc_b) && !csv.contains(&hrb), "{csv}");

    let html = page(&t, "/workbench", &t.login("hrb-agency").await).await;
    assert!(html.contains(&hrb) && !html.contains(&urc_a) && !html.contains(&urc_b));
    let html = page(&t, "/workbench", &t.login("hrb-admin").await).await;
    assert!(html.contains(&hrb));
    // Supervisors see the queue, read-only.
    let html = page(&t, "/workbench", &t.login("hrb-supervisor").await).await;
    assert!(html.contains(&hrb) && html.contains("只读"), "{html}");
    assert!(!html.contains("<button class=\"primary\" type=\"submit\">受理"), "no actions on the workbench");

    // The store refuses roles without a queue.
    let actor = Actor {
        user_id: 1,
        role: Role::Institution,
        city: "harbin".into(),
        district: None,
        institution_id: Some(1),
        evaluator_id: None,
        province: None,
    };
    assert!(t.store().queue(&actor, &QueueFilter::default(), 50, 0).await.is_err());
}
both!(scoped_to_city_and_district);

async fn non_staff_are_refused(b: Backend) {
    let t = TestApp::new(b).await;
    for user in ["hrb-hospital", "hrb-evaluator", "hrb-expert"] {
        let token = t.login(user).await;
        for path in ["/workbench", "/workbench/export.csv", "/workbench/export.xlsx", "/stats"] {
            // Pages refuse with a Chinese page that carries the API's code.
            let (status, body) = t.call(Method::GET, path, Some(&token), None).await;
            let html = body.as_str().unwrap_or_default();
            assert_eq!(status, StatusCode::FORBIDDEN, "{user} on {path}: {body}");
            assert!(html.contains("data-code=\"not_your_role\"") && html.contains("无权查看"), "{user} on {path}: {body}");
        }
    }
    let (status, _) = t.call(Method::GET, "/workbench", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    for user in ["hrb-agency", "hrb-supervisor", "hrb-admin", "urc-branch"] {
        let token = t.login(user).await;
        for path in ["/workbench", "/stats"] {
            let html = page(&t, path, &token).await;
            assert!(html.contains("href=\"/workbench\"") && html.contains("href=\"/stats\""), "staff get the nav links: {user}");
        }
    }
    let html = page(&t, "/applications", &t.login("hrb-hospital").await).await;
    assert!(!html.contains("href=\"/workbench\""), "institutions do not");
}
both!(non_staff_are_refused);

async fn sorted_by_deadline_filtered_and_overdue_marked(b: Backend) {
    let t = TestApp::new(b).await;
    let agency = t.login("hrb-agency").await;
    // Submitted first: no automatic deadline, but the agency's own HRB-ACC-1 limit (5 working days,
    // 2026-03-09) orders it among the dated rows.
    let extra = extra_institution(&t, "hrb-extra", "230102", "91230102MA0EXTRA0").await;
    let undated = t.submitted(&extra).await;
    let hospital = t.submitted(&t.login("hrb-hospital").await).await; // 230102
    let clinic = t.submitted(&t.login("hrb-clinic").await).await; // 230103
    // The clinic's supplement period starts first (due 2026-03-09), the hospital's a day later.
    t.cmd(&agency, clinic, notice()).await;
    t.advance_days(1);
    t.cmd(&agency, hospital, notice()).await;
    let (undated, hospital, clinic) = (number(&t, undated).await, number(&t, hospital).await, number(&t, clinic).await);

    let html = page(&t, "/workbench", &agency).await;
    let pos = |n: &str| html.find(&format!(">{n}</a>")).unwrap_or_else(|| panic!("{n} listed"));
    assert!(pos(&clinic) < pos(&hospital) && pos(&undated) < pos(&hospital), "nearest deadline first: {html}");
    assert!(row_of(&html, &clinic).contains("2026-03-09"), "{}", row_of(&html, &clinic));
    assert!(row_of(&html, &hospital).contains("2026-03-10"));
    assert!(html.contains("全部在办 <span class=\"count\">3</span>"), "tab counts: {html}");
    assert!(html.contains("待补正材料 <span class=\"count\">2</span>"), "{html}");
    assert!(!html.contains("已超期"), "nothing is overdue yet");

    // One state's queue.
    let html = page(&t, "/workbench?state=awaiting_supplement", &agency).await;
    assert!(html.contains(&clinic) && html.contains(&hospital) && !html.contains(&undated));
    assert!(html.contains("aria-current=\"page\" class=\"current\">待补正材料"), "{html}");
    // District, kind, round and profile filters (a GET form; the state is kept).
    let html = page(&t, "/workbench?state=open&district=230102", &agency).await;
    assert!(html.contains(&hospital) && html.contains(&undated) && !html.contains(&clinic), "{html}");
    assert!(html.contains("<option value=\"230102\" selected>道里区（230102）</option>"), "{html}");
    assert!(
        html.contains("<form class=\"filters\" method=\"get\" action=\"/workbench\"") && html.contains("name=\"state\" value=\"open\"")
    );
    let html = page(&t, "/workbench?district=230102&state=awaiting_supplement", &agency).await;
    assert!(html.contains(&hospital) && !html.contains(&undated) && !html.contains(&clinic));
    let html = page(&t, "/workbench?kind=pharmacy", &agency).await;
    assert!(!html.contains(&hospital) && html.contains("该列表暂无申请"));
    let html = page(&t, "/workbench?kind=medical&profile=harbin", &agency).await;
    assert!(html.contains(&hospital) && html.contains(&clinic) && html.contains(&undated));
    let version = t.store().current_profile("harbin").unwrap().version.clone();
    let html = page(&t, &format!("/workbench?profile=harbin%3A{version}"), &agency).await;
    assert!(html.contains(&hospital), "{html}");
    let html = page(&t, "/workbench?profile=urumqi", &agency).await;
    assert!(!html.contains(&hospital));
    let html = page(&t, "/workbench?round=999999", &agency).await;
    assert!(!html.contains(&hospital) && html.contains("共 0 件"));
    // Nonsense values are ignored, not errors.
    let html = page(&t, "/workbench?state=nope&page=-3&round=x", &agency).await;
    assert!(html.contains(&hospital));

    // On 2026-03-11 (no timer has fired): both supplement periods and the agency's own
    // acceptance limit (HRB-ACC-1, 5 working days) have run out.
    t.advance_days(8);
    let html = page(&t, "/workbench", &agency).await;
    for n in [&clinic, &hospital, &undated] {
        let row = row_of(&html, n);
        assert!(row.contains("class=\"overdue-row\"") && row.contains("已超期"), "{n} is marked overdue: {row}");
    }
    assert!(row_of(&html, &undated).contains("HRB-ACC-1"), "the agency limit is named: {}", row_of(&html, &undated));
    assert!(html.contains("本页有 3 件已超过期限"), "{html}");
}
both!(sorted_by_deadline_filtered_and_overdue_marked);

async fn pages_of_fifty(b: Backend) {
    let t = TestApp::new(b).await;
    let agency = t.login("hrb-agency").await;
    let first = t.submitted(&t.login("hrb-hospital").await).await;
    let first = number(&t, first).await;
    // 60 more submitted applications, written straight into the database.
    let inst = t
        .store()
        .application(t.store().queue(&Actor::system("harbin"), &QueueFilter::default(), 1, 0).await.unwrap()[0].id)
        .await
        .unwrap()
        .unwrap()
        .institution_id;
    let data = serde_json::to_string(&AppState { state: State::Submitted, ..AppState::default() }).unwrap();
    let version = t.store().current_profile("harbin").unwrap().version.clone();
    let sql = "insert into applications (number, institution_id, city, district, kind, profile_id, profile_version, state, version, data,
               created_at, updated_at) values ($1, $2, 'harbin', '230102', 'medical', 'harbin', $3, 'submitted', 2, $4, $5, $5)";
    for i in 0..60 {
        let number = format!("TEST-PAGE-{i:03}");
        let at = format!("2026-03-01T08:{i:02}:00Z");
        if b == Backend::Sqlite {
            use sqlx::Connection;
            let mut c = sqlx::SqliteConnection::connect(&format!("sqlite://{}", t.db_url)).await.unwrap();
            sqlx::query(sql).bind(number).bind(inst).bind(&version).bind(&data).bind(at).execute(&mut c).await.unwrap();
        } else {
            use sqlx::Connection;
            let mut c = sqlx::PgConnection::connect(&t.db_url).await.unwrap();
            sqlx::query(sql).bind(number).bind(inst).bind(&version).bind(&data).bind(at).execute(&mut c).await.unwrap();
        }
    }
    let html = page(&t, "/workbench?state=submitted", &agency).await;
    assert!(html.contains("共 61 件，第 1 / 2 页"), "{html}");
    assert_eq!(html.matches("<tr").count(), 51, "50 rows and the header");
    // The application received through the API has the agency's HRB-ACC-1 limit and comes first;
    // the undated rows follow, the longest untouched first.
    assert!(html.contains(&first) && html.contains("TEST-PAGE-000") && html.contains("TEST-PAGE-048") && !html.contains("TEST-PAGE-049"));
    assert!(html.contains("href=\"/workbench?state=submitted&#38;page=2\" rel=\"next\""), "{html}");
    let html = page(&t, "/workbench?state=submitted&page=2", &agency).await;
    assert!(html.contains("TEST-PAGE-049") && html.contains("TEST-PAGE-059") && !html.contains(&first), "{html}");
    assert!(html.contains("rel=\"prev\"") && !html.contains("rel=\"next\""));
    let html = page(&t, "/workbench?state=submitted&page=99", &agency).await;
    assert!(html.contains("第 2 / 2 页"), "a page past the end shows the last one");
    // The export holds every page.
    let (_, _, csv) = get(&t, "/workbench/export.csv?state=submitted", &agency).await;
    assert_eq!(String::from_utf8(csv).unwrap().lines().count(), 62, "header and 61 rows");
    let rows =
        t.store().queue(&Actor::system("harbin"), &QueueFilter { states: StateFilter::Open, ..Default::default() }, 100, 0).await.unwrap();
    assert_eq!(rows.len(), 61);
}
both!(pages_of_fifty);

async fn exports(b: Backend) {
    let t = TestApp::new(b).await;
    let agency = t.login("hrb-agency").await;
    let id = t.submitted(&t.login("hrb-hospital").await).await;
    let n = number(&t, id).await;

    let (status, headers, body) = get(&t, "/workbench/export.csv?state=open", &agency).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "text/csv; charset=utf-8");
    let disposition = headers[header::CONTENT_DISPOSITION].to_str().unwrap();
    assert!(disposition.starts_with("attachment; filename=\"") && disposition.contains("filename*=UTF-8''"), "{disposition}");
    assert!(disposition.ends_with(".csv"), "{disposition}");
    assert!(body.starts_with(&[0xEF, 0xBB, 0xBF]), "UTF-8 byte-order mark");
    let text = String::from_utf8(body).unwrap();
    let mut lines = text.trim_start_matches('\u{feff}').lines();
    let head = lines.next().unwrap();
    assert!(head.starts_with("\"申请编号\",\"机构名称\"") && head.contains("\"状态\""), "{head}");
    let line = lines.next().unwrap();
    assert!(line.contains(&n) && line.contains("hrb-hospital") && line.contains("已提交，待受理"), "{line}");

    let (status, headers, body) = get(&t, "/workbench/export.xlsx?state=open", &agency).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet");
    assert!(headers[header::CONTENT_DISPOSITION].to_str().unwrap().ends_with(".xlsx"));
    assert!(body.starts_with(b"PK"), "a zip file");
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(body)).expect("valid zip");
    let mut read = |name: &str| {
        use std::io::Read;
        let mut s = String::new();
        zip.by_name(name).unwrap_or_else(|_| panic!("{name} in the workbook")).read_to_string(&mut s).unwrap();
        s
    };
    let strings = read("xl/sharedStrings.xml");
    assert!(strings.contains(&n) && strings.contains("申请编号"), "{strings}");
    let styles = read("xl/styles.xml");
    assert!(styles.contains("<b/>"), "a bold header: {styles}");
    let sheet = read("xl/worksheets/sheet1.xml");
    assert!(sheet.contains("<col ") && sheet.contains("customWidth=\"1\""), "column widths: {sheet}");

    // Another city's export does not hold it.
    let (_, _, body) = get(&t, "/workbench/export.csv", &t.login("urc-agency").await).await;
    assert!(!String::from_utf8(body).unwrap().contains(&n));
}
both!(exports);

async fn statistics_drawn_as_svg(b: Backend) {
    let t = TestApp::new(b).await;
    let hosp = t.login("hrb-hospital").await;
    // One application through the expert review (a pass) to pre-signing preparation.
    t.harbin_to_preparation(&hosp).await;
    t.submitted(&t.login("hrb-clinic").await).await;

    let agency = t.login("hrb-agency").await;
    let html = page(&t, "/stats", &agency).await;
    assert_eq!(html.matches("<svg").count(), 4, "one chart each: state, district, steps, results");
    assert_eq!(html.matches("role=\"img\"").count(), 4);
    assert_eq!(html.matches("<title id=").count(), 4, "each chart has a title");
    assert_eq!(html.matches("<details>").count(), 4, "and its numbers");
    assert!(!html.contains("style="), "the CSP forbids inline styles");
    assert_eq!(html.matches("<script").count(), html.matches("<script src=").count(), "and inline scripts");
    assert!(html.contains("<td>评估结果：通过</td><td>1</td><td>100.0%</td>"), "{html}");
    assert!(html.contains("<td>签约前准备</td><td>1</td>") && html.contains("<td>已提交，待受理</td><td>1</td>"), "{html}");
    assert!(html.contains("道里区（230102）") && html.contains("南岗区（230103）"), "by district");
    assert!(html.contains("受理审核（一次性告知）时限（HRB-ACC-1）"), "time per step: {html}");
    assert!(html.contains("公示期（HRB-NOTICE）"), "{html}");

    // Filters apply to the statistics too.
    let html = page(&t, "/stats?district=230103", &agency).await;
    assert!(html.contains("<td>已提交，待受理</td><td>1</td>") && !html.contains("<td>签约前准备</td>"), "{html}");

    // Supervisors and branch reviewers see statistics of their scope.
    let html = page(&t, "/stats", &t.login("hrb-supervisor").await).await;
    assert!(html.contains("<td>评估结果：通过</td><td>1</td>"));
    let html = page(&t, "/stats", &t.login("urc-branch").await).await;
    assert_eq!(html.matches("<svg").count(), 4);
    assert!(html.contains("暂无数据") && !html.contains("道里区"), "another city's numbers stay out");
}
both!(statistics_drawn_as_svg);

/// The queue's order takes the agency's own time limits into account (HRB-EVAL-2's 3 months from
/// receipt), not only automatic consequences: an application received earlier comes first even
/// when it was touched later.
async fn sorted_by_the_agency_time_limit_too(b: Backend) {
    let t = TestApp::new(b).await;
    let hosp = t.login("hrb-hospital").await;
    let clinic = t.login("hrb-clinic").await;
    let agency = t.login("hrb-agency").await;
    let early = t.submitted(&hosp).await; // received 2026-03-02
    t.advance_days(5);
    let late = t.submitted(&clinic).await; // received 2026-03-07
    t.advance_days(1);
    t.cmd(&agency, late, json!({ "command": "accept" })).await; // touched 03-08
    t.advance_days(3);
    t.cmd(&agency, early, json!({ "command": "accept" })).await; // touched 03-11
    let (status, page) = t.call(Method::GET, "/workbench?state=accepted", Some(&agency), None).await;
    assert_eq!(status, StatusCode::OK);
    let page = page.as_str().unwrap().to_owned();
    let e = t.store().application(early).await.unwrap().unwrap().number;
    let l = t.store().application(late).await.unwrap().unwrap().number;
    let (pe, pl) = (page.find(&e).expect("early listed"), page.find(&l).expect("late listed"));
    assert!(pe < pl, "HRB-EVAL-2: the application received first is due first");
}
both!(sorted_by_the_agency_time_limit_too);

/// Exports mark an application overdue on the agency's own limit too (HRB-ACC-1: 5 working days
/// to accept or issue the notice), not only on automatic deadlines.
async fn export_marks_agency_limits_overdue(b: Backend) {
    let t = TestApp::new(b).await;
    let agency = t.login("hrb-agency").await;
    let id = t.submitted(&t.login("hrb-hospital").await).await; // 2026-03-02, due 03-09
    let number = number(&t, id).await;
    // Nothing is due yet.
    let (_, _, csv) = get(&t, "/workbench/export.csv?state=submitted", &agency).await;
    let csv = String::from_utf8(csv).unwrap();
    let line = csv.lines().find(|l| l.contains(&number)).expect("listed").to_owned();
    assert!(!line.contains("已超期"), "{line}");
    t.advance_days(8); // 2026-03-10
    let (_, _, csv) = get(&t, "/workbench/export.csv?state=submitted", &agency).await;
    let csv = String::from_utf8(csv).unwrap();
    let line = csv.lines().find(|l| l.contains(&number)).expect("listed").to_owned();
    assert!(line.contains("已超期"), "HRB-ACC-1 passed: {line}");
}
both!(export_marks_agency_limits_overdue);
