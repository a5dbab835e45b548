//! Alternative Payment Arrangements: a landlord user applies for a tenant,
//! staff approve or reject, and both see the status and its history. Evidence
//! documents (`documents.payment_arrangement_id`) are uploaded with
//! `addPaymentArrangementEvidence` and listed as `evidence`; they go through the
//! same checks and virus scan as every other upload.

use async_graphql::{
    Context, Enum, ID, InputObject, Object, SimpleObject,
    connection::{Connection, EmptyFields},
};
use chrono::{DateTime, Utc};

use entities::payment_arrangement;

use super::{
    ContextExt,
    enums::DocumentCategory,
    inputs::{DocumentUploadInput, new_files},
    loaders::{ArrangementEventsKey, TenantKey, prefetch},
    money::Money,
    organisations::{Organisation, organisation_link},
    pagination::{connection, decode_offset, page_size},
    properties::Tenant,
    scalars::{NodeKind, global_id, input_id, organisation_arg, parse_id},
    users::{UserAccount, user_link},
};
use crate::{
    policy,
    tenancy::{
        self,
        arrangements::{Application, ArrangementFilter, Decision},
    },
};

/// State of an Alternative Payment Arrangement application.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "entities::ArrangementStatus")]
pub enum ArrangementStatus {
    /// Applied for, awaiting a decision.
    Submitted,
    /// Approved by staff.
    Approved,
    /// Rejected by staff (with a reason).
    Rejected,
}

/// One step of an arrangement's history.
#[derive(SimpleObject)]
pub struct PaymentArrangementEvent {
    /// Event id.
    pub id: ID,
    /// The status the arrangement moved to.
    pub status: ArrangementStatus,
    /// The decision's reason or note.
    pub note: Option<String>,
    /// Who made the change. Kept as an id, not a link to the account: the
    /// decisions are made by staff, whose accounts landlord users may not
    /// see, and the landlord user who applied may since be deactivated.
    pub actor_user_id: Option<ID>,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// An Alternative Payment Arrangement application.
pub struct PaymentArrangement(pub payment_arrangement::Model);

/// An Alternative Payment Arrangement application: a landlord asks for a
/// tenant's rent to be paid to them directly; staff approve or reject it, with
/// the evidence attached.
#[Object]
impl PaymentArrangement {
    /// Arrangement id.
    pub async fn id(&self) -> ID {
        global_id(NodeKind::PaymentArrangement, self.0.id)
    }
    /// The landlord organisation, through the request's loader (null for
    /// a caller who may not see organisations: API tokens).
    async fn organisation(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Organisation>> {
        organisation_link(ctx, self.0.organisation_id).await
    }
    /// `APA-` and a 6-digit number, e.g. `APA-000123`; payments made under
    /// the arrangement carry it.
    async fn reference(&self) -> &str {
        &self.0.reference
    }
    /// The tenant.
    async fn tenant(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Tenant>> {
        Ok(ctx.load(TenantKey(self.0.tenant_id)).await?.map(Tenant))
    }
    /// Why the landlord applied.
    async fn reason(&self) -> &str {
        &self.0.reason
    }
    /// The tenant's arrears when applying.
    async fn arrears(&self) -> Money {
        Money::from_pence(self.0.arrears_pence)
    }
    /// Submitted, approved or rejected.
    async fn status(&self) -> ArrangementStatus {
        self.0.status.into()
    }
    /// Staff's reason (rejections) or note (approvals).
    async fn decision_reason(&self) -> Option<&str> {
        self.0.decision_reason.as_deref()
    }
    /// When it was decided.
    async fn decided_at(&self) -> Option<DateTime<Utc>> {
        self.0.decided_at
    }
    /// The landlord user who applied, through the request's loader:
    /// null when I may not see their account in user management (only the
    /// organisation's administrators and staff do; nobody sees a deactivated
    /// account there).
    async fn applied_by(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<UserAccount>> {
        let Some(id) = self.0.applied_by_user_id else {
            return Ok(None);
        };
        user_link(ctx, id).await
    }
    /// When the application was made.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// The evidence documents I may see (staff: all; the applying
    /// organisation: its own uploads), oldest first.
    async fn evidence(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<super::documents::Document>> {
        let rows =
            crate::documents::arrangement_evidence(ctx.app(), ctx.reader()?, self.0.id).await?;
        Ok(rows.into_iter().map(super::documents::Document).collect())
    }
    /// The history, oldest first (submission, then the decision).
    async fn events(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<PaymentArrangementEvent>> {
        Ok(ctx
            .load(ArrangementEventsKey(self.0.id))
            .await?
            .unwrap_or_default()
            .into_iter()
            .map(|e| PaymentArrangementEvent {
                id: global_id(NodeKind::PaymentArrangementEvent, e.id),
                status: e.status.into(),
                note: e.note,
                actor_user_id: e.actor_user_id.map(|id| global_id(NodeKind::User, id)),
                created_at: e.created_at,
            })
            .collect())
    }
}

/// Arrangement list filter.
#[derive(InputObject, Default)]
pub struct PaymentArrangementFilter {
    /// Only this status (staff: `SUBMITTED` is the queue to decide).
    pub status: Option<ArrangementStatus>,
    /// Only this tenant's.
    pub tenant_id: Option<ID>,
}

/// Arrangement queries.
#[derive(Default)]
pub struct ArrangementsQuery;

#[Object]
impl ArrangementsQuery {
    /// My organisation's arrangements (staff: `organisationId`'s, or every
    /// organisation's), newest first.
    #[graphql(complexity = "super::pagination::connection_cost(first, child_complexity)")]
    async fn payment_arrangements(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "Which organisation's: staff may name any (or leave it out for every organisation); an organisation's own users and API tokens see their own, and naming another organisation answers `NOT_FOUND`."
        )]
        organisation_id: Option<ID>,
        #[graphql(desc = "Which applications (default: all).")] filter: Option<
            PaymentArrangementFilter,
        >,
        #[graphql(desc = "How many to return: 1 to 100 (default 20).")] first: Option<i32>,
        #[graphql(desc = "The `endCursor` of the previous page: the page starts after it.")] after: Option<String>,
    ) -> async_graphql::Result<Connection<String, PaymentArrangement, EmptyFields, EmptyFields>>
    {
        let limit = page_size(first)?;
        let offset = decode_offset(after.as_deref())?;
        let filter = filter.unwrap_or_default();
        let filter = ArrangementFilter {
            organisation_id: organisation_arg(organisation_id.as_ref())?,
            status: filter.status.map(Into::into),
            tenant_id: filter
                .tenant_id
                .as_ref()
                .map(|id| input_id(id, NodeKind::Tenant, "filter.tenantId"))
                .transpose()?,
        };
        let (rows, has_next) =
            tenancy::arrangements::list(ctx.app(), &ctx.caller(), &filter, offset, limit).await?;
        let node = ctx.look_ahead().field("edges").field("node");
        if node.field("tenant").exists() {
            prefetch(ctx, rows.iter().map(|r| TenantKey(r.tenant_id))).await;
        }
        if node.field("events").exists() {
            prefetch(ctx, rows.iter().map(|r| ArrangementEventsKey(r.id))).await;
        }
        Ok(connection(rows, offset, has_next, PaymentArrangement))
    }

    /// One arrangement (`NOT_FOUND` when missing or not mine to see).
    pub async fn payment_arrangement(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The application.")] id: ID,
    ) -> async_graphql::Result<PaymentArrangement> {
        let id = parse_id(&id, NodeKind::PaymentArrangement)?;
        Ok(PaymentArrangement(
            policy::arrangements::find_visible(&ctx.app().db, &ctx.caller(), id).await?,
        ))
    }
}

/// An application for an arrangement.
#[derive(InputObject)]
pub struct ApplyForPaymentArrangementInput {
    /// A tenant of my organisation.
    pub tenant_id: ID,
    /// Why (at most 2000 characters).
    pub reason: String,
    /// The tenant's arrears.
    pub arrears: Money,
}

/// Arrangement mutations.
#[derive(Default)]
pub struct ArrangementsMutation;

#[Object]
impl ArrangementsMutation {
    /// Applies for an Alternative Payment Arrangement for a tenant of my
    /// organisation (`PROVIDE_TENANCY_DETAILS`).
    async fn apply_for_payment_arrangement(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The tenant, the arrears and why the arrangement is needed.")]
        input: ApplyForPaymentArrangementInput,
    ) -> async_graphql::Result<PaymentArrangement> {
        let applicant = policy::arrangements::can_apply(&ctx.caller())?;
        let application = Application {
            tenant_id: input_id(&input.tenant_id, NodeKind::Tenant, "input.tenantId")?,
            reason: input.reason,
            arrears_pence: input.arrears.pence("input.arrears")?,
        };
        Ok(PaymentArrangement(
            tenancy::arrangements::apply(ctx.app(), &applicant, application).await?,
        ))
    }

    /// Adds evidence documents to an application awaiting a decision (a
    /// multipart request, like `uploadDocuments`; `PROVIDE_TENANCY_DETAILS`
    /// in the applying organisation). Every file is checked before any is
    /// kept; each starts `PENDING_SCAN`.
    async fn add_payment_arrangement_evidence(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The payment arrangement application.")] id: ID,
        #[graphql(desc = "The files, each with its category.")] files: Vec<DocumentUploadInput>,
        #[graphql(desc = "One category for every file, instead of each file's own.")]
        same_category_for_all: Option<DocumentCategory>,
    ) -> async_graphql::Result<Vec<super::documents::Document>> {
        let id = parse_id(&id, NodeKind::PaymentArrangement)?;
        let caller = ctx.caller();
        let arrangement = policy::arrangements::find_visible(&ctx.app().db, &caller, id).await?;
        let landlord = policy::arrangements::can_add_evidence(&caller, &arrangement)?;
        let files = new_files(ctx, "files", files, same_category_for_all)?;
        let rows = crate::documents::attach_arrangement_evidence(
            ctx.app(),
            &landlord,
            &arrangement,
            files,
        )
        .await?;
        Ok(rows.into_iter().map(super::documents::Document).collect())
    }

    /// Approves an application awaiting a decision (staff); emails the applicant.
    async fn approve_payment_arrangement(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The application.")] id: ID,
        #[graphql(desc = "A note for the applicant (optional, at most 2000 characters).")]
        note: Option<String>,
    ) -> async_graphql::Result<PaymentArrangement> {
        let staff = policy::arrangements::can_decide(&ctx.caller())?;
        let id = parse_id(&id, NodeKind::PaymentArrangement)?;
        Ok(PaymentArrangement(
            tenancy::arrangements::decide(ctx.app(), &staff, id, Decision::Approve(note)).await?,
        ))
    }

    /// Rejects an application awaiting a decision, with the reason (staff);
    /// emails the applicant.
    async fn reject_payment_arrangement(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The application.")] id: ID,
        #[graphql(desc = "Why, 1 to 2000 characters (sent to the applicant).")] reason: String,
    ) -> async_graphql::Result<PaymentArrangement> {
        let staff = policy::arrangements::can_decide(&ctx.caller())?;
        let id = parse_id(&id, NodeKind::PaymentArrangement)?;
        Ok(PaymentArrangement(
            tenancy::arrangements::decide(ctx.app(), &staff, id, Decision::Reject(reason)).await?,
        ))
    }
}
