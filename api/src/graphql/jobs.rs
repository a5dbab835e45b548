//! Background jobs for operators: list them (the dead-letter queue is
//! `jobs(status: DEAD)`), read one, and retry a dead one.

use async_graphql::{
    Context, Enum, ID, Object, SimpleObject,
    connection::{Connection, EmptyFields},
};
use chrono::{DateTime, Utc};

use entities::outbox_job;

use super::{
    ContextExt,
    pagination::{decode_cursor, keyset_connection, page_size},
    scalars::{NodeKind, global_id, parse_id},
};
use crate::{jobs::ledger, policy};

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
    #[graphql(owned)]
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
            id: global_id(NodeKind::Job, m.id),
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
    #[graphql(complexity = "super::pagination::connection_cost(first, child_complexity)")]
    async fn jobs(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only jobs in this state (default: every state).")] status: Option<
            JobStatus,
        >,
        #[graphql(desc = "How many to return: 1 to 100 (default 20).")] first: Option<i32>,
        #[graphql(desc = "The `endCursor` of the previous page: the page starts after it.")] after: Option<String>,
    ) -> async_graphql::Result<Connection<String, Job, EmptyFields, EmptyFields>> {
        let operator = policy::jobs::can_operate(&ctx.caller())?;
        let limit = page_size(first)?;
        let after = after.as_deref().map(decode_cursor).transpose()?;
        let status = status.map(entities::JobStatus::from);
        let (rows, has_next) = ledger::list(ctx.app(), &operator, status, after, limit).await?;
        Ok(keyset_connection(
            rows,
            false,
            has_next,
            |m| m.id,
            Job::from,
        ))
    }

    /// One job. Service administrators only.
    pub async fn job(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The job.")] id: ID,
    ) -> async_graphql::Result<Job> {
        let operator = policy::jobs::can_operate(&ctx.caller())?;
        let id = parse_id(&id, NodeKind::Job)?;
        Ok(ledger::get(ctx.app(), &operator, id).await?.into())
    }

    /// How many jobs are in each status. Service administrators only.
    async fn job_counts(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<JobCount>> {
        let operator = policy::jobs::can_operate(&ctx.caller())?;
        let counts = ledger::counts(ctx.app(), &operator).await?;
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
    async fn retry_job(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The job, one of `jobs(status: DEAD)`.")] id: ID,
    ) -> async_graphql::Result<Job> {
        let operator = policy::jobs::can_operate(&ctx.caller())?;
        let id = parse_id(&id, NodeKind::Job)?;
        Ok(ledger::retry(ctx.app(), &operator, id).await?.into())
    }
}
