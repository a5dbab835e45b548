//! The portal's GraphQL API and HTTP surface, and the process modes of the
//! `portal` binary.
//!
//! - [`graphql`]: the schema by domain, thin resolvers.
//! - [`policy`]: authorization, one policy per object type.
//! - [`auth`]: bearer tokens, sessions, passwords.
//! - [`http`]: routes, middleware, server.
//! - [`error`]: the API error type and its stable codes.
//! - [`run`]: `serve` (embedded all-in-one), `api`, `worker`, `migrate`.
//! - [`seed`]: demo data for the embedded mode.
//! - [`casework`]: cases, tasks and messages (services behind the resolvers).
//! - [`tenancy`]: properties, tenants, tenancy requests and payment
//!   arrangements; [`payments`]: the payment search (shared with exports)
//!   and recording payments.
//! - [`exports`]: CSV exports of payments; [`housing_costs`]: bulk
//!   housing-cost updates from a CSV; [`jobs`]: the background jobs of this
//!   crate (both of those), registered with the worker.
//! - [`paging`]: keyset pages over time-ordered ids.
//! - [`users`]: organisation user management, organisations, API tokens and
//!   the audit log (services behind the resolvers).

pub mod app;
pub mod audit;
pub mod auth;
pub mod casework;
pub mod documents;
pub mod error;
pub mod events;
pub mod exports;
pub mod graphql;
pub mod housing_costs;
pub mod http;
pub mod identity;
pub mod jobs;
pub mod paging;
pub mod payments;
pub mod policy;
pub mod ratelimit;
pub mod run;
pub mod seed;
pub mod telemetry;
pub mod tenancy;
pub mod users;
