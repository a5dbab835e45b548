//! SeaORM entities and domain enums of the portal.
//!
//! One module per table (named in the singular: `user` is the `users` table),
//! each with `Model`, `ActiveModel`, `Entity`, `Column` and `Relation`.
//! [`prelude`] re-exports every `Entity` under the table's singular name
//! (`User`, `Case`, ...). Domain enums are in [`enums`], re-exported here.
//!
//! The schema itself is defined by the `migration` crate; these types must
//! match it column for column (the migration tests insert through them on
//! SQLite and PostgreSQL).
//!
//! Nothing here knows about GraphQL: the API converts models into its own
//! objects.
//!
//! Backend notes that matter to queries:
//! - UUIDs are PostgreSQL `uuid` and 16-byte BLOBs on SQLite (sqlx's
//!   encoding), so compare them only through bound `Uuid` values, never as
//!   text literals in raw SQL.
//! - Timestamps are `timestamptz` on PostgreSQL and RFC 3339 text on SQLite;
//!   always write them through these models (UTC) so text order on SQLite is
//!   time order.
//! - JSON columns are `jsonb` on PostgreSQL and text on SQLite.

pub mod enums;
pub mod prelude;

pub mod api_token;
pub mod api_token_permission;
pub mod audit_log;
pub mod case;
pub mod case_access_report;
pub mod case_note;
pub mod case_party;
pub mod case_reference_counter;
pub mod document;
pub mod housing_cost_update;
pub mod message;
pub mod message_read;
pub mod notification_delivery;
pub mod organisation;
pub mod organisation_domain;
pub mod outbox_job;
pub mod payment;
pub mod payment_arrangement;
pub mod payment_arrangement_event;
pub mod payment_export;
pub mod property;
pub mod recovery_code;
pub mod session;
pub mod task;
pub mod tenancy_request;
pub mod tenant;
pub mod two_factor_challenge;
pub mod user;
pub mod user_permission;
pub mod user_token;
pub mod webhook_attempt;
pub mod webhook_delivery;
pub mod webhook_endpoint;
pub mod webhook_event;

pub use enums::*;
