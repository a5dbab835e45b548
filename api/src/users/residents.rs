//! Residents, as staff see them: invite a new resident (also while adding
//! them to a case: [`crate::casework::cases::add_party`]) and find existing
//! ones to add them to another case. The support desk's changes to a
//! resident's account (password reset, unlock, suspension, …) are
//! [`super::accounts::apply`], with the rules of [`crate::policy::users`].
//!
//! Decisions where the seeds are silent:
//! - **Any staff member** may invite a resident: caseworkers open cases for
//!   residents who have no account yet.
//! - A resident gets the same 24-hour invitation link and email as a
//!   landlord user, without an organisation name.
//! - The **email address** must not belong to a live account (resident,
//!   landlord user or staff); a **mobile number**, if given, neither (it
//!   receives sign-in codes). Both are checked with every other field, so a
//!   form shows every problem at once.
//! - The **postal address** is free text (at most 500 characters, line
//!   breaks allowed), kept as typed. The search finds a postcode in it
//!   whatever its spacing or case.

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, SqlErr,
    sea_query::{BinOper, Expr, ExprTrait, Func},
};
use uuid::Uuid;

use entities::{UserKind, UserStatus, user};

use super::{
    ManagedUser, Rejection,
    accounts::{self, EMAIL_IN_USE, Person},
    validate::{self, FieldErrors},
};
use crate::{
    app::App,
    audit::{self, Actor, Entry},
    error::{ApiError, ApiResult},
    identity::phone,
    lists::{contains_pattern, like},
    policy::{self, Allowed, Caller, Staff},
};

/// The audit action of a resident's invitation (`target_type` `user`).
pub const AUDIT_INVITE: &str = "user.invite_resident";

/// Shortest search text.
pub const SEARCH_MIN: usize = 2;
/// Longest search text.
pub const SEARCH_MAX: usize = 100;
/// Most residents on one page of a search.
pub const PAGE_MAX: u64 = 20;

/// What staff type to invite a resident.
#[derive(Debug, Clone)]
pub struct NewResident {
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// Email address (the username).
    pub email: String,
    /// UK mobile number for SMS codes, optional.
    pub mobile_number: Option<String>,
    /// Postal address, optional.
    pub address: Option<String>,
}

const MOBILE_IN_USE: &str = "This mobile number is already used by another account.";

/// Checks `input` (fields under `prefix`, e.g. `input`) and creates the
/// invited resident on `txn`: the account (no password yet), the invitation
/// link and email, and the audit entry. Every field at fault is reported at
/// once. The caller commits; [`crate::casework::cases::add_party`] adds the
/// resident to a case in the same transaction.
pub(crate) async fn create_invited(
    txn: &impl ConnectionTrait,
    actor: &Actor,
    input: NewResident,
    prefix: &str,
) -> Result<ManagedUser, Rejection> {
    let mut errors = FieldErrors::default();
    let email_field = format!("{prefix}.email");
    let mobile_field = format!("{prefix}.mobileNumber");
    let person = Person::check(
        &mut errors,
        prefix,
        &input.first_name,
        &input.last_name,
        &input.email,
    );
    let mobile = match input.mobile_number.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(raw) => match phone::parse_uk_mobile(&mobile_field, raw) {
            Ok(number) => Some(number),
            Err(e) => {
                errors.add(&mobile_field, reasons_of(e));
                None
            }
        },
    };
    let address = match input.address.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(raw) => errors.take(
            &format!("{prefix}.address"),
            validate::multiline_text(raw, "an address", validate::ADDRESS_MAX),
        ),
    };
    if let Some(email) = &person.email {
        accounts::check_email_free(txn, &mut errors, &email_field, email).await?;
    }
    if let Some(number) = &mobile {
        let taken = user::Entity::find()
            .select_only()
            .column(user::Column::Id)
            .filter(user::Column::MobileNumber.eq(number))
            .filter(user::Column::Status.ne(UserStatus::Deactivated))
            .into_tuple::<Uuid>()
            .one(txn)
            .await?
            .is_some();
        if taken {
            errors.add(&mobile_field, vec![MOBILE_IN_USE.to_owned()]);
        }
    }
    errors.finish()?;
    let Some(person) = person.complete() else {
        return Err(ApiError::Internal(anyhow::anyhow!("checked person missing")).into());
    };

    let now = Utc::now();
    let user = super::NewAccount {
        kind: Some(UserKind::Resident),
        first_name: person.first_name,
        last_name: person.last_name,
        email: person.email.address,
        email_normalized: person.email.normalized,
        mobile_number: mobile,
        address,
        ..Default::default()
    }
    .into_row(now)
    .insert(txn)
    .await
    .map_err(|e| match e.sql_err() {
        // A concurrent invitation of the same address (or number) lost on
        // the partial unique index.
        Some(SqlErr::UniqueConstraintViolation(_)) => {
            Rejection(vec![ApiError::bad_input(&email_field, EMAIL_IN_USE)])
        }
        _ => e.into(),
    })?;
    accounts::send_invitation(txn, &user, None).await?;
    let created = ManagedUser {
        user,
        permissions: Vec::new(),
    };
    audit::record(
        txn,
        actor,
        Entry {
            action: AUDIT_INVITE,
            target_type: accounts::AUDIT_TARGET,
            target_id: Some(created.user.id),
            organisation_id: None,
        },
        None,
        created.snapshot(),
    )
    .await?;
    Ok(created)
}

/// The reasons of a field error (its message when it has none).
fn reasons_of(error: ApiError) -> Vec<String> {
    match error {
        ApiError::BadInput {
            reasons, message, ..
        } => {
            if reasons.is_empty() {
                vec![message]
            } else {
                reasons
            }
        }
        other => vec![other.to_string()],
    }
}

/// Invites a new resident: one transaction for the account, the invitation
/// link and email, and the audit entry.
pub async fn invite(
    app: &App,
    staff: &Allowed<Staff>,
    input: NewResident,
) -> Result<ManagedUser, Rejection> {
    let txn = platform::db::begin_write(&app.db).await?;
    let created = create_invited(&txn, staff.actor(), input, "input").await?;
    txn.commit().await?;
    Ok(created)
}

/// A page (`limit`, 1 to [`PAGE_MAX`]) of the live
/// residents whose name, email address or postal address matches `search`,
/// oldest first, after the resident `after`; and whether there are more.
///
/// The search is case-insensitive and matches anywhere in the full name
/// ("first last"), the email address and the address. For a postcode,
/// spaces do not matter: `sw1a1aa`, `SW1A 1AA` and `SW1A  1AA` find the
/// same addresses (both sides are compared upper case without spaces).
pub async fn find(
    app: &App,
    caller: &Caller<'_>,
    search: &str,
    limit: u64,
    after: Option<Uuid>,
) -> ApiResult<(Vec<user::Model>, bool)> {
    let visible = policy::users::visible_residents(caller)?;
    let search = search.trim();
    let length = search.chars().count();
    if length < SEARCH_MIN {
        return Err(ApiError::bad_input(
            "search",
            "Enter at least 2 characters of a name, email address or postcode.",
        ));
    }
    if length > SEARCH_MAX {
        return Err(ApiError::bad_input(
            "search",
            "Must be at most 100 characters long.",
        ));
    }
    if !(1..=PAGE_MAX).contains(&limit) {
        return Err(ApiError::bad_input("first", "Must be between 1 and 20."));
    }
    let lower = contains_pattern(&search.to_lowercase());
    let compact: String = search
        .chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_uppercase)
        .collect();
    let compact = contains_pattern(&compact);
    // `||` is string concatenation on both SQLite and PostgreSQL.
    let full_name = Expr::col(user::Column::FirstName)
        .binary(BinOper::Custom("||"), Expr::val(" "))
        .binary(BinOper::Custom("||"), Expr::col(user::Column::LastName));
    let address_compact = Func::cust("REPLACE").args([
        Expr::from(Func::upper(Expr::col(user::Column::Address))),
        Expr::val(" "),
        Expr::val(""),
    ]);
    let matches = Condition::any()
        .add(Expr::from(Func::lower(full_name)).like(like(lower.clone())))
        .add(Expr::col(user::Column::EmailNormalized).like(like(lower)))
        .add(Expr::from(address_compact).like(like(compact)));
    let mut query = user::Entity::find()
        .filter(visible)
        .filter(matches)
        .order_by_asc(user::Column::Id);
    if let Some(after) = after {
        query = query.filter(user::Column::Id.gt(after));
    }
    let mut rows = query.limit(limit + 1).all(&app.db).await?;
    let has_next = rows.len() as u64 > limit;
    rows.truncate(limit as usize);
    Ok((rows, has_next))
}
