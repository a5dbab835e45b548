//! Single-use links (invitation, password reset, email change): a random
//! token emailed to the user, stored only as its SHA-256 hash, valid once and
//! until it expires. An email-change link also carries the address it moves
//! the account to (`user_tokens.new_email`): the link is sent to that
//! address, so following it proves the address is the person's.

use chrono::{Duration, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set, sea_query::Expr,
};
use uuid::Uuid;

use entities::{TokenPurpose, user_token};

use crate::{
    auth::token,
    error::{ApiError, ApiResult},
};

/// Lifetime of an invitation link.
pub const INVITATION_TTL: Duration = Duration::hours(24);
/// Lifetime of a password-reset link.
pub const RESET_TTL: Duration = Duration::hours(1);

/// Prefix of link tokens.
const PREFIX: &str = "pl_";

/// Issues a link for `user_id`, invalidating earlier unused links of the same
/// purpose (only the newest email works). Returns the raw token and its expiry.
/// Email changes use [`issue_email_change`], which also stores the address.
pub async fn issue(
    conn: &impl ConnectionTrait,
    user_id: Uuid,
    purpose: TokenPurpose,
) -> ApiResult<(String, chrono::DateTime<Utc>)> {
    insert(conn, user_id, purpose, None).await
}

/// Issues an email-change link for `user_id` that moves the account to
/// `new_email` when it is followed, invalidating the user's earlier unused
/// email-change link (a new request replaces the old one). Returns the raw
/// token and its expiry.
pub async fn issue_email_change(
    conn: &impl ConnectionTrait,
    user_id: Uuid,
    new_email: &str,
) -> ApiResult<(String, chrono::DateTime<Utc>)> {
    insert(
        conn,
        user_id,
        TokenPurpose::EmailChange,
        Some(new_email.to_owned()),
    )
    .await
}

async fn insert(
    conn: &impl ConnectionTrait,
    user_id: Uuid,
    purpose: TokenPurpose,
    new_email: Option<String>,
) -> ApiResult<(String, chrono::DateTime<Utc>)> {
    let now = Utc::now();
    user_token::Entity::update_many()
        .col_expr(user_token::Column::UsedAt, Expr::value(Some(now)))
        .filter(user_token::Column::UserId.eq(user_id))
        .filter(user_token::Column::Purpose.eq(purpose))
        .filter(user_token::Column::UsedAt.is_null())
        .exec(conn)
        .await?;
    let raw = token::generate(PREFIX);
    let expires_at = now
        + match purpose {
            TokenPurpose::Invitation => INVITATION_TTL,
            TokenPurpose::PasswordReset => RESET_TTL,
            TokenPurpose::EmailChange => INVITATION_TTL,
        };
    user_token::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(user_id),
        purpose: Set(purpose),
        token_hash: Set(token::hash(&raw)),
        expires_at: Set(expires_at),
        used_at: Set(None),
        new_email: Set(new_email),
        created_at: Set(now),
    }
    .insert(conn)
    .await?;
    Ok((raw, expires_at))
}

/// The one answer for an unknown, used or expired link, on `field`.
pub fn invalid_link(field: &str) -> ApiError {
    ApiError::bad_input(
        field,
        "This link is invalid, has expired or has already been used. Ask for a new one.",
    )
}

/// Uses a link: marks it used (atomically, so two concurrent uses cannot both
/// succeed) and returns its user. Unknown, used and expired links all answer
/// the same clear error on `field`.
pub async fn consume(
    conn: &impl ConnectionTrait,
    raw: &str,
    purpose: TokenPurpose,
    field: &str,
) -> ApiResult<Uuid> {
    Ok(use_up(conn, raw, purpose, field).await?.user_id)
}

/// [`consume`] for an email-change link: returns its user and the address
/// the link moves the account to.
pub async fn consume_email_change(
    conn: &impl ConnectionTrait,
    raw: &str,
    field: &str,
) -> ApiResult<(Uuid, String)> {
    let row = use_up(conn, raw, TokenPurpose::EmailChange, field).await?;
    let new_email = row.new_email.ok_or_else(|| {
        ApiError::Internal(anyhow::anyhow!(
            "email-change link {} has no address",
            row.id
        ))
    })?;
    Ok((row.user_id, new_email))
}

async fn use_up(
    conn: &impl ConnectionTrait,
    raw: &str,
    purpose: TokenPurpose,
    field: &str,
) -> ApiResult<user_token::Model> {
    let invalid = || invalid_link(field);
    if raw.len() > 128 {
        return Err(invalid());
    }
    let hash = token::hash(raw);
    let now = Utc::now();
    let Some(row) = user_token::Entity::find()
        .filter(user_token::Column::TokenHash.eq(&hash))
        .filter(user_token::Column::Purpose.eq(purpose))
        .one(conn)
        .await?
    else {
        return Err(invalid());
    };
    let used = user_token::Entity::update_many()
        .col_expr(user_token::Column::UsedAt, Expr::value(Some(now)))
        .filter(user_token::Column::Id.eq(row.id))
        .filter(user_token::Column::UsedAt.is_null())
        .filter(user_token::Column::ExpiresAt.gt(now))
        .exec(conn)
        .await?;
    if used.rows_affected != 1 {
        return Err(invalid());
    }
    Ok(row)
}
