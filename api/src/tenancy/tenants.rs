//! Tenants: the organisation's list and search, and one tenant. Staff create
//! tenants when they raise a tenancy request for a new claimant
//! (`super::requests::raise`).

use sea_orm::{
    ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait,
};
use uuid::Uuid;

use entities::{property, tenant};

use super::properties::{contains, search_words};
use crate::{
    app::App,
    error::ApiResult,
    policy::{self, Caller},
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
/// and whether more follow.
pub async fn list(
    app: &App,
    caller: &Caller<'_>,
    filter: &TenantFilter,
    offset: u64,
    limit: u64,
) -> ApiResult<(Vec<tenant::Model>, bool)> {
    let mut query =
        tenant::Entity::find().filter(policy::tenants::visible(caller, filter.organisation_id)?);
    if let Some(search) = &filter.search {
        query = query.filter(search_condition(search));
    }
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
    Ok((rows, has_next))
}

/// "First Last".
pub fn full_name(t: &tenant::Model) -> String {
    format!("{} {}", t.first_name, t.last_name)
}
