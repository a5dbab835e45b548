//! Changing a user's email address (their sign-in name) for them, confirmed
//! at the new address.
//!
//! Residents cannot change their own address: the email address is how the
//! service knows them, and a stolen session must not be able to move the
//! account to another mailbox. Staff (the residents' support desk) change it
//! for them; an organisation's administrator changes a landlord user's, and
//! service administrators any landlord user's. Who may do it to whom is
//! [`crate::policy::users`] ([`UserAction::ChangeEmail`]).
//!
//! Two steps, so that an account never moves to an address nobody holds (a
//! typing mistake would lock the person out, and could hand their password
//! resets to a stranger):
//!
//! 1. [`request`] (`changeUserEmail`) checks the new address as an
//!    invitation's is checked (format; free among accounts that are not
//!    deactivated; for a landlord user, at one of the organisation's
//!    domains), refuses the address the account already has, and issues a
//!    24-hour single-use link that carries it (`user_tokens.new_email`; a new
//!    request voids the earlier unused link). The link goes to the NEW
//!    address ("Confirm your new email address"); the OLD address is told
//!    that a change to a masked new address was asked for. **Nothing about
//!    the account changes**: the old address still signs in, and the new
//!    one is not reserved.
//! 2. [`confirm`] (`confirmEmailChange`) is anonymous: the link is the proof,
//!    as for `resetPassword`. It uses the link up, checks the address is
//!    still free, and makes it the account's `email` and sign-in name. The
//!    user's sessions end and their open sign-in steps close (the name they
//!    signed in with has gone), their other links are voided, and the OLD
//!    address is told ("your email address was changed").
//!
//! Decisions where the issue is silent:
//! - **Target state.** Deactivated accounts are invisible (`NOT_FOUND`, like
//!   every user action); suspended ones may be changed (the change is how
//!   their access is often repaired); restricted ones may not (`CONFLICT`:
//!   the restriction holds the address, see the policy).
//! - **An address taken in the meantime.** Pending addresses are not
//!   reserved, so another account may take the address before the link is
//!   followed. Confirming then answers `CONFLICT` and changes nothing: the
//!   transaction rolls back, so the link stays unused and works if the
//!   address is freed before it expires; otherwise staff ask again with
//!   another address. Two confirmations racing for one address are settled
//!   by the unique index on live sign-in names, with the same `CONFLICT`.
//! - **Invitations not yet accepted.** The invitation went to the old
//!   address (often the mistake being corrected), so confirming voids it and
//!   sends a fresh invitation to the new address (`invited_at` restarts).
//! - **The audit log keeps the addresses in clear** (`user.email_change_requested`,
//!   `user.email_changed`), as every user snapshot in it does: its readers
//!   (staff; an organisation's administrators for their users) see the
//!   addresses in the user lists anyway, and which mailbox an account was
//!   moved to is the one thing the entry is for. Emails mask the new address
//!   when they go to the old one.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, PaginatorTrait,
    QueryFilter, QuerySelect, Set, SqlErr,
};
use serde_json::json;
use uuid::Uuid;

use entities::{ChallengePurpose, UserStatus, user};

use super::{
    ManagedUser, Rejection,
    accounts::{self, AUDIT_TARGET},
    validate::{self, FieldErrors},
    with_permissions,
};
use crate::{
    app::App,
    audit::{self, Actor, Entry},
    auth::{ClientInfo, Viewer},
    error::{ApiError, ApiResult},
    identity::{challenge, input, links, sessions},
    notifications::{self, Recipient, templates::EmailTemplate},
    policy::{
        Allowed,
        users::{Manager, UserAction},
    },
};

/// The audit action of a confirmed change (`target_type` `user`); a request
/// is [`UserAction::ChangeEmail`]'s `user.email_change_requested`.
pub const AUDIT_CHANGED: &str = "user.email_changed";

/// The field of the new address in `changeUserEmail`.
const EMAIL_FIELD: &str = "input.email";
/// The field of the target in `changeUserEmail`.
const USER_FIELD: &str = "input.userId";
/// The argument of `confirmEmailChange`.
const TOKEN_FIELD: &str = "token";

const SAME_EMAIL: &str = "This is already the account's email address. Enter the new address.";
const TAKEN_SINCE: &str = "This email address has been given to another account since the change \
    was asked for, so this account cannot move to it. Ask for the change again with another address.";

/// A change waiting for the link sent to the new address.
#[derive(Debug, Clone)]
pub struct PendingEmailChange {
    /// The account, unchanged (its `email` is still the old address).
    pub user: ManagedUser,
    /// The address the account moves to once the link is followed.
    pub new_email: String,
    /// When the link stops working.
    pub expires_at: DateTime<Utc>,
}

/// The target rules of the policy answer on `id` (the user-management
/// mutations' argument); this mutation's argument is `input.userId`.
fn under_input(error: ApiError) -> ApiError {
    match error {
        ApiError::BadInput {
            message,
            field: Some(field),
            reasons,
        } if field == "id" => ApiError::BadInput {
            message,
            field: Some(USER_FIELD.to_owned()),
            reasons,
        },
        other => other,
    }
}

/// `changeUserEmail`: checks the new address and emails the confirmation
/// link to it and a notice to the old one, in one transaction with the
/// audit entry (module docs). The account itself is not changed.
pub async fn request(
    app: &App,
    manager: &Allowed<Manager>,
    user_id: Uuid,
    new_email: &str,
) -> Result<PendingEmailChange, Rejection> {
    accounts::require(manager, UserAction::ChangeEmail)?;
    // Input first, so a malformed address is refused before anything is read.
    let email = validate::email(new_email)
        .map_err(|reasons| validate::field_error(EMAIL_FIELD, reasons))?;

    let txn = platform::db::begin_write(&app.db).await?;
    // Requests for one account one at a time, so only the newest link is
    // left usable.
    user::Entity::find_by_id(user_id)
        .lock_exclusive()
        .one(&txn)
        .await?;
    let target = manager.target(&txn, user_id).await.map_err(under_input)?;
    if target.email_normalized == email.normalized {
        return Err(ApiError::bad_input(EMAIL_FIELD, SAME_EMAIL).into());
    }
    let mut errors = FieldErrors::default();
    match target.organisation_id {
        Some(org) => {
            let domains = accounts::domains_of(&txn, org).await?;
            accounts::check_email_usable(&txn, &mut errors, EMAIL_FIELD, &email, &domains).await?;
        }
        None => accounts::check_email_free(&txn, &mut errors, EMAIL_FIELD, &email).await?,
    }
    errors.finish()?;

    let (token, expires_at) = links::issue_email_change(&txn, target.id, &email.address).await?;
    let organisation_member = target.organisation_id.is_some();
    notifications::queue_email(
        &txn,
        &Recipient {
            address: email.address.clone(),
            user_id: Some(target.id),
        },
        EmailTemplate::ConfirmEmailChange,
        json!({
            "first_name": target.first_name,
            "token": token,
            "expires_at": accounts::rfc3339(expires_at),
        }),
    )
    .await?;
    notifications::queue_email(
        &txn,
        &accounts::recipient(&target),
        EmailTemplate::EmailChangeRequested,
        json!({
            "first_name": target.first_name,
            "new_email_masked": challenge::mask_email(&email.address),
            "expires_at": accounts::rfc3339(expires_at),
            "organisation_member": organisation_member,
        }),
    )
    .await?;
    audit::record(
        &txn,
        manager.actor(),
        Entry {
            action: UserAction::ChangeEmail.audit_name(),
            target_type: AUDIT_TARGET,
            target_id: Some(target.id),
            organisation_id: target.organisation_id,
        },
        Some(json!({ "email": target.email })),
        Some(json!({
            "pending_email": email.address,
            "expires_at": accounts::rfc3339(expires_at),
        })),
    )
    .await?;
    let user = with_permissions(&txn, target).await?;
    txn.commit().await?;
    Ok(PendingEmailChange {
        user,
        new_email: email.address,
        expires_at,
    })
}

/// Whether an account other than `user_id` that is not deactivated has the
/// sign-in name `normalized`.
async fn taken_by_another(
    conn: &impl ConnectionTrait,
    normalized: &str,
    user_id: Uuid,
) -> ApiResult<bool> {
    Ok(user::Entity::find()
        .filter(user::Column::EmailNormalized.eq(normalized))
        .filter(user::Column::Status.ne(UserStatus::Deactivated))
        .filter(user::Column::Id.ne(user_id))
        .count(conn)
        .await?
        > 0)
}

/// `confirmEmailChange`: follows the link sent to the new address (module
/// docs). An unknown, used or expired link is the invalid-link
/// `BAD_USER_INPUT` on `token`; an address taken since is `CONFLICT`, and
/// the link stays unused.
pub async fn confirm(app: &App, client: &ClientInfo, raw_token: &str) -> ApiResult<String> {
    if raw_token.len() > input::MAX_TOKEN {
        return Err(links::invalid_link(TOKEN_FIELD));
    }
    let txn = platform::db::begin_write(&app.db).await?;
    let (user_id, new_email) = links::consume_email_change(&txn, raw_token, TOKEN_FIELD).await?;
    // Suspension, restriction and deactivation void links; a link issued
    // while the account was suspended still works.
    let user = user::Entity::find_by_id(user_id)
        .filter(user::Column::Status.is_in([UserStatus::Active, UserStatus::Suspended]))
        .lock_exclusive()
        .one(&txn)
        .await?
        .ok_or_else(|| links::invalid_link(TOKEN_FIELD))?;
    let normalized = input::normalize_email(&new_email);
    if taken_by_another(&txn, &normalized, user.id).await? {
        return Err(ApiError::Conflict(TAKEN_SINCE.to_owned()));
    }

    let now = Utc::now();
    let invitation_pending = user.password_hash.is_none();
    let mut active = user.clone().into_active_model();
    active.email = Set(new_email.clone());
    active.email_normalized = Set(normalized);
    if invitation_pending {
        active.invited_at = Set(Some(now));
    }
    active.updated_at = Set(now);
    let updated = active.update(&txn).await.map_err(|e| match e.sql_err() {
        // The unique index on live sign-in names caught a concurrent claim.
        Some(SqlErr::UniqueConstraintViolation(_)) => ApiError::Conflict(TAKEN_SINCE.to_owned()),
        _ => e.into(),
    })?;
    let ended = sessions::end_all(&txn, &updated, None).await?;
    challenge::close_open(&txn, updated.id, ChallengePurpose::ALL).await?;
    accounts::void_links(&txn, updated.id, now).await?;
    if invitation_pending {
        let org_name = accounts::organisation_name(&txn, &updated).await?;
        accounts::send_invitation(&txn, &updated, org_name.as_deref()).await?;
    }
    audit::record(
        &txn,
        &Actor::of(&Viewer::Anonymous, client).as_user(updated.id),
        Entry {
            action: AUDIT_CHANGED,
            target_type: AUDIT_TARGET,
            target_id: Some(updated.id),
            organisation_id: updated.organisation_id,
        },
        Some(json!({ "email": user.email })),
        Some(json!({
            "email": updated.email,
            "sessions_ended": ended,
            "invitation_resent": invitation_pending,
        })),
    )
    .await?;
    notifications::queue_email(
        &txn,
        &accounts::recipient(&user),
        EmailTemplate::EmailChanged,
        json!({
            "first_name": user.first_name,
            "new_email_masked": challenge::mask_email(&updated.email),
            "changed_at": accounts::rfc3339(now),
            "organisation_member": user.organisation_id.is_some(),
        }),
    )
    .await?;
    txn.commit().await?;
    Ok(updated.email)
}
