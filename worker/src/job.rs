//! What a background job is, for the runtime: the [`Job`] trait, its errors,
//! and the type-erased [`Handler`]s a [`Registry`] holds.
//!
//! The runtime knows no product job. A job is a small struct holding only ids,
//! with a stable [`Job::JOB_NAME`]; it is written to the outbox with
//! [`crate::outbox::enqueue`] in the transaction that made it necessary, carried
//! by the queue as its id, and run by [`crate::runner::Runner`] with the
//! context the product hands the runner ([`Job::Context`]: its database pool,
//! mailer, storage, ...). The product's jobs live beside their domain and are
//! registered in one function (`api::jobs::registry`).
//!
//! Every job must be idempotent: delivery is at-least-once, so a job may run
//! again after a crash between doing its work and recording that it did. Each
//! job reads the current state by id and does only what is still to do (an
//! email already `SENT` is not sent again).

use std::{collections::HashMap, sync::Arc, time::Duration};

use futures::future::BoxFuture;
use sea_orm::DbErr;
use serde::{Serialize, de::DeserializeOwned};

use crate::delivery::DeliveryError;

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

/// A background job.
pub trait Job: Serialize + DeserializeOwned + Send + Sync + 'static {
    /// Stable name stored in the outbox; never rename one that may be in flight.
    const JOB_NAME: &'static str;
    /// Attempts before the job is dead-lettered.
    const MAX_ATTEMPTS: i32 = 8;
    /// The longest one attempt may run. A job still running then is
    /// cancelled and counted as a failed attempt (retried with backoff, then
    /// dead-lettered): without a limit, a job hung on a socket would keep
    /// renewing its lease for ever and hold a worker slot with it. Jobs that
    /// work through a whole table or file (exports, bulk uploads, sweeps)
    /// declare more.
    const TIMEOUT: Duration = DEFAULT_TIMEOUT;
    /// What the job is given to run with (built once per worker process).
    type Context: Send + Sync + 'static;

    /// A key that makes enqueueing idempotent: a second job with the same key is
    /// not written while the first exists.
    fn dedupe_key(&self) -> Option<String> {
        None
    }

    /// Does the work. Must be idempotent.
    fn run(
        &self,
        ctx: Arc<Self::Context>,
        attempt: Attempt,
    ) -> impl Future<Output = Result<(), JobError>> + Send;
}

/// [`Job::TIMEOUT`] unless a job says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);

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
pub type Handler<C> =
    fn(serde_json::Value, Arc<C>, Attempt) -> BoxFuture<'static, Result<(), JobError>>;

/// Jobs by name, each run with a context `C`, with their time limits.
pub struct Registry<C> {
    handlers: HashMap<&'static str, (Handler<C>, Duration)>,
}

impl<C: Send + Sync + 'static> Default for Registry<C> {
    fn default() -> Self {
        Self {
            handlers: HashMap::new(),
        }
    }
}

impl<C: Send + Sync + 'static> Registry<C> {
    /// A registry with no job.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds job type `J` under its [`Job::JOB_NAME`].
    ///
    /// # Panics
    /// If another job already has that name: two jobs under one name would
    /// run each other's payloads.
    pub fn register<J: Job<Context = C>>(mut self) -> Self {
        let previous = self
            .handlers
            .insert(J::JOB_NAME, (handler::<J>, J::TIMEOUT));
        assert!(previous.is_none(), "two jobs are named {:?}", J::JOB_NAME);
        self
    }

    /// The handler of the job named `name`.
    pub fn get(&self, name: &str) -> Option<&Handler<C>> {
        self.handlers.get(name).map(|(handler, _)| handler)
    }

    /// The [`Job::TIMEOUT`] of the job named `name`.
    pub fn timeout(&self, name: &str) -> Option<Duration> {
        self.handlers.get(name).map(|(_, timeout)| *timeout)
    }

    /// The names of every registered job, sorted.
    pub fn names(&self) -> Vec<&'static str> {
        let mut names: Vec<_> = self.handlers.keys().copied().collect();
        names.sort_unstable();
        names
    }
}

/// The [`Handler`] of job type `J`.
fn handler<J: Job>(
    payload: serde_json::Value,
    ctx: Arc<J::Context>,
    attempt: Attempt,
) -> BoxFuture<'static, Result<(), JobError>> {
    Box::pin(async move {
        let job: J = serde_json::from_value(payload)
            .map_err(|e| JobError::Permanent(format!("malformed {} payload: {e}", J::JOB_NAME)))?;
        job.run(ctx, attempt).await
    })
}
