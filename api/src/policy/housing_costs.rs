//! Who may upload and see bulk housing-cost updates.
//!
//! - Uploading needs `BULK_UPDATE_HOUSING_COSTS` (landlord users, for their
//!   own organisation). API tokens carry only payment permissions, so they
//!   cannot: `FORBIDDEN`, like residents and landlord users without it.
//! - Reading an update (status, errors): landlord users of its organisation
//!   with `BULK_UPDATE_HOUSING_COSTS`, and staff. Another organisation's
//!   update answers `NOT_FOUND`, like a missing one.

use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use entities::{Permission, UserKind, housing_cost_update};

use super::{
    Allowed, Caller,
    tenancy::{LandlordUser, landlord_with},
};
use crate::{
    auth::Viewer,
    error::{ApiError, ApiResult},
};

/// Uploading a file: a landlord user with `BULK_UPDATE_HOUSING_COSTS`.
pub fn can_upload(caller: &Caller<'_>) -> ApiResult<Allowed<LandlordUser>> {
    landlord_with(caller, Permission::BulkUpdateHousingCosts)
}

/// The condition on `housing_cost_updates` selecting what the caller may see:
/// staff `requested` (or every organisation), a landlord user with the
/// permission their own organisation's (naming another: `NOT_FOUND`).
pub fn visible(caller: &Caller<'_>, requested: Option<Uuid>) -> ApiResult<Condition> {
    let column = housing_cost_update::Column::OrganisationId;
    if let Viewer::User(u) = caller.viewer
        && u.kind == UserKind::Staff
    {
        return Ok(match requested {
            Some(org) => Condition::all().add(column.eq(org)),
            None => Condition::all(),
        });
    }
    let own = can_upload(caller)?.organisation_id;
    match requested {
        Some(org) if org != own => Err(ApiError::NotFound("Organisation")),
        _ => Ok(Condition::all().add(column.eq(own))),
    }
}

/// One update by id, if visible; `NOT_FOUND` otherwise.
pub async fn find_visible(
    conn: &impl ConnectionTrait,
    caller: &Caller<'_>,
    id: Uuid,
) -> ApiResult<housing_cost_update::Model> {
    housing_cost_update::Entity::find_by_id(id)
        .filter(visible(caller, None)?)
        .one(conn)
        .await?
        .ok_or(ApiError::NotFound("Housing cost update"))
}
