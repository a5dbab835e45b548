//! The signed-in user's own account: what `viewer` shows, and switching
//! two-factor sign-in on and off.
//!
//! Switching it on is two steps, so that nobody ends up with a second factor
//! they cannot receive: `enableTwoFactor(method)` sends a code by the chosen
//! channel and `confirmTwoFactor(challengeToken, code)` switches the method
//! on. For SMS the code goes to the number given (`mobileNumber`, which then
//! becomes the account's number once confirmed) or, when none is given, to the
//! number on file. Enabling the method already in use (same number) is a
//! `CONFLICT`.
//!
//! Switching it off asks for the password (a borrowed session alone must not
//! be enough), and is refused with a `CONFLICT` that says why when the
//! organisation requires two-factor.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter,
    QuerySelect, Set,
};
use serde_json::json;

use entities::{
    ChallengePurpose, Permission, TwoFactorChannel, TwoFactorMethod, organisation, user,
    user_permission,
};

use super::{
    challenge::{self, ChallengeView},
    input,
    login::{self, organisation_of},
    phone, throttle,
};
use crate::{
    app::App,
    audit::{self, Entry},
    error::{ApiError, ApiResult},
    policy::{self, Caller},
};

/// Everything `viewer` shows about the signed-in user.
#[derive(Debug, Clone)]
pub struct Profile {
    /// The account.
    pub user: user::Model,
    /// Their landlord organisation, if any.
    pub organisation: Option<organisation::Model>,
    /// Their permissions (landlord users; empty otherwise).
    pub permissions: Vec<Permission>,
}

/// Loads a user's profile.
pub async fn load(conn: &impl ConnectionTrait, user_id: uuid::Uuid) -> ApiResult<Profile> {
    let user = user::Entity::find_by_id(user_id)
        .one(conn)
        .await?
        .ok_or(ApiError::Unauthenticated)?;
    let organisation = organisation_of(conn, &user).await?;
    let mut permissions: Vec<Permission> = user_permission::Entity::find()
        .filter(user_permission::Column::UserId.eq(user.id))
        .all(conn)
        .await?
        .into_iter()
        .map(|p| p.permission)
        .collect();
    // A stable order (the declaration order), whatever the rows' order.
    permissions.sort_by_key(|p| Permission::ALL.iter().position(|q| q == p));
    Ok(Profile {
        user,
        organisation,
        permissions,
    })
}

/// `enableTwoFactor`: sends a code by the chosen channel (module docs).
pub async fn enable_two_factor(
    app: &App,
    caller: &Caller<'_>,
    channel: TwoFactorChannel,
    mobile_number: Option<&str>,
) -> ApiResult<ChallengeView> {
    let auth = caller.user()?;
    let number = mobile_number
        .map(|m| phone::parse_uk_mobile("mobileNumber", m))
        .transpose()?;
    let txn = platform::db::begin_write(&app.db).await?;
    let user = user::Entity::find_by_id(auth.id)
        .lock_exclusive()
        .one(&txn)
        .await?
        .ok_or(ApiError::Unauthenticated)?;
    let destination = match channel {
        TwoFactorChannel::Email => {
            if number.is_some() {
                return Err(ApiError::bad_input(
                    "mobileNumber",
                    "A mobile number is only used for codes by SMS.",
                ));
            }
            if user.two_factor_method == TwoFactorMethod::Email {
                return Err(ApiError::Conflict(
                    "Two-factor sign-in by email is already on.".into(),
                ));
            }
            None
        }
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
            login::ensure_number_free(&txn, &number, user.id).await?;
            Some(number)
        }
    };
    throttle::code_send(app, user.id).await?;
    let (row, raw) = challenge::open(
        &txn,
        &user,
        ChallengePurpose::EnableTwoFactor,
        channel,
        destination,
    )
    .await?;
    let row = challenge::send(&txn, row, &user).await?;
    txn.commit().await?;
    Ok(challenge::view(&row, &user, raw, false))
}

/// `confirmTwoFactor`: the code from `enableTwoFactor` switches the method on
/// (and, for SMS, makes the number the account's).
pub async fn confirm_two_factor(
    app: &App,
    caller: &Caller<'_>,
    raw_token: &str,
    code: &str,
) -> ApiResult<()> {
    let (auth, client) = (caller.user()?, &caller.client);
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
    } = challenge::verify(app, client, raw_token, code, &purposes).await?;
    let user = match challenge.channel {
        TwoFactorChannel::Sms => login::store_mobile(&txn, client, &user, &challenge).await?,
        TwoFactorChannel::Email => user,
    };
    let method = match challenge.channel {
        TwoFactorChannel::Email => TwoFactorMethod::Email,
        TwoFactorChannel::Sms => TwoFactorMethod::Sms,
    };
    let before = user.two_factor_method;
    let mut active = user.clone().into_active_model();
    active.two_factor_method = Set(method);
    active.updated_at = Set(chrono::Utc::now());
    active.update(&txn).await?;
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
    txn.commit().await?;
    Ok(())
}

/// `disableTwoFactor`: switches two-factor off, given the password, unless
/// the organisation requires it.
pub async fn disable_two_factor(app: &App, caller: &Caller<'_>, password: &str) -> ApiResult<()> {
    let (auth, client) = (caller.user()?, &caller.client);
    input::max_len("password", password, input::MAX_PASSWORD)?;
    let user = user::Entity::find_by_id(auth.id)
        .one(&app.db)
        .await?
        .ok_or(ApiError::Unauthenticated)?;
    let org = organisation_of(&app.db, &user).await?;
    if login::required(org.as_ref()) {
        return Err(ApiError::Conflict(
            "Your organisation requires two-factor sign-in, so it cannot be turned off.".into(),
        ));
    }
    throttle::password_check(app, client, &user.email_normalized).await?;
    if !login::check_password(Some(&user), password).await? {
        return Err(ApiError::bad_input(
            "password",
            "Your password is not correct.",
        ));
    }
    let txn = platform::db::begin_write(&app.db).await?;
    let user = user::Entity::find_by_id(auth.id)
        .lock_exclusive()
        .one(&txn)
        .await?
        .ok_or(ApiError::Unauthenticated)?;
    let before = user.two_factor_method;
    if before == TwoFactorMethod::None {
        return Ok(());
    }
    let mut active = user.clone().into_active_model();
    active.two_factor_method = Set(TwoFactorMethod::None);
    active.updated_at = Set(chrono::Utc::now());
    active.update(&txn).await?;
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
    txn.commit().await?;
    Ok(())
}
