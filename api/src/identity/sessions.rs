//! A user's own sessions: list them, end one, sign out, and end them in bulk
//! when the password changes.
//!
//! Sessions are created by [`crate::auth::session::create`] when a sign-in
//! completes, and expire on their own (idle and absolute limits, see
//! [`crate::auth::session`]). Ending a session sets `revoked_at`; its token
//! then answers `UNAUTHENTICATED` like any unknown token.

use chrono::Utc;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, sea_query::Expr,
};
use serde_json::json;
use uuid::Uuid;

use entities::{UserStatus, session, user};

use crate::{
    app::App,
    audit::{self, Actor, Entry},
    auth::AuthUser,
    error::{ApiError, ApiResult},
    policy::{self, Caller},
};

/// The user's live sessions (not ended, not expired), newest first.
pub async fn list(app: &App, caller: &Caller<'_>) -> ApiResult<Vec<session::Model>> {
    let auth = caller.user()?;
    let now = Utc::now();
    let rows = session::Entity::find()
        .filter(session::Column::UserId.eq(auth.id))
        .filter(session::Column::RevokedAt.is_null())
        .filter(session::Column::IdleExpiresAt.gt(now))
        .filter(session::Column::AbsoluteExpiresAt.gt(now))
        .order_by_desc(session::Column::CreatedAt)
        .order_by_desc(session::Column::Id)
        .all(&app.db)
        .await?;
    rows.iter()
        .try_for_each(|s| policy::identity::can_manage_session(auth, s))?;
    Ok(rows)
}

/// Ends one of the viewer's live sessions (possibly the current one). Someone
/// else's session, an ended one and an unknown id all answer `NOT_FOUND`.
pub async fn revoke(app: &App, caller: &Caller<'_>, session_id: Uuid) -> ApiResult<()> {
    let (conn, viewer, actor) = (&app.db, caller.user()?, &caller.actor);
    let now = Utc::now();
    let found = session::Entity::find_by_id(session_id)
        .filter(session::Column::RevokedAt.is_null())
        .filter(session::Column::AbsoluteExpiresAt.gt(now))
        .one(conn)
        .await?
        .ok_or(ApiError::NotFound("Session"))?;
    policy::identity::can_manage_session(viewer, &found)?;
    end(conn, viewer, actor, found.id, "session.revoked").await
}

/// Signs out: ends the session the request came with.
pub async fn logout(app: &App, caller: &Caller<'_>) -> ApiResult<()> {
    let viewer = caller.user()?;
    end(
        &app.db,
        viewer,
        &caller.actor,
        viewer.session_id,
        "session.logout",
    )
    .await
}

async fn end(
    conn: &impl ConnectionTrait,
    viewer: &AuthUser,
    actor: &Actor,
    session_id: Uuid,
    action: &str,
) -> ApiResult<()> {
    session::Entity::update_many()
        .col_expr(session::Column::RevokedAt, Expr::value(Some(Utc::now())))
        .filter(session::Column::Id.eq(session_id))
        .filter(session::Column::UserId.eq(viewer.id))
        .filter(session::Column::RevokedAt.is_null())
        .exec(conn)
        .await?;
    audit::record(
        conn,
        actor,
        Entry {
            action,
            target_type: "session",
            target_id: Some(session_id),
            organisation_id: viewer.organisation_id,
        },
        None,
        None,
    )
    .await
}

/// Ends every live session of `user` except `keep` (the caller's own, when
/// changing the password). Returns how many were ended.
pub async fn end_all(
    conn: &impl ConnectionTrait,
    user: &user::Model,
    keep: Option<Uuid>,
) -> ApiResult<u64> {
    let mut update = session::Entity::update_many()
        .col_expr(session::Column::RevokedAt, Expr::value(Some(Utc::now())))
        .filter(session::Column::UserId.eq(user.id))
        .filter(session::Column::RevokedAt.is_null());
    if let Some(keep) = keep {
        update = update.filter(session::Column::Id.ne(keep));
    }
    Ok(update.exec(conn).await?.rows_affected)
}

/// The audit `after` of a bulk end.
pub fn ended(count: u64) -> serde_json::Value {
    json!({ "sessions_ended": count })
}

/// Whether `session` is still one a request could be made with: not revoked,
/// not past its absolute expiry, its user active. The idle expiry is not
/// applied: an open subscription is the client still being there. A database
/// error counts as live (the event checks that follow fail closed anyway).
pub async fn is_live(app: &App, session: Option<Uuid>) -> bool {
    let Some(id) = session else {
        return false;
    };
    let found = session::Entity::find_by_id(id)
        .find_also_related(user::Entity)
        .filter(session::Column::RevokedAt.is_null())
        .filter(session::Column::AbsoluteExpiresAt.gt(Utc::now()))
        .filter(user::Column::Status.eq(UserStatus::Active))
        .one(&app.db)
        .await;
    match found {
        Ok(found) => found.is_some(),
        Err(e) => {
            tracing::warn!(error = %e, "cannot check a subscriber's session");
            true
        }
    }
}
