//! Who may see and change which user accounts: the one place the rules of
//! organisation user management live.
//!
//! - **Organisation administrators** (landlord users with `MANAGE_USERS`)
//!   manage the landlord users of their own organisation.
//! - **Service administrators** (staff) may do everything an organisation
//!   administrator can, for any organisation (they create organisations and
//!   their lead users, and pick up the pieces when an organisation has locked
//!   itself out).
//! - **Caseworkers** (any staff) may list an organisation's users and do the
//!   support-desk actions the Ombudsman seed sends to the service's support
//!   mailbox: unlock an account, send a password reset, re-send an
//!   invitation, reset a mobile number. Any staff member may restrict a
//!   resident's or landlord user's access under the acceptable-use policy, and
//!   lift it; nobody else can lift it.
//! - **Residents** have no organisation administrator: their support desk
//!   is staff. Staff do the same actions to residents as to landlord users
//!   (caseworkers: re-send invitation, password reset, unlock, mobile reset;
//!   service administrators also suspend, reinstate, deactivate), except
//!   permissions, which residents do not have. Organisation administrators
//!   never see residents.
//! - **Email addresses** ([`UserAction::ChangeEmail`], confirmed at the new
//!   address: [`crate::users::email_change`]): any staff member changes a
//!   resident's (the residents' support desk); a landlord user's is changed
//!   by their organisation's administrator or a service administrator, not
//!   a caseworker (`FORBIDDEN`): moving an account to another mailbox is
//!   the organisation's decision, like inviting someone, not a repair of the
//!   same person's access like a password reset or an unlock.
//! - **Deliveries** ([`UserAction::ViewDeliveries`]: the emails and texts
//!   sent to a user, with what the provider reported): whoever may send
//!   the user a password reset may see them, since "I never got the email"
//!   is the question before a reset: any staff member for residents and
//!   landlord users (the support desk), an organisation administrator for
//!   their own organisation's users.
//! - Everyone else is `FORBIDDEN` (residents, landlord users without
//!   `MANAGE_USERS`, API tokens); nobody signed in is `UNAUTHENTICATED`.
//!
//! Rules on the target, in the order they are checked:
//! 1. A user of another organisation, a deactivated user, a staff account, a
//!    malformed id and a missing id all answer the same `NOT_FOUND`, so ids
//!    cannot be probed.
//! 2. Nobody changes their own account here (`BAD_USER_INPUT` on `id`):
//!    the UC seed forbids managing one's own permissions, and an
//!    administrator who could deactivate or suspend themselves could also
//!    remove the last administrator by mistake.
//! 3. The action must fit the account's state (`CONFLICT`), e.g. only a
//!    suspended account can be reinstated, and a restricted account's email
//!    address cannot be changed (that would free the address for a new
//!    account, like a deactivation).
//!
//!    A **restricted** account stays restricted until staff lift the
//!    restriction: it cannot be suspended, reinstated or deactivated, by the
//!    organisation or by a service administrator (who lifts the restriction
//!    first, as a decision of its own, in the audit log). Deactivation frees
//!    the email address for a new invitation, so allowing it would let an
//!    organisation administrator undo the restriction by closing the account
//!    and inviting the person again. For the same reason the 90-day sweep
//!    leaves restricted accounts alone, and inviting an address whose account
//!    is restricted is refused with its own reason
//!    ([`crate::users::accounts::check_email_usable`]).
//! 4. The last active user with `MANAGE_USERS` in an organisation cannot
//!    lose that permission, be suspended or be deactivated (`CONFLICT`).
//!    Restriction by staff is exempt: the acceptable-use policy must be
//!    enforceable against anyone, and staff can then help the organisation.
//!
//! Changes that could remove an administrator lock the organisation's row
//! first (`SELECT … FOR UPDATE` on PostgreSQL; SQLite write transactions are
//! serialised by `BEGIN IMMEDIATE`), so two administrators deactivating each
//! other at the same moment cannot both succeed and leave nobody in charge.

use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QuerySelect,
    RelationTrait, sea_query::JoinType,
};
use uuid::Uuid;

use entities::{Permission, StaffRole, UserKind, UserStatus, organisation, user, user_permission};

use super::{Allowed, Caller};
use crate::{
    auth::Viewer,
    error::{ApiError, ApiResult},
};

/// Something done through user management.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserAction {
    /// List an organisation's users or read one.
    View,
    /// Invite a new user.
    Invite,
    /// Send a new invitation link to a user who has not set a password.
    ResendInvitation,
    /// Replace a user's permissions.
    UpdatePermissions,
    /// Clear a user's mobile number; they enter a new one at next sign-in.
    ResetMobileNumber,
    /// Email a user a password-reset link.
    SendPasswordReset,
    /// Clear a lock-out after too many wrong passwords.
    Unlock,
    /// Switch an account off, reversibly.
    Suspend,
    /// Switch a suspended account back on.
    Reinstate,
    /// Close an account for good.
    Deactivate,
    /// Staff: restrict access under the acceptable-use policy.
    Restrict,
    /// Staff: lift a restriction.
    LiftRestriction,
    /// Ask to move an account to a new email address (confirmed by a link
    /// sent to it).
    ChangeEmail,
    /// Read the recent emails and texts sent to a user, with their delivery
    /// state (never their contents).
    ViewDeliveries,
}

impl UserAction {
    /// The audit-log action name.
    pub fn audit_name(self) -> &'static str {
        match self {
            Self::View => "user.view",
            Self::Invite => "user.invite",
            Self::ResendInvitation => "user.resend_invitation",
            Self::UpdatePermissions => "user.update_permissions",
            Self::ResetMobileNumber => "user.reset_mobile_number",
            Self::SendPasswordReset => "user.send_password_reset",
            Self::Unlock => "user.unlock",
            Self::Suspend => "user.suspend",
            Self::Reinstate => "user.reinstate",
            Self::Deactivate => "user.deactivate",
            Self::Restrict => "user.restrict",
            Self::LiftRestriction => "user.lift_restriction",
            Self::ChangeEmail => "user.email_change_requested",
            Self::ViewDeliveries => "user.view_deliveries",
        }
    }

    /// Staff actions under the acceptable-use policy, not organisation user
    /// management.
    fn is_restriction(self) -> bool {
        matches!(self, Self::Restrict | Self::LiftRestriction)
    }

    /// Whether staff may do this to a resident's account: the support desk's
    /// actions and the account's state, not permissions (residents have
    /// none) nor the organisation user list.
    fn applies_to_residents(self) -> bool {
        !matches!(self, Self::View | Self::Invite | Self::UpdatePermissions)
    }

    /// Whether a staff member with `role` may do this (to any organisation).
    fn staff_may(self, role: Option<StaffRole>) -> bool {
        match self {
            Self::View
            | Self::ResendInvitation
            | Self::ResetMobileNumber
            | Self::SendPasswordReset
            | Self::ViewDeliveries
            | Self::Unlock
            | Self::Restrict
            | Self::LiftRestriction
            // Caseworkers only for residents: see [`Manager::may_act_on`].
            | Self::ChangeEmail => true,
            Self::Invite
            | Self::UpdatePermissions
            | Self::Suspend
            | Self::Reinstate
            | Self::Deactivate => role == Some(StaffRole::ServiceAdmin),
        }
    }

    /// Whether the action can leave an organisation without an active
    /// administrator.
    fn can_remove_manager(self) -> bool {
        matches!(
            self,
            Self::UpdatePermissions | Self::Suspend | Self::Deactivate
        )
    }
}

/// Whose users a manager may act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The landlord users of one organisation (an organisation administrator).
    Organisation(Uuid),
    /// Any organisation's users, and residents (staff).
    Service,
}

/// Someone who may do `action` to users in `scope`. The user services take
/// an `Allowed<Manager>`, which only [`can_manage`] makes.
#[derive(Debug, Clone)]
pub struct Manager {
    /// The acting user.
    pub user_id: Uuid,
    /// Whose users they may act on.
    pub scope: Scope,
    /// What they are doing.
    pub action: UserAction,
    /// The acting staff member's role (`None` for an organisation
    /// administrator), for the rules that depend on the target too.
    pub staff_role: Option<StaffRole>,
}

/// Checks that the caller may do `action` at all.
pub fn can_manage(caller: &Caller<'_>, action: UserAction) -> ApiResult<Allowed<Manager>> {
    let user = match caller.viewer {
        Viewer::Anonymous => return Err(ApiError::Unauthenticated),
        Viewer::ApiToken(_) => return Err(ApiError::Forbidden),
        Viewer::Enrolling(_) => return Err(ApiError::TwoFactorSetupRequired),
        Viewer::User(user) => user,
    };
    let scope = match user.kind {
        UserKind::Staff if action.staff_may(user.staff_role) => Scope::Service,
        UserKind::Landlord
            if !action.is_restriction() && user.permissions.contains(&Permission::ManageUsers) =>
        {
            Scope::Organisation(user.organisation_id.ok_or(ApiError::Forbidden)?)
        }
        _ => return Err(ApiError::Forbidden),
    };
    let manager = Manager {
        user_id: user.id,
        scope,
        action,
        staff_role: user.staff_role,
    };
    Ok(Allowed::grant(caller, manager))
}

/// The single `NOT_FOUND` every invisible user answers with.
fn not_found() -> ApiError {
    ApiError::NotFound("User")
}

impl Manager {
    /// The organisation a list or an invitation is for. Organisation
    /// administrators may leave it out (it is their own) and asking for
    /// another answers `NOT_FOUND`; staff must name it (`field`).
    pub fn organisation(&self, requested: Option<Uuid>, field: &str) -> ApiResult<Uuid> {
        match (self.scope, requested) {
            (Scope::Organisation(own), None) => Ok(own),
            (Scope::Organisation(own), Some(id)) if id == own => Ok(own),
            (Scope::Organisation(_), Some(_)) => Err(ApiError::NotFound("Organisation")),
            (Scope::Service, Some(id)) => Ok(id),
            (Scope::Service, None) => Err(ApiError::bad_input(
                field,
                "Say which organisation: staff manage the users of every organisation.",
            )),
        }
    }

    /// Whether `target` is someone this manager may see at all.
    fn sees(&self, target: &user::Model) -> bool {
        if target.status == UserStatus::Deactivated {
            return false;
        }
        match (self.scope, target.kind) {
            (Scope::Service, UserKind::Landlord) => true,
            (Scope::Service, UserKind::Resident) => self.action.applies_to_residents(),
            (Scope::Organisation(org), UserKind::Landlord) => target.organisation_id == Some(org),
            // Residents belong to no organisation; staff accounts are managed
            // in `crate::policy::staff`.
            _ => false,
        }
    }

    /// Whether this manager may do their action to `target`, whom they can
    /// see: the one rule that depends on both the staff role and the
    /// target's kind. A caseworker changes a resident's email address, not a
    /// landlord user's (module docs).
    fn may_act_on(&self, target: &user::Model) -> bool {
        match (self.scope, self.action, target.kind) {
            (Scope::Service, UserAction::ChangeEmail, UserKind::Landlord) => {
                self.staff_role == Some(StaffRole::ServiceAdmin)
            }
            _ => true,
        }
    }

    /// A user this manager may see, for reading. `NOT_FOUND` otherwise.
    pub async fn visible(&self, conn: &impl ConnectionTrait, id: Uuid) -> ApiResult<user::Model> {
        user::Entity::find_by_id(id)
            .one(conn)
            .await?
            .filter(|u| self.sees(u))
            .ok_or_else(not_found)
    }

    /// The user this manager's action is about, after every rule of the
    /// module docs (except the permission-specific one: see
    /// [`Self::target_for_permissions`]). Call inside the write transaction:
    /// it locks the target's organisation when the action could remove an
    /// administrator.
    pub async fn target(&self, conn: &impl ConnectionTrait, id: Uuid) -> ApiResult<user::Model> {
        let mut target = self.visible(conn, id).await?;
        if let Some(org) = target.organisation_id
            && self.action.can_remove_manager()
        {
            organisation::Entity::find_by_id(org)
                .lock_exclusive()
                .one(conn)
                .await?;
            // Read again under the lock: a concurrent change may have
            // committed while we waited.
            target = self.visible(conn, id).await?;
        }
        // The target is one they can see (staff see every landlord user), so
        // `FORBIDDEN` reveals nothing.
        if !self.may_act_on(&target) {
            return Err(ApiError::Forbidden);
        }
        if target.id == self.user_id {
            return Err(ApiError::bad_input(
                "id",
                "You cannot change your own account here. Ask another person who can manage users.",
            ));
        }
        check_state(self.action, self.scope, &target)?;
        if matches!(self.action, UserAction::Suspend | UserAction::Deactivate) {
            ensure_another_manager(conn, &target).await?;
        }
        Ok(target)
    }

    /// [`Self::target`] for replacing a user's permissions with `new`: also
    /// refuses to take `MANAGE_USERS` from the organisation's last active
    /// administrator.
    pub async fn target_for_permissions(
        &self,
        conn: &impl ConnectionTrait,
        id: Uuid,
        new: &[Permission],
    ) -> ApiResult<user::Model> {
        let target = self.target(conn, id).await?;
        if !new.contains(&Permission::ManageUsers) {
            ensure_another_manager(conn, &target).await?;
        }
        Ok(target)
    }
}

/// Whether `action`, by a manager of `scope`, fits the state of `target`'s
/// account.
fn check_state(action: UserAction, scope: Scope, target: &user::Model) -> ApiResult<()> {
    let conflict = |message: &str| Err(ApiError::Conflict(message.to_owned()));
    let status = target.status;
    match action {
        UserAction::ResendInvitation if target.password_hash.is_some() => conflict(
            "This user has already accepted their invitation. Send them a password reset instead.",
        ),
        UserAction::SendPasswordReset if target.password_hash.is_none() => conflict(
            "This user has not accepted their invitation yet. Send the invitation again instead.",
        ),
        UserAction::ResendInvitation | UserAction::SendPasswordReset
            if status != UserStatus::Active =>
        {
            conflict(
                "This account is suspended or restricted, so it cannot sign in. Reinstate it first.",
            )
        }
        UserAction::Suspend if status == UserStatus::Suspended => {
            conflict("This account is already suspended.")
        }
        UserAction::Suspend if status == UserStatus::Restricted => conflict(
            "This account's access has been restricted by the service, so it cannot sign in already.",
        ),
        UserAction::Reinstate if status == UserStatus::Restricted => conflict(
            "This account's access has been restricted by the service. Only the service can lift the restriction.",
        ),
        UserAction::Reinstate if status != UserStatus::Suspended => {
            conflict("Only a suspended account can be reinstated; this one is active.")
        }
        UserAction::Deactivate if status == UserStatus::Restricted => match scope {
            Scope::Organisation(_) => conflict(
                "This account's access has been restricted by the service, so it cannot be \
                 deactivated. Only the service can lift the restriction.",
            ),
            Scope::Service => conflict(
                "This account's access is restricted. Lift the restriction first: once an \
                 account is deactivated its email address can be invited again.",
            ),
        },
        UserAction::Restrict if status == UserStatus::Restricted => {
            conflict("This account's access is already restricted.")
        }
        UserAction::LiftRestriction if status != UserStatus::Restricted => {
            conflict("This account's access is not restricted.")
        }
        UserAction::ChangeEmail if status == UserStatus::Restricted => conflict(
            "This account's access has been restricted by the service, so its email address \
             cannot be changed: that would free the address for a new account.",
        ),
        _ => Ok(()),
    }
}

/// Refuses when `target` is the last active user with `MANAGE_USERS` in
/// their organisation (and so about to leave it with nobody to manage users).
async fn ensure_another_manager(
    conn: &impl ConnectionTrait,
    target: &user::Model,
) -> ApiResult<()> {
    let Some(org) = target.organisation_id else {
        return Ok(());
    };
    if target.status != UserStatus::Active {
        return Ok(());
    }
    let managers = |exclude: Option<Uuid>| {
        let mut query = user_permission::Entity::find()
            .join(JoinType::InnerJoin, user_permission::Relation::User.def())
            .filter(user_permission::Column::Permission.eq(Permission::ManageUsers))
            .filter(user::Column::OrganisationId.eq(org))
            .filter(user::Column::Status.eq(UserStatus::Active));
        if let Some(id) = exclude {
            query = query.filter(user::Column::Id.ne(id));
        }
        query
    };
    let target_manages = managers(None)
        .filter(user::Column::Id.eq(target.id))
        .count(conn)
        .await?
        > 0;
    if target_manages && managers(Some(target.id)).count(conn).await? == 0 {
        return Err(ApiError::Conflict(
            "This is the only active user who can manage users in this organisation. \
             Give someone else the Manage users permission first."
                .to_owned(),
        ));
    }
    Ok(())
}

/// Inviting a resident (also while adding them to a case): any staff
/// member; everyone else signed in is `FORBIDDEN`.
pub fn can_invite_resident(caller: &Caller<'_>) -> ApiResult<Allowed<super::Staff>> {
    super::staff(caller)
}

/// The residents a caller may find (to add them to a case): staff see every
/// resident who is not deactivated; everyone else signed in is `FORBIDDEN`.
pub fn visible_residents(caller: &Caller<'_>) -> ApiResult<Condition> {
    super::staff(caller)?;
    Ok(Condition::all()
        .add(user::Column::Kind.eq(UserKind::Resident))
        .add(user::Column::Status.ne(UserStatus::Deactivated)))
}

/// Whether the caller may see `target` as a `UserAccount` in user
/// management (its email, mobile number, permissions): what the links to a
/// landlord user from other objects (`HousingCostUpdate.uploadedBy`,
/// `PaymentArrangement.appliedBy`, …) answer with. The same rule as
/// [`UserAction::View`]: the organisation's administrators for their own
/// users, staff for every landlord user; never deactivated users, residents
/// or staff accounts. Everyone else reads such a link as null.
pub fn may_view(caller: &Caller<'_>, target: &user::Model) -> bool {
    can_manage(caller, UserAction::View).is_ok_and(|manager| manager.sees(target))
}

/// Whether the caller may see the resident `target` as a `ResidentAccount`
/// (email, mobile number, account state): the rule of
/// [`visible_residents`], staff only. What a case party's `resident` link
/// answers with; everyone else reads it as null.
pub fn may_view_resident(caller: &Caller<'_>, target: &user::Model) -> bool {
    visible_residents(caller).is_ok()
        && target.kind == UserKind::Resident
        && target.status != UserStatus::Deactivated
}
