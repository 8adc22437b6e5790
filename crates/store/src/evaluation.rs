//! Evaluation rounds' draws (URC-EVAL-1, G-DRAW): the evaluator pool (CSV import, every change
//! audited), the commitment to two server secrets before the draw, stage 1 (who is drawn) from
//! the frozen pool with a public value entered afterwards, stage 2 (the grouping) drawn by the
//! timer on the grouping day, replacements, and the reveal date. The algorithm and its proof are
//! `dingdian_core::draw`'s.

use std::collections::BTreeMap;

use dingdian_core::draw::{self, Department, DrawInput, DrawRecord, Evaluator, PastAssignment, Tie, TieKind};
use dingdian_core::lifecycle::{Actor, State};
use dingdian_core::visibility::{self, Grouping};
use jiff::Timestamp;
use jiff::civil::Date;
use rand::RngCore;
use serde::Serialize;

use crate::{Result, Store, StoreError, with_pool};

/// A round's draw as stored.
#[derive(Debug, Clone, Serialize)]
pub struct RoundDraw {
    pub round_id: i64,
    /// SHA-256 of the secret, published before the public value is entered.
    pub commitment: String,
    pub committed_at: String,
    pub public_value: Option<String>,
    pub visit_on: Option<Date>,
    /// The grouping is drawn on this day (stage 2), and from it on evaluators and institutions
    /// see each other's names.
    pub reveal_on: Option<Date>,
    pub record: Option<DrawRecord>,
    /// SHA-256 of the grouping secret (stage 2), published with the commitment. `None` for a
    /// round committed before two-stage draws.
    pub grouping_commitment: Option<String>,
    /// When the grouping was drawn.
    pub grouped_at: Option<String>,
}

#[derive(sqlx::FromRow)]
struct DrawRow {
    round_id: i64,
    commitment: String,
    committed_at: String,
    public_value: Option<String>,
    visit_on: Option<String>,
    reveal_on: Option<String>,
    record: Option<String>,
    grouping_commitment: Option<String>,
    grouped_at: Option<String>,
}

fn invalid(message: impl Into<String>) -> StoreError {
    StoreError::Rejected { code: "invalid_input", message: message.into() }
}

fn agency_of(actor: &Actor, city: &str) -> Result<()> {
    Ok(visibility::can_run_evaluation(actor, city)?)
}

/// One line of a pool CSV: `id,name,department,employer,specialty,active,ties`, where `ties` is
/// `USCC:kind:YYYY-MM-DD` entries separated by `;` (kind as in `draw::TieKind`).
fn parse_pool_row(line: usize, rec: &csv::StringRecord) -> std::result::Result<Evaluator, String> {
    let get = |i: usize| rec.get(i).unwrap_or("").trim().to_owned();
    let id = get(0);
    if id.is_empty() {
        return Err(format!("第 {line} 行：编号不能为空"));
    }
    let department: Department = serde_json::from_value(get(2).into()).map_err(|_| {
        format!("第 {line} 行：部门“{}”无效（insurance、health、market_regulation、industry_association、insurance_committee）", get(2))
    })?;
    let active = match get(5).as_str() {
        "" | "1" | "true" | "是" => true,
        "0" | "false" | "否" => false,
        other => return Err(format!("第 {line} 行：是否在库“{other}”无效")),
    };
    let mut ties = Vec::new();
    for t in get(6).split(';').map(str::trim).filter(|t| !t.is_empty()) {
        let parts: Vec<&str> = t.split(':').collect();
        let [uscc, kind, since] = parts[..] else {
            return Err(format!("第 {line} 行：关联关系“{t}”应为 统一社会信用代码:类型:日期"));
        };
        let kind: TieKind = serde_json::from_value(kind.into()).map_err(|_| format!("第 {line} 行：关联关系类型“{kind}”无效"))?;
        let since: Date = since.parse().map_err(|_| format!("第 {line} 行：日期“{since}”无效"))?;
        ties.push(Tie { institution_uscc: uscc.to_uppercase(), kind, since });
    }
    Ok(Evaluator { id, name: get(1), department, employer: get(3), specialty: get(4), active, ties })
}

impl Store {
    /// Imports (adds or updates) a city's evaluator pool from CSV, all or nothing; every change
    /// is recorded with who made it.
    pub async fn import_evaluators(&self, actor: &Actor, csv_text: &str, now: Timestamp) -> Result<usize> {
        agency_of(actor, &actor.city)?;
        let text = csv_text.strip_prefix('\u{feff}').unwrap_or(csv_text);
        let mut reader = csv::ReaderBuilder::new().has_headers(true).from_reader(text.as_bytes());
        let mut rows = Vec::new();
        let mut errors = Vec::new();
        for (i, rec) in reader.records().enumerate() {
            match rec.map_err(|e| e.to_string()).and_then(|r| parse_pool_row(i + 2, &r)) {
                Ok(e) => rows.push(e),
                Err(e) => errors.push(e),
            }
        }
        if !errors.is_empty() {
            return Err(invalid(errors.join("\n")));
        }
        // Nothing crosses cities: an id already in another city's pool is refused, never renamed.
        for (id, city) in self.evaluator_cities(rows.iter().map(|e| e.id.as_str())).await? {
            if visibility::can_run_evaluation(actor, &city).is_err() {
                return Err(StoreError::Rejected {
                    code: "not_your_region",
                    message: format!("评估人员编号 {id} 已属于其他城市的评估人员库，不能导入或修改。"),
                });
            }
        }
        let existing: BTreeMap<String, Evaluator> = self.evaluators(&actor.city).await?.into_iter().map(|e| (e.id.clone(), e)).collect();
        let ts = now.to_string();
        with_pool!(self, p => {
            let mut tx = p.begin().await?;
            for e in &rows {
                let before = existing.get(&e.id);
                if before == Some(e) {
                    continue;
                }
                let ties = serde_json::to_string(&e.ties).map_err(|x| StoreError::Internal(x.to_string()))?;
                let written = sqlx::query(
                    "insert into evaluators (id, city, name, department, employer, specialty, active, ties, created_at, updated_at)
                     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)
                     on conflict (id) do update set name = excluded.name, department = excluded.department, employer = excluded.employer,
                     specialty = excluded.specialty, active = excluded.active, ties = excluded.ties, updated_at = excluded.updated_at
                     where evaluators.city = excluded.city",
                )
                .bind(&e.id)
                .bind(&actor.city)
                .bind(&e.name)
                .bind(e.department.as_str())
                .bind(&e.employer)
                .bind(&e.specialty)
                .bind(i64::from(e.active))
                .bind(ties)
                .bind(&ts)
                .execute(&mut *tx)
                .await?;
                // Another city took the id meanwhile: the guard above wrote nothing.
                if written.rows_affected() == 0 {
                    return Err(StoreError::Rejected {
                        code: "not_your_region",
                        message: format!("评估人员编号 {} 已属于其他城市的评估人员库，不能导入或修改。", e.id),
                    });
                }
                let change = serde_json::json!({ "before": before, "after": e }).to_string();
                sqlx::query("insert into evaluator_changes (evaluator_id, actor_user_id, change, created_at) values ($1, $2, $3, $4)")
                    .bind(&e.id)
                    .bind(actor.user_id)
                    .bind(change)
                    .bind(&ts)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
        });
        Ok(rows.len())
    }

    /// The city of each of these evaluator ids already in some pool.
    async fn evaluator_cities<'a>(&self, ids: impl Iterator<Item = &'a str>) -> Result<Vec<(String, String)>> {
        let ids: Vec<&str> = ids.collect();
        let mut out = Vec::new();
        for chunk in ids.chunks(400) {
            let placeholders: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let sql = format!("select id, city from evaluators where id in ({})", placeholders.join(","));
            let rows: Vec<(String, String)> = with_pool!(self, p => {
                let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()));
                for id in chunk {
                    q = q.bind(*id);
                }
                q.fetch_all(p).await?
            });
            out.extend(rows);
        }
        Ok(out)
    }

    /// The pool of a city, by id.
    pub async fn evaluators(&self, city: &str) -> Result<Vec<Evaluator>> {
        let rows: Vec<(String, String, String, String, String, i64, String)> = with_pool!(self, p => {
            sqlx::query_as("select id, name, department, employer, specialty, active, ties from evaluators where city = $1 order by id")
                .bind(city)
                .fetch_all(p)
                .await?
        });
        rows.into_iter()
            .map(|(id, name, department, employer, specialty, active, ties)| {
                let corrupt = || StoreError::Corrupt(format!("evaluator {id}"));
                Ok(Evaluator {
                    department: serde_json::from_value(department.clone().into()).map_err(|_| corrupt())?,
                    ties: serde_json::from_str(&ties).map_err(|_| corrupt())?,
                    active: active != 0,
                    id: id.clone(),
                    name,
                    employer,
                    specialty,
                })
            })
            .collect()
    }

    /// Step 1: the server commits to a fresh secret; only its hash is published.
    pub async fn commit_draw(&self, round_id: i64, actor: &Actor, now: Timestamp) -> Result<RoundDraw> {
        let round = self.round(round_id).await?.ok_or(StoreError::NotFound)?;
        agency_of(actor, &round.city)?;
        if round.status != "open" {
            return Err(invalid("该评估批次已开始，不能再抽取。"));
        }
        let fresh = || {
            let mut raw = [0u8; 32];
            rand::rng().fill_bytes(&mut raw);
            let secret = hex::encode(raw);
            draw::commit(&secret).map(|c| (secret, c)).map_err(|e| StoreError::Internal(e.to_string()))
        };
        // Two secrets: one for stage 1 (who is drawn), one for stage 2 (the grouping, drawn the
        // day before the visit); both committed now, before any public value is known.
        let (secret, commitment) = fresh()?;
        let (grouping_secret, grouping_commitment) = fresh()?;
        let ts = now.to_string();
        let inserted = with_pool!(self, p => {
            sqlx::query(
                "insert into round_draws (round_id, commitment, secret, committed_at, updated_at, grouping_commitment, grouping_secret)
                 values ($1, $2, $3, $4, $4, $5, $6) on conflict (round_id) do nothing",
            )
            .bind(round_id)
            .bind(&commitment)
            .bind(&secret)
            .bind(&ts)
            .bind(&grouping_commitment)
            .bind(&grouping_secret)
            .execute(p)
            .await?
            .rows_affected()
        });
        if inserted == 0 {
            return Err(invalid("该评估批次已公布承诺值，不能重复。"));
        }
        self.round_draw(round_id).await?.ok_or(StoreError::NotFound)
    }

    pub async fn round_draw(&self, round_id: i64) -> Result<Option<RoundDraw>> {
        let row: Option<DrawRow> = with_pool!(self, p => {
            sqlx::query_as(
                "select round_id, commitment, committed_at, public_value, visit_on, reveal_on, record, grouping_commitment, grouped_at
                 from round_draws where round_id = $1",
            )
            .bind(round_id)
            .fetch_optional(p)
            .await?
        });
        row.map(|r| {
            let corrupt = || StoreError::Corrupt(format!("draw of round {}", r.round_id));
            Ok(RoundDraw {
                round_id: r.round_id,
                commitment: r.commitment,
                committed_at: r.committed_at,
                public_value: r.public_value,
                visit_on: r.visit_on.as_deref().map(str::parse).transpose().map_err(|_| corrupt())?,
                reveal_on: r.reveal_on.as_deref().map(str::parse).transpose().map_err(|_| corrupt())?,
                record: r.record.as_deref().map(serde_json::from_str).transpose().map_err(|_| corrupt())?,
                grouping_commitment: r.grouping_commitment,
                grouped_at: r.grouped_at,
            })
        })
        .transpose()
    }

    /// Rounds that have a completed draw.
    pub async fn drawn_rounds(&self) -> Result<Vec<i64>> {
        let rows: Vec<(i64,)> = with_pool!(self, p => {
            sqlx::query_as("select round_id from round_draws where record is not null order by round_id").fetch_all(p).await?
        });
        Ok(rows.into_iter().map(|r| r.0).collect())
    }

    /// Whether `draw_round` would draw now, without drawing: the same refusals (scope, the
    /// profile's draw, the visit day, the public value, the commitment, members), except a rest
    /// day, which the page asks the agency to confirm (URC-EVAL-1). A drawn round is refused.
    pub async fn check_draw(&self, round_id: i64, actor: &Actor, public_value: &str, visit_on: Date, now: Timestamp) -> Result<()> {
        let round = self.round(round_id).await?.ok_or(StoreError::NotFound)?;
        agency_of(actor, &round.city)?;
        let profile = self.current_profile(&round.city).ok_or(StoreError::NotFound)?;
        let config = profile.evaluation.clone().ok_or_else(|| invalid("本地区规则未设置评估人员抽取。"))?;
        let today = dingdian_core::china_date(now);
        visibility::grouping_day(&self.calendar(), today, visit_on, config.reveal_working_days_before, true)?;
        if public_value.trim().is_empty() {
            return Err(invalid("请填写公开随机值（如当日公布的彩票开奖号码）。"));
        }
        let stored = self.round_draw(round_id).await?.ok_or_else(|| invalid("请先公布承诺值，再抽取。"))?;
        if stored.record.is_some() {
            return Err(invalid("该评估批次已抽取，抽取结果不能重新抽取。"));
        }
        if self.round_member_usccs(round_id).await?.is_empty() {
            return Err(invalid("该评估批次还没有申请。"));
        }
        Ok(())
    }

    /// Step 2, stage 1 of the draw: with the public value entered after the commitment, draw the
    /// round's evaluators from the frozen pool (not their grouping), store the record, and start
    /// the round's site evaluations. The grouping (stage 2) is drawn by the timer on the grouping
    /// day, the day before the visit (`visibility::grouping_day`); a visit on a rest day needs
    /// `confirm_rest_day`.
    pub async fn draw_round(
        &self,
        round_id: i64,
        actor: &Actor,
        public_value: &str,
        visit_on: Date,
        confirm_rest_day: bool,
        now: Timestamp,
    ) -> Result<RoundDraw> {
        let round = self.round(round_id).await?.ok_or(StoreError::NotFound)?;
        agency_of(actor, &round.city)?;
        let profile = self.current_profile(&round.city).ok_or(StoreError::NotFound)?;
        let config = profile.evaluation.clone().ok_or_else(|| invalid("本地区规则未设置评估人员抽取。"))?;
        let today = dingdian_core::china_date(now);
        let reveal_on = visibility::grouping_day(&self.calendar(), today, visit_on, config.reveal_working_days_before, confirm_rest_day)?;
        let public_value = public_value.trim();
        if public_value.is_empty() {
            return Err(invalid("请填写公开随机值（如当日公布的彩票开奖号码）。"));
        }
        let stored = self.round_draw(round_id).await?.ok_or_else(|| invalid("请先公布承诺值，再抽取。"))?;
        if stored.record.is_none() {
            let (secret,): (String,) = with_pool!(self, p => {
                sqlx::query_as("select secret from round_draws where round_id = $1").bind(round_id).fetch_one(p).await?
            });
            let members = self.round_member_usccs(round_id).await?;
            if members.is_empty() {
                return Err(invalid("该评估批次还没有申请。"));
            }
            let input = DrawInput {
                round_id: format!("{}-{round_id}", round.city),
                on: today,
                composition: config.composition.clone(),
                candidates: self.evaluators(&round.city).await?,
                institutions: members,
                history: self.past_assignments(&round.city).await?,
                secret_commitment: stored.commitment.clone(),
                secret,
                public_value: public_value.to_owned(),
            };
            let record = match &stored.grouping_commitment {
                Some(gc) => draw::draw_stage1(&input, gc, reveal_on),
                // Committed before two-stage draws: the one-stage draw it committed to.
                None => draw::draw(&input),
            }
            .map_err(|e| StoreError::Rejected { code: "draw_refused", message: e.to_string() })?;
            let json = serde_json::to_string(&record).map_err(|e| StoreError::Internal(e.to_string()))?;
            with_pool!(self, p => {
                sqlx::query(
                    "update round_draws set public_value = $1, visit_on = $2, reveal_on = $3, record = $4, drawn_at = $5, updated_at = $5
                     where round_id = $6 and record is null",
                )
                .bind(public_value)
                .bind(visit_on.to_string())
                .bind(reveal_on.to_string())
                .bind(json)
                .bind(now.to_string())
                .bind(round_id)
                .execute(p)
                .await?;
            });
        }
        if round.status == "open" {
            self.start_round(round_id, actor, now).await?;
        }
        self.round_draw(round_id).await?.ok_or(StoreError::NotFound)
    }

    /// A drawn evaluator declined or was found conflicted: draw the replacement reproducibly
    /// from the same record.
    pub async fn replace_evaluator(&self, round_id: i64, actor: &Actor, uscc: &str, evaluator_id: &str, reason: &str) -> Result<String> {
        let round = self.round(round_id).await?.ok_or(StoreError::NotFound)?;
        agency_of(actor, &round.city)?;
        if reason.trim().is_empty() {
            return Err(invalid("请说明更换原因（回避或无法参加）。"));
        }
        let (before,): (Option<String>,) = with_pool!(self, p => {
            sqlx::query_as("select record from round_draws where round_id = $1").bind(round_id).fetch_optional(p).await?
        })
        .ok_or_else(|| invalid("该批次尚未抽取。"))?;
        let before = before.ok_or_else(|| invalid("该批次尚未抽取。"))?;
        let mut record: DrawRecord = serde_json::from_str(&before).map_err(|_| StoreError::Corrupt(format!("draw of round {round_id}")))?;
        // Before the grouping (stage 2) nobody is placed with an institution: the replacement
        // takes the evaluator's place among those drawn, whatever institution is named.
        let chosen = draw::replacement(&mut record, uscc, evaluator_id, reason.trim())
            .map_err(|e| StoreError::Rejected { code: "draw_refused", message: e.to_string() })?;
        let json = serde_json::to_string(&record).map_err(|e| StoreError::Internal(e.to_string()))?;
        // Only over the record read: a grouping (or another replacement) stored meanwhile wins
        // and this one is asked again.
        let written = with_pool!(self, p => {
            sqlx::query("update round_draws set record = $1 where round_id = $2 and record = $3")
                .bind(json)
                .bind(round_id)
                .bind(&before)
                .execute(p)
                .await?
                .rows_affected()
        });
        if written == 0 {
            return Err(StoreError::Rejected {
                code: "stale_version",
                message: "抽取记录刚刚已更新（如已完成分组），请刷新后重试。".into(),
            });
        }
        Ok(chosen)
    }

    /// URC-EVAL-1 stage 2, run by every timer pass (`dingdian tick`, the server's ticker): draws
    /// the grouping of every round whose grouping day has come. The public value is the audit
    /// chain's head at that moment (`audit:<seq>:<hash>`), which did not exist before; the
    /// grouping secret was committed at the commitment. Exactly once, whatever the number of
    /// instances: the record is stored only over the stage-1 record it was computed from and
    /// while no grouping is stored (`grouped_at`); a pass that crashes before that statement
    /// leaves the round to the next pass. Returns the rounds grouped now, and the rounds whose
    /// grouping could not be drawn with why.
    pub async fn group_due_rounds(&self, now: Timestamp) -> Result<(Vec<i64>, Vec<(i64, String)>)> {
        let today = dingdian_core::china_date(now).to_string();
        let due: Vec<(i64, String, String, String)> = with_pool!(self, p => {
            sqlx::query_as(
                "select d.round_id, d.record, d.grouping_secret, r.city from round_draws d join rounds r on r.id = d.round_id
                 where d.record is not null and d.grouping_secret is not null and d.grouped_at is null and d.reveal_on <= $1
                 order by d.round_id",
            )
            .bind(&today)
            .fetch_all(p)
            .await?
        });
        let (mut grouped, mut held) = (Vec::new(), Vec::new());
        for (round_id, before, secret, city) in due {
            let mut record: DrawRecord =
                serde_json::from_str(&before).map_err(|_| StoreError::Corrupt(format!("draw of round {round_id}")))?;
            if draw::is_grouped(&record) {
                continue;
            }
            // The public value: the head of the round's city's audit chain — or, for a round of
            // a city with no entry since the chains were split, the shared chain's head.
            let heads: Vec<(String, i64, String)> = with_pool!(self, p => {
                sqlx::query_as("select chain, seq, hash from audit_heads where chain = $1 or chain = $2")
                    .bind(dingdian_core::audit::chain_of(Some(&city)))
                    .bind(dingdian_core::audit::SHARED_CHAIN)
                    .fetch_all(p)
                    .await?
            });
            let Some((_, seq, hash)) = heads.into_iter().filter(|h| h.1 > 0).max_by_key(|h| h.0 != dingdian_core::audit::SHARED_CHAIN)
            else {
                held.push((round_id, "the audit chain has no entry yet".to_owned()));
                continue;
            };
            let public_value = format!("audit:{seq}:{hash}");
            if let Err(e) = draw::draw_stage2(&mut record, &secret, &public_value) {
                tracing::error!(round_id, error = %e, "drawing a grouping failed");
                held.push((round_id, e.to_string()));
                continue;
            }
            let json = serde_json::to_string(&record).map_err(|e| StoreError::Internal(e.to_string()))?;
            let written = with_pool!(self, p => {
                sqlx::query(
                    "update round_draws set record = $1, grouped_at = $2, updated_at = $2
                     where round_id = $3 and grouped_at is null and record = $4",
                )
                .bind(json)
                .bind(now.to_string())
                .bind(round_id)
                .bind(&before)
                .execute(p)
                .await?
                .rows_affected()
            });
            if written == 1 {
                grouped.push(round_id);
            }
        }
        Ok((grouped, held))
    }

    async fn round_member_usccs(&self, round_id: i64) -> Result<Vec<String>> {
        let rows: Vec<(String,)> = with_pool!(self, p => {
            sqlx::query_as(
                "select i.uscc from applications a join institutions i on i.id = a.institution_id
                 where a.round_id = $1 and a.state = $2 order by i.uscc",
            )
            .bind(round_id)
            .bind(State::EvaluatorDraw.as_str())
            .fetch_all(p)
            .await?
        });
        Ok(rows.into_iter().map(|r| r.0).collect())
    }

    /// Every earlier assignment in the city, for the no-repeat rule.
    async fn past_assignments(&self, city: &str) -> Result<Vec<PastAssignment>> {
        let rows: Vec<(String, Option<String>)> = with_pool!(self, p => {
            sqlx::query_as(
                "select d.record, d.visit_on from round_draws d join rounds r on r.id = d.round_id where r.city = $1 and d.record is not null",
            )
            .bind(city)
            .fetch_all(p)
            .await?
        });
        let mut out = Vec::new();
        for (json, visit) in rows {
            let record: DrawRecord = serde_json::from_str(&json).map_err(|_| StoreError::Corrupt("draw record".into()))?;
            let on = visit.and_then(|v| v.parse().ok()).unwrap_or(record.input.on);
            for (uscc, ids) in draw::final_groups(&record) {
                out.extend(ids.into_iter().map(|evaluator_id| PastAssignment { evaluator_id, institution_uscc: uscc.clone(), on }));
            }
        }
        Ok(out)
    }

    /// URC-EVAL-1: an application's grouping in its drawn round — the evaluators grouped with its
    /// institution (after replacements), the visit and the reveal. `None` before the draw.
    pub(crate) async fn grouping(&self, round_id: i64, institution_id: i64) -> Result<Option<Grouping>> {
        let Some(d) = self.round_draw(round_id).await? else { return Ok(None) };
        let Some(record) = &d.record else { return Ok(None) };
        if !draw::is_grouped(record) {
            let pending = Some(draw::drawn_evaluators(record));
            return Ok(Some(Grouping { evaluators: Vec::new(), visit_on: d.visit_on, reveal_on: d.reveal_on, pending }));
        }
        let uscc = self.institution(institution_id).await?.ok_or(StoreError::NotFound)?.uscc;
        let evaluators = draw::final_groups(record).remove(&uscc).unwrap_or_default();
        Ok(Some(Grouping { evaluators, visit_on: d.visit_on, reveal_on: d.reveal_on, pending: None }))
    }

    /// An evaluator's assignments (URC-EVAL-1): the days always; the institution and its
    /// application only once the core says the grouping is revealed.
    pub async fn assignments(&self, actor: &Actor, today: Date) -> Result<Vec<Assignment>> {
        let Some(me) = actor.evaluator_id.as_deref() else { return Ok(Vec::new()) };
        let institutions = self.institutions(Some(&actor.city)).await?;
        let visible = self.applications_for(actor, None, 1000, today).await?;
        let mut out = Vec::new();
        for round in self.rounds(&actor.city).await? {
            let Some(d) = self.round_draw(round.id).await? else { continue };
            let Some(record) = &d.record else { continue };
            if !draw::is_grouped(record) {
                // Drawn, the grouping not yet: the days only.
                if draw::drawn_evaluators(record).iter().any(|e| e == me) {
                    out.push(Assignment {
                        round_id: round.id,
                        visit_on: d.visit_on,
                        reveal_on: d.reveal_on,
                        revealed: false,
                        institution: None,
                        application: None,
                    });
                }
                continue;
            }
            for (uscc, evaluators) in draw::final_groups(record) {
                let grouping = Grouping { evaluators, visit_on: d.visit_on, reveal_on: d.reveal_on, pending: None };
                if !grouping.includes(Some(me)) {
                    continue;
                }
                let revealed = visibility::sees_assignment(&grouping, today);
                let institution = institutions.iter().find(|i| i.uscc == uscc).filter(|_| revealed).cloned();
                let application = institution
                    .as_ref()
                    .and_then(|i| visible.iter().find(|a| a.institution_id == i.id && a.round_id == Some(round.id)))
                    .map(|a| a.id);
                out.push(Assignment {
                    round_id: round.id,
                    visit_on: d.visit_on,
                    reveal_on: d.reveal_on,
                    revealed,
                    institution,
                    application,
                });
            }
        }
        Ok(out)
    }
}

/// One of an evaluator's assignments.
#[derive(Debug, Clone, Serialize)]
pub struct Assignment {
    pub round_id: i64,
    pub visit_on: Option<Date>,
    pub reveal_on: Option<Date>,
    pub revealed: bool,
    /// Only from the reveal on.
    pub institution: Option<crate::InstitutionRecord>,
    /// The application to score, once revealed.
    pub application: Option<i64>,
}
