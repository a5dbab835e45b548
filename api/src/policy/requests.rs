//! Who may see, raise and answer "Provide tenancy details" requests.
//!
//! - Reading follows the tenancy scope (`super::tenancy::read_scope`): staff
//!   every organisation, a landlord user their own.
//! - Staff raise requests.
//! - Answering a request needs `PROVIDE_TENANCY_DETAILS`, for the user's own
//!   organisation (another's request answers `NOT_FOUND`).

use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use entities::{Permission, tenancy_request};

use super::{
    Allowed, Caller, Staff,
    tenancy::{LandlordUser, landlord_with, read_scope},
};
use crate::error::{ApiError, ApiResult};

/// The condition on `tenancy_requests` selecting what the caller may see.
pub fn visible(caller: &Caller<'_>, requested: Option<Uuid>) -> ApiResult<Condition> {
    Ok(read_scope(caller, requested)?.condition(tenancy_request::Column::OrganisationId))
}

/// One request by id, if the caller may see it; `NOT_FOUND` otherwise.
pub async fn find_visible(
    conn: &impl ConnectionTrait,
    caller: &Caller<'_>,
    id: Uuid,
) -> ApiResult<tenancy_request::Model> {
    tenancy_request::Entity::find_by_id(id)
        .filter(visible(caller, None)?)
        .one(conn)
        .await?
        .ok_or(ApiError::NotFound("Tenancy request"))
}

/// Raising requests: staff.
pub fn can_raise(caller: &Caller<'_>) -> ApiResult<Allowed<Staff>> {
    super::staff(caller)
}

/// Answering the organisation's requests: `PROVIDE_TENANCY_DETAILS`.
pub fn can_answer(caller: &Caller<'_>) -> ApiResult<Allowed<LandlordUser>> {
    landlord_with(caller, Permission::ProvideTenancyDetails)
}

/// The request `id` of the answering user's organisation (another
/// organisation's answers `NOT_FOUND`).
pub async fn find_answerable(
    conn: &impl ConnectionTrait,
    landlord: &Allowed<LandlordUser>,
    id: Uuid,
) -> ApiResult<tenancy_request::Model> {
    tenancy_request::Entity::find_by_id(id)
        .filter(tenancy_request::Column::OrganisationId.eq(landlord.organisation_id))
        .one(conn)
        .await?
        .ok_or(ApiError::NotFound("Tenancy request"))
}
