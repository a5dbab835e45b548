//! Authorization: one policy per object type, called by every resolver that
//! returns or changes an object of that type. No resolver checks on its own.
//!
//! A policy that denies access to an object the caller could not otherwise
//! know about answers `NOT_FOUND`, exactly as for an id that does not exist, so
//! ids cannot be probed.

pub mod api_tokens;
pub mod arrangements;
pub mod audit;
pub mod cases;
pub mod documents;
pub mod exports;
pub mod housing_costs;
pub mod identity;
pub mod jobs;
pub mod messages;
pub mod organisations;
pub mod payments;
pub mod properties;
pub mod tasks;
pub mod tenancy;
pub mod users;

use crate::{
    auth::{AuthUser, Viewer},
    error::{ApiError, ApiResult},
};

/// The signed-in user, or `UNAUTHENTICATED`.
pub fn require_user(viewer: &Viewer) -> ApiResult<&AuthUser> {
    viewer.user().ok_or(ApiError::Unauthenticated)
}
