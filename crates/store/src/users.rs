//! Managing accounts (issue: accounts a real agency can run): creating staff accounts, setting,
//! changing and resetting passwords, disabling and enabling, changing role or district, and
//! ending an account's sessions. Each change and its audit entry (G-AUDIT) commit together.
//!
//! The rules — what a password must be, who may manage whom, which placements are valid — are
//! `dingdian_core::accounts`; this module checks nothing the core decides, it loads and records.

use dingdian_core::accounts;
use dingdian_core::audit::{self, Entry};
use dingdian_core::lifecycle::{Actor, Role};
use dingdian_core::refusal::Refusal;
use jiff::Timestamp;
use serde::Serialize;

use crate::accounts::hash_password;
use crate::{Result, Store, StoreError, User, with_pool};

/// Who did an account change: a signed-in person, or the operator at the command line.
#[derive(Debug, Clone, Copy)]
pub struct By<'a> {
    pub user_id: i64,
    pub role: &'a str,
}

impl<'a> By<'a> {
    /// The operator running `dingdian user …` on the server (no account; recorded as such).
    pub const OPERATOR: By<'static> = By { user_id: 0, role: "operator" };

    pub fn actor(a: &'a Actor) -> By<'a> {
        By { user_id: a.user_id, role: a.role.as_str() }
    }
}

/// A staff account to create.
pub struct NewStaff<'a> {
    pub username: &'a str,
    pub display_name: &'a str,
    pub password: &'a str,
    pub role: Role,
    /// The city's profile id; empty for a provincial administrator.
    pub city: &'a str,
    pub district: Option<&'a str>,
    /// The province (`230000` or `23`), for a provincial administrator only.
    pub province: Option<&'a str>,
}

/// An account as an administrator sees it in a list.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct AccountRow {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub role: String,
    pub city: String,
    pub district: Option<String>,
    pub province: Option<String>,
    pub disabled_at: Option<String>,
    pub must_change_password: i64,
}

/// One change to an account, with its audit entry.
enum Change<'a> {
    Create {
        username: &'a str,
        key: String,
        display_name: &'a str,
        hash: String,
        role: Role,
        city: &'a str,
        district: Option<&'a str>,
        institution_id: Option<i64>,
        province: Option<String>,
    },
    Password {
        user_id: i64,
        hash: String,
        must_change: bool,
    },
    Disabled {
        user_id: i64,
        disabled: bool,
    },
    Placement {
        user_id: i64,
        role: Role,
        district: Option<&'a str>,
    },
    EndSessions {
        user_id: i64,
    },
}

fn refused(r: Refusal) -> StoreError {
    StoreError::Refused(r)
}

impl Store {
    /// Creates a staff account (`dingdian user add`, an administrator's form). Refuses a weak
    /// password, an unknown city, a district outside the city or a placement the role does not
    /// take, and a username that exists already, ignoring case.
    pub async fn create_staff(&self, by: By<'_>, u: NewStaff<'_>, now: Timestamp) -> Result<User> {
        self.create_account(accounts::Creator::Operator, by, u, now).await
    }

    /// An administrator (a city's, or a provincial one) creates a staff account in a city it
    /// administers (`accounts::may_create`); never a provincial administrator.
    pub async fn create_staff_as(&self, admin: &Actor, u: NewStaff<'_>, now: Timestamp) -> Result<User> {
        self.create_account(accounts::Creator::Admin(admin), By::actor(admin), u, now).await
    }

    async fn create_account(&self, creator: accounts::Creator<'_>, by: By<'_>, u: NewStaff<'_>, now: Timestamp) -> Result<User> {
        let username = accounts::check_username(u.username).map_err(refused)?;
        let display_name =
            accounts::check_display_name(if u.display_name.trim().is_empty() { &username } else { u.display_name }).map_err(refused)?;
        let (city, province) = if u.role == Role::ProvincialAdmin {
            accounts::may_create(creator, u.role, None).map_err(refused)?;
            let raw = u.province.unwrap_or_default();
            let province = dingdian_core::province::Province::parse(raw).map_err(refused)?;
            if !u.city.trim().is_empty() || u.district.is_some() {
                return Err(refused(Refusal::Invalid {
                    field: "city", reason: "省级管理员属于省，不指定城市或区县。".into()
                }));
            }
            ("", Some(province.code()))
        } else {
            let profile = self.current_profile(u.city).ok_or_else(|| {
                refused(Refusal::Invalid {
                    field: "city", reason: format!("没有城市“{}”的办理规则，请核对城市代码。", u.city)
                })
            })?;
            accounts::may_create(creator, u.role, Some(&profile)).map_err(refused)?;
            accounts::check_placement(accounts::Placement { role: u.role, profile: &profile, district: u.district }).map_err(refused)?;
            if u.province.is_some() {
                return Err(refused(Refusal::Invalid { field: "province", reason: "只有省级管理员指定所属省份。".into() }));
            }
            (u.city, None)
        };
        accounts::check_password(&username, &display_name, u.password).map_err(|w| refused(w.into()))?;
        let key = accounts::username_key(&username);
        if self.user_by_username(&username).await?.is_some() {
            return Err(refused(Refusal::Invalid {
                field: "username", reason: format!("用户名“{username}”已被使用（不区分大小写）。")
            }));
        }
        let hash = hash_password(u.password).await?;
        let change = Change::Create {
            username: &username,
            key,
            display_name: &display_name,
            hash,
            role: u.role,
            city,
            district: u.district,
            institution_id: None,
            province,
        };
        let id = self.change_account(by, change, now).await?;
        self.user(id).await?.ok_or(StoreError::NotFound)
    }

    /// An administrator creates an account for a registered institution of their city (an
    /// institution without one, or a second account for it).
    pub async fn create_institution_account(
        &self,
        admin: &Actor,
        institution_id: i64,
        username: &str,
        display_name: &str,
        password: &str,
        now: Timestamp,
    ) -> Result<User> {
        let inst = self.institution(institution_id).await?.ok_or(StoreError::NotFound)?;
        let profile = self.current_profile(&inst.city).ok_or(StoreError::NotFound)?;
        accounts::may_manage(admin, &profile, 0).map_err(refused)?;
        let username = accounts::check_username(username).map_err(refused)?;
        let display_name =
            accounts::check_display_name(if display_name.trim().is_empty() { &inst.name } else { display_name }).map_err(refused)?;
        accounts::check_password(&username, &display_name, password).map_err(|w| refused(w.into()))?;
        if self.user_by_username(&username).await?.is_some() {
            return Err(refused(Refusal::Invalid {
                field: "username", reason: format!("用户名“{username}”已被使用（不区分大小写）。")
            }));
        }
        let hash = hash_password(password).await?;
        let change = Change::Create {
            key: accounts::username_key(&username),
            username: &username,
            display_name: &display_name,
            hash,
            role: Role::Institution,
            city: &inst.city,
            district: None,
            institution_id: Some(inst.id),
            province: None,
        };
        let id = self.change_account(By::actor(admin), change, now).await?;
        self.user(id).await?.ok_or(StoreError::NotFound)
    }

    /// Sets a new password chosen by the account's owner (or by the operator at the command
    /// line, `dingdian user passwd`), ending every other session of the account.
    pub async fn set_password(&self, by: By<'_>, username: &str, password: &str, now: Timestamp) -> Result<User> {
        let user = self.user_by_username(username).await?.ok_or(StoreError::NotFound)?;
        accounts::check_password(&user.username, &user.display_name, password).map_err(|w| refused(w.into()))?;
        let hash = hash_password(password).await?;
        self.change_account(by, Change::Password { user_id: user.id, hash, must_change: false }, now).await?;
        self.user(user.id).await?.ok_or(StoreError::NotFound)
    }

    /// Changes my own password: the current one must be right.
    pub async fn change_own_password(&self, me: &Actor, current: &str, new: &str, now: Timestamp) -> Result<()> {
        let user = self.user(me.user_id).await?.ok_or(StoreError::NotFound)?;
        if self.authenticate(&user.username, current).await?.is_none() {
            return Err(refused(Refusal::Invalid { field: "current_password", reason: "当前密码不正确。".into() }));
        }
        if current == new {
            return Err(refused(Refusal::Invalid { field: "password", reason: "新密码不能与当前密码相同。".into() }));
        }
        self.set_password(By::actor(me), &user.username, new, now).await.map(|_| ())
    }

    /// An administrator resets a password to a temporary one the user must replace at the next
    /// sign-in; the account's sessions end.
    pub async fn reset_password(&self, admin: &Actor, user_id: i64, temporary: &str, now: Timestamp) -> Result<()> {
        let user = self.managed(admin, user_id).await?;
        accounts::check_password(&user.username, &user.display_name, temporary).map_err(|w| refused(w.into()))?;
        let hash = hash_password(temporary).await?;
        self.change_account(By::actor(admin), Change::Password { user_id, hash, must_change: true }, now).await.map(|_| ())
    }

    /// Disables or enables an account; disabling ends its sessions at once.
    pub async fn set_disabled(&self, by: By<'_>, user_id: i64, disabled: bool, now: Timestamp) -> Result<()> {
        self.change_account(by, Change::Disabled { user_id, disabled }, now).await.map(|_| ())
    }

    /// An administrator disables or enables an account of their city.
    pub async fn admin_set_disabled(&self, admin: &Actor, user_id: i64, disabled: bool, now: Timestamp) -> Result<()> {
        self.managed(admin, user_id).await?;
        self.set_disabled(By::actor(admin), user_id, disabled, now).await
    }

    /// An administrator changes the role and district of a staff account of their city.
    pub async fn change_placement(&self, admin: &Actor, user_id: i64, role: Role, district: Option<&str>, now: Timestamp) -> Result<()> {
        let user = self.managed(admin, user_id).await?;
        if !accounts::assignable(user.role()) {
            return Err(refused(Refusal::Invalid { field: "role", reason: "机构账号的角色不能变更。".into() }));
        }
        let profile = self.current_profile(&user.city).ok_or(StoreError::NotFound)?;
        accounts::check_placement(accounts::Placement { role, profile: &profile, district }).map_err(refused)?;
        self.change_account(By::actor(admin), Change::Placement { user_id, role, district }, now).await.map(|_| ())
    }

    /// An administrator ends every session of an account of their city.
    pub async fn revoke_sessions(&self, admin: &Actor, user_id: i64, now: Timestamp) -> Result<()> {
        self.managed(admin, user_id).await?;
        self.change_account(By::actor(admin), Change::EndSessions { user_id }, now).await.map(|_| ())
    }

    /// The accounts of a city (or all), for `dingdian user list` and the administrators' page.
    pub async fn accounts(&self, city: Option<&str>) -> Result<Vec<AccountRow>> {
        Ok(with_pool!(self, p => {
            sqlx::query_as::<_, AccountRow>(
                "select id, username, display_name, role, city, district, province, disabled_at, must_change_password from users
                 where ($1 is null or city = $1) order by city, role, username",
            )
            .bind(city)
            .fetch_all(p)
            .await?
        }))
    }

    /// Whether the account must choose a new password before doing anything else.
    pub async fn must_change_password(&self, user_id: i64) -> Result<bool> {
        let row: Option<(i64,)> = with_pool!(self, p => {
            sqlx::query_as("select must_change_password from users where id = $1").bind(user_id).fetch_optional(p).await?
        });
        Ok(row.is_some_and(|(m,)| m != 0))
    }

    /// The account an administrator is about to manage, after the core said they may.
    async fn managed(&self, admin: &Actor, user_id: i64) -> Result<User> {
        let user = self.user(user_id).await?.ok_or(StoreError::NotFound)?;
        // An account of no city in force (a provincial administrator's) is the operator's only.
        let profile = self.current_profile(&user.city).ok_or(refused(Refusal::NotYourRegion))?;
        accounts::may_manage(admin, &profile, user.id).map_err(refused)?;
        Ok(user)
    }

    /// Applies one change and appends its audit entry in one transaction. Returns the account id.
    async fn change_account(&self, by: By<'_>, change: Change<'_>, now: Timestamp) -> Result<i64> {
        let ts = now.to_string();
        let pg = self.is_postgres();
        let (kind, payload) = match &change {
            Change::Create { username, role, city, district, institution_id, province, .. } => (
                "account_created",
                match province {
                    None => {
                        serde_json::json!({ "username": username, "role": role.as_str(), "city": city, "district": district, "institution_id": institution_id })
                    }
                    Some(p) => serde_json::json!({ "username": username, "role": role.as_str(), "province": p }),
                },
            ),
            Change::Password { user_id, must_change, .. } => {
                (if *must_change { "password_reset" } else { "password_changed" }, serde_json::json!({ "user_id": user_id }))
            }
            Change::Disabled { user_id, disabled } => {
                (if *disabled { "account_disabled" } else { "account_enabled" }, serde_json::json!({ "user_id": user_id }))
            }
            Change::Placement { user_id, role, district } => {
                ("account_placement_changed", serde_json::json!({ "user_id": user_id, "role": role.as_str(), "district": district }))
            }
            Change::EndSessions { user_id } => ("sessions_revoked", serde_json::json!({ "user_id": user_id })),
        };
        let id = with_pool!(self, p => {
            let mut tx = p.begin().await?;
            // G-AUDIT: the entry goes to the chain of the account's city (the shared chain for an
            // account of no city); its head is locked until commit.
            let city: Option<String> = match &change {
                Change::Create { city, .. } => Some((*city).to_owned()),
                Change::Password { user_id, .. }
                | Change::Disabled { user_id, .. }
                | Change::Placement { user_id, .. }
                | Change::EndSessions { user_id } => {
                    sqlx::query_as::<_, (Option<String>,)>("select city from users where id = $1")
                        .bind(*user_id)
                        .fetch_optional(&mut *tx)
                        .await?
                        .and_then(|(c,)| c)
                }
            };
            let chain = audit::chain_of(city.as_deref());
            let (seq, prev) = crate::audit_store::lock_chain!(tx, pg, chain, &ts);
            let id = match &change {
                Change::Create { username, key, display_name, hash, role, city, district, institution_id, province } => {
                    let (id,): (i64,) = sqlx::query_as(
                        "insert into users (username, username_key, display_name, password_hash, role, city, district, created_at, updated_at, institution_id, province)
                         values ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9, $10) returning id",
                    )
                    .bind(*username)
                    .bind(key)
                    .bind(*display_name)
                    .bind(hash)
                    .bind(role.as_str())
                    .bind(*city)
                    .bind(*district)
                    .bind(&ts)
                    .bind(*institution_id)
                    .bind(province.as_deref())
                    .fetch_one(&mut *tx)
                    .await?;
                    id
                }
                Change::Password { user_id, hash, must_change } => {
                    sqlx::query("update users set password_hash = $1, must_change_password = $2, updated_at = $3 where id = $4")
                        .bind(hash)
                        .bind(i64::from(*must_change))
                        .bind(&ts)
                        .bind(user_id)
                        .execute(&mut *tx)
                        .await?;
                    // A new password ends the other sessions: the new one starts at sign-in.
                    sqlx::query("delete from sessions where user_id = $1").bind(user_id).execute(&mut *tx).await?;
                    *user_id
                }
                Change::Disabled { user_id, disabled } => {
                    sqlx::query("update users set disabled_at = $1, updated_at = $2 where id = $3")
                        .bind(disabled.then_some(ts.as_str()))
                        .bind(&ts)
                        .bind(user_id)
                        .execute(&mut *tx)
                        .await?;
                    if *disabled {
                        sqlx::query("delete from sessions where user_id = $1").bind(user_id).execute(&mut *tx).await?;
                    }
                    *user_id
                }
                Change::Placement { user_id, role, district } => {
                    sqlx::query("update users set role = $1, district = $2, updated_at = $3 where id = $4")
                        .bind(role.as_str())
                        .bind(*district)
                        .bind(&ts)
                        .bind(user_id)
                        .execute(&mut *tx)
                        .await?;
                    // What the sessions may do changed with the role: sign in again.
                    sqlx::query("delete from sessions where user_id = $1").bind(user_id).execute(&mut *tx).await?;
                    *user_id
                }
                Change::EndSessions { user_id } => {
                    sqlx::query("delete from sessions where user_id = $1").bind(user_id).execute(&mut *tx).await?;
                    *user_id
                }
            };
            let mut payload = payload.clone();
            payload["account_id"] = serde_json::json!(id);
            let entry = Entry {
                chain,
                seq: seq + 1,
                application_id: 0,
                app_seq: 0,
                kind,
                payload: &payload,
                from_state: "-",
                to_state: "-",
                actor_user_id: by.user_id,
                actor_role: by.role,
                occurred_at: &ts,
            };
            // `hash` returns `None` only for an unknown algorithm; ALG is the one it implements.
            let hash = audit::hash(&entry, &prev, audit::ALG).expect("known algorithm");
            sqlx::query(
                "insert into account_events (audit_seq, kind, user_id, actor_role, payload, occurred_at, occurred_on, prev_hash, hash, alg, chain)
                 values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            )
            .bind(seq + 1)
            .bind(kind)
            .bind(by.user_id)
            .bind(by.role)
            .bind(payload.to_string())
            .bind(&ts)
            .bind(dingdian_core::china_date(now).to_string())
            .bind(&prev)
            .bind(&hash)
            .bind(audit::ALG)
            .bind(chain)
            .execute(&mut *tx)
            .await?;
            crate::audit_store::advance_chain!(tx, chain, seq + 1, &hash, &ts);
            tx.commit().await?;
            id
        });
        Ok(id)
    }
}
