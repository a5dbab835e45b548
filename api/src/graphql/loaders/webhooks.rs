//! Webhook relations a list can ask for: an organisation's endpoints, the
//! first page of each endpoint's delivery log, and each event's deliveries.
//! Keys are made only after `policy::webhooks` allowed the caller the
//! parent (the organisation, endpoint or event), and the request's loader
//! serves one caller, so the keys need not carry the caller.

use std::collections::HashMap;

use async_graphql::dataloader::Loader;
use uuid::Uuid;

use entities::{WebhookDeliveryStatus, webhook_endpoint};

use super::{DbLoader, LoadError};
use crate::webhooks::log::{self, DeliveryView};

/// The first page (`limit` rows, newest first, and whether more follow) of
/// the endpoints of an organisation whose webhooks the caller manages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OrganisationEndpointsKey {
    /// The organisation.
    pub organisation_id: Uuid,
    /// The page size.
    pub limit: u64,
}

/// The first page (`limit` rows, newest first, and whether more follow) of
/// the delivery log of an endpoint the caller may see, of one status when
/// `status` is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EndpointDeliveriesKey {
    /// The endpoint.
    pub endpoint_id: Uuid,
    /// Only deliveries in this state.
    pub status: Option<WebhookDeliveryStatus>,
    /// The page size.
    pub limit: u64,
}

/// The deliveries of an event the caller may see, oldest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EventDeliveriesKey(pub Uuid);

impl Loader<OrganisationEndpointsKey> for DbLoader {
    type Value = (Vec<webhook_endpoint::Model>, bool);
    type Error = LoadError;

    async fn load(
        &self,
        keys: &[OrganisationEndpointsKey],
    ) -> Result<HashMap<OrganisationEndpointsKey, Self::Value>, LoadError> {
        let mut by_limit: HashMap<u64, Vec<Uuid>> = HashMap::new();
        for key in keys {
            by_limit
                .entry(key.limit)
                .or_default()
                .push(key.organisation_id);
        }
        let mut loaded = HashMap::new();
        for (limit, organisations) in by_limit {
            for (organisation_id, page) in
                log::first_endpoints_of_organisations(&self.db, &organisations, limit).await?
            {
                loaded.insert(
                    OrganisationEndpointsKey {
                        organisation_id,
                        limit,
                    },
                    page,
                );
            }
        }
        Ok(loaded)
    }
}

impl Loader<EndpointDeliveriesKey> for DbLoader {
    type Value = (Vec<DeliveryView>, bool);
    type Error = LoadError;

    async fn load(
        &self,
        keys: &[EndpointDeliveriesKey],
    ) -> Result<HashMap<EndpointDeliveriesKey, Self::Value>, LoadError> {
        // One statement (and two for the details) per page shape asked;
        // a query asks one shape for every endpoint of its list.
        let mut shapes: HashMap<(Option<WebhookDeliveryStatus>, u64), Vec<Uuid>> = HashMap::new();
        for key in keys {
            shapes
                .entry((key.status, key.limit))
                .or_default()
                .push(key.endpoint_id);
        }
        let mut loaded = HashMap::new();
        for ((status, limit), endpoints) in shapes {
            for (endpoint_id, page) in
                log::first_deliveries_of_endpoints(&self.db, &endpoints, status, limit).await?
            {
                loaded.insert(
                    EndpointDeliveriesKey {
                        endpoint_id,
                        status,
                        limit,
                    },
                    page,
                );
            }
        }
        Ok(loaded)
    }
}

impl Loader<EventDeliveriesKey> for DbLoader {
    type Value = Vec<DeliveryView>;
    type Error = LoadError;

    async fn load(
        &self,
        keys: &[EventDeliveriesKey],
    ) -> Result<HashMap<EventDeliveriesKey, Self::Value>, LoadError> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let mut by_event = log::deliveries_of_event_ids(&self.db, &ids).await?;
        Ok(ids
            .into_iter()
            .map(|id| {
                (
                    EventDeliveriesKey(id),
                    by_event.remove(&id).unwrap_or_default(),
                )
            })
            .collect())
    }
}
