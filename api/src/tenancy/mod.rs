//! Tenancy services (the Universal Credit side of the portal): properties
//! and tenants of a landlord organisation, "Provide tenancy details" requests
//! and Alternative Payment Arrangements, with the money and postcode rules
//! they share.
//!
//! As in `crate::casework`, resolvers are thin; every function here asks the
//! policy of the object type it touches (`crate::policy::{properties,
//! tenancy, arrangements}`), and every change runs in one write transaction
//! with its audit entry and its emails (outbox).

pub mod arrangements;
pub mod money;
pub mod postcode;
pub mod properties;
pub mod requests;
pub mod tenants;
