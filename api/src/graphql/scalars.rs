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
