//! Properties and tenants of a landlord organisation (the seed's Properties
//! and Tenants tabs): lists with search and totals, one of each by id,
//! adding, changing and removing properties, and linking tenants to them
//! (`MANAGE_PROPERTIES`).
//!
//! Reads go through `policy::properties` and `policy::tenants`; a tenant's
//! property and a property's tenants are read through [`super::loaders`]
//! (prefetched for a page). List cursors are opaque offsets, like the case
//! lists.

use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object};
use chrono::{DateTime, Utc};

use entities::{property, tenant};

use super::{
    ContextExt,
    enums::RentFrequency,
    inputs::search_text,
    loaders::{OrganisationViewKey, PropertyKey, PropertyTenantsKey, prefetch, prime},
    money::{Money, optional_pence},
    organisations::{Organisation, organisation_link},
    pagination::{Counted, counted_connection, decode_offset, page_size},
    scalars::{NodeKind, global_id, organisation_arg, parse_id},
};
use crate::{
    policy,
    tenancy::{
        self,
        properties::{PropertyChanges, PropertyFields, PropertyFilter as Filter},
        tenants::TenantFilter as TFilter,
    },
};

/// A rented property of a landlord organisation.
pub struct Property(pub property::Model);

/// A rented property of a landlord organisation: its reference, address, rent
/// and service charge, and its tenants.
#[Object]
impl Property {
    /// Property id.
    pub async fn id(&self) -> ID {
        global_id(NodeKind::Property, self.0.id)
    }
    /// The landlord organisation, through the request's loader (null for
    /// a caller who may not see organisations: API tokens).
    async fn organisation(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Organisation>> {
        organisation_link(ctx, self.0.organisation_id).await
    }
    /// The landlord's own reference, unique within the organisation.
    async fn reference(&self) -> &str {
        &self.0.reference
    }
    /// First address line.
    async fn address_line1(&self) -> &str {
        &self.0.address_line1
    }
    /// Second address line.
    async fn address_line2(&self) -> Option<&str> {
        self.0.address_line2.as_deref()
    }
    /// Town.
    async fn town(&self) -> &str {
        &self.0.town
    }
    /// Postcode, normalised (`"SW1A 1AA"`).
    async fn postcode(&self) -> &str {
        &self.0.postcode
    }
    /// Rent per `rentFrequency`.
    async fn rent(&self) -> Money {
        Money::from_pence(self.0.rent_pence)
    }
    /// Service charges per `rentFrequency`.
    async fn service_charge(&self) -> Money {
        Money::from_pence(self.0.service_charge_pence)
    }
    /// How often rent and service charges are due.
    async fn rent_frequency(&self) -> RentFrequency {
        self.0.rent_frequency.into()
    }
    /// When the property was removed (removed properties are left out of lists).
    async fn removed_at(&self) -> Option<DateTime<Utc>> {
        self.0.removed_at
    }
    /// When the property was added.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// When the property was last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
    /// The tenants linked to it, by name (one statement for a whole page of
    /// properties).
    async fn tenants(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Tenant>> {
        Ok(ctx
            .load(PropertyTenantsKey(self.0.id))
            .await?
            .unwrap_or_default()
            .into_iter()
            .map(Tenant)
            .collect())
    }
}

/// A tenant (Universal Credit claimant) of a landlord organisation.
pub struct Tenant(pub tenant::Model);

/// A tenant (Universal Credit claimant) of a landlord organisation, and the
/// property they rent when known.
#[Object]
impl Tenant {
    /// Tenant id.
    pub async fn id(&self) -> ID {
        global_id(NodeKind::Tenant, self.0.id)
    }
    /// The landlord organisation, through the request's loader (null for
    /// a caller who may not see organisations: API tokens).
    async fn organisation(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Organisation>> {
        organisation_link(ctx, self.0.organisation_id).await
    }
    /// First name.
    async fn first_name(&self) -> &str {
        &self.0.first_name
    }
    /// Last name.
    async fn last_name(&self) -> &str {
        &self.0.last_name
    }
    /// "First Last".
    async fn name(&self) -> String {
        tenancy::tenants::full_name(&self.0)
    }
    /// The Universal Credit claim reference.
    async fn claim_reference(&self) -> &str {
        &self.0.claim_reference
    }
    /// The property they rent, when known.
    async fn property(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Property>> {
        let Some(id) = self.0.property_id else {
            return Ok(None);
        };
        Ok(ctx.load(PropertyKey(id)).await?.map(Property))
    }
    /// When the tenant was added.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// Property list filter.
#[derive(InputObject, Default)]
pub struct PropertyFilter {
    /// Words matched against the reference, address, town and postcode.
    pub search: Option<String>,
    /// Include removed properties (default: no).
    #[graphql(default)]
    pub include_removed: bool,
}

/// Tenant list filter.
#[derive(InputObject, Default)]
pub struct TenantFilter {
    /// Words matched against the name, claim reference, and the property's
    /// reference, address and postcode.
    pub search: Option<String>,
}

/// Property and tenant queries.
#[derive(Default)]
pub struct PropertiesQuery;

#[Object]
impl PropertiesQuery {
    /// The properties of my organisation (staff: of `organisationId`, or of
    /// every organisation), by reference.
    #[graphql(complexity = "super::pagination::connection_cost(first, child_complexity)")]
    async fn properties(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "Which organisation's: staff may name any (or leave it out for every organisation); an organisation's own users and API tokens see their own, and naming another organisation answers `NOT_FOUND`."
        )]
        organisation_id: Option<ID>,
        #[graphql(desc = "Which properties (default: all).")] filter: Option<PropertyFilter>,
        #[graphql(desc = "How many to return: 1 to 100 (default 20).")] first: Option<i32>,
        #[graphql(desc = "The `endCursor` of the previous page: the page starts after it.")] after: Option<String>,
    ) -> async_graphql::Result<Counted<Property>> {
        let limit = page_size(first)?;
        let offset = decode_offset(after.as_deref())?;
        let filter = filter.unwrap_or_default();
        let filter = Filter {
            organisation_id: organisation_arg(organisation_id.as_ref())?,
            search: search_text("filter.search", filter.search)?,
            include_removed: filter.include_removed,
        };
        let (rows, has_next, total) =
            tenancy::properties::list(ctx.app(), &ctx.caller(), &filter, offset, limit).await?;
        let tenants = ctx
            .look_ahead()
            .field("edges")
            .field("node")
            .field("tenants");
        if ctx
            .look_ahead()
            .field("edges")
            .field("node")
            .field("organisation")
            .exists()
        {
            prefetch(
                ctx,
                rows.iter().map(|p| OrganisationViewKey(p.organisation_id)),
            )
            .await;
        }
        if tenants.exists() {
            prefetch(ctx, rows.iter().map(|p| PropertyTenantsKey(p.id))).await;
            if tenants.field("property").exists() {
                // Their tenants' property is the row itself.
                prime(ctx, rows.iter().map(|p| (PropertyKey(p.id), p.clone()))).await;
            }
        }
        Ok(counted_connection(rows, offset, has_next, total, Property))
    }

    /// One property (`NOT_FOUND` when missing or not mine to see).
    pub async fn property(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The property.")] id: ID,
    ) -> async_graphql::Result<Property> {
        let id = parse_id(&id, NodeKind::Property)?;
        Ok(Property(
            policy::properties::find_visible(&ctx.app().db, &ctx.caller(), id).await?,
        ))
    }

    /// The tenants of my organisation (staff: of `organisationId`, or of
    /// every organisation), by name.
    #[graphql(complexity = "super::pagination::connection_cost(first, child_complexity)")]
    async fn tenants(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "Which organisation's: staff may name any (or leave it out for every organisation); an organisation's own users and API tokens see their own, and naming another organisation answers `NOT_FOUND`."
        )]
        organisation_id: Option<ID>,
        #[graphql(desc = "Which tenants (default: all).")] filter: Option<TenantFilter>,
        #[graphql(desc = "How many to return: 1 to 100 (default 20).")] first: Option<i32>,
        #[graphql(desc = "The `endCursor` of the previous page: the page starts after it.")] after: Option<String>,
    ) -> async_graphql::Result<Counted<Tenant>> {
        let limit = page_size(first)?;
        let offset = decode_offset(after.as_deref())?;
        let filter = TFilter {
            organisation_id: organisation_arg(organisation_id.as_ref())?,
            search: search_text("filter.search", filter.and_then(|f| f.search))?,
        };
        let (rows, has_next, total) =
            tenancy::tenants::list(ctx.app(), &ctx.caller(), &filter, offset, limit).await?;
        let home = ctx
            .look_ahead()
            .field("edges")
            .field("node")
            .field("property");
        if ctx
            .look_ahead()
            .field("edges")
            .field("node")
            .field("organisation")
            .exists()
        {
            prefetch(
                ctx,
                rows.iter().map(|t| OrganisationViewKey(t.organisation_id)),
            )
            .await;
        }
        if home.exists() {
            prefetch(
                ctx,
                rows.iter().filter_map(|t| t.property_id).map(PropertyKey),
            )
            .await;
            if home.field("tenants").exists() {
                prefetch(
                    ctx,
                    rows.iter()
                        .filter_map(|t| t.property_id)
                        .map(PropertyTenantsKey),
                )
                .await;
            }
        }
        Ok(counted_connection(rows, offset, has_next, total, Tenant))
    }

    /// One tenant (`NOT_FOUND` when missing or not mine to see).
    pub async fn tenant(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The tenant.")] id: ID,
    ) -> async_graphql::Result<Tenant> {
        let id = parse_id(&id, NodeKind::Tenant)?;
        Ok(Tenant(
            policy::tenants::find_visible(&ctx.app().db, &ctx.caller(), id).await?,
        ))
    }
}

/// A new property.
#[derive(InputObject)]
pub struct AddPropertyInput {
    /// My reference for it, unique within my organisation.
    pub reference: String,
    /// First address line.
    pub address_line1: String,
    /// Second address line.
    pub address_line2: Option<String>,
    /// Town.
    pub town: String,
    /// UK postcode (any case and spacing).
    pub postcode: String,
    /// Rent per `rentFrequency`.
    pub rent: Money,
    /// Service charges per `rentFrequency` (default 0.00).
    pub service_charge: Option<Money>,
    /// How often rent is due.
    pub rent_frequency: RentFrequency,
}

/// Changes to a property; left-out fields stay as they are (`addressLine2:
/// null` clears it).
#[derive(InputObject)]
pub struct UpdatePropertyInput {
    /// Reference.
    pub reference: Option<String>,
    /// First address line.
    pub address_line1: Option<String>,
    /// Second address line.
    pub address_line2: MaybeUndefined<String>,
    /// Town.
    pub town: Option<String>,
    /// UK postcode.
    pub postcode: Option<String>,
    /// Rent.
    pub rent: Option<Money>,
    /// Service charges.
    pub service_charge: Option<Money>,
    /// Rent frequency.
    pub rent_frequency: Option<RentFrequency>,
}

/// Property mutations (`MANAGE_PROPERTIES`).
#[derive(Default)]
pub struct PropertiesMutation;

#[Object]
impl PropertiesMutation {
    /// Adds a property to my organisation.
    async fn add_property(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The property's reference, address and rents.")] input: AddPropertyInput,
    ) -> async_graphql::Result<Property> {
        let manager = policy::properties::can_manage(&ctx.caller())?;
        let fields = PropertyFields {
            reference: input.reference,
            address_line1: input.address_line1,
            address_line2: input.address_line2,
            town: input.town,
            postcode: input.postcode,
            rent_pence: input.rent.pence("input.rent"),
            service_charge_pence: optional_pence(
                input.service_charge.as_ref(),
                "input.serviceCharge",
            )
            .map(|p| p.unwrap_or(0)),
            rent_frequency: input.rent_frequency.into(),
        };
        Ok(Property(
            tenancy::properties::add(ctx.app(), &manager, fields)
                .await
                .map_err(|r| ctx.reject(r))?,
        ))
    }

    /// Changes a property of my organisation.
    async fn update_property(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The property.")] id: ID,
        #[graphql(desc = "What to change (fields left out stay as they are).")]
        input: UpdatePropertyInput,
    ) -> async_graphql::Result<Property> {
        let manager = policy::properties::can_manage(&ctx.caller())?;
        let id = parse_id(&id, NodeKind::Property)?;
        let changes = PropertyChanges {
            reference: input.reference,
            address_line1: input.address_line1,
            address_line2: match input.address_line2 {
                MaybeUndefined::Undefined => None,
                MaybeUndefined::Null => Some(None),
                MaybeUndefined::Value(v) => Some(Some(v)),
            },
            town: input.town,
            postcode: input.postcode,
            rent_pence: input.rent.as_ref().map(|m| m.pence("input.rent")),
            service_charge_pence: input
                .service_charge
                .as_ref()
                .map(|m| m.pence("input.serviceCharge")),
            rent_frequency: input.rent_frequency.map(Into::into),
        };
        Ok(Property(
            tenancy::properties::update(ctx.app(), &manager, id, changes)
                .await
                .map_err(|r| ctx.reject(r))?,
        ))
    }

    /// Links a tenant of my organisation to one of its properties, the one
    /// they rent (`MANAGE_PROPERTIES`); a tenant rents one property, so this
    /// replaces any earlier link. Another organisation's tenant or property
    /// is `NOT_FOUND`; a removed property is a `CONFLICT`.
    async fn link_tenant_to_property(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The tenant (of my organisation).")] tenant_id: ID,
        #[graphql(desc = "The property they rent (of my organisation).")] property_id: ID,
    ) -> async_graphql::Result<Tenant> {
        let manager = policy::tenants::can_link(&ctx.caller())?;
        let tenant_id = parse_id(&tenant_id, NodeKind::Tenant)?;
        let property_id = parse_id(&property_id, NodeKind::Property)?;
        Ok(Tenant(
            tenancy::tenants::set_property(ctx.app(), &manager, tenant_id, Some(property_id))
                .await?,
        ))
    }

    /// Unlinks a tenant of my organisation from their property
    /// (`MANAGE_PROPERTIES`); another organisation's tenant is `NOT_FOUND`.
    async fn unlink_tenant_from_property(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The tenant.")] tenant_id: ID,
    ) -> async_graphql::Result<Tenant> {
        let manager = policy::tenants::can_link(&ctx.caller())?;
        let tenant_id = parse_id(&tenant_id, NodeKind::Tenant)?;
        Ok(Tenant(
            tenancy::tenants::set_property(ctx.app(), &manager, tenant_id, None).await?,
        ))
    }

    /// Removes a property of my organisation (it stays on its tenants and
    /// payments, and can still be read by id).
    async fn remove_property(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The property.")] id: ID,
    ) -> async_graphql::Result<Property> {
        let manager = policy::properties::can_manage(&ctx.caller())?;
        let id = parse_id(&id, NodeKind::Property)?;
        Ok(Property(
            tenancy::properties::remove(ctx.app(), &manager, id).await?,
        ))
    }
}
