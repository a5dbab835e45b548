//! The job queue transport: apalis on Redis (production) or on the SQLite
//! database file (embedded).
//!
//! Only [`JobRef`]s (ids) travel through the queue; the outbox ledger holds the
//! job itself and decides whether a delivered id still needs running (see
//! [`crate::outbox`]). That keeps the transport replaceable and makes its
//! failure modes (duplicates, orphaned in-flight entries after a crash, a
//! flushed Redis) harmless.

use std::sync::Arc;

use apalis::prelude::*;
use apalis_redis::RedisStorage;
use apalis_sqlite::SqliteStorage;
use sea_orm::DatabaseConnection;
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use platform::config::Config;

use crate::runner::Runner;

/// What the queue carries: the id of an `outbox_jobs` row.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JobRef {
    /// Outbox job id.
    pub id: Uuid,
}

/// A connected queue.
#[derive(Clone)]
pub enum Queue {
    /// apalis-redis.
    Redis {
        /// Storage handle (clones share one connection manager).
        storage: RedisStorage<JobRef>,
        /// A plain connection for health checks.
        conn: redis::aio::ConnectionManager,
    },
    /// apalis-sqlite, in the service's own database file.
    Sqlite(SqliteStorage<JobRef>),
    /// Redis could not be reached when the process started (see
    /// [`Queue::connect_or_degraded`]): every probe tries again, every other
    /// operation fails.
    Unreachable {
        /// The Redis URL to try.
        url: secrecy::SecretString,
    },
}

/// How often an idle consumer asks the transport for work. Without it apalis
/// waits for its heartbeat (seconds) after an empty fetch.
const POLL_INTERVAL: std::time::Duration = std::time::Duration::from_millis(50);

/// Most job ids the relay leaves waiting in the transport (see [`Queue::backlog`]).
pub const MAX_BACKLOG: u64 = 2_000;

/// Queue errors, with the transport's message.
#[derive(Debug, thiserror::Error)]
#[error("job queue: {0}")]
pub struct QueueError(pub String);

impl Queue {
    /// Connects to Redis when `REDIS_URL` is set, else uses the SQLite database.
    pub async fn connect(config: &Config, db: &DatabaseConnection) -> Result<Self, QueueError> {
        match &config.redis_url {
            Some(url) => Self::connect_redis(url.expose_secret(), &config.jobs.queue_name).await,
            None => Self::sqlite(db, &config.jobs.queue_name).await,
        }
    }

    /// Like [`Queue::connect`], but a Redis that cannot be reached gives an
    /// [`Queue::Unreachable`] queue instead of an error. For the API process,
    /// which only probes the queue (requests write jobs to the outbox, and
    /// the workers' relay hands them over): a Redis outage while instances
    /// start must not stop them serving.
    pub async fn connect_or_degraded(
        config: &Config,
        db: &DatabaseConnection,
    ) -> Result<Self, QueueError> {
        match (Self::connect(config, db).await, &config.redis_url) {
            (Err(e), Some(url)) => {
                tracing::warn!(error = %e, "Redis unreachable at start-up: the queue is degraded, jobs wait in the outbox");
                Ok(Self::Unreachable { url: url.clone() })
            }
            (result, _) => result,
        }
    }

    /// Connects to Redis with a given queue name (tests use one queue per test).
    pub async fn connect_redis(url: &str, queue: &str) -> Result<Self, QueueError> {
        let conn = apalis_redis::connect(url)
            .await
            .map_err(|e| QueueError(format!("cannot connect to Redis: {e}")))?;
        let config = apalis_redis::Config::default()
            .queue(queue)
            // Results are kept in the outbox ledger; keeping them in Redis too
            // would grow its memory without bound.
            .persist_results(false)
            .heartbeat_interval(std::time::Duration::from_secs(5));
        let storage = RedisStorage::new(conn.clone()).with_config(config);
        Ok(Self::Redis { storage, conn })
    }

    /// Uses the SQLite database of `db` (embedded mode), creating apalis' tables.
    pub async fn sqlite(db: &DatabaseConnection, queue: &str) -> Result<Self, QueueError> {
        let pool = db.get_sqlite_connection_pool();
        // apalis' own `setup` also switches the connection to `synchronous = OFF`,
        // which we do not want for the application's data: run only its migrations.
        SqliteStorage::<()>::migrations()
            .run(pool)
            .await
            .map_err(|e| QueueError(format!("cannot prepare the SQLite queue: {e}")))?;
        let config = apalis_sqlite::Config::default()
            .queue(queue)
            .persist_results(false)
            .heartbeat_interval(std::time::Duration::from_secs(5));
        Ok(Self::Sqlite(SqliteStorage::new(pool).with_config(config)))
    }

    /// Pushes job ids to the queue.
    pub async fn push(&self, ids: &[Uuid]) -> Result<(), QueueError> {
        if ids.is_empty() {
            return Ok(());
        }
        let refs: Vec<JobRef> = ids.iter().map(|&id| JobRef { id }).collect();
        match self {
            Self::Redis { storage, .. } => storage
                .clone()
                .push_bulk(refs)
                .await
                .map_err(|e| QueueError(e.to_string())),
            Self::Sqlite(storage) => storage
                .clone()
                .push_bulk(refs)
                .await
                .map_err(|e| QueueError(e.to_string())),
            Self::Unreachable { .. } => Err(unreachable()),
        }
    }

    /// Deletes the transport's records of tasks finished more than `age` ago.
    /// apalis keeps per-task metadata after completion even without stored
    /// results; the ledger is the record we keep, so this only bounds memory.
    pub async fn vacuum(&self, age: std::time::Duration) -> Result<usize, QueueError> {
        use apalis_core::backend::Vacuum;
        match self {
            Self::Redis { storage, .. } => storage
                .clone()
                .vacuum_before(age)
                .await
                .map_err(|e| QueueError(e.to_string())),
            Self::Sqlite(storage) => storage
                .clone()
                .vacuum_before(age)
                .await
                .map_err(|e| QueueError(e.to_string())),
            Self::Unreachable { .. } => Err(unreachable()),
        }
    }

    /// Jobs handed to the transport and not yet taken by a worker. The relay
    /// keeps this bounded: the outbox is the durable buffer, and apalis-redis
    /// moves every due entry in one Lua `unpack`, which fails beyond ~8,000
    /// entries and would stop every consumer of the queue.
    pub async fn backlog(&self) -> Result<u64, QueueError> {
        match self {
            Self::Redis { storage, conn } => {
                let config = storage.get_config();
                let mut conn = conn.clone();
                let (scheduled, active): (u64, u64) = redis::pipe()
                    .cmd("ZCARD")
                    .arg(config.scheduled_jobs_set())
                    .cmd("LLEN")
                    .arg(config.active_jobs_list())
                    .query_async(&mut conn)
                    .await
                    .map_err(|e| QueueError(e.to_string()))?;
                Ok(scheduled + active)
            }
            // The SQLite queue fetches with SQL and has no such limit.
            Self::Sqlite(_) => Ok(0),
            Self::Unreachable { .. } => Err(unreachable()),
        }
    }

    /// Whether the queue answers (for `/readyz`).
    pub async fn ping(&self) -> Result<(), QueueError> {
        match self {
            Self::Redis { conn, .. } => {
                let mut conn = conn.clone();
                redis::cmd("PING")
                    .query_async::<String>(&mut conn)
                    .await
                    .map(|_| ())
                    .map_err(|e| QueueError(e.to_string()))
            }
            Self::Sqlite(storage) => sea_orm::sqlx::query("SELECT 1")
                .execute(storage.pool())
                .await
                .map(|_| ())
                .map_err(|e| QueueError(e.to_string())),
            // A fresh connection each time (probes are cached for a second):
            // the answer turns `ok` as soon as Redis is back.
            Self::Unreachable { url } => {
                let client = redis::Client::open(url.expose_secret())
                    .map_err(|e| QueueError(e.to_string()))?;
                let mut conn = client
                    .get_multiplexed_async_connection()
                    .await
                    .map_err(|e| QueueError(e.to_string()))?;
                redis::cmd("PING")
                    .query_async::<String>(&mut conn)
                    .await
                    .map(|_| ())
                    .map_err(|e| QueueError(e.to_string()))
            }
        }
    }

    /// Consumes the queue until `shutdown` resolves, running each job through
    /// `runner`. In-flight jobs are allowed to finish; any that do not are
    /// recovered by the ledger's lease expiry.
    pub async fn consume<C: Send + Sync + 'static>(
        self,
        runner: Arc<Runner<C>>,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), QueueError> {
        let worker_id = runner.worker_id().to_owned();
        let concurrency = runner.concurrency();
        let signal = async move {
            shutdown.await;
            Ok::<(), std::io::Error>(())
        };
        let result = match self {
            Self::Redis { storage, .. } => {
                // Fetch as many ids per round trip as jobs can run at once
                // (apalis' default is 10): each fetch is one Lua script, and
                // with 10 a busy worker spent its time asking for work.
                let config = storage.get_config().clone().batch_size(concurrency.max(10));
                let storage = storage.with_config(config);
                WorkerBuilder::new(worker_id)
                    .backend(storage.poll_with_interval(POLL_INTERVAL))
                    .data(runner)
                    .concurrency(concurrency)
                    .build(handle::<C>)
                    .run_until(signal)
                    .await
            }
            Self::Sqlite(storage) => {
                WorkerBuilder::new(worker_id)
                    .backend(storage.poll_with_interval(POLL_INTERVAL))
                    .data(runner)
                    .concurrency(concurrency)
                    .build(handle::<C>)
                    .run_until(signal)
                    .await
            }
            Self::Unreachable { .. } => return Err(unreachable()),
        };
        result.map_err(|e| QueueError(format!("worker stopped: {e}")))
    }
}

fn unreachable() -> QueueError {
    QueueError("Redis was unreachable when this process started".into())
}

/// The apalis task function: hands the id to the runner. Errors here mean the
/// ledger could not be reached; the ledger's own recovery picks the job up later.
async fn handle<C: Send + Sync + 'static>(
    job: JobRef,
    runner: Data<Arc<Runner<C>>>,
) -> Result<(), BoxDynError> {
    runner.execute(job.id).await?;
    Ok(())
}
