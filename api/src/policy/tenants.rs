//! Who may see tenants (the seed's Tenants tab): the tenancy scope
//! (`super::tenancy::read_scope`). Tenants are created by staff with a
//! tenancy request and changed by the landlord answering it.

use sea_orm::{Condition, ConnectionTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use entities::tenant;

use super::{Caller, tenancy::read_scope};
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
