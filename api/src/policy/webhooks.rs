//! Who may manage an organisation's webhook endpoints and read its webhook
//! events and delivery log.
//!
//! - `MANAGE_WEBHOOKS`, held by a landlord user of the organisation or
//!   carried by one of its API tokens (a partner dashboard registering its
//!   own endpoint), allows everything: list, read, create, update, delete,
//!   rotate the secret, read the log, redeliver. It is the organisation's
//!   integration, not one person's, so every holder sees every endpoint.
//! - Nobody else, staff included: the log shows what the receiver answered
//!   (the issue: "never shown to anyone outside the organisation"), and
//!   endpoints are the landlord's own systems, which the Ombudsman neither
//!   runs nor supports. Support reads the worker's logs and the job ledger.
//! - An endpoint, event or delivery of another organisation, or any of them
//!   for a caller without the permission, answers `NOT_FOUND` like a missing
//!   one; lists and creation answer `FORBIDDEN` without the permission.

use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};
use sea_orm::{JoinType, RelationTrait};
use uuid::Uuid;

use entities::{Permission, UserKind, webhook_delivery, webhook_endpoint, webhook_event};

use super::{Allowed, Caller};
use crate::{
    auth::Viewer,
    error::{ApiError, ApiResult},
};

/// What managing an organisation's webhooks was allowed for.
#[derive(Debug, Clone, Copy)]
pub struct WebhookManager {
    /// The organisation whose endpoints are managed.
    pub organisation_id: Uuid,
}

/// The caller's organisation when they hold `MANAGE_WEBHOOKS`.
/// Anonymous: `UNAUTHENTICATED`; enrolling: `TWO_FACTOR_SETUP_REQUIRED`;
/// anyone else `FORBIDDEN`.
fn own_organisation(viewer: &Viewer) -> ApiResult<Uuid> {
    match viewer {
        Viewer::Anonymous => Err(ApiError::Unauthenticated),
        Viewer::Enrolling(_) => Err(ApiError::TwoFactorSetupRequired),
        Viewer::User(u)
            if u.kind == UserKind::Landlord
                && u.permissions.contains(&Permission::ManageWebhooks) =>
        {
            u.organisation_id.ok_or(ApiError::Forbidden)
        }
        Viewer::ApiToken(t) if t.permissions.contains(&Permission::ManageWebhooks) => {
            Ok(t.organisation_id)
        }
        _ => Err(ApiError::Forbidden),
    }
}

/// Managing (listing, creating, changing) the caller's organisation's
/// webhooks.
pub fn can_manage(caller: &Caller<'_>) -> ApiResult<Allowed<WebhookManager>> {
    let organisation_id = own_organisation(caller.viewer)?;
    Ok(Allowed::grant(caller, WebhookManager { organisation_id }))
}

/// Like [`can_manage`], for an action on one object named by id: a caller
/// without the permission gets `NOT_FOUND` (as [`find_visible`] would), so
/// ids cannot be probed; anonymous callers stay `UNAUTHENTICATED`.
pub fn can_manage_object(
    caller: &Caller<'_>,
    what: &'static str,
) -> ApiResult<Allowed<WebhookManager>> {
    match can_manage(caller) {
        Err(ApiError::Forbidden) => Err(ApiError::NotFound(what)),
        other => other,
    }
}

/// The condition on `webhook_endpoints` selecting what the caller may see.
pub fn visible(caller: &Caller<'_>) -> ApiResult<Condition> {
    let own = own_organisation(caller.viewer)?;
    Ok(Condition::all().add(webhook_endpoint::Column::OrganisationId.eq(own)))
}

/// The condition on `webhook_events` selecting what the caller may see.
pub fn visible_events(caller: &Caller<'_>) -> ApiResult<Condition> {
    let own = own_organisation(caller.viewer)?;
    Ok(Condition::all().add(webhook_event::Column::OrganisationId.eq(own)))
}

/// An endpoint of the organisation `allowed` manages, or `NOT_FOUND`.
pub async fn find_managed(
    conn: &impl ConnectionTrait,
    allowed: &Allowed<WebhookManager>,
    id: Uuid,
) -> ApiResult<webhook_endpoint::Model> {
    webhook_endpoint::Entity::find_by_id(id)
        .filter(webhook_endpoint::Column::OrganisationId.eq(allowed.organisation_id))
        .one(conn)
        .await?
        .ok_or(ApiError::NotFound("Webhook endpoint"))
}

/// An event of the organisation `allowed` manages, or `NOT_FOUND`.
pub async fn find_managed_event(
    conn: &impl ConnectionTrait,
    allowed: &Allowed<WebhookManager>,
    id: Uuid,
) -> ApiResult<webhook_event::Model> {
    webhook_event::Entity::find_by_id(id)
        .filter(webhook_event::Column::OrganisationId.eq(allowed.organisation_id))
        .one(conn)
        .await?
        .ok_or(ApiError::NotFound("Webhook event"))
}

/// Maps a refusal of the caller's kind to `NOT_FOUND` for a read by id.
fn or_not_found<T>(result: ApiResult<T>, what: &'static str) -> ApiResult<T> {
    match result {
        Err(ApiError::Unauthenticated) => Err(ApiError::Unauthenticated),
        Err(_) => Err(ApiError::NotFound(what)),
        ok => ok,
    }
}

/// One endpoint by id, if visible; `NOT_FOUND` otherwise.
pub async fn find_visible(
    conn: &impl ConnectionTrait,
    caller: &Caller<'_>,
    id: Uuid,
) -> ApiResult<webhook_endpoint::Model> {
    let condition = or_not_found(visible(caller), "Webhook endpoint")?;
    webhook_endpoint::Entity::find_by_id(id)
        .filter(condition)
        .one(conn)
        .await?
        .ok_or(ApiError::NotFound("Webhook endpoint"))
}

/// One event by id, if visible; `NOT_FOUND` otherwise.
pub async fn find_visible_event(
    conn: &impl ConnectionTrait,
    caller: &Caller<'_>,
    id: Uuid,
) -> ApiResult<webhook_event::Model> {
    let condition = or_not_found(visible_events(caller), "Webhook event")?;
    webhook_event::Entity::find_by_id(id)
        .filter(condition)
        .one(conn)
        .await?
        .ok_or(ApiError::NotFound("Webhook event"))
}

/// One delivery by id, if its endpoint is visible; `NOT_FOUND` otherwise.
pub async fn find_visible_delivery(
    conn: &impl ConnectionTrait,
    caller: &Caller<'_>,
    id: Uuid,
) -> ApiResult<webhook_delivery::Model> {
    let condition = or_not_found(visible(caller), "Webhook delivery")?;
    webhook_delivery::Entity::find_by_id(id)
        .join(
            JoinType::InnerJoin,
            webhook_delivery::Relation::Endpoint.def(),
        )
        .filter(condition)
        .one(conn)
        .await?
        .ok_or(ApiError::NotFound("Webhook delivery"))
}
