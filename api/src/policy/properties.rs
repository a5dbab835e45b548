//! Who may see and change properties (the seed's Properties tab).
//!
//! Reading follows the tenancy scope (`super::tenancy::read_scope`): staff
//! every organisation, a landlord user their own (another organisation's
//! property answers `NOT_FOUND`), residents and API tokens `FORBIDDEN`.
//! Adding, changing and removing properties needs `MANAGE_PROPERTIES` ("Add
//! or remove properties"), for the user's own organisation only.

use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use entities::{Permission, property};

use super::{
    Allowed, Caller,
    tenancy::{LandlordUser, landlord_with, read_scope},
};
use crate::error::{ApiError, ApiResult};

/// The condition on `properties` selecting what the caller may see (removed
/// ones included; lists leave them out themselves).
pub fn visible(caller: &Caller<'_>, requested: Option<Uuid>) -> ApiResult<Condition> {
    Ok(read_scope(caller, requested)?.condition(property::Column::OrganisationId))
}

/// One property by id, if visible; `NOT_FOUND` otherwise.
pub async fn find_visible(
    conn: &impl ConnectionTrait,
    caller: &Caller<'_>,
    id: Uuid,
) -> ApiResult<property::Model> {
    property::Entity::find_by_id(id)
        .filter(visible(caller, None)?)
        .one(conn)
        .await?
        .ok_or(ApiError::NotFound("Property"))
}

/// Adding, changing and removing the organisation's properties.
pub fn can_manage(caller: &Caller<'_>) -> ApiResult<Allowed<LandlordUser>> {
    landlord_with(caller, Permission::ManageProperties)
}

/// A property of the manager's organisation (another's answers `NOT_FOUND`).
pub async fn find_managed(
    conn: &impl ConnectionTrait,
    manager: &Allowed<LandlordUser>,
    id: Uuid,
) -> ApiResult<property::Model> {
    property::Entity::find_by_id(id)
        .filter(property::Column::OrganisationId.eq(manager.organisation_id))
        .one(conn)
        .await?
        .ok_or(ApiError::NotFound("Property"))
}
