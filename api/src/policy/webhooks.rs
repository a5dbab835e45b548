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
//!   one; lists and creation answer `FORBIDDEN` without the permission;
//!   `Organisation.webhookEndpoints` is null for anyone who may not manage
//!   that organisation's webhooks.

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

/// Managing the webhooks of the organisation `organisation_id` as a link
/// from that organisation (`Organisation.webhookEndpoints`): granted to its
/// users with `MANAGE_WEBHOOKS` and its API tokens carrying it, `None` for
/// everyone else (another organisation's managers, staff, anonymous), who
/// read the field as null.
pub fn may_manage_organisation(
    caller: &Caller<'_>,
    organisation_id: Uuid,
) -> Option<Allowed<WebhookManager>> {
    can_manage(caller)
        .ok()
        .filter(|allowed| allowed.organisation_id == organisation_id)
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::auth::{AuthToken, AuthUser, ClientInfo};

    fn landlord(organisation_id: Uuid, permissions: &[Permission]) -> Viewer {
        Viewer::User(Arc::new(AuthUser {
            id: Uuid::now_v7(),
            kind: UserKind::Landlord,
            organisation_id: Some(organisation_id),
            staff_role: None,
            permissions: permissions.to_vec(),
            session_id: Uuid::now_v7(),
        }))
    }

    fn token(organisation_id: Uuid, permissions: &[Permission]) -> Viewer {
        Viewer::ApiToken(Arc::new(AuthToken {
            id: Uuid::now_v7(),
            organisation_id,
            permissions: permissions.to_vec(),
        }))
    }

    #[test]
    fn an_organisations_webhooks_are_its_managers_and_tokens_only() {
        let org = Uuid::now_v7();
        let other = Uuid::now_v7();
        let staff = Viewer::User(Arc::new(AuthUser {
            id: Uuid::now_v7(),
            kind: UserKind::Staff,
            organisation_id: None,
            staff_role: Some(entities::StaffRole::ServiceAdmin),
            permissions: Vec::new(),
            session_id: Uuid::now_v7(),
        }));
        let cases = [
            (
                "manager",
                landlord(org, &[Permission::ManageWebhooks]),
                true,
            ),
            ("token", token(org, &[Permission::ManageWebhooks]), true),
            (
                "user without the permission",
                landlord(org, &[Permission::ManageUsers, Permission::ViewPayments]),
                false,
            ),
            (
                "token without the permission",
                token(org, &[Permission::ViewPayments]),
                false,
            ),
            (
                "another organisation's manager",
                landlord(other, &[Permission::ManageWebhooks]),
                false,
            ),
            (
                "another organisation's token",
                token(other, &[Permission::ManageWebhooks]),
                false,
            ),
            ("service admin", staff, false),
            ("anonymous", Viewer::Anonymous, false),
        ];
        for (who, viewer, allowed) in cases {
            let client = ClientInfo {
                ip: None,
                user_agent: None,
                request_id: "test".into(),
            };
            let caller = Caller::new(&viewer, client);
            let granted = may_manage_organisation(&caller, org);
            assert_eq!(granted.is_some(), allowed, "{who}");
            if let Some(granted) = granted {
                assert_eq!(granted.organisation_id, org, "{who}");
            }
        }
    }
}
