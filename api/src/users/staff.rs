//! Staff accounts: the first service administrator of an installation,
//! created from the command line (`portal admin create-service-admin`).
//!
//! A new production install has no staff account, so nobody can sign in to
//! invite anyone. The command creates the first service administrator as an
//! invited account (no password: a password never goes on a command line),
//! queues the invitation email and prints the single-use link once, so the
//! operator can hand it over even before email works. The link is the same
//! 24-hour invitation link landlord users get; accepting it sets the
//! password.
//!
//! Running it again is safe:
//! - the same address, invitation not yet accepted: a fresh link is issued
//!   (earlier ones stop working) and printed — the operator lost the first;
//! - the same address, already set up: nothing changes (the person uses
//!   "Forgot your password?");
//! - another service administrator already exists: refused, unless the
//!   operator says `--additional` (so a second one is never created by
//!   accident);
//! - the address belongs to a resident or a landlord user: refused.
//!
//! Every creation and re-issue is audited, with the command line as actor.

use chrono::{SecondsFormat, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use serde_json::json;
use uuid::Uuid;

use entities::{StaffRole, TokenPurpose, TwoFactorMethod, UserKind, UserStatus, user};

use super::validate;
use crate::{
    app::App,
    audit::{self, Actor, Entry},
    error::{ApiError, ApiResult},
    identity::links,
    notifications::{self, Recipient, templates::EmailTemplate},
};

/// Who to create.
#[derive(Debug, Clone)]
pub struct NewServiceAdmin {
    /// Email address (their username).
    pub email: String,
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// Team, e.g. "Service administration" (optional).
    pub team: Option<String>,
    /// Create one even though another service administrator exists.
    pub additional: bool,
}

/// What the command did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bootstrap {
    /// A new account; its invitation link (print it once).
    Created {
        /// The new user.
        user_id: Uuid,
        /// `…/accept-invitation?token=…`, valid 24 hours, single use.
        link: String,
    },
    /// The account existed without a password: a fresh link replaces the old.
    Reissued {
        /// The user.
        user_id: Uuid,
        /// The new link.
        link: String,
    },
    /// The account exists and has a password: nothing was changed.
    AlreadySetUp {
        /// The user.
        user_id: Uuid,
    },
}

/// The audit actor of the command line.
fn command_line() -> Actor {
    Actor {
        user_id: None,
        api_token_id: None,
        ip: None,
        request_id: Some("cli:admin create-service-admin".to_owned()),
    }
}

/// Creates (or re-invites) the first service administrator; see the module
/// docs. Bad input is `BAD_USER_INPUT` on `--email`, `--first-name`,
/// `--last-name` or `--team`; the refusals are `CONFLICT`.
pub async fn create_service_admin(app: &App, input: NewServiceAdmin) -> ApiResult<Bootstrap> {
    let email = validate::email(&input.email)
        .map_err(|reasons| validate::field_error("--email", reasons))?;
    let name = |value: &str, what: &str, field: &str| {
        validate::text(value, what, validate::NAME_MAX)
            .map_err(|reasons| validate::field_error(field, reasons))
    };
    let first_name = name(&input.first_name, "the first name", "--first-name")?;
    let last_name = name(&input.last_name, "the last name", "--last-name")?;
    let team = input
        .team
        .as_deref()
        .map(|t| name(t, "the team", "--team"))
        .transpose()?;

    let txn = platform::db::begin_write(&app.db).await?;
    let existing = user::Entity::find()
        .filter(user::Column::EmailNormalized.eq(&email.normalized))
        .filter(user::Column::Status.ne(UserStatus::Deactivated))
        .one(&txn)
        .await?;
    let outcome = match existing {
        Some(user) if user.kind != UserKind::Staff => {
            return Err(ApiError::Conflict(
                "This email address belongs to a resident or landlord user's account.".into(),
            ));
        }
        Some(user) if user.staff_role != Some(StaffRole::ServiceAdmin) => {
            return Err(ApiError::Conflict(
                "This email address belongs to a caseworker's account.".into(),
            ));
        }
        Some(user) if user.password_hash.is_some() => {
            return Ok(Bootstrap::AlreadySetUp { user_id: user.id });
        }
        Some(user) if user.status != UserStatus::Active => {
            return Err(ApiError::Conflict(
                "This service administrator's account is suspended or restricted. \
                 Reinstate it in the portal first."
                    .into(),
            ));
        }
        Some(user) => {
            let link = invite(&txn, app, &user).await?;
            record(&txn, "staff.reissue_invitation", &user).await?;
            Bootstrap::Reissued {
                user_id: user.id,
                link,
            }
        }
        None => {
            if !input.additional
                && let Some(other) = user::Entity::find()
                    .filter(user::Column::Kind.eq(UserKind::Staff))
                    .filter(user::Column::StaffRole.eq(StaffRole::ServiceAdmin))
                    .filter(user::Column::Status.ne(UserStatus::Deactivated))
                    .one(&txn)
                    .await?
            {
                return Err(ApiError::Conflict(format!(
                    "A service administrator already exists ({}). Pass --additional to \
                     create another.",
                    other.email
                )));
            }
            let now = Utc::now();
            let user = user::ActiveModel {
                id: Set(Uuid::now_v7()),
                kind: Set(UserKind::Staff),
                organisation_id: Set(None),
                first_name: Set(first_name),
                last_name: Set(last_name),
                email: Set(email.address),
                email_normalized: Set(email.normalized),
                password_hash: Set(None),
                status: Set(UserStatus::Active),
                mobile_number: Set(None),
                mobile_reset_pending: Set(false),
                two_factor_method: Set(TwoFactorMethod::None),
                address: Set(None),
                staff_team: Set(team),
                staff_role: Set(Some(StaffRole::ServiceAdmin)),
                failed_login_attempts: Set(0),
                locked_until: Set(None),
                last_login_at: Set(None),
                invited_at: Set(Some(now)),
                password_changed_at: Set(None),
                inactivity_warned_at: Set(None),
                deactivated_at: Set(None),
                created_at: Set(now),
                updated_at: Set(now),
            }
            .insert(&txn)
            .await?;
            let link = invite(&txn, app, &user).await?;
            record(&txn, "staff.create_service_admin", &user).await?;
            Bootstrap::Created {
                user_id: user.id,
                link,
            }
        }
    };
    txn.commit().await?;
    Ok(outcome)
}

/// Issues a fresh invitation link, queues the invitation email, and returns
/// the link.
async fn invite(conn: &impl ConnectionTrait, app: &App, user: &user::Model) -> ApiResult<String> {
    let (token, expires_at) = links::issue(conn, user.id, TokenPurpose::Invitation).await?;
    notifications::queue_email(
        conn,
        &Recipient {
            address: user.email.clone(),
            user_id: Some(user.id),
        },
        EmailTemplate::Invitation,
        json!({
            "first_name": user.first_name,
            "token": token,
            "expires_at": expires_at.to_rfc3339_opts(SecondsFormat::Secs, true),
        }),
    )
    .await?;
    // The same link as the email's (`templates/email/invitation.txt`).
    let base = app.config.public_base_url.as_str().trim_end_matches('/');
    let token: String = url::form_urlencoded::byte_serialize(token.as_bytes()).collect();
    Ok(format!("{base}/accept-invitation?token={token}"))
}

async fn record(conn: &impl ConnectionTrait, action: &str, user: &user::Model) -> ApiResult<()> {
    audit::record(
        conn,
        &command_line(),
        Entry {
            action,
            target_type: super::accounts::AUDIT_TARGET,
            target_id: Some(user.id),
            organisation_id: None,
        },
        None,
        Some(json!({
            "email": user.email,
            "staff_role": user.staff_role,
            "staff_team": user.staff_team,
        })),
    )
    .await
}
