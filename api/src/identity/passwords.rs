//! Password flows: forgot password, reset by emailed link, change while signed
//! in, and the first password from an invitation.
//!
//! Common rules:
//! - New passwords meet [`super::password_policy`] (every failed rule is
//!   reported on `newPassword`) and must equal `confirmation`.
//! - Everything is checked, and the new password hashed, *before* the link is
//!   used up, so a mistake in the form never burns the link; the link is then
//!   consumed atomically in the transaction that sets the password, so a link
//!   works once even when two requests race.
//! - Setting a password closes the user's open two-factor challenges (a
//!   sign-in half done with the old password must not finish) and clears the
//!   lock-out; a reset ends **every** session, a change every session **but
//!   the current one**; both email "your password was changed".
//! - `forgotPassword` answers `true` whatever the address: whether an account
//!   exists is not the caller's business. No password is hashed on either
//!   path, and both run the same shape of database work (look-up, the
//!   invalidating update of earlier links, commit), so the two paths take about
//!   the same time; only a real account gets a link. Suspended, restricted and
//!   deactivated accounts get no email.
//! - An invitation link proves the user holds the mailbox, exactly as an email
//!   code would, so accepting an invitation counts as the email factor: the
//!   user is signed in straight away unless they still need an SMS code or a
//!   mobile number ([`super::login`]'s steps).

use chrono::{SecondsFormat, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait,
    IntoActiveModel, QueryFilter, QuerySelect, Set, sea_query::Expr,
};
use serde_json::json;
use uuid::Uuid;

use entities::{ChallengePurpose, TokenPurpose, TwoFactorMethod, UserStatus, user, user_token};

use super::{
    challenge, input, links,
    login::{self, Proven, SignInStep},
    password_policy, sessions, throttle,
};
use crate::{
    app::App,
    audit::{self, Actor, Entry},
    auth::{ClientInfo, Viewer, password, token},
    error::{ApiError, ApiResult},
    notifications::templates::EmailTemplate,
    notifications::{self, Recipient},
    policy::Caller,
};

/// `forgotPassword`: emails a single-use reset link to an active account with
/// that address; the same answer either way (module docs).
pub async fn forgot(app: &App, client: &ClientInfo, email: &str) -> ApiResult<()> {
    input::max_len("email", email, input::MAX_EMAIL)?;
    let email = input::normalize_email(email);
    throttle::forgot_password(app, client, &email).await?;
    let txn = platform::db::begin_write(&app.db).await?;
    let found = user::Entity::find()
        .filter(user::Column::EmailNormalized.eq(&email))
        .filter(user::Column::Status.eq(UserStatus::Active))
        .one(&txn)
        .await?;
    match found {
        Some(user) => {
            let (raw, expires_at) =
                links::issue(&txn, user.id, TokenPurpose::PasswordReset).await?;
            notifications::queue_email(
                &txn,
                &Recipient {
                    address: user.email.clone(),
                    user_id: Some(user.id),
                },
                EmailTemplate::PasswordReset,
                json!({
                    "first_name": user.first_name,
                    "token": raw,
                    "expires_at": expires_at.to_rfc3339_opts(SecondsFormat::Secs, true),
                }),
            )
            .await?;
            audit::record(
                &txn,
                &Actor::of(&Viewer::Anonymous, client),
                Entry {
                    action: "password.reset_requested",
                    target_type: "user",
                    target_id: Some(user.id),
                    organisation_id: user.organisation_id,
                },
                None,
                None,
            )
            .await?;
        }
        None => {
            // The statement `links::issue` starts with, matching nothing: the
            // unknown-address path does the same kind of work as the real one.
            user_token::Entity::update_many()
                .col_expr(user_token::Column::UsedAt, Expr::value(Some(Utc::now())))
                .filter(user_token::Column::UserId.eq(Uuid::nil()))
                .filter(user_token::Column::Purpose.eq(TokenPurpose::PasswordReset))
                .filter(user_token::Column::UsedAt.is_null())
                .exec(&txn)
                .await?;
        }
    }
    txn.commit().await?;
    Ok(())
}

/// The account as the password policy's strength estimate sees it.
fn owner(user: &user::Model) -> password_policy::Owner<'_> {
    password_policy::Owner {
        email: &user.email,
        first_name: &user.first_name,
        last_name: &user.last_name,
    }
}

/// Checks a new password and its confirmation, then hashes it (off the async
/// runtime). Lengths are checked before anything else.
async fn new_password_hash(
    user: &user::Model,
    new_password: &str,
    confirmation: &str,
) -> ApiResult<String> {
    password_policy::check(new_password, &owner(user), "newPassword")?;
    if new_password != confirmation {
        return Err(ApiError::bad_input(
            "confirmation",
            "The passwords do not match.",
        ));
    }
    Ok(password::hash(new_password.to_owned()).await?)
}

fn check_lengths(fields: &[(&str, &str)]) -> ApiResult<()> {
    for (field, value) in fields {
        input::max_len(field, value, input::MAX_PASSWORD)?;
    }
    Ok(())
}

/// The user of a link that is usable right now, without using it up.
async fn link_user(
    conn: &impl ConnectionTrait,
    raw: &str,
    purpose: TokenPurpose,
) -> ApiResult<user::Model> {
    if raw.len() > input::MAX_TOKEN {
        return Err(links::invalid_link("token"));
    }
    let now = Utc::now();
    let link = user_token::Entity::find()
        .filter(user_token::Column::TokenHash.eq(token::hash(raw)))
        .filter(user_token::Column::Purpose.eq(purpose))
        .filter(user_token::Column::UsedAt.is_null())
        .filter(user_token::Column::ExpiresAt.gt(now))
        .one(conn)
        .await?
        .ok_or_else(|| links::invalid_link("token"))?;
    user::Entity::find_by_id(link.user_id)
        .filter(user::Column::Status.eq(UserStatus::Active))
        .one(conn)
        .await?
        .ok_or_else(|| links::invalid_link("token"))
}

/// Uses the link in `txn` and returns its user, locked, still active.
async fn consume_link(
    txn: &DatabaseTransaction,
    raw: &str,
    purpose: TokenPurpose,
) -> ApiResult<user::Model> {
    let user_id = links::consume(txn, raw, purpose, "token").await?;
    user::Entity::find_by_id(user_id)
        .filter(user::Column::Status.eq(UserStatus::Active))
        .lock_exclusive()
        .one(txn)
        .await?
        .ok_or_else(|| links::invalid_link("token"))
}

/// Writes a new password hash, clearing the lock-out and closing open
/// challenges.
async fn set_password(
    txn: &DatabaseTransaction,
    user: &user::Model,
    hash: String,
) -> ApiResult<user::Model> {
    let now = Utc::now();
    let mut active = user.clone().into_active_model();
    active.password_hash = Set(Some(hash));
    active.password_changed_at = Set(Some(now));
    active.failed_login_attempts = Set(0);
    active.locked_until = Set(None);
    active.updated_at = Set(now);
    let updated = active.update(txn).await?;
    challenge::close_open(
        txn,
        user.id,
        &[
            ChallengePurpose::Login,
            ChallengePurpose::ConfirmMobile,
            ChallengePurpose::EnableTwoFactor,
            ChallengePurpose::ChangeMobile,
        ],
    )
    .await?;
    Ok(updated)
}

async fn email_password_changed(txn: &DatabaseTransaction, user: &user::Model) -> ApiResult<()> {
    notifications::queue_email(
        txn,
        &Recipient {
            address: user.email.clone(),
            user_id: Some(user.id),
        },
        EmailTemplate::PasswordChanged,
        json!({
            "first_name": user.first_name,
            "changed_at": Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true),
        }),
    )
    .await?;
    Ok(())
}

/// A password set by a reset or a change.
pub struct PasswordReplaced {
    /// The account's sign-in address.
    pub email: String,
    /// How many sessions ended.
    pub sessions_ended: u64,
}

/// How long a reset link stays valid, in minutes (what `forgotPassword` says).
pub const RESET_LINK_MINUTES: i32 = links::RESET_TTL.num_minutes() as i32;

/// `resetPassword`: sets a new password from a reset link and ends every
/// session of the user.
pub async fn reset(
    app: &App,
    client: &ClientInfo,
    raw_token: &str,
    new_password: &str,
    confirmation: &str,
) -> ApiResult<PasswordReplaced> {
    check_lengths(&[
        ("newPassword", new_password),
        ("confirmation", confirmation),
    ])?;
    let user = link_user(&app.db, raw_token, TokenPurpose::PasswordReset).await?;
    let hash = new_password_hash(&user, new_password, confirmation).await?;

    let txn = platform::db::begin_write(&app.db).await?;
    let user = consume_link(&txn, raw_token, TokenPurpose::PasswordReset).await?;
    let actor = Actor::of(&Viewer::Anonymous, client).as_user(user.id);
    let done = replace_password(&txn, &user, hash, None, &actor, "password.reset").await?;
    txn.commit().await?;
    Ok(done)
}

/// Stores a new password hash, ends the user's sessions (all, or all but
/// `keep`), emails the "password changed" notice and audits `action`: what
/// a reset and a change have in common, in the caller's transaction.
async fn replace_password(
    txn: &DatabaseTransaction,
    user: &user::Model,
    hash: String,
    keep: Option<Uuid>,
    actor: &Actor,
    action: &str,
) -> ApiResult<PasswordReplaced> {
    let user = set_password(txn, user, hash).await?;
    let ended = sessions::end_all(txn, &user, keep).await?;
    // A reset link sent before must not set the password again later.
    user_token::Entity::update_many()
        .col_expr(user_token::Column::UsedAt, Expr::value(Some(Utc::now())))
        .filter(user_token::Column::UserId.eq(user.id))
        .filter(user_token::Column::Purpose.eq(TokenPurpose::PasswordReset))
        .filter(user_token::Column::UsedAt.is_null())
        .exec(txn)
        .await?;
    email_password_changed(txn, &user).await?;
    audit::record(
        txn,
        actor,
        Entry {
            action,
            target_type: "user",
            target_id: Some(user.id),
            organisation_id: user.organisation_id,
        },
        None,
        Some(sessions::ended(ended)),
    )
    .await?;
    Ok(PasswordReplaced {
        email: user.email,
        sessions_ended: ended,
    })
}

/// `changePassword`: the signed-in user changes their password, giving the
/// current one; every other session ends.
pub async fn change(
    app: &App,
    caller: &Caller<'_>,
    current_password: &str,
    new_password: &str,
    confirmation: &str,
) -> ApiResult<PasswordReplaced> {
    let auth = caller.user()?;
    check_lengths(&[
        ("currentPassword", current_password),
        ("newPassword", new_password),
        ("confirmation", confirmation),
    ])?;
    let user = user::Entity::find_by_id(auth.id)
        .one(&app.db)
        .await?
        .ok_or(ApiError::Unauthenticated)?;
    password_policy::check(new_password, &owner(&user), "newPassword")?;
    if new_password != confirmation {
        return Err(ApiError::bad_input(
            "confirmation",
            "The passwords do not match.",
        ));
    }
    throttle::password_check(app, &caller.client, &user.email_normalized).await?;
    if !login::check_password(Some(&user), current_password).await? {
        return Err(ApiError::bad_input(
            "currentPassword",
            "Your current password is not correct.",
        ));
    }
    let hash = password::hash(new_password.to_owned()).await?;

    let txn = platform::db::begin_write(&app.db).await?;
    let user = user::Entity::find_by_id(auth.id)
        .lock_exclusive()
        .one(&txn)
        .await?
        .ok_or(ApiError::Unauthenticated)?;
    let done = replace_password(
        &txn,
        &user,
        hash,
        Some(auth.session_id),
        &caller.actor,
        "password.changed",
    )
    .await?;
    txn.commit().await?;
    Ok(done)
}

/// `acceptInvitation`: sets the first password from an invitation link and
/// signs in (module docs).
pub async fn accept_invitation(
    app: &App,
    client: &ClientInfo,
    raw_token: &str,
    new_password: &str,
    confirmation: &str,
) -> ApiResult<SignInStep> {
    check_lengths(&[
        ("newPassword", new_password),
        ("confirmation", confirmation),
    ])?;
    let user = link_user(&app.db, raw_token, TokenPurpose::Invitation).await?;
    let hash = new_password_hash(&user, new_password, confirmation).await?;

    let txn = platform::db::begin_write(&app.db).await?;
    let user = consume_link(&txn, raw_token, TokenPurpose::Invitation).await?;
    let user = set_password(&txn, &user, hash).await?;
    audit::record(
        &txn,
        &Actor::of(&Viewer::Anonymous, client).as_user(user.id),
        Entry {
            action: "invitation.accepted",
            target_type: "user",
            target_id: Some(user.id),
            organisation_id: user.organisation_id,
        },
        None,
        None,
    )
    .await?;
    let org = login::organisation_of(&txn, &user).await?;
    // The link proves the mailbox: the second factor of a user whose method
    // is email (or who has none yet), not of one whose codes go elsewhere.
    let proven = match user.two_factor_method {
        TwoFactorMethod::None | TwoFactorMethod::Email => Proven::SECOND_FACTOR,
        _ => Proven::PASSWORD,
    }
    .how("invitation link, new password");
    let step = login::advance(app, &txn, client, &user, org.as_ref(), proven).await?;
    txn.commit().await?;
    Ok(step)
}
