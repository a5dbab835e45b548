//! Identity services: sign-in with two-factor codes, sessions, password
//! flows, single-use links and the password policy. Resolvers in
//! `graphql::identity` stay thin and call these.

pub mod links;
pub mod password_policy;
