//! Accounts a real agency can run (issue: accounts and hardening): administrators create staff
//! accounts within their city's rules, reset passwords (the user must choose a new one before
//! anything else), disable and enable accounts (sessions end at once), change role and
//! district, and end sessions — never across cities; everyone changes their own password; every
//! account event is in the audit chain. On SQLite and PostgreSQL.

#[macro_use]
mod common;

use axum::http::{Method, StatusCode};
use common::TestApp;
use dingdian_store::testing::Backend;
use serde_json::json;

const TEMP: &str = "临时 口令 请尽快 更换";
const MINE: &str = "我的 新密码 松花江 边";

async fn form(t: &TestApp, path: &str, token: &str, fields: &[(&str, &str)]) -> (StatusCode, String, Option<String>) {
    let fields: Vec<(&str, String)> = fields.iter().map(|(k, v)| (*k, (*v).to_owned())).collect();
    t.post_form(path, token, &fields).await
}

async fn id_of(t: &TestApp, username: &str) -> i64 {
    t.store().user_by_username(username).await.unwrap().expect("account").id
}

async fn admin_manages_accounts_within_the_city(b: Backend) {
    let t = TestApp::new(b).await;
    let admin = t.login("hrb-admin").await;
    let urc_admin = t.login("urc-admin").await;

    // Creation follows the city's rules: its districts, a strong password, a new name.
    let branch = [("username", "hrb-branch-9"), ("display_name", "道里分中心"), ("role", "branch_reviewer"), ("password", TEMP)];
    let (status, page, _) = form(&t, "/admin/users", &admin, &[&branch[..], &[("district", "650102")]].concat()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "an Urumqi district for a Harbin account");
    assert!(page.contains("不属于哈尔滨市"), "{page}");
    let (status, page, _) = form(&t, "/admin/users", &admin, &[&branch[..], &[("district", "230102")]].concat()).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let dup = [("username", "HRB-AGENCY"), ("display_name", "重名"), ("role", "agency"), ("password", TEMP)];
    let (status, page, _) = form(&t, "/admin/users", &admin, &dup).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("已被使用"), "{page}");
    for weak in ["12345678", "        ", "hrb-agency-3"] {
        let f = [("username", "hrb-agency-3"), ("display_name", "经办员丙"), ("role", "agency"), ("password", weak)];
        let (status, _, _) = form(&t, "/admin/users", &admin, &f).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{weak:?}");
    }

    // Reset: the user's sessions end; with the temporary password only the password page works.
    let agency = t.login("hrb-agency").await;
    let agency_id = id_of(&t, "hrb-agency").await;
    let (status, page, _) =
        form(&t, &format!("/admin/users/{agency_id}"), &admin, &[("action", "reset_password"), ("temporary_password", TEMP)]).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(t.call(Method::GET, "/api/me", Some(&agency), None).await.0, StatusCode::UNAUTHORIZED, "sessions ended");
    let temp = t.login_with("hrb-agency", TEMP).await;
    let (status, body) = t.call(Method::GET, "/api/applications", Some(&temp), None).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::FORBIDDEN, Some("password_change_required")), "{body}");
    let (status, _, location) = form(&t, "/workbench", &temp, &[]).await;
    assert!(status.is_redirection() || status == StatusCode::METHOD_NOT_ALLOWED, "{status}");
    let (status, _) = t.get_text("/workbench", &temp).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "pages send the user to the password page ({location:?})");
    let change = json!({ "current_password": TEMP, "new_password": TEMP });
    let (status, body) = t.call(Method::POST, "/api/account/password", Some(&temp), Some(change)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "the same password again: {body}");
    let change = json!({ "current_password": TEMP, "new_password": MINE });
    assert_eq!(t.call(Method::POST, "/api/account/password", Some(&temp), Some(change)).await.0, StatusCode::NO_CONTENT);
    let mine = t.login_with("hrb-agency", MINE).await;
    assert_eq!(t.call(Method::GET, "/api/applications", Some(&mine), None).await.0, StatusCode::OK);

    // Another city's administrator cannot touch a Harbin account: refused outright (403, the
    // status of every other region refusal), not a form error.
    let (status, page, _) = form(&t, &format!("/admin/users/{agency_id}"), &urc_admin, &[("action", "disable")]).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{page}");
    assert_eq!(t.call(Method::GET, "/api/me", Some(&mine), None).await.0, StatusCode::OK);

    // Disable: the session stops at once and sign-in fails; enable brings it back.
    form(&t, &format!("/admin/users/{agency_id}"), &admin, &[("action", "disable")]).await;
    assert_eq!(t.call(Method::GET, "/api/me", Some(&mine), None).await.0, StatusCode::UNAUTHORIZED);
    let (status, _) = t.call(Method::POST, "/api/session", None, Some(json!({ "username": "hrb-agency", "password": MINE }))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    form(&t, &format!("/admin/users/{agency_id}"), &admin, &[("action", "enable")]).await;
    let mine = t.login_with("hrb-agency", MINE).await;

    // Role and district within the city; sessions revoked.
    let (status, page, _) = form(
        &t,
        &format!("/admin/users/{agency_id}"),
        &admin,
        &[("action", "placement"), ("role", "branch_reviewer"), ("district", "650102")],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
    let (status, page, _) =
        form(&t, &format!("/admin/users/{agency_id}"), &admin, &[("action", "placement"), ("role", "supervisor"), ("district", "")]).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(t.call(Method::GET, "/api/me", Some(&mine), None).await.0, StatusCode::UNAUTHORIZED, "a new role means signing in again");
    let sup = t.login_with("hrb-agency", MINE).await;
    assert_eq!(t.call(Method::GET, "/api/me", Some(&sup), None).await.1["role"], "supervisor");
    form(&t, &format!("/admin/users/{agency_id}"), &admin, &[("action", "revoke_sessions")]).await;
    assert_eq!(t.call(Method::GET, "/api/me", Some(&sup), None).await.0, StatusCode::UNAUTHORIZED);

    // Not their own account; and nobody but an administrator.
    let admin_id = id_of(&t, "hrb-admin").await;
    let (status, _, _) = form(&t, &format!("/admin/users/{admin_id}"), &admin, &[("action", "disable")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let expert = t.login("hrb-expert").await;
    assert_eq!(form(&t, &format!("/admin/users/{agency_id}"), &expert, &[("action", "disable")]).await.0, StatusCode::FORBIDDEN);

    // Every account event is in the chain, which verifies.
    let report = t.store().verify_audit().await.unwrap();
    assert!(report.ok, "{report:?}");
    let accounts = t.store().accounts(Some("harbin")).await.unwrap();
    assert!(accounts.iter().any(|a| a.username == "hrb-branch-9" && a.district.as_deref() == Some("230102")));
    assert!(report.entries >= 7, "creation, reset, password, disable, enable, placement, revoke: {report:?}");
}
both!(admin_manages_accounts_within_the_city);

/// Anyone changes their own password on the page: the current one must be right, the new one
/// strong and typed twice; afterwards every session ends and the new password signs in.
async fn change_my_password_on_the_page(b: Backend) {
    let t = TestApp::new(b).await;
    let expert = t.login("hrb-expert").await;
    let (status, page) = t.get_text("/account/password", &expert).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("新密码"));
    let wrong = [("current_password", "not-it"), ("new_password", MINE), ("confirm_password", MINE)];
    let (status, page, _) = form(&t, "/account/password", &expert, &wrong).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("当前密码不正确"), "{page}");
    let mismatch = [("current_password", common::PASSWORD), ("new_password", MINE), ("confirm_password", TEMP)];
    assert!(form(&t, "/account/password", &expert, &mismatch).await.1.contains("不一致"));
    let weak = [("current_password", common::PASSWORD), ("new_password", "1234567890"), ("confirm_password", "1234567890")];
    assert!(form(&t, "/account/password", &expert, &weak).await.1.contains("容易猜到"));
    let ok = [("current_password", common::PASSWORD), ("new_password", MINE), ("confirm_password", MINE)];
    let (status, page, _) = form(&t, "/account/password", &expert, &ok).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("密码已修改"));
    assert_eq!(t.call(Method::GET, "/api/me", Some(&expert), None).await.0, StatusCode::UNAUTHORIZED);
    t.login_with("hrb-expert", MINE).await;
}
both!(change_my_password_on_the_page);
