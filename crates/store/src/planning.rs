//! The planning figures (URC-REV-1, 设置规划) the city's administrator keeps per district and kind,
//! and the designated count (the system's own signed agreements). The core assesses them
//! (`dingdian_core::planning::assess`); this module only loads and records.

use dingdian_core::lifecycle::{Actor, Refusal};
use dingdian_core::planning::{Assessment, PlanRow, assess};
use dingdian_core::policy::InstitutionKind;
use dingdian_core::visibility;
use jiff::Timestamp;

use crate::{AppRecord, Result, Store, StoreError, with_pool};

/// Longest population accepted (the largest city district is a few million).
const MAX_POPULATION: u64 = 100_000_000;

fn kind_str(kind: InstitutionKind) -> &'static str {
    match kind {
        InstitutionKind::Medical => "medical",
        InstitutionKind::Pharmacy => "pharmacy",
    }
}

fn kind_of(s: &str) -> Option<InstitutionKind> {
    match s {
        "medical" => Some(InstitutionKind::Medical),
        "pharmacy" => Some(InstitutionKind::Pharmacy),
        _ => None,
    }
}

type Row = (String, String, i64, Option<i64>, Option<i64>);

fn to_row(r: Row) -> Result<PlanRow> {
    let (district, kind, population, ceiling, density) = r;
    let corrupt = || StoreError::Corrupt(format!("planning row {district}/{kind}"));
    Ok(PlanRow {
        kind: kind_of(&kind).ok_or_else(corrupt)?,
        population: u64::try_from(population).map_err(|_| corrupt())?,
        ceiling: ceiling.map(u32::try_from).transpose().map_err(|_| corrupt())?,
        density_centi: density.map(u32::try_from).transpose().map_err(|_| corrupt())?,
        district,
    })
}

impl Store {
    /// The city's planning figures, by district and kind.
    pub async fn planning(&self, city: &str) -> Result<Vec<PlanRow>> {
        let rows: Vec<Row> = with_pool!(self, p => {
            sqlx::query_as("select district, kind, population, ceiling, density_centi from planning where city = $1 order by district, kind")
                .bind(city)
                .fetch_all(p)
                .await?
        });
        rows.into_iter().map(to_row).collect()
    }

    /// URC-REV-1: the administrator of `city` sets one district's figures for one kind (a row
    /// without a ceiling and without a density removes the limit but keeps the population).
    pub async fn set_plan(&self, actor: &Actor, row: &PlanRow, now: Timestamp) -> Result<()> {
        visibility::can_edit_planning(actor, &actor.city)?;
        let profile = self.current_profile(&actor.city).ok_or(StoreError::NotFound)?;
        let invalid = |field: &'static str, reason: &str| StoreError::from(Refusal::Invalid { field, reason: reason.into() });
        if profile.planning.is_none() {
            return Err(invalid("planning", "本市的定点规则没有设置规划环节。"));
        }
        if !profile.districts.iter().any(|d| d.code == row.district) {
            return Err(invalid("district", "请选择本市的区县。"));
        }
        if !profile.kinds.contains(&row.kind) {
            return Err(invalid("kind", "本市不受理此类机构。"));
        }
        if row.population == 0 || row.population > MAX_POPULATION {
            return Err(invalid("population", "常住人口须为正整数。"));
        }
        let population = i64::try_from(row.population).map_err(|_| invalid("population", "常住人口须为正整数。"))?;
        with_pool!(self, p => {
            sqlx::query(
                "insert into planning (city, district, kind, population, ceiling, density_centi, updated_at, updated_by)
                 values ($1, $2, $3, $4, $5, $6, $7, $8)
                 on conflict (city, district, kind) do update set population = $4, ceiling = $5, density_centi = $6, updated_at = $7, updated_by = $8",
            )
            .bind(&actor.city)
            .bind(&row.district)
            .bind(kind_str(row.kind))
            .bind(population)
            .bind(row.ceiling.map(i64::from))
            .bind(row.density_centi.map(i64::from))
            .bind(now.to_string())
            .bind(actor.user_id)
            .execute(p)
            .await?;
        });
        tracing::info!(admin = actor.user_id, city = actor.city, district = row.district, kind = kind_str(row.kind), "planning set");
        Ok(())
    }

    /// URC-REV-1: the figures an initial review of `app` is held against — the plan's row for
    /// its district and kind, and the institutions of that kind in the district with a signed
    /// agreement. `None` when the application's profile has no planning.
    pub async fn planning_for(&self, app: &AppRecord) -> Result<Option<Assessment>> {
        let profile = self.profile_for(app)?;
        let Some(cfg) = profile.planning.as_ref() else { return Ok(None) };
        let kind = app.institution_kind();
        let row: Option<Row> = with_pool!(self, p => {
            sqlx::query_as("select district, kind, population, ceiling, density_centi from planning where city = $1 and district = $2 and kind = $3")
                .bind(&app.city)
                .bind(&app.district)
                .bind(kind_str(kind))
                .fetch_optional(p)
                .await?
        });
        let (designated,): (i64,) = with_pool!(self, p => {
            sqlx::query_as("select count(distinct institution_id) from applications where city = $1 and district = $2 and kind = $3 and state = 'signed'")
                .bind(&app.city)
                .bind(&app.district)
                .bind(kind_str(kind))
                .fetch_one(p)
                .await?
        });
        let plan = row.map(to_row).transpose()?;
        Ok(Some(assess(&cfg.rule, plan, u32::try_from(designated).unwrap_or(u32::MAX))))
    }
}
