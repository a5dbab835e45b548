//! Casework services: cases, their parties, tasks and messages.
//!
//! The GraphQL resolvers in `crate::graphql::{cases, tasks, messages}` are
//! thin: they parse input, call a function here and convert the answer.
//! Every function here takes the caller and asks the policy of the object
//! type it touches (`crate::policy::{cases, tasks, messages}`) before reading
//! or changing anything; every change runs in one write transaction with its
//! audit entry and its emails (outbox), and publishes its [`CaseEvent`]s only
//! after the commit.
//!
//! [`CaseEvent`]: crate::events::CaseEvent

pub mod cases;
pub mod messages;
pub mod reference;
pub mod task_reminders;
pub mod tasks;

use chrono::Utc;

use crate::error::{ApiError, ApiResult};

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

/// Today in UTC (due dates are calendar dates; "overdue" means before today).
pub fn today() -> chrono::NaiveDate {
    Utc::now().date_naive()
}
