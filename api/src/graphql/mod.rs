//! The GraphQL schema, split by domain; resolvers stay thin and call services
//! and policies.
//!
//! - [`viewer`]: who am I; [`node`]: any object by its global id (Relay's
//!   `node` and `nodes`).
//! - [`identity`]: signing in, two-factor codes, passwords, own sessions;
//!   [`factors`]: setting up second factors and recovery codes.
//! - [`jobs`]: background jobs and the dead-letter queue (operators).
//! - [`users`]: organisation user management and staff restrictions;
//!   [`email_change`]: a user's email address changed for them, confirmed
//!   at the new address; [`staff`]: staff management by service
//!   administrators.
//! - [`organisations`]: landlord organisations and their email domains.
//! - [`api_tokens`]: partner dashboards' organisation API tokens.
//! - [`audit`]: the audit log.
//! - [`cases`], [`tasks`], [`messages`]: casework, with [`loaders`] for
//!   every relation; [`access_reports`]: "I don't recognise this case".
//! - [`properties`], [`tenancy`], [`arrangements`], [`payments`]: tenancy
//!   and payments (properties and tenants, the to-do list, Alternative
//!   Payment Arrangements, the payment search), all money as [`money`].
//! - [`exports`], [`housing_costs`]: payments CSV exports and bulk
//!   housing-cost updates from an uploaded CSV; [`webhooks`]: webhook
//!   endpoints, events and the delivery log.
//! - [`subscriptions`]: live updates of casework over `/graphql/ws`.
//! - [`errors`]: the extension that gives every error its stable code;
//!   [`enrolment`]: the one that fences an enrolment-only session in;
//!   [`socket`]: the one that resolves a WebSocket operation's caller anew;
//!   [`cost`]: the one that reports what an operation costs and charges it;
//!   [`docs`]: the descriptions the derive macros cannot give (connections,
//!   date scalars).
//! - Shared plumbing, imported by every resolver module and by no other:
//!   [`context`] (`ctx.caller()`, `ctx.load()`, …), [`pagination`]
//!   (cursors, page sizes, connections), [`scalars`] (ids), [`inputs`] (shared input types), [`loaders`]
//!   (DataLoaders by domain), [`enums`], [`money`].

pub mod access_reports;
pub mod api_tokens;
pub mod arrangements;
pub mod audit;
pub mod cases;
pub mod context;
pub mod cost;
pub mod deliveries;
pub mod docs;
pub mod documents;
pub mod email_change;
pub mod enrolment;
pub mod enums;
pub mod errors;
pub mod exports;
pub mod factors;
pub mod housing_costs;
pub mod identity;
pub mod inputs;
pub mod jobs;
pub mod loaders;
pub mod messages;
pub mod money;
pub mod node;
pub mod notes;
pub mod organisations;
pub mod pagination;
pub mod payments;
pub mod properties;
pub mod residents;
pub mod scalars;
pub mod socket;
pub mod staff;
pub mod subscriptions;
pub mod tasks;
pub mod tenancy;
pub mod users;
pub mod viewer;
pub mod webhooks;

use async_graphql::{MergedObject, Schema};

pub use context::ContextExt;

use crate::app::AppState;

/// Root query type.
#[derive(MergedObject, Default)]
pub struct Query(
    viewer::ViewerQuery,
    node::NodeQuery,
    identity::IdentityQuery,
    jobs::JobsQuery,
    users::UsersQuery,
    deliveries::DeliveriesQuery,
    residents::ResidentsQuery,
    organisations::OrganisationsQuery,
    api_tokens::ApiTokensQuery,
    audit::AuditQuery,
    staff::StaffQuery,
    cases::CasesQuery,
    access_reports::AccessReportsQuery,
    documents::DocumentsQuery,
    tasks::TasksQuery,
    messages::MessagesQuery,
    properties::PropertiesQuery,
    tenancy::TenancyQuery,
    arrangements::ArrangementsQuery,
    payments::PaymentsQuery,
    exports::ExportsQuery,
    housing_costs::HousingCostsQuery,
    webhooks::WebhooksQuery,
);

/// Root mutation type.
#[derive(MergedObject, Default)]
pub struct Mutation(
    identity::IdentityMutation,
    factors::FactorsMutation,
    jobs::JobsMutation,
    users::UsersMutation,
    email_change::EmailChangeMutation,
    residents::ResidentsMutation,
    organisations::OrganisationsMutation,
    api_tokens::ApiTokensMutation,
    staff::StaffMutation,
    cases::CasesMutation,
    access_reports::AccessReportsMutation,
    documents::DocumentsMutation,
    tasks::TasksMutation,
    messages::MessagesMutation,
    notes::NotesMutation,
    properties::PropertiesMutation,
    tenancy::TenancyMutation,
    arrangements::ArrangementsMutation,
    payments::PaymentsMutation,
    exports::ExportsMutation,
    housing_costs::HousingCostsMutation,
    webhooks::WebhooksMutation,
);

/// The served schema.
pub type PortalSchema = Schema<Query, Mutation, subscriptions::Subscription>;

/// Builds the schema with the configured limits. `state` is `None` only for
/// printing the SDL.
pub fn build(state: Option<AppState>, config: &platform::config::Config) -> PortalSchema {
    let mut builder = Schema::build(
        Query::default(),
        Mutation::default(),
        subscriptions::Subscription,
    )
    // Last of the types, so it sees them all (see `docs`).
    .register_output_type::<docs::SchemaDocs>()
    .limit_depth(config.limits.max_query_depth)
    .limit_complexity(config.limits.max_query_complexity)
    .limit_recursive_depth(32)
    .limit_directives(8)
    .extension(errors::ErrorCodes)
    .extension(enrolment::EnrolmentFence)
    .extension(socket::SocketSessions)
    .extension(cost::CostLimits);
    if !config.graphql.introspection {
        builder = builder.disable_introspection();
    }
    if !config.graphql.field_suggestions {
        builder = builder.disable_suggestions();
    }
    if let Some(state) = state {
        // Batches casework relations (no cache: see `loaders`).
        builder = builder.data(async_graphql::dataloader::DataLoader::new(
            loaders::DbLoader::new(state.db.clone()),
            tokio::spawn,
        ));
        builder = builder.data(state);
    }
    builder.finish()
}

/// The SDL of the schema, as checked in at `schema.graphql`.
pub fn sdl() -> String {
    let config = platform::config::Config::from_vars(std::iter::empty())
        .expect("the empty configuration is valid");
    build(None, &config)
        .sdl_with_options(async_graphql::SDLExportOptions::new().include_specified_by())
}
