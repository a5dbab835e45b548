//! Recording payments (staff): up to [`MAX_BATCH`] at once, all or nothing.
//!
//! Each payment is checked (its tenant belongs to the organisation, the
//! period is the right way round, the amount is more than zero, the postcode
//! is a valid one, an arrangement reference names an approved arrangement of
//! that tenant) before anything is written; the first payment that fails
//! answers `BAD_USER_INPUT` on its field (`input.<index>.<field>`) and
//! nothing is stored. The tenant's name, claim reference and postcode (from
//! the input, else the tenant's property) are copied onto each row, so the
//! search and the export need no joins and show what was true when paid.

use std::collections::HashMap;

use chrono::{NaiveDate, Utc};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;
use uuid::Uuid;

use entities::{
    ArrangementStatus, WebhookEventType, organisation, payment, payment_arrangement, property,
    tenant,
};

use crate::{
    app::App,
    audit::{self, Entry},
    error::{ApiError, ApiResult},
    graphql::scalars::NodeKind,
    policy::{Allowed, Staff},
    tenancy::{postcode, properties::amount, tenants::full_name},
    webhooks,
};

/// Most payments in one call.
pub const MAX_BATCH: usize = 1000;
/// Rows per `INSERT` (13 columns each, well under both databases' limits on
/// bound parameters).
const CHUNK: usize = 500;

/// One payment to record.
#[derive(Debug, Clone)]
pub struct NewPayment {
    /// A tenant of the organisation.
    pub tenant_id: Uuid,
    /// Pence, more than zero.
    pub amount_pence: i64,
    /// When it was paid.
    pub payment_date: NaiveDate,
    /// First day covered.
    pub period_start: NaiveDate,
    /// Last day covered (inclusive).
    pub period_end: NaiveDate,
    /// The postcode, when it is not the tenant's property's.
    pub postcode: Option<String>,
    /// The approved arrangement it was paid under.
    pub arrangement_reference: Option<String>,
}

/// Records `payments` for `organisation_id` (staff:
/// `policy::payments::can_record`), all or nothing, with one audit entry.
/// Returns the stored rows in input order.
pub async fn record(
    app: &App,
    staff: &Allowed<Staff>,
    organisation_id: Uuid,
    payments: Vec<NewPayment>,
) -> ApiResult<Vec<payment::Model>> {
    if payments.is_empty() || payments.len() > MAX_BATCH {
        return Err(ApiError::bad_input(
            "input",
            format!("Give between 1 and {MAX_BATCH} payments."),
        ));
    }
    let field = |i: usize, name: &str| format!("input.{i}.{name}");
    // Checks that need no database first.
    let mut postcodes = Vec::with_capacity(payments.len());
    for (i, p) in payments.iter().enumerate() {
        amount(&field(i, "amount"), p.amount_pence)?;
        if p.amount_pence == 0 {
            return Err(ApiError::bad_input(
                field(i, "amount"),
                "Must be more than 0.00.",
            ));
        }
        if p.period_start > p.period_end {
            return Err(ApiError::bad_input(
                field(i, "periodStart"),
                "Must be on or before periodEnd.",
            ));
        }
        postcodes.push(
            p.postcode
                .as_deref()
                .map(|pc| postcode::parse(&field(i, "postcode"), pc))
                .transpose()?,
        );
    }

    let txn = platform::db::begin_write(&app.db).await?;
    organisation::Entity::find_by_id(organisation_id)
        .one(&txn)
        .await?
        .ok_or_else(|| ApiError::bad_input("organisationId", "Not a landlord organisation."))?;
    let mut tenant_ids: Vec<Uuid> = payments.iter().map(|p| p.tenant_id).collect();
    tenant_ids.sort_unstable();
    tenant_ids.dedup();
    let tenants: HashMap<Uuid, tenant::Model> = tenant::Entity::find()
        .filter(tenant::Column::OrganisationId.eq(organisation_id))
        .filter(tenant::Column::Id.is_in(tenant_ids))
        .all(&txn)
        .await?
        .into_iter()
        .map(|t| (t.id, t))
        .collect();
    let property_ids: Vec<Uuid> = tenants.values().filter_map(|t| t.property_id).collect();
    let homes: HashMap<Uuid, property::Model> = if property_ids.is_empty() {
        HashMap::new()
    } else {
        property::Entity::find()
            .filter(property::Column::Id.is_in(property_ids))
            .all(&txn)
            .await?
            .into_iter()
            .map(|p| (p.id, p))
            .collect()
    };
    let mut references: Vec<String> = payments
        .iter()
        .filter_map(|p| p.arrangement_reference.as_deref().map(str::trim))
        .filter(|r| !r.is_empty())
        .map(str::to_owned)
        .collect();
    references.sort_unstable();
    references.dedup();
    let arrangements: HashMap<String, payment_arrangement::Model> = if references.is_empty() {
        HashMap::new()
    } else {
        payment_arrangement::Entity::find()
            .filter(payment_arrangement::Column::OrganisationId.eq(organisation_id))
            .filter(payment_arrangement::Column::Status.eq(ArrangementStatus::Approved))
            .filter(payment_arrangement::Column::Reference.is_in(references))
            .all(&txn)
            .await?
            .into_iter()
            .map(|a| (a.reference.clone(), a))
            .collect()
    };

    let now = Utc::now();
    let mut rows = Vec::with_capacity(payments.len());
    let mut total: i64 = 0;
    for (i, (p, given_postcode)) in payments.into_iter().zip(postcodes).enumerate() {
        let tenant = tenants.get(&p.tenant_id).ok_or_else(|| {
            ApiError::bad_input(field(i, "tenantId"), "Not a tenant of this organisation.")
        })?;
        let home = tenant.property_id.and_then(|id| homes.get(&id));
        let postcode = given_postcode
            .or_else(|| home.map(|h| h.postcode.clone()))
            .ok_or_else(|| {
                ApiError::bad_input(
                    field(i, "postcode"),
                    "The tenant has no property on record: give the postcode.",
                )
            })?;
        let arrangement_reference = match p
            .arrangement_reference
            .as_deref()
            .map(str::trim)
            .filter(|r| !r.is_empty())
        {
            Some(r) => match arrangements.get(r) {
                Some(a) if a.tenant_id == tenant.id => Some(r.to_owned()),
                _ => {
                    return Err(ApiError::bad_input(
                        field(i, "arrangementReference"),
                        "Not an approved arrangement of this tenant.",
                    ));
                }
            },
            None => None,
        };
        total += p.amount_pence;
        rows.push(payment::Model {
            id: Uuid::now_v7(),
            organisation_id,
            tenant_id: tenant.id,
            property_id: home.map(|h| h.id),
            tenant_name: full_name(tenant),
            postcode,
            claim_reference: tenant.claim_reference.clone(),
            amount_pence: p.amount_pence,
            payment_date: p.payment_date,
            period_start: p.period_start,
            period_end: p.period_end,
            arrangement_reference,
            created_at: now,
        });
    }
    for chunk in rows.chunks(CHUNK) {
        payment::Entity::insert_many(
            chunk
                .iter()
                .cloned()
                .map(sea_orm::IntoActiveModel::into_active_model),
        )
        .exec_without_returning(&txn)
        .await?;
    }
    audit::record(
        &txn,
        staff.actor(),
        Entry {
            action: "payment.record",
            target_type: "organisation",
            target_id: Some(organisation_id),
            organisation_id: Some(organisation_id),
        },
        None,
        Some(json!({
            "count": rows.len(),
            "total_pence": total,
            "first_id": rows.first().map(|r| r.id),
            "last_id": rows.last().map(|r| r.id),
        })),
    )
    .await?;
    // Ids of the first 100 payments; a receiver pages through the rest with
    // the payment search.
    webhooks::events::emit(
        &txn,
        organisation_id,
        WebhookEventType::PaymentsRecorded,
        json!({
            "organisation_id": webhooks::events::id(NodeKind::Organisation, organisation_id),
            "count": rows.len(),
            "total_pence": total,
            "payment_ids": rows
                .iter()
                .take(EVENT_PAYMENT_IDS)
                .map(|r| webhooks::events::id(NodeKind::Payment, r.id))
                .collect::<Vec<_>>(),
        }),
    )
    .await?;
    txn.commit().await?;
    Ok(rows)
}

/// How many payment ids a `payments.recorded` event lists.
pub const EVENT_PAYMENT_IDS: usize = 100;
