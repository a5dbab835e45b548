//! Landlord organisations: staff create them (with their email domains and
//! lead administrator), change their domains and list them; a landlord user
//! reads their own with `myOrganisation`. Who may do what is
//! [`policy::organisations`]. A page of organisations costs two statements
//! whatever its size (the organisations, then all their domains).

use async_graphql::{
    ComplexObject, Context, ID, InputObject, Object, SimpleObject,
    connection::{Connection, EmptyFields},
};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{
    ContextExt,
    enums::TwoFactorMethod,
    loaders::{OrganisationEndpointsKey, OrganisationViewKey},
    pagination::{decode_cursor, keyset_connection, page_size},
    scalars::{NodeKind, global_id, parse_id},
    users::UserAccount,
    webhooks::{WebhookEndpoint, endpoint_connection},
};
use crate::{
    policy,
    users::organisations::{self, NewOrganisation, OrganisationWithDomains},
};

/// A landlord organisation.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct Organisation {
    /// Organisation id.
    #[graphql(owned)]
    pub id: ID,
    /// The organisation's row id (for `webhookEndpoints`).
    #[graphql(skip)]
    pub uuid: Uuid,
    /// Name.
    pub name: String,
    /// Postal address.
    pub address: String,
    /// Whether every user must use two-factor sign-in.
    pub requires_two_factor: bool,
    /// Where two-factor is required, the methods that count (every method
    /// when the organisation named none).
    pub accepted_two_factor_methods: Vec<TwoFactorMethod>,
    /// Email domains users can be invited from (lowercase, without `@`).
    pub domains: Vec<String>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<OrganisationWithDomains> for Organisation {
    fn from(o: OrganisationWithDomains) -> Self {
        let accepted = crate::identity::login::accepted_methods(Some(&o.organisation));
        let m = o.organisation;
        Self {
            id: global_id(NodeKind::Organisation, m.id),
            uuid: m.id,
            name: m.name,
            address: m.address,
            requires_two_factor: m.requires_two_factor,
            accepted_two_factor_methods: accepted.into_iter().map(Into::into).collect(),
            domains: o.domains,
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

#[ComplexObject]
impl Organisation {
    /// The organisation's webhook endpoints, newest first, as the top-level
    /// `webhookEndpoints` lists them: for its users with `MANAGE_WEBHOOKS`
    /// and its API tokens carrying it. Null for everyone else who sees the
    /// organisation (staff included: the endpoints and their delivery log
    /// are the organisation's own), as links they may not follow are.
    #[graphql(complexity = "super::pagination::connection_cost(first, child_complexity)")]
    async fn webhook_endpoints(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many to return: 1 to 100 (default 20).")] first: Option<i32>,
        #[graphql(desc = "The `endCursor` of the previous page: the page starts after it.")] after: Option<String>,
    ) -> async_graphql::Result<Option<Connection<String, WebhookEndpoint, EmptyFields, EmptyFields>>>
    {
        let Some(allowed) = policy::webhooks::may_manage_organisation(&ctx.caller(), self.uuid)
        else {
            return Ok(None);
        };
        let limit = page_size(first)?;
        let after = after.as_deref().map(decode_cursor).transpose()?;
        let (rows, more) = match after {
            // Through the request's loader: an organisation reached from
            // every row of a list (each property's, tenant's, …) costs one
            // statement, not one per row.
            None => ctx
                .load(OrganisationEndpointsKey {
                    organisation_id: allowed.organisation_id,
                    limit,
                })
                .await?
                .unwrap_or_default(),
            Some(after) => {
                crate::webhooks::log::endpoints_of(ctx.app(), &allowed, Some(after), limit).await?
            }
        };
        Ok(Some(
            endpoint_connection(ctx, rows, after.is_some(), more).await?,
        ))
    }
}

/// The organisation `id` as a link from another object (a tenant's,
/// property's, payment's, user's, …), through the request's loader: null
/// when the caller may not see it (`policy::organisations::may_view`: staff
/// see every organisation, a landlord user their own; residents and API
/// tokens none).
pub async fn organisation_link(
    ctx: &Context<'_>,
    id: Uuid,
) -> async_graphql::Result<Option<Organisation>> {
    if !policy::organisations::may_view(&ctx.caller(), id) {
        return Ok(None);
    }
    Ok(ctx.load(OrganisationViewKey(id)).await?.map(Into::into))
}

/// The organisation's first user, invited with every permission.
#[derive(InputObject)]
pub struct LeadAdministratorInput {
    /// First name (at most 100 characters).
    pub first_name: String,
    /// Last name (at most 100 characters).
    pub last_name: String,
    /// Email address, at one of the organisation's domains.
    pub email: String,
}

/// A new landlord organisation.
#[derive(InputObject)]
pub struct CreateOrganisationInput {
    /// Name (at most 200 characters).
    pub name: String,
    /// Postal address (at most 500 characters).
    pub address: String,
    /// Email domains users may be invited from: 1 to 20 domain names (at
    /// most 253 characters each), not registered to another organisation.
    pub domains: Vec<String>,
    /// Whether every user must use two-factor sign-in.
    #[graphql(default)]
    pub requires_two_factor: bool,
    /// The lead administrator.
    pub lead_administrator: LeadAdministratorInput,
}

/// An organisation's two-factor rule.
#[derive(InputObject)]
pub struct SetOrganisationTwoFactorRuleInput {
    /// The organisation.
    pub organisation_id: ID,
    /// Whether every user must use two-factor sign-in.
    pub required: bool,
    /// Where it is required, the methods that count (omitted or empty: any
    /// method). Not `NONE`; only with `required: true`.
    pub methods: Option<Vec<TwoFactorMethod>>,
}

/// The answer to `createOrganisation`.
#[derive(SimpleObject)]
pub struct CreateOrganisationPayload {
    /// The new organisation.
    pub organisation: Organisation,
    /// Its lead administrator, invited by email.
    pub lead_administrator: UserAccount,
}

/// Organisation queries.
#[derive(Default)]
pub struct OrganisationsQuery;

#[Object]
impl OrganisationsQuery {
    /// Every organisation, oldest first. Staff only.
    #[graphql(complexity = "super::pagination::connection_cost(first, child_complexity)")]
    async fn organisations(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many to return: 1 to 100 (default 20).")] first: Option<i32>,
        #[graphql(desc = "The `endCursor` of the previous page: the page starts after it.")] after: Option<String>,
    ) -> async_graphql::Result<Connection<String, Organisation, EmptyFields, EmptyFields>> {
        policy::organisations::can_list(&ctx.caller())?;
        let limit = page_size(first)?;
        let after = after.as_deref().map(decode_cursor).transpose()?;
        let (rows, has_next) = organisations::list(ctx.app(), limit, after).await?;
        Ok(keyset_connection(
            rows,
            false,
            has_next,
            |o| o.organisation.id,
            Organisation::from,
        ))
    }

    /// One organisation: any for staff, their own for a landlord user.
    pub async fn organisation(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The organisation.")] id: ID,
    ) -> async_graphql::Result<Organisation> {
        // A malformed id names nothing: the nil id answers NOT_FOUND like
        // any missing one, after the policy has had its say (a resident is
        // FORBIDDEN whatever the id).
        let id = parse_id(&id, NodeKind::Organisation).unwrap_or_else(|_| Uuid::nil());
        policy::organisations::can_view(&ctx.caller(), id)?;
        Ok(organisations::get(ctx.app(), id).await?.into())
    }

    /// The signed-in landlord user's organisation; null for anyone else.
    async fn my_organisation(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<Organisation>> {
        let Some(id) = policy::organisations::own_organisation(&ctx.caller())? else {
            return Ok(None);
        };
        Ok(Some(organisations::get(ctx.app(), id).await?.into()))
    }
}

/// Organisation mutations (service administrators).
#[derive(Default)]
pub struct OrganisationsMutation;

#[Object]
impl OrganisationsMutation {
    /// Creates an organisation with its email domains, and invites its lead
    /// administrator with every permission (including `MANAGE_USERS`).
    /// Every input field at fault is reported.
    async fn create_organisation(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "The organisation's name, address, email domains and lead administrator."
        )]
        input: CreateOrganisationInput,
    ) -> async_graphql::Result<CreateOrganisationPayload> {
        let staff = policy::organisations::can_administer(&ctx.caller())?;
        let input = NewOrganisation {
            name: input.name,
            address: input.address,
            domains: input.domains,
            requires_two_factor: input.requires_two_factor,
            lead_first_name: input.lead_administrator.first_name,
            lead_last_name: input.lead_administrator.last_name,
            lead_email: input.lead_administrator.email,
        };
        let (organisation, lead) = organisations::create(ctx.app(), &staff, input)
            .await
            .map_err(|r| ctx.reject(r))?;
        Ok(CreateOrganisationPayload {
            organisation: organisation.into(),
            lead_administrator: lead.into(),
        })
    }

    /// Switches an organisation's two-factor requirement on or off and names
    /// the methods that count (service administrators). Users without an
    /// accepted method are asked to set one up before anything else: their
    /// live sessions become enrolment-only at once, and so do their next
    /// sign-ins until they have. Audited.
    async fn set_organisation_two_factor_rule(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "The organisation, whether two-factor is required, and which methods count."
        )]
        input: SetOrganisationTwoFactorRuleInput,
    ) -> async_graphql::Result<Organisation> {
        let staff = policy::organisations::can_administer(&ctx.caller())?;
        let id = parse_id(&input.organisation_id, NodeKind::Organisation)?;
        let methods = input
            .methods
            .map(|m| m.into_iter().map(Into::into).collect());
        Ok(
            organisations::set_two_factor_rule(ctx.app(), &staff, id, input.required, methods)
                .await?
                .into(),
        )
    }

    /// Replaces an organisation's email domains (at least one). Existing
    /// users keep working whatever their address: domains only decide who
    /// can be invited.
    async fn update_organisation_domains(
        &self,
        ctx: &Context<'_>,
        #[graphql(name = "id", desc = "The organisation.")] organisation_id: ID,
        #[graphql(
            desc = "Every email domain of the organisation (this list replaces the old one)."
        )]
        domains: Vec<String>,
    ) -> async_graphql::Result<Organisation> {
        let staff = policy::organisations::can_administer(&ctx.caller())?;
        let id = parse_id(&organisation_id, NodeKind::Organisation)?;
        organisations::update_domains(ctx.app(), &staff, id, &domains)
            .await
            .map(Organisation::from)
            .map_err(|r| ctx.reject(r))
    }
}
