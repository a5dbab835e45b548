//! Tasks: "My tasks" across cases, one task, and what can be done with one:
//! staff set and review tasks; the assignee completes a task or reports that
//! they cannot (the reason goes to the case owner).
//!
//! Visibility is `policy::tasks`: a portal user sees only the tasks assigned
//! to their side, so someone else's task answers `NOT_FOUND`; staff see every
//! task but completing or reporting one is not theirs to do (`FORBIDDEN`).

use async_graphql::{Context, Enum, ID, InputObject, Object, OneofObject};
use chrono::{DateTime, Utc};

use entities::task;

use super::{
    ContextExt,
    cases::Case,
    enums::PartyKind,
    loaders::{CaseKey, OrganisationKey, UserKey, prefetch_tasks},
    messages::{Message, message_link},
    pagination::{Counted, counted_connection, decode_offset, page_size},
    scalars::Date,
    scalars::{NodeKind, global_id, input_id, parse_id},
};
use crate::{
    casework::{
        self,
        tasks::{Assignee, NewTask, Review, TaskFilter as Filter},
    },
    error::{ApiError, ApiResult},
    policy,
};

/// Progress of a task ("overdue" is the separate `overdue` field).
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "entities::TaskStatus")]
pub enum TaskStatus {
    /// Pending / new.
    Pending,
    /// Done.
    Completed,
    /// The assignee could not do it; the case owner reviews the reason.
    UnableToComplete,
}

/// A task.
pub struct Task(pub task::Model);

/// A task on a case for a resident or a landlord organisation to do by its due
/// date ("Upload documents", "Read message"). The assignee completes it or says
/// why they cannot; the case owner reviews that answer.
#[Object]
impl Task {
    /// Task id.
    pub async fn id(&self) -> ID {
        global_id(NodeKind::Task, self.0.id)
    }
    /// Title.
    async fn title(&self) -> &str {
        &self.0.title
    }
    /// Longer description.
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    /// Target date.
    async fn due_date(&self) -> Date {
        Date(self.0.due_date)
    }
    /// Status.
    async fn status(&self) -> TaskStatus {
        self.0.status.into()
    }
    /// Pending and the target date has passed.
    async fn overdue(&self) -> bool {
        self.0.status == entities::TaskStatus::Pending && self.0.due_date < casework::today()
    }
    /// Resident or landlord organisation.
    async fn assignee_kind(&self) -> PartyKind {
        self.0.assignee_kind.into()
    }
    /// The assignee's name (the resident, or the organisation).
    async fn assignee_name(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<String>> {
        Ok(
            match (self.0.assignee_user_id, self.0.assignee_organisation_id) {
                (Some(u), _) => ctx
                    .load(UserKey(u))
                    .await?
                    .map(|u| format!("{} {}", u.first_name, u.last_name)),
                (_, Some(o)) => ctx.load(OrganisationKey(o)).await?.map(|o| o.name),
                _ => None,
            },
        )
    }
    /// Why the assignee could not complete it.
    async fn unable_reason(&self) -> Option<&str> {
        self.0.unable_reason.as_deref()
    }
    /// When it was completed.
    async fn completed_at(&self) -> Option<DateTime<Utc>> {
        self.0.completed_at
    }
    /// When staff reviewed an "unable to complete" answer.
    async fn reviewed_at(&self) -> Option<DateTime<Utc>> {
        self.0.reviewed_at
    }
    /// For a "Read message" task: the message to read (its assignee's side
    /// was sent it), through the request's loader.
    async fn source_message(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Message>> {
        let Some(id) = self.0.source_message_id else {
            return Ok(None);
        };
        message_link(ctx, id).await
    }
    /// When it was set.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// The case.
    async fn case(&self, ctx: &Context<'_>) -> async_graphql::Result<Case> {
        Ok(Case(
            ctx.load(CaseKey(self.0.case_id, ctx.reader()?))
                .await?
                .ok_or(ApiError::NotFound("Case"))?,
        ))
    }
}

/// "My tasks" filter.
#[derive(InputObject, Default)]
pub struct TaskFilter {
    /// Only this status (default: all).
    pub status: Option<TaskStatus>,
    /// Only overdue tasks.
    #[graphql(default)]
    pub overdue: bool,
    /// Include tasks of closed cases (default: open cases only).
    #[graphql(default)]
    pub include_closed_cases: bool,
}

/// Who a task is for: a resident or a landlord organisation that is a party.
#[derive(OneofObject)]
pub enum TaskAssigneeInput {
    /// A resident user who is a party.
    ResidentUserId(ID),
    /// A landlord organisation that is a party.
    OrganisationId(ID),
}

/// A new task.
#[derive(InputObject)]
pub struct CreateTaskInput {
    /// Title (at most 200 characters).
    pub title: String,
    /// Description (at most 2000 characters).
    pub description: Option<String>,
    /// Target date (today or later).
    pub due_date: Date,
    /// Who must do it.
    pub assignee: TaskAssigneeInput,
}

/// The review of an "unable to complete" task: exactly one decision.
#[derive(OneofObject)]
pub enum ReviewTaskInput {
    /// Pending again with this target date.
    NewDueDate(Date),
    /// Pending again, for another party.
    ReassignTo(TaskAssigneeInput),
    /// Close the task (nothing more expected); must be `true`.
    Close(bool),
}

fn assignee(input: &TaskAssigneeInput, field: &str) -> ApiResult<Assignee> {
    Ok(match input {
        TaskAssigneeInput::ResidentUserId(id) => {
            Assignee::Resident(input_id(id, NodeKind::User, field)?)
        }
        TaskAssigneeInput::OrganisationId(id) => {
            Assignee::Landlord(input_id(id, NodeKind::Organisation, field)?)
        }
    })
}

/// Task queries.
#[derive(Default)]
pub struct TasksQuery;

#[Object]
impl TasksQuery {
    /// My tasks across cases, soonest first (staff: every task).
    #[graphql(complexity = "super::pagination::connection_cost(first, child_complexity)")]
    async fn my_tasks(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Which tasks (default: all of mine).")] filter: Option<TaskFilter>,
        #[graphql(desc = "How many to return: 1 to 100 (default 20).")] first: Option<i32>,
        #[graphql(desc = "The `endCursor` of the previous page: the page starts after it.")] after: Option<String>,
    ) -> async_graphql::Result<Counted<Task>> {
        let reader = ctx.reader()?;
        let limit = page_size(first)?;
        let offset = decode_offset(after.as_deref())?;
        let filter = filter.unwrap_or_default();
        let filter = Filter {
            status: filter.status.map(Into::into),
            overdue_only: filter.overdue,
            open_cases_only: !filter.include_closed_cases,
        };
        let (rows, has_next, total) =
            casework::tasks::list(ctx.app(), reader, filter, offset, limit).await?;
        prefetch_tasks(
            ctx,
            reader,
            &rows,
            ctx.look_ahead().field("edges").field("node"),
        )
        .await?;
        Ok(counted_connection(rows, offset, has_next, total, Task))
    }

    /// One task (`NOT_FOUND` when it does not exist or I may not see it).
    pub async fn task(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The task.")] id: ID,
    ) -> async_graphql::Result<Task> {
        let id = parse_id(&id, NodeKind::Task)?;
        Ok(Task(
            policy::tasks::find_visible(&ctx.app().db, ctx.reader()?, id).await?,
        ))
    }
}

/// Task mutations.
#[derive(Default)]
pub struct TasksMutation;

#[Object]
impl TasksMutation {
    /// Sets a task on an open case for a party. Staff only.
    async fn create_task(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The case.")] case_id: ID,
        #[graphql(desc = "The task's title, description, due date and assignee.")]
        input: CreateTaskInput,
    ) -> async_graphql::Result<Task> {
        let allowed = policy::cases::can_manage(&ctx.caller())?;
        let case_id = parse_id(&case_id, NodeKind::Case)?;
        let new = NewTask {
            title: input.title,
            description: input.description,
            due_date: input.due_date.0,
            assignee: assignee(&input.assignee, "input.assignee")?,
        };
        Ok(Task(
            casework::tasks::create(ctx.app(), &allowed, case_id, new).await?,
        ))
    }

    /// Reviews an "unable to complete" task: a new date, another assignee,
    /// or closing it. Staff only.
    async fn review_task(
        &self,
        ctx: &Context<'_>,
        #[graphql(name = "id", desc = "The task answered `UNABLE_TO_COMPLETE`.")] task_id: ID,
        #[graphql(desc = "The decision: a new due date, another assignee, or close the task.")]
        input: ReviewTaskInput,
    ) -> async_graphql::Result<Task> {
        let allowed = policy::cases::can_manage(&ctx.caller())?;
        let id = parse_id(&task_id, NodeKind::Task)?;
        let decision = match &input {
            ReviewTaskInput::NewDueDate(d) => Review::NewDueDate(d.0),
            ReviewTaskInput::ReassignTo(a) => {
                Review::Reassign(assignee(a, "input.reassignTo")?, None)
            }
            ReviewTaskInput::Close(true) => Review::Close,
            ReviewTaskInput::Close(false) => {
                return Err(ApiError::bad_input("input.close", "Must be true.").into());
            }
        };
        Ok(Task(
            casework::tasks::review(ctx.app(), &allowed, id, decision).await?,
        ))
    }

    /// Marks one of my pending tasks completed.
    async fn complete_task(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The task, one of mine.")] id: ID,
    ) -> async_graphql::Result<Task> {
        let id = parse_id(&id, NodeKind::Task)?;
        let allowed = policy::cases::can_act(&ctx.caller())?;
        Ok(Task(
            casework::tasks::complete(ctx.app(), &allowed, id).await?,
        ))
    }

    /// Tells the case owner I cannot complete one of my pending tasks, and
    /// why (at most 280 characters).
    async fn report_task_unable_to_complete(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The task, one of mine.")] id: ID,
        #[graphql(desc = "Why, 1 to 280 characters (sent to the case owner).")] reason: String,
    ) -> async_graphql::Result<Task> {
        let id = parse_id(&id, NodeKind::Task)?;
        let allowed = policy::cases::can_act(&ctx.caller())?;
        Ok(Task(
            casework::tasks::report_unable(ctx.app(), &allowed, id, &reason).await?,
        ))
    }
}
