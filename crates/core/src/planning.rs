//! The planning (设置规划) an initial review is held against (URC-REV-1 "根据医疗保障定点医药机构
//! 设置规划要求…进行初审"; principles 区域分布、人口密度、服务内容、布局合理): per district and kind
//! of institution, the resident population and a ceiling on designated institutions or a target
//! density per 10,000 residents, kept by the city's administrator; the designated count is the
//! system's own signed agreements. `assess` decides whether one more designation fits.
//!
//! Not responsible for storing the figures or counting agreements (the store), nor for who may
//! edit them (`visibility::can_edit_planning`).

use serde::{Deserialize, Serialize};

use crate::vocabulary::InstitutionKind;

/// The administrator's figures for one district and kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanRow {
    pub district: String,
    pub kind: InstitutionKind,
    /// Resident population.
    pub population: u64,
    /// At most this many designated institutions of the kind in the district.
    pub ceiling: Option<u32>,
    /// At most this many per 10,000 residents, in hundredths (150 = 1.50).
    pub density_centi: Option<u32>,
}

/// The figures of an application's district and kind, as the initial review sees them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Assessment {
    pub rule: String,
    /// The plan's row, `None` when the administrator has set none for the district and kind.
    pub plan: Option<PlanRow>,
    /// Designated institutions of the kind in the district now (signed agreements).
    pub designated: u32,
    /// How many the plan allows: the lower of the ceiling and the density's figure.
    pub capacity: Option<u32>,
    /// Designated per 10,000 residents now, in hundredths.
    pub density_now_centi: Option<u64>,
    /// Whether one more designation fits the plan; `None` without a plan (nothing to check).
    pub fits: Option<bool>,
}

impl PlanRow {
    /// The number the plan allows, if it sets a limit.
    pub fn capacity(&self) -> Option<u32> {
        // population × density / 10,000, the density in hundredths: floor(p × d / 1,000,000).
        let by_density =
            self.density_centi.map(|d| u32::try_from(u128::from(self.population) * u128::from(d) / 1_000_000).unwrap_or(u32::MAX));
        match (self.ceiling, by_density) {
            (Some(c), Some(d)) => Some(c.min(d)),
            (c, d) => c.or(d),
        }
    }
}

/// URC-REV-1: does one more designated institution of this kind fit the district's plan?
pub fn assess(rule: &str, plan: Option<PlanRow>, designated: u32) -> Assessment {
    let capacity = plan.as_ref().and_then(PlanRow::capacity);
    let density_now_centi = plan
        .as_ref()
        .filter(|p| p.population > 0)
        .map(|p| u64::try_from(u128::from(designated) * 1_000_000 / u128::from(p.population)).unwrap_or(u64::MAX));
    let fits = capacity.map(|c| designated < c);
    Assessment { rule: rule.to_owned(), plan, designated, capacity, density_now_centi, fits }
}

/// "1.50" for 150 hundredths.
pub fn centi_label(centi: u64) -> String {
    format!("{}.{:02}", centi / 100, centi % 100)
}

/// Parses "1.5" / "2" / "1.25" into hundredths; `None` for anything else (negative, more than
/// two decimals, not a number).
pub fn parse_centi(text: &str) -> Option<u32> {
    let t = text.trim();
    let (whole, frac) = t.split_once('.').unwrap_or((t, ""));
    if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) || frac.len() > 2 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let whole: u32 = whole.parse().ok()?;
    let frac: u32 = if frac.is_empty() { 0 } else { format!("{frac:0<2}").parse().ok()? };
    whole.checked_mul(100)?.checked_add(frac)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(population: u64, ceiling: Option<u32>, density_centi: Option<u32>) -> PlanRow {
        PlanRow { district: "650102".into(), kind: InstitutionKind::Pharmacy, population, ceiling, density_centi }
    }

    #[test]
    fn urc_rev_1_capacity_is_the_lower_limit() {
        // 200,000 residents at 1.50 per 10,000: 30.
        assert_eq!(row(200_000, None, Some(150)).capacity(), Some(30));
        assert_eq!(row(200_000, Some(25), Some(150)).capacity(), Some(25));
        assert_eq!(row(200_000, Some(40), Some(150)).capacity(), Some(30));
        assert_eq!(row(200_000, None, None).capacity(), None);
        let a = assess("URC-REV-1", Some(row(200_000, Some(2), None)), 2);
        assert_eq!((a.fits, a.density_now_centi), (Some(false), Some(10)));
        assert_eq!(assess("URC-REV-1", Some(row(200_000, Some(2), None)), 1).fits, Some(true));
        assert_eq!(assess("URC-REV-1", None, 7).fits, None);
    }

    #[test]
    fn densities_parse_in_hundredths() {
        assert_eq!(parse_centi("1.5"), Some(150));
        assert_eq!(parse_centi("2"), Some(200));
        assert_eq!(parse_centi("0.25"), Some(25));
        assert_eq!(parse_centi("1.555"), None);
        assert_eq!(parse_centi("-1"), None);
        assert_eq!(parse_centi(""), None);
        assert_eq!(centi_label(150), "1.50");
    }
}
