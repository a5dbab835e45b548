//! Who may report a case as unrecognised, and who sees the reports.
//!
//! - A party (a resident on the case, or a user of its landlord
//!   organisation) may report a case they can see: the seed asks anyone who
//!   can see a case they do not recognise to tell the service. Staff are not
//!   parties (`FORBIDDEN`); API tokens and anonymous callers see no case.
//! - A party sees only the reports they made themselves (not a colleague's:
//!   the report is the reporter's own statement).
//! - Staff (any role) see every report and resolve them: the queue is the
//!   back office's, like the case it concerns.

use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use entities::case_access_report;

use super::{
    Allowed, Caller, Staff,
    cases::{self, Reader},
};
use crate::error::{ApiError, ApiResult};

/// The condition on `case_access_reports` selecting what `reader` may see.
pub fn visible(reader: Reader) -> Condition {
    if reader.is_staff() {
        Condition::all()
    } else {
        Condition::all().add(case_access_report::Column::ReportedByUserId.eq(reader.user_id))
    }
}

/// One report by id, if `reader` may see it; `NOT_FOUND` otherwise.
pub async fn find_visible(
    conn: &impl ConnectionTrait,
    reader: Reader,
    id: Uuid,
) -> ApiResult<case_access_report::Model> {
    case_access_report::Entity::find_by_id(id)
        .filter(visible(reader))
        .one(conn)
        .await?
        .ok_or(ApiError::NotFound("Case access report"))
}

/// Reporting a case as unrecognised: a party (resident or landlord user).
/// Which cases is decided by [`cases::find_visible`] in the service.
pub fn can_report(caller: &Caller<'_>) -> ApiResult<Allowed<Reader>> {
    let reader = cases::reader(caller)?;
    if reader.is_staff() {
        return Err(ApiError::Forbidden);
    }
    Ok(Allowed::grant(caller, reader))
}

/// Resolving a report: staff (any role).
pub fn can_resolve(caller: &Caller<'_>) -> ApiResult<Allowed<Staff>> {
    super::staff(caller)
}
