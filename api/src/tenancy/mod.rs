//! Tenancy services (the Universal Credit side of the portal): properties
//! and tenants of a landlord organisation, "Provide tenancy details" requests
//! and Alternative Payment Arrangements, with the money and postcode rules
//! they share.
//!
//! As in `crate::casework`, resolvers are thin. Every function here takes
//! `&App` and one caller argument: a read takes the request's
//! `policy::Caller` and applies the `visible` condition of the object type it
//! lists (`crate::policy::{properties, tenants, requests, arrangements}`); a
//! change takes the `policy::Allowed` capability the resolver got from that
//! policy's `can_<verb>`, reads its object through the policy's `find_*`
//! inside its transaction, and runs in one write transaction with its audit
//! entry and its emails (outbox).

pub mod arrangements;
pub mod money;
pub mod postcode;
pub mod properties;
pub mod requests;
pub mod tenants;
