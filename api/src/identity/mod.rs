//! Identity services: sign-in with two-factor codes, sessions, password
//! flows, single-use links and the password policy. Resolvers in
//! `graphql::identity` stay thin and call these.

pub mod challenge;
pub mod factors;
pub mod inactivity_sweep;
pub mod input;
pub mod links;
pub mod login;
pub mod password_policy;
pub mod passwords;
pub mod phone;
pub mod profile;
pub mod recovery;
pub mod sessions;
pub mod throttle;
pub mod totp;
