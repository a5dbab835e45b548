//! GOV.UK Notify's delivery-status callbacks: `POST
//! /callbacks/notify/delivery-status`.
//!
//! Accepting a message is not delivering it. Once Notify knows what became
//! of a message it POSTs a delivery receipt to the URL set in the service's
//! "Callbacks" settings, with the bearer token set there:
//!
//! ```text
//! Authorization: Bearer <PORTAL_NOTIFY_CALLBACK_TOKEN>
//! {"id": "<Notify's id>", "reference": "<our delivery id>", "to": "...",
//!  "status": "delivered", "created_at": "...", "completed_at": "...",
//!  "sent_at": "...", "notification_type": "email", ...}
//! ```
//!
//! The receipt is recorded on the delivery (`provider_status`,
//! `provider_status_at`): `delivered` makes it `DELIVERED`;
//! `permanent-failure`, `temporary-failure` and `technical-failure` make it
//! `FAILED` with the reason in `last_error`; `created`, `sending`, `pending`
//! and `sent` (an international text) only record the provider's word. A
//! final status is never replaced by a later non-final one, so receipts
//! arriving out of order cannot turn `delivered` back into `sending`; the
//! same receipt twice changes nothing more.
//!
//! Answers: a wrong or missing token is `401` before the body is read, and
//! nothing is stored; with no token configured the route is off (`404`). A
//! receipt for no delivery of ours (by our reference, else by Notify's id),
//! or whose type does not match the delivery's channel, is `200` with
//! `{"recorded": false}`: Notify retries anything but a 2xx, and retrying
//! cannot make it match. A body that is not a receipt is `400`; larger than
//! 16 KiB, `413`. Nothing here answers 5xx on purpose; a database outage
//! does, and Notify retries later, which is what we want.

use axum::{
    Json,
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
};
use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, Set};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use entities::{Channel, DeliveryStatus, notification_delivery};

use crate::http::HttpState;

/// The largest receipt accepted: a real one is well under 1 KiB.
pub const MAX_CALLBACK_BYTES: usize = 16 * 1024;

/// The fields of a receipt this service reads (Notify sends more).
#[derive(Debug, Deserialize)]
struct Receipt {
    /// Notify's notification id.
    id: String,
    /// Our reference: the delivery id.
    reference: Option<String>,
    /// Notify's status, e.g. `delivered`.
    status: String,
    /// `email` or `sms`.
    notification_type: Option<String>,
    completed_at: Option<String>,
    sent_at: Option<String>,
}

/// What a Notify status means for the delivery record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// The message reached the inbox or phone.
    Delivered,
    /// Notify gave up; the text explains to support staff what that means.
    Failed(&'static str),
    /// Not the end of the story yet (`created`, `sending`, ...).
    Pending,
}

fn outcome(status: &str) -> Outcome {
    match status {
        "delivered" => Outcome::Delivered,
        "permanent-failure" => Outcome::Failed(
            "the provider could not deliver it: the address or number does not exist, or refuses messages",
        ),
        "temporary-failure" => Outcome::Failed(
            "the provider could not deliver it for 72 hours: the inbox was full or the phone was off",
        ),
        "technical-failure" => Outcome::Failed(
            "a technical problem between Notify and its provider; the message was not sent",
        ),
        _ => Outcome::Pending,
    }
}

/// `POST /callbacks/notify/delivery-status` (module docs).
pub async fn delivery_status(
    State(state): State<HttpState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let app = &state.app;
    let Some(expected) = app
        .config
        .notify
        .as_ref()
        .and_then(|notify| notify.callback_token.as_ref())
    else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if !bearer_matches(&headers, expected) {
        tracing::warn!("Notify callback refused: wrong or missing bearer token");
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            Json(json!({ "error": "a valid bearer token is required" })),
        )
            .into_response();
    }
    let receipt: Receipt = match serde_json::from_slice(&body) {
        Ok(receipt) => receipt,
        Err(error) => {
            return (
                StatusCode::BAD_REQUEST,
                Json(json!({ "error": format!("not a delivery receipt: {error}") })),
            )
                .into_response();
        }
    };
    if receipt.status.is_empty() || receipt.status.len() > 32 || receipt.id.len() > 255 {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({ "error": "not a delivery receipt: bad status or id" })),
        )
            .into_response();
    }
    match record(&app.db, &receipt).await {
        Ok(recorded) => Json(json!({ "recorded": recorded })).into_response(),
        Err(error) => {
            tracing::error!(%error, "cannot record a Notify delivery receipt");
            // Notify retries: the receipt is not lost.
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}

/// `Authorization: Bearer <expected>`, compared in constant time.
fn bearer_matches(headers: &HeaderMap, expected: &secrecy::SecretString) -> bool {
    use secrecy::ExposeSecret;
    let expected = format!("Bearer {}", expected.expose_secret());
    let given = headers
        .get(header::AUTHORIZATION)
        .map(|v| v.as_bytes())
        .unwrap_or_default();
    given.len() == expected.len()
        && given
            .iter()
            .zip(expected.as_bytes())
            .fold(0u8, |diff, (a, b)| diff | (a ^ b))
            == 0
}

/// The delivery a receipt is about: by our reference (the delivery id) if
/// Notify's id agrees with what we stored, else by Notify's id.
async fn find(
    db: &impl sea_orm::ConnectionTrait,
    receipt: &Receipt,
) -> Result<Option<notification_delivery::Model>, sea_orm::DbErr> {
    if let Some(id) = receipt
        .reference
        .as_deref()
        .and_then(|r| Uuid::try_parse(r).ok())
        && let Some(delivery) = notification_delivery::Entity::find_by_id(id)
            .one(db)
            .await?
        && delivery
            .provider_reference
            .as_deref()
            .is_none_or(|stored| stored == receipt.id)
    {
        return Ok(Some(delivery));
    }
    notification_delivery::Entity::find()
        .filter(notification_delivery::Column::ProviderReference.eq(receipt.id.as_str()))
        .one(db)
        .await
}

/// Records `receipt`; `false` when it is about no delivery of ours.
async fn record(
    db: &sea_orm::DatabaseConnection,
    receipt: &Receipt,
) -> Result<bool, sea_orm::DbErr> {
    let Some(delivery) = find(db, receipt).await? else {
        tracing::info!(notify_id = %receipt.id, "Notify receipt for no delivery of ours: ignored");
        return Ok(false);
    };
    let channel_matches = match receipt.notification_type.as_deref() {
        Some("email") => delivery.channel == Channel::Email,
        Some("sms") => delivery.channel == Channel::Sms,
        _ => true,
    };
    if !channel_matches {
        tracing::info!(delivery_id = %delivery.id, "Notify receipt of another channel: ignored");
        return Ok(false);
    }
    let new = outcome(&receipt.status);
    let known_final = delivery
        .provider_status
        .as_deref()
        .is_some_and(|status| outcome(status) != Outcome::Pending);
    if new == Outcome::Pending && known_final {
        // A late `sending` after `delivered`: the final word stands.
        return Ok(true);
    }
    let at = [&receipt.completed_at, &receipt.sent_at]
        .into_iter()
        .flatten()
        .find_map(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(Utc::now);
    let id = delivery.id;
    let had_reference = delivery.provider_reference.is_some();
    let mut row = delivery.into_active_model();
    row.provider_status = Set(Some(receipt.status.clone()));
    row.provider_status_at = Set(Some(at));
    if !had_reference {
        row.provider_reference = Set(Some(receipt.id.clone()));
    }
    match new {
        Outcome::Delivered => {
            row.status = Set(DeliveryStatus::Delivered);
            row.last_error = Set(None);
        }
        Outcome::Failed(meaning) => {
            row.status = Set(DeliveryStatus::Failed);
            row.last_error = Set(Some(format!(
                "GOV.UK Notify reported {}: {meaning}",
                receipt.status
            )));
        }
        Outcome::Pending => {}
    }
    row.updated_at = Set(Utc::now());
    row.update(db).await?;
    tracing::info!(delivery_id = %id, status = %receipt.status, "Notify delivery receipt recorded");
    Ok(true)
}
