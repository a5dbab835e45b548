//! The organisation scope that every tenancy policy (properties, tenants,
//! requests, arrangements) shares, and the landlord-user capability.
//!
//! - Staff (any role) read every organisation's tenancy data; a list may be
//!   narrowed to one organisation by its id. Staff raise requests.
//! - A landlord user reads their own organisation's (the seed's to-do list,
//!   Tenants and Properties tabs are every user's); naming another
//!   organisation, or asking for another organisation's object by id, answers
//!   `NOT_FOUND` like a missing one. Answering a request needs
//!   `PROVIDE_TENANCY_DETAILS`.
//! - Residents and API tokens (partner dashboards read payments only) are
//!   `FORBIDDEN`; nobody signed in is `UNAUTHENTICATED`.

use sea_orm::{ColumnTrait, Condition};
use uuid::Uuid;

use entities::{Permission, UserKind};

use super::{Allowed, Caller};
use crate::{
    auth::Viewer,
    error::{ApiError, ApiResult},
};

/// The organisations a caller reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Every organisation (staff without a named organisation).
    Every,
    /// One organisation.
    One(Uuid),
}

impl Scope {
    /// The condition on an `organisation_id` column.
    pub fn condition(self, column: impl ColumnTrait) -> Condition {
        match self {
            Self::Every => Condition::all(),
            Self::One(org) => Condition::all().add(column.eq(org)),
        }
    }
}

/// A landlord user acting for their organisation.
#[derive(Debug, Clone, Copy)]
pub struct LandlordUser {
    /// The user.
    pub user_id: Uuid,
    /// Their organisation.
    pub organisation_id: Uuid,
}

/// The tenancy data the caller reads: staff `requested` (or every
/// organisation), a landlord user their own.
pub fn read_scope(caller: &Caller<'_>, requested: Option<Uuid>) -> ApiResult<Scope> {
    match caller.viewer {
        Viewer::Anonymous => Err(ApiError::Unauthenticated),
        Viewer::User(u) if u.kind == UserKind::Staff => {
            Ok(requested.map_or(Scope::Every, Scope::One))
        }
        Viewer::User(u) if u.kind == UserKind::Landlord => {
            let own = u.organisation_id.ok_or(ApiError::Forbidden)?;
            match requested {
                Some(org) if org != own => Err(ApiError::NotFound("Organisation")),
                _ => Ok(Scope::One(own)),
            }
        }
        _ => Err(ApiError::Forbidden),
    }
}

/// A landlord user with `permission`, acting for their organisation.
/// Everyone else signed in is `FORBIDDEN`.
pub fn landlord_with(
    caller: &Caller<'_>,
    permission: Permission,
) -> ApiResult<Allowed<LandlordUser>> {
    match caller.viewer {
        Viewer::Anonymous => Err(ApiError::Unauthenticated),
        Viewer::User(u) if u.kind == UserKind::Landlord && u.permissions.contains(&permission) => {
            let landlord = LandlordUser {
                user_id: u.id,
                organisation_id: u.organisation_id.ok_or(ApiError::Forbidden)?,
            };
            Ok(Allowed::grant(caller, landlord))
        }
        _ => Err(ApiError::Forbidden),
    }
}
