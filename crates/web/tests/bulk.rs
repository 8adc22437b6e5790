//! Bulk actions on the workbench: one notice batch (HRB-NOTICE) published for several passed
//! applications at once; each is decided on its own.

mod common;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use common::{TestApp, percent};
use dingdian_store::testing::Backend;

/// HRB-NOTICE: a batch published together ends together, computed by the calendar; an
/// application not ready is listed as not done and left unchanged; another city's application
/// is refused without showing anything about it.
async fn notice_batch_publishes_together(b: Backend) {
    let t = TestApp::new(b).await;
    let hosp = t.login("hrb-hospital").await;
    let clinic = t.login("hrb-clinic").await;
    let a = t.harbin_passed(&hosp).await;
    let b2 = t.harbin_passed(&clinic).await;
    let urc = t.login("urc-pharmacy").await;
    let other_city = t.submitted(&urc).await;
    let not_ready_version = t.store().application(other_city).await.unwrap().unwrap().version;
    let agency = t.login("hrb-agency").await;
    // The workbench offers the batch to the agency (rows to tick), not to supervisors.
    let (_, page) = t.call(Method::GET, "/workbench?state=passed", Some(&agency), None).await;
    let page = page.as_str().unwrap().to_owned();
    assert!(page.contains(r#"action="/applications/bulk""#) && page.contains(&format!(r#"name="ids" value="{a}""#)), "{page}");
    let supervisor = t.login("hrb-supervisor").await;
    let (_, page) = t.call(Method::GET, "/workbench?state=passed", Some(&supervisor), None).await;
    assert!(!page.as_str().unwrap().contains("/applications/bulk"));
    let body = format!("command=publish_notice&ids={a}&ids={b2}&ids={other_city}");
    let req = Request::builder()
        .method(Method::POST)
        .uri("/applications/bulk")
        .header(header::AUTHORIZATION, format!("Bearer {agency}"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body))
        .unwrap();
    let (status, page) = t.send(req).await;
    assert_eq!(status, StatusCode::OK);
    let page = page.as_str().unwrap().to_owned();
    assert!(page.contains("2 件已办理，1 件未办理"), "{page}");
    assert!(page.contains("不属于您所在的地区"), "{page}");
    let urc_number = t.store().application(other_city).await.unwrap().unwrap().number;
    assert!(!page.contains(&urc_number), "nothing shown about another city's application");
    let (x, y) = (t.store().application(a).await.unwrap().unwrap(), t.store().application(b2).await.unwrap().unwrap());
    assert_eq!((x.state.as_str(), y.state.as_str()), ("public_notice", "public_notice"));
    assert_eq!(x.data.notice_ends_on, y.data.notice_ends_on);
    assert!(x.data.notice_ends_on.is_some());
    assert_eq!(t.store().application(other_city).await.unwrap().unwrap().version, not_ready_version, "unchanged");
    // Both are on the public notice list.
    let (_, notices) = t.call(Method::GET, "/notices", None, None).await;
    let notices = notices.as_str().unwrap().to_owned();
    assert!(notices.contains(&x.number) && notices.contains(&y.number));
    // Only agency staff act in bulk, and only known bulk commands.
    let (status, _) = t.call(Method::POST, "/applications/bulk", Some(&hosp), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let req = Request::builder()
        .method(Method::POST)
        .uri("/applications/bulk")
        .header(header::AUTHORIZATION, format!("Bearer {agency}"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(format!("command={}&ids={a}", percent("withdraw"))))
        .unwrap();
    let (status, _) = t.send(req).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}
both!(notice_batch_publishes_together);
