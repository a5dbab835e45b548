//! Who may read the audit log: staff read every entry; organisation
//! administrators (landlord users with `MANAGE_USERS`) read the entries of
//! their own organisation. Everyone else is `FORBIDDEN`; nobody signed in is
//! `UNAUTHENTICATED`. Nobody may change or delete an entry: there is no API
//! for it, and the database refuses it (triggers on `audit_log`).

use entities::{Permission, UserKind};
use uuid::Uuid;

use super::Caller;
use crate::{
    auth::Viewer,
    error::{ApiError, ApiResult},
};

/// The entries a caller may read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditScope {
    /// Every entry (staff).
    All,
    /// Entries whose `organisation_id` is this organisation.
    Organisation(Uuid),
}

/// What the caller may read of the audit log.
pub fn visible(caller: &Caller<'_>) -> ApiResult<AuditScope> {
    match caller.viewer {
        Viewer::Anonymous => Err(ApiError::Unauthenticated),
        v if v.is_staff(None) => Ok(AuditScope::All),
        Viewer::User(u)
            if u.kind == UserKind::Landlord && u.permissions.contains(&Permission::ManageUsers) =>
        {
            u.organisation_id
                .map(AuditScope::Organisation)
                .ok_or(ApiError::Forbidden)
        }
        _ => Err(ApiError::Forbidden),
    }
}
