//! Staff management, for service administrators: list staff, invite
//! caseworkers and service administrators, change their team, role label and
//! role, re-send an invitation, suspend, reinstate and deactivate.
//!
//! Every resolver asks `policy::staff::can_manage` first and passes the
//! capability to `crate::users::staff`, which applies the rules of
//! `policy::staff` on the target inside its transaction.

use async_graphql::{
    Context, ID, InputObject, MaybeUndefined, Object, SimpleObject,
    connection::{Connection, EmptyFields},
};
use chrono::{DateTime, Utc};

use entities::user;

use super::{
    ContextExt,
    enums::{StaffRole, UserStatus},
    pagination::{decode_cursor, keyset_connection, page_size},
    scalars::{NodeKind, global_id, parse_id_named},
};
use crate::{
    policy,
    users::staff::{self, StaffChange, StaffInvite},
};

/// A staff account as service administrators see it.
#[derive(SimpleObject)]
pub struct StaffMember {
    /// User id.
    #[graphql(owned)]
    pub id: ID,
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// Email address (the username).
    pub email: String,
    /// What they may do: caseworker or service administrator.
    pub role: Option<StaffRole>,
    /// Their team, shown with their name as a case owner (e.g. "Management").
    pub team: Option<String>,
    /// Their case-handling role, shown beside their name (e.g. "Case Handler").
    pub role_label: Option<String>,
    /// Active or suspended (in the answer to `deactivateStaffMember`, deactivated).
    pub status: UserStatus,
    /// The invitation has not been accepted yet (no password set).
    pub invitation_pending: bool,
    /// Last successful sign-in.
    pub last_login_at: Option<DateTime<Utc>>,
    /// When the account was created.
    pub created_at: DateTime<Utc>,
}

impl From<user::Model> for StaffMember {
    fn from(u: user::Model) -> Self {
        Self {
            id: global_id(NodeKind::User, u.id),
            first_name: u.first_name,
            last_name: u.last_name,
            email: u.email,
            role: u.staff_role.map(Into::into),
            team: u.staff_team,
            role_label: u.staff_role_label,
            status: u.status.into(),
            invitation_pending: u.password_hash.is_none(),
            last_login_at: u.last_login_at,
            created_at: u.created_at,
        }
    }
}

/// A new staff member: they get an email with a link, valid 24 hours, to set
/// their password.
#[derive(InputObject)]
pub struct InviteStaffMemberInput {
    /// First name (at most 100 characters).
    pub first_name: String,
    /// Last name (at most 100 characters).
    pub last_name: String,
    /// Email address; at one of `PORTAL_STAFF_EMAIL_DOMAINS` when the service
    /// sets them.
    pub email: String,
    /// What they may do.
    pub role: StaffRole,
    /// Their team (at most 100 characters), e.g. "Management".
    pub team: Option<String>,
    /// Their case-handling role label (at most 100 characters), e.g. "Case Handler".
    pub role_label: Option<String>,
}

/// Changes to a staff member: a field left out stays as it is; `null` clears
/// the team or the role label.
#[derive(InputObject)]
pub struct UpdateStaffMemberInput {
    /// Their team.
    pub team: MaybeUndefined<String>,
    /// Their case-handling role label.
    pub role_label: MaybeUndefined<String>,
    /// What they may do. The last active service administrator cannot be
    /// made a caseworker.
    pub role: Option<StaffRole>,
}

fn maybe(value: MaybeUndefined<String>) -> Option<Option<String>> {
    match value {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => Some(None),
        MaybeUndefined::Value(v) => Some(Some(v)),
    }
}

/// Staff queries (service administrators).
#[derive(Default)]
pub struct StaffQuery;

#[Object]
impl StaffQuery {
    /// Staff accounts that are not deactivated, oldest first. Service
    /// administrators only.
    #[graphql(complexity = "super::pagination::connection_cost(first, child_complexity)")]
    async fn staff_members(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size, 1 to 100 (default 20).")] first: Option<i32>,
        #[graphql(desc = "The `endCursor` of the previous page.")] after: Option<String>,
    ) -> async_graphql::Result<Connection<String, StaffMember, EmptyFields, EmptyFields>> {
        let admin = policy::staff::can_manage(&ctx.caller())?;
        let limit = page_size(first)?;
        let after = after.as_deref().map(decode_cursor).transpose()?;
        let (rows, has_next) = staff::list(ctx.app(), &admin, limit, after).await?;
        Ok(keyset_connection(
            rows,
            false,
            has_next,
            |u| u.id,
            StaffMember::from,
        ))
    }
}

/// Runs one change on one staff account through the policy and the service.
async fn change(
    ctx: &Context<'_>,
    id: &ID,
    change: StaffChange,
) -> async_graphql::Result<StaffMember> {
    let admin = policy::staff::can_manage(&ctx.caller())?;
    let id = parse_id_named(id, NodeKind::User, "Staff member")?;
    staff::apply(ctx.app(), &admin, id, change)
        .await
        .map(StaffMember::from)
        .map_err(|r| ctx.reject(r))
}

/// Staff mutations (service administrators). Nobody changes their own
/// account here; the last active service administrator cannot be
/// suspended, deactivated or made a caseworker. Every change is audited.
#[derive(Default)]
pub struct StaffMutation;

#[Object]
impl StaffMutation {
    /// Invites a caseworker or service administrator: creates the account (no
    /// password yet) and emails them a link, valid 24 hours, to set their
    /// password. Every input field at fault is reported.
    async fn invite_staff_member(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Who to invite.")] input: InviteStaffMemberInput,
    ) -> async_graphql::Result<StaffMember> {
        let admin = policy::staff::can_manage(&ctx.caller())?;
        let input = StaffInvite {
            first_name: input.first_name,
            last_name: input.last_name,
            email: input.email,
            role: input.role.into(),
            team: input.team,
            role_label: input.role_label,
        };
        staff::invite(ctx.app(), &admin, input)
            .await
            .map(StaffMember::from)
            .map_err(|r| ctx.reject(r))
    }

    /// Changes a staff member's team, role label or role.
    async fn update_staff_member(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The staff member.")] id: ID,
        #[graphql(desc = "What changes.")] input: UpdateStaffMemberInput,
    ) -> async_graphql::Result<StaffMember> {
        let details = StaffChange::Details {
            team: maybe(input.team),
            role_label: maybe(input.role_label),
            role: input.role.map(Into::into),
        };
        change(ctx, &id, details).await
    }

    /// Sends a new invitation link to a staff member who has not set a
    /// password yet; earlier links stop working.
    async fn resend_staff_invitation(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The staff member.")] id: ID,
    ) -> async_graphql::Result<StaffMember> {
        change(ctx, &id, StaffChange::ResendInvitation).await
    }

    /// Suspends a staff account: they are signed out everywhere and cannot
    /// sign in until reinstated.
    async fn suspend_staff_member(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The staff member.")] id: ID,
    ) -> async_graphql::Result<StaffMember> {
        change(ctx, &id, StaffChange::Suspend).await
    }

    /// Reinstates a suspended staff account.
    async fn reinstate_staff_member(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The staff member.")] id: ID,
    ) -> async_graphql::Result<StaffMember> {
        change(ctx, &id, StaffChange::Reinstate).await
    }

    /// Deactivates a staff account for good: they are signed out and their
    /// email address can be used for a new account.
    async fn deactivate_staff_member(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The staff member.")] id: ID,
    ) -> async_graphql::Result<StaffMember> {
        change(ctx, &id, StaffChange::Deactivate).await
    }
}
