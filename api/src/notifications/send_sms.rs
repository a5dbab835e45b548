//! Sends one SMS recorded in `notification_deliveries`, through GOV.UK
//! Notify (or the embedded log file). Like [`super::send_email`], a row
//! already `SENT` is skipped; the delivery id is passed to Notify as the
//! `reference`, which comes back in its delivery-status callbacks
//! ([`super::callbacks`]).

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use worker::job::{Attempt, Job, JobError};

use super::{
    send_email::{ensure_secrets_kept, record_outcome, unsent_delivery},
    templates::{SmsTemplate, render_sms},
};
use crate::jobs::JobContext;

/// Send the SMS of one delivery record.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SendSms {
    /// The `notification_deliveries` row to send.
    pub delivery_id: Uuid,
}

impl Job for SendSms {
    type Context = JobContext;
    const JOB_NAME: &'static str = "send_sms";

    async fn run(&self, ctx: Arc<JobContext>, attempt: Attempt) -> Result<(), JobError> {
        let Some(delivery) = unsent_delivery(&ctx, self.delivery_id).await? else {
            return Ok(());
        };
        let result = async {
            ensure_secrets_kept(&delivery)?;
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
