//! Managing an organisation's webhook endpoints: create, change, delete and
//! rotate the signing secret, for the callers `policy::webhooks::can_manage`
//! allowed (`MANAGE_WEBHOOKS` users and API tokens of the organisation).
//!
//! - Input is checked before anything is written, and every refusal is
//!   `BAD_USER_INPUT` on its field with nothing stored: the URL (at most
//!   [`URL_MAX`] characters, `https` unless the operator allows `http`, not
//!   resolving to a private address unless the operator allows it; see
//!   `webhooks::address`), the event types (at least one), the description
//!   (at most [`DESCRIPTION_MAX`] characters, one line), and the number of
//!   endpoints (`PORTAL_WEBHOOK_MAX_ENDPOINTS`, counted with the
//!   organisation's row locked so concurrent creations cannot overshoot).
//! - The signing secret (`whsec_…`) is generated here, returned once by
//!   [`create`] and [`rotate_secret`], and stored only sealed with the server
//!   key. Rotation keeps the old secret valid for a grace period (default
//!   [`DEFAULT_GRACE_HOURS`], at most [`MAX_GRACE_HOURS`]): deliveries are
//!   signed with both meanwhile, so a receiver can switch without a gap.
//! - Re-enabling an endpoint (which the worker disables after it has failed
//!   for too long) clears the failure state, so it gets a fresh period.
//! - Every change is audited (`webhook_endpoint.create`, `.update`,
//!   `.delete`, `.rotate_secret`) with the URL, description, event types and
//!   state, never the secret.

use chrono::{Duration, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, ModelTrait, PaginatorTrait,
    QueryFilter, QuerySelect, Set,
};
use serde_json::json;
use uuid::Uuid;

use entities::{WebhookEventType, organisation, webhook_endpoint};

use crate::{
    app::App,
    audit::{self, Entry},
    error::{ApiError, ApiResult},
    policy::{
        Allowed,
        webhooks::{self as policy, WebhookManager},
    },
};

use super::{
    address::{UrlPolicy, check_endpoint_url},
    signing::{ServerKey, new_secret, seal},
};

/// Longest endpoint URL.
pub const URL_MAX: usize = 2048;
/// Longest description.
pub const DESCRIPTION_MAX: usize = 200;
/// Hours the previous secret stays valid after a rotation, by default.
pub const DEFAULT_GRACE_HOURS: i32 = 24;
/// The longest grace period a rotation may ask for (7 days).
pub const MAX_GRACE_HOURS: i32 = 7 * 24;

/// What a new endpoint is.
#[derive(Debug, Clone)]
pub struct NewEndpoint {
    /// Where to POST.
    pub url: String,
    /// What to send there.
    pub event_types: Vec<WebhookEventType>,
    /// What it is for, for the organisation's own reference.
    pub description: Option<String>,
}

/// A change to an endpoint: `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct EndpointChange {
    /// A new URL (checked as at creation).
    pub url: Option<String>,
    /// A new list of event types (replaces the old one).
    pub event_types: Option<Vec<WebhookEventType>>,
    /// Enable or disable it.
    pub enabled: Option<bool>,
    /// A new description; an empty one removes it.
    pub description: Option<String>,
}

/// An endpoint with its secret in clear, shown once.
#[derive(Debug, Clone)]
pub struct WithSecret {
    /// The endpoint as stored.
    pub endpoint: webhook_endpoint::Model,
    /// The signing secret (`whsec_…`).
    pub secret: String,
}

/// The URL, as the endpoint will store it, or `BAD_USER_INPUT` on `field`.
async fn checked_url(app: &App, raw: &str, field: &str) -> ApiResult<String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err(ApiError::bad_input(field, "Enter the endpoint's URL."));
    }
    if raw.chars().count() > URL_MAX {
        return Err(ApiError::bad_input(
            field,
            format!("The URL must be at most {URL_MAX} characters."),
        ));
    }
    let policy = UrlPolicy::from_config(&app.config.webhooks);
    match check_endpoint_url(raw, &policy).await {
        Ok(url) => Ok(url.to_string()),
        Err(refusal) => Err(ApiError::bad_input(
            field,
            capitalised(&refusal.to_string()),
        )),
    }
}

/// "the URL must…" as a sentence.
fn capitalised(reason: &str) -> String {
    let mut chars = reason.chars();
    let mut out = match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect::<String>(),
        None => String::new(),
    };
    if !out.ends_with('.') {
        out.push('.');
    }
    out
}

/// The event types as stored (deduplicated, in the enum's order), or
/// `BAD_USER_INPUT` on `field` when empty.
fn checked_types(types: &[WebhookEventType], field: &str) -> ApiResult<serde_json::Value> {
    if types.is_empty() {
        return Err(ApiError::bad_input(
            field,
            "Choose at least one event type.",
        ));
    }
    let names: Vec<&str> = WebhookEventType::ALL
        .iter()
        .filter(|t| types.contains(t))
        .map(|t| t.as_str())
        .collect();
    Ok(json!(names))
}

/// The description as stored (`None` when blank), or `BAD_USER_INPUT`.
fn checked_description(description: Option<&str>, field: &str) -> ApiResult<Option<String>> {
    let Some(text) = description.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    if text.chars().count() > DESCRIPTION_MAX {
        return Err(ApiError::bad_input(
            field,
            format!("The description must be at most {DESCRIPTION_MAX} characters."),
        ));
    }
    if text.chars().any(char::is_control) {
        return Err(ApiError::bad_input(
            field,
            "The description must be one line of text.",
        ));
    }
    Ok(Some(text.to_owned()))
}

/// The event types an endpoint is subscribed to (unknown names, which a
/// newer version may have written, are skipped).
pub fn event_types(endpoint: &webhook_endpoint::Model) -> Vec<WebhookEventType> {
    endpoint
        .event_types
        .as_array()
        .map(|names| {
            names
                .iter()
                .filter_map(|n| n.as_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// What the audit log keeps of an endpoint (never its secret).
fn snapshot(endpoint: &webhook_endpoint::Model) -> serde_json::Value {
    json!({
        "url": endpoint.url,
        "description": endpoint.description,
        "event_types": endpoint.event_types,
        "enabled": endpoint.enabled,
    })
}

async fn record(
    conn: &impl sea_orm::ConnectionTrait,
    allowed: &Allowed<WebhookManager>,
    action: &str,
    endpoint: &webhook_endpoint::Model,
    before: Option<serde_json::Value>,
    after: Option<serde_json::Value>,
) -> ApiResult<()> {
    audit::record(
        conn,
        allowed.actor(),
        Entry {
            action,
            target_type: "webhook_endpoint",
            target_id: Some(endpoint.id),
            organisation_id: Some(endpoint.organisation_id),
        },
        before,
        after,
    )
    .await
}

fn server_key(app: &App) -> ApiResult<ServerKey> {
    ServerKey::load(&app.config).map_err(ApiError::Internal)
}

/// Creates an endpoint for the organisation `allowed` manages; the answer
/// holds its secret, shown this once.
pub async fn create(
    app: &App,
    allowed: &Allowed<WebhookManager>,
    new: NewEndpoint,
) -> ApiResult<WithSecret> {
    let event_types = checked_types(&new.event_types, "input.eventTypes")?;
    let description = checked_description(new.description.as_deref(), "input.description")?;
    let url = checked_url(app, &new.url, "input.url").await?;
    let key = server_key(app)?;
    let secret = new_secret();
    let max = app.config.webhooks.max_endpoints;

    let txn = platform::db::begin_write(&app.db).await?;
    // The organisation's row, locked: concurrent creations count in turn.
    organisation::Entity::find_by_id(allowed.organisation_id)
        .lock_exclusive()
        .one(&txn)
        .await?
        .ok_or(ApiError::NotFound("Organisation"))?;
    let existing = webhook_endpoint::Entity::find()
        .filter(webhook_endpoint::Column::OrganisationId.eq(allowed.organisation_id))
        .count(&txn)
        .await?;
    if existing >= max as u64 {
        return Err(ApiError::bad_input(
            "input.url",
            format!("An organisation can have at most {max} webhook endpoints; delete one first."),
        ));
    }
    let now = Utc::now();
    let endpoint = webhook_endpoint::ActiveModel {
        id: Set(Uuid::now_v7()),
        organisation_id: Set(allowed.organisation_id),
        url: Set(url),
        description: Set(description),
        event_types: Set(event_types),
        enabled: Set(true),
        disabled_reason: Set(None),
        disabled_at: Set(None),
        secret_sealed: Set(seal(&key, &secret)),
        previous_secret_sealed: Set(None),
        previous_secret_expires_at: Set(None),
        failing_since: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await?;
    record(
        &txn,
        allowed,
        "webhook_endpoint.create",
        &endpoint,
        None,
        Some(snapshot(&endpoint)),
    )
    .await?;
    txn.commit().await?;
    Ok(WithSecret { endpoint, secret })
}

/// Changes endpoint `id` of the organisation `allowed` manages.
pub async fn update(
    app: &App,
    allowed: &Allowed<WebhookManager>,
    id: Uuid,
    change: EndpointChange,
) -> ApiResult<webhook_endpoint::Model> {
    let event_types = change
        .event_types
        .as_deref()
        .map(|t| checked_types(t, "input.eventTypes"))
        .transpose()?;
    let description = change
        .description
        .as_deref()
        .map(|d| checked_description(Some(d), "input.description"))
        .transpose()?;
    // The endpoint must be the caller's before its URL is resolved, so a
    // probe of another organisation's id learns nothing.
    policy::find_managed(&app.db, allowed, id).await?;
    let url = match change.url.as_deref() {
        Some(raw) => Some(checked_url(app, raw, "input.url").await?),
        None => None,
    };

    let txn = platform::db::begin_write(&app.db).await?;
    let before = policy::find_managed(&txn, allowed, id).await?;
    let mut row = before.clone().into_active_model();
    if let Some(url) = url {
        row.url = Set(url);
    }
    if let Some(types) = event_types {
        row.event_types = Set(types);
    }
    if let Some(description) = description {
        row.description = Set(description);
    }
    let now = Utc::now();
    match change.enabled {
        Some(true) if !before.enabled => {
            row.enabled = Set(true);
            row.disabled_reason = Set(None);
            row.disabled_at = Set(None);
            row.failing_since = Set(None);
        }
        Some(false) if before.enabled => {
            row.enabled = Set(false);
            row.disabled_reason = Set(None);
            row.disabled_at = Set(Some(now));
        }
        _ => {}
    }
    row.updated_at = Set(now);
    let after = row.update(&txn).await?;
    record(
        &txn,
        allowed,
        "webhook_endpoint.update",
        &after,
        Some(snapshot(&before)),
        Some(snapshot(&after)),
    )
    .await?;
    txn.commit().await?;
    Ok(after)
}

/// Deletes endpoint `id` with its deliveries and their attempts (the
/// events stay: other endpoints may have received them). Returns it as it
/// was.
pub async fn delete(
    app: &App,
    allowed: &Allowed<WebhookManager>,
    id: Uuid,
) -> ApiResult<webhook_endpoint::Model> {
    let txn = platform::db::begin_write(&app.db).await?;
    let endpoint = policy::find_managed(&txn, allowed, id).await?;
    // Its deliveries and their attempts go with it (foreign keys cascade).
    endpoint.clone().delete(&txn).await?;
    record(
        &txn,
        allowed,
        "webhook_endpoint.delete",
        &endpoint,
        Some(snapshot(&endpoint)),
        None,
    )
    .await?;
    txn.commit().await?;
    Ok(endpoint)
}

/// Gives endpoint `id` a new secret, returned this once; the current one
/// stays valid for `grace_hours` (default [`DEFAULT_GRACE_HOURS`], 0 to
/// [`MAX_GRACE_HOURS`]; 0 ends it at once). A previous secret still in its
/// grace period is dropped: only the two latest are ever valid.
pub async fn rotate_secret(
    app: &App,
    allowed: &Allowed<WebhookManager>,
    id: Uuid,
    grace_hours: Option<i32>,
) -> ApiResult<WithSecret> {
    let grace = grace_hours.unwrap_or(DEFAULT_GRACE_HOURS);
    if !(0..=MAX_GRACE_HOURS).contains(&grace) {
        return Err(ApiError::bad_input(
            "graceHours",
            format!("The grace period must be 0 to {MAX_GRACE_HOURS} hours (7 days)."),
        ));
    }
    let key = server_key(app)?;
    let secret = new_secret();
    let txn = platform::db::begin_write(&app.db).await?;
    let before = policy::find_managed(&txn, allowed, id).await?;
    let now = Utc::now();
    let mut row = before.clone().into_active_model();
    if grace > 0 {
        row.previous_secret_sealed = Set(Some(before.secret_sealed.clone()));
        row.previous_secret_expires_at = Set(Some(now + Duration::hours(grace.into())));
    } else {
        row.previous_secret_sealed = Set(None);
        row.previous_secret_expires_at = Set(None);
    }
    row.secret_sealed = Set(seal(&key, &secret));
    row.updated_at = Set(now);
    let endpoint = row.update(&txn).await?;
    record(
        &txn,
        allowed,
        "webhook_endpoint.rotate_secret",
        &endpoint,
        None,
        Some(json!({ "grace_hours": grace })),
    )
    .await?;
    txn.commit().await?;
    Ok(WithSecret { endpoint, secret })
}
