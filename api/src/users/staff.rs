//! Staff accounts: the first service administrator of an installation,
//! created from the command line (`portal admin create-service-admin`), and
//! staff management by service administrators ([`list`], [`invite`],
//! [`apply`]: team, role label and role, resend the invitation, suspend,
//! reinstate, deactivate; the rules are `crate::policy::staff`'s).
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
//! Every creation and re-issue is audited, with the command line as actor;
//! every change by a service administrator with them as actor.

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder, QuerySelect, Set,
};
use serde_json::json;
use uuid::Uuid;

use entities::{StaffRole, UserKind, UserStatus, user};

use super::{Rejection, validate};
use crate::{
    app::App,
    audit::{self, Actor, Entry},
    error::{ApiError, ApiResult},
    policy::{self, Allowed, Staff},
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
            let link = invite_email(&txn, app, &user).await?;
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
            let user = super::NewAccount {
                kind: Some(UserKind::Staff),
                first_name,
                last_name,
                email: email.address,
                email_normalized: email.normalized,
                staff_team: team,
                staff_role: Some(StaffRole::ServiceAdmin),
                ..Default::default()
            }
            .into_row(now)
            .insert(&txn)
            .await?;
            let link = invite_email(&txn, app, &user).await?;
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

/// Issues a fresh invitation link, queues the invitation email (no
/// organisation name: "an account has been set up for you"), and returns the
/// link as the email has it (`templates/email/invitation.txt`).
async fn invite_email(
    conn: &impl ConnectionTrait,
    app: &App,
    user: &user::Model,
) -> ApiResult<String> {
    let token = super::accounts::send_invitation(conn, user, None).await?;
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
        Some(snapshot(user)),
    )
    .await
}

/// A new staff member, invited by a service administrator.
#[derive(Debug, Clone)]
pub struct StaffInvite {
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// Email address (their username).
    pub email: String,
    /// What they may do: caseworker or service administrator.
    pub role: StaffRole,
    /// Team, e.g. "Management".
    pub team: Option<String>,
    /// The case-handling role shown beside their name, e.g. "Case Handler".
    pub role_label: Option<String>,
}

/// A change to a staff account.
#[derive(Debug, Clone)]
pub enum StaffChange {
    /// New team, role label and/or role (`None`: unchanged; `Some(None)`:
    /// cleared, for the team and label).
    Details {
        /// The team.
        team: Option<Option<String>>,
        /// The case-handling role label.
        role_label: Option<Option<String>>,
        /// Caseworker or service administrator.
        role: Option<StaffRole>,
    },
    /// Send a new invitation link (the account has no password yet).
    ResendInvitation,
    /// Switch the account off, reversibly: sessions end, links stop working.
    Suspend,
    /// Switch a suspended account back on.
    Reinstate,
    /// Close the account for good: sessions end, the email address is free.
    Deactivate,
}

impl StaffChange {
    fn audit_name(&self) -> &'static str {
        match self {
            Self::Details { .. } => "staff.update",
            Self::ResendInvitation => "staff.resend_invitation",
            Self::Suspend => "staff.suspend",
            Self::Reinstate => "staff.reinstate",
            Self::Deactivate => "staff.deactivate",
        }
    }
}

/// Longest team name or role label.
pub const LABEL_MAX: usize = 100;

fn optional_label(
    errors: &mut validate::FieldErrors,
    field: &str,
    value: Option<&str>,
) -> Option<String> {
    let value = value.map(str::trim).filter(|v| !v.is_empty())?;
    errors.take(field, validate::text(value, "this", LABEL_MAX))
}

/// The staff accounts that are not deactivated, oldest first, after `after`;
/// and whether more follow.
pub async fn list(
    app: &App,
    _admin: &Allowed<Staff>,
    limit: u64,
    after: Option<Uuid>,
) -> ApiResult<(Vec<user::Model>, bool)> {
    let mut query = user::Entity::find()
        .filter(user::Column::Kind.eq(UserKind::Staff))
        .filter(user::Column::Status.ne(UserStatus::Deactivated))
        .order_by_asc(user::Column::Id);
    if let Some(after) = after {
        query = query.filter(user::Column::Id.gt(after));
    }
    let mut rows = query.limit(limit + 1).all(&app.db).await?;
    let more = rows.len() as u64 > limit;
    rows.truncate(limit as usize);
    Ok((rows, more))
}

/// Invites a caseworker or service administrator: an account without a
/// password and the same 24-hour invitation link as landlord users. The
/// address must be free, and at one of `PORTAL_STAFF_EMAIL_DOMAINS` when that
/// is set. Every field at fault is reported.
pub async fn invite(
    app: &App,
    admin: &Allowed<Staff>,
    input: StaffInvite,
) -> Result<user::Model, Rejection> {
    let mut errors = validate::FieldErrors::default();
    let first_name = errors.take(
        "input.firstName",
        validate::text(&input.first_name, "the first name", validate::NAME_MAX),
    );
    let last_name = errors.take(
        "input.lastName",
        validate::text(&input.last_name, "the last name", validate::NAME_MAX),
    );
    let email = errors.take("input.email", validate::email(&input.email));
    let team = optional_label(&mut errors, "input.team", input.team.as_deref());
    let role_label = optional_label(&mut errors, "input.roleLabel", input.role_label.as_deref());
    let domains = &app.config.staff_email_domains;
    if let Some(email) = &email
        && !domains.is_empty()
        && !domains.contains(&email.domain)
    {
        let list = domains
            .iter()
            .map(|d| format!("@{d}"))
            .collect::<Vec<_>>()
            .join(", ");
        errors.add(
            "input.email",
            vec![format!("Staff email addresses must be at {list}.")],
        );
    }
    let txn = platform::db::begin_write(&app.db).await?;
    if let Some(email) = &email {
        super::accounts::check_email_free(&txn, &mut errors, "input.email", email).await?;
    }
    errors.finish()?;
    let (Some(first_name), Some(last_name), Some(email)) = (first_name, last_name, email) else {
        return Err(ApiError::Internal(anyhow::anyhow!("checked fields missing")).into());
    };
    let now = Utc::now();
    let created = super::NewAccount {
        kind: Some(UserKind::Staff),
        first_name,
        last_name,
        email: email.address,
        email_normalized: email.normalized,
        staff_team: team,
        staff_role: Some(input.role),
        staff_role_label: role_label,
        ..Default::default()
    }
    .into_row(now)
    .insert(&txn)
    .await
    .map_err(|e| match e.sql_err() {
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => {
            Rejection(vec![ApiError::bad_input(
                "input.email",
                super::accounts::EMAIL_IN_USE,
            )])
        }
        _ => e.into(),
    })?;
    invite_email(&txn, app, &created).await?;
    audit::record(
        &txn,
        admin.actor(),
        Entry {
            action: "staff.invite",
            target_type: super::accounts::AUDIT_TARGET,
            target_id: Some(created.id),
            organisation_id: None,
        },
        None,
        Some(snapshot(&created)),
    )
    .await?;
    txn.commit().await?;
    Ok(created)
}

/// Applies one change to a staff account, after the rules of
/// [`crate::policy::staff`]; audited with the account before and after.
pub async fn apply(
    app: &App,
    admin: &Allowed<Staff>,
    id: Uuid,
    change: StaffChange,
) -> Result<user::Model, Rejection> {
    let mut errors = validate::FieldErrors::default();
    let change = match change {
        StaffChange::Details {
            team,
            role_label,
            role,
        } => StaffChange::Details {
            team: team.map(|t| optional_label(&mut errors, "input.team", t.as_deref())),
            role_label: role_label
                .map(|l| optional_label(&mut errors, "input.roleLabel", l.as_deref())),
            role,
        },
        other => other,
    };
    errors.finish()?;
    let txn = platform::db::begin_write(&app.db).await?;
    let before = policy::staff::find_managed(&txn, admin, id).await?;
    let conflict = |message: &str| Err(ApiError::Conflict(message.to_owned()));
    let now = Utc::now();
    let mut row = before.clone().into_active_model();
    match &change {
        StaffChange::Details {
            team,
            role_label,
            role,
        } => {
            if role.is_some_and(|r| r != StaffRole::ServiceAdmin) {
                policy::staff::ensure_another_service_admin(&txn, &before).await?;
            }
            if let Some(team) = team {
                row.staff_team = Set(team.clone());
            }
            if let Some(label) = role_label {
                row.staff_role_label = Set(label.clone());
            }
            if let Some(role) = role {
                row.staff_role = Set(Some(*role));
            }
        }
        StaffChange::ResendInvitation if before.password_hash.is_some() => {
            return conflict(
                "This staff member has already accepted their invitation. They can reset \
                 their password from the sign-in page.",
            )?;
        }
        StaffChange::ResendInvitation if before.status != UserStatus::Active => {
            return conflict("This account is suspended. Reinstate it first.")?;
        }
        StaffChange::ResendInvitation => {
            invite_email(&txn, app, &before).await?;
            row.invited_at = Set(Some(now));
        }
        StaffChange::Suspend if before.status == UserStatus::Suspended => {
            return conflict("This account is already suspended.")?;
        }
        StaffChange::Suspend => {
            policy::staff::ensure_another_service_admin(&txn, &before).await?;
            row.status = Set(UserStatus::Suspended);
            super::accounts::end_sessions(&txn, id, now).await?;
            super::accounts::void_links(&txn, id, now).await?;
        }
        StaffChange::Reinstate if before.status != UserStatus::Suspended => {
            return conflict("Only a suspended account can be reinstated; this one is active.")?;
        }
        StaffChange::Reinstate => row.status = Set(UserStatus::Active),
        StaffChange::Deactivate => {
            policy::staff::ensure_another_service_admin(&txn, &before).await?;
            row.status = Set(UserStatus::Deactivated);
            row.deactivated_at = Set(Some(now));
            row.mobile_number = Set(None);
            row.mobile_reset_pending = Set(false);
            super::accounts::end_sessions(&txn, id, now).await?;
            super::accounts::void_links(&txn, id, now).await?;
        }
    }
    row.updated_at = Set(now);
    let after = row.update(&txn).await?;
    audit::record(
        &txn,
        admin.actor(),
        Entry {
            action: change.audit_name(),
            target_type: super::accounts::AUDIT_TARGET,
            target_id: Some(id),
            organisation_id: None,
        },
        Some(snapshot(&before)),
        Some(snapshot(&after)),
    )
    .await?;
    txn.commit().await?;
    Ok(after)
}

/// What the audit log keeps of a staff account.
fn snapshot(user: &user::Model) -> serde_json::Value {
    json!({
        "email": user.email,
        "status": user.status,
        "staff_role": user.staff_role,
        "staff_team": user.staff_team,
        "staff_role_label": user.staff_role_label,
    })
}
