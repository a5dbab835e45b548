//! "Provide tenancy details" requests: the organisation's to-do list, staff
//! raising them, and the landlord's answer (the details, or "not our tenant").
//!
//! An answer is a conditional update (`WHERE status = 'OPEN'`), so of two
//! answers racing for one request exactly one wins and the other is a
//! `CONFLICT`, on both databases.

use chrono::{NaiveDate, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, QueryTrait, Set, sea_query::Expr,
};
use serde_json::json;
use uuid::Uuid;

use entities::{
    Permission, RentFrequency, TenancyRequestReason, TenancyRequestStatus, UserKind, UserStatus,
    WebhookEventType, organisation, property, tenancy_request, tenant, user, user_permission,
};

use super::{postcode, properties::amount};
use crate::{
    app::App,
    audit::{self, Actor, Entry},
    casework::{self, text},
    error::{ApiError, ApiResult},
    graphql::scalars::NodeKind,
    lists::{Total, contains, search_words},
    notifications,
    notifications::templates::EmailTemplate,
    policy::{self, Allowed, Caller, Staff, tenancy::LandlordUser},
    webhooks,
};

/// Longest first or last name.
pub const MAX_NAME: usize = 100;
/// Longest claim reference.
pub const MAX_CLAIM_REFERENCE: usize = 50;

/// Which requests the to-do list shows.
#[derive(Debug, Clone, Default)]
pub struct RequestFilter {
    /// The organisation (staff: any, or all; landlord users: their own).
    pub organisation_id: Option<Uuid>,
    /// Words that must each match the tenant's name, claim reference or the
    /// request's postcode.
    pub keyword: Option<String>,
    /// Due on or before this date.
    pub due_before: Option<NaiveDate>,
    /// Due on or after this date.
    pub due_after: Option<NaiveDate>,
    /// Only this status.
    pub status: Option<TenancyRequestStatus>,
}

fn keyword_condition(keyword: &str) -> Condition {
    let mut all = Condition::all();
    for word in search_words(keyword) {
        let tenants = tenant::Entity::find()
            .select_only()
            .column(tenant::Column::Id)
            .filter(
                Condition::any()
                    .add(contains(tenant::Column::FirstName, &word))
                    .add(contains(tenant::Column::LastName, &word))
                    .add(contains(tenant::Column::ClaimReference, &word)),
            )
            .into_query();
        all = all.add(
            Condition::any()
                .add(contains(tenancy_request::Column::Postcode, &word))
                .add(tenancy_request::Column::TenantId.in_subquery(tenants)),
        );
    }
    all
}

/// One page of the to-do list (by due date, soonest first), whether more
/// follow, and the total of the whole list. An inverted due-date range is
/// `BAD_USER_INPUT`.
pub async fn list(
    app: &App,
    caller: &Caller<'_>,
    filter: &RequestFilter,
    offset: u64,
    limit: u64,
) -> ApiResult<(Vec<tenancy_request::Model>, bool, Total)> {
    let mut query = tenancy_request::Entity::find()
        .filter(policy::requests::visible(caller, filter.organisation_id)?);
    if let (Some(after), Some(before)) = (filter.due_after, filter.due_before)
        && after > before
    {
        return Err(ApiError::bad_input(
            "filter.dueAfter",
            "Must be on or before filter.dueBefore.",
        ));
    }
    if let Some(keyword) = &filter.keyword {
        query = query.filter(keyword_condition(keyword));
    }
    if let Some(d) = filter.due_before {
        query = query.filter(tenancy_request::Column::DueDate.lte(d));
    }
    if let Some(d) = filter.due_after {
        query = query.filter(tenancy_request::Column::DueDate.gte(d));
    }
    if let Some(s) = filter.status {
        query = query.filter(tenancy_request::Column::Status.eq(s));
    }
    let total = Total::of(&query);
    let mut rows = query
        .order_by_asc(tenancy_request::Column::DueDate)
        .order_by_asc(tenancy_request::Column::Id)
        .offset(offset)
        .limit(limit + 1)
        .all(&app.db)
        .await?;
    let has_next = rows.len() as u64 > limit;
    rows.truncate(limit as usize);
    Ok((rows, has_next, total))
}

/// Who a new request is about.
#[derive(Debug, Clone)]
pub enum RequestTenant {
    /// An existing tenant of the organisation.
    Existing(Uuid),
    /// A new claimant: created, or the organisation's tenant with this claim
    /// reference when there is one (the claim reference identifies a
    /// claimant within an organisation).
    New {
        /// First name.
        first_name: String,
        /// Last name.
        last_name: String,
        /// Universal Credit claim reference.
        claim_reference: String,
    },
}

/// A new request.
#[derive(Debug, Clone)]
pub struct NewRequest {
    /// The landlord organisation.
    pub organisation_id: Uuid,
    /// The tenant.
    pub tenant: RequestTenant,
    /// The postcode on the claim (any case or spacing).
    pub postcode: String,
    /// When the landlord should answer by (today or later).
    pub due_date: NaiveDate,
    /// Why it is raised.
    pub reason: TenancyRequestReason,
    /// The property of the organisation the claim is for, when staff know
    /// it: the tenant is linked to it.
    pub property_id: Option<Uuid>,
}

/// A live (not removed) property of `organisation_id` for an input field;
/// any other id, another organisation's included, is `BAD_USER_INPUT` on
/// `field` with one answer for both, so nothing is revealed.
async fn own_property(
    conn: &impl ConnectionTrait,
    organisation_id: Uuid,
    id: Uuid,
    field: &str,
) -> ApiResult<property::Model> {
    let found = property::Entity::find_by_id(id)
        .filter(property::Column::OrganisationId.eq(organisation_id))
        .one(conn)
        .await?
        .ok_or_else(|| ApiError::bad_input(field, "Not a property of this organisation."))?;
    if found.removed_at.is_some() {
        return Err(ApiError::bad_input(field, "The property has been removed."));
    }
    Ok(found)
}

async fn record(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    action: &str,
    after: &tenancy_request::Model,
    before: Option<&tenancy_request::Model>,
) -> ApiResult<()> {
    audit::record_change(conn, actor, action, before, after).await
}

/// Raises a request (staff: `policy::requests::can_raise`). Creates the
/// tenant when new, and emails every active user of the organisation who can
/// answer it, in the same transaction.
pub async fn raise(
    app: &App,
    staff: &Allowed<Staff>,
    input: NewRequest,
) -> ApiResult<tenancy_request::Model> {
    let actor = staff.actor();
    let postcode = postcode::parse("input.postcode", &input.postcode)?;
    if input.due_date < casework::today() {
        return Err(ApiError::bad_input(
            "input.dueDate",
            "Must be today or later.",
        ));
    }
    let new_tenant = match &input.tenant {
        RequestTenant::Existing(_) => None,
        RequestTenant::New {
            first_name,
            last_name,
            claim_reference,
        } => Some((
            text("input.tenant.newTenant.firstName", first_name, MAX_NAME)?,
            text("input.tenant.newTenant.lastName", last_name, MAX_NAME)?,
            text(
                "input.tenant.newTenant.claimReference",
                claim_reference,
                MAX_CLAIM_REFERENCE,
            )?,
        )),
    };
    let now = Utc::now();
    let txn = platform::db::begin_write(&app.db).await?;
    let organisation = organisation::Entity::find_by_id(input.organisation_id)
        .one(&txn)
        .await?
        .ok_or_else(|| {
            ApiError::bad_input("input.organisationId", "Not a landlord organisation.")
        })?;
    let home = match input.property_id {
        Some(id) => Some(own_property(&txn, organisation.id, id, "input.propertyId").await?),
        None => None,
    };
    let tenant = match (&input.tenant, new_tenant) {
        (RequestTenant::Existing(id), _) => tenant::Entity::find_by_id(*id)
            .filter(tenant::Column::OrganisationId.eq(organisation.id))
            .one(&txn)
            .await?
            .ok_or_else(|| {
                ApiError::bad_input(
                    "input.tenant.tenantId",
                    "Not a tenant of this organisation.",
                )
            })?,
        (_, Some((first_name, last_name, claim_reference))) => {
            let existing = tenant::Entity::find()
                .filter(tenant::Column::OrganisationId.eq(organisation.id))
                .filter(tenant::Column::ClaimReference.eq(claim_reference.as_str()))
                .one(&txn)
                .await?;
            match existing {
                Some(t) => t,
                None => {
                    let created = tenant::ActiveModel {
                        id: Set(Uuid::now_v7()),
                        organisation_id: Set(organisation.id),
                        first_name: Set(first_name),
                        last_name: Set(last_name),
                        claim_reference: Set(claim_reference),
                        property_id: Set(None),
                        created_at: Set(now),
                        updated_at: Set(now),
                    }
                    .insert(&txn)
                    .await?;
                    audit::record(
                        &txn,
                        actor,
                        Entry {
                            action: "tenant.create",
                            target_type: "tenant",
                            target_id: Some(created.id),
                            organisation_id: Some(organisation.id),
                        },
                        None,
                        audit::snapshot(&created),
                    )
                    .await?;
                    created
                }
            }
        }
        (RequestTenant::New { .. }, None) => unreachable!("validated above"),
    };
    let tenant = match &home {
        Some(home) => super::tenants::link(&txn, actor, tenant, Some(home.id)).await?,
        None => tenant,
    };
    let created = tenancy_request::ActiveModel {
        id: Set(Uuid::now_v7()),
        organisation_id: Set(organisation.id),
        tenant_id: Set(tenant.id),
        postcode: Set(postcode),
        status: Set(TenancyRequestStatus::Open),
        reason: Set(input.reason),
        property_id: Set(home.map(|p| p.id)),
        due_date: Set(input.due_date),
        created_by_user_id: Set(Some(staff.user_id)),
        answered_by_user_id: Set(None),
        answered_at: Set(None),
        tenancy_start_date: Set(None),
        rent_pence: Set(None),
        rent_frequency: Set(None),
        service_charge_pence: Set(None),
        in_arrears: Set(None),
        arrears_pence: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await?;
    record(&txn, actor, "tenancy_request.raise", &created, None).await?;
    webhooks::events::emit(
        &txn,
        organisation.id,
        WebhookEventType::TenancyRequestRaised,
        json!({
            "tenancy_request_id": webhooks::events::id(NodeKind::TenancyRequest, created.id),
            "tenant_id": webhooks::events::id(NodeKind::Tenant, created.tenant_id),
            "property_id": created.property_id.map(|p| webhooks::events::id(NodeKind::Property, p)),
            "reason": created.reason,
            "due_date": created.due_date.to_string(),
        }),
    )
    .await?;
    let answerers = user::Entity::find()
        .filter(user::Column::OrganisationId.eq(organisation.id))
        .filter(user::Column::Kind.eq(UserKind::Landlord))
        .filter(user::Column::Status.eq(UserStatus::Active))
        .filter(
            user::Column::Id.in_subquery(
                user_permission::Entity::find()
                    .select_only()
                    .column(user_permission::Column::UserId)
                    .filter(
                        user_permission::Column::Permission.eq(Permission::ProvideTenancyDetails),
                    )
                    .into_query(),
            ),
        )
        .all(&txn)
        .await?;
    for user in answerers {
        notifications::queue_email(
            &txn,
            &notifications::Recipient {
                address: user.email.clone(),
                user_id: Some(user.id),
            },
            EmailTemplate::TenancyDetailsRequested,
            json!({
                "first_name": user.first_name,
                "organisation_name": organisation.name,
                "due_on": created.due_date.to_string(),
            }),
        )
        .await?;
    }
    txn.commit().await?;
    Ok(created)
}

/// The landlord's answer: the tenancy details.
#[derive(Debug, Clone)]
pub struct TenancyDetails {
    /// When the tenancy started (not in the future).
    pub tenancy_start_date: NaiveDate,
    /// Rent per `rent_frequency`, in pence (more than zero).
    pub rent_pence: i64,
    /// How often rent is due.
    pub rent_frequency: RentFrequency,
    /// Service charges per `rent_frequency`, in pence.
    pub service_charge_pence: i64,
    /// Whether the tenant is in arrears.
    pub in_arrears: bool,
    /// The arrears, in pence: required (more than zero) when in arrears,
    /// not allowed otherwise.
    pub arrears_pence: Option<i64>,
    /// The property the tenancy is for (one of the organisation's, not
    /// removed). Left out: the request's property, else the tenant's.
    pub property_id: Option<Uuid>,
}

/// What an answer says.
#[derive(Debug, Clone)]
pub enum Answer {
    /// The tenancy details.
    Details(TenancyDetails),
    /// "This person is not our tenant."
    NotTenant,
}

fn validate(details: &TenancyDetails) -> ApiResult<()> {
    if details.tenancy_start_date > casework::today() {
        return Err(ApiError::bad_input(
            "input.tenancyStartDate",
            "Must not be in the future.",
        ));
    }
    amount("input.rent", details.rent_pence)?;
    if details.rent_pence == 0 {
        return Err(ApiError::bad_input("input.rent", "Must be more than 0.00."));
    }
    amount("input.serviceCharge", details.service_charge_pence)?;
    match (details.in_arrears, details.arrears_pence) {
        (true, None) => Err(ApiError::bad_input(
            "input.arrears",
            "Give the arrears when the tenant is in arrears.",
        )),
        (true, Some(p)) => {
            amount("input.arrears", p)?;
            if p == 0 {
                Err(ApiError::bad_input(
                    "input.arrears",
                    "Must be more than 0.00.",
                ))
            } else {
                Ok(())
            }
        }
        (false, Some(_)) => Err(ApiError::bad_input(
            "input.arrears",
            "Leave this out when the tenant is not in arrears.",
        )),
        (false, None) => Ok(()),
    }
}

/// Answers an open request of the answerer's organisation (allowed by
/// `policy::requests::can_answer`: `PROVIDE_TENANCY_DETAILS`; another
/// organisation's request answers `NOT_FOUND`). A request already answered
/// is a `CONFLICT`.
pub async fn answer(
    app: &App,
    answerer: &Allowed<LandlordUser>,
    id: Uuid,
    answer: Answer,
) -> ApiResult<tenancy_request::Model> {
    if let Answer::Details(details) = &answer {
        validate(details)?;
    }
    let now = Utc::now();
    let txn = platform::db::begin_write(&app.db).await?;
    let before = policy::requests::find_answerable(&txn, answerer, id).await?;
    // A verified rent belongs to an address: the property named in the
    // answer (the tenant is linked to it), or the one already known.
    let mut home = None;
    if let Answer::Details(d) = &answer {
        let tenant = tenant::Entity::find_by_id(before.tenant_id)
            .one(&txn)
            .await?
            .ok_or(ApiError::NotFound("Tenant"))?;
        home = match d.property_id {
            Some(pid) => {
                let found =
                    own_property(&txn, before.organisation_id, pid, "input.propertyId").await?;
                super::tenants::link(&txn, answerer.actor(), tenant, Some(found.id)).await?;
                Some(found.id)
            }
            None => before.property_id.or(tenant.property_id),
        };
    }
    let mut update = tenancy_request::Entity::update_many()
        .col_expr(
            tenancy_request::Column::AnsweredByUserId,
            Expr::value(Some(answerer.user_id)),
        )
        .col_expr(tenancy_request::Column::AnsweredAt, Expr::value(Some(now)))
        .col_expr(tenancy_request::Column::UpdatedAt, Expr::value(now));
    let action = match &answer {
        Answer::Details(d) => {
            update = update
                .col_expr(
                    tenancy_request::Column::Status,
                    Expr::value(TenancyRequestStatus::Answered.as_str()),
                )
                .col_expr(
                    tenancy_request::Column::TenancyStartDate,
                    Expr::value(Some(d.tenancy_start_date)),
                )
                .col_expr(
                    tenancy_request::Column::RentPence,
                    Expr::value(Some(d.rent_pence)),
                )
                .col_expr(
                    tenancy_request::Column::RentFrequency,
                    Expr::value(Some(d.rent_frequency.as_str())),
                )
                .col_expr(
                    tenancy_request::Column::ServiceChargePence,
                    Expr::value(Some(d.service_charge_pence)),
                )
                .col_expr(
                    tenancy_request::Column::InArrears,
                    Expr::value(Some(d.in_arrears)),
                )
                .col_expr(
                    tenancy_request::Column::ArrearsPence,
                    Expr::value(d.arrears_pence),
                )
                .col_expr(tenancy_request::Column::PropertyId, Expr::value(home));
            "tenancy_request.answer"
        }
        Answer::NotTenant => {
            update = update.col_expr(
                tenancy_request::Column::Status,
                Expr::value(TenancyRequestStatus::NotTenant.as_str()),
            );
            "tenancy_request.not_tenant"
        }
    };
    let result = update
        .filter(tenancy_request::Column::Id.eq(id))
        .filter(tenancy_request::Column::Status.eq(TenancyRequestStatus::Open))
        .exec(&txn)
        .await?;
    if result.rows_affected == 0 {
        return Err(ApiError::Conflict(
            "This request has already been answered.".into(),
        ));
    }
    let after = tenancy_request::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or(ApiError::NotFound("Tenancy request"))?;
    record(&txn, answerer.actor(), action, &after, Some(&before)).await?;
    txn.commit().await?;
    Ok(after)
}
