//! Who may create, list and revoke an organisation's API tokens: its
//! administrators (landlord users with `MANAGE_USERS`), for their own
//! organisation only. A token of another organisation answers `NOT_FOUND`,
//! like a missing one. Staff, residents, other landlord users and API tokens
//! themselves are `FORBIDDEN` (a token cannot mint or revoke tokens);
//! nobody signed in is `UNAUTHENTICATED`.

use entities::{Permission, UserKind};
use uuid::Uuid;

use super::{Allowed, Caller};
use crate::{
    auth::Viewer,
    error::{ApiError, ApiResult},
};

/// An administrator of the tokens of `organisation_id`.
#[derive(Debug, Clone, Copy)]
pub struct TokenAdmin {
    /// The acting user.
    pub user_id: Uuid,
    /// The organisation whose tokens they manage.
    pub organisation_id: Uuid,
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
}
