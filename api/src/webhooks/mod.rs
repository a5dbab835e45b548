//! Webhooks for partner dashboards (issue 17): an organisation's endpoints
//! get signed HTTP POSTs when something happens to it, with retries and a
//! delivery log.
//!
//! - [`endpoints`]: creating, changing, deleting endpoints and rotating their
//!   signing secrets (users and API tokens with `MANAGE_WEBHOOKS`, see
//!   `policy::webhooks`);
//! - [`events`]: `emit`, called by the domain services in the transaction of
//!   the change, writes the event and its deliveries into the outbox;
//! - [`log`]: reading the events and the delivery log, and redelivering.
pub mod endpoints;
pub mod events;
pub mod log;
