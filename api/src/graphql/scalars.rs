//! Helpers for ids and cursors.
//!
//! Ids are UUIDs (v7). A malformed id cannot name anything, so it answers
//! `NOT_FOUND` like any other id the caller cannot see. Cursors are opaque
//! (base64 of the last id seen) so clients do not build them.

use async_graphql::ID;
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};

/// Parses a GraphQL id of an object of type `what`.
pub fn parse_id(id: &ID, what: &'static str) -> ApiResult<Uuid> {
    Uuid::parse_str(id.as_str()).map_err(|_| ApiError::NotFound(what))
}

/// An opaque cursor for a position after `id`.
pub fn encode_cursor(id: Uuid) -> String {
    URL_SAFE_NO_PAD.encode(id.as_bytes())
}

/// Reads a cursor made by [`encode_cursor`].
pub fn decode_cursor(cursor: &str) -> ApiResult<Uuid> {
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|b| Uuid::from_slice(&b).ok())
        .ok_or_else(|| ApiError::bad_input("after", "Not a cursor returned by this API."))
}

/// Clamps a requested page size: default 20, at most 100.
pub fn page_size(first: Option<i32>) -> ApiResult<u64> {
    match first {
        None => Ok(20),
        Some(n) if (1..=100).contains(&n) => Ok(n as u64),
        Some(_) => Err(ApiError::bad_input("first", "Must be between 1 and 100.")),
    }
}
