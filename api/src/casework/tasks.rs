//! Tasks: staff set them for a resident or a landlord organisation that is a
//! party; the assignee completes them or reports that they cannot, with a
//! reason for the case owner; the owner (any staff member) reviews that
//! answer with a new date, another assignee, or by closing the task.
//!
//! Setting and reviewing take the back office's `Allowed<Staff>`; completing
//! and reporting take the assignee's `Allowed<Reader>` and read the task
//! through `policy::tasks::find_assigned`.

use chrono::{NaiveDate, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait,
    IntoActiveModel, QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde_json::json;
use uuid::Uuid;

use entities::{PartyKind, TaskStatus, UserStatus, case, case_party, task, user};

use super::{MAX_BODY, MAX_REASON, MAX_SHORT, open, staff_reader, text, today};
use crate::{
    app::App,
    audit::{self, Actor},
    error::{ApiError, ApiResult},
    events::CaseEvent,
    notifications,
    notifications::templates::EmailTemplate,
    policy::{self, Allowed, Staff, cases::Reader},
};

/// Who a task is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Assignee {
    /// A resident user who is a party to the case.
    Resident(Uuid),
    /// A landlord organisation that is a party to the case.
    Landlord(Uuid),
}

/// A new task.
#[derive(Debug, Clone)]
pub struct NewTask {
    /// Title.
    pub title: String,
    /// Longer description.
    pub description: Option<String>,
    /// Target date (today or later).
    pub due_date: NaiveDate,
    /// Who must do it.
    pub assignee: Assignee,
}

/// The staff decision on an `UNABLE_TO_COMPLETE` task.
#[derive(Debug, Clone, Copy)]
pub enum Review {
    /// Pending again, with a new target date.
    NewDueDate(NaiveDate),
    /// Pending again, for another party (keeping the date unless given).
    Reassign(Assignee, Option<NaiveDate>),
    /// Closed: nothing more is expected (status stays `UNABLE_TO_COMPLETE`,
    /// reviewed).
    Close,
}

fn future_date(field: &str, date: NaiveDate) -> ApiResult<NaiveDate> {
    if date < today() {
        return Err(ApiError::bad_input(field, "Must be today or later."));
    }
    Ok(date)
}

/// A task's case, if open (`CONFLICT` otherwise).
async fn open_case(conn: &impl ConnectionTrait, case_id: Uuid) -> ApiResult<case::Model> {
    let case = case::Entity::find_by_id(case_id)
        .one(conn)
        .await?
        .ok_or(ApiError::NotFound("Case"))?;
    open(case)
}

/// The party the assignee must be; `BAD_USER_INPUT` when it is not one.
async fn assignee_party(
    conn: &impl ConnectionTrait,
    case_id: Uuid,
    assignee: Assignee,
    field: &str,
) -> ApiResult<case_party::Model> {
    let query = case_party::Entity::find().filter(case_party::Column::CaseId.eq(case_id));
    match assignee {
        Assignee::Resident(id) => query.filter(case_party::Column::UserId.eq(id)),
        Assignee::Landlord(org) => query.filter(case_party::Column::OrganisationId.eq(org)),
    }
    .one(conn)
    .await?
    .ok_or_else(|| ApiError::bad_input(field, "Not a party to this case."))
}

fn assign(model: &mut task::ActiveModel, assignee: Assignee) {
    match assignee {
        Assignee::Resident(id) => {
            model.assignee_kind = Set(PartyKind::Resident);
            model.assignee_user_id = Set(Some(id));
            model.assignee_organisation_id = Set(None);
        }
        Assignee::Landlord(org) => {
            model.assignee_kind = Set(PartyKind::Landlord);
            model.assignee_user_id = Set(None);
            model.assignee_organisation_id = Set(Some(org));
        }
    }
}

/// A fresh pending task row (not inserted).
pub fn new_row(
    case_id: Uuid,
    title: String,
    description: Option<String>,
    due_date: NaiveDate,
    assignee: Assignee,
    created_by: Uuid,
    source_message_id: Option<Uuid>,
) -> task::ActiveModel {
    let now = Utc::now();
    let mut model = task::ActiveModel {
        id: Set(Uuid::now_v7()),
        case_id: Set(case_id),
        title: Set(title),
        description: Set(description),
        due_date: Set(due_date),
        status: Set(TaskStatus::Pending),
        source_message_id: Set(source_message_id),
        unable_reason: Set(None),
        completed_at: Set(None),
        completed_by_user_id: Set(None),
        reviewed_at: Set(None),
        reviewed_by_user_id: Set(None),
        due_soon_reminded_at: Set(None),
        overdue_reminded_at: Set(None),
        created_by_user_id: Set(Some(created_by)),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    assign(&mut model, assignee);
    model
}

/// Audits a change to a task, commits it, and tells the case's subscribers.
async fn commit(
    app: &App,
    txn: DatabaseTransaction,
    actor: &Actor,
    action: &str,
    before: Option<&task::Model>,
    after: task::Model,
) -> ApiResult<task::Model> {
    audit::record_change(&txn, actor, action, before, &after).await?;
    txn.commit().await?;
    app.events.publish(CaseEvent::TaskChanged {
        case_id: after.case_id,
        task_id: after.id,
    });
    Ok(after)
}

/// Writes `model` to the task only if it is still in the state the caller
/// read (`expected` status, and unreviewed when `unreviewed`): two people
/// acting on one task at once (two users of a landlord, two caseworkers)
/// cannot both succeed; the second gets `CONFLICT`, like a late click.
async fn update_if(
    conn: &impl ConnectionTrait,
    model: task::ActiveModel,
    id: Uuid,
    expected: TaskStatus,
    unreviewed: bool,
) -> ApiResult<task::Model> {
    let mut update = task::Entity::update_many()
        .set(model)
        .filter(task::Column::Id.eq(id))
        .filter(task::Column::Status.eq(expected));
    if unreviewed {
        update = update.filter(task::Column::ReviewedAt.is_null());
    }
    if update.exec(conn).await?.rows_affected != 1 {
        return Err(ApiError::Conflict(
            "The task was changed meanwhile: reload it.".into(),
        ));
    }
    task::Entity::find_by_id(id)
        .one(conn)
        .await?
        .ok_or(ApiError::NotFound("Task"))
}

/// Sets a task on an open case (the back office).
pub async fn create(
    app: &App,
    staff: &Allowed<Staff>,
    case_id: Uuid,
    input: NewTask,
) -> ApiResult<task::Model> {
    let title = text("input.title", &input.title, MAX_SHORT)?;
    let description = input
        .description
        .filter(|d| !d.trim().is_empty())
        .map(|d| text("input.description", &d, MAX_BODY))
        .transpose()?;
    let due_date = future_date("input.dueDate", input.due_date)?;
    let txn = platform::db::begin_write(&app.db).await?;
    let case = open(policy::cases::find_managed(&txn, staff, case_id, true).await?)?;
    assignee_party(&txn, case_id, input.assignee, "input.assignee").await?;
    let created = new_row(
        case_id,
        title,
        description,
        due_date,
        input.assignee,
        staff.user_id,
        None,
    )
    .insert(&txn)
    .await?;
    crate::webhooks::events::task_assigned(&txn, &case, &created).await?;
    commit(app, txn, staff.actor(), "task.create", None, created).await
}

/// A task the caller may act on, re-read inside the transaction, on an open
/// case and still pending.
async fn actionable(
    conn: &impl ConnectionTrait,
    assignee: &Allowed<Reader>,
    id: Uuid,
) -> ApiResult<(task::Model, case::Model)> {
    let task = policy::tasks::find_assigned(conn, assignee, id).await?;
    let case = open_case(conn, task.case_id).await?;
    if task.status != TaskStatus::Pending {
        return Err(ApiError::Conflict("The task is not pending.".into()));
    }
    Ok((task, case))
}

/// The assignee marks a pending task completed.
pub async fn complete(app: &App, assignee: &Allowed<Reader>, id: Uuid) -> ApiResult<task::Model> {
    let txn = platform::db::begin_write(&app.db).await?;
    let (before, _) = actionable(&txn, assignee, id).await?;
    let now = Utc::now();
    let mut model = before.clone().into_active_model();
    model.status = Set(TaskStatus::Completed);
    model.completed_at = Set(Some(now));
    model.completed_by_user_id = Set(Some(assignee.user_id));
    model.updated_at = Set(now);
    let after = update_if(&txn, model, before.id, TaskStatus::Pending, false).await?;
    commit(
        app,
        txn,
        assignee.actor(),
        "task.complete",
        Some(&before),
        after,
    )
    .await
}

/// The assignee cannot do a pending task: it becomes `UNABLE_TO_COMPLETE`
/// with the reason (at most 280 characters), and the case owner is emailed.
pub async fn report_unable(
    app: &App,
    assignee: &Allowed<Reader>,
    id: Uuid,
    reason: &str,
) -> ApiResult<task::Model> {
    let reason = text("reason", reason, MAX_REASON)?;
    let txn = platform::db::begin_write(&app.db).await?;
    let (before, case) = actionable(&txn, assignee, id).await?;
    let now = Utc::now();
    let mut model = before.clone().into_active_model();
    model.status = Set(TaskStatus::UnableToComplete);
    model.unable_reason = Set(Some(reason.clone()));
    model.completed_by_user_id = Set(Some(assignee.user_id));
    model.reviewed_at = Set(None);
    model.reviewed_by_user_id = Set(None);
    model.updated_at = Set(now);
    let after = update_if(&txn, model, before.id, TaskStatus::Pending, false).await?;
    let reporter = user::Entity::find_by_id(assignee.user_id)
        .one(&txn)
        .await?
        .ok_or(ApiError::Unauthenticated)?;
    if let Some(owner_id) = case.owner_user_id {
        let owner = user::Entity::find_by_id(owner_id)
            .filter(user::Column::Status.eq(UserStatus::Active))
            .one(&txn)
            .await?;
        if let Some(owner) = owner {
            notifications::queue_email(
                &txn,
                &notifications::Recipient {
                    address: owner.email.clone(),
                    user_id: Some(owner.id),
                },
                EmailTemplate::TaskUnableToComplete,
                json!({
                    "first_name": owner.first_name,
                    "case_reference": case.reference,
                    "task_title": after.title,
                    "reported_by": format!("{} {}", reporter.first_name, reporter.last_name),
                    "reason": reason,
                }),
            )
            .await?;
        }
    }
    let action = "task.unable_to_complete";
    commit(app, txn, assignee.actor(), action, Some(&before), after).await
}

/// Staff review of an `UNABLE_TO_COMPLETE` task (`CONFLICT` for any other
/// status or a closed case).
pub async fn review(
    app: &App,
    staff: &Allowed<Staff>,
    id: Uuid,
    decision: Review,
) -> ApiResult<task::Model> {
    let txn = platform::db::begin_write(&app.db).await?;
    let before = policy::tasks::find_visible(&txn, staff_reader(staff), id).await?;
    open_case(&txn, before.case_id).await?;
    if before.status != TaskStatus::UnableToComplete || before.reviewed_at.is_some() {
        return Err(ApiError::Conflict(
            "Only an unreviewed \"unable to complete\" task can be reviewed.".into(),
        ));
    }
    let now = Utc::now();
    let mut model = before.clone().into_active_model();
    model.reviewed_at = Set(Some(now));
    model.reviewed_by_user_id = Set(Some(staff.user_id));
    model.updated_at = Set(now);
    let reopen = |model: &mut task::ActiveModel, due: Option<NaiveDate>| {
        model.status = Set(TaskStatus::Pending);
        model.unable_reason = Set(None);
        model.completed_by_user_id = Set(None);
        // A task pending again gets its reminders again.
        model.due_soon_reminded_at = Set(None);
        model.overdue_reminded_at = Set(None);
        if let Some(due) = due {
            model.due_date = Set(due);
        }
    };
    match decision {
        Review::NewDueDate(date) => {
            let date = future_date("input.newDueDate", date)?;
            reopen(&mut model, Some(date));
        }
        Review::Reassign(assignee, date) => {
            let date = date
                .map(|d| future_date("input.newDueDate", d))
                .transpose()?;
            assignee_party(&txn, before.case_id, assignee, "input.reassignTo").await?;
            reopen(&mut model, date);
            assign(&mut model, assignee);
        }
        Review::Close => {}
    }
    let after = update_if(&txn, model, before.id, TaskStatus::UnableToComplete, true).await?;
    commit(app, txn, staff.actor(), "task.review", Some(&before), after).await
}

/// Which tasks "My tasks" lists.
#[derive(Debug, Clone, Copy, Default)]
pub struct TaskFilter {
    /// Only this status (default: all).
    pub status: Option<TaskStatus>,
    /// Only pending tasks whose date has passed.
    pub overdue_only: bool,
    /// Only open cases (default true in the API).
    pub open_cases_only: bool,
}

/// One page of the tasks `reader` may see across cases, by due date; whether
/// more follow; and the total of the whole list.
pub async fn list(
    app: &App,
    reader: Reader,
    filter: TaskFilter,
    offset: u64,
    limit: u64,
) -> ApiResult<(Vec<task::Model>, bool, crate::lists::Total)> {
    let mut query = task::Entity::find().filter(policy::tasks::visible(reader));
    if let Some(status) = filter.status {
        query = query.filter(task::Column::Status.eq(status));
    }
    if filter.overdue_only {
        query = query
            .filter(task::Column::Status.eq(TaskStatus::Pending))
            .filter(task::Column::DueDate.lt(today()));
    }
    if filter.open_cases_only {
        query = query.filter(
            task::Column::CaseId.in_subquery(sea_orm::QueryTrait::into_query(
                case::Entity::find()
                    .select_only()
                    .column(case::Column::Id)
                    .filter(case::Column::ClosedAt.is_null()),
            )),
        );
    }
    let total = crate::lists::Total::of(&query);
    let mut rows = query
        .order_by_asc(task::Column::DueDate)
        .order_by_asc(task::Column::Id)
        .offset(offset)
        .limit(limit + 1)
        .all(&app.db)
        .await?;
    let has_next = rows.len() as u64 > limit;
    rows.truncate(limit as usize);
    Ok((rows, has_next, total))
}

/// A task changed event's task and its case, if `reader` may see both
/// (one query): what a `taskChanged` subscriber is sent.
pub async fn find_changed(
    app: &App,
    reader: Reader,
    id: Uuid,
) -> ApiResult<Option<(task::Model, case::Model)>> {
    let found = task::Entity::find_by_id(id)
        .find_also_related(case::Entity)
        .filter(policy::cases::visible(reader))
        .filter(policy::tasks::visible(reader))
        .one(&app.db)
        .await?;
    Ok(found.and_then(|(task, case)| Some((task, case?))))
}
