//! Who may create, list and revoke an organisation's API tokens: its
//! administrators (landlord users with `MANAGE_USERS`), for their own
//! organisation only. A token of another organisation answers `NOT_FOUND`,
//! like a missing one. Staff, residents, other landlord users and API tokens
//! themselves are `FORBIDDEN` (a token cannot mint or revoke tokens);
//! nobody signed in is `UNAUTHENTICATED`.
//!
//! A token never carries more than its creator: an administrator may give a
//! new token only payment permissions they hold themselves
//! ([`TokenAdmin::lacks`]), and authentication narrows a token to what its
//! creator still holds ([`crate::auth::session::authenticate`]).

use entities::{Permission, UserKind};
use uuid::Uuid;

use super::{Allowed, Caller};
use crate::{
    auth::Viewer,
    error::{ApiError, ApiResult},
};

/// An administrator of the tokens of `organisation_id`.
#[derive(Debug, Clone)]
pub struct TokenAdmin {
    /// The acting user.
    pub user_id: Uuid,
    /// The organisation whose tokens they manage.
    pub organisation_id: Uuid,
    /// The acting user's own permissions (as of this request): the most a
    /// token they create may carry.
    pub holds: Vec<Permission>,
}

/// Checks the caller administers their organisation's API tokens.
pub fn can_administer(caller: &Caller<'_>) -> ApiResult<Allowed<TokenAdmin>> {
    match caller.viewer {
        Viewer::Anonymous => Err(ApiError::Unauthenticated),
        Viewer::User(u)
            if u.kind == UserKind::Landlord && u.permissions.contains(&Permission::ManageUsers) =>
        {
            let admin = TokenAdmin {
                user_id: u.id,
                organisation_id: u.organisation_id.ok_or(ApiError::Forbidden)?,
                holds: u.permissions.clone(),
            };
            Ok(Allowed::grant(caller, admin))
        }
        _ => Err(ApiError::Forbidden),
    }
}

impl TokenAdmin {
    /// Whether a token of `organisation_id` is one this admin may see.
    pub fn sees(&self, organisation_id: Uuid) -> bool {
        organisation_id == self.organisation_id
    }

    /// The permissions in `requested` this admin does not hold, and so may
    /// not give a token (empty: they may give all of them).
    pub fn lacks(&self, requested: &[Permission]) -> Vec<Permission> {
        requested
            .iter()
            .copied()
            .filter(|p| !self.holds.contains(p))
            .collect()
    }
}
