//! Alternative Payment Arrangements: a landlord applies for a tenant, staff
//! approve or reject, and both sides see the status and its history.
//!
//! References are `APA-` and a 6-digit sequence (`APA-000123`), allocated
//! in the applying transaction as one more than the highest reference so far.
//! Allocation is serialised so two applications never read the same highest
//! number: on PostgreSQL by a transaction-scoped advisory lock
//! (`pg_advisory_xact_lock`, released at commit or rollback, so a rolled-back
//! application gives its number back), on SQLite by the write transaction
//! itself (`BEGIN IMMEDIATE` holds the single write lock from the start).
//! The unique index on `reference` is the last line of defence. The same lock
//! makes "one open application per tenant" hold under concurrency.
//!
//! A decision is a conditional update (`WHERE status = 'SUBMITTED'`): of two
//! decisions racing, one wins and the other is a `CONFLICT`.

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set, Statement, sea_query::Expr,
};
use serde_json::json;
use uuid::Uuid;

use entities::{
    ArrangementStatus, UserStatus, WebhookEventType, payment_arrangement,
    payment_arrangement_event, tenant, user,
};

use super::properties::amount;
use crate::{
    app::App,
    audit::{self, Actor},
    casework::{MAX_BODY, text},
    error::{ApiError, ApiResult},
    graphql::scalars::NodeKind,
    notifications,
    notifications::templates::EmailTemplate,
    policy::{self, Allowed, Caller, Staff, tenancy::LandlordUser},
    webhooks,
};

/// The advisory lock key that serialises reference allocation on
/// PostgreSQL (an arbitrary constant: "APA" in ASCII).
const ALLOCATION_LOCK: i64 = 0x41_50_41;

/// Which arrangements a list shows.
#[derive(Debug, Clone, Default)]
pub struct ArrangementFilter {
    /// The organisation (staff: any, or all; landlord users: their own).
    pub organisation_id: Option<Uuid>,
    /// Only this status.
    pub status: Option<ArrangementStatus>,
    /// Only this tenant's.
    pub tenant_id: Option<Uuid>,
}

/// One page of arrangements (newest first), and whether more follow.
pub async fn list(
    app: &App,
    caller: &Caller<'_>,
    filter: &ArrangementFilter,
    offset: u64,
    limit: u64,
) -> ApiResult<(Vec<payment_arrangement::Model>, bool)> {
    let mut query = payment_arrangement::Entity::find().filter(policy::arrangements::visible(
        caller,
        filter.organisation_id,
    )?);
    if let Some(s) = filter.status {
        query = query.filter(payment_arrangement::Column::Status.eq(s));
    }
    if let Some(t) = filter.tenant_id {
        query = query.filter(payment_arrangement::Column::TenantId.eq(t));
    }
    let mut rows = query
        .order_by_desc(payment_arrangement::Column::CreatedAt)
        .order_by_desc(payment_arrangement::Column::Id)
        .offset(offset)
        .limit(limit + 1)
        .all(&app.db)
        .await?;
    let has_next = rows.len() as u64 > limit;
    rows.truncate(limit as usize);
    Ok((rows, has_next))
}

/// A new application.
#[derive(Debug, Clone)]
pub struct Application {
    /// A tenant of the applicant's organisation.
    pub tenant_id: Uuid,
    /// Why (at most 2000 characters).
    pub reason: String,
    /// The tenant's arrears, in pence.
    pub arrears_pence: i64,
}

/// The next reference. Call first in a write transaction.
async fn allocate(conn: &impl ConnectionTrait) -> ApiResult<String> {
    if conn.get_database_backend() == DbBackend::Postgres {
        conn.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_advisory_xact_lock($1)",
            [ALLOCATION_LOCK.into()],
        ))
        .await?;
    }
    let last: Option<String> = payment_arrangement::Entity::find()
        .select_only()
        .column(payment_arrangement::Column::Reference)
        .filter(payment_arrangement::Column::Reference.like("APA-%"))
        .order_by_desc(payment_arrangement::Column::Reference)
        .into_tuple()
        .one(conn)
        .await?;
    let last = last
        .and_then(|r| r.strip_prefix("APA-").and_then(|n| n.parse::<u32>().ok()))
        .unwrap_or(0);
    let next = last + 1;
    if next > 999_999 {
        return Err(ApiError::Conflict(
            "The arrangement references are used up.".into(),
        ));
    }
    Ok(format!("APA-{next:06}"))
}

fn event(
    arrangement_id: Uuid,
    status: ArrangementStatus,
    note: Option<String>,
    actor_user_id: Uuid,
    at: chrono::DateTime<Utc>,
) -> payment_arrangement_event::ActiveModel {
    payment_arrangement_event::ActiveModel {
        id: Set(Uuid::now_v7()),
        payment_arrangement_id: Set(arrangement_id),
        status: Set(status),
        note: Set(note),
        actor_user_id: Set(Some(actor_user_id)),
        created_at: Set(at),
    }
}

async fn record(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    action: &str,
    after: &payment_arrangement::Model,
    before: Option<&payment_arrangement::Model>,
) -> ApiResult<()> {
    audit::record_change(conn, actor, action, before, after).await
}

/// Applies for an arrangement for a tenant of the applicant's organisation
/// (allowed by `policy::arrangements::can_apply`: `PROVIDE_TENANCY_DETAILS`).
/// A tenant with an application awaiting a decision cannot get a second one
/// (`CONFLICT`).
pub async fn apply(
    app: &App,
    applicant: &Allowed<LandlordUser>,
    input: Application,
) -> ApiResult<payment_arrangement::Model> {
    let reason = text("input.reason", &input.reason, MAX_BODY)?;
    let arrears_pence = amount("input.arrears", input.arrears_pence)?;
    let now = Utc::now();
    let txn = platform::db::begin_write(&app.db).await?;
    let reference = allocate(&txn).await?;
    let tenant = tenant::Entity::find_by_id(input.tenant_id)
        .filter(tenant::Column::OrganisationId.eq(applicant.organisation_id))
        .one(&txn)
        .await?
        .ok_or_else(|| {
            ApiError::bad_input("input.tenantId", "Not a tenant of your organisation.")
        })?;
    let open = payment_arrangement::Entity::find()
        .filter(payment_arrangement::Column::TenantId.eq(tenant.id))
        .filter(payment_arrangement::Column::Status.eq(ArrangementStatus::Submitted))
        .one(&txn)
        .await?;
    if let Some(open) = open {
        return Err(ApiError::Conflict(format!(
            "This tenant already has an application awaiting a decision ({}).",
            open.reference
        )));
    }
    let id = Uuid::now_v7();
    let created = payment_arrangement::ActiveModel {
        id: Set(id),
        organisation_id: Set(applicant.organisation_id),
        tenant_id: Set(tenant.id),
        reference: Set(reference),
        reason: Set(reason),
        arrears_pence: Set(arrears_pence),
        status: Set(ArrangementStatus::Submitted),
        decision_reason: Set(None),
        decided_by_user_id: Set(None),
        decided_at: Set(None),
        applied_by_user_id: Set(Some(applicant.user_id)),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await?;
    event(
        id,
        ArrangementStatus::Submitted,
        None,
        applicant.user_id,
        now,
    )
    .insert(&txn)
    .await?;
    record(
        &txn,
        applicant.actor(),
        "payment_arrangement.apply",
        &created,
        None,
    )
    .await?;
    txn.commit().await?;
    Ok(created)
}

/// A staff decision.
#[derive(Debug, Clone)]
pub enum Decision {
    /// Approve, with an optional note.
    Approve(Option<String>),
    /// Reject, with the reason (required).
    Reject(String),
}

/// Approves or rejects an application awaiting a decision (staff:
/// `policy::arrangements::can_decide`), records the event and emails the
/// applicant, in one transaction. Deciding twice is a `CONFLICT`.
pub async fn decide(
    app: &App,
    staff: &Allowed<Staff>,
    id: Uuid,
    decision: Decision,
) -> ApiResult<payment_arrangement::Model> {
    let (status, note) = match &decision {
        Decision::Approve(note) => (
            ArrangementStatus::Approved,
            match note.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
                Some(n) => Some(text("note", n, MAX_BODY)?),
                None => None,
            },
        ),
        Decision::Reject(reason) => (
            ArrangementStatus::Rejected,
            Some(text("reason", reason, MAX_BODY)?),
        ),
    };
    let now = Utc::now();
    let txn = platform::db::begin_write(&app.db).await?;
    let before = policy::arrangements::find_decidable(&txn, staff, id).await?;
    let result = payment_arrangement::Entity::update_many()
        .col_expr(
            payment_arrangement::Column::Status,
            Expr::value(status.as_str()),
        )
        .col_expr(
            payment_arrangement::Column::DecisionReason,
            Expr::value(note.clone()),
        )
        .col_expr(
            payment_arrangement::Column::DecidedByUserId,
            Expr::value(Some(staff.user_id)),
        )
        .col_expr(
            payment_arrangement::Column::DecidedAt,
            Expr::value(Some(now)),
        )
        .col_expr(payment_arrangement::Column::UpdatedAt, Expr::value(now))
        .filter(payment_arrangement::Column::Id.eq(id))
        .filter(payment_arrangement::Column::Status.eq(ArrangementStatus::Submitted))
        .exec(&txn)
        .await?;
    if result.rows_affected == 0 {
        return Err(ApiError::Conflict(
            "This application has already been decided.".into(),
        ));
    }
    event(id, status, note.clone(), staff.user_id, now)
        .insert(&txn)
        .await?;
    let after = payment_arrangement::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or(ApiError::NotFound("Payment arrangement"))?;
    let action = match decision {
        Decision::Approve(_) => "payment_arrangement.approve",
        Decision::Reject(_) => "payment_arrangement.reject",
    };
    record(&txn, staff.actor(), action, &after, Some(&before)).await?;
    // The decision's note or reason is free text for the applicant: not in
    // the event.
    webhooks::events::emit(
        &txn,
        after.organisation_id,
        WebhookEventType::PaymentArrangementDecided,
        json!({
            "payment_arrangement_id": webhooks::events::id(NodeKind::PaymentArrangement, after.id),
            "reference": after.reference,
            "tenant_id": webhooks::events::id(NodeKind::Tenant, after.tenant_id),
            "status": after.status,
            "decided_at": after.decided_at,
        }),
    )
    .await?;
    if let Some(applicant_id) = after.applied_by_user_id {
        let applicant = user::Entity::find_by_id(applicant_id)
            .filter(user::Column::Status.eq(UserStatus::Active))
            .one(&txn)
            .await?;
        if let Some(applicant) = applicant {
            notifications::queue_email(
                &txn,
                &notifications::Recipient {
                    address: applicant.email.clone(),
                    user_id: Some(applicant.id),
                },
                EmailTemplate::ArrangementDecision,
                json!({
                    "first_name": applicant.first_name,
                    "arrangement_reference": after.reference,
                    "approved": status == ArrangementStatus::Approved,
                    "reason": note.unwrap_or_default(),
                }),
            )
            .await?;
        }
    }
    txn.commit().await?;
    Ok(after)
}
