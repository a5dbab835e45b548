//! Residents, for staff: invite a resident and find residents to add them
//! to a case. The support desk's changes to a resident's account are the
//! user-management mutations (`sendPasswordReset`, `unlockUser`, …) of
//! [`super::users`].
//!
//! The resolvers ask [`policy::users`] first (`can_invite_resident`; the
//! search's `visible_residents` inside the service) and call
//! [`crate::users::residents`].

use async_graphql::{
    Context, ID, InputObject, Object, SimpleObject,
    connection::{Connection, EmptyFields},
};
use chrono::{DateTime, Utc};

use super::{
    ContextExt,
    enums::{TwoFactorMethod, UserStatus},
    pagination::{decode_cursor, keyset_connection},
    scalars::{NodeKind, global_id},
};
use crate::{
    policy,
    users::residents::{self, NewResident},
};

/// A resident's account as staff see it.
#[derive(SimpleObject)]
pub struct ResidentAccount {
    /// User id (use it as `residentUserId` of a case, or `userId` of the
    /// user-management mutations).
    #[graphql(owned)]
    pub id: ID,
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// Email address (the username).
    pub email: String,
    /// Mobile number for SMS codes (E.164), if set.
    pub mobile_number: Option<String>,
    /// Postal address, as typed, if given.
    pub address: Option<String>,
    /// Active, suspended, restricted (or deactivated in answers about a
    /// deactivation).
    pub status: UserStatus,
    /// How the resident receives sign-in codes.
    pub two_factor_method: TwoFactorMethod,
    /// Whether the account is locked out now after too many wrong passwords.
    pub is_locked: bool,
    /// Invited, but no password set yet (the invitation can be re-sent).
    pub invitation_pending: bool,
    /// When the latest invitation was sent.
    pub invited_at: Option<DateTime<Utc>>,
    /// Last successful sign-in.
    pub last_login_at: Option<DateTime<Utc>>,
    /// When the account was created.
    pub created_at: DateTime<Utc>,
}

impl From<entities::user::Model> for ResidentAccount {
    fn from(u: entities::user::Model) -> Self {
        Self {
            id: global_id(NodeKind::User, u.id),
            is_locked: u.locked_until.is_some_and(|t| t > Utc::now()),
            invitation_pending: u.password_hash.is_none(),
            first_name: u.first_name,
            last_name: u.last_name,
            email: u.email,
            mobile_number: u.mobile_number,
            address: u.address,
            status: u.status.into(),
            two_factor_method: u.two_factor_method.into(),
            invited_at: u.invited_at,
            last_login_at: u.last_login_at,
            created_at: u.created_at,
        }
    }
}

/// A resident to invite: they get an email with a link, valid 24 hours, to
/// set their password.
#[derive(InputObject)]
pub struct InviteResidentInput {
    /// First name (at most 100 characters).
    pub first_name: String,
    /// Last name (at most 100 characters).
    pub last_name: String,
    /// Email address (their username); not used by another live account.
    pub email: String,
    /// UK mobile number for SMS codes, like 07700 900123 or +44 7700 900123
    /// (optional; not used by another live account).
    pub mobile_number: Option<String>,
    /// Postal address, at most 500 characters, line breaks allowed
    /// (optional).
    pub address: Option<String>,
}

impl From<InviteResidentInput> for NewResident {
    fn from(input: InviteResidentInput) -> Self {
        Self {
            first_name: input.first_name,
            last_name: input.last_name,
            email: input.email,
            mobile_number: input.mobile_number,
            address: input.address,
        }
    }
}

/// Resident queries (staff).
#[derive(Default)]
pub struct ResidentsQuery;

#[Object]
impl ResidentsQuery {
    /// Staff: residents who are not deactivated whose name, email address or
    /// postcode (anywhere in the address, whatever its spacing or case)
    /// contains `search`, oldest first, at most 20 a page.
    #[graphql(complexity = "super::pagination::connection_cost(first, child_complexity)")]
    async fn residents(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "At least 2 characters of a name, email address or postcode.")]
        search: String,
        #[graphql(desc = "Page size: 1 to 20 (default 20).")] first: Option<i32>,
        #[graphql(desc = "The cursor of the last resident of the previous page.")] after: Option<
            String,
        >,
    ) -> async_graphql::Result<Connection<String, ResidentAccount, EmptyFields, EmptyFields>> {
        let caller = ctx.caller();
        // Checked by the service, after the policy.
        let limit = first.map_or(residents::PAGE_MAX, |n| u64::try_from(n).unwrap_or(0));
        let after = after.as_deref().map(decode_cursor).transpose()?;
        let (rows, has_next) = residents::find(ctx.app(), &caller, &search, limit, after).await?;
        Ok(keyset_connection(
            rows,
            after.is_some(),
            has_next,
            |u| u.id,
            ResidentAccount::from,
        ))
    }
}

/// Resident mutations (staff).
#[derive(Default)]
pub struct ResidentsMutation;

#[Object]
impl ResidentsMutation {
    /// Staff: invites a new resident: creates the account (no password yet)
    /// and emails them a link, valid 24 hours, to set their password. Every
    /// input field at fault is reported. Audited.
    async fn invite_resident(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "The resident's name, email address and (optional) mobile number and address."
        )]
        input: InviteResidentInput,
    ) -> async_graphql::Result<ResidentAccount> {
        let staff = policy::users::can_invite_resident(&ctx.caller())?;
        residents::invite(ctx.app(), &staff, input.into())
            .await
            .map(|m| ResidentAccount::from(m.user))
            .map_err(|r| ctx.reject(r))
    }
}
