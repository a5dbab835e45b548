//! Ids.
//!
//! Ids are UUIDs (v7). An id naming an object to read ([`parse_id`]) that is
//! malformed cannot name anything, so it answers `NOT_FOUND` like any other
//! id the caller cannot see. An id given as input to a change
//! ([`input_id`]) that is malformed is `BAD_USER_INPUT` on its field.

use async_graphql::ID;
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};

/// Parses a GraphQL id of an object of type `what`.
pub fn parse_id(id: &ID, what: &'static str) -> ApiResult<Uuid> {
    Uuid::parse_str(id.as_str()).map_err(|_| ApiError::NotFound(what))
}

/// An id given as input (`BAD_USER_INPUT` on `field` when malformed).
pub fn input_id(id: &ID, field: &str) -> ApiResult<Uuid> {
    Uuid::parse_str(id.as_str()).map_err(|_| ApiError::bad_input(field, "Not an id."))
}

/// An optional [`input_id`].
pub fn opt_input_id(id: Option<&ID>, field: &str) -> ApiResult<Option<Uuid>> {
    id.map(|id| input_id(id, field)).transpose()
}

/// An optional organisation id argument. A malformed one names nothing the
/// caller may see: `NOT_FOUND`, like any other id.
pub fn organisation_arg(id: Option<&ID>) -> ApiResult<Option<Uuid>> {
    id.map(|id| parse_id(id, "Organisation")).transpose()
}

/// A calendar date, `YYYY-MM-DD` (RFC 3339 `full-date`), such as
/// `2026-03-05`. Dates the service works out (today, overdue, due soon) are
/// UK dates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date(pub chrono::NaiveDate);

/// A calendar date, `YYYY-MM-DD` (RFC 3339 `full-date`), such as
/// `2026-03-05`. Dates the service works out (today, overdue, due soon) are
/// UK dates.
#[async_graphql::Scalar(
    name = "Date",
    specified_by_url = "https://www.rfc-editor.org/rfc/rfc3339#section-5.6"
)]
impl async_graphql::ScalarType for Date {
    fn parse(value: async_graphql::Value) -> async_graphql::InputValueResult<Self> {
        let async_graphql::Value::String(text) = &value else {
            return Err(async_graphql::InputValueError::expected_type(value));
        };
        // Exactly `YYYY-MM-DD`: chrono alone would also take `2026-3-5`.
        let shaped = text.len() == 10
            && text.bytes().enumerate().all(|(i, b)| {
                if i == 4 || i == 7 {
                    b == b'-'
                } else {
                    b.is_ascii_digit()
                }
            });
        match chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
            Ok(date) if shaped => Ok(Self(date)),
            _ => Err(async_graphql::InputValueError::custom(format!(
                "\"{text}\" is not a date: give YYYY-MM-DD, such as 2026-03-05."
            ))),
        }
    }

    fn to_value(&self) -> async_graphql::Value {
        async_graphql::Value::String(self.0.format("%Y-%m-%d").to_string())
    }
}

impl From<chrono::NaiveDate> for Date {
    fn from(date: chrono::NaiveDate) -> Self {
        Self(date)
    }
}

#[cfg(test)]
mod tests {
    use async_graphql::{ScalarType, Value};

    use super::Date;

    #[test]
    fn dates_are_exactly_yyyy_mm_dd() {
        let date = Date::parse(Value::String("2026-03-05".into())).unwrap();
        assert_eq!(date.to_value(), Value::String("2026-03-05".into()));
        for bad in [
            "2026-3-5",
            "2026-02-30",
            "05/03/2026",
            "2026-03-05T00:00:00Z",
            "",
        ] {
            assert!(Date::parse(Value::String(bad.into())).is_err(), "{bad}");
        }
        assert!(Date::parse(Value::Number(20260305.into())).is_err());
    }
}
