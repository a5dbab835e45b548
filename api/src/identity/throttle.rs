//! Which identity operations are rate-limited, on what, and how much: the one
//! place that names them (the limits themselves are in
//! [`crate::ratelimit::limits`]).
//!
//! | operation | per account | per client address |
//! |---|---|---|
//! | password checks: `login`, `changePassword`, `disableTwoFactor` | normalised email | yes |
//! | code checks: `verifyTwoFactor`, `confirmTwoFactor`, `confirmMyMobileNumber` | challenge owner | yes |
//! | codes sent: sign-in, `resendTwoFactorCode`, `submitMobileNumber`, `enableTwoFactor`, `changeMyMobileNumber` | user | no (see below) |
//! | `forgotPassword` | normalised email | yes |
//!
//! Over the limit of codes sent, a request to send one is refused
//! (`RATE_LIMITED` with `retryAfterSeconds`), but a sign-in is not: its
//! two-factor step is given without a new code ([`super::login`], "Codes
//! and the send limit"), so the limit refuses the re-send, not the sign-in.
//!
//! Every call of a resolver counts once, so a batch of operations or a
//! document of aliased fields gets no more attempts than separate requests.
//! The address limit is checked first, so a client spraying many accounts
//! spends its own budget before touching theirs. Codes sent are limited per
//! account only: sending one always needs a password or a challenge token
//! already, and the per-account limit is what stops SMS-pumping a number.
//!
//! A request without a peer address (in-process calls; the WebSocket
//! transport does not pass one) counts under `unknown`, which fails safe: all
//! such callers share one budget rather than having none.

use uuid::Uuid;

use crate::{
    app::App,
    auth::ClientInfo,
    error::ApiResult,
    ratelimit::limits::{
        CODE_PER_ACCOUNT, CODE_PER_ADDRESS, CODE_SENDS_PER_ACCOUNT, FORGOT_PER_ACCOUNT,
        FORGOT_PER_ADDRESS, LOGIN_PER_ACCOUNT, LOGIN_PER_ADDRESS,
    },
};

fn address(client: &ClientInfo) -> &str {
    client.ip.as_deref().unwrap_or("unknown")
}

/// A password check for the account named by `email` (normalised).
pub async fn password_check(app: &App, client: &ClientInfo, email: &str) -> ApiResult<()> {
    app.rate_limiter
        .hit("login:address", address(client), LOGIN_PER_ADDRESS)
        .await?;
    app.rate_limiter
        .hit("login:account", email, LOGIN_PER_ACCOUNT)
        .await
}

/// A code check from this client, before the challenge is even looked up.
pub async fn code_check_address(app: &App, client: &ClientInfo) -> ApiResult<()> {
    app.rate_limiter
        .hit("code:address", address(client), CODE_PER_ADDRESS)
        .await
}

/// A code check against a challenge of `user_id`.
pub async fn code_check_account(app: &App, user_id: Uuid) -> ApiResult<()> {
    app.rate_limiter
        .hit("code:account", &user_id.to_string(), CODE_PER_ACCOUNT)
        .await
}

/// A code about to be sent to `user_id` (by email or SMS); `RATE_LIMITED`
/// over the limit (the sign-in step handles that itself).
pub async fn code_send(app: &App, user_id: Uuid) -> ApiResult<()> {
    app.rate_limiter
        .hit(
            "code_send:account",
            &user_id.to_string(),
            CODE_SENDS_PER_ACCOUNT,
        )
        .await
}

/// A forgot-password request for `email` (normalised).
pub async fn forgot_password(app: &App, client: &ClientInfo, email: &str) -> ApiResult<()> {
    app.rate_limiter
        .hit("forgot:address", address(client), FORGOT_PER_ADDRESS)
        .await?;
    app.rate_limiter
        .hit("forgot:account", email, FORGOT_PER_ACCOUNT)
        .await
}
