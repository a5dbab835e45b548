//! The product: the portal's GraphQL API and HTTP surface, its services by
//! domain, every background job beside its domain, and the process modes of
//! the `portal` binary. Configuration, the pool and storage come from the
//! `platform` crate; the job runtime from the `worker` crate.
//!
//! - [`app`]: the state every request reaches; [`cli`]: the `portal` command
//!   line; [`run`]: `serve` (embedded all-in-one), `api`, `worker`,
//!   `migrate`; [`telemetry`]: logging.
//! - [`http`]: routes, middleware, GraphQL over HTTP and WebSocket, files.
//! - [`graphql`]: the schema by domain, thin resolvers.
//! - [`policy`]: authorization, one policy per object type.
//! - [`auth`]: bearer tokens, sessions, password hashing.
//! - [`error`]: the API error type and its stable codes.
//! - [`identity`]: sign-in, 2FA, passwords, sessions, profile; the 90-day
//!   sweep job.
//! - [`users`]: organisation users, organisations, API tokens, the audit log.
//! - [`casework`]: cases, tasks and messages; the task reminders job.
//! - [`documents`]: uploads, content checks, sharing; the virus-scan job.
//! - [`tenancy`]: properties, tenants, tenancy requests and payment
//!   arrangements; [`payments`]: the payment search (shared with exports)
//!   and recording payments.
//! - [`exports`]: CSV exports of payments and their jobs;
//!   [`housing_costs`]: bulk housing-cost updates from a CSV and their job.
//! - [`notifications`]: queueing emails and SMS, their templates and the jobs
//!   that send them.
//! - [`jobs`]: the one registry of every job, the job context, and the daily
//!   schedule as one table.
//! - [`events`]: live updates for subscriptions; [`ratelimit`]; [`audit`]:
//!   audit entries of changes.
//! - [`demo`]: the demo data of the embedded mode; [`lists`]: what every
//!   list shares (totals, literal text search).

pub mod app;
pub mod audit;
pub mod auth;
pub mod calendar;
pub mod casework;
pub mod cli;
pub mod demo;
pub mod documents;
pub mod error;
pub mod events;
pub mod exports;
pub mod graphql;
pub mod housing_costs;
pub mod http;
pub mod identity;
pub mod jobs;
pub mod lists;
pub mod notifications;
pub mod payments;
pub mod policy;
pub mod ratelimit;
pub mod run;
pub mod telemetry;
pub mod tenancy;
pub mod users;
pub mod webhooks;
