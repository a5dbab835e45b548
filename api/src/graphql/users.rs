//! Organisation user management: list an organisation's users, invite new
//! ones, change permissions, reset a mobile number, send a password reset,
//! unlock, suspend, reinstate, deactivate; and the staff restriction of a
//! user's access.
//!
//! Every resolver asks [`policy::users::can_manage`] first and passes the
//! capability it returns to the service in [`crate::users::accounts`], which asks the same
//! policy for the target inside its transaction. A page of users costs three
//! statements whatever its size (the organisation, its users, then all their
//! permissions in one query), so no DataLoader is needed for permissions.

use async_graphql::{ComplexObject, Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{
    ContextExt,
    cases::SortDirection,
    enums::{Permission, TwoFactorMethod, UserKind, UserStatus},
    loaders::ManagedUserKey,
    organisations::{Organisation, organisation_link},
    pagination::{Counted, counted_keyset_connection, decode_cursor, page_size},
    scalars::{NodeKind, global_id, organisation_arg, parse_id},
};
use crate::{
    policy::{self, users::UserAction},
    users::{
        ManagedUser,
        accounts::{self, Change, InviteInput, UserSort as Sort, UserSortField as SortField},
    },
};

/// A user account as the people who manage it see it.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct UserAccount {
    /// User id.
    #[graphql(owned)]
    pub id: ID,
    /// Landlord user, or resident (whose support desk is staff).
    pub kind: UserKind,
    /// The organisation of a landlord user (see the `organisation` field).
    #[graphql(skip)]
    pub organisation_id: Option<Uuid>,
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// Email address (the username).
    pub email: String,
    /// Mobile number for SMS codes (E.164), if set.
    pub mobile_number: Option<String>,
    /// What the user may do in their organisation.
    pub permissions: Vec<Permission>,
    /// How the user receives sign-in codes.
    pub two_factor_method: TwoFactorMethod,
    /// Last successful sign-in.
    pub last_login_at: Option<DateTime<Utc>>,
    /// The mobile number was reset: the user enters a new one at next sign-in.
    pub mobile_reset_pending: bool,
    /// Active, suspended, restricted (or, in the answer to `deactivateUser`,
    /// deactivated).
    pub status: UserStatus,
    /// Locked out after too many wrong passwords until this time.
    pub locked_until: Option<DateTime<Utc>>,
    /// Whether the account is locked out now.
    pub is_locked: bool,
    /// Invited, but no password set yet (the invitation can be re-sent).
    pub invitation_pending: bool,
    /// When the latest invitation was sent.
    pub invited_at: Option<DateTime<Utc>>,
    /// When the account was created.
    pub created_at: DateTime<Utc>,
}

impl From<ManagedUser> for UserAccount {
    fn from(m: ManagedUser) -> Self {
        let u = m.user;
        Self {
            id: global_id(NodeKind::User, u.id),
            kind: u.kind.into(),
            organisation_id: u.organisation_id,
            first_name: u.first_name,
            last_name: u.last_name,
            email: u.email,
            mobile_number: u.mobile_number,
            permissions: m.permissions.into_iter().map(Into::into).collect(),
            two_factor_method: u.two_factor_method.into(),
            last_login_at: u.last_login_at,
            mobile_reset_pending: u.mobile_reset_pending,
            status: u.status.into(),
            locked_until: u.locked_until,
            is_locked: u.locked_until.is_some_and(|t| t > Utc::now()),
            invitation_pending: u.password_hash.is_none(),
            invited_at: u.invited_at,
            created_at: u.created_at,
        }
    }
}

#[ComplexObject]
impl UserAccount {
    /// The organisation of a landlord user (none for a resident), through
    /// the request's loader.
    async fn organisation(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Organisation>> {
        let Some(id) = self.organisation_id else {
            return Ok(None);
        };
        organisation_link(ctx, id).await
    }
}

/// The landlord user `id` as a link from another object (who uploaded,
/// applied, answered, requested, created), through the request's loader:
/// null when the caller may not see the account in user management
/// (`policy::users::may_view`: only the organisation's administrators and
/// staff do, and nobody sees a deactivated account, a resident's or a staff
/// member's as a `UserAccount`).
pub async fn user_link(ctx: &Context<'_>, id: Uuid) -> async_graphql::Result<Option<UserAccount>> {
    let Some(managed) = ctx.load(ManagedUserKey(id)).await? else {
        return Ok(None);
    };
    Ok(policy::users::may_view(&ctx.caller(), &managed.user).then(|| managed.into()))
}

/// Invite someone to the organisation: they get an email with a link, valid
/// 24 hours, to set their password.
#[derive(InputObject)]
pub struct InviteUserInput {
    /// Staff only: the organisation to invite into. Organisation
    /// administrators leave it out (they invite into their own).
    pub organisation_id: Option<ID>,
    /// First name (at most 100 characters).
    pub first_name: String,
    /// Last name (at most 100 characters).
    pub last_name: String,
    /// Email address, at one of the organisation's registered domains.
    pub email: String,
    /// The email address again.
    pub email_confirmation: String,
    /// What the new user may do.
    pub permissions: Vec<Permission>,
}

/// What the organisation's users list is sorted by.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(name = "UserSortField")]
pub enum UserSortFieldInput {
    /// When the account was made (the default: oldest first).
    CreatedAt,
    /// The name, "First Last", any case (the seed's "Name ▲").
    Name,
    /// The email address.
    Email,
}

/// Users list sort; ties are broken by the account's id.
#[derive(InputObject)]
#[graphql(name = "UserSort")]
pub struct UserSortInput {
    /// Sort key.
    pub field: UserSortFieldInput,
    /// Direction (default ascending).
    #[graphql(default)]
    pub direction: SortDirection,
}

/// User-management queries.
#[derive(Default)]
pub struct UsersQuery;

#[Object]
impl UsersQuery {
    /// The users of an organisation who are not deactivated, oldest first
    /// unless `sort` says otherwise (the seed's "Name ▲"), with the total.
    /// Organisation administrators (`MANAGE_USERS`) see their own
    /// organisation (leave `organisationId` out); staff name the organisation.
    /// A cursor stays valid for the sort it was made with.
    #[graphql(complexity = "super::pagination::connection_cost(first, child_complexity)")]
    async fn organisation_users(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "Service administrators: which organisation's users (an organisation's administrators see their own)."
        )]
        organisation_id: Option<ID>,
        #[graphql(desc = "The order (default: oldest first).")] sort: Option<UserSortInput>,
        #[graphql(desc = "How many to return: 1 to 100 (default 20).")] first: Option<i32>,
        #[graphql(desc = "The `endCursor` of the previous page: the page starts after it.")] after: Option<String>,
    ) -> async_graphql::Result<Counted<UserAccount>> {
        let manager = policy::users::can_manage(&ctx.caller(), UserAction::View)?;
        let limit = page_size(first)?;
        let after = after.as_deref().map(decode_cursor).transpose()?;
        let organisation_id = organisation_arg(organisation_id.as_ref())?;
        let sort = sort.map_or_else(Sort::default, |s| Sort {
            field: match s.field {
                UserSortFieldInput::CreatedAt => SortField::CreatedAt,
                UserSortFieldInput::Name => SortField::Name,
                UserSortFieldInput::Email => SortField::Email,
            },
            descending: s.direction == SortDirection::Desc,
        });
        let (users, has_next, total) =
            accounts::list(ctx.app(), &manager, organisation_id, sort, limit, after).await?;
        Ok(counted_keyset_connection(
            users,
            after.is_some(),
            has_next,
            total,
            |u| u.user.id,
            UserAccount::from,
        ))
    }

    /// One user of an organisation the caller manages.
    pub async fn organisation_user(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The user.")] id: ID,
    ) -> async_graphql::Result<UserAccount> {
        let manager = policy::users::can_manage(&ctx.caller(), UserAction::View)?;
        let id = parse_id(&id, NodeKind::User)?;
        Ok(accounts::get(ctx.app(), &manager, id).await?.into())
    }
}

/// Runs one change on one user through the policy and the service.
async fn change(
    ctx: &Context<'_>,
    user_id: &ID,
    change: Change,
) -> async_graphql::Result<UserAccount> {
    let manager = policy::users::can_manage(&ctx.caller(), change.action())?;
    let id = parse_id(user_id, NodeKind::User)?;
    accounts::apply(ctx.app(), &manager, id, change)
        .await
        .map(UserAccount::from)
        .map_err(|r| ctx.reject(r))
}

/// User-management mutations. Nobody can change their own account here;
/// the last active user with `MANAGE_USERS` in an organisation cannot lose
/// it, be suspended or be deactivated. Every change is audited.
#[derive(Default)]
pub struct UsersMutation;

#[Object]
impl UsersMutation {
    /// Invites a new landlord user: creates the account (no password yet)
    /// with the given permissions and emails them a link, valid 24 hours, to
    /// set their password. Every input field at fault is reported.
    async fn invite_user(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Who to invite and with which permissions.")] input: InviteUserInput,
    ) -> async_graphql::Result<UserAccount> {
        let manager = policy::users::can_manage(&ctx.caller(), UserAction::Invite)?;
        let input = InviteInput {
            organisation_id: organisation_arg(input.organisation_id.as_ref())?,
            first_name: input.first_name,
            last_name: input.last_name,
            email: input.email,
            email_confirmation: input.email_confirmation,
            permissions: input.permissions.into_iter().map(Into::into).collect(),
        };
        accounts::invite(ctx.app(), &manager, input)
            .await
            .map(UserAccount::from)
            .map_err(|r| ctx.reject(r))
    }

    /// Sends a new invitation link to a user who has not set a password yet;
    /// earlier links stop working.
    async fn resend_invitation(
        &self,
        ctx: &Context<'_>,
        #[graphql(name = "id", desc = "The invited user (no password set yet).")] user_id: ID,
    ) -> async_graphql::Result<UserAccount> {
        change(ctx, &user_id, Change::ResendInvitation).await
    }

    /// Replaces a user's permissions.
    async fn update_user_permissions(
        &self,
        ctx: &Context<'_>,
        #[graphql(name = "id", desc = "The organisation's user.")] user_id: ID,
        #[graphql(desc = "Every permission the user is to hold (this list replaces the old one).")]
        permissions: Vec<Permission>,
    ) -> async_graphql::Result<UserAccount> {
        let permissions = permissions.into_iter().map(Into::into).collect();
        change(ctx, &user_id, Change::Permissions(permissions)).await
    }

    /// Removes a user's mobile number and ends their sessions: they enter
    /// (and confirm) a new number when they next sign in.
    async fn reset_user_mobile_number(
        &self,
        ctx: &Context<'_>,
        #[graphql(name = "id", desc = "The user whose mobile number is reset.")] user_id: ID,
    ) -> async_graphql::Result<UserAccount> {
        change(ctx, &user_id, Change::ResetMobileNumber).await
    }

    /// Emails a user a password-reset link (valid 1 hour).
    async fn send_password_reset(
        &self,
        ctx: &Context<'_>,
        #[graphql(name = "id", desc = "The user to email a password reset link.")] user_id: ID,
    ) -> async_graphql::Result<UserAccount> {
        change(ctx, &user_id, Change::SendPasswordReset).await
    }

    /// Ends a lock-out after too many wrong passwords ("reactivate" in the
    /// Ombudsman seed).
    async fn unlock_user(
        &self,
        ctx: &Context<'_>,
        #[graphql(name = "id", desc = "The locked-out user.")] user_id: ID,
    ) -> async_graphql::Result<UserAccount> {
        change(ctx, &user_id, Change::Unlock).await
    }

    /// Makes an account inactive (it cannot sign in; its sessions end) until
    /// reinstated.
    async fn suspend_user(
        &self,
        ctx: &Context<'_>,
        #[graphql(name = "id", desc = "The user to suspend.")] user_id: ID,
    ) -> async_graphql::Result<UserAccount> {
        change(ctx, &user_id, Change::Suspend).await
    }

    /// Makes a suspended account active again.
    async fn reinstate_user(
        &self,
        ctx: &Context<'_>,
        #[graphql(name = "id", desc = "The suspended user.")] user_id: ID,
    ) -> async_graphql::Result<UserAccount> {
        change(ctx, &user_id, Change::Reinstate).await
    }

    /// Deactivates an account for good: its sessions end, its email address
    /// and mobile number are free for a new account, it disappears from
    /// lists, and the user is told by email. To bring someone back, invite
    /// them again (a new account).
    async fn deactivate_user(
        &self,
        ctx: &Context<'_>,
        #[graphql(name = "id", desc = "The user to deactivate.")] user_id: ID,
    ) -> async_graphql::Result<UserAccount> {
        change(ctx, &user_id, Change::Deactivate).await
    }

    /// Staff: restricts a resident's or landlord user's access under the
    /// acceptable-use policy (they cannot sign in; their sessions end). The
    /// reason (at most 500 characters) is kept in the audit log.
    async fn restrict_user(
        &self,
        ctx: &Context<'_>,
        #[graphql(name = "id", desc = "The user to restrict.")] user_id: ID,
        #[graphql(desc = "Why (shown to staff), 1 to 500 characters.")] reason: String,
    ) -> async_graphql::Result<UserAccount> {
        change(ctx, &user_id, Change::Restrict(reason)).await
    }

    /// Staff: lifts a restriction; the account is active again.
    async fn lift_restriction(
        &self,
        ctx: &Context<'_>,
        #[graphql(name = "id", desc = "The restricted user.")] user_id: ID,
    ) -> async_graphql::Result<UserAccount> {
        change(ctx, &user_id, Change::LiftRestriction).await
    }
}
