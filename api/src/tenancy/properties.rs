//! Properties: the organisation's list and search, one property, and adding,
//! changing and removing them (`MANAGE_PROPERTIES`).

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, IntoActiveModel,
    QueryFilter, QueryOrder, QuerySelect, Set,
    sea_query::{Expr, ExprTrait, Func},
};
use uuid::Uuid;

use entities::{RentFrequency, property};

use super::{money::MAX_PENCE, postcode};
use crate::{
    app::App,
    audit::{self, Actor},
    casework::{MAX_SHORT, text},
    error::{ApiError, ApiResult},
    policy::{self, Allowed, Caller, tenancy::LandlordUser},
};

/// Longest property reference.
pub const MAX_REFERENCE: usize = 50;

/// Which properties a list shows.
#[derive(Debug, Clone, Default)]
pub struct PropertyFilter {
    /// The organisation (staff: any; landlord users: their own).
    pub organisation_id: Option<Uuid>,
    /// Words that must each match the reference, an address line, the town
    /// or the postcode (case-insensitive, substring).
    pub search: Option<String>,
    /// Include removed properties.
    pub include_removed: bool,
}

/// The lower-cased words of a search text, LIKE wildcards dropped (no
/// reference, address or postcode needs them), at most 8.
pub fn search_words(search: &str) -> Vec<String> {
    search
        .split_whitespace()
        .take(8)
        .map(|w| {
            w.chars()
                .filter(|c| *c != '%' && *c != '_' && *c != '\\')
                .flat_map(char::to_lowercase)
                .collect::<String>()
        })
        .filter(|w| !w.is_empty())
        .collect()
}

/// `LOWER(column) LIKE '%word%'`.
pub fn contains(column: impl sea_orm::sea_query::IntoColumnRef, word: &str) -> Condition {
    Condition::all().add(Expr::expr(Func::lower(Expr::col(column))).like(format!("%{word}%")))
}

/// The condition on `properties` matching every word of `search`.
pub fn search_condition(search: &str) -> Condition {
    let mut all = Condition::all();
    for word in search_words(search) {
        all = all.add(
            Condition::any()
                .add(contains(property::Column::Reference, &word))
                .add(contains(property::Column::AddressLine1, &word))
                .add(contains(property::Column::AddressLine2, &word))
                .add(contains(property::Column::Town, &word))
                .add(contains(property::Column::Postcode, &word)),
        );
    }
    all
}

/// One page of the properties the caller may see (by reference), and
/// whether more follow.
pub async fn list(
    app: &App,
    caller: &Caller<'_>,
    filter: &PropertyFilter,
    offset: u64,
    limit: u64,
) -> ApiResult<(Vec<property::Model>, bool)> {
    let mut query = property::Entity::find()
        .filter(policy::properties::visible(caller, filter.organisation_id)?);
    if !filter.include_removed {
        query = query.filter(property::Column::RemovedAt.is_null());
    }
    if let Some(search) = &filter.search {
        query = query.filter(search_condition(search));
    }
    let mut rows = query
        .order_by_asc(property::Column::Reference)
        .order_by_asc(property::Column::Id)
        .offset(offset)
        .limit(limit + 1)
        .all(&app.db)
        .await?;
    let has_next = rows.len() as u64 > limit;
    rows.truncate(limit as usize);
    Ok((rows, has_next))
}

/// A property's fields, validated by the GraphQL layer's types except where
/// noted (texts, postcode and amounts are checked here).
#[derive(Debug, Clone)]
pub struct PropertyFields {
    /// The landlord's reference (unique in the organisation).
    pub reference: String,
    /// First address line.
    pub address_line1: String,
    /// Second address line.
    pub address_line2: Option<String>,
    /// Town.
    pub town: String,
    /// Any case or spacing; stored normalised.
    pub postcode: String,
    /// Rent per `rent_frequency`, in pence.
    pub rent_pence: i64,
    /// Service charges per `rent_frequency`, in pence.
    pub service_charge_pence: i64,
    /// How often rent is due.
    pub rent_frequency: RentFrequency,
}

/// Changes to a property (`None`: unchanged; `address_line2: Some(None)`
/// clears it).
#[derive(Debug, Clone, Default)]
pub struct PropertyChanges {
    /// Reference.
    pub reference: Option<String>,
    /// First address line.
    pub address_line1: Option<String>,
    /// Second address line.
    pub address_line2: Option<Option<String>>,
    /// Town.
    pub town: Option<String>,
    /// Postcode.
    pub postcode: Option<String>,
    /// Rent in pence.
    pub rent_pence: Option<i64>,
    /// Service charges in pence.
    pub service_charge_pence: Option<i64>,
    /// Rent frequency.
    pub rent_frequency: Option<RentFrequency>,
}

fn optional_text(field: &str, value: Option<&str>) -> ApiResult<Option<String>> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        Some(v) => text(field, v, MAX_SHORT).map(Some),
        None => Ok(None),
    }
}

/// An amount in pence that must not be negative (the `Money` scalar checks
/// the text; this guards callers that hand pence in directly).
pub fn amount(field: &str, pence: i64) -> ApiResult<i64> {
    if !(0..=MAX_PENCE).contains(&pence) {
        return Err(ApiError::bad_input(
            field,
            "Must be between 0.00 and 10000000.00.",
        ));
    }
    Ok(pence)
}

fn conflict_on_reference(e: sea_orm::DbErr) -> ApiError {
    match e.sql_err() {
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => ApiError::Conflict(
            "A property of this organisation (possibly a removed one) already has this reference."
                .into(),
        ),
        _ => e.into(),
    }
}

async fn record(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    action: &str,
    after: &property::Model,
    before: Option<&property::Model>,
) -> ApiResult<()> {
    audit::record_change(conn, actor, action, before, after).await
}

/// Adds a property to the manager's organisation (allowed by
/// `policy::properties::can_manage`: `MANAGE_PROPERTIES`).
pub async fn add(
    app: &App,
    manager: &Allowed<LandlordUser>,
    fields: PropertyFields,
) -> ApiResult<property::Model> {
    let reference = text("input.reference", &fields.reference, MAX_REFERENCE)?;
    let address_line1 = text("input.addressLine1", &fields.address_line1, MAX_SHORT)?;
    let address_line2 = optional_text("input.addressLine2", fields.address_line2.as_deref())?;
    let town = text("input.town", &fields.town, MAX_SHORT)?;
    let postcode = postcode::parse("input.postcode", &fields.postcode)?;
    let rent_pence = amount("input.rent", fields.rent_pence)?;
    let service_charge_pence = amount("input.serviceCharge", fields.service_charge_pence)?;
    let now = Utc::now();
    let txn = platform::db::begin_write(&app.db).await?;
    let created = property::ActiveModel {
        id: Set(Uuid::now_v7()),
        organisation_id: Set(manager.organisation_id),
        reference: Set(reference),
        address_line1: Set(address_line1),
        address_line2: Set(address_line2),
        town: Set(town),
        postcode: Set(postcode),
        rent_pence: Set(rent_pence),
        service_charge_pence: Set(service_charge_pence),
        rent_frequency: Set(fields.rent_frequency),
        removed_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await
    .map_err(conflict_on_reference)?;
    record(&txn, manager.actor(), "property.add", &created, None).await?;
    txn.commit().await?;
    Ok(created)
}

/// Changes a property of the manager's organisation (allowed by
/// `policy::properties::can_manage`; another organisation's answers
/// `NOT_FOUND`). A removed property cannot be changed (`CONFLICT`).
pub async fn update(
    app: &App,
    manager: &Allowed<LandlordUser>,
    id: Uuid,
    changes: PropertyChanges,
) -> ApiResult<property::Model> {
    let reference = changes
        .reference
        .map(|v| text("input.reference", &v, MAX_REFERENCE))
        .transpose()?;
    let address_line1 = changes
        .address_line1
        .map(|v| text("input.addressLine1", &v, MAX_SHORT))
        .transpose()?;
    let address_line2 = changes
        .address_line2
        .map(|v| optional_text("input.addressLine2", v.as_deref()))
        .transpose()?;
    let town = changes
        .town
        .map(|v| text("input.town", &v, MAX_SHORT))
        .transpose()?;
    let postcode = changes
        .postcode
        .map(|v| postcode::parse("input.postcode", &v))
        .transpose()?;
    let rent = changes
        .rent_pence
        .map(|v| amount("input.rent", v))
        .transpose()?;
    let service = changes
        .service_charge_pence
        .map(|v| amount("input.serviceCharge", v))
        .transpose()?;

    let txn = platform::db::begin_write(&app.db).await?;
    let before = policy::properties::find_managed(&txn, manager, id).await?;
    if before.removed_at.is_some() {
        return Err(ApiError::Conflict("The property has been removed.".into()));
    }
    let mut model = before.clone().into_active_model();
    if let Some(v) = reference {
        model.reference = Set(v);
    }
    if let Some(v) = address_line1 {
        model.address_line1 = Set(v);
    }
    if let Some(v) = address_line2 {
        model.address_line2 = Set(v);
    }
    if let Some(v) = town {
        model.town = Set(v);
    }
    if let Some(v) = postcode {
        model.postcode = Set(v);
    }
    if let Some(v) = rent {
        model.rent_pence = Set(v);
    }
    if let Some(v) = service {
        model.service_charge_pence = Set(v);
    }
    if let Some(v) = changes.rent_frequency {
        model.rent_frequency = Set(v);
    }
    model.updated_at = Set(Utc::now());
    let after = model.update(&txn).await.map_err(conflict_on_reference)?;
    record(
        &txn,
        manager.actor(),
        "property.update",
        &after,
        Some(&before),
    )
    .await?;
    txn.commit().await?;
    Ok(after)
}

/// Removes a property of the manager's organisation (sets `removed_at`;
/// tenants and payments keep pointing at it). Removing it twice is a
/// `CONFLICT`.
pub async fn remove(
    app: &App,
    manager: &Allowed<LandlordUser>,
    id: Uuid,
) -> ApiResult<property::Model> {
    let txn = platform::db::begin_write(&app.db).await?;
    let before = policy::properties::find_managed(&txn, manager, id).await?;
    if before.removed_at.is_some() {
        return Err(ApiError::Conflict(
            "The property has already been removed.".into(),
        ));
    }
    let now = Utc::now();
    let mut model = before.clone().into_active_model();
    model.removed_at = Set(Some(now));
    model.updated_at = Set(now);
    let after = model.update(&txn).await?;
    record(
        &txn,
        manager.actor(),
        "property.remove",
        &after,
        Some(&before),
    )
    .await?;
    txn.commit().await?;
    Ok(after)
}
