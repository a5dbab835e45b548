//! The signed-in user's own account: what `viewer` shows, and their contact
//! details. Second factors are in [`super::factors`].
//!
//! Contact details:
//! - `updateMyAddress(address)`: **residents only**. A landlord user's
//!   address is their organisation's and staff keep none, so for them it is
//!   `FORBIDDEN`. Trimmed, line breaks kept (`\r\n` becomes `\n`), at most
//!   [`MAX_ADDRESS`] characters, no other control characters; null or blank
//!   clears it. Audited (`profile.address_changed`, before and after); an
//!   unchanged address records nothing.
//! - `changeMyMobileNumber(mobileNumber, password)` then
//!   `confirmMyMobileNumber(challengeToken, code)`: **residents and landlord
//!   users**. Staff are `FORBIDDEN`: a staff account's contact details are
//!   kept by the service, and staff move their SMS codes to a new number with
//!   `enableTwoFactor(SMS, mobileNumber)`, which proves it the same way. The
//!   first step parses a UK mobile ([`phone`]; `BAD_USER_INPUT` on
//!   `mobileNumber` otherwise, or for the number already on the account) and
//!   texts a code to the NEW number (to a number another account holds,
//!   nothing, with the same answer: numbers cannot be probed) through
//!   the challenge machinery ([`challenge`], purpose `CHANGE_MOBILE`: 15
//!   minutes, single use, 5 wrong codes lock it, code sends rate-limited per
//!   account). Nothing changes until the second step gets the right code:
//!   then the number is the account's (clearing a pending reset), audited
//!   (`profile.mobile_changed`, numbers masked), and a "your mobile number was
//!   changed" email goes to the account's address. The account has one mobile
//!   number, so for a user with SMS two-factor the new number is also where
//!   sign-in codes go from then on, and only from then on.

use chrono::SecondsFormat;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter,
    QuerySelect, Set, SqlErr,
};
use serde_json::json;

use entities::{
    ChallengePurpose, Permission, TwoFactorChannel, TwoFactorMethod, UserKind, organisation, user,
    user_permission,
};

use super::{
    challenge::{self, ChallengeView},
    login::{self, organisation_of},
    phone, throttle,
};
use crate::{
    app::App,
    audit::{self, Entry},
    error::{ApiError, ApiResult},
    notifications::{self, Recipient, templates::EmailTemplate},
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
    /// Their unused recovery codes.
    pub recovery_codes_remaining: u64,
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
    let recovery_codes_remaining = super::recovery::remaining(conn, user.id).await?;
    Ok(Profile {
        user,
        organisation,
        permissions,
        recovery_codes_remaining,
    })
}

/// The longest postal address kept, in characters.
pub const MAX_ADDRESS: usize = 500;

/// An address as typed, as it is stored: trimmed, `\r\n` as `\n`, blank as
/// none; too long or with control characters other than line breaks and
/// tabs is `BAD_USER_INPUT` on `address`.
fn normalize_address(raw: Option<&str>) -> ApiResult<Option<String>> {
    let Some(raw) = raw else {
        return Ok(None);
    };
    let text = raw.replace("\r\n", "\n");
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    if text.chars().count() > MAX_ADDRESS {
        return Err(ApiError::bad_input(
            "address",
            format!("The address can have at most {MAX_ADDRESS} characters."),
        ));
    }
    if text
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(ApiError::bad_input(
            "address",
            "The address can only contain text and line breaks.",
        ));
    }
    Ok(Some(text.to_owned()))
}

/// `updateMyAddress`: a resident sets or clears their postal address (module
/// docs).
pub async fn update_my_address(
    app: &App,
    caller: &Caller<'_>,
    address: Option<&str>,
) -> ApiResult<()> {
    let auth = caller.user()?;
    if auth.kind != UserKind::Resident {
        return Err(ApiError::Forbidden);
    }
    let address = normalize_address(address)?;
    let txn = platform::db::begin_write(&app.db).await?;
    let user = user::Entity::find_by_id(auth.id)
        .lock_exclusive()
        .one(&txn)
        .await?
        .ok_or(ApiError::Unauthenticated)?;
    if user.address == address {
        return Ok(());
    }
    let mut active = user.clone().into_active_model();
    active.address = Set(address.clone());
    active.updated_at = Set(chrono::Utc::now());
    active.update(&txn).await?;
    audit::record(
        &txn,
        &caller.actor,
        Entry {
            action: "profile.address_changed",
            target_type: "user",
            target_id: Some(user.id),
            organisation_id: user.organisation_id,
        },
        Some(json!({ "address": user.address })),
        Some(json!({ "address": address })),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Residents and landlord users change their own mobile number; staff are
/// `FORBIDDEN` (module docs).
fn may_change_mobile<'a>(caller: &Caller<'a>) -> ApiResult<&'a crate::auth::AuthUser> {
    let auth = caller.user()?;
    match auth.kind {
        UserKind::Resident | UserKind::Landlord => Ok(auth),
        UserKind::Staff => Err(ApiError::Forbidden),
    }
}

/// `changeMyMobileNumber`: texts a code to the new number (module docs).
pub async fn change_my_mobile_number(
    app: &App,
    caller: &Caller<'_>,
    mobile_number: &str,
    password: &str,
) -> ApiResult<ChallengeView> {
    let auth = may_change_mobile(caller)?;
    let number = phone::parse_uk_mobile("mobileNumber", mobile_number)?;
    let current = load(&app.db, auth.id).await?.user;
    super::factors::check_own_password(app, caller, &current, password).await?;
    let txn = platform::db::begin_write(&app.db).await?;
    let user = user::Entity::find_by_id(auth.id)
        .lock_exclusive()
        .one(&txn)
        .await?
        .ok_or(ApiError::Unauthenticated)?;
    let on_file = user
        .mobile_number
        .as_deref()
        .filter(|_| !user.mobile_reset_pending);
    if on_file == Some(number.as_str()) {
        return Err(ApiError::bad_input(
            "mobileNumber",
            "This is already your mobile number. Enter the new number.",
        ));
    }
    // Counted first; a number another account holds gets the same answer,
    // with nothing sent (the answer does not tell which are registered).
    throttle::code_send(app, user.id).await?;
    let free = login::number_free(&txn, &number, user.id).await?;
    let (row, raw) = challenge::open(
        &txn,
        &user,
        ChallengePurpose::ChangeMobile,
        TwoFactorChannel::Sms,
        Some(number),
    )
    .await?;
    let row = challenge::send_or_withhold(&txn, row, &user, free).await?;
    txn.commit().await?;
    Ok(challenge::view(&row, &user, raw))
}

/// `confirmMyMobileNumber`: the code texted by `changeMyMobileNumber` makes
/// the new number the account's, and the account's email address is told.
pub async fn confirm_my_mobile_number(
    app: &App,
    caller: &Caller<'_>,
    raw_token: &str,
    code: &str,
) -> ApiResult<()> {
    let (auth, client) = (may_change_mobile(caller)?, &caller.client);
    let purposes = [ChallengePurpose::ChangeMobile];
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
        ..
    } = challenge::verify(
        app,
        client,
        raw_token,
        challenge::Answer::Code(code),
        &purposes,
    )
    .await?;
    let number = challenge.destination.clone().ok_or_else(|| {
        ApiError::Internal(anyhow::anyhow!(
            "challenge {} confirmed no number",
            challenge.id
        ))
    })?;
    login::ensure_number_free(&txn, &number, user.id).await?;
    let now = chrono::Utc::now();
    let mut active = user.clone().into_active_model();
    active.mobile_number = Set(Some(number.clone()));
    active.mobile_reset_pending = Set(false);
    active.updated_at = Set(now);
    active.update(&txn).await.map_err(|e| match e.sql_err() {
        // The unique index on live numbers caught a concurrent claim.
        Some(SqlErr::UniqueConstraintViolation(_)) => ApiError::bad_input(
            "mobileNumber",
            "This number cannot be used for this account. Enter a different mobile number.",
        ),
        _ => e.into(),
    })?;
    let sms_two_factor = user.two_factor_method == TwoFactorMethod::Sms;
    audit::record(
        &txn,
        &caller.actor,
        Entry {
            action: "profile.mobile_changed",
            target_type: "user",
            target_id: Some(user.id),
            organisation_id: user.organisation_id,
        },
        Some(json!({
            "mobile_number": user.mobile_number.as_deref().map(phone::mask),
            "mobile_reset_pending": user.mobile_reset_pending,
        })),
        Some(json!({
            "mobile_number": phone::mask(&number),
            "mobile_reset_pending": false,
            "sms_two_factor": sms_two_factor,
        })),
    )
    .await?;
    let ending: String = number
        .chars()
        .skip(number.len().saturating_sub(3))
        .collect();
    notifications::queue_email(
        &txn,
        &Recipient {
            address: user.email.clone(),
            user_id: Some(user.id),
        },
        EmailTemplate::MobileChanged,
        json!({
            "first_name": user.first_name,
            "changed_at": now.to_rfc3339_opts(SecondsFormat::Secs, true),
            "mobile_number_ending": ending,
        }),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_trimmed_and_blank_clears() {
        assert_eq!(normalize_address(None).unwrap(), None);
        assert_eq!(normalize_address(Some("  \n ")).unwrap(), None);
        assert_eq!(
            normalize_address(Some(" 1 High Street\r\nNorthtown NT1 1AA \n")).unwrap(),
            Some("1 High Street\nNorthtown NT1 1AA".to_owned())
        );
    }

    #[test]
    fn long_or_odd_addresses_are_refused() {
        assert!(normalize_address(Some(&"a".repeat(MAX_ADDRESS))).is_ok());
        assert!(normalize_address(Some(&"é".repeat(MAX_ADDRESS + 1))).is_err());
        assert!(normalize_address(Some("1 High Street\u{0}")).is_err());
    }
}
