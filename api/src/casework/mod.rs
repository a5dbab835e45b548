//! Casework services: cases, their parties, tasks, messages and staff notes.
//!
//! The GraphQL resolvers in `crate::graphql::{cases, tasks, messages}` are
//! thin: they parse input, ask the policy (`crate::policy::cases::can_manage`
//! for the back office, `can_act` for the parties), call a function here and
//! convert the answer.
//!
//! Every function here is `(app, <caller>, …)`: a change takes the
//! capability the resolver's policy check gave (`&Allowed<Staff>` or
//! `&Allowed<Reader>`) and does not check it again; the objects it acts on
//! are read inside its transaction through the policies' `find_*` functions
//! (`crate::policy::{cases, tasks, messages}`). A read takes the
//! [`Reader`] and applies the policies' `visible` conditions. Every change
//! runs in one write transaction with its audit entry and its emails
//! (outbox), and publishes its [`CaseEvent`]s only after the commit.
//!
//! [`CaseEvent`]: crate::events::CaseEvent

pub mod access_reports;
pub mod cases;
pub mod messages;
pub mod notes;
pub mod reference;
pub mod task_reminders;
pub mod tasks;

use entities::case;

use crate::{
    error::{ApiError, ApiResult},
    policy::{Allowed, Staff, cases::Reader},
};

/// Longest reason for "unable to complete" (the seed's 0/280 counter).
pub const MAX_REASON: usize = 280;
/// Longest message or reply body (the seed's 0/2000 counter).
pub const MAX_BODY: usize = 2000;
/// Longest short text (titles, subjects, labels).
pub const MAX_SHORT: usize = 200;

/// A required text of at most `max` characters, trimmed.
pub fn text(field: &str, value: &str, max: usize) -> ApiResult<String> {
    let value = value.trim();
    let mut reasons = vec![];
    if value.is_empty() {
        reasons.push("Must not be empty.".to_owned());
    }
    let len = value.chars().count();
    if len > max {
        reasons.push(format!("Must be at most {max} characters (this is {len})."));
    }
    if reasons.is_empty() {
        Ok(value.to_owned())
    } else {
        Err(ApiError::BadInput {
            message: reasons.join(" "),
            field: Some(field.to_owned()),
            reasons,
        })
    }
}

/// Today in the UK (due dates are calendar dates; "overdue" means before
/// today): see [`crate::calendar`].
pub use crate::calendar::today;

/// The casework reader a staff member is: staff see every case, task,
/// message and document, so a back-office change reads the objects it acts
/// on through the same `find_visible` as any reader.
pub fn staff_reader(staff: &Allowed<Staff>) -> Reader {
    Reader {
        user_id: staff.user_id,
        side: None,
    }
}

/// `case`, if it is open; [`ApiError::CaseClosed`] (`CONFLICT`, reason
/// `CASE_CLOSED`) otherwise: a closed case is read-only for everything but
/// `reopenCase`.
pub fn open(case: case::Model) -> ApiResult<case::Model> {
    if case.closed_at.is_some() {
        return Err(ApiError::CaseClosed);
    }
    Ok(case)
}
