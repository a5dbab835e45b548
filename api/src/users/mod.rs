//! Organisation user management, organisations, organisation API tokens and
//! the audit log: the services behind `graphql::{users, organisations,
//! api_tokens, audit}`.
//!
//! Every change here follows the same shape, so that a rejected request
//! changes nothing and an accepted one leaves a complete record:
//!
//! 1. the resolver asks the policy (`crate::policy::*`) for a capability
//!    (e.g. [`crate::policy::users::Manager`]); the services take it as an
//!    argument, so they cannot be called without the policy having run;
//! 2. the input is validated ([`validate`]) and every problem is collected,
//!    so a form can show them all at once ([`Rejection`]);
//! 3. one write transaction ([`platform::db::begin_write`]) holds the change,
//!    the emails it causes (queued through the outbox, so sent only if it
//!    commits) and its audit entry.
//!
//! - [`accounts`]: list, invite and change the users of an organisation.
//! - [`organisations`]: staff create organisations and change their domains.
//! - [`api_tokens`]: partner dashboards' tokens, created and revoked by
//!   organisation administrators.
//! - [`audit_log`]: reading the append-only audit log.
//! - [`email_change`]: a user's email address changed for them, confirmed
//!   by a link sent to the new address.
//! - [`residents`]: staff invite residents and find them to add to cases.
//! - [`staff`]: the first service administrator, from the command line.

pub mod accounts;
pub mod api_tokens;
pub mod audit_log;
pub mod email_change;
pub mod organisations;
pub mod residents;
pub mod staff;
pub mod validate;

use std::collections::HashMap;

use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};
use serde::Serialize;
use uuid::Uuid;

use entities::{Permission, user, user_permission};

use crate::error::ApiError;

/// A request refused with one or more errors. Input validation reports every
/// field at fault (one `BAD_USER_INPUT` error per field, each with all its
/// reasons); any other refusal is a single error.
#[derive(Debug)]
pub struct Rejection(pub Vec<ApiError>);

impl From<ApiError> for Rejection {
    fn from(e: ApiError) -> Self {
        Self(vec![e])
    }
}

impl From<DbErr> for Rejection {
    fn from(e: DbErr) -> Self {
        Self(vec![e.into()])
    }
}

/// A user account together with its permissions, as user management shows it.
#[derive(Debug, Clone)]
pub struct ManagedUser {
    /// The account.
    pub user: user::Model,
    /// Its permissions, in the order of [`Permission::ALL`].
    pub permissions: Vec<Permission>,
}

/// What the audit log keeps of a user: the account (secrets are skipped by
/// the entity's serde attributes) and its permissions.
#[derive(Serialize)]
struct UserSnapshot<'a> {
    #[serde(flatten)]
    user: &'a user::Model,
    permissions: &'a [Permission],
}

impl ManagedUser {
    /// The `before`/`after` snapshot of this user for the audit log.
    pub fn snapshot(&self) -> Option<serde_json::Value> {
        crate::audit::snapshot(&UserSnapshot {
            user: &self.user,
            permissions: &self.permissions,
        })
    }
}

/// Sorts permissions into their declaration order and drops repeats, so that
/// lists, comparisons and audit snapshots are stable.
pub fn normalize_permissions(permissions: impl IntoIterator<Item = Permission>) -> Vec<Permission> {
    let given: Vec<Permission> = permissions.into_iter().collect();
    Permission::ALL
        .iter()
        .copied()
        .filter(|p| given.contains(p))
        .collect()
}

/// The permissions of every user in `ids`, in one query (a page of users
/// costs one statement for all their permissions, whatever its size).
pub async fn permissions_of(
    conn: &impl ConnectionTrait,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, Vec<Permission>>, DbErr> {
    let mut map: HashMap<Uuid, Vec<Permission>> = ids.iter().map(|id| (*id, Vec::new())).collect();
    if ids.is_empty() {
        return Ok(map);
    }
    let rows = user_permission::Entity::find()
        .filter(user_permission::Column::UserId.is_in(ids.iter().copied()))
        .all(conn)
        .await?;
    for row in rows {
        map.entry(row.user_id).or_default().push(row.permission);
    }
    for permissions in map.values_mut() {
        *permissions = normalize_permissions(permissions.drain(..));
    }
    Ok(map)
}

/// Loads the permissions of one user.
pub async fn with_permissions(
    conn: &impl ConnectionTrait,
    user: user::Model,
) -> Result<ManagedUser, DbErr> {
    let permissions = permissions_of(conn, &[user.id])
        .await?
        .remove(&user.id)
        .unwrap_or_default();
    Ok(ManagedUser { user, permissions })
}

/// Who a new invited account is for: the fields that differ between a
/// landlord user, a resident and a staff member.
#[derive(Debug, Clone, Default)]
pub(crate) struct NewAccount {
    /// Resident, landlord user or staff.
    pub kind: Option<entities::UserKind>,
    /// A landlord user's organisation.
    pub organisation_id: Option<Uuid>,
    /// First name, checked.
    pub first_name: String,
    /// Last name, checked.
    pub last_name: String,
    /// Email address as typed, checked.
    pub email: String,
    /// Its normalised form.
    pub email_normalized: String,
    /// A UK mobile (E.164), checked.
    pub mobile_number: Option<String>,
    /// A resident's postal address.
    pub address: Option<String>,
    /// Staff: team.
    pub staff_team: Option<String>,
    /// Staff: what they may do.
    pub staff_role: Option<entities::StaffRole>,
    /// Staff: the case-handling role label.
    pub staff_role_label: Option<String>,
}

impl NewAccount {
    /// The row of an invited account: active, no password yet, invited `now`.
    pub(crate) fn into_row(self, now: chrono::DateTime<chrono::Utc>) -> user::ActiveModel {
        use sea_orm::Set;
        user::ActiveModel {
            id: Set(Uuid::now_v7()),
            kind: Set(self.kind.unwrap_or(entities::UserKind::Landlord)),
            organisation_id: Set(self.organisation_id),
            first_name: Set(self.first_name),
            last_name: Set(self.last_name),
            email: Set(self.email),
            email_normalized: Set(self.email_normalized),
            password_hash: Set(None),
            status: Set(entities::UserStatus::Active),
            mobile_number: Set(self.mobile_number),
            mobile_reset_pending: Set(false),
            two_factor_method: Set(entities::TwoFactorMethod::None),
            totp_secret: Set(None),
            totp_last_step: Set(None),
            two_factor_declined_at: Set(None),
            address: Set(self.address),
            staff_team: Set(self.staff_team),
            staff_role: Set(self.staff_role),
            staff_role_label: Set(self.staff_role_label),
            failed_login_attempts: Set(0),
            locked_until: Set(None),
            last_login_at: Set(None),
            invited_at: Set(Some(now)),
            password_changed_at: Set(None),
            inactivity_warned_at: Set(None),
            deactivated_at: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
        }
    }
}
