//! The users of an organisation: list them, invite new ones, and change
//! existing ones (permissions, mobile number, password reset, lock-out,
//! suspension, deactivation) — plus the staff restriction of any resident's
//! or landlord user's access.
//!
//! Who may do what to whom is [`crate::policy::users`]; every function here
//! takes its [`Manager`] and asks it for the target inside the transaction.
//!
//! Decisions where the seeds are silent:
//! - **Ending sessions.** Suspension, restriction and deactivation end every
//!   session of the user (sign-in already refuses such accounts; revoking
//!   makes the session list say so too). So does a mobile-number reset: it
//!   is done when a phone is lost or changes hands, and the user has to sign
//!   in again to enter the new number anyway (UC seed).
//! - **Outstanding links.** Suspension, restriction and deactivation also
//!   void unused invitation and password-reset links, so a link in an old
//!   email cannot bring the account back.
//! - **Re-sending an invitation** restarts `invited_at`, which the 90-day
//!   sweep counts from for users who never signed in.
//! - **Lifting a restriction** makes the account active (not whatever it was
//!   before): the restriction is the decision that matters.

use chrono::{DateTime, SecondsFormat, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, Order,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set, SqlErr,
    sea_query::{Expr, ExprTrait, Func, Query},
};
use serde_json::json;
use uuid::Uuid;

use entities::{
    Permission, TokenPurpose, UserKind, UserStatus, organisation, organisation_domain, session,
    user, user_permission, user_token,
};

use super::{
    ManagedUser, Rejection, normalize_permissions, permissions_of,
    validate::{self, Email, FieldErrors},
    with_permissions,
};
use crate::{
    app::App,
    audit::{self, Actor, Entry},
    error::{ApiError, ApiResult},
    identity::links,
    lists::Total,
    notifications::templates::EmailTemplate,
    notifications::{self, Recipient},
    policy::{
        Allowed,
        users::{Manager, UserAction},
    },
};

/// `target_type` of audit entries about users.
pub const AUDIT_TARGET: &str = "user";

/// Refuses a manager made for a different action (a programming error that
/// would otherwise be a way round the policy).
pub(crate) fn require(manager: &Manager, action: UserAction) -> ApiResult<()> {
    if manager.action == action {
        Ok(())
    } else {
        tracing::error!(granted = ?manager.action, wanted = ?action, "manager used for another action");
        Err(ApiError::Forbidden)
    }
}

/// What the organisation's users are listed by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UserSortField {
    /// When the account was made (its v7 id): oldest first.
    #[default]
    CreatedAt,
    /// The name as the list shows it, "First Last", any case (the seed's
    /// "Name ▲").
    Name,
    /// The email address.
    Email,
}

/// The order of the users list; ties (two "Sam Wise"s) are broken by id in
/// the same direction, so the order is total and a cursor names a position
/// exactly.
#[derive(Debug, Clone, Copy, Default)]
pub struct UserSort {
    /// Sort key.
    pub field: UserSortField,
    /// Descending instead of ascending.
    pub descending: bool,
}

impl UserSort {
    /// The sort keys before the id.
    fn keys(self) -> Vec<Expr> {
        let lower = |c: user::Column| Expr::expr(Func::lower(Expr::col((user::Entity, c))));
        match self.field {
            UserSortField::CreatedAt => vec![],
            UserSortField::Name => vec![
                lower(user::Column::FirstName),
                lower(user::Column::LastName),
            ],
            UserSortField::Email => vec![Expr::col((user::Entity, user::Column::EmailNormalized))],
        }
    }
}

/// The condition selecting the rows after the user `after` in `sort` order:
/// a keyset on (keys…, id), compared as one row value (SQLite and PostgreSQL
/// both compare row values left to right). The cursor stays the user's id;
/// its keys are read from the database, so they are the very values the
/// order uses (SQLite's `LOWER` and Rust's lower-casing differ outside
/// ASCII). A cursor naming nobody of the organisation is `BAD_USER_INPUT`.
async fn after_condition(
    db: &impl ConnectionTrait,
    organisation_id: Uuid,
    sort: UserSort,
    after: Uuid,
) -> ApiResult<Expr> {
    let keys = sort.keys();
    let mut values: Vec<Expr> = Vec::with_capacity(keys.len() + 1);
    if !keys.is_empty() {
        let mut statement = Query::select();
        statement
            .from(user::Entity)
            .and_where(Expr::col((user::Entity, user::Column::Id)).eq(after))
            .and_where(Expr::col((user::Entity, user::Column::OrganisationId)).eq(organisation_id));
        for key in &keys {
            statement.expr(key.clone());
        }
        let row = db
            .query_one(&statement)
            .await?
            .ok_or_else(|| ApiError::bad_input("after", "Not a cursor returned by this API."))?;
        for i in 0..keys.len() {
            values.push(Expr::val(row.try_get_by_index::<String>(i)?));
        }
    }
    values.push(Expr::val(after));
    let mut columns = keys;
    columns.push(Expr::col((user::Entity, user::Column::Id)));
    let (left, right) = (Expr::tuple(columns), Expr::tuple(values));
    Ok(if sort.descending {
        left.lt(right)
    } else {
        left.gt(right)
    })
}

/// A page of the live (not deactivated) landlord users of an organisation in
/// `sort` order, after the user `after`; whether there are more; and the
/// total of the whole list.
pub async fn list(
    app: &App,
    manager: &Allowed<Manager>,
    organisation_id: Option<Uuid>,
    sort: UserSort,
    limit: u64,
    after: Option<Uuid>,
) -> ApiResult<(Vec<ManagedUser>, bool, Total)> {
    require(manager, UserAction::View)?;
    let db = &app.db;
    let org = manager.organisation(organisation_id, "organisationId")?;
    if organisation::Entity::find_by_id(org).count(db).await? == 0 {
        return Err(ApiError::NotFound("Organisation"));
    }
    let mut query = user::Entity::find()
        .filter(user::Column::OrganisationId.eq(org))
        .filter(user::Column::Kind.eq(UserKind::Landlord))
        .filter(user::Column::Status.ne(UserStatus::Deactivated));
    let total = Total::of(&query);
    if let Some(after) = after {
        query = query.filter(after_condition(db, org, sort, after).await?);
    }
    let order = if sort.descending {
        Order::Desc
    } else {
        Order::Asc
    };
    for key in sort.keys() {
        query = query.order_by(key, order.clone());
    }
    let mut rows = query
        .order_by(user::Column::Id, order)
        .limit(limit + 1)
        .all(db)
        .await?;
    let has_next = rows.len() as u64 > limit;
    rows.truncate(limit as usize);
    let ids: Vec<Uuid> = rows.iter().map(|u| u.id).collect();
    let mut permissions = permissions_of(db, &ids).await?;
    let users = rows
        .into_iter()
        .map(|user| ManagedUser {
            permissions: permissions.remove(&user.id).unwrap_or_default(),
            user,
        })
        .collect();
    Ok((users, has_next, total))
}

/// One user the manager may see.
pub async fn get(app: &App, manager: &Allowed<Manager>, id: Uuid) -> ApiResult<ManagedUser> {
    require(manager, UserAction::View)?;
    let user = manager.visible(&app.db, id).await?;
    Ok(with_permissions(&app.db, user).await?)
}

/// What an administrator types to invite someone.
#[derive(Debug, Clone)]
pub struct InviteInput {
    /// The organisation (staff only; administrators invite into their own).
    pub organisation_id: Option<Uuid>,
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// Email address (the username).
    pub email: String,
    /// The same address again.
    pub email_confirmation: String,
    /// What the new user may do.
    pub permissions: Vec<Permission>,
}

/// A person to invite, checked.
#[derive(Debug, Clone)]
pub(crate) struct Person {
    pub first_name: String,
    pub last_name: String,
    pub email: Email,
}

/// The parts of a [`Person`] that passed their checks.
#[derive(Debug, Clone, Default)]
pub(crate) struct CheckedPerson {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// Checked on its own, so the address can be looked up (domain, in use)
    /// even when a name is wrong, and every problem reported at once.
    pub email: Option<Email>,
}

impl CheckedPerson {
    /// The person, if every part passed.
    pub(crate) fn complete(self) -> Option<Person> {
        Some(Person {
            first_name: self.first_name?,
            last_name: self.last_name?,
            email: self.email?,
        })
    }
}

impl Person {
    /// Checks names and email, recording problems under `prefix.firstName`
    /// and so on.
    pub(crate) fn check(
        errors: &mut FieldErrors,
        prefix: &str,
        first_name: &str,
        last_name: &str,
        email: &str,
    ) -> CheckedPerson {
        CheckedPerson {
            first_name: errors.take(
                &format!("{prefix}.firstName"),
                validate::text(first_name, "a first name", validate::NAME_MAX),
            ),
            last_name: errors.take(
                &format!("{prefix}.lastName"),
                validate::text(last_name, "a last name", validate::NAME_MAX),
            ),
            email: errors.take(&format!("{prefix}.email"), validate::email(email)),
        }
    }
}

pub(crate) const EMAIL_IN_USE: &str = "This email address is already used by another account.";
const EMAIL_RESTRICTED: &str = "This email address belongs to an account whose access has been \
    restricted by the service. It cannot be invited again until the service lifts the restriction.";

/// Records why `email` cannot be invited into an organisation with
/// `domains`, if it cannot: not at one of the domains, or already in use by
/// an account that is not deactivated. An account restricted by staff gets
/// its own reason: it is what stops a restriction from being worked around
/// with a new account (see [`crate::policy::users`]: a restricted account
/// cannot be deactivated, and the sweep leaves it alone, so its address
/// stays taken until staff lift the restriction).
pub(crate) async fn check_email_usable(
    conn: &impl ConnectionTrait,
    errors: &mut FieldErrors,
    field: &str,
    email: &Email,
    domains: &[String],
) -> ApiResult<()> {
    if !domains.contains(&email.domain) {
        let list = domains
            .iter()
            .map(|d| format!("@{d}"))
            .collect::<Vec<_>>()
            .join(", ");
        errors.add(
            field,
            vec![format!(
                "The email address must be at one of the organisation's registered domains ({list}). \
                 To register another domain, contact the service."
            )],
        );
        return Ok(());
    }
    check_email_free(conn, errors, field, email).await
}

/// Records why `email` cannot be given to a new account, if it cannot: it
/// is in use by an account that is not deactivated (a restricted one with
/// its own reason, see [`check_email_usable`]).
pub(crate) async fn check_email_free(
    conn: &impl ConnectionTrait,
    errors: &mut FieldErrors,
    field: &str,
    email: &Email,
) -> ApiResult<()> {
    let holders: Vec<UserStatus> = user::Entity::find()
        .select_only()
        .column(user::Column::Status)
        .filter(user::Column::EmailNormalized.eq(&email.normalized))
        .filter(user::Column::Status.ne(UserStatus::Deactivated))
        .into_tuple()
        .all(conn)
        .await?;
    if holders.contains(&UserStatus::Restricted) {
        errors.add(field, vec![EMAIL_RESTRICTED.to_owned()]);
    } else if !holders.is_empty() {
        errors.add(field, vec![EMAIL_IN_USE.to_owned()]);
    }
    Ok(())
}

/// The registered email domains of an organisation, oldest first.
pub(crate) async fn domains_of(conn: &impl ConnectionTrait, org: Uuid) -> ApiResult<Vec<String>> {
    Ok(organisation_domain::Entity::find()
        .filter(organisation_domain::Column::OrganisationId.eq(org))
        .order_by_asc(organisation_domain::Column::Id)
        .all(conn)
        .await?
        .into_iter()
        .map(|d| d.domain)
        .collect())
}

/// A timestamp as template parameters carry it (RFC 3339, whole seconds).
pub(crate) fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Creates an invited landlord user (no password yet) with `permissions`,
/// issues their invitation link, queues the email and records the audit
/// entry, all on `txn`. A concurrent invitation of the same address loses on
/// the partial unique index and is reported on `email_field` like any other
/// address in use.
pub(crate) async fn create_invited(
    txn: &impl ConnectionTrait,
    actor: &Actor,
    org: &organisation::Model,
    person: Person,
    permissions: Vec<Permission>,
    email_field: &str,
) -> Result<ManagedUser, Rejection> {
    let now = Utc::now();
    let user = super::NewAccount {
        kind: Some(UserKind::Landlord),
        organisation_id: Some(org.id),
        first_name: person.first_name,
        last_name: person.last_name,
        email: person.email.address,
        email_normalized: person.email.normalized,
        ..Default::default()
    }
    .into_row(now)
    .insert(txn)
    .await
    .map_err(|e| match e.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(_)) => {
            Rejection(vec![ApiError::bad_input(email_field, EMAIL_IN_USE)])
        }
        _ => e.into(),
    })?;
    let permissions = normalize_permissions(permissions);
    set_permissions(txn, user.id, &permissions, now).await?;
    send_invitation(txn, &user, Some(&org.name)).await?;
    let created = ManagedUser { user, permissions };
    audit::record(
        txn,
        actor,
        Entry {
            action: UserAction::Invite.audit_name(),
            target_type: AUDIT_TARGET,
            target_id: Some(created.user.id),
            organisation_id: Some(org.id),
        },
        None,
        created.snapshot(),
    )
    .await?;
    Ok(created)
}

/// Invites a new user into an organisation: one transaction for the user,
/// their permissions, the invitation link and email, and the audit entry.
pub async fn invite(
    app: &App,
    manager: &Allowed<Manager>,
    input: InviteInput,
) -> Result<ManagedUser, Rejection> {
    require(manager, UserAction::Invite)?;
    let (db, actor) = (&app.db, manager.actor());
    let org_id = manager.organisation(input.organisation_id, "input.organisationId")?;
    let mut errors = FieldErrors::default();
    let person = Person::check(
        &mut errors,
        "input",
        &input.first_name,
        &input.last_name,
        &input.email,
    );
    if input.email.trim().to_lowercase() != input.email_confirmation.trim().to_lowercase() {
        errors.add(
            "input.emailConfirmation",
            vec!["The email addresses do not match.".to_owned()],
        );
    }
    let txn = platform::db::begin_write(db).await?;
    let org = organisation::Entity::find_by_id(org_id)
        .one(&txn)
        .await?
        .ok_or(ApiError::NotFound("Organisation"))?;
    if let Some(email) = &person.email {
        let domains = domains_of(&txn, org.id).await?;
        check_email_usable(&txn, &mut errors, "input.email", email, &domains).await?;
    }
    errors.finish()?;
    let Some(person) = person.complete() else {
        return Err(ApiError::Internal(anyhow::anyhow!("checked person missing")).into());
    };
    let created =
        create_invited(&txn, actor, &org, person, input.permissions, "input.email").await?;
    txn.commit().await?;
    Ok(created)
}

/// Replaces the permission rows of a user.
async fn set_permissions(
    conn: &impl ConnectionTrait,
    user_id: Uuid,
    permissions: &[Permission],
    now: DateTime<Utc>,
) -> ApiResult<()> {
    user_permission::Entity::delete_many()
        .filter(user_permission::Column::UserId.eq(user_id))
        .exec(conn)
        .await?;
    if !permissions.is_empty() {
        user_permission::Entity::insert_many(permissions.iter().map(|p| {
            user_permission::ActiveModel {
                user_id: Set(user_id),
                permission: Set(*p),
                created_at: Set(now),
            }
        }))
        .exec(conn)
        .await?;
    }
    Ok(())
}

/// Issues a fresh invitation link (earlier ones stop working) and queues the email.
/// Residents belong to no organisation: their email leaves the name out.
pub(crate) async fn send_invitation(
    conn: &impl ConnectionTrait,
    user: &user::Model,
    organisation_name: Option<&str>,
) -> ApiResult<String> {
    let (token, expires_at) = links::issue(conn, user.id, TokenPurpose::Invitation).await?;
    let mut data = json!({
        "first_name": user.first_name,
        "token": token,
        "expires_at": rfc3339(expires_at),
    });
    if let (Some(name), Some(map)) = (organisation_name, data.as_object_mut()) {
        map.insert("organisation_name".into(), name.into());
    }
    notifications::queue_email(conn, &recipient(user), EmailTemplate::Invitation, data).await?;
    Ok(token)
}

/// The account's email address, as a message's recipient.
pub(crate) fn recipient(user: &user::Model) -> Recipient {
    Recipient {
        address: user.email.clone(),
        user_id: Some(user.id),
    }
}

/// Ends every live session of a user.
pub(crate) async fn end_sessions(
    conn: &impl ConnectionTrait,
    user_id: Uuid,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    session::Entity::update_many()
        .col_expr(session::Column::RevokedAt, Expr::value(Some(now)))
        .filter(session::Column::UserId.eq(user_id))
        .filter(session::Column::RevokedAt.is_null())
        .exec(conn)
        .await?;
    Ok(())
}

/// Voids every unused link of a user (invitation, password reset, email
/// change).
pub(crate) async fn void_links(
    conn: &impl ConnectionTrait,
    user_id: Uuid,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    user_token::Entity::update_many()
        .col_expr(user_token::Column::UsedAt, Expr::value(Some(now)))
        .filter(user_token::Column::UserId.eq(user_id))
        .filter(user_token::Column::UsedAt.is_null())
        .exec(conn)
        .await?;
    Ok(())
}

/// A change to an existing account.
#[derive(Debug, Clone)]
pub enum Change {
    /// Send a new invitation link.
    ResendInvitation,
    /// Replace the permissions.
    Permissions(Vec<Permission>),
    /// Clear the mobile number; a new one is entered at next sign-in.
    ResetMobileNumber,
    /// Email a password-reset link.
    SendPasswordReset,
    /// Clear the lock-out.
    Unlock,
    /// Suspend (reversible).
    Suspend,
    /// Undo a suspension.
    Reinstate,
    /// Close for good.
    Deactivate,
    /// Staff restriction, with the reason (kept in the audit log).
    Restrict(String),
    /// Lift a staff restriction.
    LiftRestriction,
}

impl Change {
    /// The action this change is, for the policy.
    pub fn action(&self) -> UserAction {
        match self {
            Self::ResendInvitation => UserAction::ResendInvitation,
            Self::Permissions(_) => UserAction::UpdatePermissions,
            Self::ResetMobileNumber => UserAction::ResetMobileNumber,
            Self::SendPasswordReset => UserAction::SendPasswordReset,
            Self::Unlock => UserAction::Unlock,
            Self::Suspend => UserAction::Suspend,
            Self::Reinstate => UserAction::Reinstate,
            Self::Deactivate => UserAction::Deactivate,
            Self::Restrict(_) => UserAction::Restrict,
            Self::LiftRestriction => UserAction::LiftRestriction,
        }
    }
}

/// Applies `change` to the user `id`: the policy's checks, the change, its
/// emails and its audit entry, in one transaction. Returns the user as it is
/// afterwards.
pub async fn apply(
    app: &App,
    manager: &Allowed<Manager>,
    id: Uuid,
    change: Change,
) -> Result<ManagedUser, Rejection> {
    require(manager, change.action())?;
    let (db, actor) = (&app.db, manager.actor());
    // Input first, so a bad request is refused before anything is read.
    let change = match change {
        Change::Restrict(reason) => Change::Restrict(
            validate::text(
                &reason,
                "the reason for the restriction",
                validate::REASON_MAX,
            )
            .map_err(|reasons| validate::field_error("reason", reasons))?,
        ),
        Change::Permissions(p) => Change::Permissions(normalize_permissions(p)),
        other => other,
    };

    let txn = platform::db::begin_write(db).await?;
    let target = match &change {
        Change::Permissions(new) => manager.target_for_permissions(&txn, id, new).await?,
        _ => manager.target(&txn, id).await?,
    };
    let before = with_permissions(&txn, target).await?;
    let now = Utc::now();
    let mut user = before.user.clone().into_active_model();
    let mut permissions = before.permissions.clone();
    let mut reason = None;
    match change {
        Change::ResendInvitation => {
            user.invited_at = Set(Some(now));
            let org_name = organisation_name(&txn, &before.user).await?;
            send_invitation(&txn, &before.user, org_name.as_deref()).await?;
        }
        Change::Permissions(new) => {
            set_permissions(&txn, id, &new, now).await?;
            permissions = new;
        }
        Change::ResetMobileNumber => {
            user.mobile_number = Set(None);
            user.mobile_reset_pending = Set(true);
            end_sessions(&txn, id, now).await?;
        }
        Change::SendPasswordReset => {
            let (token, expires_at) = links::issue(&txn, id, TokenPurpose::PasswordReset).await?;
            notifications::queue_email(
                &txn,
                &recipient(&before.user),
                EmailTemplate::PasswordReset,
                json!({
                    "first_name": before.user.first_name,
                    "token": token,
                    "expires_at": rfc3339(expires_at),
                }),
            )
            .await?;
        }
        Change::Unlock => {
            user.failed_login_attempts = Set(0);
            user.locked_until = Set(None);
        }
        Change::Suspend => {
            user.status = Set(UserStatus::Suspended);
            end_sessions(&txn, id, now).await?;
            void_links(&txn, id, now).await?;
        }
        Change::Reinstate | Change::LiftRestriction => {
            user.status = Set(UserStatus::Active);
        }
        Change::Deactivate => {
            user.status = Set(UserStatus::Deactivated);
            user.deactivated_at = Set(Some(now));
            user.mobile_number = Set(None);
            user.mobile_reset_pending = Set(false);
            end_sessions(&txn, id, now).await?;
            void_links(&txn, id, now).await?;
            notifications::queue_email(
                &txn,
                &recipient(&before.user),
                EmailTemplate::AccountDeactivated,
                json!({
                    "first_name": before.user.first_name,
                    "by_administrator": true,
                    "organisation_member": before.user.organisation_id.is_some(),
                }),
            )
            .await?;
        }
        Change::Restrict(why) => {
            user.status = Set(UserStatus::Restricted);
            end_sessions(&txn, id, now).await?;
            void_links(&txn, id, now).await?;
            reason = Some(why);
        }
    }
    user.updated_at = Set(now);
    let after = ManagedUser {
        user: user.update(&txn).await?,
        permissions,
    };
    let mut after_snapshot = after.snapshot();
    if let (Some(reason), Some(serde_json::Value::Object(map))) = (reason, after_snapshot.as_mut())
    {
        map.insert("reason".into(), reason.into());
    }
    audit::record(
        &txn,
        actor,
        Entry {
            action: manager.action.audit_name(),
            target_type: AUDIT_TARGET,
            target_id: Some(id),
            organisation_id: after.user.organisation_id,
        },
        before.snapshot(),
        after_snapshot,
    )
    .await?;
    txn.commit().await?;
    Ok(after)
}

/// The name of the user's organisation; `None` for a resident.
pub(crate) async fn organisation_name(
    conn: &impl ConnectionTrait,
    user: &user::Model,
) -> ApiResult<Option<String>> {
    let Some(org) = user.organisation_id else {
        return Ok(None);
    };
    Ok(organisation::Entity::find_by_id(org)
        .one(conn)
        .await?
        .map(|o| o.name))
}
