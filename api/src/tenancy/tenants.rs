//! Tenants: the organisation's list and search, one tenant, and the property
//! a tenant rents. Staff create tenants when they raise a tenancy request for
//! a new claimant (`super::requests::raise`).
//!
//! A tenant is linked to a property when a request or its answer names one
//! (`super::requests`), and by a user with `MANAGE_PROPERTIES` ([`set_property`]),
//! so a verified rent belongs to an address. Each link and unlink is audited.

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, IntoActiveModel,
    QueryFilter, QueryOrder, QuerySelect, QueryTrait, Set,
};
use uuid::Uuid;

use entities::{property, tenant};

use crate::{
    app::App,
    audit::{self, Actor},
    error::{ApiError, ApiResult},
    lists::{Total, contains, search_words},
    policy::{self, Allowed, Caller, tenancy::LandlordUser},
};

/// Which tenants a list shows.
#[derive(Debug, Clone, Default)]
pub struct TenantFilter {
    /// The organisation (staff: any; landlord users: their own).
    pub organisation_id: Option<Uuid>,
    /// Words that must each match the tenant's name, claim reference, or
    /// their property's reference, address, town or postcode.
    pub search: Option<String>,
}

/// The condition on `tenants` matching every word of `search`.
pub fn search_condition(search: &str) -> Condition {
    let mut all = Condition::all();
    for word in search_words(search) {
        let homes = property::Entity::find()
            .select_only()
            .column(property::Column::Id)
            .filter(super::properties::search_condition(&word))
            .into_query();
        all = all.add(
            Condition::any()
                .add(contains(tenant::Column::FirstName, &word))
                .add(contains(tenant::Column::LastName, &word))
                .add(contains(tenant::Column::ClaimReference, &word))
                .add(tenant::Column::PropertyId.in_subquery(homes)),
        );
    }
    all
}

/// One page of the tenants the caller may see (by last name, first name),
/// whether more follow, and the total of the whole list.
pub async fn list(
    app: &App,
    caller: &Caller<'_>,
    filter: &TenantFilter,
    offset: u64,
    limit: u64,
) -> ApiResult<(Vec<tenant::Model>, bool, Total)> {
    let mut query =
        tenant::Entity::find().filter(policy::tenants::visible(caller, filter.organisation_id)?);
    if let Some(search) = &filter.search {
        query = query.filter(search_condition(search));
    }
    let total = Total::of(&query);
    let mut rows = query
        .order_by_asc(tenant::Column::LastName)
        .order_by_asc(tenant::Column::FirstName)
        .order_by_asc(tenant::Column::Id)
        .offset(offset)
        .limit(limit + 1)
        .all(&app.db)
        .await?;
    let has_next = rows.len() as u64 > limit;
    rows.truncate(limit as usize);
    Ok((rows, has_next, total))
}

/// "First Last".
pub fn full_name(t: &tenant::Model) -> String {
    format!("{} {}", t.first_name, t.last_name)
}

/// Links `tenant` to the property `property_id` (`None`: unlinks), audited,
/// inside the caller's transaction; unchanged links write nothing. The caller
/// has checked that the property is the tenant's organisation's.
pub(crate) async fn link(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    tenant: tenant::Model,
    property_id: Option<Uuid>,
) -> ApiResult<tenant::Model> {
    if tenant.property_id == property_id {
        return Ok(tenant);
    }
    let before = tenant.clone();
    let mut model = tenant.into_active_model();
    model.property_id = Set(property_id);
    model.updated_at = Set(Utc::now());
    let after = model.update(conn).await?;
    let action = if property_id.is_some() {
        "tenant.link_property"
    } else {
        "tenant.unlink_property"
    };
    audit::record_change(conn, actor, action, Some(&before), &after).await?;
    Ok(after)
}

/// Links a tenant of the manager's organisation to one of its properties, or
/// unlinks them (`property_id: None`), for `MANAGE_PROPERTIES`
/// (`policy::tenants::can_link`). Another organisation's tenant or property
/// answers `NOT_FOUND` like a missing one; a removed property is a
/// `CONFLICT` (it can no longer be anybody's home).
pub async fn set_property(
    app: &App,
    manager: &Allowed<LandlordUser>,
    tenant_id: Uuid,
    property_id: Option<Uuid>,
) -> ApiResult<tenant::Model> {
    let txn = platform::db::begin_write(&app.db).await?;
    let tenant = policy::tenants::find_linkable(&txn, manager, tenant_id).await?;
    if let Some(id) = property_id {
        let home = policy::properties::find_managed(&txn, manager, id).await?;
        if home.removed_at.is_some() {
            return Err(ApiError::Conflict("The property has been removed.".into()));
        }
    }
    let after = link(&txn, manager.actor(), tenant, property_id).await?;
    txn.commit().await?;
    Ok(after)
}
