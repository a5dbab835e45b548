//! Signing in: password, then whatever second step the account needs, then a
//! session.
//!
//! # The steps
//!
//! `login(email, password)` checks the password and answers one of:
//! - **signed in** (a session token), when nothing more is needed;
//! - **two-factor required**: a 6-digit code was sent by email or SMS (see
//!   "Codes and the send limit" for when it is not), and
//!   `verifyTwoFactor(challengeToken, code)` continues;
//! - **mobile number required**: an administrator reset the user's mobile
//!   number (UC seed), so they enter a new one (`submitMobileNumber`), which
//!   gets a code by SMS, and `verifyTwoFactor` with that code stores the number
//!   and continues.
//!
//! Which steps a user gets ([`plan`]) follows from their two-factor method and
//! their organisation's rule, one step at a time, each time from the factors
//! proven so far:
//!
//! | method (after the organisation's rule) | steps after the password |
//! |---|---|
//! | none | — (plus the mobile step if the number was reset) |
//! | email (or none in an organisation that requires two-factor) | email code, then the mobile step if the number was reset |
//! | SMS | SMS code to the number on file; if that number was reset (or there is none), the mobile step instead, whose code to the new number is the SMS factor |
//!
//! The email code comes before the mobile step on purpose: someone holding
//! only the password of an email-2FA user must not get as far as registering
//! their own phone. For an SMS user whose number was reset there is no other
//! factor left; that is the UC seed's design, where the administrator's reset
//! is what authorises the new number.
//!
//! # "Later" (skipping the code)
//!
//! The Ombudsman seed's verification page offers "Later". Here:
//! - `canSkip` is true on a sign-in code step when the user's organisation
//!   does not require two-factor. Residents (no organisation) may skip; staff
//!   may not: they see every organisation's data, so their chosen second
//!   factor is always enforced.
//! - `skipTwoFactor(challengeToken)` signs in without the code for this
//!   sign-in only. The method stays as it is, so the next sign-in asks again;
//!   the challenge is used up; the skip is in the audit log
//!   (`two_factor.skipped`) and the session's `session.login` entry records
//!   the factors as `password, two-factor skipped`.
//! - It is never offered on the mobile-number step (the reset must be
//!   completed), nor when the organisation requires two-factor
//!   (`FORBIDDEN`).
//!
//! Note what this means: for a user whose organisation does not require
//! two-factor, the code is a convenience the password alone can get past.
//! An organisation that wants the second factor enforced sets
//! `requires_two_factor`.
//!
//! # Codes and the send limit
//!
//! Each code sent counts against the account's limit of codes sent
//! ([`super::throttle`]: 5 per 15 minutes). The limit refuses re-sends
//! (`resendTwoFactorCode`, `submitMobileNumber`: `RATE_LIMITED` with
//! `retryAfterSeconds`), never a sign-in: a user who types the right
//! password always gets the two-factor step, even when the limit is used up
//! (say, after signing in several times in a few minutes). Then no new code
//! is sent, and:
//! - if the user's previous sign-in step has a code that still works (same
//!   channel and destination, not used, not locked, not expired), the step
//!   is that one under a new challenge token: **the code already sent
//!   completes it**, `expiresAt` is that code's expiry, and the wrong codes
//!   already entered still count. The previous step's token stops working,
//!   as when a new sign-in replaces it;
//! - otherwise the step has no code yet: `verifyTwoFactor` answers
//!   `BAD_USER_INPUT` on `challengeToken` saying no code has been sent, and
//!   `resendTwoFactorCode` sends the first code once the limit allows
//!   (`RATE_LIMITED` with `retryAfterSeconds` until then), within the step's
//!   `expiresAt` (15 minutes, longer than any wait).
//!
//! Either way nothing goes out to the user's mailbox or phone over the
//! limit, which is what the limit is for (email bombing, SMS pumping).
//!
//! # Failures, lock-out and timing
//!
//! An unknown email, a wrong password, a locked account, a suspended or
//! restricted account and an invited user without a password all get the
//! same `UNAUTHENTICATED` "Email address or password is incorrect.", after
//! the same work: the password is always checked with argon2, against a dummy
//! hash when there is no account, so the response time does not reveal which
//! case it was. Only afterwards is the account's state looked at.
//!
//! [`MAX_FAILED_LOGINS`] consecutive wrong passwords lock the account for
//! [`LOCKOUT`]. While locked even the right password fails (with the same
//! message), and wrong ones are not counted, so the lock does not stretch.
//! After the period the count starts again from zero. A right password resets
//! the count as soon as it is checked (before any code step); completing the
//! sign-in sets `last_login_at`. Both rate limits (per account and per client
//! address, [`super::throttle`]) are counted before anything else.
//!
//! Every decision is written in one transaction with its audit entries
//! (`session.login`, `session.login_failed` with the reason,
//! `session.locked`), holding the user row locked so concurrent wrong
//! passwords are all counted.

use std::sync::LazyLock;

use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, DbErr, EntityTrait,
    IntoActiveModel, QueryFilter, QuerySelect, Set, SqlErr, sea_query::Expr,
};
use serde_json::json;
use tokio::sync::OnceCell;
use uuid::Uuid;

use entities::{
    ChallengePurpose, TwoFactorChannel, TwoFactorMethod, UserKind, UserStatus, organisation,
    two_factor_challenge, user,
};

use super::{
    challenge::{self, ChallengeView},
    input, phone, throttle,
};
use crate::{
    app::App,
    audit::{self, Actor, Entry},
    auth::{ClientInfo, Viewer, password, session, token},
    error::{ApiError, ApiResult},
    policy::Caller,
};

/// Consecutive wrong passwords that lock an account.
pub const MAX_FAILED_LOGINS: i32 = 5;
/// How long a lock-out lasts.
pub const LOCKOUT: Duration = Duration::minutes(15);

/// Where a sign-in stands after a step.
#[derive(Debug)]
pub enum SignInStep {
    /// Done: a new session.
    SignedIn {
        /// The session's bearer token (shown once).
        token: String,
        /// The user.
        user_id: Uuid,
    },
    /// A code was sent; verify it (or skip, when allowed).
    TwoFactor(ChallengeView),
    /// The user must enter a new mobile number.
    MobileRequired {
        /// The challenge token for `submitMobileNumber`.
        token: String,
        /// When the step expires if no number is entered.
        expires_at: DateTime<Utc>,
    },
}

/// Which factors a sign-in has proven so far, and how (for the audit entry).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Proven {
    /// Holds the account's mailbox (email code or emailed link).
    pub email: bool,
    /// Holds the phone (SMS code).
    pub sms: bool,
    /// Written to the `session.login` entry.
    pub how: &'static str,
}

impl Proven {
    const PASSWORD: Self = Self {
        email: false,
        sms: false,
        how: "password",
    };
}

/// The next step of a sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Plan {
    SignIn,
    Code(TwoFactorChannel),
    Mobile,
}

/// Whether the user's organisation requires two-factor sign-in.
pub(crate) fn required(org: Option<&organisation::Model>) -> bool {
    org.is_some_and(|o| o.requires_two_factor)
}

/// The method the user must use: their own, or email when their organisation
/// requires two-factor and they chose none.
pub(crate) fn effective_method(
    user: &user::Model,
    org: Option<&organisation::Model>,
) -> TwoFactorMethod {
    match user.two_factor_method {
        TwoFactorMethod::None if required(org) => TwoFactorMethod::Email,
        method => method,
    }
}

/// Whether "Later" is offered (see the module docs).
pub(crate) fn can_skip(user: &user::Model, org: Option<&organisation::Model>) -> bool {
    user.kind != UserKind::Staff && !required(org)
}

fn plan(user: &user::Model, org: Option<&organisation::Model>, proven: Proven) -> Plan {
    let number_missing = user.mobile_reset_pending || user.mobile_number.is_none();
    match effective_method(user, org) {
        TwoFactorMethod::Sms if !proven.sms && number_missing => Plan::Mobile,
        TwoFactorMethod::Sms if !proven.sms => Plan::Code(TwoFactorChannel::Sms),
        TwoFactorMethod::Email if !proven.email => Plan::Code(TwoFactorChannel::Email),
        _ if user.mobile_reset_pending => Plan::Mobile,
        _ => Plan::SignIn,
    }
}

/// A hash to check passwords against when there is no account (or it has no
/// password yet), so that case costs the same argon2 work as a real one. Made
/// once, with the same parameters as every stored hash.
static DUMMY_HASH: LazyLock<OnceCell<String>> = LazyLock::new(OnceCell::new);

async fn dummy_hash() -> ApiResult<String> {
    DUMMY_HASH
        .get_or_try_init(|| password::hash(token::generate("dummy_")))
        .await
        .cloned()
        .map_err(ApiError::Internal)
}

/// Checks `password` against the user's hash, or against the dummy hash when
/// there is no user or no hash (always answering `false` then).
pub(crate) async fn check_password(user: Option<&user::Model>, password: &str) -> ApiResult<bool> {
    match user.and_then(|u| u.password_hash.clone()) {
        Some(stored) => Ok(password::verify(password.to_owned(), stored).await?),
        None => {
            password::verify(password.to_owned(), dummy_hash().await?).await?;
            Ok(false)
        }
    }
}

/// The user's organisation, if they have one.
pub(crate) async fn organisation_of(
    conn: &impl ConnectionTrait,
    user: &user::Model,
) -> ApiResult<Option<organisation::Model>> {
    Ok(match user.organisation_id {
        Some(id) => organisation::Entity::find_by_id(id).one(conn).await?,
        None => None,
    })
}

/// `login`: checks the password and starts the next step (module docs).
pub async fn login(
    app: &App,
    client: &ClientInfo,
    email: &str,
    password: &str,
) -> ApiResult<SignInStep> {
    input::max_len("input.email", email, input::MAX_EMAIL)?;
    input::max_len("input.password", password, input::MAX_PASSWORD)?;
    let email = input::normalize_email(email);
    throttle::password_check(app, client, &email).await?;

    let found = user::Entity::find()
        .filter(user::Column::EmailNormalized.eq(&email))
        .filter(user::Column::Status.ne(UserStatus::Deactivated))
        .one(&app.db)
        .await?;
    let password_ok = check_password(found.as_ref(), password).await?;
    let Some(found) = found else {
        tracing::info!(reason = "unknown_email", "sign-in refused");
        return Err(ApiError::InvalidCredentials);
    };

    let txn = platform::db::begin_write(&app.db).await?;
    let user = user::Entity::find_by_id(found.id)
        .lock_exclusive()
        .one(&txn)
        .await?
        .ok_or(ApiError::InvalidCredentials)?;
    let now = Utc::now();
    let locked = user.locked_until.is_some_and(|until| until > now);
    let refusal = match user.status {
        UserStatus::Active if locked => Some("locked"),
        UserStatus::Active => None,
        UserStatus::Suspended => Some("suspended"),
        UserStatus::Restricted => Some("restricted"),
        UserStatus::Deactivated => Some("deactivated"),
    };
    if let Some(reason) = refusal {
        login_failed(&txn, client, &user, reason).await?;
        txn.commit().await?;
        return Err(ApiError::InvalidCredentials);
    }
    if !password_ok {
        if user.password_hash.is_none() {
            login_failed(&txn, client, &user, "no_password").await?;
        } else {
            count_wrong_password(&txn, client, &user, now).await?;
        }
        txn.commit().await?;
        return Err(ApiError::InvalidCredentials);
    }

    let mut active = user.clone().into_active_model();
    active.failed_login_attempts = Set(0);
    active.locked_until = Set(None);
    active.updated_at = Set(now);
    let user = active.update(&txn).await?;
    let org = organisation_of(&txn, &user).await?;
    let step = advance(app, &txn, client, &user, org.as_ref(), Proven::PASSWORD).await?;
    txn.commit().await?;
    Ok(step)
}

async fn login_failed(
    conn: &impl ConnectionTrait,
    client: &ClientInfo,
    user: &user::Model,
    reason: &str,
) -> ApiResult<()> {
    tracing::info!(user = %user.id, reason, "sign-in refused");
    audit::record(
        conn,
        &Actor::of(&Viewer::Anonymous, client),
        Entry {
            action: "session.login_failed",
            target_type: "user",
            target_id: Some(user.id),
            organisation_id: user.organisation_id,
        },
        None,
        Some(json!({ "reason": reason })),
    )
    .await
}

/// Counts a wrong password, locking the account at the limit.
async fn count_wrong_password(
    txn: &DatabaseTransaction,
    client: &ClientInfo,
    user: &user::Model,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    // A lock that has run out leaves its count behind: start again from zero.
    let lock_expired = user.locked_until.is_some_and(|until| until <= now);
    let failures = if lock_expired {
        1
    } else {
        user.failed_login_attempts + 1
    };
    let lock = failures >= MAX_FAILED_LOGINS;
    let mut active = user.clone().into_active_model();
    active.failed_login_attempts = Set(failures);
    active.locked_until = Set(lock.then_some(now + LOCKOUT));
    active.updated_at = Set(now);
    active.update(txn).await?;
    login_failed(txn, client, user, "wrong_password").await?;
    if lock {
        tracing::info!(user = %user.id, "account locked after repeated wrong passwords");
        audit::record(
            txn,
            &Actor::of(&Viewer::Anonymous, client),
            Entry {
                action: "session.locked",
                target_type: "user",
                target_id: Some(user.id),
                organisation_id: user.organisation_id,
            },
            Some(json!({ "locked_until": user.locked_until })),
            Some(json!({ "locked_until": now + LOCKOUT, "failed_login_attempts": failures })),
        )
        .await?;
    }
    Ok(())
}

/// Takes the sign-in to its next step, given what has been proven: sends a
/// code, asks for a mobile number, or creates the session.
pub(crate) async fn advance(
    app: &App,
    txn: &DatabaseTransaction,
    client: &ClientInfo,
    user: &user::Model,
    org: Option<&organisation::Model>,
    proven: Proven,
) -> ApiResult<SignInStep> {
    Ok(match plan(user, org, proven) {
        Plan::SignIn => SignInStep::SignedIn {
            token: complete(txn, client, user, proven.how).await?,
            user_id: user.id,
        },
        Plan::Code(channel) => {
            let destination = match channel {
                TwoFactorChannel::Sms => user.mobile_number.clone(),
                TwoFactorChannel::Email | TwoFactorChannel::AuthenticatorApp => None,
            };
            // Over the code-send limit the step is still given, without a
            // new code (module docs, "Codes and the send limit").
            let (row, raw) = match throttle::code_send(app, user.id).await {
                Ok(()) => {
                    let (row, raw) =
                        challenge::open(txn, user, ChallengePurpose::Login, channel, destination)
                            .await?;
                    (challenge::send(txn, row, user).await?, raw)
                }
                Err(ApiError::RateLimited { retry_after_secs }) => {
                    match challenge::reissue_live(txn, user, channel, destination.as_deref())
                        .await?
                    {
                        Some(live) => {
                            tracing::info!(user = %user.id, retry_after_secs, "code-send limit reached: the sign-in reuses the code already sent");
                            live
                        }
                        None => {
                            tracing::info!(user = %user.id, retry_after_secs, "code-send limit reached: the sign-in step sends no code yet");
                            challenge::open(
                                txn,
                                user,
                                ChallengePurpose::Login,
                                channel,
                                destination,
                            )
                            .await?
                        }
                    }
                }
                Err(e) => return Err(e),
            };
            SignInStep::TwoFactor(challenge::view(&row, user, raw, can_skip(user, org)))
        }
        Plan::Mobile => {
            let (row, raw) = challenge::open(
                txn,
                user,
                ChallengePurpose::ConfirmMobile,
                TwoFactorChannel::Sms,
                None,
            )
            .await?;
            SignInStep::MobileRequired {
                token: raw,
                expires_at: row.expires_at,
            }
        }
    })
}

/// Completes a sign-in: clears the lock-out count, records the login, starts
/// a session.
async fn complete(
    txn: &DatabaseTransaction,
    client: &ClientInfo,
    user: &user::Model,
    how: &str,
) -> ApiResult<String> {
    let now = Utc::now();
    let mut active = user.clone().into_active_model();
    active.failed_login_attempts = Set(0);
    active.locked_until = Set(None);
    active.last_login_at = Set(Some(now));
    active.updated_at = Set(now);
    active.update(txn).await?;
    let token = session::create(txn, user.id, client).await?;
    audit::record(
        txn,
        &Actor::of(&Viewer::Anonymous, client).as_user(user.id),
        Entry {
            action: "session.login",
            target_type: "user",
            target_id: Some(user.id),
            organisation_id: user.organisation_id,
        },
        None,
        Some(json!({ "factors": how })),
    )
    .await?;
    Ok(token)
}

/// `verifyTwoFactor`: a sign-in code, or the code confirming a new mobile
/// number.
pub async fn verify(
    app: &App,
    client: &ClientInfo,
    raw_token: &str,
    code: &str,
) -> ApiResult<SignInStep> {
    let verified = challenge::verify(
        app,
        client,
        raw_token,
        code,
        &[ChallengePurpose::Login, ChallengePurpose::ConfirmMobile],
    )
    .await?;
    let challenge::Verified {
        txn,
        challenge,
        user,
    } = verified;
    let org = organisation_of(&txn, &user).await?;
    let step = match challenge.purpose {
        ChallengePurpose::Login => {
            let proven = match challenge.channel {
                TwoFactorChannel::Email => Proven {
                    email: true,
                    sms: false,
                    how: "password, email code",
                },
                TwoFactorChannel::Sms => Proven {
                    email: false,
                    sms: true,
                    how: "password, SMS code",
                },
                TwoFactorChannel::AuthenticatorApp => Proven {
                    email: true,
                    sms: true,
                    how: "password, authenticator app code",
                },
            };
            advance(app, &txn, client, &user, org.as_ref(), proven).await?
        }
        _ => {
            let user = store_mobile(&txn, client, &user, &challenge).await?;
            // The mobile step is planned only once every other factor is
            // proven (or skipped), so the new number's code completes it.
            let proven = Proven {
                email: true,
                sms: true,
                how: "password, new mobile number confirmed by SMS code",
            };
            advance(app, &txn, client, &user, org.as_ref(), proven).await?
        }
    };
    txn.commit().await?;
    Ok(step)
}

/// Stores the mobile number a challenge just confirmed, clearing a pending
/// reset.
pub(crate) async fn store_mobile(
    txn: &DatabaseTransaction,
    client: &ClientInfo,
    user: &user::Model,
    challenge: &two_factor_challenge::Model,
) -> ApiResult<user::Model> {
    let number = challenge.destination.clone().ok_or_else(|| {
        ApiError::Internal(anyhow::anyhow!(
            "challenge {} confirmed no number",
            challenge.id
        ))
    })?;
    ensure_number_free(txn, &number, user.id).await?;
    let mut active = user.clone().into_active_model();
    active.mobile_number = Set(Some(number.clone()));
    active.mobile_reset_pending = Set(false);
    active.updated_at = Set(Utc::now());
    let updated = active.update(txn).await.map_err(number_taken_on_conflict)?;
    audit::record(
        txn,
        &Actor::of(&Viewer::Anonymous, client).as_user(user.id),
        Entry {
            action: "mobile_number.confirmed",
            target_type: "user",
            target_id: Some(user.id),
            organisation_id: user.organisation_id,
        },
        Some(json!({
            "mobile_number": user.mobile_number.as_deref().map(phone::mask),
            "mobile_reset_pending": user.mobile_reset_pending,
        })),
        Some(json!({ "mobile_number": phone::mask(&number), "mobile_reset_pending": false })),
    )
    .await?;
    Ok(updated)
}

fn number_taken() -> ApiError {
    ApiError::bad_input(
        "mobileNumber",
        "This number cannot be used for this account. Enter a different mobile number.",
    )
}

/// The unique index on live mobile numbers caught a concurrent claim.
fn number_taken_on_conflict(e: DbErr) -> ApiError {
    match e.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(_)) => number_taken(),
        _ => e.into(),
    }
}

/// Refuses a number held by another account that is not deactivated, without
/// saying whose it is.
pub(crate) async fn ensure_number_free(
    conn: &impl ConnectionTrait,
    number: &str,
    user_id: Uuid,
) -> ApiResult<()> {
    let holder = user::Entity::find()
        .filter(user::Column::MobileNumber.eq(number))
        .filter(user::Column::Status.ne(UserStatus::Deactivated))
        .filter(user::Column::Id.ne(user_id))
        .one(conn)
        .await?;
    if holder.is_some() {
        return Err(number_taken());
    }
    Ok(())
}

/// `submitMobileNumber`: the user's new mobile number, on the mobile step.
/// Sends a code to it; `verifyTwoFactor` with that code stores it. May be
/// called again on the same step to correct a typo (each call is a send).
pub async fn submit_mobile(
    app: &App,
    raw_token: &str,
    mobile_number: &str,
) -> ApiResult<ChallengeView> {
    let number = phone::parse_uk_mobile("mobileNumber", mobile_number)?;
    let txn = platform::db::begin_write(&app.db).await?;
    let (row, user) =
        challenge::find_open(&txn, raw_token, &[ChallengePurpose::ConfirmMobile]).await?;
    if row.sends == 0 && Utc::now() >= row.expires_at {
        return Err(challenge::invalid(row.purpose));
    }
    ensure_number_free(&txn, &number, user.id).await?;
    throttle::code_send(app, user.id).await?;
    let mut active = row.into_active_model();
    active.destination = Set(Some(number));
    let row = active.update(&txn).await?;
    let row = challenge::send(&txn, row, &user).await?;
    txn.commit().await?;
    Ok(challenge::view(&row, &user, raw_token.to_owned(), false))
}

/// `resendTwoFactorCode`: a new code for an open challenge (the old one stops
/// working). A challenge opened from a signed-in session (enabling
/// two-factor) can only be re-sent by its user.
pub async fn resend(app: &App, caller: &Caller<'_>, raw_token: &str) -> ApiResult<ChallengeView> {
    let txn = platform::db::begin_write(&app.db).await?;
    let (row, user) = challenge::find_open(
        &txn,
        raw_token,
        &[
            ChallengePurpose::Login,
            ChallengePurpose::ConfirmMobile,
            ChallengePurpose::EnableTwoFactor,
        ],
    )
    .await?;
    if row.purpose == ChallengePurpose::EnableTwoFactor
        && !caller
            .viewer
            .user()
            .is_some_and(|v| crate::policy::identity::owns_challenge(v, &row))
    {
        return Err(challenge::invalid(row.purpose));
    }
    if row.sends == 0 {
        match row.purpose {
            // Nothing to re-send before the number is entered.
            ChallengePurpose::ConfirmMobile => return Err(challenge::not_sent(row.purpose)),
            // A sign-in over the code-send limit (module docs): this sends
            // its first code, while the step lasts.
            _ if Utc::now() >= row.expires_at => return Err(challenge::invalid(row.purpose)),
            _ => {}
        }
    }
    // Over the limit this is `RATE_LIMITED` with `retryAfterSeconds`.
    throttle::code_send(app, user.id).await?;
    let row = challenge::send(&txn, row, &user).await?;
    let org = organisation_of(&txn, &user).await?;
    let skip = row.purpose == ChallengePurpose::Login && can_skip(&user, org.as_ref());
    txn.commit().await?;
    Ok(challenge::view(&row, &user, raw_token.to_owned(), skip))
}

/// `skipTwoFactor` ("Later"): signs in without the code where that is allowed
/// (module docs).
pub async fn skip(app: &App, client: &ClientInfo, raw_token: &str) -> ApiResult<SignInStep> {
    let txn = platform::db::begin_write(&app.db).await?;
    let (row, user) = challenge::find_open(&txn, raw_token, &[ChallengePurpose::Login]).await?;
    let now = Utc::now();
    if now >= row.expires_at {
        return Err(challenge::invalid(row.purpose));
    }
    let org = organisation_of(&txn, &user).await?;
    if !can_skip(&user, org.as_ref()) {
        return Err(ApiError::Forbidden);
    }
    two_factor_challenge::Entity::update_many()
        .col_expr(
            two_factor_challenge::Column::ConsumedAt,
            Expr::value(Some(now)),
        )
        .filter(two_factor_challenge::Column::Id.eq(row.id))
        .exec(&txn)
        .await?;
    audit::record(
        &txn,
        &Actor::of(&Viewer::Anonymous, client).as_user(user.id),
        Entry {
            action: "two_factor.skipped",
            target_type: "user",
            target_id: Some(user.id),
            organisation_id: user.organisation_id,
        },
        None,
        Some(json!({ "channel": row.channel })),
    )
    .await?;
    let proven = Proven {
        email: true,
        sms: true,
        how: "password, two-factor skipped",
    };
    let step = advance(app, &txn, client, &user, org.as_ref(), proven).await?;
    txn.commit().await?;
    Ok(step)
}

#[cfg(test)]
mod tests;
