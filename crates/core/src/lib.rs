//! dingdian-core: the pure decision logic of dingdian. Identifiers, the working-day calendar and
//! deadlines, policy profiles, and the application state machine. No I/O, no async and no clock
//! of its own: everything time-dependent takes today's date as an argument.

pub mod accounts;
pub mod annex;
pub mod audit;
pub mod calendar;
pub mod calendar_form;
pub mod clocks;
pub mod deadline;
pub mod draw;
pub mod eligibility;
pub mod ids;
pub mod lifecycle;
pub mod planning;
pub mod policy;
pub mod province;
pub mod refusal;
pub mod registry;
pub mod rules;
pub mod search;
pub mod spanned;
pub mod text;
pub mod visibility;
pub mod vocabulary;

/// The civil date in China Standard Time (Asia/Shanghai, UTC+8 all year since 1991) of an instant.
pub fn china_date(at: jiff::Timestamp) -> jiff::civil::Date {
    jiff::tz::offset(8).to_datetime(at).date()
}
