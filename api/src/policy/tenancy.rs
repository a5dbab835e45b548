//! Who may see and answer "Provide tenancy details" requests, and the
//! organisation scope that every tenancy policy (properties, tenants,
//! requests, arrangements) shares.
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

use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use entities::{Permission, UserKind, tenancy_request};

use crate::{
    auth::{AuthUser, Viewer},
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
pub struct LandlordActor {
    /// The user.
    pub user_id: Uuid,
    /// Their organisation.
    pub organisation_id: Uuid,
}

/// The tenancy data the caller reads: staff `requested` (or every
/// organisation), a landlord user their own.
pub fn read_scope(viewer: &Viewer, requested: Option<Uuid>) -> ApiResult<Scope> {
    match viewer {
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
pub fn landlord_with(viewer: &Viewer, permission: Permission) -> ApiResult<LandlordActor> {
    match viewer {
        Viewer::Anonymous => Err(ApiError::Unauthenticated),
        Viewer::User(u) if u.kind == UserKind::Landlord && u.permissions.contains(&permission) => {
            Ok(LandlordActor {
                user_id: u.id,
                organisation_id: u.organisation_id.ok_or(ApiError::Forbidden)?,
            })
        }
        _ => Err(ApiError::Forbidden),
    }
}

/// Staff (any role); everyone else signed in is `FORBIDDEN`.
pub fn staff(viewer: &Viewer) -> ApiResult<&AuthUser> {
    match viewer {
        Viewer::Anonymous => Err(ApiError::Unauthenticated),
        Viewer::User(u) if u.kind == UserKind::Staff => Ok(u),
        _ => Err(ApiError::Forbidden),
    }
}

/// The condition on `tenancy_requests` selecting what the caller may see.
pub fn visible_requests(viewer: &Viewer, requested: Option<Uuid>) -> ApiResult<Condition> {
    Ok(read_scope(viewer, requested)?.condition(tenancy_request::Column::OrganisationId))
}

/// One request by id, if the caller may see it; `NOT_FOUND` otherwise.
pub async fn find_visible(
    conn: &impl ConnectionTrait,
    viewer: &Viewer,
    id: Uuid,
) -> ApiResult<tenancy_request::Model> {
    tenancy_request::Entity::find_by_id(id)
        .filter(visible_requests(viewer, None)?)
        .one(conn)
        .await?
        .ok_or(ApiError::NotFound("Tenancy request"))
}

/// Raising requests: staff.
pub fn can_raise(viewer: &Viewer) -> ApiResult<&AuthUser> {
    staff(viewer)
}

/// Answering the organisation's requests: `PROVIDE_TENANCY_DETAILS`.
pub fn can_answer(viewer: &Viewer) -> ApiResult<LandlordActor> {
    landlord_with(viewer, Permission::ProvideTenancyDetails)
}

/// The request `id` of the answering user's organisation (another
/// organisation's answers `NOT_FOUND`).
pub async fn find_answerable(
    conn: &impl ConnectionTrait,
    actor: LandlordActor,
    id: Uuid,
) -> ApiResult<tenancy_request::Model> {
    tenancy_request::Entity::find_by_id(id)
        .filter(tenancy_request::Column::OrganisationId.eq(actor.organisation_id))
        .one(conn)
        .await?
        .ok_or(ApiError::NotFound("Tenancy request"))
}
