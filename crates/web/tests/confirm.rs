//! Issue "a public service people can use", item 3: every irreversible act on the pages asks for
//! confirmation on a second page that says what will happen and what cannot be undone; nothing
//! changes until it is confirmed; signing needs the signer to say they read the agreement.

#[macro_use]
mod common;

use axum::http::StatusCode;
use common::TestApp;
use dingdian_store::testing::Backend;

fn act(command: &str, version: i64, extra: &[(&str, &str)]) -> Vec<(&'static str, String)> {
    let mut f: Vec<(&'static str, String)> = vec![("command", command.to_owned()), ("expected_version:int", version.to_string())];
    for (k, v) in extra {
        f.push((Box::leak(k.to_string().into_boxed_str()), v.to_string()));
    }
    f
}

async fn withdrawing_asks_first_and_changes_nothing_until_confirmed(b: Backend) {
    let t = TestApp::new(b).await;
    let inst = t.login("hrb-hospital").await;
    let id = t.submitted(&inst).await;
    let version = t.store().application(id).await.unwrap().unwrap().version;
    let path = format!("/applications/{id}/act");

    let (status, page, _) = t.post_form(&path, &inst, &act("withdraw", version, &[])).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("请确认：撤回申请") && page.contains("撤回后不能恢复"), "{page}");
    assert!(page.contains(r#"name="confirmed" value="1""#) && page.contains(r#"name="command" value="withdraw""#), "{page}");
    assert_eq!(t.store().application(id).await.unwrap().unwrap().version, version, "nothing recorded before confirming");
    assert_eq!(t.state_of(id).await, "submitted");

    let (status, _, location) = t.post_form(&path, &inst, &act("withdraw", version, &[("confirmed", "1")])).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{location:?}");
    assert_eq!(t.state_of(id).await, "withdrawn");
}
both!(withdrawing_asks_first_and_changes_nothing_until_confirmed);

/// An act that would be refused is refused at once: no confirmation page for it.
async fn a_refused_act_gets_no_confirmation_page(b: Backend) {
    let t = TestApp::new(b).await;
    let inst = t.login("hrb-hospital").await;
    let id = t.submitted(&inst).await;
    let version = t.store().application(id).await.unwrap().unwrap().version;
    let (status, page, _) = t.post_form(&format!("/applications/{id}/act"), &inst, &act("accept", version, &[])).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "the institution may not accept");
    assert!(!page.contains("请确认"), "{page}");
    // The one-time supplement notice says it can be given only once.
    let agency = t.login("hrb-agency").await;
    let fields = act("issue_supplement_notice", version, &[("items.licence:problem", "missing"), ("items.licence:reason", "缺执业许可证")]);
    let (status, page, _) = t.post_form(&format!("/applications/{id}/act"), &agency, &fields).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("一次性告知只能发出一次"), "{page}");
    assert_eq!(t.state_of(id).await, "submitted", "not sent before confirming");
    // A missing reason is refused naming the material as the page does, never by its id.
    let fields = act("issue_supplement_notice", version, &[("items.licence:problem", "missing"), ("items.licence:reason", " ")]);
    let (status, page, _) = t.post_form(&format!("/applications/{id}/act"), &agency, &fields).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
    assert!(page.contains("须说明补正理由") && page.contains("执业许可证"), "{page}");
    assert!(!page.contains("“licence”"), "{page}");
}
both!(a_refused_act_gets_no_confirmation_page);

/// HRB-SIGN / URC-SIGN: signing shows the agreement and refuses a confirmation without the
/// "I have read it" box, changing nothing.
async fn signing_needs_the_agreement_read(b: Backend) {
    let t = TestApp::new(b).await;
    let inst = t.login("urc-pharmacy").await;
    let id = common::urc_to_notice(&t, &inst, &t.login("urc-branch").await, &t.login("urc-agency").await).await;
    t.advance_days(11);
    t.tick().await;
    assert_eq!(t.state_of(id).await, "ready_to_sign");
    let app = t.store().application(id).await.unwrap().unwrap();
    let sha = app.data.agreement.clone().expect("agreement issued").sha256;
    let path = format!("/applications/{id}/act");
    let sign = |extra: &[(&str, &str)]| {
        let mut f = act("sign", app.version, extra);
        f.push(("document_sha256", sha.clone()));
        f
    };

    let (status, page, _) = t.post_form(&path, &inst, &sign(&[])).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("/documents/agreement") && page.contains("我已阅读协议全部内容"), "the agreement and the box: {page}");
    let (status, page, _) = t.post_form(&path, &inst, &sign(&[("confirmed", "1")])).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains(r#"aria-invalid="true""#) && page.contains("请勾选"), "refused at the box: {page}");
    assert_eq!(t.store().application(id).await.unwrap().unwrap().version, app.version, "nothing signed");

    let (status, _, _) = t.post_form(&path, &inst, &sign(&[("confirmed", "1"), ("read_agreement", "1")])).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(t.store().application(id).await.unwrap().unwrap().data.institution_signed, "signed once confirmed");
}
both!(signing_needs_the_agreement_read);
