//! Who may see tenants (the seed's Tenants tab): the tenancy scope
//! (`super::tenancy::read_scope`), the same as for properties, so a
//! property's tenants (`Property.tenants`) are visible to whoever sees the
//! property. Tenants are created by staff with a tenancy request and changed
//! by the landlord answering it; linking a tenant to a property needs
//! `MANAGE_PROPERTIES` (the properties are what it manages), for the user's
//! own organisation only.

use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use entities::{Permission, tenant};

use super::{
    Allowed, Caller,
    tenancy::{LandlordUser, landlord_with, read_scope},
};
use crate::error::{ApiError, ApiResult};

/// The condition on `tenants` selecting what the caller may see.
pub fn visible(caller: &Caller<'_>, requested: Option<Uuid>) -> ApiResult<Condition> {
    Ok(read_scope(caller, requested)?.condition(tenant::Column::OrganisationId))
}

/// One tenant by id, if visible; `NOT_FOUND` otherwise.
pub async fn find_visible(
    conn: &impl ConnectionTrait,
    caller: &Caller<'_>,
    id: Uuid,
) -> ApiResult<tenant::Model> {
    tenant::Entity::find_by_id(id)
        .filter(visible(caller, None)?)
        .one(conn)
        .await?
        .ok_or(ApiError::NotFound("Tenant"))
}

/// Linking the organisation's tenants to its properties.
pub fn can_link(caller: &Caller<'_>) -> ApiResult<Allowed<LandlordUser>> {
    landlord_with(caller, Permission::ManageProperties)
}

/// A tenant of the manager's organisation (another's answers `NOT_FOUND`).
pub async fn find_linkable(
    conn: &impl ConnectionTrait,
    manager: &Allowed<LandlordUser>,
    id: Uuid,
) -> ApiResult<tenant::Model> {
    tenant::Entity::find_by_id(id)
        .filter(tenant::Column::OrganisationId.eq(manager.organisation_id))
        .one(conn)
        .await?
        .ok_or(ApiError::NotFound("Tenant"))
}
