//! Who may see and act on a task.
//!
//! - Staff see every task and review "unable to complete" answers; they do
//!   not complete or report tasks themselves (`FORBIDDEN`: they can see the
//!   task, it is just not theirs to do).
//! - A portal user sees the tasks assigned to their side on the cases they
//!   can see: a resident the tasks assigned to them, a landlord user those
//!   assigned to their organisation. This is the seed's "tasks to be
//!   completed by you": another party's tasks are not shown, so a task
//!   assigned to someone else answers `NOT_FOUND`, exactly like an id that
//!   does not exist.
//! - Anything on a closed case is read-only (`CONFLICT` when changed).

use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use entities::task;

use super::{
    Allowed,
    cases::{Reader, Side, party_cases},
};
use crate::error::{ApiError, ApiResult};

/// The condition on `tasks` selecting exactly the tasks `reader` may see.
pub fn visible(reader: Reader) -> Condition {
    match reader.side {
        None => Condition::all(),
        Some(side) => {
            let assigned = match side {
                Side::Resident(id) => task::Column::AssigneeUserId.eq(id),
                Side::Landlord(org) => task::Column::AssigneeOrganisationId.eq(org),
            };
            Condition::all()
                .add(assigned)
                .add(task::Column::CaseId.in_subquery(party_cases(side)))
        }
    }
}

/// One task by id, if `reader` may see it; `NOT_FOUND` otherwise.
pub async fn find_visible(
    conn: &impl ConnectionTrait,
    reader: Reader,
    id: Uuid,
) -> ApiResult<task::Model> {
    task::Entity::find_by_id(id)
        .filter(visible(reader))
        .one(conn)
        .await?
        .ok_or(ApiError::NotFound("Task"))
}

/// A task the caller may complete or report as unable to complete: visible
/// and assigned to their side (staff: `FORBIDDEN`).
pub async fn find_assigned(
    conn: &impl ConnectionTrait,
    allowed: &Allowed<Reader>,
    id: Uuid,
) -> ApiResult<task::Model> {
    let task = find_visible(conn, **allowed, id).await?;
    // Visible to a portal user means assigned to their side (see above).
    if allowed.is_staff() {
        return Err(ApiError::Forbidden);
    }
    Ok(task)
}
