//! Reading an organisation's webhook endpoints, events and delivery log,
//! and redelivering an event.
//!
//! A page of deliveries is read with its events and attempts in two more
//! statements, whatever its size (no per-row queries). Each delivery shows
//! at most [`ATTEMPTS_SHOWN`] attempts, the latest.
//!
//! The log is pruned after `PORTAL_WEBHOOK_LOG_RETENTION_DAYS` (by the
//! delivery side): events, with their deliveries and attempts.

use std::collections::HashMap;

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, Set,
};
use uuid::Uuid;

use entities::{
    WebhookDeliveryStatus, WebhookEventType, webhook_attempt, webhook_delivery, webhook_endpoint,
    webhook_event,
};
use worker::outbox;

use super::events::{self, DeliverWebhook};
use crate::{
    app::App,
    error::{ApiError, ApiResult},
    policy::{
        Allowed, Caller,
        webhooks::{self as policy, WebhookManager},
    },
};

/// Attempts shown per delivery (the latest).
pub const ATTEMPTS_SHOWN: usize = 50;

/// A delivery with its event and its latest attempts (oldest first).
#[derive(Debug, Clone)]
pub struct DeliveryView {
    /// The delivery.
    pub delivery: webhook_delivery::Model,
    /// The event delivered.
    pub event: webhook_event::Model,
    /// Its attempts, oldest first (at most [`ATTEMPTS_SHOWN`]).
    pub attempts: Vec<webhook_attempt::Model>,
}

/// A page of the caller's organisation's endpoints, newest first.
pub async fn endpoints(
    app: &App,
    caller: &Caller<'_>,
    after: Option<Uuid>,
    limit: u64,
) -> ApiResult<(Vec<webhook_endpoint::Model>, bool)> {
    let select = webhook_endpoint::Entity::find().filter(policy::visible(caller)?);
    Ok(
        platform::db::newest_first(&app.db, select, webhook_endpoint::Column::Id, after, limit)
            .await?,
    )
}

/// One endpoint, if the caller may see it.
pub async fn endpoint(
    app: &App,
    caller: &Caller<'_>,
    id: Uuid,
) -> ApiResult<webhook_endpoint::Model> {
    policy::find_visible(&app.db, caller, id).await
}

/// A page of the caller's organisation's events, newest first, of one type
/// when `event_type` is given.
pub async fn events(
    app: &App,
    caller: &Caller<'_>,
    event_type: Option<WebhookEventType>,
    after: Option<Uuid>,
    limit: u64,
) -> ApiResult<(Vec<webhook_event::Model>, bool)> {
    let mut select = webhook_event::Entity::find().filter(policy::visible_events(caller)?);
    if let Some(event_type) = event_type {
        select = select.filter(webhook_event::Column::EventType.eq(event_type));
    }
    Ok(
        platform::db::newest_first(&app.db, select, webhook_event::Column::Id, after, limit)
            .await?,
    )
}

/// One event, if the caller may see it.
pub async fn event(app: &App, caller: &Caller<'_>, id: Uuid) -> ApiResult<webhook_event::Model> {
    policy::find_visible_event(&app.db, caller, id).await
}

/// A page of the deliveries of `endpoint` (which the caller may see),
/// newest first, of one status when `status` is given.
pub async fn deliveries(
    app: &App,
    endpoint: &webhook_endpoint::Model,
    status: Option<WebhookDeliveryStatus>,
    after: Option<Uuid>,
    limit: u64,
) -> ApiResult<(Vec<DeliveryView>, bool)> {
    let mut select = webhook_delivery::Entity::find()
        .filter(webhook_delivery::Column::EndpointId.eq(endpoint.id));
    if let Some(status) = status {
        select = select.filter(webhook_delivery::Column::Status.eq(status));
    }
    let (rows, more) =
        platform::db::newest_first(&app.db, select, webhook_delivery::Column::Id, after, limit)
            .await?;
    Ok((with_details(app, rows).await?, more))
}

/// The deliveries of each of `events` (which the caller may see), oldest
/// first, in three statements whatever the number of events.
pub async fn deliveries_of_events(
    app: &App,
    events: &[webhook_event::Model],
) -> ApiResult<HashMap<Uuid, Vec<DeliveryView>>> {
    if events.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = webhook_delivery::Entity::find()
        .filter(webhook_delivery::Column::EventId.is_in(events.iter().map(|e| e.id)))
        .order_by_asc(webhook_delivery::Column::Id)
        .all(&app.db)
        .await?;
    let mut by_event: HashMap<Uuid, Vec<DeliveryView>> = HashMap::new();
    for view in with_details(app, rows).await? {
        by_event.entry(view.event.id).or_default().push(view);
    }
    Ok(by_event)
}

/// One delivery with its event and attempts, if the caller may see it.
pub async fn delivery(app: &App, caller: &Caller<'_>, id: Uuid) -> ApiResult<DeliveryView> {
    let row = policy::find_visible_delivery(&app.db, caller, id).await?;
    with_details(app, vec![row])
        .await?
        .pop()
        .ok_or(ApiError::NotFound("Webhook delivery"))
}

/// `rows` with their events and attempts, in two statements.
async fn with_details(
    app: &App,
    rows: Vec<webhook_delivery::Model>,
) -> ApiResult<Vec<DeliveryView>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let event_ids: Vec<Uuid> = rows.iter().map(|d| d.event_id).collect();
    let delivery_ids: Vec<Uuid> = rows.iter().map(|d| d.id).collect();
    let events: HashMap<Uuid, webhook_event::Model> = webhook_event::Entity::find()
        .filter(webhook_event::Column::Id.is_in(event_ids))
        .all(&app.db)
        .await?
        .into_iter()
        .map(|e| (e.id, e))
        .collect();
    let mut attempts: HashMap<Uuid, Vec<webhook_attempt::Model>> = HashMap::new();
    for attempt in webhook_attempt::Entity::find()
        .filter(webhook_attempt::Column::DeliveryId.is_in(delivery_ids))
        .order_by_asc(webhook_attempt::Column::StartedAt)
        .order_by_asc(webhook_attempt::Column::Id)
        .all(&app.db)
        .await?
    {
        attempts
            .entry(attempt.delivery_id)
            .or_default()
            .push(attempt);
    }
    rows.into_iter()
        .map(|delivery| {
            let event = events
                .get(&delivery.event_id)
                .cloned()
                .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("delivery without its event")))?;
            let mut attempts = attempts.remove(&delivery.id).unwrap_or_default();
            let extra = attempts.len().saturating_sub(ATTEMPTS_SHOWN);
            attempts.drain(..extra);
            Ok(DeliveryView {
                delivery,
                event,
                attempts,
            })
        })
        .collect()
}

/// Delivers event `event_id` again: to `endpoint_id` when given (which must
/// be enabled; an endpoint that had no delivery of it, subscribed or not,
/// gets one), else to every endpoint that had a delivery of it and is still
/// enabled. Each delivery goes back to `PENDING` with a new job; its
/// attempts so far stay in the log. Returns the deliveries queued.
pub async fn redeliver(
    app: &App,
    allowed: &Allowed<WebhookManager>,
    event_id: Uuid,
    endpoint_id: Option<Uuid>,
) -> ApiResult<Vec<DeliveryView>> {
    let txn = platform::db::begin_write(&app.db).await?;
    let event = policy::find_managed_event(&txn, allowed, event_id).await?;
    let targets: Vec<webhook_endpoint::Model> = match endpoint_id {
        Some(id) => {
            let endpoint = policy::find_managed(&txn, allowed, id).await?;
            if !endpoint.enabled {
                return Err(ApiError::bad_input(
                    "endpointId",
                    "The endpoint is disabled: enable it first.",
                ));
            }
            vec![endpoint]
        }
        None => {
            let delivered_to: Vec<Uuid> = webhook_delivery::Entity::find()
                .filter(webhook_delivery::Column::EventId.eq(event.id))
                .all(&txn)
                .await?
                .into_iter()
                .map(|d| d.endpoint_id)
                .collect();
            webhook_endpoint::Entity::find()
                .filter(webhook_endpoint::Column::Id.is_in(delivered_to))
                .filter(webhook_endpoint::Column::Enabled.eq(true))
                .order_by_asc(webhook_endpoint::Column::Id)
                .all(&txn)
                .await?
        }
    };
    if targets.is_empty() {
        return Err(ApiError::bad_input(
            "endpointId",
            "No enabled endpoint has received this event: name the endpoint to send it to.",
        ));
    }
    let now = Utc::now();
    let mut queued = Vec::with_capacity(targets.len());
    for endpoint in &targets {
        let existing = webhook_delivery::Entity::find()
            .filter(webhook_delivery::Column::EventId.eq(event.id))
            .filter(webhook_delivery::Column::EndpointId.eq(endpoint.id))
            .one(&txn)
            .await?;
        let delivery = match existing {
            Some(delivery) => {
                let mut row = delivery.into_active_model();
                row.status = Set(WebhookDeliveryStatus::Pending);
                row.next_attempt_at = Set(Some(now));
                row.updated_at = Set(now);
                let delivery = row.update(&txn).await?;
                outbox::enqueue(
                    &txn,
                    &DeliverWebhook {
                        delivery_id: delivery.id,
                    },
                )
                .await?;
                delivery
            }
            None => events::queue_delivery(&txn, event.id, endpoint.id).await?,
        };
        queued.push(delivery);
    }
    crate::audit::record(
        &txn,
        allowed.actor(),
        crate::audit::Entry {
            action: "webhook_event.redeliver",
            target_type: "webhook_event",
            target_id: Some(event.id),
            organisation_id: Some(event.organisation_id),
        },
        None,
        Some(serde_json::json!({
            "endpoint_ids": targets.iter().map(|e| e.id).collect::<Vec<_>>(),
        })),
    )
    .await?;
    txn.commit().await?;
    with_details(app, queued).await
}
