//! Who may see and retry background jobs: service administrators (the
//! operators' role among staff). Job records can name recipients and carry
//! provider errors, so caseworkers and portal users never see them.

use entities::StaffRole;

use crate::{
    auth::Viewer,
    error::{ApiError, ApiResult},
};

/// Listing, reading and retrying jobs.
pub fn can_operate(viewer: &Viewer) -> ApiResult<()> {
    match viewer {
        Viewer::Anonymous => Err(ApiError::Unauthenticated),
        v if v.is_staff(Some(StaffRole::ServiceAdmin)) => Ok(()),
        _ => Err(ApiError::Forbidden),
    }
}
