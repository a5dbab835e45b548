//! Webhooks: organisations' endpoints, the events written with the changes
//! that cause them, and their signed, retried delivery.
//!
//! - [`address`]: which URLs an endpoint may point at (checked at creation
//!   and at every connection);
//! - [`signing`]: signing secrets, sealed at rest, and Standard Webhooks
//!   signatures;
//! - [`deliver`]: the job that delivers one event to one endpoint;
//! - [`prune`]: the daily job that keeps the delivery log bounded.

pub mod address;
pub mod deliver;
pub mod prune;
pub mod signing;
