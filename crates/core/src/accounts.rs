//! Accounts: what a password must be, what a username may be, and who may manage whose account
//! (issue: accounts a real agency can run). The store keeps accounts and sessions; the CLI and
//! the pages ask here first.
//!
//! Not responsible for hashing, sessions or sign-in throttling (the store), nor for the
//! profiles' districts themselves (`policy`).

use crate::policy::Profile;
use crate::refusal::Refusal;
use crate::vocabulary::{Actor, Role};

/// A password's minimum length, in characters (OWASP ASVS 2.1.1 asks for at least 12 without
/// multi-factor sign-in; the issue sets 10 as the floor, with a strength estimate on top).
pub const MIN_PASSWORD_CHARS: usize = 10;
/// A password's maximum length, in characters (ASVS 2.1.2 allows at least 64; Argon2 hashes any
/// length, but an unbounded one is a cheap way to make the server hash megabytes).
pub const MAX_PASSWORD_CHARS: usize = 128;
/// A username's maximum length.
pub const MAX_USERNAME_CHARS: usize = 64;
/// A display name's maximum length.
pub const MAX_DISPLAY_NAME_CHARS: usize = 100;

/// Why a password is refused; each has a Chinese message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WeakPassword {
    TooShort,
    TooLong,
    /// Only spaces, or control characters.
    Blank,
    /// The user name, or the display name, or one of them contained in it.
    LikeName,
    /// A common or easily guessed password (a strength estimate below "safely unguessable").
    Guessable,
}

impl WeakPassword {
    pub fn message_zh(self) -> String {
        match self {
            WeakPassword::TooShort => format!("密码至少 {MIN_PASSWORD_CHARS} 个字符。"),
            WeakPassword::TooLong => format!("密码不能超过 {MAX_PASSWORD_CHARS} 个字符。"),
            WeakPassword::Blank => "密码不能只有空格，也不能含控制字符。".to_owned(),
            WeakPassword::LikeName => "密码不能是用户名或姓名，也不能包含它们。".to_owned(),
            WeakPassword::Guessable => "密码过于常见或容易猜到，请换一个更长、更少见的密码（例如几个不相关的词组合）。".to_owned(),
        }
    }
}

impl From<WeakPassword> for Refusal {
    fn from(w: WeakPassword) -> Refusal {
        Refusal::Invalid { field: "password", reason: w.message_zh() }
    }
}

/// Checks a new password for an account (ASVS 2.1): at least 10 characters, at most 128, not
/// blank or with control characters, not the user name or display name (nor containing either,
/// ignoring case), and not common or easily guessed (zxcvbn's estimate must reach 3, "safely
/// unguessable", with the names as known inputs).
pub fn check_password(username: &str, display_name: &str, password: &str) -> Result<(), WeakPassword> {
    let chars = password.chars().count();
    if password.chars().any(char::is_control) || password.trim().is_empty() {
        return Err(WeakPassword::Blank);
    }
    if chars < MIN_PASSWORD_CHARS {
        return Err(WeakPassword::TooShort);
    }
    if chars > MAX_PASSWORD_CHARS {
        return Err(WeakPassword::TooLong);
    }
    let lower = password.to_lowercase();
    for name in [username, display_name] {
        let name = name.trim().to_lowercase();
        if !name.is_empty() && (lower.contains(&name) || name.contains(&lower)) {
            return Err(WeakPassword::LikeName);
        }
    }
    let estimate = zxcvbn::zxcvbn(password, &[username, display_name]);
    if estimate.score() < zxcvbn::Score::Three {
        return Err(WeakPassword::Guessable);
    }
    Ok(())
}

/// A username as stored: trimmed. Refused when empty, too long, or with anything but ASCII
/// letters, digits and `-_.@` (so two names cannot differ only by look-alike or invisible
/// characters). Uniqueness ignores case; the store compares `username_key`.
pub fn check_username(username: &str) -> Result<String, Refusal> {
    let name = username.trim();
    let bad = |reason: &str| Refusal::Invalid { field: "username", reason: reason.to_owned() };
    if name.is_empty() {
        return Err(bad("请填写用户名。"));
    }
    if name.chars().count() > MAX_USERNAME_CHARS {
        return Err(bad(&format!("用户名不能超过 {MAX_USERNAME_CHARS} 个字符。")));
    }
    if !name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.@".contains(c)) {
        return Err(bad("用户名只能使用英文字母、数字和 - _ . @。"));
    }
    Ok(name.to_owned())
}

/// The key a username is unique by: `HRB-AGENCY` and `hrb-agency` are the same account.
pub fn username_key(username: &str) -> String {
    username.trim().to_ascii_lowercase()
}

/// A display name: trimmed, not empty, no control characters, bounded.
pub fn check_display_name(name: &str) -> Result<String, Refusal> {
    let name = name.trim();
    let bad = |reason: String| Refusal::Invalid { field: "display_name", reason };
    if name.is_empty() {
        return Err(bad("请填写姓名或名称。".into()));
    }
    if name.chars().any(char::is_control) || name.chars().any(crate::text::is_invisible) {
        return Err(bad("姓名不能含控制字符或不可见字符。".into()));
    }
    if name.chars().count() > MAX_DISPLAY_NAME_CHARS {
        return Err(bad(format!("姓名不能超过 {MAX_DISPLAY_NAME_CHARS} 个字符。")));
    }
    Ok(name.to_owned())
}

/// The roles a city's staff account can be given, by an administrator or the command line.
/// Institution accounts belong to a registered institution and are made with it; the system is
/// nobody; a provincial administrator belongs to no city (`may_create`).
pub fn assignable(role: Role) -> bool {
    !matches!(role, Role::Institution | Role::System | Role::ProvincialAdmin)
}

/// Who creates an account.
#[derive(Debug, Clone, Copy)]
pub enum Creator<'a> {
    /// The operator at the server's command line (`dingdian user add`).
    Operator,
    /// A signed-in administrator (a city's, or a provincial one).
    Admin(&'a Actor),
}

/// May `creator` create an account of `role` in `city` (`None`: an account of no city, a
/// provincial administrator's)? A provincial administrator is created only by the operator at
/// the command line, so no administrator can raise anyone (themselves included) above their
/// city or province. An administrator creates accounts in a city it administers
/// (`province::administer`: its own city, or a city of its province), a city's administrator
/// among them.
pub fn may_create(creator: Creator<'_>, role: Role, city: Option<&Profile>) -> Result<(), Refusal> {
    match (creator, role, city) {
        (Creator::Operator, Role::ProvincialAdmin, None) => Ok(()),
        (_, Role::ProvincialAdmin, _) => Err(Refusal::Invalid {
            field: "role",
            reason: "省级管理员账号只能由系统运维人员在服务器上创建。".into(),
        }),
        (_, Role::System, _) => Err(Refusal::Invalid { field: "role", reason: "请选择角色。".into() }),
        (_, _, None) => Err(Refusal::Invalid { field: "city", reason: "请指定账号所属城市。".into() }),
        (Creator::Operator, _, Some(_)) => Ok(()),
        (Creator::Admin(actor), _, Some(city)) => crate::province::administer(actor, city).map(|_| ()),
    }
}

/// Where an account sits: its role, city and district.
#[derive(Debug, Clone, Copy)]
pub struct Placement<'a> {
    pub role: Role,
    pub profile: &'a Profile,
    pub district: Option<&'a str>,
}

/// Is this a valid place for a staff account? The role must be assignable; a district must be
/// one of the city's districts; a branch reviewer needs one (its work is its district's), and
/// only a branch reviewer has one.
pub fn check_placement(p: Placement<'_>) -> Result<(), Refusal> {
    let bad = |field: &'static str, reason: String| Refusal::Invalid { field, reason };
    if p.role == Role::ProvincialAdmin {
        return Err(bad("role", "省级管理员不属于某个城市，只能由系统运维人员在服务器上创建。".into()));
    }
    if !assignable(p.role) {
        return Err(bad("role", "机构账号随机构登记创建，不能在此指定。".into()));
    }
    match (p.role, p.district) {
        (Role::BranchReviewer, None) => Err(bad("district", "分中心审核人员须指定所属区县。".into())),
        (Role::BranchReviewer, Some(d)) if p.profile.district_name(d).is_none() => {
            Err(bad("district", format!("区县代码 {d} 不属于{}。", p.profile.name)))
        }
        (Role::BranchReviewer, Some(_)) => Ok(()),
        (_, Some(_)) => Err(bad("district", "只有分中心审核人员有所属区县。".into())),
        (_, None) => Ok(()),
    }
}

/// May `actor` manage (reset, disable, enable, change role or district, end the sessions of) an
/// account of `city`? Only an administrator of that city, or a provincial administrator of its
/// province (G-VISIBILITY, `province::administer`: nothing crosses cities or provinces), and
/// never their own account's role or state (so a city cannot lose its last administrator by a
/// slip; their own password they change like everyone). An account of no city (a provincial
/// administrator's) has no profile to pass here: only the operator manages it.
pub fn may_manage(actor: &Actor, city: &Profile, target_user_id: i64) -> Result<(), Refusal> {
    crate::province::administer(actor, city)?;
    if actor.user_id == target_user_id {
        return Err(Refusal::Invalid {
            field: "user", reason: "不能停用或变更自己的账号；请由本市另一名管理员办理。".into()
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weak_passwords_are_refused() {
        for (pw, why) in [
            ("12345678", WeakPassword::TooShort),
            ("        ", WeakPassword::Blank),
            ("            ", WeakPassword::Blank),
            ("hrb-agency", WeakPassword::LikeName),
            ("HRB-AGENCY-2026", WeakPassword::LikeName),
            ("password123", WeakPassword::Guessable),
            ("1234567890", WeakPassword::Guessable),
            ("qwertyuiop", WeakPassword::Guessable),
            ("abc\u{0}defghijkl", WeakPassword::Blank),
        ] {
            assert_eq!(check_password("hrb-agency", "哈尔滨经办", pw), Err(why), "{pw:?}");
        }
        assert_eq!(check_password("a", "b", &"x".repeat(129)), Err(WeakPassword::TooLong));
        assert_eq!(check_password("hrb-agency", "哈尔滨经办", "柳树 渡口 七盏 灯笼"), Ok(()));
        assert_eq!(check_password("hrb-agency", "哈尔滨经办", "correct horse battery staple"), Ok(()));
    }

    #[test]
    fn usernames_are_plain_and_unique_ignoring_case() {
        assert_eq!(check_username("  hrb-admin ").unwrap(), "hrb-admin");
        assert_eq!(username_key("HRB-AGENCY"), username_key("hrb-agency"));
        for bad in ["", "   ", "hrb admin", "hrb‐admin", "管理员", "a\u{202e}b", &"a".repeat(65)] {
            assert!(check_username(bad).is_err(), "{bad:?}");
        }
    }

    fn profile(id: &str) -> Profile {
        Profile::shipped().into_iter().find(|p| p.id == id).expect("shipped profile")
    }

    fn actor(role: Role, city: &str, province: Option<&str>) -> Actor {
        Actor { user_id: 5, role, province: province.map(str::to_owned), ..Actor::system(city) }
    }

    #[test]
    fn g_visibility_provincial_admin_manages_accounts_of_its_cities_only() {
        let hlj = actor(Role::ProvincialAdmin, "", Some("230000"));
        assert_eq!(may_manage(&hlj, &profile("harbin"), 9), Ok(()));
        assert_eq!(may_manage(&hlj, &profile("urumqi"), 9), Err(Refusal::NotYourRegion));
        let city_admin = actor(Role::Admin, "harbin", None);
        assert_eq!(may_manage(&city_admin, &profile("harbin"), 9), Ok(()));
        assert_eq!(may_manage(&city_admin, &profile("urumqi"), 9), Err(Refusal::NotYourRegion));
        assert!(may_manage(&city_admin, &profile("harbin"), 5).is_err(), "never their own account");
        let agency = actor(Role::Agency, "harbin", None);
        assert_eq!(may_manage(&agency, &profile("harbin"), 9), Err(Refusal::NotYourRole { required: Role::Admin }));
    }

    #[test]
    fn g_visibility_provincial_admin_creates_city_admins_in_its_province() {
        let hlj = actor(Role::ProvincialAdmin, "", Some("230000"));
        assert_eq!(may_create(Creator::Admin(&hlj), Role::Admin, Some(&profile("harbin"))), Ok(()));
        assert_eq!(may_create(Creator::Admin(&hlj), Role::Admin, Some(&profile("urumqi"))), Err(Refusal::NotYourRegion));
    }

    #[test]
    fn only_the_operator_creates_a_provincial_admin() {
        assert_eq!(may_create(Creator::Operator, Role::ProvincialAdmin, None), Ok(()));
        let city_admin = actor(Role::Admin, "harbin", None);
        let hlj = actor(Role::ProvincialAdmin, "", Some("230000"));
        for creator in [Creator::Admin(&city_admin), Creator::Admin(&hlj)] {
            for city in [None, Some(&profile("harbin"))] {
                let r = may_create(creator, Role::ProvincialAdmin, city);
                assert!(matches!(r, Err(Refusal::Invalid { field: "role", .. })), "{creator:?} {r:?}");
            }
        }
        // Nor does a placement turn an account into one.
        let p = Placement { role: Role::ProvincialAdmin, profile: &profile("harbin"), district: None };
        assert!(check_placement(p).is_err());
        assert!(!assignable(Role::ProvincialAdmin));
        // And every city account needs its city.
        assert!(may_create(Creator::Operator, Role::Admin, None).is_err());
    }
}
