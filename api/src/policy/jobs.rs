//! Who may see and retry background jobs: service administrators (the
//! operators' role among staff). Job records can name recipients and carry
//! provider errors, so caseworkers and portal users never see them.

use entities::StaffRole;

use super::{Allowed, Caller, Staff};
use crate::{
    auth::Viewer,
    error::{ApiError, ApiResult},
};

/// Listing, reading and retrying jobs.
pub fn can_operate(caller: &Caller<'_>) -> ApiResult<Allowed<Staff>> {
    match caller.viewer {
        Viewer::Anonymous => Err(ApiError::Unauthenticated),
        Viewer::User(u) if caller.viewer.is_staff(Some(StaffRole::ServiceAdmin)) => {
            Ok(Allowed::grant(caller, Staff { user_id: u.id }))
        }
        _ => Err(ApiError::Forbidden),
    }
}
