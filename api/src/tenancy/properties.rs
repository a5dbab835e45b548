//! Properties: the organisation's list and search, one property, and adding,
//! changing and removing them (`MANAGE_PROPERTIES`).

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, IntoActiveModel,
    QueryFilter, QueryOrder, QuerySelect, Set,
};
use uuid::Uuid;

use entities::{RentFrequency, property};

use super::{money::MAX_PENCE, postcode};
use crate::{
    app::App,
    audit::{self, Actor},
    casework::{MAX_SHORT, text},
    error::{ApiError, ApiResult},
    lists::{Total, contains, search_words},
    policy::{self, Allowed, Caller, tenancy::LandlordUser},
    users::Rejection,
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

/// One page of the properties the caller may see (by reference), whether
/// more follow, and the total of the whole list.
pub async fn list(
    app: &App,
    caller: &Caller<'_>,
    filter: &PropertyFilter,
    offset: u64,
    limit: u64,
) -> ApiResult<(Vec<property::Model>, bool, Total)> {
    let mut query = property::Entity::find()
        .filter(policy::properties::visible(caller, filter.organisation_id)?);
    if !filter.include_removed {
        query = query.filter(property::Column::RemovedAt.is_null());
    }
    if let Some(search) = &filter.search {
        query = query.filter(search_condition(search));
    }
    let total = Total::of(&query);
    let mut rows = query
        .order_by_asc(property::Column::Reference)
        .order_by_asc(property::Column::Id)
        .offset(offset)
        .limit(limit + 1)
        .all(&app.db)
        .await?;
    let has_next = rows.len() as u64 > limit;
    rows.truncate(limit as usize);
    Ok((rows, has_next, total))
}

/// A property's fields, checked here, every field at once: texts, postcode
/// and amounts. The amounts arrive as the GraphQL layer read them (a
/// malformed `Money` is an error there), so that they are reported together
/// with the other fields rather than before them.
#[derive(Debug)]
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
    pub rent_pence: ApiResult<i64>,
    /// Service charges per `rent_frequency`, in pence.
    pub service_charge_pence: ApiResult<i64>,
    /// How often rent is due.
    pub rent_frequency: RentFrequency,
}

/// Changes to a property (`None`: unchanged; `address_line2: Some(None)`
/// clears it), checked like [`PropertyFields`].
#[derive(Debug, Default)]
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
    pub rent_pence: Option<ApiResult<i64>>,
    /// Service charges in pence.
    pub service_charge_pence: Option<ApiResult<i64>>,
    /// Rent frequency.
    pub rent_frequency: Option<RentFrequency>,
}

/// Collects the field errors of one input, so that a form shows every bad
/// field at once (the first error is the GraphQL error, the others are added
/// beside it by `ContextExt::reject`).
#[derive(Default)]
struct Checks(Vec<ApiError>);

impl Checks {
    /// The value of a check, or `None` with its error kept.
    fn take<T>(&mut self, checked: ApiResult<T>) -> Option<T> {
        match checked {
            Ok(v) => Some(v),
            Err(e) => {
                self.0.push(e);
                None
            }
        }
    }

    /// An optional change: `Some(v)` checked, `None` left alone.
    fn change<T, U>(
        &mut self,
        value: Option<T>,
        check: impl FnOnce(T) -> ApiResult<U>,
    ) -> Option<U> {
        value.and_then(|v| self.take(check(v)))
    }

    fn finish(self) -> Result<(), Rejection> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(Rejection(self.0))
        }
    }
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
/// `policy::properties::can_manage`: `MANAGE_PROPERTIES`). Every bad field
/// is reported at once, and nothing is stored.
pub async fn add(
    app: &App,
    manager: &Allowed<LandlordUser>,
    fields: PropertyFields,
) -> Result<property::Model, Rejection> {
    let mut checks = Checks::default();
    let reference = checks.take(text("input.reference", &fields.reference, MAX_REFERENCE));
    let address_line1 = checks.take(text("input.addressLine1", &fields.address_line1, MAX_SHORT));
    let address_line2 = checks.take(optional_text(
        "input.addressLine2",
        fields.address_line2.as_deref(),
    ));
    let town = checks.take(text("input.town", &fields.town, MAX_SHORT));
    let postcode = checks.take(postcode::parse("input.postcode", &fields.postcode));
    let rent_pence = checks.take(fields.rent_pence.and_then(|p| amount("input.rent", p)));
    let service_charge_pence = checks.take(
        fields
            .service_charge_pence
            .and_then(|p| amount("input.serviceCharge", p)),
    );
    let (
        Some(reference),
        Some(address_line1),
        Some(address_line2),
        Some(town),
        Some(postcode),
        Some(rent_pence),
        Some(service_charge_pence),
    ) = (
        reference,
        address_line1,
        address_line2,
        town,
        postcode,
        rent_pence,
        service_charge_pence,
    )
    else {
        checks.finish()?;
        unreachable!("a missing value always has its error recorded");
    };
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
/// `NOT_FOUND`). Every bad field is reported at once. A removed property
/// cannot be changed (`CONFLICT`).
pub async fn update(
    app: &App,
    manager: &Allowed<LandlordUser>,
    id: Uuid,
    changes: PropertyChanges,
) -> Result<property::Model, Rejection> {
    let mut checks = Checks::default();
    let reference = checks.change(changes.reference, |v| {
        text("input.reference", &v, MAX_REFERENCE)
    });
    let address_line1 = checks.change(changes.address_line1, |v| {
        text("input.addressLine1", &v, MAX_SHORT)
    });
    let address_line2 = checks.change(changes.address_line2, |v| {
        optional_text("input.addressLine2", v.as_deref())
    });
    let town = checks.change(changes.town, |v| text("input.town", &v, MAX_SHORT));
    let postcode = checks.change(changes.postcode, |v| postcode::parse("input.postcode", &v));
    let rent = checks.change(changes.rent_pence, |v| {
        v.and_then(|p| amount("input.rent", p))
    });
    let service = checks.change(changes.service_charge_pence, |v| {
        v.and_then(|p| amount("input.serviceCharge", p))
    });
    checks.finish()?;

    let txn = platform::db::begin_write(&app.db).await?;
    let before = policy::properties::find_managed(&txn, manager, id).await?;
    if before.removed_at.is_some() {
        return Err(ApiError::Conflict("The property has been removed.".into()).into());
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
