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

use super::cases::{Caller, Side, caller, party_cases};
use crate::{
    auth::Viewer,
    error::{ApiError, ApiResult},
};

/// The condition on `tasks` selecting exactly the tasks `caller` may see.
pub fn visible_to(caller: Caller) -> Condition {
    match caller.side {
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

/// The condition on `tasks` selecting exactly the tasks `viewer` may see.
pub fn visible_tasks(viewer: &Viewer) -> ApiResult<Condition> {
    Ok(visible_to(caller(viewer)?))
}

/// One task by id, if `viewer` may see it; `NOT_FOUND` otherwise.
pub async fn find_visible(
    conn: &impl ConnectionTrait,
    viewer: &Viewer,
    id: Uuid,
) -> ApiResult<task::Model> {
    task::Entity::find_by_id(id)
        .filter(visible_tasks(viewer)?)
        .one(conn)
        .await?
        .ok_or(ApiError::NotFound("Task"))
}

/// A task the caller may complete or report as unable to complete: visible
/// and assigned to their side (staff: `FORBIDDEN`).
pub async fn find_assigned(
    conn: &impl ConnectionTrait,
    viewer: &Viewer,
    id: Uuid,
) -> ApiResult<(Caller, task::Model)> {
    let task = find_visible(conn, viewer, id).await?;
    let caller = caller(viewer)?;
    // Visible to a portal user means assigned to their side (see above).
    if caller.is_staff() {
        return Err(ApiError::Forbidden);
    }
    Ok((caller, task))
}
