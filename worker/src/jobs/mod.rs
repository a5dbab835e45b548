//! Background jobs: one file per job, each a small struct holding only ids.
//!
//! A job is written to the outbox with [`crate::outbox::enqueue`] in the
//! transaction that made it necessary, carried by the queue as its id, and run by
//! [`crate::runner::Runner`]. Every job must be idempotent: delivery is
//! at-least-once, so a job may run again after a crash between doing its work
//! and recording that it did. Each job reads the current state by id and does
//! only what is still to do (an email already `SENT` is not sent again).
//!
//! To add a job: write `jobs/<name>.rs` with a struct implementing [`Job`], and
//! register it in [`registry`].
//!
//! Jobs whose work is the API's domain code (the payments export runs the
//! payment search's query; the bulk housing-cost update shares the money and
//! audit rules of the API) are defined in the `api` crate, which depends on
//! this one, and added with [`crate::runner::Runner::with_jobs`]: the worker
//! then runs them exactly like its own, without a second copy of that code.

use std::{collections::HashMap, sync::Arc};

use futures::future::BoxFuture;
use sea_orm::{DatabaseConnection, DbErr};
use serde::{Serialize, de::DeserializeOwned};

use crate::{
    config::Config,
    delivery::{DeliveryError, email::Mailer, sms::SmsSender},
};

pub mod expire_exports;
pub mod inactivity_sweep;
pub mod noop;
pub mod scan_document;
pub mod send_email;
pub mod send_sms;
pub mod task_reminders;

/// Why a job attempt failed, and whether trying again can help.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// Worth retrying later (a service was down, a timeout, a lock).
    #[error("{0}")]
    Retry(String),
    /// Retrying cannot help (bad data, a rejected address): dead-letter now.
    #[error("{0}")]
    Permanent(String),
}

impl JobError {
    /// Whether the job should be dead-lettered without further attempts.
    pub fn is_permanent(&self) -> bool {
        matches!(self, Self::Permanent(_))
    }
}

impl From<DbErr> for JobError {
    fn from(e: DbErr) -> Self {
        Self::Retry(format!("database: {e}"))
    }
}

impl From<DeliveryError> for JobError {
    fn from(e: DeliveryError) -> Self {
        match e {
            DeliveryError::Permanent(m) => Self::Permanent(m),
            DeliveryError::Transient(m) => Self::Retry(m),
        }
    }
}

/// What a running job can use. Built once per worker process.
pub struct JobContext {
    /// Database pool.
    pub db: DatabaseConnection,
    /// Service configuration.
    pub config: Arc<Config>,
    /// Email transport (SMTP or `.eml` files).
    pub mailer: Mailer,
    /// SMS transport (HTTP provider or log file).
    pub sms: SmsSender,
    /// Documents, exports and uploaded CSVs.
    pub storage: crate::storage::Storage,
}

/// A background job.
pub trait Job: Serialize + DeserializeOwned + Send + Sync + 'static {
    /// Stable name stored in the outbox; never rename one that may be in flight.
    const JOB_NAME: &'static str;
    /// Attempts before the job is dead-lettered.
    const MAX_ATTEMPTS: i32 = 8;

    /// A key that makes enqueueing idempotent: a second job with the same key is
    /// not written while the first exists.
    fn dedupe_key(&self) -> Option<String> {
        None
    }

    /// Does the work. Must be idempotent.
    fn run(
        &self,
        ctx: Arc<JobContext>,
        attempt: Attempt,
    ) -> impl Future<Output = Result<(), JobError>> + Send;
}

/// Which attempt of a job is running, so a job can record a final failure
/// (an email delivery marked `FAILED`) on its last try.
#[derive(Debug, Clone, Copy)]
pub struct Attempt {
    /// 1 for the first attempt.
    pub number: i32,
    /// No attempt follows this one if it fails.
    pub is_last: bool,
}

/// A type-erased job runner: deserialises the payload and runs the job.
pub type Handler =
    fn(serde_json::Value, Arc<JobContext>, Attempt) -> BoxFuture<'static, Result<(), JobError>>;

/// Jobs by name: what [`registry`] returns and [`crate::runner::Runner::with_jobs`] adds.
pub type Registry = HashMap<&'static str, Handler>;

/// The [`Handler`] of job type `J` (for registries outside this crate).
pub fn handler<J: Job>(
    payload: serde_json::Value,
    ctx: Arc<JobContext>,
    attempt: Attempt,
) -> BoxFuture<'static, Result<(), JobError>> {
    Box::pin(async move {
        let job: J = serde_json::from_value(payload)
            .map_err(|e| JobError::Permanent(format!("malformed {} payload: {e}", J::JOB_NAME)))?;
        job.run(ctx, attempt).await
    })
}

/// Every job this worker knows, by name.
pub fn registry() -> HashMap<&'static str, Handler> {
    let mut jobs: HashMap<&'static str, Handler> = HashMap::new();
    jobs.insert(noop::Noop::JOB_NAME, handler::<noop::Noop>);
    jobs.insert(
        send_email::SendEmail::JOB_NAME,
        handler::<send_email::SendEmail>,
    );
    jobs.insert(send_sms::SendSms::JOB_NAME, handler::<send_sms::SendSms>);
    jobs.insert(
        inactivity_sweep::InactivitySweep::JOB_NAME,
        handler::<inactivity_sweep::InactivitySweep>,
    );
    jobs.insert(
        task_reminders::TaskReminders::JOB_NAME,
        handler::<task_reminders::TaskReminders>,
    );
    jobs.insert(
        scan_document::ScanDocument::JOB_NAME,
        handler::<scan_document::ScanDocument>,
    );
    jobs.insert(
        expire_exports::ExpireExports::JOB_NAME,
        handler::<expire_exports::ExpireExports>,
    );
    jobs
}
