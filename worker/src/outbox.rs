//! The transactional outbox, which is also the job ledger.
//!
//! A change that needs background work calls [`enqueue`] with the same
//! transaction that makes the change, so the job exists exactly when the change
//! committed: never lost when the write commits, never run for a write that
//! rolled back. Each `outbox_jobs` row then moves through these states:
//!
//! ```text
//!  PENDING ──relay──▶ QUEUED ──worker claims──▶ RUNNING ──▶ DONE ──retention──▶ deleted
//!     ▲                  │                         │
//!     │   not started in │ requeue_after           ├─ error, attempts left: PENDING at now + backoff
//!     └──────────────────┘                         ├─ error, none left / permanent: DEAD
//!     ▲                                            │
//!     └────────── lease expired (worker died) ─────┘
//! ```
//!
//! A running attempt also fails when it outlives its kind's time limit
//! (`Job::TIMEOUT`). `DONE` rows are history: [`prune_done`] deletes them
//! after the retention period (`PORTAL_JOB_RETENTION_DAYS`); `DEAD` rows stay
//! until an operator retries them.
//!
//! The queue (Redis or SQLite, through apalis) only carries job ids; the ledger
//! decides what runs. A worker must *claim* a row (a conditional `UPDATE`)
//! before running it, so a job delivered twice by the queue runs once, and a
//! job whose queue message was lost (a Redis flush, a crash between relay and
//! push, apalis-redis orphans) is handed over again by [`requeue_stale`] and
//! [`reap_expired_leases`]. That is what makes delivery at-least-once and the
//! effect exactly-once per successful attempt, whatever the transport does.
//!
//! All transitions are single statements, written in SQL that PostgreSQL and
//! SQLite both accept, so two relays or two workers can run them concurrently.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, FromQueryResult, QueryFilter,
    QueryOrder, QuerySelect, Set, Statement, Value, sea_query::OnConflict,
};
use uuid::Uuid;

use entities::{JobStatus, outbox_job};

use crate::job::Job;

/// Writes a job into the outbox, in the caller's transaction.
///
/// Returns the job id, or `None` when the job has a dedupe key and an
/// identical job already exists (for example the daily sweep enqueued twice).
///
/// The current span's W3C `traceparent`, when tracing is on, is stored with
/// the job, whose span then continues that trace ([`crate::trace_context`]).
pub async fn enqueue<J: Job>(conn: &impl ConnectionTrait, job: &J) -> Result<Option<Uuid>, DbErr> {
    enqueue_at(conn, job, Utc::now()).await
}

/// Like [`enqueue`], but the job is not due before `run_at`.
pub async fn enqueue_at<J: Job>(
    conn: &impl ConnectionTrait,
    job: &J,
    run_at: DateTime<Utc>,
) -> Result<Option<Uuid>, DbErr> {
    let payload = serde_json::to_value(job)
        .map_err(|e| DbErr::Custom(format!("cannot serialize job {}: {e}", J::JOB_NAME)))?;
    let now = Utc::now();
    let id = Uuid::now_v7();
    let row = outbox_job::ActiveModel {
        id: Set(id),
        kind: Set(J::JOB_NAME.to_owned()),
        payload: Set(payload),
        status: Set(JobStatus::Pending),
        attempts: Set(0),
        max_attempts: Set(J::MAX_ATTEMPTS),
        run_at: Set(run_at),
        queued_at: Set(None),
        started_at: Set(None),
        finished_at: Set(None),
        lease_until: Set(None),
        worker_id: Set(None),
        last_error: Set(None),
        dedupe_key: Set(job.dedupe_key()),
        trace_context: Set(crate::trace_context::current()),
        created_at: Set(now),
        updated_at: Set(now),
    };
    if row.dedupe_key.as_ref().is_some() {
        // `ON CONFLICT DO NOTHING` with no target covers the partial unique index
        // on dedupe_key on both backends.
        let inserted = outbox_job::Entity::insert(row)
            .on_conflict(OnConflict::new().do_nothing().to_owned())
            .try_insert()
            .exec(conn)
            .await?;
        return Ok(matches!(inserted, sea_orm::TryInsertResult::Inserted(_)).then_some(id));
    }
    row.insert(conn).await?;
    Ok(Some(id))
}

/// Builds a statement with `$n` placeholders; SQLite gets `?n`, its spelling of
/// the same numbered parameter, so one value can be used twice in either dialect.
pub fn stmt(backend: DbBackend, sql: &str, values: Vec<Value>) -> Statement {
    let sql = if backend == DbBackend::Sqlite {
        sql.replace('$', "?")
    } else {
        sql.to_owned()
    };
    Statement::from_sql_and_values(backend, sql, values)
}

/// Inserts many rows with multi-row `INSERT ... VALUES` statements, for work
/// done in bulk (the 90-day sweep) where a statement per row would be the cost.
///
/// `row` gives each column's SQL for every row: a literal (`'PENDING'`, `0`,
/// `NULL`), a placeholder `$1` to `$k` for the `shared` values (the same in
/// every row, such as the current time), or `$` for the row's next own value
/// from `rows`. Rows are sent in chunks of at most 1,000, and under SQLite's
/// 32,766-parameter limit (PostgreSQL allows 65,535).
pub async fn insert_rows(
    conn: &impl ConnectionTrait,
    table: &str,
    columns: &[&str],
    row: &[&str],
    shared: Vec<Value>,
    rows: Vec<Vec<Value>>,
) -> Result<(), DbErr> {
    let backend = conn.get_database_backend();
    let own_per_row = row.iter().filter(|e| **e == "$").count().max(1);
    let chunk_len = (30_000 / own_per_row).clamp(1, 1000);
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let mut values = shared.clone();
        let mut tuples = Vec::with_capacity(chunk_len);
        for own in rows.by_ref().take(chunk_len) {
            let mut own = own.into_iter();
            let mut tuple = Vec::with_capacity(row.len());
            for expr in row {
                if *expr == "$" {
                    values.extend(own.next());
                    tuple.push(format!("${}", values.len()));
                } else {
                    tuple.push((*expr).to_owned());
                }
            }
            tuples.push(format!("({})", tuple.join(", ")));
        }
        let sql = format!(
            "INSERT INTO {table} ({}) VALUES {}",
            columns.join(", "),
            tuples.join(", ")
        );
        conn.execute_raw(stmt(backend, &sql, values)).await?;
    }
    Ok(())
}

/// Writes many jobs of one kind into the outbox, in the caller's transaction:
/// the bulk form of [`enqueue`] (same columns and values), for jobs without a
/// dedupe key. Returns their ids, in order.
pub async fn enqueue_many<J: Job>(
    conn: &impl ConnectionTrait,
    jobs: &[J],
) -> Result<Vec<Uuid>, DbErr> {
    let now = Utc::now();
    let mut ids = Vec::with_capacity(jobs.len());
    let mut rows = Vec::with_capacity(jobs.len());
    for job in jobs {
        debug_assert!(
            job.dedupe_key().is_none(),
            "enqueue_many: use enqueue for deduplicated jobs"
        );
        let payload = serde_json::to_value(job)
            .map_err(|e| DbErr::Custom(format!("cannot serialize job {}: {e}", J::JOB_NAME)))?;
        let id = Uuid::now_v7();
        ids.push(id);
        rows.push(vec![id.into(), payload.into()]);
    }
    insert_rows(
        conn,
        "outbox_jobs",
        &[
            "id",
            "kind",
            "payload",
            "status",
            "attempts",
            "max_attempts",
            "run_at",
            "created_at",
            "updated_at",
            "trace_context",
        ],
        &["$", "$1", "$", "$2", "0", "$3", "$4", "$4", "$4", "$5"],
        vec![
            J::JOB_NAME.into(),
            status(JobStatus::Pending),
            J::MAX_ATTEMPTS.into(),
            now.into(),
            crate::trace_context::current().into(),
        ],
        rows,
    )
    .await?;
    Ok(ids)
}

fn status(s: JobStatus) -> Value {
    Value::from(s.as_str())
}

#[derive(Debug, FromQueryResult)]
struct IdRow {
    id: Uuid,
}

/// Moves up to `limit` due `PENDING` jobs to `QUEUED` and returns their ids,
/// which the caller then pushes to the queue.
///
/// On PostgreSQL `FOR UPDATE SKIP LOCKED` lets several relays run at once
/// without handing out the same row twice; SQLite serialises writers anyway.
pub async fn take_due(conn: &impl ConnectionTrait, limit: u64) -> Result<Vec<Uuid>, DbErr> {
    let backend = conn.get_database_backend();
    let lock = if backend == DbBackend::Postgres {
        "FOR UPDATE SKIP LOCKED"
    } else {
        ""
    };
    let now = Utc::now();
    let sql = format!(
        "UPDATE outbox_jobs SET status = $1, queued_at = $2, updated_at = $2 \
         WHERE id IN (SELECT id FROM outbox_jobs WHERE status = $3 AND run_at <= $2 \
                      ORDER BY run_at LIMIT $4 {lock}) \
         RETURNING id"
    );
    let rows = IdRow::find_by_statement(stmt(
        backend,
        &sql,
        vec![
            status(JobStatus::Queued),
            now.into(),
            status(JobStatus::Pending),
            (limit as i64).into(),
        ],
    ))
    .all(conn)
    .await?;
    Ok(rows.into_iter().map(|r| r.id).collect())
}

/// Puts jobs that could not be pushed to the queue back to `PENDING`.
pub async fn release(conn: &impl ConnectionTrait, ids: &[Uuid]) -> Result<(), DbErr> {
    if ids.is_empty() {
        return Ok(());
    }
    outbox_job::Entity::update_many()
        .col_expr(
            outbox_job::Column::Status,
            sea_orm::sea_query::Expr::value(status(JobStatus::Pending)),
        )
        .col_expr(
            outbox_job::Column::QueuedAt,
            sea_orm::sea_query::Expr::value(Option::<DateTime<Utc>>::None),
        )
        .filter(sea_orm::ColumnTrait::is_in(
            &outbox_job::Column::Id,
            ids.iter().copied(),
        ))
        .filter(sea_orm::ColumnTrait::eq(
            &outbox_job::Column::Status,
            JobStatus::Queued,
        ))
        .exec(conn)
        .await?;
    Ok(())
}

/// Hands over again jobs that were queued but not started within `older_than`
/// (their queue message was lost). Returns how many.
pub async fn requeue_stale(
    conn: &impl ConnectionTrait,
    older_than: chrono::Duration,
) -> Result<u64, DbErr> {
    let backend = conn.get_database_backend();
    let now = Utc::now();
    let res = conn
        .execute_raw(stmt(
            backend,
            "UPDATE outbox_jobs SET status = $1, run_at = $2, queued_at = NULL, updated_at = $2 \
             WHERE status = $3 AND queued_at < $4",
            vec![
                status(JobStatus::Pending),
                now.into(),
                status(JobStatus::Queued),
                (now - older_than).into(),
            ],
        ))
        .await?;
    Ok(res.rows_affected())
}

/// Recovers jobs whose worker stopped heart-beating (it crashed or was killed):
/// back to `PENDING` when attempts remain, else `DEAD`. Returns how many.
pub async fn reap_expired_leases(conn: &impl ConnectionTrait) -> Result<u64, DbErr> {
    let backend = conn.get_database_backend();
    let now = Utc::now();
    let dead = conn
        .execute_raw(stmt(
            backend,
            "UPDATE outbox_jobs SET status = $1, finished_at = $2, updated_at = $2, \
                 last_error = 'lease expired: worker ' || COALESCE(worker_id, '?') || ' stopped during the last attempt' \
             WHERE status = $3 AND lease_until < $2 AND attempts >= max_attempts",
            vec![status(JobStatus::Dead), now.into(), status(JobStatus::Running)],
        ))
        .await?;
    let retried = conn
        .execute_raw(stmt(
            backend,
            "UPDATE outbox_jobs SET status = $1, run_at = $2, updated_at = $2, lease_until = NULL, \
                 last_error = 'lease expired: worker ' || COALESCE(worker_id, '?') || ' stopped during the last attempt' \
             WHERE status = $3 AND lease_until < $2",
            vec![status(JobStatus::Pending), now.into(), status(JobStatus::Running)],
        ))
        .await?;
    Ok(dead.rows_affected() + retried.rows_affected())
}

/// Claims a job for this worker: only a `QUEUED` job, or a `PENDING` one that is
/// due, can be claimed, and only once. Returns the row if this worker won it.
pub async fn claim(
    conn: &impl ConnectionTrait,
    id: Uuid,
    worker_id: &str,
    lease: chrono::Duration,
) -> Result<Option<outbox_job::Model>, DbErr> {
    Ok(claim_many(conn, &[id], worker_id, lease).await?.pop())
}

/// Most ids in one batched ledger statement ([`claim_many`],
/// [`complete_many`]): far under both backends' parameter limits.
pub const MAX_BATCH: usize = 500;

/// The bulk form of [`claim`]: one conditional `UPDATE ... WHERE id IN (...)`
/// for many jobs (each row's condition is the same as [`claim`]'s, so a job
/// is still claimed once whoever else asks for it). Returns the rows this
/// worker won, in no particular order; ids not returned were not claimable.
pub async fn claim_many(
    conn: &impl ConnectionTrait,
    ids: &[Uuid],
    worker_id: &str,
    lease: chrono::Duration,
) -> Result<Vec<outbox_job::Model>, DbErr> {
    let backend = conn.get_database_backend();
    let now = Utc::now();
    // RETURNING saves a round trip per job (both backends support it). The
    // columns are named, not `*`: a `*` is expanded when the statement is
    // prepared, so after a migration adds a column a pooled SQLite connection
    // holding the old schema returns one column more than it prepared (sqlx
    // panics decoding the row), and a cached PostgreSQL plan fails with
    // "cached plan must not change result type" in a process still running
    // through a rolling deploy. A named column makes SQLite reload the schema.
    let columns = {
        use sea_orm::{IdenStatic as _, Iterable as _};
        outbox_job::Column::iter()
            .map(|c| c.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut claimed = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(MAX_BATCH) {
        let mut values: Vec<Value> = vec![
            status(JobStatus::Running),
            worker_id.into(),
            now.into(),
            (now + lease).into(),
            status(JobStatus::Queued),
            status(JobStatus::Pending),
        ];
        let first = values.len() + 1;
        values.extend(chunk.iter().map(|&id| Value::from(id)));
        let sql = format!(
            "UPDATE outbox_jobs SET status = $1, attempts = attempts + 1, worker_id = $2, \
                 started_at = $3, lease_until = $4, updated_at = $3 \
             WHERE id IN ({}) AND (status = $5 OR (status = $6 AND run_at <= $3)) \
             RETURNING {columns}",
            placeholders(first, chunk.len())
        );
        claimed.extend(
            outbox_job::Model::find_by_statement(stmt(backend, &sql, values))
                .all(conn)
                .await?,
        );
    }
    Ok(claimed)
}

/// `$first, $first+1, ...`, `count` of them.
fn placeholders(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Extends the lease of a running job (called periodically while it runs).
pub async fn heartbeat(
    conn: &impl ConnectionTrait,
    id: Uuid,
    worker_id: &str,
    lease: chrono::Duration,
) -> Result<bool, DbErr> {
    let backend = conn.get_database_backend();
    let now = Utc::now();
    let res = conn
        .execute_raw(stmt(
            backend,
            "UPDATE outbox_jobs SET lease_until = $1 WHERE id = $2 AND status = $3 AND worker_id = $4",
            vec![(now + lease).into(), id.into(), status(JobStatus::Running), worker_id.into()],
        ))
        .await?;
    Ok(res.rows_affected() == 1)
}

/// Records success.
pub async fn complete(
    conn: &impl ConnectionTrait,
    id: Uuid,
    worker_id: &str,
) -> Result<bool, DbErr> {
    Ok(complete_many(conn, &[id], worker_id).await? == 1)
}

/// The bulk form of [`complete`]: records the success of many jobs this
/// worker ran, in one statement per [`MAX_BATCH`] ids. Each row changes only
/// while it is still `RUNNING` for this worker, as in [`complete`]. Returns
/// how many rows changed.
pub async fn complete_many(
    conn: &impl ConnectionTrait,
    ids: &[Uuid],
    worker_id: &str,
) -> Result<u64, DbErr> {
    let backend = conn.get_database_backend();
    let now = Utc::now();
    let mut done = 0;
    for chunk in ids.chunks(MAX_BATCH) {
        let mut values: Vec<Value> = vec![
            status(JobStatus::Done),
            now.into(),
            status(JobStatus::Running),
            worker_id.into(),
        ];
        let first = values.len() + 1;
        values.extend(chunk.iter().map(|&id| Value::from(id)));
        let sql = format!(
            "UPDATE outbox_jobs SET status = $1, finished_at = $2, updated_at = $2, lease_until = NULL, last_error = NULL \
             WHERE id IN ({}) AND status = $3 AND worker_id = $4",
            placeholders(first, chunk.len())
        );
        done += conn
            .execute_raw(stmt(backend, &sql, values))
            .await?
            .rows_affected();
    }
    Ok(done)
}

/// What became of a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureOutcome {
    /// Will run again at the given time.
    Retrying(DateTime<Utc>),
    /// No attempts left, or the error was permanent.
    Dead,
}

/// Records a failed attempt: retried at `retry_at` while attempts remain and the
/// error is not permanent, otherwise dead-lettered.
pub async fn fail(
    conn: &impl ConnectionTrait,
    job: &outbox_job::Model,
    worker_id: &str,
    error: &str,
    permanent: bool,
    retry_at: DateTime<Utc>,
) -> Result<FailureOutcome, DbErr> {
    let backend = conn.get_database_backend();
    let now = Utc::now();
    let error: String = error.chars().take(2000).collect();
    let outcome = if permanent || job.attempts >= job.max_attempts {
        FailureOutcome::Dead
    } else {
        FailureOutcome::Retrying(retry_at)
    };
    let (next, run_at, finished) = match outcome {
        FailureOutcome::Dead => (JobStatus::Dead, job.run_at, Some(now)),
        FailureOutcome::Retrying(at) => (JobStatus::Pending, at, None),
    };
    conn.execute_raw(stmt(
        backend,
        "UPDATE outbox_jobs SET status = $1, run_at = $2, finished_at = $3, last_error = $4, \
             lease_until = NULL, queued_at = NULL, updated_at = $5 \
         WHERE id = $6 AND status = $7 AND worker_id = $8",
        vec![
            status(next),
            run_at.into(),
            finished.into(),
            error.into(),
            now.into(),
            job.id.into(),
            status(JobStatus::Running),
            worker_id.into(),
        ],
    ))
    .await?;
    Ok(outcome)
}

/// Puts a dead job back in line with a fresh set of attempts (operator action).
/// Returns false when the job is not dead (or does not exist).
pub async fn retry_dead(conn: &impl ConnectionTrait, id: Uuid) -> Result<bool, DbErr> {
    let backend = conn.get_database_backend();
    let now = Utc::now();
    let res = conn
        .execute_raw(stmt(
            backend,
            "UPDATE outbox_jobs SET status = $1, attempts = 0, run_at = $2, finished_at = NULL, \
                 worker_id = NULL, updated_at = $2 \
             WHERE id = $3 AND status = $4",
            vec![
                status(JobStatus::Pending),
                now.into(),
                id.into(),
                status(JobStatus::Dead),
            ],
        ))
        .await?;
    Ok(res.rows_affected() == 1)
}

/// Due jobs not yet handed to a worker: for tests that run jobs inline.
pub async fn due_ids(conn: &impl ConnectionTrait, limit: u64) -> Result<Vec<Uuid>, DbErr> {
    outbox_job::Entity::find()
        .select_only()
        .column(outbox_job::Column::Id)
        .filter(sea_orm::ColumnTrait::is_in(
            &outbox_job::Column::Status,
            [JobStatus::Pending, JobStatus::Queued],
        ))
        .filter(sea_orm::ColumnTrait::lte(
            &outbox_job::Column::RunAt,
            Utc::now(),
        ))
        .order_by_asc(outbox_job::Column::RunAt)
        .limit(limit)
        .into_tuple::<Uuid>()
        .all(conn)
        .await
}

/// Deletes `DONE` jobs that finished before `finished_before`, `batch` rows
/// per statement until none is left; returns how many. Dead jobs are kept
/// (an operator retries or reads them), and so is everything unfinished.
/// Each statement picks its rows through `ix_outbox_jobs_status_finished_at`.
pub async fn prune_done(
    conn: &impl ConnectionTrait,
    finished_before: DateTime<Utc>,
    batch: u64,
) -> Result<u64, DbErr> {
    let backend = conn.get_database_backend();
    let mut total = 0;
    loop {
        let res = conn
            .execute_raw(stmt(
                backend,
                "DELETE FROM outbox_jobs WHERE id IN (\
                     SELECT id FROM outbox_jobs WHERE status = $1 AND finished_at < $2 LIMIT $3)",
                vec![
                    status(JobStatus::Done),
                    finished_before.into(),
                    (batch as i64).into(),
                ],
            ))
            .await?;
        total += res.rows_affected();
        if res.rows_affected() < batch {
            return Ok(total);
        }
    }
}

/// Counts of unfinished and dead jobs by status (everything but `DONE`),
/// for the `portal_jobs` gauge: bounded by the work in flight and the dead
/// letters, not by the history, so a scrape stays cheap however long the
/// service has run.
pub async fn open_counts(conn: &impl ConnectionTrait) -> Result<Vec<(JobStatus, i64)>, DbErr> {
    outbox_job::Entity::find()
        .select_only()
        .column(outbox_job::Column::Status)
        .column_as(
            sea_orm::sea_query::Expr::from(sea_orm::sea_query::Func::count(
                sea_orm::sea_query::Expr::col(outbox_job::Column::Id),
            )),
            "n",
        )
        // `IN` the open statuses rather than `<> 'DONE'`: each is a seek on
        // `ix_outbox_jobs_status_run_at`, never a pass over finished jobs.
        .filter(sea_orm::ColumnTrait::is_in(
            &outbox_job::Column::Status,
            [
                JobStatus::Pending,
                JobStatus::Queued,
                JobStatus::Running,
                JobStatus::Dead,
            ],
        ))
        .group_by(outbox_job::Column::Status)
        .into_tuple::<(JobStatus, i64)>()
        .all(conn)
        .await
}

/// Counts of jobs by status, for the operator API.
pub async fn counts(conn: &impl ConnectionTrait) -> Result<Vec<(JobStatus, i64)>, DbErr> {
    outbox_job::Entity::find()
        .select_only()
        .column(outbox_job::Column::Status)
        .column_as(
            sea_orm::sea_query::Expr::from(sea_orm::sea_query::Func::count(
                sea_orm::sea_query::Expr::col(outbox_job::Column::Id),
            )),
            "n",
        )
        .group_by(outbox_job::Column::Status)
        .into_tuple::<(JobStatus, i64)>()
        .all(conn)
        .await
}
