//! Who may request, see and download payments exports.
//!
//! - Requesting needs `EXPORT_PAYMENTS`: a landlord user or an organisation
//!   API token (partner dashboards) exports its own organisation's payments;
//!   naming another organisation answers `NOT_FOUND`. Staff export any
//!   organisation's, named by its id. `VIEW_PAYMENTS` alone is not enough.
//! - Seeing an export (status, progress, `downloadUrl`): the users and tokens
//!   of its organisation that hold `EXPORT_PAYMENTS` (a partner dashboard's
//!   export is the organisation's, not one person's), and staff. The file
//!   holds the same data as the search those callers may run anyway.
//!   Another organisation's export, or any export for a caller without the
//!   permission, answers `NOT_FOUND` like a missing one; lists answer
//!   `FORBIDDEN` without the permission.

use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use entities::{Permission, UserKind, payment_export};

use super::{Allowed, Caller};
use crate::{
    auth::Viewer,
    error::{ApiError, ApiResult},
};

/// Who requested an export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requester {
    /// A user (landlord or staff): emailed when it is ready.
    User(Uuid),
    /// An organisation API token.
    ApiToken(Uuid),
}

/// The caller's own organisation when they hold `EXPORT_PAYMENTS`; `None`
/// for staff. Anonymous: `UNAUTHENTICATED`; anyone else `FORBIDDEN`.
fn own_organisation(viewer: &Viewer) -> ApiResult<Option<Uuid>> {
    match viewer {
        Viewer::Anonymous => Err(ApiError::Unauthenticated),
        Viewer::User(u) if u.kind == UserKind::Staff => Ok(None),
        Viewer::User(u)
            if u.kind == UserKind::Landlord
                && u.permissions.contains(&Permission::ExportPayments) =>
        {
            Ok(Some(u.organisation_id.ok_or(ApiError::Forbidden)?))
        }
        Viewer::ApiToken(t) if t.permissions.contains(&Permission::ExportPayments) => {
            Ok(Some(t.organisation_id))
        }
        _ => Err(ApiError::Forbidden),
    }
}

/// What a request for an export was allowed: the organisation it is for and
/// who asks.
#[derive(Debug, Clone, Copy)]
pub struct ExportRequest {
    /// The organisation whose payments are exported.
    pub organisation_id: Uuid,
    /// Who asked (and is told when it is ready).
    pub requester: Requester,
}

/// Requesting an export: the organisation it is for (`requested`, checked,
/// or the caller's own; staff must name one: `BAD_USER_INPUT` on `field`)
/// and who asks.
pub fn can_request(
    caller: &Caller<'_>,
    requested: Option<Uuid>,
    field: &str,
) -> ApiResult<Allowed<ExportRequest>> {
    let viewer = caller.viewer;
    let requester = match viewer {
        Viewer::User(u) => Requester::User(u.id),
        Viewer::ApiToken(t) => Requester::ApiToken(t.id),
        Viewer::Anonymous => return Err(ApiError::Unauthenticated),
        Viewer::Enrolling(_) => return Err(ApiError::TwoFactorSetupRequired),
    };
    let organisation = match (own_organisation(viewer)?, requested) {
        (None, Some(org)) => org,
        (None, None) => {
            return Err(ApiError::bad_input(
                field,
                "Staff must name the organisation.",
            ));
        }
        (Some(own), Some(org)) if org != own => return Err(ApiError::NotFound("Organisation")),
        (Some(own), _) => own,
    };
    let request = ExportRequest {
        organisation_id: organisation,
        requester,
    };
    Ok(Allowed::grant(caller, request))
}

/// The condition on `payment_exports` selecting what the caller may see:
/// staff `requested` (or every organisation), others their organisation's
/// (naming another: `NOT_FOUND`).
pub fn visible(caller: &Caller<'_>, requested: Option<Uuid>) -> ApiResult<Condition> {
    let column = payment_export::Column::OrganisationId;
    match (own_organisation(caller.viewer)?, requested) {
        (None, None) => Ok(Condition::all()),
        (None, Some(org)) => Ok(Condition::all().add(column.eq(org))),
        (Some(own), Some(org)) if org != own => Err(ApiError::NotFound("Organisation")),
        (Some(own), _) => Ok(Condition::all().add(column.eq(own))),
    }
}

/// One export by id, if visible; `NOT_FOUND` otherwise (also for callers
/// without the permission, so ids cannot be probed).
pub async fn find_visible(
    conn: &impl ConnectionTrait,
    caller: &Caller<'_>,
    id: Uuid,
) -> ApiResult<payment_export::Model> {
    let condition = match visible(caller, None) {
        Ok(c) => c,
        Err(ApiError::Unauthenticated) => return Err(ApiError::Unauthenticated),
        Err(_) => return Err(ApiError::NotFound("Payment export")),
    };
    payment_export::Entity::find_by_id(id)
        .filter(condition)
        .one(conn)
        .await?
        .ok_or(ApiError::NotFound("Payment export"))
}
