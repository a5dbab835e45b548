//! `outbox_jobs`: the job ledger. A job is written here in the same
//! transaction as the change that needs it, then relayed to the queue; the row
//! remains the record of the job.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

use crate::enums::JobStatus;

/// A background job: `PENDING` (written) → `QUEUED` (relayed) → `RUNNING`
/// (leased by a worker) → `DONE`, or back to `PENDING` with a later `run_at`
/// on failure, and `DEAD` after `max_attempts`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "outbox_jobs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The job's name, e.g. `"send_email"`.
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub kind: String,
    /// The job's arguments: ids only, never the data itself.
    #[sea_orm(column_type = "JsonBinary")]
    pub payload: Json,
    pub status: JobStatus,
    /// Runs started so far.
    pub attempts: i32,
    pub max_attempts: i32,
    /// Not to run before this time (scheduling and retry backoff).
    pub run_at: DateTimeUtc,
    pub queued_at: Option<DateTimeUtc>,
    pub started_at: Option<DateTimeUtc>,
    pub finished_at: Option<DateTimeUtc>,
    /// While `RUNNING`: the worker's lease. Past it, the job is taken to have
    /// lost its worker and is run again.
    pub lease_until: Option<DateTimeUtc>,
    /// The worker holding the lease.
    pub worker_id: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub last_error: Option<String>,
    /// Jobs that must exist only once (e.g. the sweep for a given day) carry a
    /// key; unique where not null.
    pub dedupe_key: Option<String>,
    /// The W3C `traceparent` of the request or job that enqueued this one
    /// (when OpenTelemetry tracing is on): the job's span continues that trace.
    pub trace_context: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
