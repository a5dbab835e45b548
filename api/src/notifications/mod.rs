//! Emails and SMS messages: queueing them from inside a transaction, the
//! templates that say what is in them, and the jobs that send them.
//!
//! Each message is a `notification_deliveries` row (the record operators and
//! support staff look at: queued, sent, failed with the error, attempts,
//! provider reference) plus an outbox job that sends it. Both are written with
//! the caller's connection, so they commit or roll back with the change that
//! caused them.
//!
//! - [`templates`]: the email and SMS templates (`api/templates/`).
//! - [`send_email`], [`send_sms`]: the jobs that render a delivery and hand it
//!   to the worker's transports (`worker::delivery`).
//! - [`callbacks`]: GOV.UK Notify's delivery receipts, recorded on the
//!   deliveries.
//! - [`history`]: a user's recent deliveries, for support staff.

pub mod callbacks;
pub mod history;
pub mod send_email;
pub mod send_sms;
pub mod templates;

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ConnectionTrait, DbErr, Set};
use uuid::Uuid;

use entities::{Channel, DeliveryStatus, notification_delivery};

use worker::outbox;

use self::{
    send_email::SendEmail,
    send_sms::SendSms,
    templates::{EmailTemplate, SmsTemplate},
};

/// Who a message goes to.
#[derive(Debug, Clone)]
pub struct Recipient {
    /// Email address or E.164 phone number.
    pub address: String,
    /// The user it belongs to, when there is one (for their delivery history).
    pub user_id: Option<Uuid>,
}

async fn insert_delivery(
    conn: &impl ConnectionTrait,
    channel: Channel,
    template: &str,
    to: &Recipient,
    params: serde_json::Value,
) -> Result<Uuid, DbErr> {
    let now = Utc::now();
    let id = Uuid::now_v7();
    notification_delivery::ActiveModel {
        id: Set(id),
        channel: Set(channel),
        template: Set(template.to_owned()),
        recipient: Set(to.address.clone()),
        user_id: Set(to.user_id),
        subject: Set(None),
        params: Set(params),
        status: Set(DeliveryStatus::Queued),
        attempts: Set(0),
        provider_reference: Set(None),
        last_error: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        sent_at: Set(None),
        provider_status: Set(None),
        provider_status_at: Set(None),
    }
    .insert(conn)
    .await?;
    Ok(id)
}

/// Queues an email; returns the delivery id.
pub async fn queue_email(
    conn: &impl ConnectionTrait,
    to: &Recipient,
    template: EmailTemplate,
    params: serde_json::Value,
) -> Result<Uuid, DbErr> {
    let id = insert_delivery(conn, Channel::Email, template.as_str(), to, params).await?;
    outbox::enqueue(conn, &SendEmail { delivery_id: id }).await?;
    Ok(id)
}

/// Queues many emails of one template at once: the bulk form of [`queue_email`]
/// (the same rows, written with multi-row inserts), for jobs that notify
/// thousands of users in one transaction. Returns the delivery ids, in order.
pub async fn queue_emails(
    conn: &impl ConnectionTrait,
    template: EmailTemplate,
    messages: Vec<(Recipient, serde_json::Value)>,
) -> Result<Vec<Uuid>, DbErr> {
    let mut ids = Vec::with_capacity(messages.len());
    let rows = messages
        .into_iter()
        .map(|(to, params)| {
            let id = Uuid::now_v7();
            ids.push(id);
            vec![
                id.into(),
                to.address.into(),
                to.user_id.into(),
                params.into(),
            ]
        })
        .collect();
    outbox::insert_rows(
        conn,
        "notification_deliveries",
        &[
            "id",
            "channel",
            "template",
            "recipient",
            "user_id",
            "params",
            "status",
            "attempts",
            "created_at",
            "updated_at",
        ],
        &["$", "$1", "$2", "$", "$", "$", "$3", "0", "$4", "$4"],
        vec![
            Channel::Email.as_str().into(),
            template.as_str().into(),
            DeliveryStatus::Queued.as_str().into(),
            Utc::now().into(),
        ],
        rows,
    )
    .await?;
    let jobs: Vec<SendEmail> = ids
        .iter()
        .map(|&delivery_id| SendEmail { delivery_id })
        .collect();
    outbox::enqueue_many(conn, &jobs).await?;
    Ok(ids)
}

/// Queues an SMS; returns the delivery id.
pub async fn queue_sms(
    conn: &impl ConnectionTrait,
    to: &Recipient,
    template: SmsTemplate,
    params: serde_json::Value,
) -> Result<Uuid, DbErr> {
    let id = insert_delivery(conn, Channel::Sms, template.as_str(), to, params).await?;
    outbox::enqueue(conn, &SendSms { delivery_id: id }).await?;
    Ok(id)
}
