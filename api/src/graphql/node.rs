//! Global object identification (the Relay server specification): the
//! [`Node`] interface, `node(id:)` and `nodes(ids:)`.
//!
//! A global id carries its type ([`scalars`](super::scalars)), so `node`
//! knows which single-object query answers it and goes through that query:
//! the same policy checks and loaders as `case(id:)`, `task(id:)` and the
//! others. Cases, messages and organisations go through the request's
//! loader with the same policy condition instead, so that `nodes` loads each
//! of those kinds in one statement however many ids it is given (the other
//! kinds are still resolved one by one). A user id is answered by the policy
//! of the account's kind ([`resolve_user`]). An id that is undecodable, unknown or names something the caller
//! may not see answers `null` (never an error that would tell an object
//! exists); a caller who is not signed in is `UNAUTHENTICATED` as for every
//! other query.

use async_graphql::{Context, ID, Interface, Object};

use super::ContextExt;
use super::{
    arrangements::{ArrangementsQuery, PaymentArrangement},
    cases::{Case, CasesQuery},
    documents::{Document, DocumentsQuery},
    exports::{ExportsQuery, PaymentExport},
    housing_costs::{HousingCostUpdate, HousingCostsQuery},
    jobs::{Job, JobsQuery},
    loaders::{CaseKey, MessageKey, OrganisationViewKey, UserKey, prefetch},
    messages::Message,
    messages::message_link,
    organisations::Organisation,
    organisations::organisation_link,
    payments::{Payment, PaymentsQuery},
    properties::{PropertiesQuery, Property, Tenant},
    residents::ResidentAccount,
    scalars::parse_id,
    scalars::{NodeKind, decode_global_id},
    staff::StaffMember,
    tasks::{Task, TasksQuery},
    tenancy::{TenancyQuery, TenancyRequest},
    users::{UserAccount, UsersQuery},
    webhooks::{WebhookDelivery, WebhookEndpoint, WebhookEvent, WebhooksQuery},
};
use crate::{
    auth::Viewer,
    error::{ApiError, ErrorCode},
    policy,
};
use entities::UserKind;
use uuid::Uuid;

/// The most ids one `nodes` query takes.
pub const MAX_NODES: usize = 100;

/// An object with a global id, refetchable with `node(id:)`.
#[derive(Interface)]
#[graphql(field(
    name = "id",
    ty = "ID",
    desc = "The object's global id: opaque, typed (a case id is never taken where a task \
            id is expected) and stable; `node(id:)` refetches the object."
))]
pub enum Node {
    /// A case.
    Case(Case),
    /// A task.
    Task(Task),
    /// A message.
    Message(Message),
    /// A document.
    Document(Document),
    /// A background job.
    Job(Job),
    /// A landlord user's account, as user management shows it.
    UserAccount(UserAccount),
    /// A resident's account, as staff see it.
    ResidentAccount(ResidentAccount),
    /// A staff member's account, as service administrators see it.
    StaffMember(StaffMember),
    /// A landlord organisation.
    Organisation(Organisation),
    /// A property.
    Property(Property),
    /// A tenant.
    Tenant(Tenant),
    /// A tenancy request.
    TenancyRequest(TenancyRequest),
    /// An Alternative Payment Arrangement.
    PaymentArrangement(PaymentArrangement),
    /// A payment.
    Payment(Payment),
    /// A payments CSV export.
    PaymentExport(PaymentExport),
    /// A bulk housing-cost update.
    HousingCostUpdate(HousingCostUpdate),
    /// A webhook endpoint.
    WebhookEndpoint(WebhookEndpoint),
    /// A webhook event.
    WebhookEvent(WebhookEvent),
    /// The delivery of a webhook event to one endpoint.
    WebhookDelivery(WebhookDelivery),
}

/// `node` and `nodes`.
#[derive(Default)]
pub struct NodeQuery;

/// Whether an error only says the object is not there for this caller
/// (`NOT_FOUND`, or `FORBIDDEN` from a policy that refuses the caller's kind
/// outright): both answer `null`, so neither tells that an object exists.
fn is_absent(err: &async_graphql::Error) -> bool {
    let by_source = err
        .source
        .as_ref()
        .and_then(|source| source.downcast_ref::<ApiError>())
        .map(ApiError::code);
    let by_extension = err
        .extensions
        .as_ref()
        .and_then(|ext| ext.get("code"))
        .and_then(|code| match code {
            async_graphql::Value::String(code) => Some(code.clone()),
            _ => None,
        });
    matches!(by_source, Some(ErrorCode::NotFound | ErrorCode::Forbidden))
        || matches!(by_extension.as_deref(), Some("NOT_FOUND" | "FORBIDDEN"))
}

/// `UNAUTHENTICATED` for an anonymous caller, as every other query.
fn signed_in(ctx: &Context<'_>) -> async_graphql::Result<()> {
    if matches!(ctx.viewer(), Viewer::Anonymous) {
        return Err(ApiError::Unauthenticated.into());
    }
    Ok(())
}

/// Loads the cases, messages and organisations among `ids`, one statement
/// per kind through the request's loader, before `nodes` resolves each id
/// (the other kinds go through their single-object queries one by one).
async fn prefetch_nodes(ctx: &Context<'_>, ids: &[ID]) {
    let decoded: Vec<(NodeKind, Uuid)> = ids
        .iter()
        .filter_map(|id| decode_global_id(id.as_str()))
        .collect();
    let of = |kind: NodeKind| {
        decoded
            .iter()
            .filter(move |(k, _)| *k == kind)
            .map(|(_, uuid)| *uuid)
    };
    if let Ok(reader) = ctx.reader() {
        prefetch(ctx, of(NodeKind::Case).map(|uuid| CaseKey(uuid, reader))).await;
        prefetch(
            ctx,
            of(NodeKind::Message).map(|uuid| MessageKey(uuid, reader)),
        )
        .await;
    }
    let caller = ctx.caller();
    prefetch(
        ctx,
        of(NodeKind::Organisation)
            .filter(|uuid| policy::organisations::may_view(&caller, *uuid))
            .map(OrganisationViewKey),
    )
    .await;
}

/// The object `id` names, through its type's single-object query or the
/// loader with the same policy condition (`batched`: one of the ids of
/// `nodes`, prefetched by [`prefetch_nodes`]).
async fn resolve(ctx: &Context<'_>, id: ID, batched: bool) -> async_graphql::Result<Option<Node>> {
    let Some((kind, _)) = decode_global_id(id.as_str()) else {
        return Ok(None);
    };
    let found: async_graphql::Result<Option<Node>> = match kind {
        // One case: `case(id:)`, which also loads the relations the
        // selection asks for; many: the loader, `prefetch` having loaded
        // them all (`policy::cases::visible`, as `case(id:)`).
        NodeKind::Case if batched => match parse_id(&id, NodeKind::Case) {
            Ok(uuid) => Ok(ctx
                .load(CaseKey(uuid, ctx.reader()?))
                .await?
                .map(|c| Node::Case(Case(c)))),
            Err(_) => Ok(None),
        },
        NodeKind::Case => CasesQuery.case(ctx, id).await.map(|o| Some(Node::Case(o))),
        NodeKind::Task => TasksQuery.task(ctx, id).await.map(|o| Some(Node::Task(o))),
        // Through the loader (the same policy condition as
        // `message(id:)`), so that `nodes` loads them all in one statement.
        NodeKind::Message => match parse_id(&id, NodeKind::Message) {
            Ok(uuid) => message_link(ctx, uuid).await.map(|o| o.map(Node::Message)),
            Err(_) => Ok(None),
        },
        NodeKind::Document => DocumentsQuery
            .document(ctx, id)
            .await
            .map(|o| Some(Node::Document(o))),
        NodeKind::Job => JobsQuery.job(ctx, id).await.map(|o| Some(Node::Job(o))),
        NodeKind::User => resolve_user(ctx, id).await,
        // Through the loader and `policy::organisations`, as
        // `organisation(id:)` (null where that answers NOT_FOUND/FORBIDDEN).
        NodeKind::Organisation => match parse_id(&id, NodeKind::Organisation) {
            Ok(uuid) => organisation_link(ctx, uuid)
                .await
                .map(|o| o.map(Node::Organisation)),
            Err(_) => Ok(None),
        },
        NodeKind::Property => PropertiesQuery
            .property(ctx, id)
            .await
            .map(|o| Some(Node::Property(o))),
        NodeKind::Tenant => PropertiesQuery
            .tenant(ctx, id)
            .await
            .map(|o| Some(Node::Tenant(o))),
        NodeKind::TenancyRequest => TenancyQuery
            .tenancy_request(ctx, id)
            .await
            .map(|o| Some(Node::TenancyRequest(o))),
        NodeKind::PaymentArrangement => ArrangementsQuery
            .payment_arrangement(ctx, id)
            .await
            .map(|o| Some(Node::PaymentArrangement(o))),
        NodeKind::Payment => PaymentsQuery
            .payment(ctx, id)
            .await
            .map(|o| Some(Node::Payment(o))),
        NodeKind::PaymentExport => ExportsQuery
            .payment_export(ctx, id)
            .await
            .map(|o| Some(Node::PaymentExport(o))),
        NodeKind::HousingCostUpdate => HousingCostsQuery
            .housing_cost_update(ctx, id)
            .await
            .map(|o| Some(Node::HousingCostUpdate(o))),
        NodeKind::WebhookEndpoint => WebhooksQuery
            .webhook_endpoint(ctx, id)
            .await
            .map(|o| Some(Node::WebhookEndpoint(o))),
        NodeKind::WebhookEvent => WebhooksQuery
            .webhook_event(ctx, id)
            .await
            .map(|o| Some(Node::WebhookEvent(o))),
        NodeKind::WebhookDelivery => WebhooksQuery
            .webhook_delivery(ctx, id)
            .await
            .map(|o| Some(Node::WebhookDelivery(o))),
        // Types seen only inside another object (a case's parties and
        // notes, an arrangement's events, …) or only by their owner (a
        // session, an API token): no query fetches one alone.
        NodeKind::ApiToken
        | NodeKind::AuditLogEntry
        | NodeKind::CaseAccessReport
        | NodeKind::CaseNote
        | NodeKind::CaseParty
        | NodeKind::NotificationDelivery
        | NodeKind::PaymentArrangementEvent
        | NodeKind::Session
        | NodeKind::WebhookAttempt => Ok(None),
    };
    match found {
        Err(err) if is_absent(&err) => Ok(None),
        other => other,
    }
}

/// A user id names one of three account types, each with its own policy:
/// a landlord user's `UserAccount` (`organisationUser(id:)`:
/// `policy::users`, the organisation's administrators and staff), a
/// resident's `ResidentAccount` (`policy::users::may_view_resident`: staff)
/// and a staff member's `StaffMember` (`policy::staff`: service
/// administrators). The account's kind picks the policy; whoever that
/// policy refuses gets null, as for any other id.
async fn resolve_user(ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<Node>> {
    let Some(uuid) = parse_id(&id, NodeKind::User).ok() else {
        return Ok(None);
    };
    let Some(user) = ctx.load(UserKey(uuid)).await? else {
        return Ok(None);
    };
    match user.kind {
        UserKind::Landlord => UsersQuery
            .organisation_user(ctx, id)
            .await
            .map(|o| Some(Node::UserAccount(o))),
        UserKind::Resident => Ok(policy::users::may_view_resident(&ctx.caller(), &user)
            .then(|| Node::ResidentAccount(user.into()))),
        UserKind::Staff => {
            let admin = policy::staff::can_manage(&ctx.caller())?;
            let staff = policy::staff::find_visible(&ctx.app().db, &admin, uuid).await?;
            Ok(Some(Node::StaffMember(staff.into())))
        }
    }
}

#[Object]
impl NodeQuery {
    /// The object with this global id, whatever its type (Relay's
    /// refetching), or null when the id is unknown, malformed or names
    /// something I may not see. Authorised exactly as the type's own query
    /// (`case(id:)`, `task(id:)`, …).
    async fn node(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "A global id, as another field gave it.")] id: ID,
    ) -> async_graphql::Result<Option<Node>> {
        signed_in(ctx)?;
        resolve(ctx, id, false).await
    }

    /// The objects with these global ids, in the order given, null for each
    /// id `node` would answer null for. At most 100 ids.
    #[graphql(complexity = "ids.len().max(1) * child_complexity + 1")]
    async fn nodes(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Global ids, at most 100.")] ids: Vec<ID>,
    ) -> async_graphql::Result<Vec<Option<Node>>> {
        signed_in(ctx)?;
        if ids.len() > MAX_NODES {
            return Err(
                ApiError::bad_input("ids", format!("At most {MAX_NODES} ids at once.")).into(),
            );
        }
        prefetch_nodes(ctx, &ids).await;
        let mut found = Vec::with_capacity(ids.len());
        for id in ids {
            found.push(resolve(ctx, id, true).await?);
        }
        Ok(found)
    }
}
