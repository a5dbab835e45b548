//! Changing a user's email address for them, confirmed at the new address:
//! `changeUserEmail` (staff for residents; an organisation's administrator,
//! or a service administrator, for landlord users) and the anonymous
//! `confirmEmailChange` that the emailed link leads to.
//!
//! `changeUserEmail` asks [`policy::users::can_manage`] for
//! [`UserAction::ChangeEmail`] and calls [`crate::users::email_change`],
//! which asks the same policy for the target inside its transaction; the
//! rules are in the module docs there.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};

use super::{
    ContextExt,
    scalars::{NodeKind, parse_id},
    users::UserAccount,
};
use crate::{
    policy::{self, users::UserAction},
    users::email_change,
};

/// A new email address for someone's account. The account keeps its old
/// address until the person opens the link sent to the new one.
#[derive(InputObject)]
pub struct ChangeUserEmailInput {
    /// The account: a resident (staff), or a landlord user of the caller's
    /// organisation (its administrators; service administrators for any
    /// organisation).
    pub user_id: ID,
    /// The new address: in the correct format, not the account's current
    /// address, not used by another account that is not deactivated, and
    /// for a landlord user at one of the organisation's registered domains.
    pub email: String,
}

/// The answer to `confirmEmailChange`: the address is the account's email
/// and sign-in name now, and every session of the account has ended.
#[derive(SimpleObject)]
pub struct ConfirmEmailChangePayload {
    /// The new sign-in address, to fill in the sign-in form.
    pub email: String,
}

/// The answer to `changeUserEmail`: the account as it still is, and the
/// change waiting for confirmation.
#[derive(SimpleObject)]
pub struct ChangeUserEmailPayload {
    /// The account, unchanged: `email` is still the old address, which
    /// still signs in.
    pub user: UserAccount,
    /// The address waiting for confirmation: it becomes the account's when
    /// the link emailed to it is opened. A later `changeUserEmail` for the
    /// same account replaces it (the earlier link stops working).
    pub pending_email: String,
    /// When the confirmation link stops working (24 hours on).
    pub confirmation_expires_at: DateTime<Utc>,
}

/// Email-change mutations.
#[derive(Default)]
pub struct EmailChangeMutation;

#[Object]
impl EmailChangeMutation {
    /// Starts changing the email address (the sign-in name) of a resident or
    /// landlord user: emails a single-use link, valid 24 hours, to the NEW
    /// address, and tells the old address that a change was asked for.
    /// Nothing about the account changes until the link is opened
    /// (`confirmEmailChange`). Staff change residents' addresses; an
    /// organisation's administrator (`MANAGE_USERS`) changes those of its
    /// landlord users, and service administrators any landlord user's
    /// (caseworkers: `FORBIDDEN`). A deactivated or invisible account is
    /// `NOT_FOUND`, a restricted one `CONFLICT`, one's own account
    /// `BAD_USER_INPUT` on `input.userId`; a bad address is `BAD_USER_INPUT`
    /// on `input.email`. Audited (`user.email_change_requested`).
    async fn change_user_email(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The account and its new email address.")] input: ChangeUserEmailInput,
    ) -> async_graphql::Result<ChangeUserEmailPayload> {
        let manager = policy::users::can_manage(&ctx.caller(), UserAction::ChangeEmail)?;
        let id = parse_id(&input.user_id, NodeKind::User)?;
        email_change::request(ctx.app(), &manager, id, &input.email)
            .await
            .map(|pending| ChangeUserEmailPayload {
                user: pending.user.into(),
                pending_email: pending.new_email,
                confirmation_expires_at: pending.expires_at,
            })
            .map_err(|r| ctx.reject(r))
    }

    /// Follows the link emailed by `changeUserEmail` (no sign-in needed: the
    /// link is the proof): the new address becomes the account's email and
    /// sign-in name, every session of the account ends (sign in again with
    /// the new address), its other links stop working, and the old address
    /// is told. An account still waiting to accept its invitation gets a new
    /// invitation at the new address. An unknown, used or expired link is
    /// `BAD_USER_INPUT` on `token`; an address another account has taken
    /// since is `CONFLICT` (nothing changes). Audited (`user.email_changed`).
    async fn confirm_email_change(
        &self,
        ctx: &Context<'_>,
        #[graphql(secret, desc = "The token from the link in the confirmation email.")]
        token: String,
    ) -> async_graphql::Result<ConfirmEmailChangePayload> {
        let email = email_change::confirm(ctx.app(), &ctx.client(), &token).await?;
        Ok(ConfirmEmailChangePayload { email })
    }
}
