//! Emitting webhook events: [`emit`] is called by each domain service at the
//! point of change, with the transaction that makes the change.
//!
//! One call writes the `webhook_events` row and, for every enabled endpoint
//! of the organisation subscribed to the type, a `PENDING` delivery and its
//! `deliver_webhook` job in the outbox: all in the caller's transaction, so
//! an event (and its deliveries) exists exactly when the change committed,
//! and a change that rolls back sends nothing.
//!
//! `data` holds ids (as global ids, the ones receivers use in GraphQL) and
//! the few fields a receiver needs to decide whether to fetch more; never a
//! document, a secret or personal free text (message bodies, names).

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set,
};
use uuid::Uuid;

use entities::{
    WebhookDeliveryStatus, WebhookEventType, webhook_delivery, webhook_endpoint, webhook_event,
};
use worker::outbox;

pub use super::deliver::DeliverWebhook;

/// Whether `endpoint` is subscribed to `event_type`.
pub fn subscribed(endpoint: &webhook_endpoint::Model, event_type: WebhookEventType) -> bool {
    endpoint.event_types.as_array().is_some_and(|types| {
        types
            .iter()
            .any(|t| t.as_str() == Some(event_type.as_str()))
    })
}

/// Records an event of `organisation_id` and queues its deliveries, in the
/// caller's transaction `txn`. Returns the event.
pub async fn emit(
    txn: &impl ConnectionTrait,
    organisation_id: Uuid,
    event_type: WebhookEventType,
    data: serde_json::Value,
) -> Result<webhook_event::Model, DbErr> {
    let now = Utc::now();
    let event = webhook_event::ActiveModel {
        id: Set(Uuid::now_v7()),
        organisation_id: Set(organisation_id),
        event_type: Set(event_type),
        version: Set(event_type.version()),
        data: Set(data),
        created_at: Set(now),
    }
    .insert(txn)
    .await?;
    // At most `PORTAL_WEBHOOK_MAX_ENDPOINTS` rows: the subscription (a JSON
    // array) is checked here rather than in SQL, which would differ between
    // jsonb and SQLite's text.
    let endpoints = webhook_endpoint::Entity::find()
        .filter(webhook_endpoint::Column::OrganisationId.eq(organisation_id))
        .filter(webhook_endpoint::Column::Enabled.eq(true))
        .all(txn)
        .await?;
    for endpoint in endpoints.iter().filter(|e| subscribed(e, event_type)) {
        queue_delivery(txn, event.id, endpoint.id).await?;
    }
    Ok(event)
}

/// A new `PENDING` delivery of `event_id` to `endpoint_id` and its job.
pub async fn queue_delivery(
    txn: &impl ConnectionTrait,
    event_id: Uuid,
    endpoint_id: Uuid,
) -> Result<webhook_delivery::Model, DbErr> {
    let now = Utc::now();
    let delivery = webhook_delivery::ActiveModel {
        id: Set(Uuid::now_v7()),
        event_id: Set(event_id),
        endpoint_id: Set(endpoint_id),
        status: Set(WebhookDeliveryStatus::Pending),
        attempts: Set(0),
        next_attempt_at: Set(Some(now)),
        last_status_code: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(txn)
    .await?;
    outbox::enqueue(
        txn,
        &DeliverWebhook {
            delivery_id: delivery.id,
        },
    )
    .await?;
    Ok(delivery)
}

/// An id in an event's `data`: the global id the GraphQL API uses for the
/// object, so a receiver can fetch it with `node(id:)`.
pub fn id(kind: crate::graphql::scalars::NodeKind, uuid: Uuid) -> serde_json::Value {
    serde_json::Value::String(crate::graphql::scalars::global_id(kind, uuid).0)
}

/// `case.task_assigned` for `task` when it is assigned to a landlord
/// organisation (a party to `case`). The title and description are staff's
/// free text: not in the event.
pub async fn task_assigned(
    txn: &impl ConnectionTrait,
    case: &entities::case::Model,
    task: &entities::task::Model,
) -> Result<(), DbErr> {
    use crate::graphql::scalars::NodeKind;
    let Some(organisation_id) = task
        .assignee_organisation_id
        .filter(|_| task.assignee_kind == entities::PartyKind::Landlord)
    else {
        return Ok(());
    };
    emit(
        txn,
        organisation_id,
        WebhookEventType::CaseTaskAssigned,
        serde_json::json!({
            "case_id": id(NodeKind::Case, case.id),
            "case_reference": case.reference,
            "task_id": id(NodeKind::Task, task.id),
            "due_date": task.due_date.to_string(),
            "source_message_id": task.source_message_id.map(|m| id(NodeKind::Message, m)),
        }),
    )
    .await?;
    Ok(())
}

/// `case.message_posted` to `organisation_id`, a landlord party to `case`
/// that staff sent `message` to. The subject and body are not in the event.
pub async fn message_posted(
    txn: &impl ConnectionTrait,
    organisation_id: Uuid,
    case: &entities::case::Model,
    message: &entities::message::Model,
) -> Result<(), DbErr> {
    use crate::graphql::scalars::NodeKind;
    emit(
        txn,
        organisation_id,
        WebhookEventType::CaseMessagePosted,
        serde_json::json!({
            "case_id": id(NodeKind::Case, case.id),
            "case_reference": case.reference,
            "message_id": id(NodeKind::Message, message.id),
            "posted_at": message.created_at,
        }),
    )
    .await?;
    Ok(())
}
