//! Two-factor challenges: one step that a 6-digit code, sent by email or SMS,
//! must complete (the second step of signing in, confirming a new mobile
//! number, switching two-factor on, changing one's mobile number).
//!
//! A challenge is a `two_factor_challenges` row plus an opaque **challenge
//! token** that the client holds between the steps (256 bits from the OS
//! CSPRNG, shown once, stored as its SHA-256 like session tokens). The token
//! says "this caller has passed the steps before this one"; the code says "and
//! holds the mailbox or the phone".
//!
//! Codes:
//! - 6 digits drawn uniformly from the OS CSPRNG.
//! - Stored only as `sha256(challenge id ‖ code)`. A fast hash is enough
//!   here, unlike for passwords: a code lives 15 minutes, a challenge allows 5
//!   guesses, and guessing is rate-limited per account and per address, so the
//!   hash only has to keep a database reader from reading codes off the table.
//!   The challenge id salts it, so equal codes do not give equal hashes.
//! - Valid for [`CODE_TTL`]; single use (`consumed_at`, set with the row
//!   locked, so two concurrent right answers cannot both pass).
//! - [`MAX_WRONG_CODES`] wrong codes lock the challenge for good: the user
//!   starts the step again (for sign-in: enters the password again).
//! - Re-sending makes a new code and invalidates the old one, keeps the count
//!   of wrong codes (re-sending cannot buy more guesses), and is limited to
//!   [`MAX_SENDS`] per challenge on top of the per-account limit.
//! - A sign-in that may not send a code (the account's code-send limit is
//!   used up) gets the step all the same ([`super::login`]): the open
//!   sign-in challenge whose code still works, under a new token
//!   ([`reissue_live`]), or else a challenge that has sent nothing yet, whose
//!   first code `resendTwoFactorCode` sends once the limit allows.
//! - A code is written to the outbox (`notifications::queue_*`) in the same
//!   transaction as its hash, so the message goes out exactly when the code
//!   that it carries is the valid one.
//!
//! Opening a challenge closes the user's other open challenges of the same
//! flow (sign-in, enabling two-factor, or changing the mobile number), so there is at most one live
//! sign-in challenge per user and an attacker cannot multiply their guesses by
//! opening many.

use chrono::{DateTime, Duration, Utc};
use rand::{Rng, rngs::OsRng};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait,
    IntoActiveModel, QueryFilter, QueryOrder, QuerySelect, Set, sea_query::Expr,
};
use serde_json::json;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use entities::{ChallengePurpose, TwoFactorChannel, two_factor_challenge, user};

use super::{input, phone, throttle};
use crate::{
    app::App,
    audit::{self, Actor, Entry},
    auth::{ClientInfo, token},
    error::{ApiError, ApiResult},
    notifications::templates::{EmailTemplate, SmsTemplate},
    notifications::{self, Recipient},
};

/// How long a code is valid.
pub const CODE_TTL: Duration = Duration::minutes(15);
/// Wrong codes allowed before the challenge locks.
pub const MAX_WRONG_CODES: i32 = 5;
/// Codes one challenge may send (the first one included).
pub const MAX_SENDS: i32 = 5;
/// Prefix of challenge tokens.
const PREFIX: &str = "pc_";

/// What the client is told about an open challenge.
#[derive(Debug, Clone)]
pub struct ChallengeView {
    /// The challenge token (the only time it is shown).
    pub token: String,
    /// Where the code went.
    pub channel: TwoFactorChannel,
    /// The destination, masked: `p****@****.example`, `07*** ***123`.
    pub masked_destination: String,
    /// Whether a code was sent by email or SMS for this step: false for an
    /// authenticator app, and while the account's code-send limit holds the
    /// first code back.
    pub code_sent: bool,
    /// When the limit held the code back: seconds until
    /// `resendTwoFactorCode` can send it.
    pub resend_after_secs: Option<u64>,
    /// When the current code expires.
    pub expires_at: DateTime<Utc>,
}

/// A challenge whose code was right: the row is marked used inside `txn`,
/// which the caller finishes (or drops, undoing it) after acting on it.
pub struct Verified {
    /// The open transaction, holding the challenge and the user row locked.
    pub txn: DatabaseTransaction,
    /// The challenge, as it was before it was marked used.
    pub challenge: two_factor_challenge::Model,
    /// Its user.
    pub user: user::Model,
    /// For an authenticator-app code: the time step it belongs to (stored as
    /// the last one used, so the code works once).
    pub totp_step: Option<i64>,
    /// For a recovery code: the code's row, already marked used in `txn`.
    pub recovery_code: Option<entities::recovery_code::Model>,
}

/// What the user answered a challenge with.
#[derive(Debug, Clone, Copy)]
pub enum Answer<'a> {
    /// The 6-digit code sent by email or SMS, or shown by the authenticator
    /// app.
    Code(&'a str),
    /// One of the user's recovery codes (sign-in only).
    RecoveryCode(&'a str),
}

/// Which purposes belong to the same flow (and close each other).
fn flow(purpose: ChallengePurpose) -> &'static [ChallengePurpose] {
    match purpose {
        ChallengePurpose::Login | ChallengePurpose::ConfirmMobile => {
            &[ChallengePurpose::Login, ChallengePurpose::ConfirmMobile]
        }
        ChallengePurpose::EnableTwoFactor => &[ChallengePurpose::EnableTwoFactor],
        ChallengePurpose::ChangeMobile => &[ChallengePurpose::ChangeMobile],
    }
}

fn restart_hint(purpose: ChallengePurpose) -> &'static str {
    match purpose {
        ChallengePurpose::Login | ChallengePurpose::ConfirmMobile => "Start again by signing in.",
        ChallengePurpose::EnableTwoFactor | ChallengePurpose::ChangeMobile => {
            "Start again from your profile."
        }
    }
}

/// The answer for an unknown, used, closed or foreign challenge token.
pub fn invalid(purpose: ChallengePurpose) -> ApiError {
    ApiError::bad_input(
        "challengeToken",
        format!(
            "This step has expired or is no longer valid. {}",
            restart_hint(purpose)
        ),
    )
}

fn locked(purpose: ChallengePurpose) -> ApiError {
    ApiError::bad_input(
        "challengeToken",
        format!(
            "Too many wrong codes were entered. {}",
            restart_hint(purpose)
        ),
    )
}

/// The answer for a code check or re-send on a step that has sent no code
/// yet: a mobile-number step before the number was entered, or a sign-in
/// that came while the account's code-send limit was used up
/// ([`super::login`]).
pub fn not_sent(purpose: ChallengePurpose) -> ApiError {
    let message = match purpose {
        ChallengePurpose::ConfirmMobile => {
            "Enter your mobile number first: we will send the code to it."
        }
        ChallengePurpose::Login
        | ChallengePurpose::EnableTwoFactor
        | ChallengePurpose::ChangeMobile => {
            "No code has been sent for this step yet, because several codes were sent to you in \
             the last few minutes. Ask for a new code once the wait is over."
        }
    };
    ApiError::bad_input("challengeToken", message)
}

/// A new code: 6 digits, uniform, from the OS CSPRNG.
fn generate_code() -> String {
    format!("{:06}", OsRng.gen_range(0..1_000_000u32))
}

/// The stored form of a code.
fn hash_code(challenge_id: Uuid, code: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(challenge_id.as_bytes());
    hasher.update(code.as_bytes());
    hex::encode(hasher.finalize())
}

/// An email address with most of it hidden, as the Ombudsman portal shows it:
/// `p****@****.example`. Lengths are not revealed.
pub fn mask_email(email: &str) -> String {
    let (local, domain) = email.rsplit_once('@').unwrap_or((email, ""));
    let first = local.chars().next().map(String::from).unwrap_or_default();
    let tld = domain
        .rsplit_once('.')
        .map(|(_, tld)| format!(".{tld}"))
        .unwrap_or_default();
    format!("{first}****@****{tld}")
}

/// Where a challenge's code goes: the mobile number it is confirming, or the
/// account's email address.
fn destination(challenge: &two_factor_challenge::Model, user: &user::Model) -> Option<String> {
    match challenge.channel {
        TwoFactorChannel::Email => Some(user.email.clone()),
        TwoFactorChannel::Sms => challenge.destination.clone(),
        TwoFactorChannel::AuthenticatorApp => None,
    }
}

/// What the client sees of a challenge.
pub fn view(
    challenge: &two_factor_challenge::Model,
    user: &user::Model,
    token: String,
) -> ChallengeView {
    let masked_destination = match (challenge.channel, destination(challenge, user)) {
        (TwoFactorChannel::Email, Some(email)) => mask_email(&email),
        (TwoFactorChannel::Sms, Some(number)) => phone::mask(&number),
        (TwoFactorChannel::AuthenticatorApp, _) => "your authenticator app".to_owned(),
        (_, None) => String::new(),
    };
    ChallengeView {
        token,
        channel: challenge.channel,
        masked_destination,
        code_sent: challenge.sends > 0,
        resend_after_secs: None,
        expires_at: challenge.expires_at,
    }
}

/// Closes the user's open challenges of `purposes` (a password change, a new
/// sign-in or a new attempt at enabling two-factor makes them moot).
pub async fn close_open(
    conn: &impl ConnectionTrait,
    user_id: Uuid,
    purposes: &[ChallengePurpose],
) -> ApiResult<()> {
    two_factor_challenge::Entity::update_many()
        .col_expr(
            two_factor_challenge::Column::ConsumedAt,
            Expr::value(Some(Utc::now())),
        )
        .filter(two_factor_challenge::Column::UserId.eq(user_id))
        .filter(two_factor_challenge::Column::Purpose.is_in(purposes.iter().copied()))
        .filter(two_factor_challenge::Column::ConsumedAt.is_null())
        .filter(two_factor_challenge::Column::LockedAt.is_null())
        .exec(conn)
        .await?;
    Ok(())
}

/// Opens a challenge without sending anything yet (the caller sends with
/// [`send`], or, for a mobile number still to be entered, later). Returns the
/// row and the raw challenge token.
pub async fn open(
    conn: &impl ConnectionTrait,
    user: &user::Model,
    purpose: ChallengePurpose,
    channel: TwoFactorChannel,
    destination: Option<String>,
) -> ApiResult<(two_factor_challenge::Model, String)> {
    close_open(conn, user.id, flow(purpose)).await?;
    let raw = token::generate(PREFIX);
    let now = Utc::now();
    let row = two_factor_challenge::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(user.id),
        purpose: Set(purpose),
        channel: Set(channel),
        challenge_token_hash: Set(token::hash(&raw)),
        // No code yet: the empty string is never a code's hash.
        code_hash: Set(String::new()),
        destination: Set(destination),
        attempts: Set(0),
        sends: Set(0),
        expires_at: Set(now + CODE_TTL),
        consumed_at: Set(None),
        locked_at: Set(None),
        created_at: Set(now),
    }
    .insert(conn)
    .await?;
    Ok((row, raw))
}

/// The user's open sign-in challenge whose code, sent by `channel` (to
/// `destination`, for SMS), still works, under a new challenge token (the
/// old token stops working); `None` when there is none. Its code, expiry,
/// sends and count of wrong codes stay as they are, so the code the user
/// already has completes the step and no guesses are gained. Used by a
/// sign-in that may not send a new code ([`super::login`]); the caller holds
/// the user row locked.
pub async fn reissue_live(
    conn: &impl ConnectionTrait,
    user: &user::Model,
    channel: TwoFactorChannel,
    destination: Option<&str>,
) -> ApiResult<Option<(two_factor_challenge::Model, String)>> {
    let now = Utc::now();
    let live = two_factor_challenge::Entity::find()
        .filter(two_factor_challenge::Column::UserId.eq(user.id))
        .filter(two_factor_challenge::Column::Purpose.eq(ChallengePurpose::Login))
        .filter(two_factor_challenge::Column::Channel.eq(channel))
        .filter(two_factor_challenge::Column::ConsumedAt.is_null())
        .filter(two_factor_challenge::Column::LockedAt.is_null())
        .filter(two_factor_challenge::Column::Sends.gt(0))
        .filter(two_factor_challenge::Column::ExpiresAt.gt(now))
        .order_by_desc(two_factor_challenge::Column::Id)
        .one(conn)
        .await?
        .filter(|c| channel == TwoFactorChannel::Email || c.destination.as_deref() == destination);
    let Some(live) = live else {
        return Ok(None);
    };
    let raw = token::generate(PREFIX);
    let mut active = live.into_active_model();
    active.challenge_token_hash = Set(token::hash(&raw));
    Ok(Some((active.update(conn).await?, raw)))
}

/// Sends a new code for `challenge` (replacing any earlier one) and queues the
/// email or SMS in the same transaction. The caller has counted the send
/// against the account ([`throttle::code_send`]).
pub async fn send(
    conn: &impl ConnectionTrait,
    challenge: two_factor_challenge::Model,
    user: &user::Model,
) -> ApiResult<two_factor_challenge::Model> {
    if challenge.sends >= MAX_SENDS {
        return Err(ApiError::bad_input(
            "challengeToken",
            format!(
                "Too many codes have been sent for this step. {}",
                restart_hint(challenge.purpose)
            ),
        ));
    }
    let Some(address) = destination(&challenge, user) else {
        return Err(ApiError::Internal(anyhow::anyhow!(
            "challenge {} has no destination",
            challenge.id
        )));
    };
    let code = generate_code();
    let mut active = challenge.clone().into_active_model();
    active.code_hash = Set(hash_code(challenge.id, &code));
    active.sends = Set(challenge.sends + 1);
    active.expires_at = Set(Utc::now() + CODE_TTL);
    let updated = active.update(conn).await?;

    let to = Recipient {
        address,
        user_id: Some(user.id),
    };
    let valid_minutes = CODE_TTL.num_minutes();
    match challenge.channel {
        TwoFactorChannel::Email => {
            notifications::queue_email(
                conn,
                &to,
                EmailTemplate::TwoFactorCode,
                json!({ "first_name": user.first_name, "code": code, "valid_minutes": valid_minutes }),
            )
            .await?;
        }
        TwoFactorChannel::Sms => {
            // A sign-in code goes to the number the user already proved; any
            // other purpose is proving a number, which its text says.
            let template = match challenge.purpose {
                ChallengePurpose::Login => SmsTemplate::TwoFactorCode,
                _ => SmsTemplate::ConfirmMobileCode,
            };
            notifications::queue_sms(
                conn,
                &to,
                template,
                json!({ "code": code, "valid_minutes": valid_minutes }),
            )
            .await?;
        }
        TwoFactorChannel::AuthenticatorApp => {}
    }
    Ok(updated)
}

/// Like [`send`], except that when `deliver` is false nothing goes out: the
/// step looks exactly as if a code had been sent (a new code's hash, one
/// more send, a new expiry), but nobody receives the code. For a mobile
/// number another account holds, so the answer does not tell whether a
/// number is registered (the caller has counted the send all the same).
pub async fn send_or_withhold(
    conn: &impl ConnectionTrait,
    challenge: two_factor_challenge::Model,
    user: &user::Model,
    deliver: bool,
) -> ApiResult<two_factor_challenge::Model> {
    if deliver {
        return send(conn, challenge, user).await;
    }
    if challenge.sends >= MAX_SENDS {
        return send(conn, challenge, user).await;
    }
    let mut active = challenge.clone().into_active_model();
    active.code_hash = Set(hash_code(challenge.id, &generate_code()));
    active.sends = Set(challenge.sends + 1);
    active.expires_at = Set(Utc::now() + CODE_TTL);
    Ok(active.update(conn).await?)
}

/// Finds a challenge by its token among `purposes`, whatever its state.
pub async fn find(
    conn: &impl ConnectionTrait,
    raw_token: &str,
    purposes: &[ChallengePurpose],
) -> ApiResult<Option<two_factor_challenge::Model>> {
    if raw_token.len() > input::MAX_TOKEN {
        return Ok(None);
    }
    Ok(two_factor_challenge::Entity::find()
        .filter(two_factor_challenge::Column::ChallengeTokenHash.eq(token::hash(raw_token)))
        .filter(two_factor_challenge::Column::Purpose.is_in(purposes.iter().copied()))
        .one(conn)
        .await?)
}

/// Finds an open (not used, not locked) challenge and its user, locking both
/// rows inside `txn`. The user must still be allowed to sign in.
pub async fn find_open(
    txn: &DatabaseTransaction,
    raw_token: &str,
    purposes: &[ChallengePurpose],
) -> ApiResult<(two_factor_challenge::Model, user::Model)> {
    let fallback = purposes[0];
    let Some(found) = find(txn, raw_token, purposes).await? else {
        return Err(invalid(fallback));
    };
    lock(txn, &found).await
}

/// Locks a challenge and its user, in that order of rows: user first, as
/// every other identity write does (sign-in, enabling two-factor, password
/// changes lock the user, then touch their challenges), so two requests for
/// the same user cannot deadlock on PostgreSQL.
async fn lock(
    txn: &DatabaseTransaction,
    found: &two_factor_challenge::Model,
) -> ApiResult<(two_factor_challenge::Model, user::Model)> {
    let user = user::Entity::find_by_id(found.user_id)
        .lock_exclusive()
        .one(txn)
        .await?;
    let challenge = two_factor_challenge::Entity::find_by_id(found.id)
        .lock_exclusive()
        .one(txn)
        .await?
        .ok_or_else(|| invalid(found.purpose))?;
    if challenge.consumed_at.is_some() {
        return Err(invalid(challenge.purpose));
    }
    if challenge.locked_at.is_some() {
        return Err(locked(challenge.purpose));
    }
    let user = user
        .filter(|u| u.status == entities::UserStatus::Active)
        .ok_or_else(|| invalid(challenge.purpose))?;
    Ok((challenge, user))
}

/// Checks a code against the challenge named by `raw_token` (one of
/// `purposes`). A wrong code is counted (and commits, so the count sticks);
/// the last allowed wrong code locks the challenge. A right code marks the
/// challenge used and hands back the open transaction.
pub async fn verify(
    app: &App,
    client: &ClientInfo,
    raw_token: &str,
    answer: Answer<'_>,
    purposes: &[ChallengePurpose],
) -> ApiResult<Verified> {
    // Checked before anything is looked up: a malformed answer costs no
    // guess.
    let (code, recovery) = match answer {
        Answer::Code(raw) => (Some(input::code("code", raw)?), None),
        Answer::RecoveryCode(raw) => (None, Some(super::recovery::normalize(raw)?)),
    };
    throttle::code_check_address(app, client).await?;
    let Some(found) = find(&app.db, raw_token, purposes).await? else {
        return Err(invalid(purposes[0]));
    };
    throttle::code_check_account(app, found.user_id).await?;

    let txn = platform::db::begin_write(&app.db).await?;
    let (challenge, user) = lock(&txn, &found).await?;
    let sent_code = matches!(answer, Answer::Code(_))
        && challenge.channel != TwoFactorChannel::AuthenticatorApp;
    if sent_code && challenge.sends == 0 {
        // Nothing was sent: a mobile-number step before a number was
        // entered, or a sign-in over the code-send limit.
        return Err(not_sent(challenge.purpose));
    }
    let now = Utc::now();
    if now >= challenge.expires_at {
        return Err(match answer {
            Answer::Code(_) if sent_code => {
                ApiError::bad_input("code", "This code has expired. Ask for a new code.")
            }
            _ => invalid(challenge.purpose),
        });
    }
    let (mut totp_step, mut recovery_code) = (None, None);
    let right = match (code, recovery) {
        (None, Some(normalized)) => {
            if challenge.purpose != ChallengePurpose::Login {
                return Err(invalid(challenge.purpose));
            }
            recovery_code = super::recovery::take(&txn, user.id, &normalized, now).await?;
            recovery_code.is_some()
        }
        (Some(code), _) if challenge.channel == TwoFactorChannel::AuthenticatorApp => {
            // Signing in checks the account's secret; setting an app up
            // checks the new secret the step holds.
            let (secret, last) = match challenge.purpose {
                ChallengePurpose::Login => (user.totp_secret.as_deref(), user.totp_last_step),
                _ => (challenge.destination.as_deref(), None),
            };
            totp_step = secret.and_then(|s| super::totp::verify(s, &code, now, last));
            totp_step.is_some()
        }
        // Comparing hex digests of salted hashes: an early mismatch tells a
        // timing attacker about the hash, not about the code.
        (Some(code), _) => hash_code(challenge.id, &code) == challenge.code_hash,
        (None, None) => false,
    };
    let field = match answer {
        Answer::Code(_) => "code",
        Answer::RecoveryCode(_) => "recoveryCode",
    };
    if !right {
        let attempts = challenge.attempts + 1;
        let now_locked = attempts >= MAX_WRONG_CODES;
        let mut active = challenge.clone().into_active_model();
        active.attempts = Set(attempts);
        if now_locked {
            active.locked_at = Set(Some(now));
        }
        active.update(&txn).await?;
        if now_locked {
            audit::record(
                &txn,
                &Actor::of(&crate::auth::Viewer::Anonymous, client),
                Entry {
                    action: "two_factor.locked",
                    target_type: "user",
                    target_id: Some(user.id),
                    organisation_id: user.organisation_id,
                },
                None,
                Some(json!({ "purpose": challenge.purpose, "wrong_codes": attempts })),
            )
            .await?;
        }
        txn.commit().await?;
        if now_locked {
            return Err(locked(challenge.purpose));
        }
        let left = MAX_WRONG_CODES - attempts;
        let what = match answer {
            Answer::Code(_) => "The code is not correct",
            Answer::RecoveryCode(_) => {
                "This recovery code is not one of yours, or it has been used"
            }
        };
        return Err(ApiError::bad_input(
            field,
            format!(
                "{what}. You can try {left} more time{}.",
                if left == 1 { "" } else { "s" }
            ),
        ));
    }
    two_factor_challenge::Entity::update_many()
        .col_expr(
            two_factor_challenge::Column::ConsumedAt,
            Expr::value(Some(now)),
        )
        .filter(two_factor_challenge::Column::Id.eq(challenge.id))
        .exec(&txn)
        .await?;
    Ok(Verified {
        txn,
        challenge,
        user,
        totp_step,
        recovery_code,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_six_digits() {
        for _ in 0..1000 {
            let code = generate_code();
            assert_eq!(code.len(), 6);
            assert!(code.bytes().all(|b| b.is_ascii_digit()));
        }
    }

    #[test]
    fn code_hashes_are_salted_by_the_challenge() {
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        assert_eq!(hash_code(a, "123456"), hash_code(a, "123456"));
        assert_ne!(hash_code(a, "123456"), hash_code(b, "123456"));
        assert_ne!(hash_code(a, "123456"), hash_code(a, "123457"));
    }

    #[test]
    fn emails_are_masked_without_their_length() {
        assert_eq!(
            mask_email("priya.shah@northside-housing.example"),
            "p****@****.example"
        );
        assert_eq!(mask_email("a@b"), "a****@****");
    }
}
