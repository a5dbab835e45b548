//! Background jobs for operators: list them (the dead-letter queue is
//! `jobs(status: DEAD)`), read one, and retry a dead one.

use async_graphql::{
    Context, Enum, ID, Object, SimpleObject,
    connection::{Connection, Edge, EmptyFields},
};
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use entities::outbox_job;

use super::{ContextExt, pagination::{decode_cursor, encode_cursor, page_size}, scalars::parse_id};
use crate::{error::ApiError, policy};

/// Where a job is in its life.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "entities::JobStatus")]
pub enum JobStatus {
    /// Waiting to be handed to the queue (new, or waiting for a retry).
    Pending,
    /// In the queue, not started.
    Queued,
    /// Running on a worker.
    Running,
    /// Finished successfully.
    Done,
    /// Failed for good (dead-lettered); can be retried by an operator.
    Dead,
}

/// A background job (its record in the outbox ledger).
#[derive(SimpleObject)]
pub struct Job {
    /// Job id.
    pub id: ID,
    /// Job type, e.g. `send_email`.
    pub kind: String,
    /// Where it is.
    pub status: JobStatus,
    /// Ids the job works on (jobs carry ids, never data).
    pub payload: async_graphql::Json<serde_json::Value>,
    /// Attempts made so far.
    pub attempts: i32,
    /// Attempts allowed before dead-lettering.
    pub max_attempts: i32,
    /// When it is (or was) due.
    pub run_at: DateTime<Utc>,
    /// Error of the last failed attempt.
    pub last_error: Option<String>,
    /// Worker that ran (or runs) it.
    pub worker_id: Option<String>,
    /// When it was written to the outbox.
    pub created_at: DateTime<Utc>,
    /// When it finished (done or dead).
    pub finished_at: Option<DateTime<Utc>>,
}

impl From<outbox_job::Model> for Job {
    fn from(m: outbox_job::Model) -> Self {
        Self {
            id: ID(m.id.to_string()),
            kind: m.kind,
            status: m.status.into(),
            payload: async_graphql::Json(m.payload),
            attempts: m.attempts,
            max_attempts: m.max_attempts,
            run_at: m.run_at,
            last_error: m.last_error,
            worker_id: m.worker_id,
            created_at: m.created_at,
            finished_at: m.finished_at,
        }
    }
}

/// Number of jobs in one status.
#[derive(SimpleObject)]
pub struct JobCount {
    /// The status.
    pub status: JobStatus,
    /// How many jobs are in it.
    pub count: i64,
}

/// Job queries.
#[derive(Default)]
pub struct JobsQuery;

#[Object]
impl JobsQuery {
    /// Jobs, newest first, optionally of one status (`DEAD` lists the
    /// dead-letter queue). Service administrators only.
    async fn jobs(
        &self,
        ctx: &Context<'_>,
        status: Option<JobStatus>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, Job, EmptyFields, EmptyFields>> {
        policy::jobs::can_operate(ctx.viewer())?;
        let limit = page_size(first)?;
        let mut query = outbox_job::Entity::find().order_by_desc(outbox_job::Column::Id);
        if let Some(status) = status {
            query = query.filter(outbox_job::Column::Status.eq(entities::JobStatus::from(status)));
        }
        if let Some(after) = after {
            query = query.filter(outbox_job::Column::Id.lt(decode_cursor(&after)?));
        }
        let mut rows = query
            .limit(limit + 1)
            .all(&ctx.app().db)
            .await
            .map_err(ApiError::from)?;
        let has_next = rows.len() as u64 > limit;
        rows.truncate(limit as usize);
        let mut connection = Connection::new(false, has_next);
        connection.edges.extend(
            rows.into_iter()
                .map(|m| Edge::new(encode_cursor(m.id), Job::from(m))),
        );
        Ok(connection)
    }

    /// One job. Service administrators only.
    async fn job(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Job> {
        policy::jobs::can_operate(ctx.viewer())?;
        let id = parse_id(&id, "Job")?;
        let job = outbox_job::Entity::find_by_id(id)
            .one(&ctx.app().db)
            .await
            .map_err(ApiError::from)?
            .ok_or(ApiError::NotFound("Job"))?;
        Ok(job.into())
    }

    /// How many jobs are in each status. Service administrators only.
    async fn job_counts(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<JobCount>> {
        policy::jobs::can_operate(ctx.viewer())?;
        let counts = worker::outbox::counts(&ctx.app().db)
            .await
            .map_err(ApiError::from)?;
        Ok(counts
            .into_iter()
            .map(|(status, count)| JobCount {
                status: status.into(),
                count,
            })
            .collect())
    }
}

/// Job mutations.
#[derive(Default)]
pub struct JobsMutation;

#[Object]
impl JobsMutation {
    /// Puts a dead job back in line with a fresh set of attempts. Only dead
    /// jobs can be retried (`CONFLICT` otherwise). Service administrators only.
    async fn retry_job(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Job> {
        policy::jobs::can_operate(ctx.viewer())?;
        let id = parse_id(&id, "Job")?;
        let db = &ctx.app().db;
        if !worker::outbox::retry_dead(db, id)
            .await
            .map_err(ApiError::from)?
        {
            return Err(match outbox_job::Entity::find_by_id(id)
                .one(db)
                .await
                .map_err(ApiError::from)?
            {
                None => ApiError::NotFound("Job"),
                Some(_) => ApiError::Conflict("Only a dead job can be retried.".into()),
            }
            .into());
        }
        tracing::info!(job = %id, "dead job retried by an operator");
        let job = outbox_job::Entity::find_by_id(id)
            .one(db)
            .await
            .map_err(ApiError::from)?
            .ok_or(ApiError::NotFound("Job"))?;
        Ok(job.into())
    }
}
