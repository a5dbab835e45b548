//! The service's calendar: the United Kingdom's.
//!
//! Due dates, "overdue", "due today", the date a to-do item was added and the
//! date an inactive account will be deactivated are calendar dates, and the
//! people who read them live in the UK. Between midnight and 1am in summer
//! (British Summer Time, UTC+1) the UTC date is still yesterday's: a task due
//! today would not yet be "due today", and one due yesterday would not yet be
//! overdue. Every calendar date is therefore taken in `Europe/London`;
//! instants (timestamps) stay UTC everywhere, in the database and the API.

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::{Europe::London, Tz};

/// The time zone of every calendar date the service shows or compares.
pub const ZONE: Tz = London;

/// The UK calendar date at an instant.
pub fn uk_date(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&ZONE).date_naive()
}

/// Today's date in the UK.
pub fn today() -> NaiveDate {
    uk_date(Utc::now())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    fn date(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn summer_time_runs_an_hour_ahead_of_utc() {
        // 23:30 UTC on 1 July is 00:30 BST on 2 July.
        assert_eq!(uk_date(at("2026-07-01T23:30:00Z")), date("2026-07-02"));
        assert_eq!(uk_date(at("2026-07-01T22:59:59Z")), date("2026-07-01"));
    }

    #[test]
    fn winter_time_is_utc() {
        assert_eq!(uk_date(at("2026-12-01T23:30:00Z")), date("2026-12-01"));
        assert_eq!(uk_date(at("2026-12-02T00:00:00Z")), date("2026-12-02"));
    }

    #[test]
    fn the_clock_changes_are_followed() {
        // BST starts at 01:00 UTC on the last Sunday of March (29 March 2026)
        // and ends at 01:00 UTC on the last Sunday of October (25 October).
        assert_eq!(uk_date(at("2026-03-28T23:30:00Z")), date("2026-03-28"));
        assert_eq!(uk_date(at("2026-03-29T23:30:00Z")), date("2026-03-30"));
        assert_eq!(uk_date(at("2026-10-24T23:30:00Z")), date("2026-10-25"));
        assert_eq!(uk_date(at("2026-10-25T23:30:00Z")), date("2026-10-25"));
    }
}
