//! Reading an organisation's webhook endpoints, events and delivery log,
//! and redelivering an event.
//!
//! A page of deliveries is read with its events and attempts in two more
//! statements, whatever its size (no per-row queries); so is the first
//! page of deliveries of every endpoint of a list
//! ([`first_deliveries_of_endpoints`], through the request's loader). Each delivery shows
//! at most [`ATTEMPTS_SHOWN`] attempts, the latest.
//!
//! The log is pruned after `PORTAL_WEBHOOK_LOG_RETENTION_DAYS` (by the
//! delivery side): events, with their deliveries and attempts.

use std::collections::HashMap;

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, IntoActiveModel, Iterable,
    Order, QueryFilter, QueryOrder, Set,
    sea_query::{Alias, Expr, ExprTrait as _, Query},
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
    Ok((with_details(&app.db, rows).await?, more))
}

/// The deliveries of each of `events` (which the caller may see), oldest
/// first, in three statements whatever the number of events.
pub async fn deliveries_of_events(
    app: &App,
    events: &[webhook_event::Model],
) -> ApiResult<HashMap<Uuid, Vec<DeliveryView>>> {
    let ids: Vec<Uuid> = events.iter().map(|e| e.id).collect();
    Ok(deliveries_of_event_ids(&app.db, &ids).await?)
}

/// [`deliveries_of_events`] by the events' ids (which the caller may see).
pub async fn deliveries_of_event_ids(
    conn: &impl ConnectionTrait,
    event_ids: &[Uuid],
) -> Result<HashMap<Uuid, Vec<DeliveryView>>, DbErr> {
    if event_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = webhook_delivery::Entity::find()
        .filter(webhook_delivery::Column::EventId.is_in(event_ids.iter().copied()))
        .order_by_asc(webhook_delivery::Column::Id)
        .all(conn)
        .await?;
    let mut by_event: HashMap<Uuid, Vec<DeliveryView>> = HashMap::new();
    for view in with_details(conn, rows).await? {
        by_event.entry(view.event.id).or_default().push(view);
    }
    Ok(by_event)
}

/// One delivery with its event and attempts, if the caller may see it.
pub async fn delivery(app: &App, caller: &Caller<'_>, id: Uuid) -> ApiResult<DeliveryView> {
    let row = policy::find_visible_delivery(&app.db, caller, id).await?;
    with_details(&app.db, vec![row])
        .await?
        .pop()
        .ok_or(ApiError::NotFound("Webhook delivery"))
}

/// `rows` with their events and attempts, in two statements.
async fn with_details(
    conn: &impl ConnectionTrait,
    rows: Vec<webhook_delivery::Model>,
) -> Result<Vec<DeliveryView>, DbErr> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let event_ids: Vec<Uuid> = rows.iter().map(|d| d.event_id).collect();
    let delivery_ids: Vec<Uuid> = rows.iter().map(|d| d.id).collect();
    let events: HashMap<Uuid, webhook_event::Model> = webhook_event::Entity::find()
        .filter(webhook_event::Column::Id.is_in(event_ids))
        .all(conn)
        .await?
        .into_iter()
        .map(|e| (e.id, e))
        .collect();
    let mut attempts: HashMap<Uuid, Vec<webhook_attempt::Model>> = HashMap::new();
    for attempt in webhook_attempt::Entity::find()
        .filter(webhook_attempt::Column::DeliveryId.is_in(delivery_ids))
        .order_by_asc(webhook_attempt::Column::StartedAt)
        .order_by_asc(webhook_attempt::Column::Id)
        .all(conn)
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
                .ok_or_else(|| DbErr::Custom("a webhook delivery without its event".into()))?;
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

/// The first page of the deliveries of each of `endpoint_ids` (which the
/// caller may see), newest first, `limit` of them and whether more follow,
/// of one status when `status` is given: one statement for every endpoint
/// (each endpoint's rows numbered by a window function, the first
/// `limit + 1` kept), and two for their events and attempts. What a list
/// of endpoints with their deliveries costs, whatever its size.
pub async fn first_deliveries_of_endpoints(
    conn: &impl ConnectionTrait,
    endpoint_ids: &[Uuid],
    status: Option<WebhookDeliveryStatus>,
    limit: u64,
) -> Result<HashMap<Uuid, (Vec<DeliveryView>, bool)>, DbErr> {
    let mut pages: HashMap<Uuid, (Vec<DeliveryView>, bool)> = endpoint_ids
        .iter()
        .map(|id| (*id, (Vec::new(), false)))
        .collect();
    if endpoint_ids.is_empty() {
        return Ok(pages);
    }
    let rank = Alias::new("rank_in_endpoint");
    let mut ranked = Query::select();
    ranked
        .columns(webhook_delivery::Column::iter())
        .expr_as(
            Expr::cust("ROW_NUMBER() OVER (PARTITION BY endpoint_id ORDER BY id DESC)"),
            rank.clone(),
        )
        .from(webhook_delivery::Entity)
        .and_where(webhook_delivery::Column::EndpointId.is_in(endpoint_ids.iter().copied()));
    if let Some(status) = status {
        ranked.and_where(webhook_delivery::Column::Status.eq(status));
    }
    let mut page = Query::select();
    page.columns(webhook_delivery::Column::iter())
        .from_subquery(ranked, Alias::new("ranked"))
        .and_where(Expr::col(rank).lte(limit + 1))
        .order_by(webhook_delivery::Column::Id, Order::Desc);
    let statement = conn.get_database_backend().build(&page);
    let rows = webhook_delivery::Entity::find()
        .from_raw_sql(statement)
        .all(conn)
        .await?;
    for view in with_details(conn, rows).await? {
        let (views, more) = pages.entry(view.delivery.endpoint_id).or_default();
        if views.len() as u64 == limit {
            *more = true;
        } else {
            views.push(view);
        }
    }
    Ok(pages)
}

/// The first page of the endpoints of each of `organisation_ids` (whose
/// webhooks the caller manages), newest first: one statement each (a
/// caller manages one organisation's, so there is one).
pub async fn first_endpoints_of_organisations(
    conn: &impl ConnectionTrait,
    organisation_ids: &[Uuid],
    limit: u64,
) -> Result<HashMap<Uuid, (Vec<webhook_endpoint::Model>, bool)>, DbErr> {
    let mut pages = HashMap::new();
    for id in organisation_ids {
        let select = webhook_endpoint::Entity::find()
            .filter(webhook_endpoint::Column::OrganisationId.eq(*id));
        let page =
            platform::db::newest_first(conn, select, webhook_endpoint::Column::Id, None, limit)
                .await?;
        pages.insert(*id, page);
    }
    Ok(pages)
}

/// A page of the endpoints of the organisation `allowed` manages, newest
/// first.
pub async fn endpoints_of(
    app: &App,
    allowed: &Allowed<WebhookManager>,
    after: Option<Uuid>,
    limit: u64,
) -> ApiResult<(Vec<webhook_endpoint::Model>, bool)> {
    let select = webhook_endpoint::Entity::find()
        .filter(webhook_endpoint::Column::OrganisationId.eq(allowed.organisation_id));
    Ok(
        platform::db::newest_first(&app.db, select, webhook_endpoint::Column::Id, after, limit)
            .await?,
    )
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
    Ok(with_details(&app.db, queued).await?)
}
