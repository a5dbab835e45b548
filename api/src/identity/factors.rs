//! The signed-in user's second factors: setting one up, changing it,
//! switching it off, recovery codes, and "Later".
//!
//! A user has one method at a time: codes by email, by SMS, or from an
//! authenticator app ([`super::totp`]); recovery codes ([`super::recovery`])
//! stand in for any of them. Every change needs the **password** (a
//! borrowed session alone must not be able to change how the account is
//! protected), is audited, and emails the account's address
//! (`two_factor_changed`, `recovery_codes_generated`).
//!
//! - **Email or SMS**: `enableTwoFactor(method, mobileNumber, password)`
//!   sends a code by the chosen channel and `confirmTwoFactor(challengeToken,
//!   code)` switches the method on, so nobody ends up with a factor they
//!   cannot receive. For SMS the code goes to the number given (which then
//!   becomes the account's number) or, when none is given, to the number on
//!   file. Enabling the method already in use (same number) is a `CONFLICT`.
//! - **Authenticator app**: `setUpAuthenticatorApp(password)` makes a new
//!   secret and answers it with its `otpauth://` URI (for a QR code) and a
//!   challenge token; `confirmTwoFactor(challengeToken, code)` with the code
//!   the app then shows switches it on. The secret is kept only once
//!   confirmed; a new setup replaces an unconfirmed one.
//! - Switching to another method drops the authenticator secret, so the app
//!   stops working at once.
//! - `disableTwoFactor(password)` switches it off, and drops the recovery
//!   codes; refused with a `CONFLICT` that says why for staff and where the
//!   organisation requires two-factor.
//! - `generateRecoveryCodes(password)`: a new set of ten, shown once, only
//!   while a method is on.
//! - `declineTwoFactorSetup` is "Later" ([`super::login`], "Offering
//!   two-factor").
//!
//! These work in an enrolment-only session too (except "Later", which such
//! a session may not choose); confirming a method the user's organisation
//! accepts makes that session a full one.

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter,
    QuerySelect, Set, sea_query::Expr,
};
use serde_json::json;

use entities::{
    ChallengePurpose, TwoFactorChannel, TwoFactorMethod, UserKind, recovery_code, session, user,
};

use super::{
    challenge::{self, Answer, ChallengeView},
    input,
    login::{self, organisation_of},
    phone, recovery, throttle, totp,
};
use crate::{
    app::App,
    audit::{self, Entry},
    auth::AuthUser,
    error::{ApiError, ApiResult},
    notifications::templates::SERVICE_NAME,
    notifications::{self, Recipient, templates::EmailTemplate},
    policy::{self, Caller},
};

/// What `setUpAuthenticatorApp` answers.
#[derive(Debug, Clone)]
pub struct AppSetup {
    /// The step to confirm with the app's first code.
    pub challenge: ChallengeView,
    /// The secret, base32, for typing into the app by hand.
    pub secret: String,
    /// The `otpauth://` provisioning URI, for a QR code.
    pub uri: String,
}

/// The user behind the caller's own sign-in factors (an enrolment-only
/// session counts).
fn own_account<'a>(caller: &Caller<'a>) -> ApiResult<&'a AuthUser> {
    policy::identity::own_account(caller)
}

/// Checks the caller's password (rate-limited like sign-in); a wrong one is
/// `BAD_USER_INPUT` on `password`.
pub(crate) async fn check_own_password(
    app: &App,
    caller: &Caller<'_>,
    user: &user::Model,
    password: &str,
) -> ApiResult<()> {
    input::max_len("password", password, input::MAX_PASSWORD)?;
    throttle::password_check(app, &caller.client, &user.email_normalized).await?;
    if !login::check_password(Some(user), password).await? {
        return Err(ApiError::bad_input(
            "password",
            "Your password is not correct.",
        ));
    }
    Ok(())
}

async fn load(conn: &impl ConnectionTrait, auth: &AuthUser) -> ApiResult<user::Model> {
    user::Entity::find_by_id(auth.id)
        .one(conn)
        .await?
        .ok_or(ApiError::Unauthenticated)
}

async fn load_locked(
    txn: &sea_orm::DatabaseTransaction,
    auth: &AuthUser,
) -> ApiResult<user::Model> {
    user::Entity::find_by_id(auth.id)
        .lock_exclusive()
        .one(txn)
        .await?
        .ok_or(ApiError::Unauthenticated)
}

/// `enableTwoFactor`: checks the password, then sends a code by the chosen
/// channel (module docs).
pub async fn enable_two_factor(
    app: &App,
    caller: &Caller<'_>,
    channel: TwoFactorChannel,
    mobile_number: Option<&str>,
    password: &str,
) -> ApiResult<ChallengeView> {
    let auth = own_account(caller)?;
    let number = mobile_number
        .map(|m| phone::parse_uk_mobile("mobileNumber", m))
        .transpose()?;
    if channel == TwoFactorChannel::AuthenticatorApp {
        return Err(ApiError::bad_input(
            "method",
            "Set up an authenticator app with setUpAuthenticatorApp.",
        ));
    }
    if channel == TwoFactorChannel::Email && number.is_some() {
        return Err(ApiError::bad_input(
            "mobileNumber",
            "A mobile number is only used for codes by SMS.",
        ));
    }
    let current = load(&app.db, auth).await?;
    ensure_accepted(&app.db, &current, method_of(channel)).await?;
    check_own_password(app, caller, &current, password).await?;
    let txn = platform::db::begin_write(&app.db).await?;
    let user = load_locked(&txn, auth).await?;
    let destination = match channel {
        TwoFactorChannel::Sms => {
            let on_file = user
                .mobile_number
                .clone()
                .filter(|_| !user.mobile_reset_pending);
            let Some(number) = number.or(on_file.clone()) else {
                return Err(ApiError::bad_input(
                    "mobileNumber",
                    "Enter the mobile number to send codes to.",
                ));
            };
            if user.two_factor_method == TwoFactorMethod::Sms && on_file.as_ref() == Some(&number) {
                return Err(ApiError::Conflict(
                    "Two-factor sign-in by SMS to this number is already on.".into(),
                ));
            }
            Some(number)
        }
        _ if user.two_factor_method == TwoFactorMethod::Email => {
            return Err(ApiError::Conflict(
                "Two-factor sign-in by email is already on.".into(),
            ));
        }
        _ => None,
    };
    // The send is counted first, and a number another account holds gets
    // the same answer as any other, with nothing sent to it: the answer does
    // not tell which numbers are registered.
    throttle::code_send(app, user.id).await?;
    let free = match &destination {
        Some(number) => login::number_free(&txn, number, user.id).await?,
        None => true,
    };
    let (row, raw) = challenge::open(
        &txn,
        &user,
        ChallengePurpose::EnableTwoFactor,
        channel,
        destination,
    )
    .await?;
    let row = challenge::send_or_withhold(&txn, row, &user, free).await?;
    txn.commit().await?;
    Ok(challenge::view(&row, &user, raw))
}

/// `setUpAuthenticatorApp`: checks the password and starts setting up an
/// app with a new secret (module docs).
pub async fn set_up_authenticator_app(
    app: &App,
    caller: &Caller<'_>,
    password: &str,
) -> ApiResult<AppSetup> {
    let auth = own_account(caller)?;
    let current = load(&app.db, auth).await?;
    ensure_accepted(&app.db, &current, TwoFactorMethod::AuthenticatorApp).await?;
    check_own_password(app, caller, &current, password).await?;
    let txn = platform::db::begin_write(&app.db).await?;
    let user = load_locked(&txn, auth).await?;
    let secret = totp::generate_secret();
    // The step holds the secret until the app's first code confirms it.
    let (row, raw) = challenge::open(
        &txn,
        &user,
        ChallengePurpose::EnableTwoFactor,
        TwoFactorChannel::AuthenticatorApp,
        Some(secret.clone()),
    )
    .await?;
    txn.commit().await?;
    Ok(AppSetup {
        challenge: challenge::view(&row, &user, raw),
        uri: totp::provisioning_uri(SERVICE_NAME, &user.email, &secret),
        secret,
    })
}

/// Refuses a method the user's organisation does not accept where it
/// requires two-factor (`BAD_USER_INPUT` on `method`, naming the ones it
/// does).
async fn ensure_accepted(
    conn: &impl ConnectionTrait,
    user: &user::Model,
    method: TwoFactorMethod,
) -> ApiResult<()> {
    let org = organisation_of(conn, user).await?;
    let accepted = login::accepted_methods(org.as_ref());
    if login::required(org.as_ref()) && !accepted.contains(&method) {
        let names: Vec<&str> = accepted.iter().map(|m| method_words(*m)).collect();
        return Err(ApiError::bad_input(
            "method",
            format!(
                "Your organisation does not accept this method. Use {}.",
                names.join(" or ")
            ),
        ));
    }
    Ok(())
}

fn method_of(channel: TwoFactorChannel) -> TwoFactorMethod {
    match channel {
        TwoFactorChannel::Email => TwoFactorMethod::Email,
        TwoFactorChannel::Sms => TwoFactorMethod::Sms,
        TwoFactorChannel::AuthenticatorApp => TwoFactorMethod::AuthenticatorApp,
    }
}

/// How an email names a method.
fn method_words(method: TwoFactorMethod) -> &'static str {
    match method {
        TwoFactorMethod::None => "no second factor",
        TwoFactorMethod::Email => "codes sent by email",
        TwoFactorMethod::Sms => "codes sent by text message",
        TwoFactorMethod::AuthenticatorApp => "an authenticator app",
    }
}

async fn tell(
    conn: &impl ConnectionTrait,
    user: &user::Model,
    method: TwoFactorMethod,
) -> ApiResult<()> {
    notifications::queue_email(
        conn,
        &Recipient {
            address: user.email.clone(),
            user_id: Some(user.id),
        },
        EmailTemplate::TwoFactorChanged,
        json!({
            "first_name": user.first_name,
            "at": Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "method": method_words(method),
            "enabled": method != TwoFactorMethod::None,
        }),
    )
    .await?;
    Ok(())
}

/// `confirmTwoFactor`: the code from `enableTwoFactor` or the app set up by
/// `setUpAuthenticatorApp` switches the method on (for SMS, making the
/// number the account's). An enrolment-only session whose user now has an
/// accepted method becomes a full one.
pub async fn confirm_two_factor(
    app: &App,
    caller: &Caller<'_>,
    raw_token: &str,
    code: &str,
) -> ApiResult<()> {
    let (auth, client) = (own_account(caller)?, &caller.client);
    let purposes = [ChallengePurpose::EnableTwoFactor];
    // Someone else's challenge is answered like an unknown one, before any
    // code is counted against it.
    if let Some(found) = challenge::find(&app.db, raw_token, &purposes).await?
        && !policy::identity::owns_challenge(auth, &found)
    {
        return Err(challenge::invalid(found.purpose));
    }
    let challenge::Verified {
        txn,
        challenge,
        user,
        totp_step,
        ..
    } = challenge::verify(app, client, raw_token, Answer::Code(code), &purposes).await?;
    let user = match challenge.channel {
        TwoFactorChannel::Sms => login::store_mobile(&txn, client, &user, &challenge).await?,
        _ => user,
    };
    let method = method_of(challenge.channel);
    let before = user.two_factor_method;
    let mut active = user.clone().into_active_model();
    active.two_factor_method = Set(method);
    match method {
        TwoFactorMethod::AuthenticatorApp => {
            active.totp_secret = Set(challenge.destination.clone());
            active.totp_last_step = Set(totp_step);
        }
        _ => {
            active.totp_secret = Set(None);
            active.totp_last_step = Set(None);
        }
    }
    active.updated_at = Set(Utc::now());
    let user = active.update(&txn).await?;
    audit::record(
        &txn,
        &caller.actor,
        Entry {
            action: "two_factor.enabled",
            target_type: "user",
            target_id: Some(user.id),
            organisation_id: user.organisation_id,
        },
        Some(json!({ "two_factor_method": before })),
        Some(json!({ "two_factor_method": method })),
    )
    .await?;
    tell(&txn, &user, method).await?;
    // An enrolment-only session whose user now has an accepted method
    // becomes a full one.
    let org = organisation_of(&txn, &user).await?;
    if !login::must_set_up(&user, org.as_ref()) {
        session::Entity::update_many()
            .col_expr(session::Column::EnrolmentOnly, Expr::value(false))
            .filter(session::Column::Id.eq(auth.session_id))
            .filter(session::Column::EnrolmentOnly.eq(true))
            .exec(&txn)
            .await?;
    }
    txn.commit().await?;
    Ok(())
}

/// `disableTwoFactor`: switches two-factor off, given the password, unless
/// the user is staff or their organisation requires it.
pub async fn disable_two_factor(app: &App, caller: &Caller<'_>, password: &str) -> ApiResult<()> {
    let auth = caller.user()?;
    input::max_len("password", password, input::MAX_PASSWORD)?;
    let user = load(&app.db, auth).await?;
    if user.kind == UserKind::Staff {
        return Err(ApiError::Conflict(
            "Staff accounts always use two-factor sign-in, so it cannot be turned off.".into(),
        ));
    }
    let org = organisation_of(&app.db, &user).await?;
    if login::required(org.as_ref()) {
        return Err(ApiError::Conflict(
            "Your organisation requires two-factor sign-in, so it cannot be turned off.".into(),
        ));
    }
    check_own_password(app, caller, &user, password).await?;
    let txn = platform::db::begin_write(&app.db).await?;
    let user = load_locked(&txn, auth).await?;
    let before = user.two_factor_method;
    if before == TwoFactorMethod::None {
        return Ok(());
    }
    let mut active = user.clone().into_active_model();
    active.two_factor_method = Set(TwoFactorMethod::None);
    active.totp_secret = Set(None);
    active.totp_last_step = Set(None);
    active.updated_at = Set(Utc::now());
    let user = active.update(&txn).await?;
    recovery_code::Entity::delete_many()
        .filter(recovery_code::Column::UserId.eq(user.id))
        .exec(&txn)
        .await?;
    challenge::close_open(&txn, user.id, &[ChallengePurpose::EnableTwoFactor]).await?;
    audit::record(
        &txn,
        &caller.actor,
        Entry {
            action: "two_factor.disabled",
            target_type: "user",
            target_id: Some(user.id),
            organisation_id: user.organisation_id,
        },
        Some(json!({ "two_factor_method": before })),
        Some(json!({ "two_factor_method": TwoFactorMethod::None })),
    )
    .await?;
    tell(&txn, &user, TwoFactorMethod::None).await?;
    txn.commit().await?;
    Ok(())
}

/// `generateRecoveryCodes`: a new set, shown once (module docs).
pub async fn generate_recovery_codes(
    app: &App,
    caller: &Caller<'_>,
    password: &str,
) -> ApiResult<Vec<String>> {
    let auth = own_account(caller)?;
    let user = load(&app.db, auth).await?;
    check_own_password(app, caller, &user, password).await?;
    let txn = platform::db::begin_write(&app.db).await?;
    let user = load_locked(&txn, auth).await?;
    if user.two_factor_method == TwoFactorMethod::None {
        return Err(ApiError::Conflict(
            "Recovery codes stand in for a second factor: set up two-factor sign-in first.".into(),
        ));
    }
    let codes = recovery::regenerate(&txn, &caller.actor, &user).await?;
    txn.commit().await?;
    Ok(codes)
}

/// `declineTwoFactorSetup` ("Later"): records the answer, so the offer
/// comes back after [`login::OFFER_AGAIN`].
pub async fn decline_setup(app: &App, caller: &Caller<'_>) -> ApiResult<()> {
    let auth = caller.user()?;
    let txn = platform::db::begin_write(&app.db).await?;
    let user = load_locked(&txn, auth).await?;
    if user.two_factor_method != TwoFactorMethod::None {
        return Err(ApiError::Conflict(
            "Two-factor sign-in is already on.".into(),
        ));
    }
    let now = Utc::now();
    let mut active = user.clone().into_active_model();
    active.two_factor_declined_at = Set(Some(now));
    active.updated_at = Set(now);
    active.update(&txn).await?;
    audit::record(
        &txn,
        &caller.actor,
        Entry {
            action: "two_factor.declined",
            target_type: "user",
            target_id: Some(user.id),
            organisation_id: user.organisation_id,
        },
        Some(json!({ "two_factor_declined_at": user.two_factor_declined_at })),
        Some(
            json!({ "two_factor_declined_at": now, "offered_again_at": now + login::OFFER_AGAIN }),
        ),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}
