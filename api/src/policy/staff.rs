//! Who may manage staff accounts: service administrators only.
//!
//! Caseworkers, landlord users, residents and API tokens are `FORBIDDEN`;
//! nobody signed in is `UNAUTHENTICATED`. On the target, in the order checked:
//! 1. a missing id, a malformed id, a deactivated account and any account
//!    that is not staff answer the same `NOT_FOUND`;
//! 2. nobody changes their own account here (`BAD_USER_INPUT` on `id`: a
//!    service administrator who could suspend or demote themselves could
//!    leave the service without one);
//! 3. the change must fit the account's state (`CONFLICT`);
//! 4. the last active service administrator cannot be suspended,
//!    deactivated or made a caseworker (`CONFLICT`).

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};
use uuid::Uuid;

use entities::{StaffRole, UserKind, UserStatus, user};

use super::{Allowed, Caller, Staff};
use crate::{
    auth::Viewer,
    error::{ApiError, ApiResult},
};

/// Managing staff accounts: service administrators.
pub fn can_manage(caller: &Caller<'_>) -> ApiResult<Allowed<Staff>> {
    match caller.viewer {
        Viewer::Anonymous => Err(ApiError::Unauthenticated),
        Viewer::User(u) if caller.viewer.is_staff(Some(StaffRole::ServiceAdmin)) => {
            Ok(Allowed::grant(caller, Staff { user_id: u.id }))
        }
        _ => Err(ApiError::Forbidden),
    }
}

/// One staff account a service administrator may see (not deactivated);
/// `NOT_FOUND` otherwise.
pub async fn find_visible(
    conn: &impl ConnectionTrait,
    _admin: &Allowed<Staff>,
    id: Uuid,
) -> ApiResult<user::Model> {
    user::Entity::find_by_id(id)
        .filter(user::Column::Kind.eq(UserKind::Staff))
        .filter(user::Column::Status.ne(UserStatus::Deactivated))
        .one(conn)
        .await?
        .ok_or(ApiError::NotFound("Staff member"))
}

/// The staff account a service administrator changes: visible, and not
/// their own.
pub async fn find_managed(
    conn: &impl ConnectionTrait,
    admin: &Allowed<Staff>,
    id: Uuid,
) -> ApiResult<user::Model> {
    let target = find_visible(conn, admin, id).await?;
    if target.id == admin.user_id {
        return Err(ApiError::bad_input(
            "id",
            "You cannot change your own account here. Ask another service administrator.",
        ));
    }
    Ok(target)
}

/// Refuses when `target` is the last active service administrator, who is
/// about to stop being one (suspended, deactivated or made a caseworker).
pub async fn ensure_another_service_admin(
    conn: &impl ConnectionTrait,
    target: &user::Model,
) -> ApiResult<()> {
    if target.staff_role != Some(StaffRole::ServiceAdmin) || target.status != UserStatus::Active {
        return Ok(());
    }
    // Locks every active service administrator's row (PostgreSQL; SQLite write
    // transactions are serialised), so two administrators demoting each other
    // at once cannot both succeed.
    let admins = user::Entity::find()
        .filter(user::Column::Kind.eq(UserKind::Staff))
        .filter(user::Column::StaffRole.eq(StaffRole::ServiceAdmin))
        .filter(user::Column::Status.eq(UserStatus::Active))
        .lock_exclusive()
        .all(conn)
        .await?;
    if admins.iter().all(|a| a.id == target.id) {
        return Err(ApiError::Conflict(
            "This is the only active service administrator. Make someone else a service \
             administrator first."
                .into(),
        ));
    }
    Ok(())
}
