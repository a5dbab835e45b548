//! Sends one SMS recorded in `notification_deliveries`, through the
//! Notify-style HTTP provider (or the embedded log file). Like
//! [`super::send_email`], a row already `SENT` is skipped; the delivery id is
//! passed to the provider as the client reference so it can deduplicate.

use std::sync::Arc;

use sea_orm::EntityTrait;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use entities::{DeliveryStatus, notification_delivery};

use super::{Attempt, Job, JobContext, JobError, send_email::record_outcome};
use crate::delivery::templates::{SmsTemplate, render_sms};

/// Send the SMS of one delivery record.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SendSms {
    /// The `notification_deliveries` row to send.
    pub delivery_id: Uuid,
}

impl Job for SendSms {
    const JOB_NAME: &'static str = "send_sms";

    async fn run(&self, ctx: Arc<JobContext>, attempt: Attempt) -> Result<(), JobError> {
        let Some(delivery) = notification_delivery::Entity::find_by_id(self.delivery_id)
            .one(&ctx.db)
            .await?
        else {
            return Err(JobError::Permanent(format!(
                "delivery {} not found",
                self.delivery_id
            )));
        };
        if delivery.status == DeliveryStatus::Sent {
            return Ok(());
        }
        let result = async {
            let template: SmsTemplate = delivery.template.parse().map_err(|_| {
                JobError::Permanent(format!("unknown SMS template {:?}", delivery.template))
            })?;
            let body = render_sms(template, &delivery.params)
                .map_err(|e| JobError::Permanent(format!("template {}: {e}", delivery.template)))?;
            Ok(ctx
                .sms
                .send(&delivery.recipient, &body, &delivery.id.to_string())
                .await?)
        }
        .await;
        record_outcome(&ctx, delivery, result, attempt).await
    }
}
