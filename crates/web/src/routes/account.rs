//! Account pages: change my password (also the page a user with a reset password is sent to),
//! and the administrators' account actions (reset a password, disable or enable an account,
//! change its role and district, end its sessions). The rules are `dingdian_core::accounts`;
//! the store applies them and records each change in the audit chain.

use crate::extract::Form;
use crate::extract::Path;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use dingdian_core::lifecycle::Role;
use dingdian_store::User;
use serde::Deserialize;

use super::pages::{message, render};
use crate::auth::{ApiUser, MaybeUser};
use crate::{ApiError, AppState};

#[derive(Template)]
#[template(path = "password.html")]
struct PasswordPage<'a> {
    user: Option<User>,
    role_zh: &'a str,
    forced: bool,
    error: Option<String>,
    done: bool,
}

/// `GET /account/password`
pub async fn password_form(MaybeUser(user): MaybeUser) -> Response {
    let Some(u) = user else { return Redirect::to("/login").into_response() };
    let forced = u.must_change_password();
    render(PasswordPage { role_zh: u.role().zh(), user: Some(u), forced, error: None, done: false })
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    confirm_password: String,
}

/// `POST /account/password`: the current password, and the new one twice.
pub async fn change_password(State(s): State<AppState>, MaybeUser(user): MaybeUser, Form(f): Form<PasswordForm>) -> Response {
    let Some(u) = user else { return Redirect::to("/login").into_response() };
    let forced = u.must_change_password();
    let outcome: Result<(), ApiError> = async {
        if f.new_password != f.confirm_password {
            return Err(ApiError::invalid("invalid_input", "两次输入的新密码不一致。"));
        }
        s.store.change_own_password(&u.actor(), &f.current_password, &f.new_password, s.clock.now()).await?;
        tracing::info!(user_id = u.id, "password changed");
        Ok(())
    }
    .await;
    match outcome {
        // The new password ended every session: sign in again with it.
        Ok(()) => render(PasswordPage { user: None, role_zh: "", forced: false, error: None, done: true }),
        Err(e) => {
            let status = e.status;
            (status, render(PasswordPage { role_zh: u.role().zh(), user: Some(u), forced, error: Some(message(e)), done: false }))
                .into_response()
        }
    }
}

#[derive(Deserialize)]
pub struct PasswordBody {
    current_password: String,
    new_password: String,
}

/// `POST /api/account/password`
pub async fn api_change_password(
    State(s): State<AppState>,
    ApiUser(u): ApiUser,
    axum::Json(b): axum::Json<PasswordBody>,
) -> Result<StatusCode, ApiError> {
    s.store.change_own_password(&u.actor(), &b.current_password, &b.new_password, s.clock.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
pub struct AccountAction {
    action: String,
    #[serde(default)]
    temporary_password: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    district: String,
    /// The city screen to come back to, for a provincial administrator.
    #[serde(default)]
    city: String,
}

/// `POST /admin/users/{id}`: one administrator action on an account of the city.
pub async fn act(State(s): State<AppState>, MaybeUser(user): MaybeUser, Path(id): Path<i64>, Form(f): Form<AccountAction>) -> Response {
    let Some(u) = user else { return Redirect::to("/login").into_response() };
    let admin = u.actor();
    let now = s.clock.now();
    let outcome: Result<String, ApiError> = async {
        let target = s.store.user(id).await?.ok_or_else(ApiError::not_found)?;
        let name = target.username.clone();
        match f.action.as_str() {
            "reset_password" => {
                s.store.reset_password(&admin, id, &f.temporary_password, now).await?;
                Ok(format!("已重置“{name}”的密码；该用户下次登录须先设置新密码。"))
            }
            "disable" => {
                s.store.admin_set_disabled(&admin, id, true, now).await?;
                Ok(format!("已停用“{name}”，其登录状态已全部失效。"))
            }
            "enable" => {
                s.store.admin_set_disabled(&admin, id, false, now).await?;
                Ok(format!("已启用“{name}”。"))
            }
            "placement" => {
                let role = Role::parse(&f.role).ok_or_else(|| ApiError::invalid("invalid_input", "请选择角色。"))?;
                let district = Some(f.district.trim()).filter(|d| !d.is_empty());
                s.store.change_placement(&admin, id, role, district, now).await?;
                Ok(format!("已将“{name}”调整为{}{}，需重新登录。", role.zh(), district.map(|d| format!("（{d}）")).unwrap_or_default()))
            }
            "revoke_sessions" => {
                s.store.revoke_sessions(&admin, id, now).await?;
                Ok(format!("已使“{name}”的全部登录状态失效。"))
            }
            _ => Err(ApiError::invalid("invalid_input", "未知的操作。")),
        }
    }
    .await;
    let (error, done) = match outcome {
        Ok(m) => {
            tracing::info!(admin = u.id, account = id, action = f.action.as_str(), "account changed");
            (None, Some(m))
        }
        // Another city's (or province's) account: refused outright, as a page of its own.
        Err(e) if e.status == StatusCode::FORBIDDEN => return super::pages::error_page(e),
        Err(e) => (Some(message(e)), None),
    };
    super::admin::respond(&s, u, Some(&f.city), error, done).await
}
