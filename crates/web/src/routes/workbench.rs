//! The agency workbench (issue #8): the work queue per state with counts, sorted by the nearest
//! deadline, overdue rows marked, filters in a plain GET form and paging (no JavaScript); CSV and
//! XLSX exports of the same queue; and statistics drawn on the server as inline SVG, each chart
//! with its numbers in a table. Staff only (the route table's access column); the store scopes
//! every query to the user's city, or a branch reviewer's district. Nothing here changes data,
//! so supervisors use it read-only as it is.

use std::collections::HashMap;

use crate::extract::Query;
use askama::Template;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use dingdian_core::clocks::{ClockStatus, ClockView};
use dingdian_core::lifecycle::{Actor, Role, State as AppStateName};
use dingdian_core::policy::Expiry;
use dingdian_core::search::{Query as SearchQuery, SearchError};
use dingdian_store::{AppRecord, QueueFilter, QueueRow, StateFilter, User};
use jiff::civil::Date;
use serde::Deserialize;

use super::pages::error_page;
use crate::auth::MaybeUser;
use crate::{ApiError, AppState};

/// Rows per page of the queue.
pub const PAGE_SIZE: i64 = 50;
/// The most rows one export holds.
pub const EXPORT_MAX: i64 = 200_000;

fn render(t: impl Template) -> Response {
    match t.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template error");
            (StatusCode::INTERNAL_SERVER_ERROR, Html("<p>页面生成失败，请稍后重试。</p>".to_owned())).into_response()
        }
    }
}

/// The queue's filters as they arrive from the form. Everything is text, so a hand-edited link
/// never fails to parse: a value that makes no sense is ignored.
#[derive(Debug, Deserialize, Default)]
pub struct Filters {
    state: Option<String>,
    district: Option<String>,
    kind: Option<String>,
    round: Option<String>,
    profile: Option<String>,
    page: Option<String>,
    /// The city a provincial administrator looks at (`province::administer` decides).
    city: Option<String>,
    /// The search box: a name fragment, an application number, a USCC or a national code.
    q: Option<String>,
}

fn nonempty(v: &Option<String>) -> Option<String> {
    v.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned)
}

impl Filters {
    fn states(&self) -> StateFilter {
        self.state.as_deref().and_then(StateFilter::parse).filter(|s| *s != StateFilter::One(AppStateName::Draft)).unwrap_or_default()
    }

    /// The search, classified by the core; `Err` for a text it refuses (too long).
    fn search(&self) -> Result<Option<SearchQuery>, SearchError> {
        self.q.as_deref().map(SearchQuery::parse).transpose().map(Option::flatten)
    }

    fn filter(&self) -> QueueFilter {
        let (profile_id, profile_version) = match nonempty(&self.profile) {
            Some(p) => match p.split_once(':') {
                Some((id, version)) => (Some(id.to_owned()), Some(version.to_owned())),
                None => (Some(p), None),
            },
            None => (None, None),
        };
        QueueFilter {
            states: self.states(),
            district: nonempty(&self.district),
            kind: nonempty(&self.kind).filter(|k| k == "medical" || k == "pharmacy"),
            round_id: nonempty(&self.round).and_then(|r| r.parse().ok()),
            profile_id,
            profile_version,
            search: self.search().ok().flatten(),
        }
    }

    fn page(&self) -> i64 {
        nonempty(&self.page).and_then(|p| p.parse::<i64>().ok()).unwrap_or(1).max(1)
    }

    /// A query string with these filters, the given state filter and page.
    fn query(&self, states: StateFilter, page: Option<i64>) -> String {
        let f = self.filter();
        let mut parts = vec![format!("state={}", states.as_str())];
        let mut push = |k: &str, v: Option<String>| {
            if let Some(v) = v {
                parts.push(format!("{k}={}", percent(&v)));
            }
        };
        push("district", f.district);
        push("kind", f.kind);
        push("round", f.round_id.map(|r| r.to_string()));
        push("profile", nonempty(&self.profile));
        push("q", nonempty(&self.q).filter(|_| self.search().is_ok()));
        push("page", page.filter(|p| *p > 1).map(|p| p.to_string()));
        parts.join("&")
    }
}

/// Percent-encodes a query value (UTF-8).
fn percent(s: &str) -> String {
    s.bytes()
        .map(|b| if b.is_ascii_alphanumeric() || b"-._~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

/// "道里区（230102）" from the city profiles; an unknown code as it is.
fn district_zh(s: &AppState, code: &str) -> String {
    match s.store.any_district_name(code) {
        Some(name) => format!("{name}（{code}）"),
        None => code.to_owned(),
    }
}

/// A district's name alone (its code when unknown), for narrow columns.
fn district_name(s: &AppState, code: &str) -> String {
    s.store.any_district_name(code).unwrap_or_else(|| code.to_owned())
}

fn kind_zh(kind: &str) -> &'static str {
    match kind {
        "pharmacy" => "零售药店",
        "medical" => "医疗机构",
        _ => "其他",
    }
}

fn expiry_zh(e: Expiry) -> &'static str {
    match e {
        Expiry::DeemWithdrawn => "逾期视为撤回",
        Expiry::EndNotice => "公示期满",
        Expiry::DeemGivenUp => "逾期视为放弃",
        Expiry::DeemAccepted => "逾期未告知补正，视为受理",
        _ => "到期自动处理",
    }
}

/// A label of a state filter.
fn states_zh(s: StateFilter) -> &'static str {
    match s {
        StateFilter::Open => "全部在办",
        StateFilter::All => "全部（含已办结）",
        StateFilter::One(s) => s.zh(),
    }
}

pub struct Tab {
    label: &'static str,
    count: Option<i64>,
    href: String,
    current: bool,
}

pub struct Opt {
    value: String,
    label: String,
    selected: bool,
}

fn opt(value: impl Into<String>, label: impl Into<String>, current: Option<&str>) -> Opt {
    let value = value.into();
    Opt { selected: current == Some(value.as_str()), value, label: label.into() }
}

/// The filter form's choices (shared by the queue and the statistics).
pub struct FilterForm {
    state: String,
    districts: Vec<Opt>,
    kinds: Vec<Opt>,
    rounds: Vec<Opt>,
    profiles: Vec<Opt>,
    /// The branch reviewer's district is fixed.
    district_fixed: bool,
    active: bool,
    /// The city kept across filtering, for a provincial administrator.
    city: Option<String>,
    /// The search box's text as typed (escaped by the template).
    q: String,
    /// What the search looks for, in words, once it is set.
    search_note: Option<String>,
    /// Why the search text is refused.
    search_error: Option<String>,
}

pub struct Row {
    id: i64,
    number: String,
    institution: String,
    kind: &'static str,
    district: String,
    state: &'static str,
    round: String,
    /// The automatic consequence's last day and what follows it.
    due: String,
    due_action: &'static str,
    due_overdue: bool,
    /// The agency's own nearest running time limit.
    limit: String,
    limit_name: String,
    limit_overdue: bool,
    /// Calendar days left until the nearest of both, in words.
    left: String,
    left_overdue: bool,
    overdue: bool,
    updated: String,
}

#[derive(Template)]
#[template(path = "workbench.html")]
struct WorkbenchPage<'a> {
    user: Option<User>,
    role_zh: &'a str,
    read_only: bool,
    scope: String,
    tabs: Vec<Tab>,
    current: &'static str,
    form: FilterForm,
    rows: Vec<Row>,
    total: i64,
    page: i64,
    pages: i64,
    prev: Option<String>,
    next: Option<String>,
    export_query: String,
    overdue_on_page: usize,
}

/// Who sees what, in words.
fn scope_zh(u: &Actor, s: &AppState) -> String {
    let city = s.store.current_profile(&u.city).map(|p| p.name.clone()).unwrap_or_else(|| u.city.clone());
    match (u.role, u.district.as_deref()) {
        (Role::BranchReviewer, Some(d)) => format!("{city} · {}", district_zh(s, d)),
        _ => city,
    }
}

async fn filter_form(s: &AppState, actor: &Actor, q: &Filters, districts: &[String]) -> Result<FilterForm, ApiError> {
    let f = q.filter();
    let district = f.district.clone();
    let mut ds = vec![opt("", "全部区县", district.as_deref().or(Some("")))];
    ds.extend(districts.iter().map(|d| opt(d.clone(), district_zh(s, d), district.as_deref())));
    if let Some(d) = district.as_deref().filter(|d| !districts.iter().any(|x| x == d)) {
        ds.push(opt(d, district_zh(s, d), Some(d)));
    }
    let kind = f.kind.as_deref().or(Some(""));
    let kinds = vec![opt("", "全部类型", kind), opt("medical", "医疗机构", kind), opt("pharmacy", "零售药店", kind)];
    let round = f.round_id.map(|r| r.to_string());
    let round = round.as_deref().or(Some(""));
    let mut rounds = vec![opt("", "全部批次", round)];
    for r in s.store.rounds(&actor.city).await? {
        rounds.push(opt(r.id.to_string(), r.name, round));
    }
    let profile = nonempty(&q.profile);
    let profile = profile.as_deref().or(Some(""));
    let mut profiles = vec![opt("", "全部政策版本", profile)];
    let mut seen = Vec::new();
    for (id, version) in s.store.profile_versions(actor).await? {
        let name = s.store.profile_version(&id, &version).map(|p| p.name.clone()).unwrap_or_else(|| id.clone());
        if !seen.contains(&id) {
            profiles.push(opt(id.clone(), format!("{name}（全部版本）"), profile));
            seen.push(id.clone());
        }
        profiles.push(opt(format!("{id}:{version}"), format!("{name} 版本 {version}"), profile));
    }
    Ok(FilterForm {
        state: f.states.as_str().to_owned(),
        districts: ds,
        kinds,
        rounds,
        profiles,
        district_fixed: actor.role == Role::BranchReviewer,
        active: f.district.is_some() || f.kind.is_some() || f.round_id.is_some() || f.profile_id.is_some() || nonempty(&q.q).is_some(),
        city: (actor.role == Role::ProvincialAdmin).then(|| actor.city.clone()),
        q: q.q.clone().unwrap_or_default(),
        search_note: f.search.as_ref().map(SearchQuery::describe_zh),
        search_error: q.search().err().map(|e| e.message_zh()),
    })
}

/// The nearest running agency time limit (a clock without an automatic consequence).
fn agency_limit(clocks: &[ClockView]) -> Option<&ClockView> {
    clocks
        .iter()
        .filter(|c| c.on_expiry.is_none() && c.ended_on.is_none() && c.status != ClockStatus::Paused)
        .filter(|c| c.due.due.is_some())
        .min_by_key(|c| c.due.due)
}

fn row(s: &AppState, a: AppRecord, clocks: Option<&Vec<ClockView>>, rounds: &HashMap<i64, String>, today: Date) -> Row {
    let limit = clocks.and_then(|c| agency_limit(c));
    let limit_overdue = clocks.is_some_and(|cs| cs.iter().any(|c| c.on_expiry.is_none() && c.status == ClockStatus::Overdue));
    let due_overdue = a.due_on.is_some_and(|d| today > d);
    let nearest = [a.due_on, limit.and_then(|l| l.due.due)].into_iter().flatten().min();
    Row {
        id: a.id,
        number: a.number,
        institution: a.institution_name,
        kind: kind_zh(&a.kind),
        district: district_name(s, &a.district),
        state: a.state.zh(),
        round: a.round_id.and_then(|r| rounds.get(&r).cloned()).unwrap_or_default(),
        due: a.due_on.map(|d| d.to_string()).unwrap_or_default(),
        due_action: a.due_action.map(expiry_zh).unwrap_or(""),
        due_overdue,
        limit: limit.and_then(|l| l.due.due).map(|d| d.to_string()).unwrap_or_default(),
        limit_name: limit.map(|l| format!("{}（{}，{}）", l.name, l.rule, l.budget)).unwrap_or_default(),
        limit_overdue,
        left: match nearest.map(|d| i64::from((d - today).get_days())) {
            Some(n) if n < 0 => format!("超 {} 天", -n),
            Some(0) => "今日到期".to_owned(),
            Some(n) => format!("{n} 天"),
            None => "—".to_owned(),
        },
        left_overdue: nearest.is_some_and(|d| d < today),
        overdue: due_overdue || limit_overdue,
        updated: super::beijing(&a.updated_at),
    }
}

/// `GET /workbench`: one state's queue (or all in progress), filtered and paged.
pub async fn queue(State(s): State<AppState>, MaybeUser(user): MaybeUser, Query(q): Query<Filters>) -> Response {
    let Some(u) = user else { return Redirect::to("/login").into_response() };
    match queue_page(&s, u, q).await {
        Ok(r) => r,
        Err(e) => error_page(e),
    }
}

async fn queue_page(s: &AppState, u: User, q: Filters) -> Result<Response, ApiError> {
    let actor = u.actor();
    let f = q.filter();
    let today = s.clock.today();
    // A refused search text lists nothing (the form says why) rather than everything.
    let refused = q.search().is_err();
    let counts = if refused { Default::default() } else { s.store.queue_counts(&actor, &f).await? };
    let total = counts.total(f.states).unwrap_or_default();
    let pages = ((total + PAGE_SIZE - 1) / PAGE_SIZE).max(1);
    let page = q.page().min(pages);
    let apps = if refused { Vec::new() } else { s.store.queue(&actor, &f, PAGE_SIZE, (page - 1) * PAGE_SIZE).await? };
    let clocks = s.store.clocks_of(&apps, today).await?;
    let rounds: HashMap<i64, String> = s.store.rounds(&u.city).await?.into_iter().map(|r| (r.id, r.name)).collect();
    let rows: Vec<Row> = apps
        .into_iter()
        .map(|a| {
            let c = clocks.get(&a.id);
            row(s, a, c, &rounds, today)
        })
        .collect();
    // In-progress states always; finished ones once the list includes them (counting those
    // reads every row of the city).
    let mut tabs = vec![Tab {
        label: states_zh(StateFilter::Open),
        count: counts.total(StateFilter::Open),
        href: q.query(StateFilter::Open, None),
        current: f.states == StateFilter::Open,
    }];
    let mut listed: Vec<AppStateName> = Vec::new();
    for (state, n) in counts.by_state.iter().filter(|(s, _)| !s.is_terminal()) {
        let states = StateFilter::One(*state);
        tabs.push(Tab { label: state.zh(), count: Some(*n), href: q.query(states, None), current: f.states == states });
        listed.push(*state);
    }
    tabs.push(Tab {
        label: states_zh(StateFilter::All),
        count: counts.total(StateFilter::All),
        href: q.query(StateFilter::All, None),
        current: f.states == StateFilter::All,
    });
    for (state, n) in counts.by_state.iter().filter(|(s, _)| s.is_terminal()) {
        let states = StateFilter::One(*state);
        tabs.push(Tab { label: state.zh(), count: Some(*n), href: q.query(states, None), current: f.states == states });
        listed.push(*state);
    }
    if let StateFilter::One(st) = f.states
        && !listed.contains(&st)
    {
        tabs.push(Tab { label: st.zh(), count: Some(0), href: q.query(f.states, None), current: true });
    }
    let form = filter_form(s, &u.actor(), &q, &counts.districts).await?;
    let page_data = WorkbenchPage {
        read_only: u.role() == Role::Supervisor,
        scope: scope_zh(&u.actor(), s),
        role_zh: u.role().zh(),
        user: Some(u),
        tabs,
        current: states_zh(f.states),
        form,
        overdue_on_page: rows.iter().filter(|r| r.overdue).count(),
        rows,
        total,
        page,
        pages,
        prev: (page > 1).then(|| q.query(f.states, Some(page - 1))),
        next: (page < pages).then(|| q.query(f.states, Some(page + 1))),
        export_query: q.query(f.states, None),
    };
    Ok(render(page_data))
}

/// The columns of both exports, with their widths in the spreadsheet.
const COLUMNS: &[(&str, f64)] = &[
    ("申请编号", 22.0),
    ("机构名称", 32.0),
    ("统一社会信用代码", 22.0),
    ("机构类型", 10.0),
    ("城市", 14.0),
    ("区县", 18.0),
    ("政策版本", 18.0),
    ("状态", 18.0),
    ("评估批次", 20.0),
    ("提交日期", 12.0),
    ("自动处理期限", 14.0),
    ("到期处理", 14.0),
    ("是否已过期限", 12.0),
    ("更新时间（北京时间）", 20.0),
];

fn export_cells(s: &AppState, r: &QueueRow, today: Date) -> Vec<String> {
    let city = s.store.current_profile(&r.city).map(|p| p.name.clone()).unwrap_or_else(|| r.city.clone());
    vec![
        r.number.clone(),
        r.institution_name.clone(),
        r.uscc.clone(),
        kind_zh(&r.kind).to_owned(),
        city,
        district_zh(s, &r.district),
        format!("{} {}", r.profile_id, r.profile_version),
        r.state.zh().to_owned(),
        r.round_name.clone().unwrap_or_default(),
        r.submitted_on.map(|d| d.to_string()).unwrap_or_default(),
        r.due_on.map(|d| d.to_string()).unwrap_or_default(),
        r.due_action.map(expiry_zh).unwrap_or("").to_owned(),
        // Past the nearest deadline of either kind: the automatic one or the agency's own limit.
        if r.sort_due_on.or(r.due_on).is_some_and(|d| today > d) { "已超期".to_owned() } else { String::new() },
        super::beijing(&r.updated_at),
    ]
}

async fn export_rows(s: &AppState, u: &User, q: &Filters) -> Result<(Vec<Vec<String>>, String), ApiError> {
    let today = s.clock.today();
    // A refused search text exports an empty list, as the page lists nothing.
    let rows = if q.search().is_err() { Vec::new() } else { s.store.queue_rows(&u.actor(), &q.filter(), EXPORT_MAX).await? };
    let cells = rows.iter().map(|r| export_cells(s, r, today)).collect();
    let scope = scope_zh(&u.actor(), s);
    let name = format!("定点申请工作台-{scope}-{}-{today}", states_zh(q.states()));
    // No characters a file system or a header would trip over.
    let name: String =
        name.chars().map(|c| if matches!(c, '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|') { '_' } else { c }).collect();
    Ok((cells, name))
}

/// A CSV cell's text: a leading formula character is neutralised so a spreadsheet shows the
/// text instead of evaluating it (quoting is the `csv` writer's).
fn csv_field(v: &str) -> std::borrow::Cow<'_, str> {
    if v.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{v}").into() } else { v.into() }
}

/// The queue as CSV: UTF-8 with a byte-order mark (so spreadsheet programs read the Chinese),
/// every field quoted, CRLF line ends, a Chinese header row.
pub fn csv(rows: &[Vec<String>]) -> Result<Vec<u8>, ::csv::Error> {
    let mut w = ::csv::WriterBuilder::new()
        .quote_style(::csv::QuoteStyle::Always)
        .terminator(::csv::Terminator::CRLF)
        .from_writer("\u{feff}".as_bytes().to_vec());
    w.write_record(COLUMNS.iter().map(|(h, _)| csv_field(h).into_owned()))?;
    for r in rows {
        w.write_record(r.iter().map(|c| csv_field(c).into_owned()))?;
    }
    w.into_inner().map_err(|e| e.into_error().into())
}

/// The queue as an Excel workbook: a bold, frozen header row with a filter, set column widths,
/// every value as text.
pub fn xlsx(rows: &[Vec<String>]) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    use rust_xlsxwriter::{Format, Workbook};
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name("工作台")?;
    let bold = Format::new().set_bold();
    for (c, (title, width)) in COLUMNS.iter().enumerate() {
        let c = c as u16;
        sheet.write_string_with_format(0, c, *title, &bold)?;
        sheet.set_column_width(c, *width)?;
    }
    for (r, cells) in rows.iter().enumerate() {
        for (c, v) in cells.iter().enumerate() {
            if !v.is_empty() {
                sheet.write_string(r as u32 + 1, c as u16, v)?;
            }
        }
    }
    sheet.set_freeze_panes(1, 0)?;
    sheet.autofilter(0, 0, rows.len() as u32, COLUMNS.len() as u16 - 1)?;
    book.save_to_buffer()
}

fn download(body: Vec<u8>, content_type: &'static str, name: &str) -> Response {
    let disposition = super::materials::content_disposition(name);
    let mut resp = (StatusCode::OK, body).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, header::HeaderValue::from_static(content_type));
    h.insert(header::CACHE_CONTROL, header::HeaderValue::from_static("private, no-store"));
    if let Ok(v) = header::HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    resp
}

/// `GET /workbench/export.csv`: the queue with the same filters, every page.
pub async fn export_csv(State(s): State<AppState>, MaybeUser(user): MaybeUser, Query(q): Query<Filters>) -> Response {
    let Some(u) = user else { return Redirect::to("/login").into_response() };
    match export_rows(&s, &u, &q).await {
        Ok((rows, name)) => match csv(&rows) {
            Ok(bytes) => download(bytes, "text/csv; charset=utf-8", &format!("{name}.csv")),
            Err(e) => {
                tracing::error!(error = %e, "csv export");
                error_page(ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "导出失败，请稍后重试。"))
            }
        },
        Err(e) => error_page(e),
    }
}

/// `GET /workbench/export.xlsx`: the same as an Excel workbook.
pub async fn export_xlsx(State(s): State<AppState>, MaybeUser(user): MaybeUser, Query(q): Query<Filters>) -> Response {
    let Some(u) = user else { return Redirect::to("/login").into_response() };
    let (rows, name) = match export_rows(&s, &u, &q).await {
        Ok(x) => x,
        Err(e) => return error_page(e),
    };
    match tokio::task::spawn_blocking(move || xlsx(&rows)).await {
        Ok(Ok(bytes)) => download(bytes, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", &format!("{name}.xlsx")),
        Ok(Err(e)) => {
            tracing::error!(error = %e, "xlsx export");
            error_page(ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "导出失败，请稍后重试。"))
        }
        Err(e) => {
            tracing::error!(error = %e, "xlsx export task");
            error_page(ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "导出失败，请稍后重试。"))
        }
    }
}

// ---- Statistics ----

/// A horizontal bar chart, laid out here and drawn by the template as inline SVG.
pub struct Chart {
    id: &'static str,
    title: String,
    desc: String,
    width: u32,
    height: u32,
    bars: Vec<Bar>,
    legend: Vec<Legend>,
    empty: bool,
    /// The numbers, for the table beneath: header and rows.
    head: Vec<String>,
    table: Vec<Vec<String>>,
}

pub struct Bar {
    label: String,
    label_x: u32,
    label_y: u32,
    x: u32,
    y: u32,
    h: u32,
    w: u32,
    class: &'static str,
    value: String,
    value_x: u32,
}

pub struct Legend {
    x: u32,
    text_x: u32,
    class: &'static str,
    label: &'static str,
}

/// Widest label column and bar, in SVG user units (13 px text).
const LABEL_MAX: u32 = 300;
const BAR_MAX: u32 = 420;
const ROW_H: u32 = 24;
const BAR_H: u32 = 16;
const TOP: u32 = 8;

/// One bar of a chart: label, value, its text and its class (colour in the stylesheet).
struct Datum {
    label: String,
    value: f64,
    text: String,
    class: &'static str,
}

/// The approximate width of a text at 13 px: full-width characters 13, others 7.5.
fn text_width(s: &str) -> u32 {
    let w: f64 = s.chars().map(|c| if c.is_ascii() { 7.5 } else { 13.0 }).sum();
    w.ceil() as u32
}

/// Lays out a horizontal bar chart: labels right-aligned in a column as wide as the longest
/// (shortened beyond `LABEL_MAX`), bars scaled to the largest value, each value after its bar.
fn chart(
    id: &'static str,
    title: &str,
    data: Vec<Datum>,
    legend: &[(&'static str, &'static str)],
    head: Vec<String>,
    table: Vec<Vec<String>>,
) -> Chart {
    let labels: Vec<String> = data.iter().map(|d| fit(&d.label, LABEL_MAX)).collect();
    let label_w = labels.iter().map(|l| text_width(l)).max().unwrap_or(0).max(60) + 12;
    let max = data.iter().map(|d| d.value).fold(0.0_f64, f64::max);
    let legend_h = if legend.is_empty() { 0 } else { ROW_H };
    let mut bars = Vec::new();
    let mut right = label_w + BAR_MAX;
    for (i, (d, label)) in data.iter().zip(labels).enumerate() {
        let y = TOP + legend_h + i as u32 * ROW_H;
        let w = if max > 0.0 { ((d.value / max) * f64::from(BAR_MAX)).round() as u32 } else { 0 };
        let w = if d.value > 0.0 { w.max(2) } else { 0 };
        right = right.max(label_w + w + 6 + text_width(&d.text));
        bars.push(Bar {
            label,
            label_x: label_w - 8,
            label_y: y + BAR_H - 3,
            x: label_w,
            y,
            h: BAR_H,
            w,
            class: d.class,
            value: d.text.clone(),
            value_x: label_w + w + 6,
        });
    }
    let legend = legend
        .iter()
        .enumerate()
        .map(|(i, (class, label))| Legend { x: label_w + i as u32 * 150, text_x: label_w + i as u32 * 150 + 18, class, label })
        .collect();
    let empty = data.is_empty();
    let height = TOP * 2 + legend_h + (data.len().max(1) as u32) * ROW_H;
    let desc = if empty {
        format!("{title}：暂无数据。")
    } else {
        let parts: Vec<String> =
            data.iter().map(|d| if d.label.is_empty() { d.text.clone() } else { format!("{} {}", d.label, d.text) }).collect();
        format!("{title}：{}。", parts.join("；"))
    };
    Chart { id, title: title.to_owned(), desc, width: right + 8, height, bars, legend, empty, head, table }
}

/// Shortens a label to `max` units of width, with an ellipsis.
fn fit(s: &str, max: u32) -> String {
    if text_width(s) <= max {
        return s.to_owned();
    }
    let mut out = String::new();
    for c in s.chars() {
        if text_width(&out) + text_width(&c.to_string()) + 13 > max {
            break;
        }
        out.push(c);
    }
    out.push('…');
    out
}

fn pct(part: i64, whole: i64) -> String {
    if whole == 0 { "—".to_owned() } else { format!("{:.1}%", part as f64 * 100.0 / whole as f64) }
}

fn days_text(d: Option<f64>) -> String {
    match d {
        Some(d) if d.fract() == 0.0 => format!("{d:.0} 日"),
        Some(d) => format!("{d:.1} 日"),
        None => "—".to_owned(),
    }
}

#[derive(Template)]
#[template(path = "stats.html")]
struct StatsPage<'a> {
    user: Option<User>,
    role_zh: &'a str,
    scope: String,
    form: FilterForm,
    total: i64,
    charts: Vec<Chart>,
    today: String,
}

/// `GET /stats`: applications by state and by district, time per step against its limit, and
/// results, as server-drawn SVG charts with their numbers.
pub async fn stats(State(s): State<AppState>, MaybeUser(user): MaybeUser, Query(q): Query<Filters>) -> Response {
    let Some(u) = user else { return Redirect::to("/login").into_response() };
    // A provincial administrator's statistics across its cities are on its overview.
    if u.role() == Role::ProvincialAdmin && nonempty(&q.city).is_none() {
        return Redirect::to("/admin#cities").into_response();
    }
    match stats_page(&s, u, q).await {
        Ok(r) => r,
        Err(e) => error_page(e),
    }
}

async fn stats_page(s: &AppState, u: User, q: Filters) -> Result<Response, ApiError> {
    let today = s.clock.today();
    let f = q.filter();
    // A provincial administrator looks at one city of its province at a time (`?city=`).
    let actor = match u.role() {
        Role::ProvincialAdmin => super::admin::acting(s, &u, q.city.as_deref())?,
        _ => u.actor(),
    };
    // A refused search text counts nothing (the form says why), as the queue lists nothing.
    let st = if q.search().is_err() { Default::default() } else { s.store.stats(&actor, &f, today).await? };
    let districts: Vec<String> = s.store.queue_counts(&actor, &f).await?.districts;
    let mut form = filter_form(s, &actor, &q, &districts).await?;
    form.state = String::new();
    let total: i64 = st.by_state.iter().map(|(_, n)| n).sum();
    let mut charts = Vec::new();

    let data = st
        .by_state
        .iter()
        .map(|(state, n)| Datum {
            label: state.zh().to_owned(),
            value: *n as f64,
            text: n.to_string(),
            class: if state.is_terminal() { "bar-done" } else { "bar-open" },
        })
        .collect();
    let table = st.by_state.iter().map(|(state, n)| vec![state.zh().to_owned(), n.to_string(), pct(*n, total)]).collect();
    charts.push(chart(
        "chart-state",
        "按状态统计的申请数",
        data,
        &[("bar-open", "在办"), ("bar-done", "已办结")],
        vec!["状态".into(), "申请数".into(), "占比".into()],
        table,
    ));

    let data = st
        .by_district
        .iter()
        .map(|(d, n)| Datum { label: district_zh(s, d), value: *n as f64, text: n.to_string(), class: "bar-open" })
        .collect();
    let table = st.by_district.iter().map(|(d, n)| vec![district_zh(s, d), n.to_string(), pct(*n, total)]).collect();
    charts.push(chart("chart-district", "按区县统计的申请数", data, &[], vec!["区县".into(), "申请数".into(), "占比".into()], table));

    let mut data = Vec::new();
    let mut table = Vec::new();
    for step in &st.steps {
        let label = format!("{} {}", step.rule, step.name);
        data.push(Datum {
            label: label.clone(),
            value: step.median_used_days.unwrap_or(0.0),
            text: format!("实际 {}", days_text(step.median_used_days)),
            class: "bar-used",
        });
        data.push(Datum {
            label: String::new(),
            value: step.median_allowed_days.unwrap_or(0.0),
            text: format!("时限 {}（{}）", days_text(step.median_allowed_days), step.budget),
            class: "bar-limit",
        });
        let states: Vec<&str> = step.states.iter().map(|s| s.zh()).collect();
        table.push(vec![
            format!("{}（{}）", step.name, step.rule),
            states.join("、"),
            step.budget.to_string(),
            step.finished.to_string(),
            days_text(step.median_used_days),
            days_text(step.median_allowed_days),
            format!("{} / {} / {}", step.on_time, step.late, step.expired),
            format!("{}（其中超期 {}）", step.running, step.overdue),
        ]);
    }
    charts.push(chart(
        "chart-steps",
        "各环节用时（中位数）与时限",
        data,
        &[("bar-used", "实际用时"), ("bar-limit", "时限折合日历日")],
        vec![
            "时限".into(),
            "计时环节".into(),
            "法定时限".into(),
            "已完成".into(),
            "实际用时中位数".into(),
            "时限中位数（日历日）".into(),
            "按期 / 逾期 / 期满自动处理".into(),
            "计时中".into(),
        ],
        table,
    ));

    let r = &st.results;
    let decided = r.passed + r.failed;
    let first = r.first_passed + r.first_failed;
    let experts = r.expert_pass + r.expert_fail;
    let rows = [
        ("评估结果：通过", r.passed, decided, "bar-pass"),
        ("评估结果：未通过", r.failed, decided, "bar-fail"),
        ("首次评估：通过", r.first_passed, first, "bar-pass"),
        ("首次评估：未通过", r.first_failed, first, "bar-fail"),
        ("专家意见：建议通过", r.expert_pass, experts, "bar-pass"),
        ("专家意见：建议不通过", r.expert_fail, experts, "bar-fail"),
    ];
    let data = rows
        .iter()
        .map(|(label, n, whole, class)| Datum {
            label: (*label).to_owned(),
            value: *n as f64,
            text: format!("{n}（{}）", pct(*n, *whole)),
            class,
        })
        .collect();
    let table = rows.iter().map(|(label, n, whole, _)| vec![(*label).to_owned(), n.to_string(), pct(*n, *whole)]).collect();
    charts.push(chart(
        "chart-results",
        "评估通过率",
        data,
        &[("bar-pass", "通过"), ("bar-fail", "未通过")],
        vec!["项目".into(), "数量".into(), "比例".into()],
        table,
    ));

    Ok(render(StatsPage {
        scope: scope_zh(&actor, s),
        role_zh: u.role().zh(),
        user: Some(u),
        form,
        total,
        charts,
        today: today.to_string(),
    }))
}

#[cfg(test)]
mod tests {
    use super::{csv, percent};

    #[test]
    fn csv_quotes_and_neutralises_formulas() {
        let mut row: Vec<String> = vec!["a\"b".into(), "=1+1".into(), "康宁医院".into()];
        row.resize(super::COLUMNS.len(), String::new());
        let bytes = csv(&[row]).unwrap();
        assert!(bytes.starts_with(&[0xEF, 0xBB, 0xBF]));
        let text = String::from_utf8(bytes).unwrap();
        assert!(text.lines().nth(1).unwrap().starts_with("\"a\"\"b\",\"'=1+1\",\"康宁医院\","), "{text}");
        assert!(text.ends_with("\"\"\r\n"));
    }

    #[test]
    fn query_values_are_percent_encoded() {
        assert_eq!(percent("a b&c"), "a%20b%26c");
        assert_eq!(percent("harbin:2026.1"), "harbin%3A2026.1");
    }
}
