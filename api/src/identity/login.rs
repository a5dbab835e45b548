//! Signing in: password, then whatever second step the account needs, then a
//! session.
//!
//! # The steps
//!
//! `login(email, password)` checks the password and answers one of:
//! - **signed in** (a session token), when nothing more is needed. The result
//!   says what the client should do about two-factor sign-in
//!   (`SignedIn.twoFactorSetup`): nothing, **offer** it (the user has none),
//!   or **set it up now** (the session can do nothing else yet);
//! - **two-factor required**: the user has a second factor, and
//!   `verifyTwoFactor(challengeToken, code)` continues with its code (sent by
//!   email or SMS, or shown by the authenticator app), or
//!   `verifyRecoveryCode(challengeToken, recoveryCode)` with one of the
//!   user's recovery codes ([`super::recovery`]);
//! - **mobile number required**: an administrator reset the user's mobile
//!   number (UC seed), so they enter a new one (`submitMobileNumber`), which
//!   gets a code by SMS, and `verifyTwoFactor` with that code stores the number
//!   and continues.
//!
//! Which steps a user gets ([`plan`]) follows from their method, one step at a
//! time, each time from what has been proven so far:
//!
//! | method | steps after the password |
//! |---|---|
//! | none | — (plus the mobile step if the number was reset) |
//! | email | email code |
//! | authenticator app | the app's code (nothing is sent) |
//! | SMS | SMS code to the number on file; if that number was reset (or there is none), an **email code** first, then the mobile step |
//!
//! A user with a second factor always completes it: there is no way past it
//! with the password alone. For an SMS user whose number was reset the phone
//! is gone, so the account's mailbox (proven when the invitation was
//! accepted) stands in, and only then may they register a new number: someone
//! holding only the password never gets as far as registering their own
//! phone. A recovery code answers any of these code steps.
//!
//! # Offering two-factor, and "Later"
//!
//! The Ombudsman seed asks at first sign-in whether the user wishes to enable
//! two-factor, with "Later" as an answer. Here "Later" declines the
//! **enrolment**, never the code of a factor that is on:
//! - a user without two-factor whose organisation does not require it gets
//!   `twoFactorSetup: OFFERED` on signing in, the first time and again once
//!   [`OFFER_AGAIN`] (30 days) have passed since they last said "Later";
//! - `declineTwoFactorSetup` is "Later": it records the date (audited,
//!   `two_factor.declined`), so the next sign-ins answer `NONE` until the
//!   period is over; `enableTwoFactor`/`setUpAuthenticatorApp` accept the
//!   offer at any time.
//!
//! # When two-factor is required
//!
//! Staff always use two-factor (they see every organisation's data), and an
//! organisation can require it of its users, optionally naming the methods
//! that count (`setOrganisationTwoFactorRule`, by service administrators). A
//! user who must but has no accepted method set up gets, after the password
//! (and their current factor, if they have one), an **enrolment-only
//! session** (`twoFactorSetup: REQUIRED`): `viewer`, `enableTwoFactor`,
//! `confirmTwoFactor`, `setUpAuthenticatorApp`, `generateRecoveryCodes` and
//! `logout` work; everything else answers `FORBIDDEN` with
//! `extensions.reason` `TWO_FACTOR_SETUP_REQUIRED`. Confirming an accepted
//! method makes the session a full one.
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
//! passwords are all counted. The password is checked before the lock (argon2
//! takes tens of milliseconds) against the row as first read; under the lock
//! the stored hash must still be that one, so a sign-in with the old password
//! that started before a reset or change cannot finish after it.

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

/// How long "Later" holds off the offer of two-factor sign-in.
pub const OFFER_AGAIN: Duration = Duration::days(30);

/// What a new session should do about two-factor sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetupPrompt {
    /// Nothing: two-factor is on, or the user said "Later" recently.
    None,
    /// Offer it ("Later" is `declineTwoFactorSetup`).
    Offered,
    /// It must be set up: the session is enrolment-only until it is.
    Required,
}

/// Where a sign-in stands after a step.
#[derive(Debug)]
pub enum SignInStep {
    /// Done: a new session.
    SignedIn {
        /// The session's bearer token (shown once).
        token: String,
        /// The user.
        user_id: Uuid,
        /// Whether to offer (or require) setting up two-factor.
        setup: SetupPrompt,
    },
    /// A second factor is needed: its code, or a recovery code.
    TwoFactor(ChallengeView),
    /// The user must enter a new mobile number.
    MobileRequired {
        /// The challenge token for `submitMobileNumber`.
        token: String,
        /// When the step expires if no number is entered.
        expires_at: DateTime<Utc>,
    },
}

/// What a sign-in has proven so far, and how (for the audit entry).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Proven {
    /// A second factor (a code, a recovery code, or an emailed link).
    pub factor: bool,
    /// Written to the `session.login` entry.
    pub how: &'static str,
}

impl Proven {
    /// The password alone.
    pub(crate) const PASSWORD: Self = Self {
        factor: false,
        how: "password",
    };
    /// The password and a second factor.
    pub(crate) const SECOND_FACTOR: Self = Self {
        factor: true,
        how: "password, second factor",
    };

    /// The same, described as `how`.
    pub(crate) const fn how(self, how: &'static str) -> Self {
        Self { how, ..self }
    }
}

/// The next step of a sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Plan {
    SignIn(SetupPrompt),
    Code(TwoFactorChannel),
    Mobile,
}

/// Whether the user's organisation requires two-factor sign-in.
pub(crate) fn required(org: Option<&organisation::Model>) -> bool {
    org.is_some_and(|o| o.requires_two_factor)
}

/// The methods that count where `org` requires two-factor (every method
/// when it names none).
pub fn accepted_methods(org: Option<&organisation::Model>) -> Vec<TwoFactorMethod> {
    let named: Vec<TwoFactorMethod> = org
        .and_then(|o| o.two_factor_methods.as_deref())
        .map(|list| {
            list.split(',')
                .filter_map(|m| m.trim().parse().ok())
                .collect()
        })
        .unwrap_or_default();
    if named.is_empty() {
        TwoFactorMethod::ALL
            .iter()
            .copied()
            .filter(|m| *m != TwoFactorMethod::None)
            .collect()
    } else {
        named
    }
}

/// Whether the user must set up (another) second factor before doing
/// anything else: staff without one, or a user of an organisation that
/// requires two-factor whose method is none or not one it accepts.
pub fn must_set_up(user: &user::Model, org: Option<&organisation::Model>) -> bool {
    let method = user.two_factor_method;
    match user.kind {
        UserKind::Staff => method == TwoFactorMethod::None,
        _ => required(org) && !accepted_methods(org).contains(&method),
    }
}

/// What the session should do about two-factor (see the module docs).
pub fn setup_prompt(
    user: &user::Model,
    org: Option<&organisation::Model>,
    now: DateTime<Utc>,
) -> SetupPrompt {
    if must_set_up(user, org) {
        SetupPrompt::Required
    } else if user.two_factor_method == TwoFactorMethod::None
        && user
            .two_factor_declined_at
            .is_none_or(|at| now - at >= OFFER_AGAIN)
    {
        SetupPrompt::Offered
    } else {
        SetupPrompt::None
    }
}

fn plan(
    user: &user::Model,
    org: Option<&organisation::Model>,
    proven: Proven,
    now: DateTime<Utc>,
) -> Plan {
    let number_missing = user.mobile_reset_pending || user.mobile_number.is_none();
    if !proven.factor {
        match user.two_factor_method {
            TwoFactorMethod::None => {}
            // The phone is gone: the mailbox stands in (module docs).
            TwoFactorMethod::Sms if number_missing => return Plan::Code(TwoFactorChannel::Email),
            TwoFactorMethod::Email => return Plan::Code(TwoFactorChannel::Email),
            TwoFactorMethod::Sms => return Plan::Code(TwoFactorChannel::Sms),
            TwoFactorMethod::AuthenticatorApp if user.totp_secret.is_some() => {
                return Plan::Code(TwoFactorChannel::AuthenticatorApp);
            }
            TwoFactorMethod::AuthenticatorApp => return Plan::Code(TwoFactorChannel::Email),
        }
    }
    let sms_without_number =
        user.two_factor_method == TwoFactorMethod::Sms && user.mobile_number.is_none();
    if user.mobile_reset_pending || sms_without_number {
        return Plan::Mobile;
    }
    Plan::SignIn(setup_prompt(user, org, now))
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
    // The password was checked against the row as read before the lock (the
    // argon2 work must not hold it). A reset or change that committed in
    // between makes that check stale: refuse, without counting a failure.
    if user.password_hash != found.password_hash {
        login_failed(&txn, client, &user, "password_changed_during_sign_in").await?;
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
    Ok(match plan(user, org, proven, Utc::now()) {
        Plan::SignIn(setup) => SignInStep::SignedIn {
            token: complete(txn, client, user, proven.how, setup).await?,
            user_id: user.id,
            setup,
        },
        Plan::Code(TwoFactorChannel::AuthenticatorApp) => {
            // Nothing to send: the app shows the code.
            let (row, raw) = challenge::open(
                txn,
                user,
                ChallengePurpose::Login,
                TwoFactorChannel::AuthenticatorApp,
                None,
            )
            .await?;
            SignInStep::TwoFactor(challenge::view(&row, user, raw))
        }
        Plan::Code(channel) => {
            let destination = match channel {
                TwoFactorChannel::Sms => user.mobile_number.clone(),
                TwoFactorChannel::Email | TwoFactorChannel::AuthenticatorApp => None,
            };
            let mut held_back = None;
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
                            held_back = Some(retry_after_secs);
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
            let mut view = challenge::view(&row, user, raw);
            view.resend_after_secs = held_back;
            SignInStep::TwoFactor(view)
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
/// a session (enrolment-only when two-factor must be set up first).
async fn complete(
    txn: &DatabaseTransaction,
    client: &ClientInfo,
    user: &user::Model,
    how: &str,
    setup: SetupPrompt,
) -> ApiResult<String> {
    let now = Utc::now();
    let mut active = user.clone().into_active_model();
    active.failed_login_attempts = Set(0);
    active.locked_until = Set(None);
    active.last_login_at = Set(Some(now));
    active.updated_at = Set(now);
    active.update(txn).await?;
    let enrolment_only = setup == SetupPrompt::Required;
    let token = session::create(txn, user.id, client, enrolment_only).await?;
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
        Some(json!({ "factors": how, "enrolment_only": enrolment_only })),
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
        challenge::Answer::Code(code),
        &[ChallengePurpose::Login, ChallengePurpose::ConfirmMobile],
    )
    .await?;
    let challenge::Verified {
        txn,
        challenge,
        user,
        totp_step,
        ..
    } = verified;
    let org = organisation_of(&txn, &user).await?;
    let step = match challenge.purpose {
        ChallengePurpose::Login => {
            let how = match challenge.channel {
                TwoFactorChannel::Email => "password, email code",
                TwoFactorChannel::Sms => "password, SMS code",
                TwoFactorChannel::AuthenticatorApp => "password, authenticator app code",
            };
            if let Some(step) = totp_step {
                user::Entity::update_many()
                    .col_expr(user::Column::TotpLastStep, Expr::value(Some(step)))
                    .filter(user::Column::Id.eq(user.id))
                    .exec(&txn)
                    .await?;
            }
            let proven = Proven::SECOND_FACTOR.how(how);
            advance(app, &txn, client, &user, org.as_ref(), proven).await?
        }
        _ => {
            let user = store_mobile(&txn, client, &user, &challenge).await?;
            // The mobile step is planned only once the second factor is
            // proven (or the user has none), so the new number's code
            // completes it.
            let proven =
                Proven::SECOND_FACTOR.how("password, new mobile number confirmed by SMS code");
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

/// Whether no other account that is not deactivated holds `number`.
pub(crate) async fn number_free(
    conn: &impl ConnectionTrait,
    number: &str,
    user_id: Uuid,
) -> ApiResult<bool> {
    match ensure_number_free(conn, number, user_id).await {
        Ok(()) => Ok(true),
        Err(ApiError::BadInput { .. }) => Ok(false),
        Err(e) => Err(e),
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
    // The send is counted first, and a number another account holds gets
    // the same answer as any other (nothing is sent to it): the step does
    // not tell which numbers are registered.
    throttle::code_send(app, user.id).await?;
    let free = number_free(&txn, &number, user.id).await?;
    let mut active = row.into_active_model();
    active.destination = Set(Some(number));
    let row = active.update(&txn).await?;
    let row = challenge::send_or_withhold(&txn, row, &user, free).await?;
    txn.commit().await?;
    Ok(challenge::view(&row, &user, raw_token.to_owned()))
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
    if row.channel == TwoFactorChannel::AuthenticatorApp {
        return Err(ApiError::bad_input(
            "challengeToken",
            "Nothing is sent for an authenticator app: enter the code it shows now.",
        ));
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
    txn.commit().await?;
    Ok(challenge::view(&row, &user, raw_token.to_owned()))
}

#[cfg(test)]
mod tests;
