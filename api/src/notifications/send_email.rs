//! Sends one email recorded in `notification_deliveries`.
//!
//! The delivery row (recipient, template, parameters) is written by
//! [`crate::notifications::queue_email`] in the transaction of the change that causes
//! the email; this job renders and sends it and records the outcome. A row
//! already `SENT` is skipped, so a repeated delivery of the job sends nothing.
//! The Message-ID is derived from the delivery id, so if a crash between the
//! SMTP hand-off and the status update makes us send twice, receiving systems
//! can tell the copies are one message.

use std::sync::Arc;

use chrono::Utc;
use sea_orm::{ActiveModelTrait, EntityTrait, IntoActiveModel, Set};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use entities::{DeliveryStatus, notification_delivery};

use worker::job::{Attempt, Job, JobError};

use worker::delivery::email::OutgoingEmail;

use super::templates::{EmailTemplate, render_email};
use crate::jobs::JobContext;

/// Send the email of one delivery record.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SendEmail {
    /// The `notification_deliveries` row to send.
    pub delivery_id: Uuid,
}

impl Job for SendEmail {
    type Context = JobContext;
    const JOB_NAME: &'static str = "send_email";

    async fn run(&self, ctx: Arc<JobContext>, attempt: Attempt) -> Result<(), JobError> {
        let Some(delivery) = unsent_delivery(&ctx, self.delivery_id).await? else {
            return Ok(());
        };
        let result = match ensure_secrets_kept(&delivery) {
            Ok(()) => send(&ctx, &delivery).await,
            Err(e) => Err(e),
        };
        record_outcome(&ctx, delivery, result, attempt).await
    }
}

/// The delivery row, or `None` when it was already sent (a repeated job; or
/// the provider's delivery receipt arrived first).
pub(crate) async fn unsent_delivery(
    ctx: &JobContext,
    id: Uuid,
) -> Result<Option<notification_delivery::Model>, JobError> {
    let delivery = notification_delivery::Entity::find_by_id(id)
        .one(&ctx.db)
        .await?
        .ok_or_else(|| JobError::Permanent(format!("delivery {id} not found")))?;
    let sent = matches!(
        delivery.status,
        DeliveryStatus::Sent | DeliveryStatus::Delivered
    );
    Ok((!sent).then_some(delivery))
}

async fn send(
    ctx: &JobContext,
    delivery: &notification_delivery::Model,
) -> Result<String, JobError> {
    let template: EmailTemplate = delivery.template.parse().map_err(|_| {
        JobError::Permanent(format!("unknown email template {:?}", delivery.template))
    })?;
    let rendered = render_email(
        template,
        &with_base_url(&delivery.params, &ctx.config.public_base_url),
    )
    .map_err(|e| JobError::Permanent(format!("template {}: {e}", delivery.template)))?;
    let email = OutgoingEmail {
        from: ctx.config.mail.from.clone(),
        to: delivery.recipient.clone(),
        subject: rendered.subject,
        text: rendered.text,
        html: rendered.html,
        message_id: message_id(delivery.id, &ctx.config.public_base_url),
        reference: delivery.id.to_string(),
    };
    Ok(ctx.mailer.send(&email).await?)
}

/// The parameters plus `base_url`, which every template needs for its links
/// and which producers should not have to know.
fn with_base_url(params: &serde_json::Value, base: &url::Url) -> serde_json::Value {
    let mut params = params.clone();
    if let Some(map) = params.as_object_mut() {
        map.entry("base_url")
            .or_insert_with(|| base.as_str().trim_end_matches('/').into());
    }
    params
}

/// `<delivery-id@host>`: stable across retries of the same delivery.
fn message_id(id: Uuid, base: &url::Url) -> String {
    format!("<{id}@{}>", base.host_str().unwrap_or("portal.localhost"))
}

/// Parameters that hold one-time secrets, replaced once a message is sent
/// or has failed for good.
const SECRET_PARAMS: &[&str] = &["code", "token"];

/// What replaces a secret once the message that carried it failed for good.
const DISCARDED: &str = "[discarded]";

/// The parameters with every secret value replaced by `marker`.
pub(crate) fn scrub_secrets(mut params: serde_json::Value, marker: &str) -> serde_json::Value {
    if let Some(map) = params.as_object_mut() {
        for key in SECRET_PARAMS {
            if let Some(value) = map.get_mut(*key) {
                *value = serde_json::Value::String(marker.into());
            }
        }
    }
    params
}

/// Refuses to send a message whose one-time secret was discarded when it
/// failed (an operator's `retryJob` of it): the code or link is gone, and
/// the user asks for a new one.
pub(crate) fn ensure_secrets_kept(delivery: &notification_delivery::Model) -> Result<(), JobError> {
    let discarded = delivery.params.as_object().is_some_and(|map| {
        SECRET_PARAMS
            .iter()
            .any(|key| map.get(*key).and_then(|v| v.as_str()) == Some(DISCARDED))
    });
    if discarded {
        return Err(JobError::Permanent(
            "the one-time code or link of this message was discarded when it failed; the user must ask for a new one".into(),
        ));
    }
    Ok(())
}

/// Writes the outcome on the delivery row: `SENT` with the provider's reference,
/// or the error (and `FAILED` when no attempt will follow).
pub(crate) async fn record_outcome(
    ctx: &JobContext,
    delivery: notification_delivery::Model,
    result: Result<String, JobError>,
    attempt: Attempt,
) -> Result<(), JobError> {
    let now = Utc::now();
    let attempts = delivery.attempts + 1;
    let mut row = delivery.into_active_model();
    row.attempts = Set(attempts);
    row.updated_at = Set(now);
    let outcome = match result {
        Ok(reference) => {
            // The message is out; the one-time secrets it carried (sign-in
            // codes, link tokens) must not outlive it in our database.
            row.params = Set(scrub_secrets(
                row.params.take().unwrap_or_default(),
                "[sent]",
            ));
            row.status = Set(DeliveryStatus::Sent);
            row.provider_reference = Set(Some(reference));
            row.sent_at = Set(Some(now));
            row.last_error = Set(None);
            Ok(())
        }
        Err(e) => {
            if e.is_permanent() || attempt.is_last {
                // No attempt follows: the secret must not linger either.
                row.status = Set(DeliveryStatus::Failed);
                row.params = Set(scrub_secrets(
                    row.params.take().unwrap_or_default(),
                    DISCARDED,
                ));
            }
            row.last_error = Set(Some(e.to_string()));
            Err(e)
        }
    };
    row.update(&ctx.db).await?;
    outcome
}
