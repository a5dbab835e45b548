//! Resolving a bearer token to a [`Viewer`], and creating sessions.
//!
//! Sessions expire when idle and at an absolute limit; the idle expiry slides
//! forward as the session is used (written at most once a minute, so reads do
//! not turn into writes on every request).

use chrono::{Duration, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter, Set,
    sea_query::Expr,
};
use std::sync::Arc;
use uuid::Uuid;

use entities::{UserStatus, api_token, api_token_permission, session, user, user_permission};

use super::{AuthToken, AuthUser, ClientInfo, Viewer, token};
use crate::error::{ApiError, ApiResult};

/// Idle lifetime of a session.
pub const IDLE: Duration = Duration::minutes(30);
/// Absolute lifetime of a session.
pub const ABSOLUTE: Duration = Duration::hours(12);

/// Resolves an `Authorization` header value (or the WebSocket
/// `connection_init` value), before any operation runs:
///
/// - no header: anonymous;
/// - `Bearer ps_…` naming a live session of an active user: that user
///   ([`Viewer::Enrolling`] for an enrolment-only session);
/// - `Bearer ps_…` naming no live session (unknown, signed out, expired,
///   revoked, or its user suspended, restricted or deactivated): **anonymous**,
///   exactly as if no header had been sent. A client that still holds an old
///   token can sign in, reset its password or accept an invitation; anything
///   that needs a user answers `UNAUTHENTICATED` from its policy, as it does
///   for no header, so the client still learns that its session ended, and
///   `viewer` answers `null`;
/// - `Bearer pat_…`: an organisation API token ([`api_token_viewer`]);
/// - anything else (not `Bearer <token>`, an empty or over-long token, a
///   token of a shape this service never issues): `UNAUTHENTICATED`, since
///   the client is broken rather than holding an old session.
pub async fn authenticate(db: &impl ConnectionTrait, header: Option<&str>) -> ApiResult<Viewer> {
    resolve(db, header, true).await
}

/// [`authenticate`] without counting as use: the session's idle expiry and
/// a token's last use stay as they are. The WebSocket server checks its
/// open connections with this, so an idle socket does not keep a session
/// alive.
pub async fn recheck(db: &impl ConnectionTrait, header: Option<&str>) -> ApiResult<Viewer> {
    resolve(db, header, false).await
}

async fn resolve(
    db: &impl ConnectionTrait,
    header: Option<&str>,
    touch: bool,
) -> ApiResult<Viewer> {
    let Some(header) = header else {
        return Ok(Viewer::Anonymous);
    };
    let Some(bearer) = header
        .strip_prefix("Bearer ")
        .or_else(|| header.strip_prefix("bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty() && t.len() <= 256)
    else {
        return Err(ApiError::Unauthenticated);
    };
    if bearer.starts_with(token::SESSION_PREFIX) {
        return session_viewer(db, bearer, touch).await;
    }
    if bearer.starts_with(token::API_TOKEN_PREFIX) {
        return api_token_viewer(db, bearer, touch).await;
    }
    Err(ApiError::Unauthenticated)
}

/// An organisation API token that is neither revoked nor expired, of a
/// creator who is still an active landlord user of its organisation;
/// anything else is `UNAUTHENTICATED`, like an unknown token. The token acts
/// for its creator: its effective permissions are the intersection of its own
/// and the ones its creator holds now (possibly none: then every operation
/// answers `FORBIDDEN`). Two statements, as before the creator was checked:
/// the token with its creator, then the effective permissions. Like a
/// session's last-seen time, its `last_used_at` is written at most once a
/// minute.
async fn api_token_viewer(
    db: &impl ConnectionTrait,
    bearer: &str,
    touch: bool,
) -> ApiResult<Viewer> {
    let now = Utc::now();
    let Some((found, Some(creator))) = api_token::Entity::find()
        .filter(api_token::Column::TokenHash.eq(token::hash(bearer)))
        .filter(api_token::Column::RevokedAt.is_null())
        .filter(api_token::Column::ExpiresAt.gt(now))
        .find_also_related(user::Entity)
        .one(db)
        .await?
    else {
        return Err(ApiError::Unauthenticated);
    };
    if creator.status != UserStatus::Active
        || creator.kind != entities::UserKind::Landlord
        || creator.organisation_id != Some(found.organisation_id)
    {
        tracing::debug!(api_token = %found.id, "the API token's creator is not active here; refused");
        return Err(ApiError::Unauthenticated);
    }
    let creator_holds = sea_orm::sea_query::Query::select()
        .column(user_permission::Column::Permission)
        .from(user_permission::Entity)
        .and_where(user_permission::Column::UserId.eq(creator.id))
        .to_owned();
    let permissions = api_token_permission::Entity::find()
        .filter(api_token_permission::Column::ApiTokenId.eq(found.id))
        .filter(api_token_permission::Column::Permission.in_subquery(creator_holds))
        .all(db)
        .await?
        .into_iter()
        .map(|p| p.permission)
        // Only payment permissions ever reach a token's viewer, whatever a
        // row says.
        .filter(|p| entities::Permission::API_TOKEN_ALLOWED.contains(p))
        .collect();
    if touch
        && found
            .last_used_at
            .is_none_or(|at| now - at > Duration::minutes(1))
    {
        api_token::Entity::update_many()
            .col_expr(api_token::Column::LastUsedAt, Expr::value(Some(now)))
            .filter(api_token::Column::Id.eq(found.id))
            .exec(db)
            .await?;
    }
    Ok(Viewer::ApiToken(Arc::new(AuthToken {
        id: found.id,
        organisation_id: found.organisation_id,
        permissions,
    })))
}

/// The user of a live session, or anonymous when `bearer` names none (see
/// [`authenticate`]).
async fn session_viewer(db: &impl ConnectionTrait, bearer: &str, touch: bool) -> ApiResult<Viewer> {
    let now = Utc::now();
    // One statement: the session, its user and the user's permissions (a row
    // per permission, or one row with none).
    let rows = session::Entity::find()
        .filter(session::Column::TokenHash.eq(token::hash(bearer)))
        .filter(session::Column::RevokedAt.is_null())
        .filter(session::Column::IdleExpiresAt.gt(now))
        .filter(session::Column::AbsoluteExpiresAt.gt(now))
        .find_also_related(user::Entity)
        .and_also_related(user_permission::Entity)
        .all(db)
        .await?;
    let mut permissions = Vec::with_capacity(rows.len());
    let mut found = None;
    for (session, user, permission) in rows {
        permissions.extend(permission.map(|p| p.permission));
        found.get_or_insert((session, user));
    }
    let Some((session, Some(user))) =
        found.filter(|(_, u)| u.as_ref().is_some_and(|u| u.status == UserStatus::Active))
    else {
        tracing::debug!("no live session for the bearer token; the request is anonymous");
        return Ok(Viewer::Anonymous);
    };
    if touch && now - session.last_seen_at > Duration::minutes(1) {
        let idle = (now + IDLE).min(session.absolute_expires_at);
        let mut active = session.clone().into_active_model();
        active.last_seen_at = Set(now);
        active.idle_expires_at = Set(idle);
        active.update(db).await?;
    }
    let auth = Arc::new(AuthUser {
        id: user.id,
        kind: user.kind,
        organisation_id: user.organisation_id,
        staff_role: user.staff_role,
        permissions,
        session_id: session.id,
    });
    Ok(if session.enrolment_only {
        Viewer::Enrolling(auth)
    } else {
        Viewer::User(auth)
    })
}

/// Starts a session for a user and returns the bearer token (shown once).
pub async fn create(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    client: &ClientInfo,
    enrolment_only: bool,
) -> ApiResult<String> {
    let bearer = token::generate(token::SESSION_PREFIX);
    let now = Utc::now();
    session::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(user_id),
        token_hash: Set(token::hash(&bearer)),
        created_at: Set(now),
        last_seen_at: Set(now),
        idle_expires_at: Set(now + IDLE),
        absolute_expires_at: Set(now + ABSOLUTE),
        revoked_at: Set(None),
        ip_address: Set(client.ip.clone()),
        user_agent: Set(client.user_agent.clone()),
        enrolment_only: Set(enrolment_only),
    }
    .insert(db)
    .await?;
    Ok(bearer)
}
