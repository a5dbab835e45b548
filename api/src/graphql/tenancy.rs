//! The to-do list: "Provide tenancy details" requests. Staff raise them;
//! landlord users see their organisation's list and, with
//! `PROVIDE_TENANCY_DETAILS`, answer them (the details, or "not our
//! tenant"). Both sides see the answer.

use async_graphql::{Context, Enum, ID, InputObject, Object, OneofObject, SimpleObject};
use chrono::{DateTime, Utc};

use entities::tenancy_request;

use super::{
    ContextExt,
    enums::RentFrequency,
    inputs::search_text,
    loaders::{ManagedUserKey, OrganisationViewKey, PropertyKey, TenantKey, prefetch},
    money::{Money, optional_pence},
    organisations::{Organisation, organisation_link},
    pagination::{Counted, counted_connection, decode_offset, page_size},
    properties::{Property, Tenant},
    scalars::Date,
    scalars::{NodeKind, global_id, input_id, organisation_arg, parse_id},
    users::{UserAccount, user_link},
};
use crate::{
    casework, policy,
    tenancy::{
        self,
        requests::{Answer, NewRequest, RequestFilter, RequestTenant, TenancyDetails as Details},
    },
};

/// State of a "Provide tenancy details" request.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "entities::TenancyRequestStatus")]
pub enum TenancyRequestStatus {
    /// Waiting for the landlord.
    Open,
    /// The landlord gave the tenancy details.
    Answered,
    /// The landlord said the person is not their tenant.
    NotTenant,
}

/// Why a request was raised.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Default)]
#[graphql(remote = "entities::TenancyRequestReason")]
pub enum TenancyRequestReason {
    /// The tenant made a new Universal Credit claim ("New claim").
    #[default]
    NewClaim,
    /// The tenant's circumstances changed ("Change of circumstances"): a
    /// move, a new rent, a new household.
    ChangeOfCircumstances,
}

/// What the to-do item shows for a reason.
fn reason_label(reason: entities::TenancyRequestReason) -> &'static str {
    match reason {
        entities::TenancyRequestReason::NewClaim => "New claim",
        entities::TenancyRequestReason::ChangeOfCircumstances => "Change of circumstances",
    }
}

/// The tenancy details a landlord gave.
#[derive(SimpleObject)]
pub struct TenancyDetails {
    /// When the tenancy started.
    pub tenancy_start_date: Date,
    /// Rent per `rentFrequency`.
    pub rent: Money,
    /// How often rent is due.
    pub rent_frequency: RentFrequency,
    /// Service charges per `rentFrequency`.
    pub service_charge: Money,
    /// Whether the tenant is in arrears.
    pub in_arrears: bool,
    /// The arrears, when in arrears.
    pub arrears: Option<Money>,
}

/// A "Provide tenancy details" request on an organisation's to-do list.
pub struct TenancyRequest(pub tenancy_request::Model);

/// A "Provide tenancy details" request on a landlord organisation's to-do list:
/// why it was raised (e.g. a new claim), the tenant, the property, its due
/// date, and the answer.
#[Object]
impl TenancyRequest {
    /// Request id.
    pub async fn id(&self) -> ID {
        global_id(NodeKind::TenancyRequest, self.0.id)
    }
    /// The landlord organisation, through the request's loader.
    async fn organisation(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Organisation>> {
        organisation_link(ctx, self.0.organisation_id).await
    }
    /// What is asked ("Provide tenancy details").
    async fn title(&self) -> &'static str {
        "Provide tenancy details"
    }
    /// Why it was raised.
    async fn reason(&self) -> TenancyRequestReason {
        self.0.reason.into()
    }
    /// The reason as the to-do list shows it ("New claim").
    async fn reason_label(&self) -> &'static str {
        reason_label(self.0.reason)
    }
    /// The tenant.
    async fn tenant(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Tenant>> {
        Ok(ctx.load(TenantKey(self.0.tenant_id)).await?.map(Tenant))
    }
    /// The property the tenancy details are for, when the request or its
    /// answer named one (or the tenant already had one when answered).
    async fn property(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Property>> {
        let Some(id) = self.0.property_id else {
            return Ok(None);
        };
        Ok(ctx.load(PropertyKey(id)).await?.map(Property))
    }
    /// The tenant's name ("First Last").
    async fn tenant_name(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<String>> {
        Ok(ctx
            .load(TenantKey(self.0.tenant_id))
            .await?
            .map(|t| tenancy::tenants::full_name(&t)))
    }
    /// The postcode on the claim.
    async fn postcode(&self) -> &str {
        &self.0.postcode
    }
    /// When the request was added to the list.
    async fn date_added(&self) -> Date {
        Date(crate::calendar::uk_date(self.0.created_at))
    }
    /// When the request was added (time included).
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// When the landlord should answer by.
    async fn due_date(&self) -> Date {
        Date(self.0.due_date)
    }
    /// Whether an open request is past its due date.
    async fn overdue(&self) -> bool {
        self.0.status == entities::TenancyRequestStatus::Open && self.0.due_date < casework::today()
    }
    /// Open, answered or not their tenant.
    async fn status(&self) -> TenancyRequestStatus {
        self.0.status.into()
    }
    /// When it was answered.
    async fn answered_at(&self) -> Option<DateTime<Utc>> {
        self.0.answered_at
    }
    /// The landlord user who answered, through the request's loader:
    /// null when I may not see their account in user management (only the
    /// organisation's administrators and staff do; nobody sees a deactivated
    /// account there).
    async fn answered_by(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<UserAccount>> {
        let Some(id) = self.0.answered_by_user_id else {
            return Ok(None);
        };
        user_link(ctx, id).await
    }
    /// The details given (answered requests only).
    async fn details(&self) -> Option<TenancyDetails> {
        let r = &self.0;
        Some(TenancyDetails {
            tenancy_start_date: Date(r.tenancy_start_date?),
            rent: Money::from_pence(r.rent_pence?),
            rent_frequency: r.rent_frequency?.into(),
            service_charge: Money::from_pence(r.service_charge_pence.unwrap_or(0)),
            in_arrears: r.in_arrears.unwrap_or(false),
            arrears: r.arrears_pence.map(Money::from_pence),
        })
    }
}

/// To-do list filter.
#[derive(InputObject, Default)]
pub struct TenancyRequestFilter {
    /// Words matched against the tenant's name, claim reference and the postcode.
    pub keyword: Option<String>,
    /// Due on or before this date.
    pub due_before: Option<Date>,
    /// Due on or after this date.
    pub due_after: Option<Date>,
    /// Only this status.
    pub status: Option<TenancyRequestStatus>,
}

/// To-do list queries.
#[derive(Default)]
pub struct TenancyQuery;

#[Object]
impl TenancyQuery {
    /// My organisation's to-do list (staff: `organisationId`'s, or every
    /// organisation's), soonest due first, with the total ("Showing 5 out of
    /// 5 results").
    #[graphql(complexity = "super::pagination::connection_cost(first, child_complexity)")]
    async fn tenancy_requests(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "Which organisation's: staff may name any (or leave it out for every organisation); an organisation's own users and API tokens see their own, and naming another organisation answers `NOT_FOUND`."
        )]
        organisation_id: Option<ID>,
        #[graphql(desc = "Which requests (default: all).")] filter: Option<TenancyRequestFilter>,
        #[graphql(desc = "How many to return: 1 to 100 (default 20).")] first: Option<i32>,
        #[graphql(desc = "The `endCursor` of the previous page: the page starts after it.")] after: Option<String>,
    ) -> async_graphql::Result<Counted<TenancyRequest>> {
        let limit = page_size(first)?;
        let offset = decode_offset(after.as_deref())?;
        let filter = filter.unwrap_or_default();
        let filter = RequestFilter {
            organisation_id: organisation_arg(organisation_id.as_ref())?,
            keyword: search_text("filter.keyword", filter.keyword)?,
            due_before: filter.due_before.map(|d| d.0),
            due_after: filter.due_after.map(|d| d.0),
            status: filter.status.map(Into::into),
        };
        let (rows, has_next, total) =
            tenancy::requests::list(ctx.app(), &ctx.caller(), &filter, offset, limit).await?;
        let node = ctx.look_ahead().field("edges").field("node");
        if node.field("tenant").exists() || node.field("tenantName").exists() {
            prefetch(ctx, rows.iter().map(|r| TenantKey(r.tenant_id))).await;
        }
        if node.field("organisation").exists() {
            prefetch(
                ctx,
                rows.iter().map(|r| OrganisationViewKey(r.organisation_id)),
            )
            .await;
        }
        if node.field("answeredBy").exists() {
            prefetch(
                ctx,
                rows.iter()
                    .filter_map(|r| r.answered_by_user_id)
                    .map(ManagedUserKey),
            )
            .await;
        }
        // The requests' properties and their tenants' homes, in one statement.
        let mut homes: Vec<PropertyKey> = Vec::new();
        if node.field("property").exists() {
            homes.extend(rows.iter().filter_map(|r| r.property_id).map(PropertyKey));
        }
        if node.field("tenant").field("property").exists() {
            for r in &rows {
                // Already loaded above: no statement.
                if let Some(home) = ctx
                    .load(TenantKey(r.tenant_id))
                    .await?
                    .and_then(|t| t.property_id)
                {
                    homes.push(PropertyKey(home));
                }
            }
        }
        if !homes.is_empty() {
            prefetch(ctx, homes).await;
        }
        Ok(counted_connection(
            rows,
            offset,
            has_next,
            total,
            TenancyRequest,
        ))
    }

    /// One request (`NOT_FOUND` when missing or not mine to see).
    pub async fn tenancy_request(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The tenancy request.")] id: ID,
    ) -> async_graphql::Result<TenancyRequest> {
        let id = parse_id(&id, NodeKind::TenancyRequest)?;
        Ok(TenancyRequest(
            policy::requests::find_visible(&ctx.app().db, &ctx.caller(), id).await?,
        ))
    }
}

/// A claimant who is not yet a tenant on record.
#[derive(InputObject)]
pub struct NewTenantInput {
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// Universal Credit claim reference (the organisation's tenant with this
    /// reference is used when there is one).
    pub claim_reference: String,
}

/// Who a request is about: a tenant on record, or a new claimant.
#[derive(OneofObject)]
pub enum RequestTenantInput {
    /// A tenant of the organisation.
    TenantId(ID),
    /// A new claimant.
    NewTenant(NewTenantInput),
}

/// A new "Provide tenancy details" request.
#[derive(InputObject)]
pub struct RaiseTenancyRequestInput {
    /// The landlord organisation.
    pub organisation_id: ID,
    /// The tenant.
    pub tenant: RequestTenantInput,
    /// The postcode on the claim.
    pub postcode: String,
    /// Answer by (today or later).
    pub due_date: Date,
    /// Why it is raised (default: a new claim).
    #[graphql(default)]
    pub reason: TenancyRequestReason,
    /// The organisation's property the claim is for, when known: the tenant
    /// is linked to it (`BAD_USER_INPUT` when it is not a live property of
    /// the organisation).
    pub property_id: Option<ID>,
}

/// The tenancy details.
#[derive(InputObject)]
pub struct ProvideTenancyDetailsInput {
    /// When the tenancy started (not in the future).
    pub tenancy_start_date: Date,
    /// Rent per `rentFrequency` (more than 0.00).
    pub rent: Money,
    /// How often rent is due.
    pub rent_frequency: RentFrequency,
    /// Service charges per `rentFrequency` (default 0.00).
    pub service_charge: Option<Money>,
    /// Whether the tenant is in arrears.
    pub in_arrears: bool,
    /// The arrears: required when in arrears, left out otherwise.
    pub arrears: Option<Money>,
    /// The property of my organisation the tenancy is for: the tenant is
    /// linked to it. Left out: the request's property, else the tenant's
    /// (`BAD_USER_INPUT` when it is not one of my live properties).
    pub property_id: Option<ID>,
}

/// To-do list mutations.
#[derive(Default)]
pub struct TenancyMutation;

#[Object]
impl TenancyMutation {
    /// Puts a "Provide tenancy details" request on an organisation's to-do
    /// list (staff) and emails its users who can answer it.
    async fn raise_tenancy_request(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "The organisation, tenant, postcode, due date, reason and (when known) property."
        )]
        input: RaiseTenancyRequestInput,
    ) -> async_graphql::Result<TenancyRequest> {
        let staff = policy::requests::can_raise(&ctx.caller())?;
        let tenant = match input.tenant {
            RequestTenantInput::TenantId(id) => {
                RequestTenant::Existing(input_id(&id, NodeKind::Tenant, "input.tenant.tenantId")?)
            }
            RequestTenantInput::NewTenant(t) => RequestTenant::New {
                first_name: t.first_name,
                last_name: t.last_name,
                claim_reference: t.claim_reference,
            },
        };
        let new = NewRequest {
            organisation_id: input_id(
                &input.organisation_id,
                NodeKind::Organisation,
                "input.organisationId",
            )?,
            tenant,
            postcode: input.postcode,
            due_date: input.due_date.0,
            reason: input.reason.into(),
            property_id: input
                .property_id
                .as_ref()
                .map(|id| input_id(id, NodeKind::Property, "input.propertyId"))
                .transpose()?,
        };
        Ok(TenancyRequest(
            tenancy::requests::raise(ctx.app(), &staff, new).await?,
        ))
    }

    /// Answers a request with the tenancy details (`PROVIDE_TENANCY_DETAILS`);
    /// a request already answered is a `CONFLICT`.
    async fn provide_tenancy_details(
        &self,
        ctx: &Context<'_>,
        #[graphql(name = "id", desc = "The tenancy request, one of `tenancyRequests`.")] request_id: ID,
        #[graphql(
            desc = "The tenancy's start date, rent and its frequency, service charge, arrears and property."
        )]
        input: ProvideTenancyDetailsInput,
    ) -> async_graphql::Result<TenancyRequest> {
        let answerer = policy::requests::can_answer(&ctx.caller())?;
        let id = parse_id(&request_id, NodeKind::TenancyRequest)?;
        let details = Details {
            tenancy_start_date: input.tenancy_start_date.0,
            rent_pence: input.rent.pence("input.rent")?,
            rent_frequency: input.rent_frequency.into(),
            service_charge_pence: optional_pence(
                input.service_charge.as_ref(),
                "input.serviceCharge",
            )?
            .unwrap_or(0),
            in_arrears: input.in_arrears,
            arrears_pence: optional_pence(input.arrears.as_ref(), "input.arrears")?,
            property_id: input
                .property_id
                .as_ref()
                .map(|id| input_id(id, NodeKind::Property, "input.propertyId"))
                .transpose()?,
        };
        Ok(TenancyRequest(
            tenancy::requests::answer(ctx.app(), &answerer, id, Answer::Details(details)).await?,
        ))
    }

    /// Answers a request with "this person is not our tenant"
    /// (`PROVIDE_TENANCY_DETAILS`).
    async fn declare_not_tenant(
        &self,
        ctx: &Context<'_>,
        #[graphql(name = "id", desc = "The tenancy request, one of `tenancyRequests`.")] request_id: ID,
    ) -> async_graphql::Result<TenancyRequest> {
        let answerer = policy::requests::can_answer(&ctx.caller())?;
        let id = parse_id(&request_id, NodeKind::TenancyRequest)?;
        Ok(TenancyRequest(
            tenancy::requests::answer(ctx.app(), &answerer, id, Answer::NotTenant).await?,
        ))
    }
}
