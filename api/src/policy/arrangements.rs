//! Who may see, apply for and decide Alternative Payment Arrangements.
//!
//! - Reading (status, history) follows the tenancy scope
//!   (`super::tenancy::read_scope`): the landlord organisation's users and
//!   staff; another organisation's arrangement answers `NOT_FOUND`.
//! - Applying: a landlord user with `PROVIDE_TENANCY_DETAILS`, for a tenant of
//!   their organisation. The UC seed does not name a permission for APAs; it
//!   puts them beside verifying a tenant's rent ("verify a tenants rent and
//!   apply for an Alternative Payment Arrangement"), which is that
//!   permission's work, and no other permission is closer (the payment ones
//!   are read-only, partner-dashboard scoped).
//! - Approving and rejecting: staff (any role).
//! - Residents and API tokens: `FORBIDDEN`.

use sea_orm::{Condition, ConnectionTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use entities::{Permission, payment_arrangement};

use super::{
    Allowed, Caller, Staff,
    tenancy::{LandlordUser, landlord_with, read_scope},
};
use crate::error::{ApiError, ApiResult};

/// The condition on `payment_arrangements` selecting what the caller may see.
pub fn visible(caller: &Caller<'_>, requested: Option<Uuid>) -> ApiResult<Condition> {
    Ok(read_scope(caller, requested)?.condition(payment_arrangement::Column::OrganisationId))
}

/// One arrangement by id, if visible; `NOT_FOUND` otherwise.
pub async fn find_visible(
    conn: &impl ConnectionTrait,
    caller: &Caller<'_>,
    id: Uuid,
) -> ApiResult<payment_arrangement::Model> {
    payment_arrangement::Entity::find_by_id(id)
        .filter(visible(caller, None)?)
        .one(conn)
        .await?
        .ok_or(ApiError::NotFound("Payment arrangement"))
}

/// Applying for an arrangement for a tenant of the caller's organisation.
pub fn can_apply(caller: &Caller<'_>) -> ApiResult<Allowed<LandlordUser>> {
    landlord_with(caller, Permission::ProvideTenancyDetails)
}

/// Adding evidence to an application: a landlord user of its organisation
/// who may apply (`PROVIDE_TENANCY_DETAILS`), while it awaits a decision
/// (`CONFLICT` after). `arrangement` must come from [`find_visible`].
pub fn can_add_evidence(
    caller: &Caller<'_>,
    arrangement: &payment_arrangement::Model,
) -> ApiResult<Allowed<LandlordUser>> {
    let landlord = can_apply(caller)?;
    if landlord.organisation_id != arrangement.organisation_id {
        return Err(ApiError::NotFound("Payment arrangement"));
    }
    if arrangement.status != entities::ArrangementStatus::Submitted {
        return Err(ApiError::Conflict(
            "Evidence can only be added while the application awaits a decision.".into(),
        ));
    }
    Ok(landlord)
}

/// Approving or rejecting: staff.
pub fn can_decide(caller: &Caller<'_>) -> ApiResult<Allowed<Staff>> {
    super::staff(caller)
}

/// The arrangement a staff member decides on (staff see every organisation's;
/// `NOT_FOUND` for no such arrangement).
pub async fn find_decidable(
    conn: &impl ConnectionTrait,
    _staff: &Allowed<Staff>,
    id: Uuid,
) -> ApiResult<payment_arrangement::Model> {
    payment_arrangement::Entity::find_by_id(id)
        .one(conn)
        .await?
        .ok_or(ApiError::NotFound("Payment arrangement"))
}
