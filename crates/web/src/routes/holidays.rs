//! The holiday form (issue #16 item 8): an administrator enters a year's holidays and adjusted
//! working days from the State Council's notice, sees which open deadlines would move, then
//! confirms. The confirmation loads the year exactly as a pasted calendar file does
//! (`Store::load_calendar_year`: stored, audited by the applications' events, re-projected).
//!
//! Not responsible for the checks (`calendar_form::YearEntry::check`, in the core) nor for who
//! may load a year (`province::may_load_calendar`) or see an application in the preview
//! (`province::administer`, applied by the store).

use std::collections::HashMap;

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use dingdian_core::calendar_form::{HolidayRow, YearEntry};
use dingdian_core::province;
use dingdian_store::{CalendarPreview, User};

use super::pages::{message, render};
use crate::AppState;
use crate::auth::MaybeUser;
use crate::extract::{Form, Query};

/// Rows of the form: the seven statutory holidays, and room for one more.
const ROWS: usize = 8;
/// The statutory holidays, filled in as the rows' names.
const NAMES: [&str; 7] = ["元旦", "春节", "清明节", "劳动节", "端午节", "中秋节", "国庆节"];

/// One row as shown again.
pub struct RowView {
    i: usize,
    hint: &'static str,
    name: String,
    from: String,
    to: String,
    workdays: String,
}

/// One moved deadline, in words.
pub struct ChangeView {
    id: i64,
    number: String,
    institution: String,
    clock: String,
    old: String,
    new: String,
}

#[derive(Template)]
#[template(path = "holidays.html")]
struct HolidaysPage<'a> {
    user: Option<User>,
    role_zh: &'a str,
    /// The city screen to go back to, for a provincial administrator.
    city: String,
    year: String,
    source: String,
    rows: Vec<RowView>,
    errors: Vec<String>,
    /// Set once the form checked out: the moved deadlines, and how many elsewhere.
    preview: Option<(Vec<ChangeView>, usize)>,
    done: Option<String>,
}

fn field(f: &HashMap<String, String>, k: &str) -> String {
    f.get(k).cloned().unwrap_or_default()
}

fn entry(f: &HashMap<String, String>) -> YearEntry {
    YearEntry {
        year: field(f, "year"),
        source: field(f, "source"),
        rows: (0..ROWS)
            .map(|i| HolidayRow {
                name: field(f, &format!("name_{i}")),
                from: field(f, &format!("from_{i}")),
                to: field(f, &format!("to_{i}")),
                workdays: field(f, &format!("work_{i}")),
            })
            .collect(),
    }
}

fn view(u: User, city: &str, e: &YearEntry, errors: Vec<String>, preview: Option<CalendarPreview>, done: Option<String>) -> Response {
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let date = |d: Option<jiff::civil::Date>| d.map_or_else(|| "无法确定".to_owned(), |d| d.to_string());
    let preview = preview.map(|p| {
        let changes = p
            .changes
            .into_iter()
            .map(|c| ChangeView {
                id: c.application_id,
                number: c.number,
                institution: c.institution_name,
                clock: c.clock,
                old: date(c.old_due),
                new: date(c.new_due),
            })
            .collect();
        (changes, p.elsewhere)
    });
    let page = HolidaysPage {
        role_zh: u.role().zh(),
        user: Some(u),
        city: city.to_owned(),
        year: e.year.clone(),
        source: e.source.clone(),
        rows: (0..ROWS)
            .map(|i| {
                let r = e.rows.get(i).cloned().unwrap_or_default();
                RowView { i, hint: NAMES.get(i).copied().unwrap_or(""), name: r.name, from: r.from, to: r.to, workdays: r.workdays }
            })
            .collect(),
        errors,
        preview,
        done,
    };
    (status, render(page)).into_response()
}

#[derive(serde::Deserialize, Default)]
pub struct CityQuery {
    #[serde(default)]
    city: Option<String>,
}

/// `GET /admin/holidays`: the empty form, for next year.
pub async fn form(State(s): State<AppState>, MaybeUser(user): MaybeUser, Query(q): Query<CityQuery>) -> Response {
    let Some(u) = user else { return Redirect::to("/login").into_response() };
    if let Err(r) = province::may_load_calendar(&u.actor()) {
        return super::pages::error_page(r.into());
    }
    // Next year, with the statutory holidays' names filled in (a row without dates is skipped).
    let rows = NAMES.iter().map(|n| HolidayRow { name: (*n).to_owned(), ..Default::default() }).collect();
    let e = YearEntry { year: (s.clock.today().year() + 1).to_string(), rows, ..Default::default() };
    view(u, q.city.as_deref().unwrap_or_default(), &e, Vec::new(), None, None)
}

/// `POST /admin/holidays`: `step=preview` checks the form and lists the deadlines that would
/// move; `step=confirm` checks it again and loads the year.
pub async fn submit(State(s): State<AppState>, MaybeUser(user): MaybeUser, Form(f): Form<HashMap<String, String>>) -> Response {
    let Some(u) = user else { return Redirect::to("/login").into_response() };
    let actor = u.actor();
    if let Err(r) = province::may_load_calendar(&actor) {
        return super::pages::error_page(r.into());
    }
    let city = field(&f, "city");
    let e = entry(&f);
    let year = match e.check() {
        Ok(y) => y,
        Err(errors) => return view(u, &city, &e, errors, None, None),
    };
    let now = s.clock.now();
    if field(&f, "step") != "confirm" {
        return match s.store.preview_calendar_year(&actor, &year, now).await {
            Ok(p) => view(u, &city, &e, Vec::new(), Some(p), None),
            Err(err) => view(u, &city, &e, vec![message(err.into())], None, None),
        };
    }
    let text = year.to_toml();
    match s.store.load_calendar_year(&format!("{}.toml", year.year), &text, Some(u.id), now).await {
        Ok(load) => {
            tracing::info!(admin = u.id, year = load.year, "calendar year loaded from the form");
            let done = format!("已载入 {} 年节假日安排，重新计算了 {} 件申请的期限。", load.year, load.reprojected.len());
            view(u, &city, &e, Vec::new(), None, Some(done))
        }
        Err(err) => view(u, &city, &e, vec![message(err.into())], None, None),
    }
}
