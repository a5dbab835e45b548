//! Setting up second factors: email or SMS codes, an authenticator app,
//! recovery codes, and "Later" (services in `identity::factors`).

use async_graphql::{Context, Object, SimpleObject};
use chrono::{DateTime, Utc};

use super::{
    ContextExt,
    identity::{TwoFactorChannel, TwoFactorRequired},
    viewer::Me,
};
use crate::{
    identity::{factors, profile},
    policy,
};

/// An authenticator app to set up: show `provisioningUri` as a QR code (or
/// `secret` for typing in), then confirm with the app's first code in
/// `confirmTwoFactor`.
#[derive(SimpleObject)]
pub struct AuthenticatorAppSetup {
    /// Names this step in `confirmTwoFactor`. Keep it in memory only.
    pub challenge_token: String,
    /// The shared secret, base32 (for apps that cannot scan a QR code).
    /// Shown only here.
    pub secret: String,
    /// The `otpauth://totp/…` URI (Key Uri Format: SHA1, 6 digits, 30
    /// seconds) to show as a QR code. Shown only here.
    pub provisioning_uri: String,
    /// When this step expires unless confirmed.
    pub expires_at: DateTime<Utc>,
}

/// A new set of recovery codes.
#[derive(SimpleObject)]
pub struct RecoveryCodes {
    /// The ten codes (`abcde-23456`), each usable once at sign-in instead of
    /// a two-factor code. Shown only here: the service keeps only their
    /// hashes. The earlier set no longer works.
    pub codes: Vec<String>,
    /// The signed-in user, with `recoveryCodesRemaining` updated.
    pub user: Me,
}

async fn me(ctx: &Context<'_>) -> async_graphql::Result<Me> {
    let caller = ctx.caller();
    let account = policy::identity::own_account(&caller)?;
    Ok(profile::load(&ctx.app().db, account.id).await?.into())
}

/// Second-factor mutations. They also work in an enrolment-only session,
/// except `disableTwoFactor` and `declineTwoFactorSetup`.
#[derive(Default)]
pub struct FactorsMutation;

#[Object]
impl FactorsMutation {
    /// Starts switching two-factor sign-in on, or changing it, to codes by
    /// `method` (`EMAIL` or `SMS`; for an app, `setUpAuthenticatorApp`):
    /// checks the password, then sends a code (for `SMS`, to `mobileNumber`,
    /// or to the number on file when it is omitted). `confirmTwoFactor` with
    /// the code makes the change. A method the user's organisation does not
    /// accept is `BAD_USER_INPUT` on `method`.
    async fn enable_two_factor(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "`EMAIL` or `SMS`.")] method: TwoFactorChannel,
        #[graphql(desc = "For `SMS`: a UK mobile, `07700 900123` or `+44 7700 900123`.")]
        mobile_number: Option<String>,
        #[graphql(secret, desc = "The account's password.")] password: String,
    ) -> async_graphql::Result<TwoFactorRequired> {
        let caller = ctx.caller();
        Ok(factors::enable_two_factor(
            ctx.app(),
            &caller,
            method.into(),
            mobile_number.as_deref(),
            &password,
        )
        .await?
        .into())
    }

    /// Starts setting up an authenticator app (TOTP, RFC 6238): checks the
    /// password and answers a new secret. Nothing changes until
    /// `confirmTwoFactor` gets the app's code.
    async fn set_up_authenticator_app(
        &self,
        ctx: &Context<'_>,
        #[graphql(secret, desc = "The account's password.")] password: String,
    ) -> async_graphql::Result<AuthenticatorAppSetup> {
        let caller = ctx.caller();
        let setup = factors::set_up_authenticator_app(ctx.app(), &caller, &password).await?;
        Ok(AuthenticatorAppSetup {
            challenge_token: setup.challenge.token,
            secret: setup.secret,
            provisioning_uri: setup.uri,
            expires_at: setup.challenge.expires_at,
        })
    }

    /// Makes the change started by `enableTwoFactor` or
    /// `setUpAuthenticatorApp`, with the code sent (or the one the app
    /// shows). The account's address is emailed. In an enrolment-only
    /// session, a method the organisation accepts makes the session a full
    /// one.
    async fn confirm_two_factor(
        &self,
        ctx: &Context<'_>,
        #[graphql(secret, desc = "From `enableTwoFactor` or `setUpAuthenticatorApp`.")]
        challenge_token: String,
        #[graphql(secret, desc = "The 6-digit code.")] code: String,
    ) -> async_graphql::Result<Me> {
        let caller = ctx.caller();
        factors::confirm_two_factor(ctx.app(), &caller, &challenge_token, &code).await?;
        me(ctx).await
    }

    /// Switches two-factor sign-in off and drops the recovery codes, given
    /// the password. Refused (`CONFLICT`) for staff and where the
    /// organisation requires two-factor.
    async fn disable_two_factor(
        &self,
        ctx: &Context<'_>,
        #[graphql(secret, desc = "The account's password.")] password: String,
    ) -> async_graphql::Result<Me> {
        let caller = ctx.caller();
        factors::disable_two_factor(ctx.app(), &caller, &password).await?;
        me(ctx).await
    }

    /// Makes ten new recovery codes, given the password; the earlier ones
    /// stop working. Only while two-factor is on (`CONFLICT` otherwise).
    async fn generate_recovery_codes(
        &self,
        ctx: &Context<'_>,
        #[graphql(secret, desc = "The account's password.")] password: String,
    ) -> async_graphql::Result<RecoveryCodes> {
        let caller = ctx.caller();
        let codes = factors::generate_recovery_codes(ctx.app(), &caller, &password).await?;
        Ok(RecoveryCodes {
            codes,
            user: me(ctx).await?,
        })
    }

    /// "Later": declines the offer of two-factor sign-in for 30 days
    /// (`twoFactorSetup` answers `NONE` until then). `CONFLICT` when
    /// two-factor is already on; an enrolment-only session may not decline.
    async fn decline_two_factor_setup(&self, ctx: &Context<'_>) -> async_graphql::Result<Me> {
        let caller = ctx.caller();
        factors::decline_setup(ctx.app(), &caller).await?;
        me(ctx).await
    }
}
