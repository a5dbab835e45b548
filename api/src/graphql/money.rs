//! The `Money` scalar: an amount in pounds as a decimal string (`"1234.56"`),
//! exact, backed by integer pence. The one money convention of the API, for
//! input and output alike; no amount is ever a GraphQL `Float`.
//!
//! Input is checked by the resolver that uses it, not while the request is
//! parsed: a parse-time failure could only say "invalid value", while
//! [`Money::pence`] answers `BAD_USER_INPUT` naming the field (e.g.
//! `input.rent`) with every reason (negative, malformed, more than two
//! decimal places, too large).

use async_graphql::{InputValueResult, Scalar, ScalarType, Value};

use crate::{
    error::{ApiError, ApiResult},
    tenancy::money::{format_pounds, parse_pounds},
};

/// An amount of money in pounds, as a decimal string with at most two decimal
/// places, e.g. `"1234.56"` (output always has exactly two). Never negative
/// on input, at most `"10000000.00"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Money(Text);

#[derive(Debug, Clone, PartialEq, Eq)]
enum Text {
    /// What the client sent (a string), not yet checked.
    Given(String),
    /// The client sent something other than a string.
    NotAString,
    /// An exact amount (output).
    Pence(i64),
}

impl Money {
    /// An amount for output.
    pub fn from_pence(pence: i64) -> Self {
        Self(Text::Pence(pence))
    }

    /// The amount in pence, or `BAD_USER_INPUT` on `field` with every reason.
    pub fn pence(&self, field: &str) -> ApiResult<i64> {
        let reasons = match &self.0 {
            Text::Pence(p) => return Ok(*p),
            Text::Given(text) => match parse_pounds(text) {
                Ok(p) => return Ok(p),
                Err(reasons) => reasons,
            },
            Text::NotAString => {
                vec!["Must be a string in pounds, e.g. \"123.45\" (not a number).".to_owned()]
            }
        };
        Err(ApiError::BadInput {
            message: reasons.join(" "),
            field: Some(field.to_owned()),
            reasons,
        })
    }
}

/// Optional money input in pence.
pub fn optional_pence(value: Option<&Money>, field: &str) -> ApiResult<Option<i64>> {
    value.map(|m| m.pence(field)).transpose()
}

/// An amount of money in pounds, as a decimal string with at most two decimal
/// places, e.g. `"1234.56"` (output always has exactly two). Never negative
/// on input, at most `"10000000.00"`.
#[Scalar(name = "Money")]
impl ScalarType for Money {
    fn parse(value: Value) -> InputValueResult<Self> {
        Ok(match value {
            Value::String(s) => Self(Text::Given(s)),
            _ => Self(Text::NotAString),
        })
    }

    fn to_value(&self) -> Value {
        Value::String(match &self.0 {
            Text::Pence(p) => format_pounds(*p),
            Text::Given(s) => s.clone(),
            Text::NotAString => String::new(),
        })
    }
}
