//! Who may search and record payments.
//!
//! - Reading an organisation's payments needs `VIEW_PAYMENTS`: a landlord
//!   user with it reads their own organisation's; an API token with it
//!   (partner dashboards) reads its organisation's. Naming another
//!   organisation, or another organisation's payment by id, answers
//!   `NOT_FOUND` like a missing one. Staff read any organisation's, named by
//!   its id (the totals are per organisation, so a staff search always names
//!   one).
//! - Without `VIEW_PAYMENTS` (landlord users, tokens), residents: `FORBIDDEN`;
//!   nobody signed in: `UNAUTHENTICATED`.
//! - Recording payments: staff.

use sea_orm::{ConnectionTrait, EntityTrait};
use uuid::Uuid;

use entities::{Permission, UserKind, payment};

use super::{Allowed, Caller, Staff};
use crate::{
    auth::Viewer,
    error::{ApiError, ApiResult},
};

/// The organisation whose payments the caller reads: `requested`, checked,
/// or the caller's own when `None` (staff must name one: `BAD_USER_INPUT` on
/// `field`).
pub fn visible(caller: &Caller<'_>, requested: Option<Uuid>, field: &str) -> ApiResult<Uuid> {
    let own = match caller.viewer {
        Viewer::Anonymous => return Err(ApiError::Unauthenticated),
        Viewer::User(u) if u.kind == UserKind::Staff => {
            return requested
                .ok_or_else(|| ApiError::bad_input(field, "Staff must name the organisation."));
        }
        Viewer::User(u)
            if u.kind == UserKind::Landlord
                && u.permissions.contains(&Permission::ViewPayments) =>
        {
            u.organisation_id.ok_or(ApiError::Forbidden)?
        }
        Viewer::ApiToken(t) if t.permissions.contains(&Permission::ViewPayments) => {
            t.organisation_id
        }
        _ => return Err(ApiError::Forbidden),
    };
    match requested {
        Some(org) if org != own => Err(ApiError::NotFound("Organisation")),
        _ => Ok(own),
    }
}

/// One payment by id, if the caller may read it; `NOT_FOUND` otherwise.
pub async fn find_visible(
    conn: &impl ConnectionTrait,
    caller: &Caller<'_>,
    id: Uuid,
) -> ApiResult<payment::Model> {
    let row = payment::Entity::find_by_id(id).one(conn).await?;
    let staff = caller.viewer.is_staff(None);
    // Permission first (FORBIDDEN says nothing about the id), then the
    // organisation (another's payment is NOT_FOUND, like a missing one).
    let own = if staff {
        None
    } else {
        Some(visible(caller, None, "id")?)
    };
    row.filter(|p| own.is_none_or(|org| p.organisation_id == org))
        .ok_or(ApiError::NotFound("Payment"))
}

/// Recording payments: staff.
pub fn can_record(caller: &Caller<'_>) -> ApiResult<Allowed<Staff>> {
    super::staff(caller)
}
