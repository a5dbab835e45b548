//! Recovery codes: ten single-use codes that stand in for the second factor
//! when the user cannot get a code (a lost phone, an authenticator app on a
//! wiped device), as GitHub, Ory Kratos and GOV.UK One Login offer.
//!
//! - `generateRecoveryCodes(password)` makes [`COUNT`] new codes and shows
//!   them once; the earlier set stops working. It needs the password (a
//!   borrowed session alone must not be able to mint a way in), is audited
//!   (`two_factor.recovery_codes_generated`) and tells the user by email.
//! - A code is 10 characters of base32 (50 bits from the OS CSPRNG), shown
//!   as `abcde-23456`; it is typed in any case, with or without the hyphen or
//!   spaces. Stored only as `sha256(user id ‖ code)`: a fast hash is enough
//!   for 50 random bits behind 5 guesses per sign-in step and the per-account
//!   and per-address guess limits.
//! - At sign-in, `verifyRecoveryCode(challengeToken, recoveryCode)` answers
//!   the second-factor step with a code instead of the 6-digit one. A wrong
//!   or used code counts as a wrong code on the step (5 end it). A right
//!   code is used up, the use is audited (`two_factor.recovery_code_used`,
//!   with the number left) and emailed to the account's address, and the
//!   sign-in continues (to the mobile-number step, if the number was reset).
//!   Recovery codes do not replace the method: the next sign-in asks for the
//!   usual code again, so the user should set up a method they can use and
//!   make new codes.

use chrono::{DateTime, SecondsFormat, Utc};
use data_encoding::BASE32_NOPAD;
use rand::{RngCore, rngs::OsRng};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, Set, sea_query::Expr,
};
use serde_json::json;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use entities::{ChallengePurpose, recovery_code, user};

use super::{
    challenge::{self, Answer},
    login::{self, Proven, SignInStep},
};
use crate::{
    app::App,
    audit::{self, Actor, Entry},
    auth::{ClientInfo, Viewer},
    error::{ApiError, ApiResult},
    notifications::{self, Recipient, templates::EmailTemplate},
};

/// Codes in a set.
pub const COUNT: usize = 10;
/// Characters in a code (without the hyphen).
const LEN: usize = 10;

/// One new code, as shown: `abcde-23456`.
fn generate() -> String {
    let mut bytes = [0u8; 7];
    OsRng.fill_bytes(&mut bytes);
    let text = BASE32_NOPAD.encode(&bytes).to_lowercase();
    format!("{}-{}", &text[..5], &text[5..LEN])
}

/// A code as typed, as it is hashed: lowercase, without spaces or hyphens.
/// Anything that cannot be a code is `BAD_USER_INPUT` on `recoveryCode`
/// before any guess is counted.
pub fn normalize(raw: &str) -> ApiResult<String> {
    let bad = || {
        ApiError::bad_input(
            "recoveryCode",
            "Enter one of your recovery codes as it was shown: ten letters and digits, like abcde-23456.",
        )
    };
    if raw.len() > 64 {
        return Err(bad());
    }
    let code: String = raw
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect::<String>()
        .to_lowercase();
    if code.len() != LEN
        || !code
            .bytes()
            .all(|b| b.is_ascii_lowercase() || (b'2'..=b'7').contains(&b))
    {
        return Err(bad());
    }
    Ok(code)
}

fn hash(user_id: Uuid, normalized: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(user_id.as_bytes());
    hasher.update(normalized.as_bytes());
    hex::encode(hasher.finalize())
}

/// Replaces the user's codes with [`COUNT`] new ones and returns them (the
/// only time they are shown).
pub(crate) async fn replace(conn: &impl ConnectionTrait, user_id: Uuid) -> ApiResult<Vec<String>> {
    recovery_code::Entity::delete_many()
        .filter(recovery_code::Column::UserId.eq(user_id))
        .exec(conn)
        .await?;
    let now = Utc::now();
    let mut codes = Vec::with_capacity(COUNT);
    let mut rows = Vec::with_capacity(COUNT);
    while codes.len() < COUNT {
        let code = generate();
        if codes.contains(&code) {
            continue;
        }
        rows.push(recovery_code::ActiveModel {
            id: Set(Uuid::now_v7()),
            user_id: Set(user_id),
            code_hash: Set(hash(user_id, &code.replace('-', ""))),
            used_at: Set(None),
            created_at: Set(now),
        });
        codes.push(code);
    }
    recovery_code::Entity::insert_many(rows).exec(conn).await?;
    Ok(codes)
}

/// How many of the user's codes are unused.
pub async fn remaining(conn: &impl ConnectionTrait, user_id: Uuid) -> ApiResult<u64> {
    Ok(recovery_code::Entity::find()
        .filter(recovery_code::Column::UserId.eq(user_id))
        .filter(recovery_code::Column::UsedAt.is_null())
        .count(conn)
        .await?)
}

/// Uses up the user's unused code `normalized`, if they have it.
pub(crate) async fn take(
    conn: &impl ConnectionTrait,
    user_id: Uuid,
    normalized: &str,
    now: DateTime<Utc>,
) -> ApiResult<Option<recovery_code::Model>> {
    let Some(found) = recovery_code::Entity::find()
        .filter(recovery_code::Column::UserId.eq(user_id))
        .filter(recovery_code::Column::CodeHash.eq(hash(user_id, normalized)))
        .filter(recovery_code::Column::UsedAt.is_null())
        .one(conn)
        .await?
    else {
        return Ok(None);
    };
    // Conditional on still being unused: of two concurrent uses one wins.
    let used = recovery_code::Entity::update_many()
        .col_expr(recovery_code::Column::UsedAt, Expr::value(Some(now)))
        .filter(recovery_code::Column::Id.eq(found.id))
        .filter(recovery_code::Column::UsedAt.is_null())
        .exec(conn)
        .await?;
    Ok((used.rows_affected == 1).then_some(found))
}

/// `verifyRecoveryCode`: a recovery code answers the sign-in's second-factor
/// step (module docs).
pub async fn sign_in(
    app: &App,
    client: &ClientInfo,
    raw_token: &str,
    raw_code: &str,
) -> ApiResult<SignInStep> {
    let challenge::Verified {
        txn,
        user,
        challenge,
        ..
    } = challenge::verify(
        app,
        client,
        raw_token,
        Answer::RecoveryCode(raw_code),
        &[ChallengePurpose::Login],
    )
    .await?;
    let left = remaining(&txn, user.id).await?;
    audit::record(
        &txn,
        &Actor::of(&Viewer::Anonymous, client).as_user(user.id),
        Entry {
            action: "two_factor.recovery_code_used",
            target_type: "user",
            target_id: Some(user.id),
            organisation_id: user.organisation_id,
        },
        None,
        Some(json!({ "instead_of": challenge.channel, "recovery_codes_left": left })),
    )
    .await?;
    notify(&txn, &user, EmailTemplate::RecoveryCodeUsed, left).await?;
    let org = login::organisation_of(&txn, &user).await?;
    let proven = Proven::SECOND_FACTOR.how("password, recovery code");
    let step = login::advance(app, &txn, client, &user, org.as_ref(), proven).await?;
    txn.commit().await?;
    Ok(step)
}

/// Emails the account's address about its recovery codes.
pub(crate) async fn notify(
    conn: &impl ConnectionTrait,
    user: &user::Model,
    template: EmailTemplate,
    left: u64,
) -> ApiResult<()> {
    notifications::queue_email(
        conn,
        &Recipient {
            address: user.email.clone(),
            user_id: Some(user.id),
        },
        template,
        json!({
            "first_name": user.first_name,
            "at": Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true),
            "recovery_codes_left": left,
        }),
    )
    .await?;
    Ok(())
}

/// Stores a new set of codes for a user whose password was just checked,
/// audited and emailed; returns the codes.
pub(crate) async fn regenerate(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    user: &user::Model,
) -> ApiResult<Vec<String>> {
    let before = remaining(conn, user.id).await?;
    let codes = replace(conn, user.id).await?;
    audit::record(
        conn,
        actor,
        Entry {
            action: "two_factor.recovery_codes_generated",
            target_type: "user",
            target_id: Some(user.id),
            organisation_id: user.organisation_id,
        },
        Some(json!({ "recovery_codes_left": before })),
        Some(json!({ "recovery_codes_left": COUNT })),
    )
    .await?;
    notify(
        conn,
        user,
        EmailTemplate::RecoveryCodesGenerated,
        COUNT as u64,
    )
    .await?;
    Ok(codes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_ten_base32_characters_with_a_hyphen() {
        for _ in 0..200 {
            let code = generate();
            assert_eq!(code.len(), 11);
            assert_eq!(&code[5..6], "-");
            assert_eq!(normalize(&code).unwrap(), code.replace('-', ""));
        }
    }

    #[test]
    fn codes_are_typed_in_any_case_with_or_without_spacing() {
        assert_eq!(normalize(" ABCDE 23456 ").unwrap(), "abcde23456");
        assert_eq!(normalize("abcde-23456").unwrap(), "abcde23456");
        for bad in [
            "",
            "abcde-2345",
            "abcde-234567",
            "abcde-23451",
            "abcde_23456",
            "123456",
        ] {
            assert!(normalize(bad).is_err(), "{bad:?}");
        }
        assert!(normalize(&"a".repeat(65)).is_err());
    }

    #[test]
    fn hashes_are_salted_by_the_user() {
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        assert_ne!(hash(a, "abcde23456"), hash(b, "abcde23456"));
    }
}
