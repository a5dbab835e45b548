//! The end-to-end tests: one test binary, `e2e`, with a module per area of
//! the product, each a story told over the real HTTP surface through the
//! `TestApp` harness (`portal_tests`, in `tests/src/`).
//!
//! One binary rather than one per file, as zero-to-production and the
//! crates.io backend do: the harness and the whole product are linked once,
//! not once per area, so a change to `api/` or to the harness costs one link.
//!
//! Run everything with `cargo test -p portal-tests`, one area by its module
//! path, e.g. `cargo test -p portal-tests --test e2e messages::`, or one test
//! by (part of) its name.
//!
//! `support/` holds the set-up that several areas share; insta snapshots are
//! in `snapshots/`.

mod support;

mod abuse;
mod access_reports;
mod api_tokens;
mod arrangement_evidence;
mod arrangements;
mod attacks;
mod audit;
mod cases;
mod casework_matrix;
mod closed_cases;
mod delivery;
mod demo;
mod documents;
mod documents_downloads;
mod documents_stream;
mod documents_transport;
mod documents_types;
mod email_change;
mod exports;
mod factors;
mod faults;
mod first_admin;
mod harness;
mod housing_costs;
mod http_surface;
mod jobs;
mod links;
mod lists;
mod login;
mod message_recipients;
mod messages;
mod my_profile;
mod n_plus_one;
mod node;
mod notify;
mod operations;
mod organisations;
mod passwords;
mod payments;
mod profile;
mod properties;
mod rate_limits;
mod residents;
mod schema;
mod sessions;
mod staff;
mod storage;
mod subscriptions;
mod sweep;
mod task_reminders;
mod tasks;
mod tenancy;
mod tenancy_links;
mod traces;
mod two_factor;
mod users;
mod webhooks_api;
mod webhooks_delivery;
mod websocket;
