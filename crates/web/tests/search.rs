//! The workbench's search box (issue #16 item 9): by part of an institution's name, application
//! number, USCC or national code; the same search narrows the counts and the exports; it never
//! widens the actor's scope; bad input lists nothing or says why, never an error page.

#[macro_use]
mod common;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use common::{PASSWORD, TestApp, percent};
use dingdian_core::ids::Uscc;
use dingdian_core::lifecycle::Role;
use dingdian_core::policy::InstitutionKind;
use dingdian_core::search::Query;
use dingdian_store::testing::Backend;
use dingdian_store::{NewInstitution, NewUser, QueueFilter};

async fn get(t: &TestApp, path: &str, token: &str) -> (StatusCode, String) {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let req = Request::builder().uri(path).header(header::AUTHORIZATION, format!("Bearer {token}")).body(Body::empty()).unwrap();
    let resp = t.router.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let body = resp.into_body().collect().await.unwrap().to_bytes().to_vec();
    (status, String::from_utf8_lossy(&body).into_owned())
}

/// The workbench searched for `q` (percent-encoded here), which must answer 200.
async fn search(t: &TestApp, token: &str, q: &str) -> String {
    let path = format!("/workbench?state=all&q={}", percent(q));
    let (status, html) = get(t, &path, token).await;
    assert_eq!(status, StatusCode::OK, "{path}: {html}");
    html
}

async fn number(t: &TestApp, id: i64) -> String {
    t.store().application(id).await.unwrap().unwrap().number
}

/// A Harbin institution with a Chinese name and a registered national code, with its account;
/// returns the account's token and the USCC.
async fn institution(t: &TestApp, username: &str, name: &str, code17: &str, national: Option<&str>) -> (String, Uscc) {
    let now = t.now();
    let uscc = Uscc::with_check(code17).unwrap();
    let inst = NewInstitution {
        uscc: &uscc,
        name,
        kind: InstitutionKind::Medical,
        category: "综合医院",
        city: "harbin",
        district: "230102",
        national_code: national,
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
    (t.login(username).await, uscc)
}

fn uscc_of(username: &str) -> Uscc {
    let (_, _, _, _, code17) = common::INSTITUTIONS.iter().find(|i| i.0 == username).unwrap();
    Uscc::with_check(code17).unwrap()
}

/// Which of `numbers` a page lists.
fn listed<'a>(html: &str, numbers: &[&'a str]) -> Vec<&'a str> {
    numbers.iter().copied().filter(|n| html.contains(&format!(">{n}</a>"))).collect()
}

async fn finds_by_name_number_uscc_and_code(b: Backend) {
    let t = TestApp::new(b).await;
    let (kangning, kangning_uscc) = institution(&t, "kangning", "哈尔滨康宁医院", "12230102MB9A8B7C6", Some("H23010200777")).await;
    let (odd, _) = institution(&t, "odd", "康宁100%_诊所", "12230102MB5A4B3C2", None).await;
    let a = t.submitted(&kangning).await;
    let b_ = t.submitted(&odd).await;
    let c = t.submitted(&t.login("hrb-hospital").await).await;
    let (a, b_, c) = (number(&t, a).await, number(&t, b_).await, number(&t, c).await);
    let all = [a.as_str(), b_.as_str(), c.as_str()];
    let agency = t.login("hrb-agency").await;

    // Without a search, everything in scope.
    assert_eq!(listed(&search(&t, &agency, "").await, &all), all);
    // Part of a name (CJK substring), surrounding spaces ignored.
    let html = search(&t, &agency, "  康宁 ").await;
    assert_eq!(listed(&html, &all), [a.as_str(), b_.as_str()]);
    assert!(html.contains("id=\"f-q\"") && html.contains("value=\"  康宁 \""), "the box keeps the text: {html}");
    assert!(html.contains("机构名称、申请编号、统一社会信用代码或医保编码"), "the hint");
    assert!(html.contains("共 2 件"), "the count follows the search: {html}");
    assert!(html.contains(&format!("q={}", percent("康宁"))), "tabs and paging keep the search: {html}");
    // Latin letters in any case.
    assert_eq!(listed(&search(&t, &agency, "HRB-HOSP").await, &all), [c.as_str()]);
    // LIKE wildcards and the escape character are plain text.
    assert_eq!(listed(&search(&t, &agency, "%").await, &all), [b_.as_str()]);
    assert_eq!(listed(&search(&t, &agency, "_").await, &all), [b_.as_str()]);
    assert_eq!(listed(&search(&t, &agency, "0%_诊").await, &all), [b_.as_str()]);
    assert!(listed(&search(&t, &agency, "康_").await, &all).is_empty(), "`_` is no wildcard");
    assert!(listed(&search(&t, &agency, "\\").await, &all).is_empty());
    assert!(listed(&search(&t, &agency, "'\"; drop table applications; --").await, &all).is_empty());
    // The application number, exactly, with or without hyphens and spaces.
    assert_eq!(listed(&search(&t, &agency, &a).await, &all), [a.as_str()]);
    assert_eq!(listed(&search(&t, &agency, &a.replace('-', "")).await, &all), [a.as_str()]);
    assert_eq!(listed(&search(&t, &agency, &a.replace('-', " ")).await, &all), [a.as_str()]);
    let html = search(&t, &agency, &a[..a.len() - 1]).await;
    assert!(listed(&html, &all).is_empty(), "a number is matched whole");
    // The USCC, in any case.
    assert_eq!(listed(&search(&t, &agency, &kangning_uscc.as_str().to_lowercase()).await, &all), [a.as_str()]);
    assert_eq!(listed(&search(&t, &agency, uscc_of("hrb-hospital").as_str()).await, &all), [c.as_str()]);
    // The national code: the registry's, and the one declared in the application.
    let html = search(&t, &agency, "h23010200777").await;
    assert_eq!(listed(&html, &all), [a.as_str()]);
    assert!(html.contains("医保编码 H23010200777"), "says what it looks for: {html}");
    assert_eq!(listed(&search(&t, &agency, "H23010200001").await, &all), all, "every Harbin test application declares it");
    assert!(listed(&search(&t, &agency, "H23010200002").await, &all).is_empty());

    // The exports follow the search.
    for ext in ["csv", "xlsx"] {
        let (status, _) = get(&t, &format!("/workbench/export.{ext}?state=all&q={}", percent("康宁")), &agency).await;
        assert_eq!(status, StatusCode::OK);
    }
    let (_, csv) = get(&t, &format!("/workbench/export.csv?state=all&q={}", percent("康宁")), &agency).await;
    assert!(csv.contains(&a) && csv.contains(&b_) && !csv.contains(&c), "{csv}");
    let (_, csv) = get(&t, &format!("/workbench/export.csv?state=all&q={}", percent(&c)), &agency).await;
    assert!(!csv.contains(&a) && csv.contains(&c), "{csv}");
}
both!(finds_by_name_number_uscc_and_code);

async fn bad_input_lists_nothing_or_says_why(b: Backend) {
    let t = TestApp::new(b).await;
    let id = t.submitted(&t.login("hrb-hospital").await).await;
    let n = number(&t, id).await;
    let agency = t.login("hrb-agency").await;

    // Too long: a clear message, nothing listed, nothing exported.
    let long = "康".repeat(dingdian_core::search::MAX_CHARS + 1);
    let html = search(&t, &agency, &long).await;
    assert!(html.contains("搜索内容过长") && html.contains("role=\"alert\""), "{html}");
    assert!(!html.contains(&format!(">{n}</a>")), "nothing listed");
    let (status, csv) = get(&t, &format!("/workbench/export.csv?q={}", percent(&long)), &agency).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!csv.contains(&n), "{csv}");
    let (status, html) = get(&t, &format!("/stats?q={}", percent(&long)), &agency).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("搜索内容过长"), "{html}");
    // A very long query string is still a page, not an error.
    let (status, _) = get(&t, &format!("/workbench?q={}", percent(&"x".repeat(20_000))), &agency).await;
    assert_eq!(status, StatusCode::OK);

    // Control characters are spaces, invisible ones are dropped: the hospital is still found.
    let html = search(&t, &agency, "\u{1}hrb-\u{202E}hosp\u{200B}ital\u{0}\u{7f}").await;
    assert!(html.contains(&format!(">{n}</a>")), "{html}");
    let html = search(&t, &agency, "hrb-\u{1}hospital").await;
    assert!(!html.contains(&format!(">{n}</a>")), "a control character separates words: {html}");
    // Markup is shown back as text.
    let html = search(&t, &agency, "\"><script>alert(1)</script>").await;
    assert!(!html.contains("<script>alert(1)"), "{html}");
    // Malformed percent-encoding in the query string: a clear page, no panic.
    let (status, _) = get(&t, "/workbench?q=%FF%FE", &agency).await;
    assert!(status == StatusCode::OK || status == StatusCode::BAD_REQUEST, "{status}");
}
both!(bad_input_lists_nothing_or_says_why);

async fn never_widens_the_scope(b: Backend) {
    let t = TestApp::new(b).await;
    let pharmacy = t.submitted(&t.login("urc-pharmacy").await).await; // 650102
    let clinic = t.submitted(&t.login("urc-clinic").await).await; // 650103
    let hrb = t.submitted(&t.login("hrb-hospital").await).await;
    let (pharmacy, clinic, hrb) = (number(&t, pharmacy).await, number(&t, clinic).await, number(&t, hrb).await);
    let all = [pharmacy.as_str(), clinic.as_str(), hrb.as_str()];

    // A Harbin agency finds no Urumqi institution, however it asks.
    let agency = t.login("hrb-agency").await;
    for q in [uscc_of("urc-pharmacy").to_string(), pharmacy.clone(), "urc-pharmacy".into(), "P65010200001".into()] {
        let html = search(&t, &agency, &q).await;
        assert!(listed(&html, &all).is_empty(), "{q}: {html}");
        let (_, csv) = get(&t, &format!("/workbench/export.csv?state=all&q={}", percent(&q)), &agency).await;
        assert!(!csv.contains(&pharmacy), "{q}: {csv}");
    }
    // The store says the same when asked directly.
    let actor = t.store().user_by_username("hrb-agency").await.unwrap().unwrap().actor();
    let f = QueueFilter { search: Query::parse(uscc_of("urc-pharmacy").as_str()).unwrap(), ..Default::default() };
    assert!(t.store().queue(&actor, &f, 50, 0).await.unwrap().is_empty());

    // A branch reviewer finds nothing outside its district, even by exact code or number.
    let branch = t.login("urc-branch").await; // 650102
    assert_eq!(listed(&search(&t, &branch, uscc_of("urc-pharmacy").as_str()).await, &all), [pharmacy.as_str()]);
    for q in [uscc_of("urc-clinic").to_string(), clinic.clone(), "urc-clinic".into(), "H65010200001".into()] {
        let html = search(&t, &branch, &q).await;
        assert!(listed(&html, &all).is_empty(), "{q}: {html}");
    }
    // While the city's agency finds both.
    let urc = t.login("urc-agency").await;
    assert_eq!(listed(&search(&t, &urc, "urc-").await, &all), [pharmacy.as_str(), clinic.as_str()]);

    // Roles without the workbench cannot search it.
    for user in ["hrb-evaluator", "hrb-expert", "hrb-hospital", "urc-pharmacy"] {
        let token = t.login(user).await;
        for path in ["/workbench", "/workbench/export.csv", "/workbench/export.xlsx"] {
            let path = format!("{path}?q={}", percent(&hrb));
            let (status, body) = t.call(Method::GET, &path, Some(&token), None).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{user} on {path}: {body}");
        }
    }
}
both!(never_widens_the_scope);
