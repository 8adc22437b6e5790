//! The institution registry: people who run institutions (stored once, by resident ID number,
//! shown masked), the history the not-accepted rules read, and the all-or-nothing CSV import.

use dingdian_core::eligibility::{Record, RecordKind};
use dingdian_core::ids::ResidentId;
use dingdian_core::policy::{InstitutionKind, Profile};
use dingdian_core::registry::{self, RowError};
use jiff::Timestamp;
use jiff::civil::Date;
use serde::Serialize;

use crate::{Result, Store, StoreError, with_pool};

/// The roles a person holds in an institution (URC-REJ-MED-7 / URC-REJ-PHA-5 follow them).
pub const PERSON_ROLES: &[(&str, &str)] =
    &[("legal_representative", "法定代表人"), ("principal", "主要负责人"), ("actual_controller", "实际控制人")];

/// A person as shown: the resident ID number masked.
#[derive(Debug, Clone, Serialize)]
pub struct PersonView {
    pub id: i64,
    pub name: String,
    pub resident_id: String,
    pub role: String,
}

/// A history entry as shown.
#[derive(Debug, Clone, Serialize)]
pub struct RecordView {
    pub id: i64,
    pub kind: String,
    pub label: String,
    pub occurred_on: String,
    pub fulfilled: bool,
    pub until_on: Option<String>,
    pub source: String,
    pub note: String,
    /// The person the record is about, masked, when it is a person's record.
    pub person: Option<String>,
}

/// A new history entry. Exactly one of `institution_id` and `person` is set.
pub struct NewRecord<'a> {
    pub institution_id: Option<i64>,
    pub person: Option<&'a ResidentId>,
    pub kind: RecordKind,
    pub occurred_on: Date,
    pub fulfilled: bool,
    pub until_on: Option<Date>,
    pub source: &'a str,
    pub note: &'a str,
}

#[derive(sqlx::FromRow)]
struct RecordRow {
    id: i64,
    kind: String,
    occurred_on: String,
    fulfilled: i64,
    until_on: Option<String>,
    source: String,
    note: String,
    person_name: Option<String>,
    resident_id: Option<String>,
}

fn mask_name(name: &str) -> String {
    let mut c = name.chars();
    match c.next() {
        Some(first) => format!("{first}{}", "*".repeat(c.count().max(1))),
        None => String::new(),
    }
}

fn masked_id(raw: &str) -> String {
    ResidentId::parse(raw).map(|r| r.masked()).unwrap_or_else(|_| "******".into())
}

fn invalid(message: impl Into<String>) -> StoreError {
    StoreError::Rejected { code: "invalid_input", message: message.into() }
}

impl Store {
    /// Links a person (created once per resident ID number) to an institution in a role.
    pub async fn add_person(&self, institution_id: i64, id: &ResidentId, name: &str, role: &str, now: Timestamp) -> Result<i64> {
        if !PERSON_ROLES.iter().any(|(r, _)| *r == role) {
            return Err(invalid("职务应为法定代表人（legal_representative）、主要负责人（principal）或实际控制人（actual_controller）。"));
        }
        let name = name.trim();
        if name.is_empty() {
            return Err(invalid("姓名不能为空。"));
        }
        self.institution(institution_id).await?.ok_or(StoreError::NotFound)?;
        let ts = now.to_string();
        let person_id = with_pool!(self, p => {
            let mut tx = p.begin().await?;
            sqlx::query("insert into persons (resident_id, name, created_at, updated_at) values ($1, $2, $3, $3) on conflict (resident_id) do nothing")
                .bind(id.expose())
                .bind(name)
                .bind(&ts)
                .execute(&mut *tx)
                .await?;
            let (pid,): (i64,) = sqlx::query_as("select id from persons where resident_id = $1").bind(id.expose()).fetch_one(&mut *tx).await?;
            sqlx::query("insert into institution_persons (institution_id, person_id, role, created_at) values ($1, $2, $3, $4) on conflict do nothing")
                .bind(institution_id)
                .bind(pid)
                .bind(role)
                .bind(&ts)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            pid
        });
        Ok(person_id)
    }

    pub async fn persons(&self, institution_id: i64) -> Result<Vec<PersonView>> {
        let rows: Vec<(i64, String, String, String)> = with_pool!(self, p => {
            sqlx::query_as(
                "select p.id, p.name, p.resident_id, ip.role from persons p join institution_persons ip on ip.person_id = p.id
                 where ip.institution_id = $1 order by p.id, ip.role",
            )
            .bind(institution_id)
            .fetch_all(p)
            .await?
        });
        Ok(rows
            .into_iter()
            .map(|(id, name, rid, role)| PersonView { id, name: mask_name(&name), resident_id: masked_id(&rid), role })
            .collect())
    }

    /// Records a fact on an institution's or a person's history.
    pub async fn add_record(&self, r: NewRecord<'_>, by: Option<i64>, now: Timestamp) -> Result<i64> {
        let person_id = match (r.institution_id, r.person) {
            (Some(_), None) => None,
            (None, Some(rid)) => {
                let row: Option<(i64,)> = with_pool!(self, p => {
                    sqlx::query_as("select id from persons where resident_id = $1").bind(rid.expose()).fetch_optional(p).await?
                });
                Some(row.ok_or_else(|| invalid("该身份证号码的人员尚未登记，请先在机构中登记其职务。"))?.0)
            }
            _ => return Err(invalid("记录须且只能属于一个机构或一个人员。")),
        };
        if let Some(id) = r.institution_id {
            self.institution(id).await?.ok_or(StoreError::NotFound)?;
        }
        if r.source.trim().is_empty() {
            return Err(invalid("请注明信息来源。"));
        }
        let (id,): (i64,) = with_pool!(self, p => {
            sqlx::query_as(
                "insert into records (institution_id, person_id, kind, occurred_on, fulfilled, until_on, source, note, created_by, created_at)
                 values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) returning id",
            )
            .bind(r.institution_id)
            .bind(person_id)
            .bind(r.kind.as_str())
            .bind(r.occurred_on.to_string())
            .bind(i64::from(r.fulfilled))
            .bind(r.until_on.map(|d| d.to_string()))
            .bind(r.source.trim())
            .bind(r.note.trim())
            .bind(by)
            .bind(now.to_string())
            .fetch_one(p)
            .await?
        });
        Ok(id)
    }

    async fn record_rows(&self, institution_id: i64) -> Result<Vec<RecordRow>> {
        // The institution's own records, and those of every person who runs it now: a
        // person's record follows them to every institution they represent or control.
        Ok(with_pool!(self, p => {
            sqlx::query_as::<_, RecordRow>(
                "select r.id, r.kind, r.occurred_on, r.fulfilled, r.until_on, r.source, r.note, pe.name as person_name,
                        pe.resident_id as resident_id
                 from records r left join persons pe on pe.id = r.person_id
                 where r.institution_id = $1
                    or r.person_id in (select person_id from institution_persons where institution_id = $1)
                 order by r.occurred_on, r.id",
            )
            .bind(institution_id)
            .fetch_all(p)
            .await?
        }))
    }

    /// The history the not-accepted rules read.
    pub async fn history(&self, institution_id: i64) -> Result<Vec<Record>> {
        self.record_rows(institution_id)
            .await?
            .into_iter()
            .map(|r| {
                let corrupt = || StoreError::Corrupt(format!("record {}", r.id));
                Ok(Record {
                    kind: RecordKind::parse(&r.kind).ok_or_else(corrupt)?,
                    date: r.occurred_on.parse().map_err(|_| corrupt())?,
                    fulfilled: r.fulfilled != 0,
                    until: r.until_on.as_deref().map(str::parse).transpose().map_err(|_| corrupt())?,
                    person: r.person_name.as_deref().map(mask_name),
                    note: r.note,
                })
            })
            .collect()
    }

    pub async fn records(&self, institution_id: i64) -> Result<Vec<RecordView>> {
        Ok(self
            .record_rows(institution_id)
            .await?
            .into_iter()
            .map(|r| RecordView {
                label: RecordKind::parse(&r.kind).map(RecordKind::zh).unwrap_or("").to_owned(),
                id: r.id,
                kind: r.kind,
                occurred_on: r.occurred_on,
                fulfilled: r.fulfilled != 0,
                until_on: r.until_on,
                source: r.source,
                note: r.note,
                person: r
                    .person_name
                    .as_deref()
                    .map(|n| format!("{}（{}）", mask_name(n), r.resident_id.as_deref().map(masked_id).unwrap_or_default())),
            })
            .collect())
    }

    /// Imports institutions from CSV: every row valid and new, or nothing is written and every
    /// bad line is reported.
    pub async fn import_institutions(&self, csv: &str, now: Timestamp) -> Result<usize, ImportError> {
        self.import_rows(csv, None, now).await
    }

    /// As `import_institutions`, refusing rows of any other city than `city`.
    pub async fn import_institutions_for_city(&self, csv: &str, city: &str, now: Timestamp) -> Result<usize, ImportError> {
        self.import_rows(csv, Some(city), now).await
    }

    async fn import_rows(&self, csv: &str, only_city: Option<&str>, now: Timestamp) -> Result<usize, ImportError> {
        let profiles = self.current_profiles();
        let refs: Vec<&Profile> = profiles.iter().map(|p| &**p).collect();
        let rows = registry::parse_csv(csv, &refs).map_err(ImportError::Rows)?;
        if let Some(city) = only_city {
            let foreign: Vec<RowError> = rows
                .iter()
                .filter(|r| r.city != city)
                .map(|r| RowError { line: r.line, reason: format!("城市“{}”不是您所在的城市，无权导入", r.city) })
                .collect();
            if !foreign.is_empty() {
                return Err(ImportError::Rows(foreign));
            }
        }
        let ts = now.to_string();
        let inserted = with_pool!(self, p => {
            let mut tx = p.begin().await?;
            let mut errors = Vec::new();
            for chunk in rows.chunks(400) {
                let codes: Vec<&str> = chunk.iter().map(|r| r.uscc.as_str()).collect();
                let placeholders: Vec<String> = (1..=codes.len()).map(|i| format!("${i}")).collect();
                let sql = format!("select uscc from institutions where uscc in ({})", placeholders.join(","));
                let mut q = sqlx::query_as::<_, (String,)>(sqlx::AssertSqlSafe(sql));
                for c in &codes {
                    q = q.bind(*c);
                }
                for (existing,) in q.fetch_all(&mut *tx).await? {
                    if let Some(r) = chunk.iter().find(|r| r.uscc.as_str() == existing) {
                        errors.push(RowError { line: r.line, reason: format!("统一社会信用代码 {existing} 已在登记库中") });
                    }
                }
            }
            if !errors.is_empty() {
                errors.sort_by_key(|e| e.line);
                return Err(ImportError::Rows(errors));
            }
            for chunk in rows.chunks(200) {
                let values: Vec<String> = (0..chunk.len())
                    .map(|i| {
                        let b = i * 10;
                        format!("(${}, ${}, ${}, ${}, ${}, ${}, ${}, ${}, ${}, ${}, ${})", b + 1, b + 2, b + 3, b + 4, b + 5, b + 6, b + 7, b + 8, b + 9, b + 10, b + 10)
                    })
                    .collect();
                let sql = format!(
                    "insert into institutions (uscc, name, kind, category, city, district, national_code, address, beds, created_at, updated_at) values {}",
                    values.join(", ")
                );
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                for r in chunk {
                    let kind = if r.kind == InstitutionKind::Pharmacy { "pharmacy" } else { "medical" };
                    q = q.bind(r.uscc.as_str()).bind(&r.name).bind(kind).bind(&r.category).bind(&r.city).bind(&r.district)
                        .bind(&r.national_code).bind(&r.address).bind(r.beds).bind(&ts);
                }
                q.execute(&mut *tx).await?;
            }
            tx.commit().await?;
            rows.len()
        });
        Ok(inserted)
    }
}

/// Why an import wrote nothing.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{} bad rows", .0.len())]
    Rows(Vec<RowError>),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for ImportError {
    fn from(e: sqlx::Error) -> Self {
        ImportError::Store(e.into())
    }
}

/// Registrations tried from one address per hour.
pub const REGISTRATIONS_PER_HOUR: i64 = 10;

impl Store {
    /// An institution registers its own account: it must be in the registry (entered or imported
    /// by the agency), and the registrant proves it with the legal representative's resident ID
    /// number on record. One account per institution; further staff accounts come from the
    /// administrator. Returns the new account.
    pub async fn register_institution_account(
        &self,
        uscc: &str,
        legal_rep_id: &str,
        username: &str,
        display_name: &str,
        password: &str,
        now: Timestamp,
    ) -> Result<crate::User> {
        let refuse = |code: &'static str, message: String| StoreError::Unacceptable { code, message };
        let uscc = dingdian_core::ids::Uscc::parse(uscc.trim()).map_err(|e| refuse(e.code(), e.message_zh()))?;
        let rid = ResidentId::parse(legal_rep_id.trim()).map_err(|e| refuse(e.code(), e.message_zh()))?;
        let found: Option<(i64, String)> = with_pool!(self, p => {
            sqlx::query_as("select id, city from institutions where uscc = $1").bind(uscc.as_str()).fetch_optional(p).await?
        });
        let Some((institution_id, city)) = found else {
            return Err(refuse("institution_unknown", "机构登记信息中没有这个统一社会信用代码，请先联系所在地医保经办机构登记。".into()));
        };
        let (matches,): (i64,) = with_pool!(self, p => {
            sqlx::query_as(
                "select count(*) from persons p join institution_persons ip on ip.person_id = p.id
                 where ip.institution_id = $1 and ip.role = 'legal_representative' and p.resident_id = $2",
            )
            .bind(institution_id)
            .bind(rid.expose())
            .fetch_one(p)
            .await?
        });
        if matches == 0 {
            return Err(refuse(
                "identity_mismatch",
                "法定代表人身份证号与登记信息不一致，请核对；如登记有误，请联系医保经办机构更正。".into(),
            ));
        }
        let (accounts,): (i64,) = with_pool!(self, p => {
            sqlx::query_as("select count(*) from users where institution_id = $1").bind(institution_id).fetch_one(p).await?
        });
        if accounts > 0 {
            return Err(refuse("account_exists", "该机构已注册账号。忘记密码或需要增加账号的，请联系医保经办机构。".into()));
        }
        let username = username.trim();
        if username.is_empty() || username.chars().any(char::is_whitespace) || username.chars().count() > 64 {
            return Err(refuse("invalid_input", "用户名不能为空、不能含空格，最多 64 个字符。".into()));
        }
        if self.user_by_username(username).await?.is_some() {
            return Err(refuse("username_taken", format!("用户名“{username}”已被使用，请换一个。")));
        }
        let display_name = if display_name.trim().is_empty() { username } else { display_name.trim() };
        let display_name = dingdian_core::accounts::check_display_name(display_name).map_err(StoreError::Refused)?;
        let display_name = display_name.as_str();
        dingdian_core::accounts::check_password(username, display_name, password)
            .map_err(|w| StoreError::Refused(dingdian_core::refusal::Refusal::from(w)))?;
        let new = crate::NewUser {
            username,
            display_name,
            password,
            role: dingdian_core::lifecycle::Role::Institution,
            city: &city,
            district: None,
            institution_id: Some(institution_id),
        };
        let id = self.ensure_user(new, now).await?;
        self.user(id).await?.ok_or(StoreError::NotFound)
    }
}
