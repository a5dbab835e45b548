//! Authorization: one policy per object type, called by every resolver that
//! returns or changes an object of that type. No resolver checks on its own.
//!
//! A policy that denies access to an object the caller could not otherwise
//! know about answers `NOT_FOUND`, exactly as for an id that does not exist, so
//! ids cannot be probed.
//!
//! One convention in every module:
//! - every policy function takes the request's [`Caller`] (who is asking, and
//!   what the audit log records about the request);
//! - `visible(caller, …)` is the query condition for lists, and
//!   `find_visible(conn, caller, id)` reads one object or answers `NOT_FOUND`;
//! - `can_<verb>(caller, …)` checks an action and returns an [`Allowed`]
//!   capability. A service that changes something takes the capability as
//!   its caller argument (`service(app, &allowed, …)`), so it cannot run
//!   without the policy, and the check is made once, by the resolver;
//! - `find_<adjective>(conn, &allowed, id)` (e.g. `find_managed`) reads the
//!   one object a capability acts on, inside the service's transaction.
//!
//! Services that read take the [`Caller`] (casework: its
//! [`cases::Reader`]); self-service services (one's own password, sessions,
//! two-factor) take the [`Caller`] and act on its user; flows before sign-in
//! take the request's `ClientInfo`.

pub mod access_reports;
pub mod api_tokens;
pub mod arrangements;
pub mod audit;
pub mod cases;
pub mod documents;
pub mod exports;
pub mod housing_costs;
pub mod identity;
pub mod jobs;
pub mod messages;
pub mod organisations;
pub mod payments;
pub mod properties;
pub mod requests;
pub mod staff;
pub mod tasks;
pub mod tenancy;
pub mod tenants;
pub mod users;
pub mod webhooks;

use std::ops::Deref;

use uuid::Uuid;

use entities::UserKind;

use crate::{
    audit::Actor,
    auth::{AuthUser, ClientInfo, Viewer},
    error::{ApiError, ApiResult},
};

/// Who is making a request: the signed-in user or API token (or nobody), the
/// client it came from, and what the audit log records about it. Resolvers
/// get it from `ctx.caller()`; it is the one caller argument of every policy
/// and of every service that needs no capability (reads, self-service).
#[derive(Debug, Clone)]
pub struct Caller<'a> {
    /// Who is signed in.
    pub viewer: &'a Viewer,
    /// Where the request came from (address, user agent, request id).
    pub client: ClientInfo,
    /// Who the audit log names, with the client address and request id.
    pub actor: Actor,
}

impl<'a> Caller<'a> {
    /// The caller `viewer`, from `client`.
    pub fn new(viewer: &'a Viewer, client: ClientInfo) -> Self {
        let actor = Actor::of(viewer, &client);
        Self {
            viewer,
            client,
            actor,
        }
    }

    /// The signed-in user, or `UNAUTHENTICATED`.
    pub fn user(&self) -> ApiResult<&'a AuthUser> {
        match self.viewer {
            Viewer::User(u) => Ok(u),
            Viewer::Enrolling(_) => Err(ApiError::TwoFactorSetupRequired),
            _ => Err(ApiError::Unauthenticated),
        }
    }
}

/// Proof that a policy allowed the caller an action: what the policy decided
/// (`T`: the acting user, the organisation they act for, …) and the audit
/// actor. Only the policy modules can make one, so a service that takes an
/// `Allowed<T>` cannot be called without its policy.
#[derive(Debug, Clone)]
pub struct Allowed<T> {
    grant: T,
    actor: Actor,
}

impl<T> Allowed<T> {
    /// Made by a policy function once its checks have passed.
    pub(in crate::policy) fn grant(caller: &Caller<'_>, grant: T) -> Self {
        Self {
            grant,
            actor: caller.actor.clone(),
        }
    }

    /// Who the audit log names for what is done with this capability.
    pub fn actor(&self) -> &Actor {
        &self.actor
    }
}

impl<T> Deref for Allowed<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.grant
    }
}

/// A staff member (any role), acting in the back office.
#[derive(Debug, Clone, Copy)]
pub struct Staff {
    /// The staff member.
    pub user_id: Uuid,
}

/// Staff (any role); everyone else signed in is `FORBIDDEN`.
pub fn staff(caller: &Caller<'_>) -> ApiResult<Allowed<Staff>> {
    match caller.viewer {
        Viewer::Anonymous => Err(ApiError::Unauthenticated),
        Viewer::User(u) if u.kind == UserKind::Staff => {
            Ok(Allowed::grant(caller, Staff { user_id: u.id }))
        }
        _ => Err(ApiError::Forbidden),
    }
}
