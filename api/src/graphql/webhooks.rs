//! Webhooks (`MANAGE_WEBHOOKS` users and API tokens of an organisation):
//! endpoints with their signing secrets (shown once), the events that
//! happened to the organisation, the delivery log and redelivery. Who may is
//! [`policy::webhooks`]; what is checked and stored is
//! [`crate::webhooks::endpoints`]; reads are [`crate::webhooks::log`]. A page
//! of deliveries costs three statements whatever its size, and so does the
//! first page of deliveries of every endpoint of a list (through the
//! request's loader, [`endpoint_connection`]).

use std::collections::HashSet;

use async_graphql::{
    Context, Enum, ID, InputObject, InputType, Json, Lookahead, Object, SimpleObject,
    connection::{Connection, EmptyFields},
};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use entities::{WebhookDeliveryStatus, webhook_attempt, webhook_endpoint, webhook_event};

use super::{
    ContextExt,
    loaders::{EndpointDeliveriesKey, EventDeliveriesKey, RequestLoader, prime},
    pagination::{decode_cursor, keyset_connection, page_size},
    scalars::{NodeKind, global_id, opt_input_id, parse_id},
};
use crate::{
    error::ApiError,
    policy,
    webhooks::{
        endpoints::{self, EndpointChange, NewEndpoint},
        log::{self, DeliveryView},
    },
};

/// What happened, as a webhook event type. The payload's `type` is the
/// wire name given with each value.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "entities::WebhookEventType")]
pub enum WebhookEventType {
    /// `payment_export.completed`: a payments export is ready to download.
    PaymentExportCompleted,
    /// `payment_export.failed`: a payments export failed.
    PaymentExportFailed,
    /// `payments.recorded`: payments to the organisation were recorded.
    PaymentsRecorded,
    /// `tenancy_request.raised`: a "provide tenancy details" request was
    /// raised to the organisation.
    TenancyRequestRaised,
    /// `payment_arrangement.decided`: a payment arrangement was approved or
    /// refused.
    PaymentArrangementDecided,
    /// `housing_cost_update.applied`: a bulk housing-cost update was applied.
    HousingCostUpdateApplied,
    /// `housing_cost_update.rejected`: a bulk housing-cost update was
    /// rejected (nothing changed).
    HousingCostUpdateRejected,
    /// `case.message_posted`: staff sent the organisation a message on one
    /// of its cases.
    CaseMessagePosted,
    /// `case.task_assigned`: a task on one of its cases was assigned to the
    /// organisation.
    CaseTaskAssigned,
}

/// Where the delivery of one event to one endpoint is.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "WebhookDeliveryStatus")]
pub enum WebhookDeliveryState {
    /// Not yet answered with a 2xx: retried with growing delays (see
    /// `nextAttemptAt`).
    Pending,
    /// The endpoint answered with a 2xx.
    Succeeded,
    /// Retries ran out without a 2xx; `redeliverWebhookEvent` tries again.
    Failed,
}

/// A URL the organisation's webhook events are sent to.
pub struct WebhookEndpoint(pub webhook_endpoint::Model);

/// A URL the organisation's webhook events are sent to (signed HTTP POSTs,
/// Standard Webhooks), with the event types it wants.
#[Object]
impl WebhookEndpoint {
    /// The endpoint's id.
    pub async fn id(&self) -> ID {
        global_id(NodeKind::WebhookEndpoint, self.0.id)
    }
    /// The organisation it belongs to.
    async fn organisation_id(&self) -> ID {
        global_id(NodeKind::Organisation, self.0.organisation_id)
    }
    /// Where events are POSTed.
    async fn url(&self) -> &str {
        &self.0.url
    }
    /// What it is for.
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    /// The event types sent to it.
    async fn event_types(&self) -> Vec<WebhookEventType> {
        endpoints::event_types(&self.0)
            .into_iter()
            .map(Into::into)
            .collect()
    }
    /// Whether new events are sent to it. The service disables an endpoint
    /// that has failed for too long (see `disabledReason`); enabling it again
    /// starts afresh.
    async fn enabled(&self) -> bool {
        self.0.enabled
    }
    /// Why the service disabled it; none when enabled or disabled by a user.
    async fn disabled_reason(&self) -> Option<&str> {
        self.0.disabled_reason.as_deref()
    }
    /// When it was disabled.
    async fn disabled_at(&self) -> Option<DateTime<Utc>> {
        self.0.disabled_at
    }
    /// Since when every delivery to it has failed; none after a success.
    async fn failing_since(&self) -> Option<DateTime<Utc>> {
        self.0.failing_since
    }
    /// Until when the secret before the last rotation is still valid
    /// (deliveries carry a signature with each secret until then).
    async fn previous_secret_expires_at(&self) -> Option<DateTime<Utc>> {
        self.0
            .previous_secret_expires_at
            .filter(|at| *at > Utc::now())
    }
    /// When it was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// When it was last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
    /// Its delivery log, newest first.
    #[graphql(complexity = "super::pagination::connection_cost(first, child_complexity)")]
    async fn deliveries(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only deliveries in this state (default: all).")] status: Option<
            WebhookDeliveryState,
        >,
        #[graphql(desc = "How many to return: 1 to 100 (default 20).")] first: Option<i32>,
        #[graphql(desc = "The `endCursor` of the previous page: the page starts after it.")] after: Option<String>,
    ) -> async_graphql::Result<Connection<String, WebhookDelivery, EmptyFields, EmptyFields>> {
        let limit = page_size(first)?;
        let after = after.as_deref().map(decode_cursor).transpose()?;
        let status: Option<WebhookDeliveryStatus> = status.map(Into::into);
        let (rows, more) = match after {
            // The first page, through the request's loader: a list of
            // endpoints loaded every endpoint's at once (see
            // `prefetch_deliveries`).
            None => ctx
                .load(EndpointDeliveriesKey {
                    endpoint_id: self.0.id,
                    status,
                    limit,
                })
                .await?
                .unwrap_or_default(),
            Some(after) => log::deliveries(ctx.app(), &self.0, status, Some(after), limit).await?,
        };
        Ok(keyset_connection(
            rows,
            after.is_some(),
            more,
            |d| d.delivery.id,
            WebhookDelivery,
        ))
    }
}

/// Something that happened to the organisation, as sent to its endpoints,
/// with its deliveries when the list that gave it loaded them for the whole
/// page at once.
pub struct WebhookEvent(pub webhook_event::Model, pub Option<Vec<DeliveryView>>);

/// Something that happened to the organisation, as sent to its endpoints:
/// the payload's `type`, `timestamp` and `data`, and its id (the
/// `webhook-id` header of every delivery of it).
#[Object]
impl WebhookEvent {
    /// The event's id.
    pub async fn id(&self) -> ID {
        global_id(NodeKind::WebhookEvent, self.0.id)
    }
    /// What happened.
    async fn event_type(&self) -> WebhookEventType {
        self.0.event_type.into()
    }
    /// The wire name of the type, the payload's `type`
    /// (e.g. `payments.recorded`).
    async fn type_name(&self) -> &str {
        self.0.event_type.as_str()
    }
    /// The version of the shape of `data` (1 for every type so far).
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// The payload's `data`: ids (global ids) and the few fields a receiver
    /// needs; never a document, a secret or personal free text.
    async fn data(&self) -> Json<serde_json::Value> {
        Json(self.0.data.clone())
    }
    /// When it happened (the change committed).
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// Its deliveries, one per endpoint it was sent to, oldest first.
    #[graphql(complexity = "1 + 10 * child_complexity")]
    async fn deliveries(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<WebhookDelivery>> {
        let views = match &self.1 {
            Some(views) => views.clone(),
            None => ctx
                .load(EventDeliveriesKey(self.0.id))
                .await?
                .unwrap_or_default(),
        };
        Ok(views.into_iter().map(WebhookDelivery).collect())
    }
}

/// One event to one endpoint.
pub struct WebhookDelivery(pub DeliveryView);

/// The delivery of one event to one endpoint: its state, its attempts and
/// when the next is due.
#[Object]
impl WebhookDelivery {
    /// The delivery's id.
    pub async fn id(&self) -> ID {
        global_id(NodeKind::WebhookDelivery, self.0.delivery.id)
    }
    /// The endpoint it is for.
    async fn endpoint_id(&self) -> ID {
        global_id(NodeKind::WebhookEndpoint, self.0.delivery.endpoint_id)
    }
    /// The event delivered.
    async fn event(&self) -> WebhookEvent {
        WebhookEvent(self.0.event.clone(), None)
    }
    /// Pending, succeeded or failed.
    async fn status(&self) -> WebhookDeliveryState {
        self.0.delivery.status.into()
    }
    /// How many HTTP requests were made.
    async fn attempt_count(&self) -> i32 {
        self.0.delivery.attempts
    }
    /// The requests made, oldest first (the latest 50).
    async fn attempts(&self) -> Vec<WebhookAttempt> {
        self.0
            .attempts
            .iter()
            .cloned()
            .map(WebhookAttempt)
            .collect()
    }
    /// When the next request is due, while pending.
    async fn next_attempt_at(&self) -> Option<DateTime<Utc>> {
        match self.0.delivery.status {
            WebhookDeliveryStatus::Pending => self.0.delivery.next_attempt_at,
            _ => None,
        }
    }
    /// The HTTP status of the last answer, if one came.
    async fn last_status_code(&self) -> Option<i32> {
        self.0.delivery.last_status_code
    }
    /// When it was queued.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.delivery.created_at
    }
    /// When it last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.delivery.updated_at
    }
}

/// One HTTP request of a delivery.
pub struct WebhookAttempt(pub webhook_attempt::Model);

/// One HTTP request of a delivery and what came back.
#[Object]
impl WebhookAttempt {
    /// The attempt's id.
    async fn id(&self) -> ID {
        global_id(NodeKind::WebhookAttempt, self.0.id)
    }
    /// 1 for the delivery's first request.
    async fn attempt(&self) -> i32 {
        self.0.attempt
    }
    /// When the request was sent.
    async fn started_at(&self) -> DateTime<Utc> {
        self.0.started_at
    }
    /// The HTTP status of the answer; none when no answer came.
    async fn status_code(&self) -> Option<i32> {
        self.0.status_code
    }
    /// Milliseconds until the answer (or the failure).
    async fn latency_ms(&self) -> Option<i32> {
        self.0.latency_ms
    }
    /// The start of the answer's body (at most 1 KiB).
    async fn response_excerpt(&self) -> Option<&str> {
        self.0.response_excerpt.as_deref()
    }
    /// Why no answer (or a bad one) came: refused, timed out, …
    async fn error(&self) -> Option<&str> {
        self.0.error.as_deref()
    }
}

/// A new webhook endpoint.
#[derive(InputObject)]
pub struct CreateWebhookEndpointInput {
    /// Where to POST events: `https://`, at most 2048 characters, a public
    /// address.
    pub url: String,
    /// The event types to send (at least one).
    pub event_types: Vec<WebhookEventType>,
    /// What it is for (at most 200 characters).
    pub description: Option<String>,
}

/// A change to a webhook endpoint; what is left out stays as it is.
#[derive(InputObject)]
pub struct UpdateWebhookEndpointInput {
    /// A new URL, checked as at creation.
    pub url: Option<String>,
    /// The event types to send from now on (at least one).
    pub event_types: Option<Vec<WebhookEventType>>,
    /// Enable or disable it. Enabling clears the failure state.
    pub enabled: Option<bool>,
    /// A new description; an empty one removes it.
    pub description: Option<String>,
}

/// An endpoint with its signing secret.
#[derive(SimpleObject)]
pub struct WebhookEndpointWithSecret {
    /// The endpoint.
    pub endpoint: WebhookEndpoint,
    /// The signing secret (`whsec_` and base64), to verify the
    /// `webhook-signature` header (Standard Webhooks). Shown this once: keep
    /// it in the receiver's secret store.
    pub secret: String,
}

/// The answer to `deleteWebhookEndpoint`.
#[derive(SimpleObject)]
pub struct DeleteWebhookEndpointPayload {
    /// The id of the endpoint deleted.
    pub deleted_id: ID,
}

/// A page of endpoints as a connection, with the first page of deliveries
/// that each `deliveries` field under it asks for loaded for the whole page
/// at once (and their events' deliveries, when asked), so that the
/// statements of a list do not grow with its size.
pub(crate) async fn endpoint_connection(
    ctx: &Context<'_>,
    rows: Vec<webhook_endpoint::Model>,
    has_previous: bool,
    has_next: bool,
) -> async_graphql::Result<Connection<String, WebhookEndpoint, EmptyFields, EmptyFields>> {
    let ids: Vec<Uuid> = rows.iter().map(|e| e.id).collect();
    prefetch_deliveries(ctx, &ids).await?;
    Ok(keyset_connection(
        rows,
        has_previous,
        has_next,
        |e| e.id,
        WebhookEndpoint,
    ))
}

/// Loads the first page of deliveries of `endpoints` for each shape
/// (`first`, `status`) the query asks under `edges.node` or `nodes`, into
/// the request's loader, where each endpoint's `deliveries` then finds it.
/// A page after a cursor is not prefetched (one endpoint's, asked alone).
/// Arguments that are not valid are left for the field itself to report.
async fn prefetch_deliveries(ctx: &Context<'_>, endpoints: &[Uuid]) -> async_graphql::Result<()> {
    let Some(request) = ctx.data_opt::<RequestLoader>() else {
        return Ok(());
    };
    if endpoints.is_empty() {
        return Ok(());
    }
    let look = ctx.look_ahead();
    for node in [look.field("edges").field("node"), look.field("nodes")] {
        for field in node.field("deliveries").selection_fields() {
            let args = field.arguments()?;
            let arg = |name: &str| {
                args.iter()
                    .find(|(n, _)| n.as_str() == name)
                    .map(|(_, v)| v.clone())
            };
            if arg("after").is_some_and(|v| v != async_graphql::Value::Null) {
                continue;
            }
            let Ok(first) = <Option<i32> as InputType>::parse(arg("first")) else {
                continue;
            };
            let Ok(limit) = page_size(first) else {
                continue;
            };
            let Ok(status) = <Option<WebhookDeliveryState> as InputType>::parse(arg("status"))
            else {
                continue;
            };
            let status: Option<WebhookDeliveryStatus> = status.map(Into::into);
            let pages = request
                .0
                .load_many(endpoints.iter().map(|id| EndpointDeliveriesKey {
                    endpoint_id: *id,
                    status,
                    limit,
                }))
                .await
                .map_err(|e| ApiError::Internal(anyhow::Error::new(e)))?;
            let deliveries = Lookahead::from(field);
            let events_deliveries = deliveries
                .field("edges")
                .field("node")
                .field("event")
                .field("deliveries")
                .exists()
                || deliveries
                    .field("nodes")
                    .field("event")
                    .field("deliveries")
                    .exists();
            if events_deliveries {
                let events: HashSet<Uuid> = pages
                    .values()
                    .flat_map(|(views, _)| views.iter().map(|v| v.event.id))
                    .collect();
                request
                    .0
                    .load_many(events.into_iter().map(EventDeliveriesKey))
                    .await
                    .map_err(|e| ApiError::Internal(anyhow::Error::new(e)))?;
            }
        }
    }
    Ok(())
}

/// Webhook queries.
#[derive(Default)]
pub struct WebhooksQuery;

#[Object]
impl WebhooksQuery {
    /// My organisation's webhook endpoints, newest first (`MANAGE_WEBHOOKS`).
    #[graphql(complexity = "super::pagination::connection_cost(first, child_complexity)")]
    async fn webhook_endpoints(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many to return: 1 to 100 (default 20).")] first: Option<i32>,
        #[graphql(desc = "The `endCursor` of the previous page: the page starts after it.")] after: Option<String>,
    ) -> async_graphql::Result<Connection<String, WebhookEndpoint, EmptyFields, EmptyFields>> {
        let limit = page_size(first)?;
        let after = after.as_deref().map(decode_cursor).transpose()?;
        let (rows, more) = log::endpoints(ctx.app(), &ctx.caller(), after, limit).await?;
        endpoint_connection(ctx, rows, after.is_some(), more).await
    }

    /// One webhook endpoint (`NOT_FOUND` when missing or not mine to see).
    pub async fn webhook_endpoint(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The endpoint.")] id: ID,
    ) -> async_graphql::Result<WebhookEndpoint> {
        let id = parse_id(&id, NodeKind::WebhookEndpoint)?;
        Ok(WebhookEndpoint(
            log::endpoint(ctx.app(), &ctx.caller(), id).await?,
        ))
    }

    /// My organisation's webhook events, newest first (`MANAGE_WEBHOOKS`),
    /// kept for the log's retention period.
    #[graphql(complexity = "super::pagination::connection_cost(first, child_complexity)")]
    async fn webhook_events(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only events of this type (default: all).")] event_type: Option<
            WebhookEventType,
        >,
        #[graphql(desc = "How many to return: 1 to 100 (default 20).")] first: Option<i32>,
        #[graphql(desc = "The `endCursor` of the previous page: the page starts after it.")] after: Option<String>,
    ) -> async_graphql::Result<Connection<String, WebhookEvent, EmptyFields, EmptyFields>> {
        let limit = page_size(first)?;
        let after = after.as_deref().map(decode_cursor).transpose()?;
        let (rows, more) = log::events(
            ctx.app(),
            &ctx.caller(),
            event_type.map(Into::into),
            after,
            limit,
        )
        .await?;
        // The page's deliveries in one go when they are asked for, so the
        // statements do not grow with the page.
        let wanted = ctx
            .look_ahead()
            .field("edges")
            .field("node")
            .field("deliveries")
            .exists();
        let deliveries = if wanted {
            let loaded = log::deliveries_of_events(ctx.app(), &rows).await?;
            // A delivery's `event { deliveries }` is one of these events:
            // found in the loader, not read again event by event.
            prime(
                ctx,
                rows.iter().map(|e| {
                    (
                        EventDeliveriesKey(e.id),
                        loaded.get(&e.id).cloned().unwrap_or_default(),
                    )
                }),
            )
            .await;
            loaded
        } else {
            Default::default()
        };
        Ok(keyset_connection(
            rows,
            after.is_some(),
            more,
            |e| e.id,
            |e| {
                let views = wanted.then(|| deliveries.get(&e.id).cloned().unwrap_or_default());
                WebhookEvent(e, views)
            },
        ))
    }

    /// One webhook event (`NOT_FOUND` when missing or not mine to see).
    pub async fn webhook_event(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The event.")] id: ID,
    ) -> async_graphql::Result<WebhookEvent> {
        let id = parse_id(&id, NodeKind::WebhookEvent)?;
        Ok(WebhookEvent(
            log::event(ctx.app(), &ctx.caller(), id).await?,
            None,
        ))
    }

    /// One webhook delivery with its attempts (`NOT_FOUND` when missing or
    /// not mine to see).
    pub async fn webhook_delivery(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The delivery.")] id: ID,
    ) -> async_graphql::Result<WebhookDelivery> {
        let id = parse_id(&id, NodeKind::WebhookDelivery)?;
        Ok(WebhookDelivery(
            log::delivery(ctx.app(), &ctx.caller(), id).await?,
        ))
    }
}

/// Webhook mutations.
#[derive(Default)]
pub struct WebhooksMutation;

#[Object]
impl WebhooksMutation {
    /// Adds a webhook endpoint to my organisation (`MANAGE_WEBHOOKS`) and
    /// returns its signing secret, once. At most 10 endpoints per
    /// organisation unless the operator set `PORTAL_WEBHOOK_MAX_ENDPOINTS`.
    async fn create_webhook_endpoint(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The URL, event types and description.")]
        input: CreateWebhookEndpointInput,
    ) -> async_graphql::Result<WebhookEndpointWithSecret> {
        let allowed = policy::webhooks::can_manage(&ctx.caller())?;
        let created = endpoints::create(
            ctx.app(),
            &allowed,
            NewEndpoint {
                url: input.url,
                event_types: input.event_types.into_iter().map(Into::into).collect(),
                description: input.description,
            },
        )
        .await?;
        Ok(WebhookEndpointWithSecret {
            endpoint: WebhookEndpoint(created.endpoint),
            secret: created.secret,
        })
    }

    /// Changes a webhook endpoint of my organisation.
    async fn update_webhook_endpoint(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The endpoint.")] id: ID,
        #[graphql(desc = "What to change.")] input: UpdateWebhookEndpointInput,
    ) -> async_graphql::Result<WebhookEndpoint> {
        let id = parse_id(&id, NodeKind::WebhookEndpoint)?;
        let allowed = policy::webhooks::can_manage_object(&ctx.caller(), "Webhook endpoint")?;
        let change = EndpointChange {
            url: input.url,
            event_types: input
                .event_types
                .map(|types| types.into_iter().map(Into::into).collect()),
            enabled: input.enabled,
            description: input.description,
        };
        Ok(WebhookEndpoint(
            endpoints::update(ctx.app(), &allowed, id, change).await?,
        ))
    }

    /// Deletes a webhook endpoint of my organisation with its delivery log.
    async fn delete_webhook_endpoint(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The endpoint.")] id: ID,
    ) -> async_graphql::Result<DeleteWebhookEndpointPayload> {
        let id = parse_id(&id, NodeKind::WebhookEndpoint)?;
        let allowed = policy::webhooks::can_manage_object(&ctx.caller(), "Webhook endpoint")?;
        let deleted = endpoints::delete(ctx.app(), &allowed, id).await?;
        Ok(DeleteWebhookEndpointPayload {
            deleted_id: global_id(NodeKind::WebhookEndpoint, deleted.id),
        })
    }

    /// Gives a webhook endpoint a new signing secret, returned once. The
    /// current secret stays valid for `graceHours` (deliveries are signed
    /// with both meanwhile), so the receiver can switch without a gap.
    async fn rotate_webhook_endpoint_secret(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The endpoint.")] id: ID,
        #[graphql(
            desc = "Hours the current secret stays valid: 0 (at once) to 168 (7 days); default 24."
        )]
        grace_hours: Option<i32>,
    ) -> async_graphql::Result<WebhookEndpointWithSecret> {
        let id = parse_id(&id, NodeKind::WebhookEndpoint)?;
        let allowed = policy::webhooks::can_manage_object(&ctx.caller(), "Webhook endpoint")?;
        let rotated = endpoints::rotate_secret(ctx.app(), &allowed, id, grace_hours).await?;
        Ok(WebhookEndpointWithSecret {
            endpoint: WebhookEndpoint(rotated.endpoint),
            secret: rotated.secret,
        })
    }

    /// Sends an event again: to `endpointId`, or to every enabled endpoint
    /// it was sent to. Each delivery is pending again with a new attempt
    /// queued; its earlier attempts stay in the log.
    async fn redeliver_webhook_event(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The event, one of `webhookEvents`.")] event_id: ID,
        #[graphql(
            desc = "The endpoint to send it to (enabled; it may not have had it before). Left out: every enabled endpoint it was sent to."
        )]
        endpoint_id: Option<ID>,
    ) -> async_graphql::Result<Vec<WebhookDelivery>> {
        let event_id = parse_id(&event_id, NodeKind::WebhookEvent)?;
        let endpoint_id = opt_input_id(
            endpoint_id.as_ref(),
            NodeKind::WebhookEndpoint,
            "endpointId",
        )?;
        let allowed = policy::webhooks::can_manage_object(&ctx.caller(), "Webhook event")?;
        Ok(log::redeliver(ctx.app(), &allowed, event_id, endpoint_id)
            .await?
            .into_iter()
            .map(WebhookDelivery)
            .collect())
    }
}
