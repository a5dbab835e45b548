//! A user's recent emails and text messages, for support: `userDeliveries`.
//!
//! The resolver asks [`policy::users::can_manage`] for
//! [`UserAction::ViewDeliveries`] and the service in
//! [`crate::notifications::history`] checks the user is visible to the
//! caller. One statement for the user and one for the deliveries, whatever
//! the page size.

use async_graphql::{Context, Enum, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};

use entities::notification_delivery;

use super::{
    ContextExt,
    scalars::{NodeKind, global_id, parse_id},
};
use crate::{
    error::ApiError,
    notifications::history::{self, MAX_DELIVERIES},
    policy::{self, users::UserAction},
};

/// How a message was sent.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "entities::Channel")]
pub enum DeliveryChannel {
    /// An email.
    Email,
    /// A text message.
    Sms,
}

/// Where a message is on its way to the user.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "entities::DeliveryStatus")]
pub enum DeliveryStatus {
    /// Recorded; the worker has not handed it to the provider yet (or is
    /// retrying: see `attempts` and `lastError`).
    Queued,
    /// Accepted by the provider (SMTP relay or GOV.UK Notify), which has
    /// not reported delivery yet.
    Sent,
    /// GOV.UK Notify reported it delivered to the inbox or phone.
    Delivered,
    /// Not delivered: the provider refused it, retries ran out, or GOV.UK
    /// Notify reported a failure (`providerStatus`); `lastError` says why.
    Failed,
}

/// One email or text message sent (or being sent) to a user: its delivery
/// record, never its contents.
#[derive(SimpleObject)]
pub struct NotificationDelivery {
    /// The delivery's id (our reference at the provider).
    pub id: ID,
    /// Email or text message.
    pub channel: DeliveryChannel,
    /// The message's template, e.g. `password_reset`, `invitation`,
    /// `two_factor_code`.
    pub template: String,
    /// The address or number it went to, mostly hidden
    /// (`p•••@example.org`, `+44•••••••123`): enough to tell an old address
    /// from the current one.
    pub destination: String,
    /// Where the message is (queued, sent, delivered, failed).
    pub status: DeliveryStatus,
    /// What GOV.UK Notify last reported, in its own words (`delivered`,
    /// `permanent-failure`, `temporary-failure`, `technical-failure`,
    /// `sending`); null until it reports.
    pub provider_status: Option<String>,
    /// When the provider says `providerStatus` was reached.
    pub provider_status_at: Option<DateTime<Utc>>,
    /// The provider's reference: GOV.UK Notify's notification id, the SMTP
    /// relay's reply (usually with its queue id), or `file:…` in the
    /// embedded mode.
    pub provider_reference: Option<String>,
    /// How many times the worker has tried to hand it over.
    pub attempts: i32,
    /// Why the last attempt or the delivery failed (the provider's
    /// explanation), if it did.
    pub last_error: Option<String>,
    /// When the message was queued.
    pub created_at: DateTime<Utc>,
    /// When the provider accepted it.
    pub sent_at: Option<DateTime<Utc>>,
}

impl From<notification_delivery::Model> for NotificationDelivery {
    fn from(d: notification_delivery::Model) -> Self {
        Self {
            id: global_id(NodeKind::NotificationDelivery, d.id),
            channel: d.channel.into(),
            template: d.template,
            destination: history::mask_destination(&d.recipient),
            status: d.status.into(),
            provider_status: d.provider_status,
            provider_status_at: d.provider_status_at,
            provider_reference: d.provider_reference,
            attempts: d.attempts,
            last_error: d.last_error,
            created_at: d.created_at,
            sent_at: d.sent_at,
        }
    }
}

/// Delivery history queries.
#[derive(Default)]
pub struct DeliveriesQuery;

#[Object]
impl DeliveriesQuery {
    /// The most recent emails and text messages sent to a user, newest
    /// first, for the support desk ("I never got the email"). Staff see any
    /// resident's or landlord user's; an organisation administrator
    /// (`MANAGE_USERS`) sees their own organisation's users'. A user the
    /// caller cannot see is `NOT_FOUND`.
    #[graphql(
        complexity = "usize::try_from(first.unwrap_or(20).clamp(1, MAX_DELIVERIES as i32)).unwrap_or(1) * child_complexity + 1"
    )]
    async fn user_deliveries(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The user whose deliveries to list.")] user_id: ID,
        #[graphql(desc = "How many, newest first: 1 to 50 (default 20).")] first: Option<i32>,
    ) -> async_graphql::Result<Vec<NotificationDelivery>> {
        let manager = policy::users::can_manage(&ctx.caller(), UserAction::ViewDeliveries)?;
        let limit = match first {
            None => 20,
            Some(n) if (1..=MAX_DELIVERIES as i32).contains(&n) => n as u64,
            Some(_) => {
                return Err(ApiError::bad_input("first", "Must be between 1 and 50.").into());
            }
        };
        let id = parse_id(&user_id, NodeKind::User)?;
        Ok(history::recent_for_user(ctx.app(), &manager, id, limit)
            .await?
            .into_iter()
            .map(Into::into)
            .collect())
    }
}
