//! Provinces: which cities a provincial administrator manages, and the checks that keep a
//! policy directory's cities distinct (issue #17 item 10). A city belongs to the province whose
//! GB/T 2260 code its profile's `division` starts with (230100 哈尔滨市 → 230000 黑龙江省): the
//! division code is already in every profile, checked on load, and is the official answer, so
//! no second `province` key can disagree with it (docs/decisions.md).
//!
//! Not responsible for loading profiles (`policy`) nor for what an administrator may do inside
//! a city once scoped to it (`accounts::may_manage`, `visibility`).

use crate::policy::Profile;
use crate::refusal::Refusal;
use crate::vocabulary::{Actor, Role};

/// The province-level divisions of GB/T 2260: the first two digits and the name.
const PROVINCES: &[(&str, &str)] = &[
    ("11", "北京市"),
    ("12", "天津市"),
    ("13", "河北省"),
    ("14", "山西省"),
    ("15", "内蒙古自治区"),
    ("21", "辽宁省"),
    ("22", "吉林省"),
    ("23", "黑龙江省"),
    ("31", "上海市"),
    ("32", "江苏省"),
    ("33", "浙江省"),
    ("34", "安徽省"),
    ("35", "福建省"),
    ("36", "江西省"),
    ("37", "山东省"),
    ("41", "河南省"),
    ("42", "湖北省"),
    ("43", "湖南省"),
    ("44", "广东省"),
    ("45", "广西壮族自治区"),
    ("46", "海南省"),
    ("50", "重庆市"),
    ("51", "四川省"),
    ("52", "贵州省"),
    ("53", "云南省"),
    ("54", "西藏自治区"),
    ("61", "陕西省"),
    ("62", "甘肃省"),
    ("63", "青海省"),
    ("64", "宁夏回族自治区"),
    ("65", "新疆维吾尔自治区"),
    ("71", "台湾省"),
    ("81", "香港特别行政区"),
    ("82", "澳门特别行政区"),
];

/// A province-level division, as its six-digit GB/T 2260 code (`230000`). Once parsed it is one
/// of the known provinces.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Province {
    prefix: &'static str,
    name: &'static str,
}

impl Province {
    /// Reads `230000` or `23` (surrounding spaces ignored); anything else, or a code that is no
    /// province, is refused with a Chinese message.
    pub fn parse(code: &str) -> Result<Province, Refusal> {
        let code = code.trim();
        let prefix = match code.len() {
            2 => code,
            6 if code.ends_with("0000") => &code[..2],
            _ => "",
        };
        Province::of_prefix(prefix)
            .ok_or_else(|| Refusal::Invalid {
                field: "province", reason: format!("“{code}”不是省级行政区划代码（如黑龙江省为 230000）。")
            })
    }

    fn of_prefix(prefix: &str) -> Option<Province> {
        PROVINCES.iter().find(|(p, _)| *p == prefix).map(|(p, name)| Province { prefix: p, name })
    }

    /// The province of a city's (or district's) six-digit division code.
    pub fn of_division(division: &str) -> Option<Province> {
        if division.len() != 6 || !division.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        Province::of_prefix(&division[..2])
    }

    /// The six-digit code, e.g. `230000`.
    pub fn code(&self) -> String {
        format!("{}0000", self.prefix)
    }

    /// The Chinese name, e.g. 黑龙江省.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Does this city's profile belong to the province?
    pub fn contains(&self, city: &Profile) -> bool {
        Province::of_division(&city.division).as_ref() == Some(self)
    }
}

/// The province an actor administers: a provincial administrator's, parsed. Anyone else, or an
/// account whose stored province is not one (a corrupt row), has none.
pub fn province_of(actor: &Actor) -> Option<Province> {
    match actor.role {
        Role::ProvincialAdmin => actor.province.as_deref().and_then(|p| Province::parse(p).ok()),
        _ => None,
    }
}

/// G-VISIBILITY: the actor an administrator acts as inside `city`. A city's administrator acts
/// in their own city only; a provincial administrator in every city of its province, as itself
/// scoped to that city (its role stays `ProvincialAdmin`, so it still handles no application).
/// Everyone else is refused.
pub fn administer(actor: &Actor, city: &Profile) -> Result<Actor, Refusal> {
    match actor.role {
        Role::Admin if actor.city == city.id => Ok(actor.clone()),
        Role::Admin => Err(Refusal::NotYourRegion),
        Role::ProvincialAdmin => match province_of(actor) {
            Some(p) if p.contains(city) => Ok(Actor { city: city.id.clone(), ..actor.clone() }),
            _ => Err(Refusal::NotYourRegion),
        },
        _ => Err(Refusal::NotYourRole { required: Role::Admin }),
    }
}

/// G-VISIBILITY: the cities a provincial administrator manages, ordered by division code. Anyone
/// else manages at most their own city through `administer`, and gets none here.
pub fn cities<'a>(actor: &Actor, profiles: impl IntoIterator<Item = &'a Profile>) -> Vec<&'a Profile> {
    let Some(p) = province_of(actor) else { return Vec::new() };
    let mut out: Vec<&Profile> = profiles.into_iter().filter(|c| p.contains(c)).collect();
    out.sort_by(|a, b| a.division.cmp(&b.division).then_with(|| a.id.cmp(&b.id)));
    out
}

/// LAW-WD data is national: the holiday calendar is loaded or replaced by a city's
/// administrator or a provincial administrator, nobody else.
pub fn may_load_calendar(actor: &Actor) -> Result<(), Refusal> {
    match actor.role {
        Role::Admin | Role::ProvincialAdmin => Ok(()),
        _ => Err(Refusal::NotYourRole { required: Role::Admin }),
    }
}

/// Problems with a set of profiles loaded together (a policy directory, or the files given to
/// `dingdian policy check`), one sentence each naming the files: two files for the same city id,
/// or two cities with the same division code. With `named_after_city` (a policy directory),
/// also a file not named `<profile id>.toml`, so the city an operator dropped it in for is the
/// city that gets it. Empty when the set is sound. A division of no known province is no
/// problem: that city simply belongs to no provincial administrator.
pub fn check_cities(profiles: &[(String, &Profile)], named_after_city: bool) -> Vec<String> {
    let mut problems = Vec::new();
    for (i, (file, p)) in profiles.iter().enumerate() {
        let stem = std::path::Path::new(file).file_stem().and_then(|s| s.to_str()).unwrap_or_default();
        if named_after_city && stem != p.id {
            problems.push(format!(
                "{file}: the file is named {stem:?} but its profile id is {:?}; name it {}.toml (the city {stem:?} has no profile otherwise)",
                p.id, p.id
            ));
        }
        for (other, q) in &profiles[..i] {
            if q.id == p.id {
                problems.push(format!("{file}: profile id {:?} is claimed by {other} as well; one city, one profile file", p.id));
            } else if q.division == p.division {
                problems.push(format!(
                    "{file}: division {} ({}) is claimed by {other} (profile {:?}) as well; one city, one profile file",
                    p.division, p.name, q.id
                ));
            }
        }
    }
    problems
}

/// Records that refer to a city without a profile in force (`dingdian check`): each `(what,
/// city)` whose city no profile has, and each provincial administrator's province no profile
/// lies in, one sentence each. Such accounts can do nothing until the profile is back in the
/// policy directory, so the operator hears of it rather than the users.
pub fn missing_cities<'a>(
    records: impl IntoIterator<Item = (&'a str, &'a str)>,
    provinces: impl IntoIterator<Item = (&'a str, &'a str)>,
    profiles: &[&Profile],
) -> Vec<String> {
    let mut problems: Vec<String> = records
        .into_iter()
        .filter(|(_, city)| !profiles.iter().any(|p| p.id == *city))
        .map(|(what, city)| {
            format!("{what} belongs to city {city:?}, which has no profile in force: put {city}.toml back in the policy directory")
        })
        .collect();
    for (who, code) in provinces {
        match Province::parse(code) {
            Ok(p) if profiles.iter().any(|c| p.contains(c)) => {}
            Ok(p) => problems.push(format!(
                "provincial administrator {who} manages {} ({}), where no city has a profile in force",
                p.code(),
                p.name()
            )),
            Err(_) => problems.push(format!("provincial administrator {who} has the province {code:?}, which is no province")),
        }
    }
    problems.sort();
    problems.dedup();
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(id: &str) -> Profile {
        Profile::shipped().into_iter().find(|p| p.id == id).expect("shipped profile")
    }

    /// A third city of Heilongjiang, derived from Harbin as docs/province.md does it.
    fn qiqihar() -> Profile {
        Profile { id: "qiqihar".into(), name: "齐齐哈尔市".into(), division: "230200".into(), ..profile("harbin") }
    }

    fn provincial(province: &str) -> Actor {
        Actor { user_id: 7, role: Role::ProvincialAdmin, city: String::new(), province: Some(province.into()), ..Actor::system("") }
    }

    fn admin(city: &str) -> Actor {
        Actor { user_id: 8, role: Role::Admin, ..Actor::system(city) }
    }

    #[test]
    fn province_codes_parse_in_both_spellings_and_nothing_else() {
        assert_eq!(Province::parse("230000").map(|p| p.code()), Ok("230000".to_owned()));
        assert_eq!(Province::parse(" 23 ").map(|p| p.name()), Ok("黑龙江省"));
        for bad in ["", "230100", "99", "990000", "2300", "abcdef", "２３"] {
            assert!(Province::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(Province::of_division("650100").map(|p| p.name()), Some("新疆维吾尔自治区"));
        assert_eq!(Province::of_division("65010"), None);
    }

    #[test]
    fn g_visibility_provincial_admin_administers_every_city_of_its_province_only() {
        let hlj = provincial("230000");
        let harbin = profile("harbin");
        let scoped = administer(&hlj, &harbin).expect("Harbin is in Heilongjiang");
        assert_eq!((scoped.role, scoped.city.as_str()), (Role::ProvincialAdmin, "harbin"));
        assert_eq!(administer(&hlj, &qiqihar()).map(|a| a.city), Ok("qiqihar".to_owned()));
        assert_eq!(administer(&hlj, &profile("urumqi")), Err(Refusal::NotYourRegion));
        // A corrupt stored province is no province.
        assert_eq!(administer(&provincial("garbage"), &harbin), Err(Refusal::NotYourRegion));
    }

    #[test]
    fn g_visibility_city_admin_administers_its_own_city_only_and_staff_none() {
        assert!(administer(&admin("harbin"), &profile("harbin")).is_ok());
        assert_eq!(administer(&admin("harbin"), &qiqihar()), Err(Refusal::NotYourRegion));
        for role in [Role::Agency, Role::Supervisor, Role::BranchReviewer, Role::Institution, Role::Evaluator, Role::Expert] {
            let a = Actor { role, ..admin("harbin") };
            assert_eq!(administer(&a, &profile("harbin")), Err(Refusal::NotYourRole { required: Role::Admin }), "{role:?}");
        }
    }

    #[test]
    fn g_visibility_cities_lists_the_province_in_division_order() {
        let all = [qiqihar(), profile("urumqi"), profile("harbin")];
        let ids: Vec<&str> = cities(&provincial("23"), &all).iter().map(|p| p.id.as_str()).collect();
        assert_eq!(ids, ["harbin", "qiqihar"]);
        assert!(cities(&provincial("650000"), &all).iter().all(|p| p.id == "urumqi"));
        assert!(cities(&admin("harbin"), &all).is_empty());
    }

    #[test]
    fn law_wd_calendar_is_loaded_by_administrators_only() {
        assert!(may_load_calendar(&provincial("230000")).is_ok());
        assert!(may_load_calendar(&admin("harbin")).is_ok());
        let agency = Actor { role: Role::Agency, ..admin("harbin") };
        assert!(may_load_calendar(&agency).is_err());
    }

    #[test]
    fn check_cities_names_misnamed_and_duplicate_profiles() {
        let (h, q, u) = (profile("harbin"), qiqihar(), profile("urumqi"));
        let sound = [("p/harbin.toml".to_owned(), &h), ("p/qiqihar.toml".to_owned(), &q), ("p/urumqi.toml".to_owned(), &u)];
        assert!(check_cities(&sound, true).is_empty());
        let misnamed = check_cities(&[("p/daqing.toml".into(), &q)], true);
        assert!(misnamed[0].contains("p/daqing.toml") && misnamed[0].contains("qiqihar.toml"), "{misnamed:?}");
        assert!(check_cities(&[("p/daqing.toml".into(), &q)], false).is_empty(), "policy check takes any file name");
        let twice = Profile { id: "qiqihar2".into(), ..qiqihar() };
        let dup = check_cities(&[("p/qiqihar.toml".into(), &q), ("p/qiqihar2.toml".into(), &twice)], true);
        assert_eq!(dup.len(), 1, "{dup:?}");
        assert!(dup[0].contains("230200") && dup[0].contains("p/qiqihar.toml"), "{dup:?}");
        let same_id = check_cities(&[("a/harbin.toml".into(), &h), ("b/harbin.toml".into(), &h)], false);
        assert!(same_id.iter().any(|m| m.contains("claimed by a/harbin.toml")), "{same_id:?}");
    }

    #[test]
    fn missing_cities_names_orphaned_accounts_and_empty_provinces() {
        let (h, u) = (profile("harbin"), profile("urumqi"));
        let in_force = [&h, &u];
        assert!(missing_cities([("account a", "harbin")], [("hlj", "230000")], &in_force).is_empty());
        let found = missing_cities([("account a", "qiqihar"), ("institution 3", "qiqihar")], [("js", "320000"), ("x", "zz")], &in_force);
        assert_eq!(found.len(), 4, "{found:?}");
        assert!(found.iter().any(|m| m.contains("account a") && m.contains("qiqihar.toml")), "{found:?}");
        assert!(found.iter().any(|m| m.contains("js") && m.contains("江苏省")), "{found:?}");
    }

    #[test]
    fn g_visibility_provincial_admin_reads_no_application_of_any_city() {
        use crate::visibility::{Listing, Scope, can_read, listing};
        let hlj = provincial("230000");
        let harbin_app = Scope::institution(1, "harbin", "230102");
        assert_eq!(can_read(&hlj, &harbin_app, jiff::civil::date(2026, 3, 2)), Err(Refusal::NotYourRegion));
        assert_eq!(listing(&hlj), Listing::City(String::new()), "its lists match no row");
        // Scoped to Harbin for its statistics, it sees Harbin's rows and no other city's.
        let scoped = administer(&hlj, &profile("harbin")).unwrap();
        assert_eq!(listing(&scoped), Listing::City("harbin".into()));
        let urumqi_app = Scope::institution(2, "urumqi", "650102");
        assert_eq!(can_read(&scoped, &urumqi_app, jiff::civil::date(2026, 3, 2)), Err(Refusal::NotYourRegion));
    }
}
