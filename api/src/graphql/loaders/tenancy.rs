//! Tenancy rows by id: tenants, properties, the tenants of a property and
//! the history of a payment arrangement.

use std::collections::HashMap;

use async_graphql::dataloader::Loader;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use super::{DbLoader, LoadError};

/// A tenant by id (of a request, arrangement or payment the caller was
/// allowed to see: always the same organisation's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TenantKey(pub Uuid);

/// A property by id (a tenant's home, under the same rule as [`TenantKey`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PropertyKey(pub Uuid);

/// The tenants linked to a property the caller may see (tenants and
/// properties share one visibility rule, `policy::tenants`), by last name,
/// first name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PropertyTenantsKey(pub Uuid);

/// The history of a payment arrangement the caller may see, oldest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ArrangementEventsKey(pub Uuid);

impl Loader<TenantKey> for DbLoader {
    type Value = entities::tenant::Model;
    type Error = LoadError;

    async fn load(
        &self,
        keys: &[TenantKey],
    ) -> Result<HashMap<TenantKey, entities::tenant::Model>, LoadError> {
        use entities::tenant;
        Ok(tenant::Entity::find()
            .filter(tenant::Column::Id.is_in(keys.iter().map(|k| k.0)))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|t| (TenantKey(t.id), t))
            .collect())
    }
}

impl Loader<PropertyKey> for DbLoader {
    type Value = entities::property::Model;
    type Error = LoadError;

    async fn load(
        &self,
        keys: &[PropertyKey],
    ) -> Result<HashMap<PropertyKey, entities::property::Model>, LoadError> {
        use entities::property;
        Ok(property::Entity::find()
            .filter(property::Column::Id.is_in(keys.iter().map(|k| k.0)))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|p| (PropertyKey(p.id), p))
            .collect())
    }
}

impl Loader<PropertyTenantsKey> for DbLoader {
    type Value = Vec<entities::tenant::Model>;
    type Error = LoadError;

    async fn load(
        &self,
        keys: &[PropertyTenantsKey],
    ) -> Result<HashMap<PropertyTenantsKey, Self::Value>, LoadError> {
        use entities::tenant;
        let mut out: HashMap<PropertyTenantsKey, Self::Value> = HashMap::new();
        for t in tenant::Entity::find()
            .filter(tenant::Column::PropertyId.is_in(keys.iter().map(|k| k.0)))
            .order_by_asc(tenant::Column::LastName)
            .order_by_asc(tenant::Column::FirstName)
            .order_by_asc(tenant::Column::Id)
            .all(&self.db)
            .await?
        {
            if let Some(home) = t.property_id {
                out.entry(PropertyTenantsKey(home)).or_default().push(t);
            }
        }
        Ok(out)
    }
}

impl Loader<ArrangementEventsKey> for DbLoader {
    type Value = Vec<entities::payment_arrangement_event::Model>;
    type Error = LoadError;

    async fn load(
        &self,
        keys: &[ArrangementEventsKey],
    ) -> Result<HashMap<ArrangementEventsKey, Self::Value>, LoadError> {
        use entities::payment_arrangement_event as event;
        let mut out: HashMap<ArrangementEventsKey, Self::Value> = HashMap::new();
        for e in event::Entity::find()
            .filter(event::Column::PaymentArrangementId.is_in(keys.iter().map(|k| k.0)))
            .order_by_asc(event::Column::CreatedAt)
            .order_by_asc(event::Column::Id)
            .all(&self.db)
            .await?
        {
            out.entry(ArrangementEventsKey(e.payment_arrangement_id))
                .or_default()
                .push(e);
        }
        Ok(out)
    }
}
