//! Who may see and change properties and tenants (the seed's Properties and
//! Tenants tabs).
//!
//! Reading follows the tenancy scope (`super::tenancy::read_scope`): staff
//! every organisation, a landlord user their own (another organisation's
//! property or tenant answers `NOT_FOUND`), residents and API tokens
//! `FORBIDDEN`. Adding, changing and removing properties needs
//! `MANAGE_PROPERTIES` ("Add or remove properties"), for the user's own
//! organisation only. Tenants are created by staff with a tenancy request.

use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use entities::{Permission, property, tenant};

use super::tenancy::{LandlordActor, landlord_with, read_scope};
use crate::{
    auth::Viewer,
    error::{ApiError, ApiResult},
};

/// The condition on `properties` selecting what the caller may see (removed
/// ones included; lists leave them out themselves).
pub fn visible_properties(viewer: &Viewer, requested: Option<Uuid>) -> ApiResult<Condition> {
    Ok(read_scope(viewer, requested)?.condition(property::Column::OrganisationId))
}

/// One property by id, if visible; `NOT_FOUND` otherwise.
pub async fn find_property(
    conn: &impl ConnectionTrait,
    viewer: &Viewer,
    id: Uuid,
) -> ApiResult<property::Model> {
    property::Entity::find_by_id(id)
        .filter(visible_properties(viewer, None)?)
        .one(conn)
        .await?
        .ok_or(ApiError::NotFound("Property"))
}

/// Adding, changing and removing the organisation's properties.
pub fn can_manage(viewer: &Viewer) -> ApiResult<LandlordActor> {
    landlord_with(viewer, Permission::ManageProperties)
}

/// A property of the manager's organisation (another's answers `NOT_FOUND`).
pub async fn find_managed(
    conn: &impl ConnectionTrait,
    manager: LandlordActor,
    id: Uuid,
) -> ApiResult<property::Model> {
    property::Entity::find_by_id(id)
        .filter(property::Column::OrganisationId.eq(manager.organisation_id))
        .one(conn)
        .await?
        .ok_or(ApiError::NotFound("Property"))
}

/// The condition on `tenants` selecting what the caller may see.
pub fn visible_tenants(viewer: &Viewer, requested: Option<Uuid>) -> ApiResult<Condition> {
    Ok(read_scope(viewer, requested)?.condition(tenant::Column::OrganisationId))
}

/// One tenant by id, if visible; `NOT_FOUND` otherwise.
pub async fn find_tenant(
    conn: &impl ConnectionTrait,
    viewer: &Viewer,
    id: Uuid,
) -> ApiResult<tenant::Model> {
    tenant::Entity::find_by_id(id)
        .filter(visible_tenants(viewer, None)?)
        .one(conn)
        .await?
        .ok_or(ApiError::NotFound("Tenant"))
}
