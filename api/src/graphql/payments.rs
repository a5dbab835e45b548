//! Payments to landlords: the search (`VIEW_PAYMENTS` users and API tokens,
//! staff), one payment, and recording payments (staff).
//!
//! The search runs `payments::search` (the same query the CSV export runs):
//! keyset pages in `payment_date DESC, id DESC` order with an opaque cursor
//! of the last row's date and id, and the totals of the whole filter on the
//! connection, computed only when asked for (one statement for both).

use async_graphql::{
    Context, ID, InputObject, Object,
    connection::{Connection, Edge, EmptyFields},
};
use chrono::{DateTime, Utc};
use tokio::sync::OnceCell;
use uuid::Uuid;

use entities::payment;

use super::{
    ContextExt,
    inputs::PaymentFilter,
    loaders::{PropertyKey, TenantKey},
    money::Money,
    organisations::{Organisation, organisation_link},
    pagination::page_size,
    properties::{Property, Tenant},
    scalars::Date,
    scalars::{NodeKind, global_id, input_id, organisation_arg, parse_id},
};
use crate::{
    error::ApiResult,
    payments::{
        record::{self, NewPayment},
        search::{self, Cursor, PaymentFilter as Filter, PaymentFilterInput, Totals},
    },
    policy,
};

/// A payment made to a landlord for a tenant. Name, postcode and claim
/// reference are as they were when it was paid.
pub struct Payment(pub payment::Model);

/// A payment made to a landlord for a tenant. Name, postcode and claim
/// reference are as they were when it was paid.
#[Object]
impl Payment {
    /// Payment id.
    pub async fn id(&self) -> ID {
        global_id(NodeKind::Payment, self.0.id)
    }
    /// The landlord organisation, through the request's loader (null for
    /// a caller who may not see organisations: API tokens).
    async fn organisation(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Organisation>> {
        organisation_link(ctx, self.0.organisation_id).await
    }
    /// The tenant paid for (through the request's loader).
    async fn tenant(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Tenant>> {
        Ok(ctx.load(TenantKey(self.0.tenant_id)).await?.map(Tenant))
    }
    /// The property, when known (through the request's loader).
    async fn property(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Property>> {
        let Some(id) = self.0.property_id else {
            return Ok(None);
        };
        Ok(ctx.load(PropertyKey(id)).await?.map(Property))
    }
    /// The tenant's name when paid.
    async fn tenant_name(&self) -> &str {
        &self.0.tenant_name
    }
    /// The postcode when paid (normalised).
    async fn postcode(&self) -> &str {
        &self.0.postcode
    }
    /// The Universal Credit claim reference.
    async fn claim_reference(&self) -> &str {
        &self.0.claim_reference
    }
    /// The amount paid.
    async fn amount(&self) -> Money {
        Money::from_pence(self.0.amount_pence)
    }
    /// When it was paid.
    async fn payment_date(&self) -> Date {
        Date(self.0.payment_date)
    }
    /// First day of the period covered.
    async fn period_start(&self) -> Date {
        Date(self.0.period_start)
    }
    /// Last day of the period covered (inclusive).
    async fn period_end(&self) -> Date {
        Date(self.0.period_end)
    }
    /// The Alternative Payment Arrangement it was paid under.
    async fn arrangement_reference(&self) -> Option<&str> {
        self.0.arrangement_reference.as_deref()
    }
    /// When it was recorded.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// The totals of a whole search (every page), computed once when asked for.
pub struct PaymentTotals {
    organisation_id: Uuid,
    filter: Filter,
    totals: OnceCell<Totals>,
}

impl PaymentTotals {
    async fn get(&self, ctx: &Context<'_>) -> ApiResult<Totals> {
        self.totals
            .get_or_try_init(|| search::totals(&ctx.app().db, self.organisation_id, &self.filter))
            .await
            .copied()
    }
}

#[Object]
impl PaymentTotals {
    /// How many payments match the filter.
    #[graphql(complexity = "super::cost::TOTALS_COST + child_complexity")]
    async fn total_count(&self, ctx: &Context<'_>) -> async_graphql::Result<i64> {
        Ok(self.get(ctx).await?.count)
    }
    /// The sum of their amounts (exact).
    #[graphql(complexity = "super::cost::TOTALS_COST + child_complexity")]
    async fn total_amount(&self, ctx: &Context<'_>) -> async_graphql::Result<Money> {
        Ok(Money::from_pence(self.get(ctx).await?.amount_pence))
    }
}

/// Payment queries.
#[derive(Default)]
pub struct PaymentsQuery;

#[Object]
impl PaymentsQuery {
    /// Payments made to my organisation (`VIEW_PAYMENTS`; an API token: its
    /// organisation's; staff: `organisationId`'s, required), newest first,
    /// at most 100 a page, with the totals of the whole search.
    #[graphql(complexity = "super::pagination::connection_cost(first, child_complexity)")]
    async fn payments(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "Which organisation's: staff may name any (or leave it out for every organisation); an organisation's own users and API tokens see their own, and naming another organisation answers `NOT_FOUND`."
        )]
        organisation_id: Option<ID>,
        #[graphql(desc = "Which payments (default: all).")] filter: Option<PaymentFilter>,
        #[graphql(desc = "How many to return: 1 to 100 (default 20).")] first: Option<i32>,
        #[graphql(desc = "The `endCursor` of the previous page: the page starts after it.")] after: Option<String>,
    ) -> async_graphql::Result<Connection<String, Payment, PaymentTotals, EmptyFields>> {
        let requested = organisation_arg(organisation_id.as_ref())?;
        let organisation_id =
            policy::payments::visible(&ctx.caller(), requested, "organisationId")?;
        let limit = page_size(first)?;
        let after = after
            .as_deref()
            .map(|c| Cursor::decode(c, "after"))
            .transpose()?;
        let input: PaymentFilterInput = filter.unwrap_or_default().into();
        let filter = Filter::parse(&input, "filter")?;
        let (rows, has_next) =
            search::page(&ctx.app().db, organisation_id, &filter, after, limit).await?;
        let mut connection = Connection::with_additional_fields(
            after.is_some(),
            has_next,
            PaymentTotals {
                organisation_id,
                filter,
                totals: OnceCell::new(),
            },
        );
        connection.edges.extend(
            rows.into_iter()
                .map(|p| Edge::new(Cursor::of(&p).encode(), Payment(p))),
        );
        Ok(connection)
    }

    /// One payment (`NOT_FOUND` when missing or not mine to see).
    pub async fn payment(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The payment.")] id: ID,
    ) -> async_graphql::Result<Payment> {
        let id = parse_id(&id, NodeKind::Payment)?;
        Ok(Payment(
            policy::payments::find_visible(&ctx.app().db, &ctx.caller(), id).await?,
        ))
    }
}

/// One payment to record.
#[derive(InputObject)]
pub struct PaymentInput {
    /// A tenant of the organisation.
    pub tenant_id: ID,
    /// The amount (more than 0.00).
    pub amount: Money,
    /// When it was paid.
    pub payment_date: Date,
    /// First day covered.
    pub period_start: Date,
    /// Last day covered (inclusive, not before `periodStart`).
    pub period_end: Date,
    /// The postcode, when not the tenant's property's (required when the
    /// tenant has no property on record).
    pub postcode: Option<String>,
    /// The approved arrangement of this tenant it was paid under.
    pub arrangement_reference: Option<String>,
}

/// Payment mutations (staff).
#[derive(Default)]
pub struct PaymentsMutation;

#[Object]
impl PaymentsMutation {
    /// Records up to 1000 payments to an organisation, all or nothing: the
    /// first invalid one answers `BAD_USER_INPUT` on `input.<index>.<field>`
    /// and none is stored.
    async fn record_payments(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The organisation the payments belong to.")] organisation_id: ID,
        #[graphql(desc = "The payments (at most 1,000 in one call).")] input: Vec<PaymentInput>,
    ) -> async_graphql::Result<Vec<Payment>> {
        let staff = policy::payments::can_record(&ctx.caller())?;
        let organisation_id = input_id(&organisation_id, NodeKind::Organisation, "organisationId")?;
        let payments = input
            .into_iter()
            .enumerate()
            .map(|(i, p)| {
                Ok(NewPayment {
                    tenant_id: input_id(
                        &p.tenant_id,
                        NodeKind::Tenant,
                        &format!("input.{i}.tenantId"),
                    )?,
                    amount_pence: p.amount.pence(&format!("input.{i}.amount"))?,
                    payment_date: p.payment_date.0,
                    period_start: p.period_start.0,
                    period_end: p.period_end.0,
                    postcode: p.postcode,
                    arrangement_reference: p.arrangement_reference,
                })
            })
            .collect::<ApiResult<Vec<_>>>()?;
        Ok(record::record(ctx.app(), &staff, organisation_id, payments)
            .await?
            .into_iter()
            .map(Payment)
            .collect())
    }
}
