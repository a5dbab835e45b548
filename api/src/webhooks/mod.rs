//! Webhooks for partner dashboards (issue 17): organisations' endpoints, the
//! events written with the changes that cause them, and their signed,
//! retried delivery.
//!
//! - [`endpoints`]: creating, changing, deleting endpoints and rotating their
//!   signing secrets (users and API tokens with `MANAGE_WEBHOOKS`, see
//!   `policy::webhooks`);
//! - [`events`]: `emit`, called by the domain services in the transaction of
//!   the change, writes the event and its deliveries into the outbox;
//! - [`log`]: reading the events and the delivery log, and redelivering;
//! - [`address`]: which URLs an endpoint may point at (checked at creation
//!   and at every connection);
//! - [`signing`]: signing secrets, sealed at rest, and Standard Webhooks
//!   signatures;
//! - [`deliver`]: the job that delivers one event to one endpoint;
//! - [`prune`]: the daily job that keeps the delivery log bounded.

pub mod address;
pub mod deliver;
pub mod endpoints;
pub mod events;
pub mod log;
pub mod prune;
pub mod signing;
