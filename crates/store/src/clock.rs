//! The one place that reads the wall clock. Everything else takes time from a `Clock`, so tests
//! move time instead of waiting for it.

use std::sync::Mutex;

use jiff::{SignedDuration, Timestamp};

pub trait Clock: Send + Sync {
    fn now(&self) -> Timestamp;
    /// Today's civil date in China Standard Time.
    fn today(&self) -> jiff::civil::Date {
        dingdian_core::china_date(self.now())
    }
}

/// The real clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// A clock that stands still until moved (tests, demo seeding). Its dates and moves come from
/// code, never from input, so the `expect`s below (dates at the ends of time, a poisoned lock
/// after a panicking test) cannot be reached by a user.
pub struct ManualClock(Mutex<Timestamp>);

impl ManualClock {
    pub fn new(at: Timestamp) -> Self {
        ManualClock(Mutex::new(at))
    }

    /// A clock at 10:00 China time on the given date.
    pub fn on(date: jiff::civil::Date) -> Self {
        let at = jiff::tz::offset(8).to_timestamp(date.at(10, 0, 0, 0)).expect("valid time");
        ManualClock::new(at)
    }

    pub fn set(&self, at: Timestamp) {
        *self.0.lock().expect("clock lock") = at;
    }

    pub fn set_date(&self, date: jiff::civil::Date) {
        self.set(ManualClock::on(date).now());
    }

    pub fn advance_days(&self, days: i64) {
        let mut t = self.0.lock().expect("clock lock");
        *t = t.checked_add(SignedDuration::from_hours(24 * days)).expect("time in range");
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        *self.0.lock().expect("clock lock")
    }
}
