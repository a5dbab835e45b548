//! Who may see and change organisations.
//!
//! - Service administrators create organisations and change their email
//!   domains (a domain decides who can be invited, so it is a staff action,
//!   as the UC seed says: "contact your Partnership Manager").
//! - Any staff member may list and read every organisation (caseworkers pick
//!   the landlord of a case).
//! - A landlord user reads only their own organisation; asking for another by
//!   id answers `NOT_FOUND`, like a missing one.
//! - Residents and API tokens are `FORBIDDEN`; nobody signed in is
//!   `UNAUTHENTICATED`.

use entities::{StaffRole, UserKind};
use uuid::Uuid;

use super::{Allowed, Caller, Staff};
use crate::{
    auth::Viewer,
    error::{ApiError, ApiResult},
};

/// Creating organisations and changing their domains.
pub fn can_administer(caller: &Caller<'_>) -> ApiResult<Allowed<Staff>> {
    match caller.viewer {
        Viewer::Anonymous => Err(ApiError::Unauthenticated),
        Viewer::User(u) if caller.viewer.is_staff(Some(StaffRole::ServiceAdmin)) => {
            Ok(Allowed::grant(caller, Staff { user_id: u.id }))
        }
        _ => Err(ApiError::Forbidden),
    }
}

/// Listing every organisation.
pub fn can_list(caller: &Caller<'_>) -> ApiResult<()> {
    match caller.viewer {
        Viewer::Anonymous => Err(ApiError::Unauthenticated),
        v if v.is_staff(None) => Ok(()),
        _ => Err(ApiError::Forbidden),
    }
}

/// Reading the organisation `id`.
pub fn can_view(caller: &Caller<'_>, id: Uuid) -> ApiResult<()> {
    match caller.viewer {
        Viewer::Anonymous => Err(ApiError::Unauthenticated),
        v if v.is_staff(None) => Ok(()),
        Viewer::User(u) if u.kind == UserKind::Landlord => {
            if u.organisation_id == Some(id) {
                Ok(())
            } else {
                Err(ApiError::NotFound("Organisation"))
            }
        }
        _ => Err(ApiError::Forbidden),
    }
}

/// The caller's own organisation: a landlord user's; `None` for everyone
/// else signed in.
pub fn own_organisation(caller: &Caller<'_>) -> ApiResult<Option<Uuid>> {
    match caller.viewer {
        Viewer::Anonymous => Err(ApiError::Unauthenticated),
        Viewer::User(u) if u.kind == UserKind::Landlord => Ok(u.organisation_id),
        _ => Ok(None),
    }
}

/// Whether the caller may see the organisation `id`: what the links to an
/// organisation from other objects (`Tenant.organisation`,
/// `Payment.organisation`, …) answer with: staff see every organisation, a
/// landlord user their own; API tokens and residents read such a link as
/// null, as [`can_view`] refuses them.
pub fn may_view(caller: &Caller<'_>, id: Uuid) -> bool {
    can_view(caller, id).is_ok()
}
