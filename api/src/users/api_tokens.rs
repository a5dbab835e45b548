//! Organisation API tokens for partner dashboards: created, listed and
//! revoked by the organisation's administrators.
//!
//! The secret is shown once, in the answer to `createApiToken`, and stored
//! only as its SHA-256 hash (see [`crate::auth::token`]) plus a 12-character
//! display prefix. A token carries a non-empty subset of
//! [`Permission::API_TOKEN_ALLOWED`], and never more than its creator:
//!
//! - at creation, every permission asked for must be one the creator holds
//!   (otherwise `BAD_USER_INPUT` on `input.permissions`, naming the ones they
//!   lack, and nothing is created);
//! - it expires: `expiresInDays` from 1 to `PORTAL_API_TOKEN_MAX_DAYS`
//!   (default 365), or `PORTAL_API_TOKEN_DEFAULT_DAYS` (default 90) when
//!   omitted; never extended;
//! - it acts for its creator, not for the organisation: it is accepted by
//!   [`crate::auth::session::authenticate`] only while it is neither revoked
//!   nor expired and its creator is an active user of the organisation, and
//!   then carries the intersection of its own permissions and the ones its
//!   creator holds at that moment (checked on every request). A creator who
//!   is suspended, restricted or deactivated (including by the 90-day sweep)
//!   takes their tokens with them; one who loses `VIEW_PAYMENTS` takes that
//!   permission away from their tokens, and gives it back if it is restored.
//!
//! Revoked and expired tokens stay listed (the audit log refers to them) but
//! never work again.

use chrono::{Duration, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder, QuerySelect, Set,
};
use serde::Serialize;
use std::collections::HashMap;
use uuid::Uuid;

use entities::{Permission, api_token, api_token_permission};

use super::{
    Rejection, normalize_permissions,
    validate::{self, FieldErrors},
};
use crate::{
    app::App,
    audit::{self, Entry},
    auth::token,
    error::{ApiError, ApiResult},
    policy::{Allowed, api_tokens::TokenAdmin},
};

/// `target_type` of audit entries about API tokens.
pub const AUDIT_TARGET: &str = "api_token";

/// Characters of a token kept in clear for display: `pat_` and 8 of the secret.
pub const DISPLAY_PREFIX_LEN: usize = 12;

/// A token with its permissions.
#[derive(Debug, Clone, Serialize)]
pub struct TokenWithPermissions {
    /// The token (its hash is never serialised).
    #[serde(flatten)]
    pub token: api_token::Model,
    /// What it may do.
    pub permissions: Vec<Permission>,
}

/// The permissions of every token in `ids`, in one query.
async fn permissions_of(
    conn: &impl ConnectionTrait,
    ids: &[Uuid],
) -> ApiResult<HashMap<Uuid, Vec<Permission>>> {
    let mut map: HashMap<Uuid, Vec<Permission>> = HashMap::new();
    if ids.is_empty() {
        return Ok(map);
    }
    for row in api_token_permission::Entity::find()
        .filter(api_token_permission::Column::ApiTokenId.is_in(ids.iter().copied()))
        .all(conn)
        .await?
    {
        map.entry(row.api_token_id)
            .or_default()
            .push(row.permission);
    }
    for permissions in map.values_mut() {
        *permissions = normalize_permissions(permissions.drain(..));
    }
    Ok(map)
}

/// `PERM_A, PERM_B`: permissions as the API spells them.
fn names(permissions: &[Permission]) -> String {
    permissions
        .iter()
        .map(|p| p.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The lifetime in days of a new token: `requested`, from 1 to the configured
/// maximum, or the configured default.
fn lifetime(
    requested: Option<i32>,
    config: &platform::config::ApiTokenConfig,
) -> Result<u32, Vec<String>> {
    let Some(requested) = requested else {
        return Ok(config.default_days);
    };
    u32::try_from(requested)
        .ok()
        .filter(|days| (1..=config.max_days).contains(days))
        .ok_or_else(|| {
            vec![format!(
                "Choose a number of days from 1 to {}; leave it out for {}.",
                config.max_days, config.default_days
            )]
        })
}

/// Creates a token that expires after `expires_in_days` (the configured
/// default when `None`); returns the secret (shown once) and the stored token.
pub async fn create(
    app: &App,
    admin: &Allowed<TokenAdmin>,
    name: &str,
    permissions: Vec<Permission>,
    expires_in_days: Option<i32>,
) -> Result<(String, TokenWithPermissions), Rejection> {
    let mut errors = FieldErrors::default();
    let name = errors.take(
        "input.name",
        validate::text(name, "a name for the token", validate::TOKEN_NAME_MAX),
    );
    let permissions = normalize_permissions(permissions);
    let mut reasons = Vec::new();
    if permissions.is_empty() {
        reasons.push("Choose at least one permission.".to_owned());
    }
    let (allowed, refused): (Vec<Permission>, Vec<Permission>) = permissions
        .iter()
        .copied()
        .partition(|p| Permission::API_TOKEN_ALLOWED.contains(p));
    if !refused.is_empty() {
        reasons.push(format!(
            "API tokens can only view and export payments and manage webhooks (VIEW_PAYMENTS, EXPORT_PAYMENTS, MANAGE_WEBHOOKS); remove {}.",
            names(&refused)
        ));
    }
    let lacking = admin.lacks(&allowed);
    if !lacking.is_empty() {
        reasons.push(format!(
            "A token can only have permissions you hold yourself; you do not have {}.",
            names(&lacking)
        ));
    }
    errors.add("input.permissions", reasons);
    let days = errors.take(
        "input.expiresInDays",
        lifetime(expires_in_days, &app.config.api_tokens),
    );
    errors.finish()?;
    let (Some(name), Some(days)) = (name, days) else {
        return Err(ApiError::Internal(anyhow::anyhow!("checked input missing")).into());
    };

    let secret = token::generate(token::API_TOKEN_PREFIX);
    let now = Utc::now();
    let txn = platform::db::begin_write(&app.db).await?;
    let model = api_token::ActiveModel {
        id: Set(Uuid::now_v7()),
        organisation_id: Set(admin.organisation_id),
        name: Set(name),
        token_hash: Set(token::hash(&secret)),
        token_prefix: Set(secret.chars().take(DISPLAY_PREFIX_LEN).collect()),
        created_by_user_id: Set(Some(admin.user_id)),
        created_at: Set(now),
        last_used_at: Set(None),
        expires_at: Set(now + Duration::days(i64::from(days))),
        revoked_at: Set(None),
    }
    .insert(&txn)
    .await?;
    api_token_permission::Entity::insert_many(permissions.iter().map(|p| {
        api_token_permission::ActiveModel {
            api_token_id: Set(model.id),
            permission: Set(*p),
        }
    }))
    .exec(&txn)
    .await?;
    let created = TokenWithPermissions {
        token: model,
        permissions,
    };
    audit::record(
        &txn,
        admin.actor(),
        Entry {
            action: "api_token.create",
            target_type: AUDIT_TARGET,
            target_id: Some(created.token.id),
            organisation_id: Some(admin.organisation_id),
        },
        None,
        audit::snapshot(&created),
    )
    .await?;
    txn.commit().await?;
    Ok((secret, created))
}

/// A page of the organisation's tokens (revoked ones too), newest first,
/// after `after`; and whether there are more.
pub async fn list(
    app: &App,
    admin: &Allowed<TokenAdmin>,
    limit: u64,
    after: Option<Uuid>,
) -> ApiResult<(Vec<TokenWithPermissions>, bool)> {
    let mut query = api_token::Entity::find()
        .filter(api_token::Column::OrganisationId.eq(admin.organisation_id))
        .order_by_desc(api_token::Column::Id);
    if let Some(after) = after {
        query = query.filter(api_token::Column::Id.lt(after));
    }
    let mut rows = query.limit(limit + 1).all(&app.db).await?;
    let has_next = rows.len() as u64 > limit;
    rows.truncate(limit as usize);
    let ids: Vec<Uuid> = rows.iter().map(|t| t.id).collect();
    let mut permissions = permissions_of(&app.db, &ids).await?;
    Ok((
        rows.into_iter()
            .map(|token| TokenWithPermissions {
                permissions: permissions.remove(&token.id).unwrap_or_default(),
                token,
            })
            .collect(),
        has_next,
    ))
}

/// Revokes a token: it stops working at once. Revoking a revoked token is a
/// `CONFLICT`; a token of another organisation is `NOT_FOUND`.
pub async fn revoke(
    app: &App,
    admin: &Allowed<TokenAdmin>,
    id: Uuid,
) -> ApiResult<TokenWithPermissions> {
    let txn = platform::db::begin_write(&app.db).await?;
    let token = api_token::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .filter(|t| admin.sees(t.organisation_id))
        .ok_or(ApiError::NotFound("API token"))?;
    if token.revoked_at.is_some() {
        return Err(ApiError::Conflict(
            "This API token has already been revoked.".to_owned(),
        ));
    }
    let permissions = permissions_of(&txn, &[id])
        .await?
        .remove(&id)
        .unwrap_or_default();
    let before = TokenWithPermissions {
        token: token.clone(),
        permissions: permissions.clone(),
    };
    let mut active = token.into_active_model();
    active.revoked_at = Set(Some(Utc::now()));
    let after = TokenWithPermissions {
        token: active.update(&txn).await?,
        permissions,
    };
    audit::record(
        &txn,
        admin.actor(),
        Entry {
            action: "api_token.revoke",
            target_type: AUDIT_TARGET,
            target_id: Some(id),
            organisation_id: Some(after.token.organisation_id),
        },
        audit::snapshot(&before),
        audit::snapshot(&after),
    )
    .await?;
    txn.commit().await?;
    Ok(after)
}
