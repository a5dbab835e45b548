//! Signing in and out, two-factor codes, passwords, one's own sessions and
//! two-factor settings. The resolvers only unpack arguments, call the
//! services in [`crate::identity`] and shape the answer; the rules (and their
//! documentation) live there:
//! - the sign-in steps, "Later", lock-out: [`crate::identity::login`];
//! - codes: [`crate::identity::challenge`];
//! - forgot, reset, change, invitations: [`crate::identity::passwords`];
//! - sessions: [`crate::identity::sessions`];
//! - two-factor on and off, one's own address and mobile number:
//!   [`crate::identity::profile`].
//!
//! Passwords, codes and tokens are `#[graphql(secret)]`, so no GraphQL
//! tracing or logging extension ever records them.

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject, Union};
use chrono::{DateTime, Utc};

use entities::session;

use super::{
    ContextExt,
    scalars::{NodeKind, global_id, parse_id},
    viewer::{Me, TwoFactorSetup},
};
use crate::identity::{
    challenge::ChallengeView, login, login::SignInStep, passwords, profile, recovery, sessions,
};

/// Where a code is sent.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "entities::TwoFactorChannel")]
pub enum TwoFactorChannel {
    /// To the account's email address.
    Email,
    /// By SMS to a mobile number.
    Sms,
    /// Nothing is sent: the code is the one the authenticator app shows.
    AuthenticatorApp,
}

/// Email address and password.
#[derive(InputObject)]
pub struct LoginInput {
    /// Email address (the username; any case).
    pub email: String,
    /// Password.
    #[graphql(secret)]
    pub password: String,
}

/// Signed in.
#[derive(SimpleObject)]
pub struct SignedIn {
    /// The session's bearer token, for `Authorization: Bearer <token>`. Shown
    /// only here.
    pub token: String,
    /// Who is signed in.
    pub user: Me,
    /// What to do about two-factor sign-in now: nothing, offer it, or set it
    /// up before anything else (`REQUIRED`: this session is enrolment-only).
    pub two_factor_setup: TwoFactorSetup,
}

/// A second factor is needed: continue with `verifyTwoFactor` and the code
/// (sent by email or SMS, or shown by the authenticator app), or with
/// `verifyRecoveryCode` and one of the user's recovery codes.
/// `resendTwoFactorCode` sends a new email or SMS code.
#[derive(SimpleObject)]
pub struct TwoFactorRequired {
    /// Names this step in the following calls. Keep it in memory only.
    pub challenge_token: String,
    /// Where the code went.
    pub channel: TwoFactorChannel,
    /// The destination, mostly hidden (`p****@****.example`, `07*** ***123`).
    pub masked_destination: String,
    /// Whether a code was sent by email or SMS for this step: false for an
    /// authenticator app (nothing is sent), and when several codes were sent
    /// in the last few minutes (then `resendAvailableInSeconds` says when
    /// `resendTwoFactorCode` can send it).
    pub code_sent: bool,
    /// When no code was sent because of the code-send limit: seconds until
    /// `resendTwoFactorCode` can send one.
    pub resend_available_in_seconds: Option<u64>,
    /// When this code stops working.
    pub expires_at: DateTime<Utc>,
}

impl From<ChallengeView> for TwoFactorRequired {
    fn from(v: ChallengeView) -> Self {
        Self {
            challenge_token: v.token,
            channel: v.channel.into(),
            masked_destination: v.masked_destination,
            code_sent: v.code_sent,
            resend_available_in_seconds: v.resend_after_secs,
            expires_at: v.expires_at,
        }
    }
}

/// The user's mobile number was reset by an administrator: they must enter a
/// new one (`submitMobileNumber`), which is confirmed with a code sent to it.
#[derive(SimpleObject)]
pub struct MobileNumberRequired {
    /// Names this step in the following calls.
    pub challenge_token: String,
    /// When this step expires if no number is entered.
    pub expires_at: DateTime<Utc>,
}

/// A code was texted to the new mobile number given to
/// `changeMyMobileNumber`: continue with `confirmMyMobileNumber`. The account
/// keeps its current number until then.
#[derive(SimpleObject)]
pub struct MobileNumberConfirmationRequired {
    /// Names this step in `confirmMyMobileNumber`. Keep it in memory only.
    pub challenge_token: String,
    /// The new number, mostly hidden (`07*** ***123`).
    pub masked_mobile_number: String,
    /// When this code stops working (ask again with `changeMyMobileNumber`).
    pub expires_at: DateTime<Utc>,
}

impl From<ChallengeView> for MobileNumberConfirmationRequired {
    fn from(v: ChallengeView) -> Self {
        Self {
            challenge_token: v.token,
            masked_mobile_number: v.masked_destination,
            expires_at: v.expires_at,
        }
    }
}

/// Where a sign-in stands.
#[derive(Union)]
pub enum LoginResult {
    /// Done. (Boxed: `Me` is far larger than the other steps.)
    SignedIn(Box<SignedIn>),
    /// A code is needed.
    TwoFactorRequired(TwoFactorRequired),
    /// A new mobile number is needed.
    MobileNumberRequired(MobileNumberRequired),
}

/// One of the user's own sessions.
#[derive(SimpleObject)]
pub struct Session {
    /// Session id (for `revokeSession`).
    pub id: ID,
    /// When it started (the sign-in).
    pub created_at: DateTime<Utc>,
    /// When it was last used (to the minute).
    pub last_seen_at: DateTime<Utc>,
    /// When it ends unless used again (idle limit), or at the latest
    /// (absolute limit).
    pub expires_at: DateTime<Utc>,
    /// Address it signed in from.
    pub ip_address: Option<String>,
    /// Browser or app it signed in with.
    pub user_agent: Option<String>,
    /// Whether this is the session making the request.
    pub current: bool,
}

/// A count for the schema's `Int`.
fn count(n: u64) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// The GraphQL id of a session.
fn session_id(id: uuid::Uuid) -> ID {
    global_id(NodeKind::Session, id)
}

impl Session {
    fn new(m: session::Model, current: uuid::Uuid) -> Self {
        Self {
            id: session_id(m.id),
            created_at: m.created_at,
            last_seen_at: m.last_seen_at,
            expires_at: m.idle_expires_at.min(m.absolute_expires_at),
            ip_address: m.ip_address,
            user_agent: m.user_agent,
            current: m.id == current,
        }
    }
}

async fn login_result(ctx: &Context<'_>, step: SignInStep) -> async_graphql::Result<LoginResult> {
    Ok(match step {
        SignInStep::SignedIn {
            token,
            user_id,
            setup,
        } => LoginResult::SignedIn(Box::new(SignedIn {
            token,
            user: profile::load(&ctx.app().db, user_id).await?.into(),
            two_factor_setup: setup.into(),
        })),
        SignInStep::TwoFactor(view) => LoginResult::TwoFactorRequired(view.into()),
        SignInStep::MobileRequired { token, expires_at } => {
            LoginResult::MobileNumberRequired(MobileNumberRequired {
                challenge_token: token,
                expires_at,
            })
        }
    })
}

/// What `forgotPassword` answers: the same whether or not the address has
/// an account, so it reveals nothing about which addresses do.
#[derive(SimpleObject)]
pub struct ForgotPasswordPayload {
    /// The address as it was entered (trimmed), for the "check your email"
    /// screen.
    pub email: String,
    /// How long the emailed link stays valid, in minutes.
    pub link_valid_for_minutes: i32,
}

/// What `resetPassword` answers: the password is set and every session of
/// the account has ended.
#[derive(SimpleObject)]
pub struct ResetPasswordPayload {
    /// The account's sign-in address, to fill in the sign-in form.
    pub email: String,
    /// How many of the account's sessions ended.
    pub sessions_ended: i32,
}

/// What `changePassword` answers: the password is changed and every other
/// session has ended; this one stays signed in.
#[derive(SimpleObject)]
pub struct ChangePasswordPayload {
    /// The signed-in user, as `me` shows them now.
    pub me: Me,
    /// How many other sessions ended.
    pub other_sessions_ended: i32,
}

/// What `logout` answers: the session the request came with has ended.
#[derive(SimpleObject)]
pub struct LogoutPayload {
    /// The session that ended (an id, not a link: the session no longer
    /// exists; it matches the `id` of a `Session` listed before).
    pub session_id: ID,
}

/// What `revokeSession` answers.
#[derive(SimpleObject)]
pub struct RevokeSessionPayload {
    /// The session that ended (an id, not a link: the session no longer
    /// exists; it matches the `id` of a `Session` listed before).
    pub session_id: ID,
    /// Whether it was the session making the request (the client is now
    /// signed out).
    pub signed_out: bool,
}

/// Identity queries.
#[derive(Default)]
pub struct IdentityQuery;

#[Object]
impl IdentityQuery {
    /// The signed-in user's live sessions, newest first.
    async fn my_sessions(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Session>> {
        let caller = ctx.caller();
        let rows = sessions::list(ctx.app(), &caller).await?;
        let auth = caller.user()?;
        Ok(rows
            .into_iter()
            .map(|s| Session::new(s, auth.session_id))
            .collect())
    }
}

/// Identity mutations.
#[derive(Default)]
pub struct IdentityMutation;

#[Object]
impl IdentityMutation {
    /// Signs in with email and password. Every refusal (unknown email, wrong
    /// password, locked or suspended account) is the same `UNAUTHENTICATED`
    /// "Email address or password is incorrect.". Rate-limited per account
    /// and per address.
    async fn login(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The email address and password.")] input: LoginInput,
    ) -> async_graphql::Result<LoginResult> {
        let step = login::login(ctx.app(), &ctx.client(), &input.email, &input.password).await?;
        login_result(ctx, step).await
    }

    /// Checks a 6-digit code: the sign-in code, or the code sent to a newly
    /// entered mobile number. 5 wrong codes lock the step (sign in again).
    async fn verify_two_factor(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The `challengeToken` from `TwoFactorRequired`.", secret)] challenge_token: String,
        #[graphql(
            desc = "The 6-digit code sent by email or text message, or shown by the authenticator app.",
            secret
        )]
        code: String,
    ) -> async_graphql::Result<LoginResult> {
        let step = login::verify(ctx.app(), &ctx.client(), &challenge_token, &code).await?;
        login_result(ctx, step).await
    }

    /// Sends a new code for the step; the previous code stops working.
    async fn resend_two_factor_code(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The `challengeToken` from `TwoFactorRequired`.", secret)] challenge_token: String,
    ) -> async_graphql::Result<TwoFactorRequired> {
        Ok(login::resend(ctx.app(), &ctx.caller(), &challenge_token)
            .await?
            .into())
    }

    /// Answers the sign-in's second-factor step with one of the user's
    /// recovery codes (`abcde-23456`, any case, hyphen optional) instead of
    /// the code. Each code works once; its use is audited and emailed to the
    /// account's address. A wrong or used code counts as a wrong code (5 end
    /// the step).
    async fn verify_recovery_code(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The `challengeToken` from `TwoFactorRequired`.", secret)] challenge_token: String,
        #[graphql(
            desc = "One of the recovery codes shown when they were made, like `abcde-23456`.",
            secret
        )]
        recovery_code: String,
    ) -> async_graphql::Result<LoginResult> {
        let step =
            recovery::sign_in(ctx.app(), &ctx.client(), &challenge_token, &recovery_code).await?;
        login_result(ctx, step).await
    }

    /// The new mobile number on the mobile-number step (a UK mobile:
    /// `07700 900123` or `+44 7700 900123`). Sends a code to it; continue
    /// with `verifyTwoFactor`.
    async fn submit_mobile_number(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The `challengeToken` from `MobileNumberRequired`.", secret)]
        challenge_token: String,
        #[graphql(desc = "A UK mobile number, like 07700 900123 or +44 7700 900123.")]
        mobile_number: String,
    ) -> async_graphql::Result<TwoFactorRequired> {
        Ok(
            login::submit_mobile(ctx.app(), &challenge_token, &mobile_number)
                .await?
                .into(),
        )
    }

    /// Emails a password-reset link (valid 1 hour, single use) if an active
    /// account has this address. The answer is the same either way, so it
    /// does not reveal whether it does.
    async fn forgot_password(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "The account's email address (the answer is the same whether or not it has an account)."
        )]
        email: String,
    ) -> async_graphql::Result<ForgotPasswordPayload> {
        passwords::forgot(ctx.app(), &ctx.client(), &email).await?;
        Ok(ForgotPasswordPayload {
            email: email.trim().to_owned(),
            link_valid_for_minutes: passwords::RESET_LINK_MINUTES,
        })
    }

    /// Sets a new password from a reset link, and signs the user out
    /// everywhere. Sign in afterwards.
    async fn reset_password(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The token from the link in the password reset email.", secret)]
        token: String,
        #[graphql(
            desc = "The new password; every rule it breaks is listed in the error's `reasons`.",
            secret
        )]
        new_password: String,
        #[graphql(desc = "The new password again.", secret)] confirmation: String,
    ) -> async_graphql::Result<ResetPasswordPayload> {
        let done = passwords::reset(
            ctx.app(),
            &ctx.client(),
            &token,
            &new_password,
            &confirmation,
        )
        .await?;
        Ok(ResetPasswordPayload {
            email: done.email,
            sessions_ended: count(done.sessions_ended),
        })
    }

    /// Changes the signed-in user's password; every other session ends.
    async fn change_password(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The password in use now.", secret)] current_password: String,
        #[graphql(
            desc = "The new password; every rule it breaks is listed in the error's `reasons`.",
            secret
        )]
        new_password: String,
        #[graphql(desc = "The new password again.", secret)] confirmation: String,
    ) -> async_graphql::Result<ChangePasswordPayload> {
        let caller = ctx.caller();
        let done = passwords::change(
            ctx.app(),
            &caller,
            &current_password,
            &new_password,
            &confirmation,
        )
        .await?;
        Ok(ChangePasswordPayload {
            me: profile::load(&ctx.app().db, caller.user()?.id)
                .await?
                .into(),
            other_sessions_ended: count(done.sessions_ended),
        })
    }

    /// Sets the first password from an invitation link and signs in (the link
    /// proves the mailbox, so an email code is not asked for).
    async fn accept_invitation(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The token from the link in the invitation email.", secret)] token: String,
        #[graphql(
            desc = "The password to set; every rule it breaks is listed in the error's `reasons`.",
            secret
        )]
        new_password: String,
        #[graphql(desc = "The password again.", secret)] confirmation: String,
    ) -> async_graphql::Result<LoginResult> {
        let step = passwords::accept_invitation(
            ctx.app(),
            &ctx.client(),
            &token,
            &new_password,
            &confirmation,
        )
        .await?;
        login_result(ctx, step).await
    }

    /// Signs out: ends the session this request came with.
    async fn logout(&self, ctx: &Context<'_>) -> async_graphql::Result<LogoutPayload> {
        let caller = ctx.caller();
        sessions::logout(ctx.app(), &caller).await?;
        Ok(LogoutPayload {
            session_id: session_id(caller.user()?.session_id),
        })
    }

    /// Ends one of the signed-in user's sessions (another device, or this
    /// one). Anyone else's session is `NOT_FOUND`.
    async fn revoke_session(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The session, one of `mySessions`.")] id: ID,
    ) -> async_graphql::Result<RevokeSessionPayload> {
        let caller = ctx.caller();
        let current = caller.user()?.session_id;
        let session = parse_id(&id, NodeKind::Session)?;
        sessions::revoke(ctx.app(), &caller, session).await?;
        Ok(RevokeSessionPayload {
            session_id: id,
            signed_out: session == current,
        })
    }

    /// Sets the signed-in resident's postal address (up to 500 characters,
    /// several lines allowed, trimmed); null or blank clears it. Residents
    /// only: landlord users (whose address is their organisation's) and staff
    /// are `FORBIDDEN`. Audited.
    async fn update_my_address(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "The postal address, at most 500 characters, line breaks allowed; null or empty removes it."
        )]
        address: Option<String>,
    ) -> async_graphql::Result<Me> {
        let caller = ctx.caller();
        profile::update_my_address(ctx.app(), &caller, address.as_deref()).await?;
        Ok(profile::load(&ctx.app().db, caller.user()?.id)
            .await?
            .into())
    }

    /// Starts changing the signed-in user's mobile number to `mobileNumber`
    /// (a UK mobile: `07700 900123` or `+44 7700 900123`): texts a code to
    /// the new number; `confirmMyMobileNumber` with it makes the change.
    /// Residents and landlord users; staff are `FORBIDDEN` (they use
    /// `enableTwoFactor`). Needs the account's password (`BAD_USER_INPUT` on
    /// `password` when wrong). The number already on the account is
    /// `BAD_USER_INPUT`; a number another account holds gets the same answer
    /// as any other, but no code is sent to it (numbers cannot be probed).
    async fn change_my_mobile_number(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The new UK mobile number, like 07700 900123 or +44 7700 900123.")]
        mobile_number: String,
        #[graphql(
            desc = "The account's password, to prove it is the account holder.",
            secret
        )]
        password: String,
    ) -> async_graphql::Result<MobileNumberConfirmationRequired> {
        let caller = ctx.caller();
        Ok(
            profile::change_my_mobile_number(ctx.app(), &caller, &mobile_number, &password)
                .await?
                .into(),
        )
    }

    /// Makes the number given to `changeMyMobileNumber` the account's, with
    /// the code texted to it (single use; 5 wrong codes end the step). With
    /// SMS two-factor, sign-in codes go to the new number from then on. An
    /// email tells the account's address. Audited.
    async fn confirm_my_mobile_number(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The `challengeToken` from `changeMyMobileNumber`.", secret)]
        challenge_token: String,
        #[graphql(desc = "The 6-digit code texted to the new number.", secret)] code: String,
    ) -> async_graphql::Result<Me> {
        let caller = ctx.caller();
        profile::confirm_my_mobile_number(ctx.app(), &caller, &challenge_token, &code).await?;
        Ok(profile::load(&ctx.app().db, caller.user()?.id)
            .await?
            .into())
    }
}
