//! The daily task reminders (PRODUCT "Notifications": "a daily job reminds
//! assignees of tasks due within 2 days and of overdue ones, once each").
//!
//! Each run, for every assignee with something to be reminded of, one
//! `task_reminder` email listing
//!
//! - tasks **due soon**: due today, tomorrow or the day after, not yet
//!   reminded as such (`due_soon_reminded_at IS NULL`), and
//! - tasks **overdue**: due before today, not yet reminded as such
//!   (`overdue_reminded_at IS NULL`),
//!
//! and the column of each listed task is stamped, so a task is reminded at most
//! once as "due soon" and once as "overdue". Only `PENDING` tasks of open cases
//! count: a completed task, one the assignee said they cannot complete (the
//! case owner reviews it), and everything on a closed case need nobody.
//!
//! Who is reminded (a decision the seeds leave open):
//! - a task for a **resident** goes to that resident;
//! - a task for a **landlord organisation** goes to every `ACTIVE` user of the
//!   organisation. The organisation as a whole must act, there is no
//!   "casework" permission to narrow it by, and leaving any of them out would
//!   leave an organisation whose one case handler is not its administrator
//!   unreminded.
//! - Only `ACTIVE` users: suspended, restricted and deactivated users cannot
//!   act on a task. A task whose assignee has no active user is still stamped
//!   (nobody to remind today would mean a flood of stale reminders later).
//!
//! How (the same shape as the inactivity sweep):
//! - **Set-based, in batches of assignees.** A batch takes the next assignees
//!   (by id, keyset) that have tasks due a reminder, then one conditional
//!   `UPDATE tasks ... RETURNING` per kind stamps all of their due tasks, one
//!   query reads the case references and one the recipients, and the emails
//!   are written with multi-row inserts — all in one transaction, so a stamp
//!   never commits without its email nor an email without its stamp. Batching
//!   by assignee rather than by task keeps all of an assignee's tasks in one
//!   email.
//! - **Idempotent and safe under concurrent runs.** The `UPDATE` re-checks the
//!   whole predicate, including `..._reminded_at IS NULL`, so a stamped task is
//!   never matched again. On PostgreSQL the task subquery takes `FOR UPDATE
//!   SKIP LOCKED`, so a second run skips the rows the first one holds (rather
//!   than queueing on them, or deadlocking with it on rows locked in another
//!   order) and the first one reminds them; on SQLite
//!   [`platform::db::begin_write`] serialises the writers. Either way each task is
//!   listed in exactly one email per kind. (Two runs racing over one assignee
//!   can split that assignee's tasks over two emails; the scheduler's dedupe
//!   key makes such races rare.)
//! - **Dates** are UK calendar days ([`crate::calendar`]), bound as values
//!   (never `CURRENT_DATE`, which is the database server's zone), for the same
//!   portability reason as the sweep's timestamps.

use std::{
    collections::{BTreeSet, HashMap},
    sync::Arc,
};

use chrono::{DateTime, Days, NaiveDate, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, DbErr, FromQueryResult, Value};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use entities::{TaskStatus, UserKind, UserStatus};

use worker::{
    job::{Attempt, Job, JobError},
    outbox::stmt,
    scheduler::DailyJob,
};

use crate::{
    jobs::JobContext,
    notifications::templates::EmailTemplate,
    notifications::{self, Recipient},
};

/// "Due soon": due today or in the next this many days.
pub const DUE_SOON_DAYS: u64 = 2;
/// Assignees per transaction.
pub const BATCH_SIZE: u64 = 500;

/// Send the reminders of one day. The day only names the run: its dedupe key
/// makes any number of schedulers enqueue it once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskReminders {
    /// The (UTC) day this run is for.
    pub day: NaiveDate,
}

impl Job for TaskReminders {
    type Context = JobContext;
    const JOB_NAME: &'static str = "task_reminders";
    /// Works through every open task due soon in batches.
    const TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30 * 60);

    fn dedupe_key(&self) -> Option<String> {
        Some(format!("{}:{}", Self::JOB_NAME, self.day))
    }

    async fn run(&self, ctx: Arc<JobContext>, _attempt: Attempt) -> Result<(), JobError> {
        let report = remind(&ctx.db, Utc::now(), BATCH_SIZE).await?;
        tracing::info!(
            day = %self.day,
            emails = report.emails,
            due_soon = report.due_soon,
            overdue = report.overdue,
            "task reminders sent"
        );
        Ok(())
    }
}

impl DailyJob for TaskReminders {
    fn for_day(day: NaiveDate) -> Self {
        Self { day }
    }
}

/// What one run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReminderReport {
    /// Emails queued.
    pub emails: u64,
    /// Tasks reminded as due soon.
    pub due_soon: u64,
    /// Tasks reminded as overdue.
    pub overdue: u64,
}

/// Which column holds the assignee, and so who is reminded.
#[derive(Debug, Clone, Copy)]
enum AssigneeColumn {
    User,
    Organisation,
}

impl AssigneeColumn {
    fn name(self) -> &'static str {
        match self {
            Self::User => "assignee_user_id",
            Self::Organisation => "assignee_organisation_id",
        }
    }
}

/// The two kinds of reminder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    DueSoon,
    Overdue,
}

impl Kind {
    fn column(self) -> &'static str {
        match self {
            Self::DueSoon => "due_soon_reminded_at",
            Self::Overdue => "overdue_reminded_at",
        }
    }

    /// The condition (on `tasks`) of a task due this reminder; `$1` is
    /// `PENDING`, `$2` today, `$3` the last day that is "soon".
    fn due(self) -> String {
        let dates = match self {
            Self::DueSoon => "due_date >= $2 AND due_date <= $3",
            Self::Overdue => "due_date < $2",
        };
        format!(
            "status = $1 AND {dates} AND {} IS NULL \
             AND case_id IN (SELECT id FROM cases WHERE closed_at IS NULL)",
            self.column()
        )
    }
}

/// A task stamped by a batch, as `RETURNING` gives it.
#[derive(Debug, FromQueryResult)]
struct RemindedTask {
    case_id: Uuid,
    title: String,
    due_date: NaiveDate,
    assignee_user_id: Option<Uuid>,
    assignee_organisation_id: Option<Uuid>,
}

/// A user to remind.
#[derive(Debug, FromQueryResult)]
struct Reminded {
    id: Uuid,
    email: String,
    first_name: String,
    organisation_id: Option<Uuid>,
}

#[derive(Debug, FromQueryResult)]
struct CaseReference {
    id: Uuid,
    reference: String,
}

#[derive(Debug, FromQueryResult)]
struct Assignee {
    assignee: Uuid,
}

/// Sends every reminder due at `now`, `batch_size` assignees per
/// transaction. Safe to run concurrently with itself. Public so tests and the
/// benchmark can drive it with a chosen clock and batch size.
pub async fn remind(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
    batch_size: u64,
) -> Result<ReminderReport, DbErr> {
    let mut report = ReminderReport::default();
    for column in [AssigneeColumn::User, AssigneeColumn::Organisation] {
        let mut after = Uuid::nil();
        while let Some(last) = remind_batch(db, now, column, after, batch_size, &mut report).await?
        {
            after = last;
        }
    }
    Ok(report)
}

/// `FOR UPDATE SKIP LOCKED` where the backend has it (see the module docs).
fn skip_locked(backend: DbBackend) -> &'static str {
    if backend == DbBackend::Postgres {
        "FOR UPDATE SKIP LOCKED"
    } else {
        ""
    }
}

/// `$n, $n+1, ...` for `count` values starting at `first`.
fn placeholders(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Reminds the next `limit` assignees (in `column`) after `after`, in one
/// transaction. Returns the last assignee, or `None` when there were none left.
async fn remind_batch(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
    column: AssigneeColumn,
    after: Uuid,
    limit: u64,
    report: &mut ReminderReport,
) -> Result<Option<Uuid>, DbErr> {
    let txn = platform::db::begin_write(db).await?;
    let backend = txn.get_database_backend();
    let today = crate::calendar::uk_date(now);
    let soon = today + Days::new(DUE_SOON_DAYS);
    let shared: Vec<Value> = vec![
        TaskStatus::Pending.as_str().into(),
        today.into(),
        soon.into(),
    ];
    let col = column.name();

    // $4 keyset, $5 limit.
    let sql = format!(
        "SELECT DISTINCT {col} AS assignee FROM tasks \
         WHERE {col} IS NOT NULL AND {col} > $4 AND (({}) OR ({})) \
         ORDER BY 1 LIMIT $5",
        Kind::DueSoon.due(),
        Kind::Overdue.due(),
    );
    let mut values = shared.clone();
    values.extend([after.into(), (limit as i64).into()]);
    let assignees: Vec<Uuid> = Assignee::find_by_statement(stmt(backend, &sql, values))
        .all(&txn)
        .await?
        .into_iter()
        .map(|a| a.assignee)
        .collect();
    let Some(&last) = assignees.last() else {
        txn.rollback().await?;
        return Ok(None);
    };

    // Stamp each kind; the predicate is checked again by the UPDATE itself.
    let mut reminded: Vec<(RemindedTask, bool)> = Vec::new();
    for kind in [Kind::DueSoon, Kind::Overdue] {
        let mut values = shared.clone();
        values.push(now.into());
        values.extend(assignees.iter().map(|&id| Value::from(id)));
        let sql = format!(
            "UPDATE tasks SET {stamp} = $4, updated_at = $4 \
             WHERE id IN (SELECT id FROM tasks WHERE {due} AND {col} IN ({ids}) {lock}) \
               AND {due} \
             RETURNING case_id, title, due_date, assignee_user_id, assignee_organisation_id",
            stamp = kind.column(),
            due = kind.due(),
            ids = placeholders(5, assignees.len()),
            lock = skip_locked(backend),
        );
        let tasks = RemindedTask::find_by_statement(stmt(backend, &sql, values))
            .all(&txn)
            .await?;
        match kind {
            Kind::DueSoon => report.due_soon += tasks.len() as u64,
            Kind::Overdue => report.overdue += tasks.len() as u64,
        }
        reminded.extend(tasks.into_iter().map(|t| (t, kind == Kind::Overdue)));
    }
    if reminded.is_empty() {
        // Another run stamped them first.
        txn.commit().await?;
        return Ok(Some(last));
    }

    let references = case_references(&txn, backend, &reminded).await?;
    let recipients = recipients(&txn, backend, column, &assignees).await?;

    // Each assignee's tasks, soonest first.
    let mut by_assignee: HashMap<Uuid, Vec<serde_json::Value>> = HashMap::new();
    reminded.sort_by(|(a, _), (b, _)| {
        (a.due_date, &a.title, a.case_id).cmp(&(b.due_date, &b.title, b.case_id))
    });
    for (task, overdue) in &reminded {
        let Some(assignee) = task.assignee_user_id.or(task.assignee_organisation_id) else {
            continue;
        };
        by_assignee.entry(assignee).or_default().push(json!({
            "case_reference": references.get(&task.case_id).cloned().unwrap_or_default(),
            "title": task.title,
            "due_on": task.due_date.to_string(),
            "overdue": overdue,
        }));
    }
    let emails: Vec<(Recipient, serde_json::Value)> = recipients
        .into_iter()
        .filter_map(|user| {
            let key = match column {
                AssigneeColumn::User => user.id,
                AssigneeColumn::Organisation => user.organisation_id?,
            };
            let tasks = by_assignee.get(&key)?;
            Some((
                Recipient {
                    address: user.email,
                    user_id: Some(user.id),
                },
                json!({ "first_name": user.first_name, "tasks": tasks }),
            ))
        })
        .collect();
    report.emails += emails.len() as u64;
    notifications::queue_emails(&txn, EmailTemplate::TaskReminder, emails).await?;
    txn.commit().await?;
    Ok(Some(last))
}

/// The references of the cases of `tasks` (one query).
async fn case_references(
    conn: &impl ConnectionTrait,
    backend: DbBackend,
    tasks: &[(RemindedTask, bool)],
) -> Result<HashMap<Uuid, String>, DbErr> {
    let ids: Vec<Uuid> = tasks
        .iter()
        .map(|(t, _)| t.case_id)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let sql = format!(
        "SELECT id, reference FROM cases WHERE id IN ({})",
        placeholders(1, ids.len())
    );
    let rows = CaseReference::find_by_statement(stmt(
        backend,
        &sql,
        ids.into_iter().map(Value::from).collect(),
    ))
    .all(conn)
    .await?;
    Ok(rows.into_iter().map(|r| (r.id, r.reference)).collect())
}

/// The active users to remind for `assignees` (one query), by id.
async fn recipients(
    conn: &impl ConnectionTrait,
    backend: DbBackend,
    column: AssigneeColumn,
    assignees: &[Uuid],
) -> Result<Vec<Reminded>, DbErr> {
    // $1 active, $2 the kind of user the assignee column names.
    let (kind, key) = match column {
        AssigneeColumn::User => (UserKind::Resident, "id"),
        AssigneeColumn::Organisation => (UserKind::Landlord, "organisation_id"),
    };
    let sql = format!(
        "SELECT id, email, first_name, organisation_id FROM users \
         WHERE status = $1 AND kind = $2 AND {key} IN ({}) ORDER BY id",
        placeholders(3, assignees.len())
    );
    let mut values: Vec<Value> = vec![UserStatus::Active.as_str().into(), kind.as_str().into()];
    values.extend(assignees.iter().map(|&id| Value::from(id)));
    let users = Reminded::find_by_statement(stmt(backend, &sql, values))
        .all(conn)
        .await?;
    Ok(users)
}
