//! Runs jobs: claims a job from the ledger, runs its handler with a heartbeat,
//! and records the outcome; plus the relay that feeds the queue from the outbox.
//!
//! The same [`Runner::execute`] is called by the apalis worker in production
//! and by [`Runner::run_pending`] in tests, so tests exercise the real job code
//! and ledger transitions and differ only in transport.

use std::{future::Future, pin::Pin, sync::Arc, time::Duration};

use chrono::Utc;
use entities::outbox_job;
use platform::config::JobConfig;
use rand::Rng;
use sea_orm::{DatabaseConnection, DbErr};
use tracing::Instrument as _;
use uuid::Uuid;

use crate::{
    batch::Batcher,
    job::{Attempt, JobError, Registry},
    outbox::{self, FailureOutcome},
    queue::Queue,
    scheduler::{self, Daily},
};

/// The stop signal shared by the relay, the consumer and the HTTP server.
pub use tokio_util::sync::CancellationToken as Shutdown;

/// How one execution ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Another worker has it, or it is already done: nothing was run.
    Skipped,
    /// Ran and succeeded.
    Done,
    /// Failed; will run again later.
    Retrying,
    /// Failed for good; dead-lettered.
    Dead,
}

/// Executes jobs for one worker process, handing each the context `C`.
pub struct Runner<C> {
    ctx: Arc<C>,
    db: DatabaseConnection,
    registry: Registry<C>,
    jobs: JobConfig,
    /// Claims of concurrent jobs, merged into one statement ([`crate::batch`]).
    claims: Batcher<outbox_job::Model>,
    /// Completions of concurrent jobs, merged likewise.
    completions: Batcher<()>,
}

impl<C: Send + Sync + 'static> Runner<C> {
    /// A runner of the jobs in `registry`, on the ledger in `db`, giving each
    /// job `ctx`.
    pub fn new(
        ctx: Arc<C>,
        db: DatabaseConnection,
        registry: Registry<C>,
        jobs: JobConfig,
    ) -> Self {
        let lease = lease_of(&jobs);
        let claims = {
            let (db, worker) = (db.clone(), jobs.worker_id.clone());
            Batcher::new(
                outbox::MAX_BATCH,
                Arc::new(move |ids: Vec<Uuid>| {
                    let (db, worker) = (db.clone(), worker.clone());
                    Box::pin(async move {
                        let rows = outbox::claim_many(&db, &ids, &worker, lease).await?;
                        Ok(rows.into_iter().map(|row| (row.id, row)).collect())
                    }) as Pin<Box<dyn Future<Output = _> + Send>>
                }),
            )
        };
        let completions = {
            let (db, worker) = (db.clone(), jobs.worker_id.clone());
            Batcher::new(
                outbox::MAX_BATCH,
                Arc::new(move |ids: Vec<Uuid>| {
                    let (db, worker) = (db.clone(), worker.clone());
                    Box::pin(async move {
                        outbox::complete_many(&db, &ids, &worker).await?;
                        // Whether each row changed is not needed: a row that did
                        // not is no longer this worker's (its lease was reaped).
                        Ok(ids.into_iter().map(|id| (id, ())).collect())
                    }) as Pin<Box<dyn Future<Output = _> + Send>>
                }),
            )
        };
        Self {
            ctx,
            db,
            registry,
            jobs,
            claims,
            completions,
        }
    }

    /// This worker's unique id.
    pub fn worker_id(&self) -> &str {
        &self.jobs.worker_id
    }

    /// Jobs run at once.
    pub fn concurrency(&self) -> usize {
        self.jobs.concurrency
    }

    /// The database pool.
    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    /// The context jobs run with.
    pub fn context(&self) -> &Arc<C> {
        &self.ctx
    }

    fn lease(&self) -> chrono::Duration {
        lease_of(&self.jobs)
    }

    /// Delay before attempt `attempts + 1`: exponential, capped, with jitter
    /// ("equal jitter": half fixed, half random) so that jobs failing together
    /// do not retry together.
    pub fn backoff(&self, attempts: i32) -> Duration {
        let exp = self
            .jobs
            .backoff_base
            .saturating_mul(1u32 << attempts.clamp(1, 20).saturating_sub(1))
            .min(self.jobs.backoff_max);
        let half = exp / 2;
        half + half.mul_f64(rand::thread_rng().gen_range(0.0..=1.0))
    }

    /// Runs one job if this worker can claim it, inside a `job` span (kind,
    /// job id, attempt) that continues the trace of whatever enqueued it.
    pub async fn execute(&self, id: Uuid) -> Result<Outcome, DbErr> {
        let worker = self.jobs.worker_id.as_str();
        let Some(job) = self.claims.submit(id).await? else {
            return Ok(Outcome::Skipped);
        };
        let span = tracing::info_span!(
            "job",
            otel.name = %format!("job {}", job.kind),
            otel.kind = "consumer",
            kind = %job.kind,
            job = %id,
            attempt = job.attempts,
            worker = %worker,
        );
        if let Some(traceparent) = &job.trace_context {
            crate::trace_context::set_parent(&span, traceparent);
        }
        self.run_claimed(job).instrument(span).await
    }

    async fn run_claimed(&self, job: outbox_job::Model) -> Result<Outcome, DbErr> {
        let db = &self.db;
        let worker = self.jobs.worker_id.as_str();
        let id = job.id;
        let kind = job.kind.clone();
        let started = std::time::Instant::now();
        let attempt = Attempt {
            number: job.attempts,
            is_last: job.attempts >= job.max_attempts,
        };
        let result = match self.registry.get(kind.as_str()) {
            None => Err(JobError::Permanent(format!("unknown job kind {kind:?}"))),
            Some(handler) => {
                // Run on its own task so that a panic is an error of this job,
                // not of the worker, while a heartbeat keeps the lease alive
                // up to the job's time limit.
                let timeout = self
                    .registry
                    .timeout(kind.as_str())
                    .unwrap_or(crate::job::DEFAULT_TIMEOUT);
                let task = tokio::spawn(
                    handler(job.payload.clone(), self.ctx.clone(), attempt)
                        .instrument(tracing::Span::current()),
                );
                self.with_heartbeat(id, &kind, task, timeout).await
            }
        };
        metrics::histogram!("portal_job_duration_seconds", "kind" => kind.clone())
            .record(started.elapsed().as_secs_f64());
        let outcome = match result {
            Ok(()) => {
                self.completions.submit(id).await?;
                tracing::info!(job = %id, kind, "job done");
                Outcome::Done
            }
            Err(e) => {
                let retry_at = Utc::now()
                    + chrono::Duration::from_std(self.backoff(job.attempts)).unwrap_or_default();
                match outbox::fail(db, &job, worker, &e.to_string(), e.is_permanent(), retry_at)
                    .await?
                {
                    FailureOutcome::Retrying(at) => {
                        tracing::warn!(job = %id, kind, attempt = job.attempts, error = %e, retry_at = %at, "job failed; will retry");
                        Outcome::Retrying
                    }
                    FailureOutcome::Dead => {
                        tracing::error!(job = %id, kind, attempt = job.attempts, error = %e, "job dead-lettered");
                        Outcome::Dead
                    }
                }
            }
        };
        let label = match outcome {
            Outcome::Done => "done",
            Outcome::Retrying => "retrying",
            Outcome::Dead => "dead",
            Outcome::Skipped => "skipped",
        };
        metrics::counter!("portal_job_outcomes_total", "kind" => kind, "outcome" => label)
            .increment(1);
        Ok(outcome)
    }

    /// Awaits `task`, renewing the lease meanwhile, for at most `timeout`:
    /// then the task is aborted and the attempt fails (retried with backoff
    /// while attempts remain). Aborting takes effect at the job's next
    /// `.await`, which is where a hung job is (a socket, a lock); the lease
    /// is no longer renewed either way.
    async fn with_heartbeat(
        &self,
        id: Uuid,
        kind: &str,
        mut task: tokio::task::JoinHandle<Result<(), JobError>>,
        timeout: Duration,
    ) -> Result<(), JobError> {
        let every = (self.jobs.lease / 3).max(Duration::from_millis(200));
        let mut ticker = tokio::time::interval(every);
        ticker.tick().await;
        let deadline = tokio::time::sleep(timeout);
        tokio::pin!(deadline);
        loop {
            tokio::select! {
                joined = &mut task => {
                    return joined.unwrap_or_else(|e| Err(JobError::Retry(format!("job panicked: {e}"))));
                }
                _ = &mut deadline => {
                    task.abort();
                    metrics::counter!("portal_job_timeouts_total", "kind" => kind.to_owned())
                        .increment(1);
                    return Err(JobError::Retry(format!(
                        "timed out after {} s (the {kind} job's limit)",
                        timeout.as_secs_f64()
                    )));
                }
                _ = ticker.tick() => {
                    if let Err(e) = outbox::heartbeat(&self.db, id, &self.jobs.worker_id, self.lease()).await {
                        tracing::warn!(job = %id, error = %e, "heartbeat failed");
                    }
                }
            }
        }
    }

    /// Runs every due job directly, without the queue, until none is due; returns
    /// how many ran. Used by tests (`TestApp::run_pending_jobs`) and tools.
    pub async fn run_pending(&self) -> Result<usize, DbErr> {
        let mut ran = 0;
        loop {
            let ids = outbox::due_ids(&self.db, 100).await?;
            if ids.is_empty() {
                return Ok(ran);
            }
            let mut progressed = false;
            for id in ids {
                if self.execute(id).await? != Outcome::Skipped {
                    ran += 1;
                    progressed = true;
                }
            }
            if !progressed {
                return Ok(ran);
            }
        }
    }
}

fn lease_of(jobs: &JobConfig) -> chrono::Duration {
    chrono::Duration::from_std(jobs.lease).unwrap_or(chrono::Duration::minutes(5))
}

/// Rows deleted per statement when pruning, so that a first prune of a
/// large backlog never holds a long lock or a huge transaction.
pub const PRUNE_BATCH: u64 = 1000;

/// Moves due outbox rows to the queue, recovers lost or orphaned jobs, and
/// prunes finished ones.
pub struct Relay {
    db: DatabaseConnection,
    queue: Queue,
    jobs: JobConfig,
}

impl Relay {
    /// A relay between this database and queue.
    pub fn new(db: DatabaseConnection, queue: Queue, jobs: JobConfig) -> Self {
        Self { db, queue, jobs }
    }

    /// One pass: hands due jobs to the queue. Returns how many were pushed.
    /// If the queue is down they go back to `PENDING` and the next pass retries.
    pub async fn relay_once(&self) -> Result<usize, anyhow::Error> {
        let mut total = 0;
        loop {
            let room = crate::queue::MAX_BACKLOG.saturating_sub(self.queue.backlog().await?);
            let batch = room.min(500);
            if batch == 0 {
                // Workers are behind; the jobs wait in the outbox meanwhile.
                return Ok(total);
            }
            let ids = outbox::take_due(&self.db, batch).await?;
            if ids.is_empty() {
                return Ok(total);
            }
            if let Err(e) = self.queue.push(&ids).await {
                outbox::release(&self.db, &ids).await?;
                return Err(e.into());
            }
            total += ids.len();
            if (ids.len() as u64) < batch {
                return Ok(total);
            }
        }
    }

    /// Recovers jobs whose worker died (expired lease) and jobs lost by the queue.
    pub async fn recover(&self) -> Result<u64, DbErr> {
        let reaped = outbox::reap_expired_leases(&self.db).await?;
        let requeued = outbox::requeue_stale(
            &self.db,
            chrono::Duration::from_std(self.jobs.requeue_after)
                .unwrap_or(chrono::Duration::minutes(10)),
        )
        .await?;
        if reaped + requeued > 0 {
            tracing::warn!(
                reaped,
                requeued,
                "recovered jobs from dead workers or a lost queue entry"
            );
        }
        Ok(reaped + requeued)
    }

    /// Deletes `DONE` jobs that finished more than the retention period ago
    /// (`PORTAL_JOB_RETENTION_DAYS`), in batches; returns how many.
    pub async fn prune(&self) -> Result<u64, DbErr> {
        let retention =
            chrono::Duration::from_std(self.jobs.retention).unwrap_or(chrono::Duration::days(14));
        let pruned = outbox::prune_done(&self.db, Utc::now() - retention, PRUNE_BATCH).await?;
        if pruned > 0 {
            tracing::info!(pruned, "pruned finished jobs past their retention");
            metrics::counter!("portal_outbox_pruned_total").increment(pruned);
        }
        Ok(pruned)
    }

    /// Relays until `shutdown`, recovering orphans every few seconds and
    /// pruning finished jobs hourly. Errors (database or queue down) are
    /// logged and retried: the outbox keeps the jobs.
    pub async fn run(self, shutdown: Shutdown) {
        let mut ticker = tokio::time::interval(self.jobs.relay_interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let recover_every =
            (self.jobs.lease / 4).clamp(Duration::from_millis(500), Duration::from_secs(15));
        let mut last_recover = std::time::Instant::now() - recover_every;
        let vacuum_every = Duration::from_secs(300);
        let mut last_vacuum = std::time::Instant::now();
        // Hourly, starting a minute after start-up (not at once: a rolling
        // deploy restarts every worker together).
        let prune_every = Duration::from_secs(3600);
        let mut last_prune = std::time::Instant::now()
            .checked_sub(prune_every - Duration::from_secs(60))
            .unwrap_or_else(std::time::Instant::now);
        let mut failing = false;
        let mut listener = OutboxListener::new(&self.db);
        while !shutdown.is_cancelled() {
            listener.connect().await;
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = ticker.tick() => {}
                () = listener.notified() => {}
            }
            if last_recover.elapsed() >= recover_every {
                last_recover = std::time::Instant::now();
                if let Err(e) = self.recover().await {
                    tracing::warn!(error = %e, "job recovery failed");
                }
            }
            if last_vacuum.elapsed() >= vacuum_every {
                last_vacuum = std::time::Instant::now();
                match self.queue.vacuum(Duration::from_secs(600)).await {
                    Ok(n) if n > 0 => tracing::debug!(vacuumed = n, "queue vacuumed"),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "queue vacuum failed"),
                }
            }
            if last_prune.elapsed() >= prune_every {
                last_prune = std::time::Instant::now();
                if let Err(e) = self.prune().await {
                    tracing::warn!(error = %e, "pruning finished jobs failed; will retry");
                }
            }
            match self.relay_once().await {
                Ok(n) => {
                    if failing {
                        tracing::info!("relay recovered");
                        failing = false;
                    }
                    if n > 0 {
                        metrics::counter!("portal_outbox_relayed_total").increment(n as u64);
                    }
                }
                Err(e) => {
                    if !failing {
                        tracing::error!(error = %e, "relay failed; jobs stay in the outbox and will be retried");
                    }
                    failing = true;
                }
            }
        }
    }
}

/// The PostgreSQL channel a commit that wrote jobs notifies (the trigger of
/// migration `m20261207_000020_outbox_notify`).
pub const OUTBOX_CHANNEL: &str = "portal_outbox";

/// Wakes the relay when a transaction that wrote jobs commits (PostgreSQL's
/// `LISTEN`), so a job waits for its commit and one relay pass, not for the
/// next poll. On its own one-connection pool, so it never holds one of the
/// service's connections. On SQLite, or while the listener cannot connect,
/// it never fires and the relay polls alone; it retries connecting every
/// [`LISTEN_RETRY`].
struct OutboxListener {
    pool: Option<sea_orm::sqlx::PgPool>,
    listener: Option<sea_orm::sqlx::postgres::PgListener>,
    next_attempt: std::time::Instant,
}

/// How long the relay polls alone after its listener failed.
const LISTEN_RETRY: Duration = Duration::from_secs(5);

impl OutboxListener {
    fn new(db: &DatabaseConnection) -> Self {
        let pool = (db.get_database_backend() == sea_orm::DbBackend::Postgres).then(|| {
            let options = db.get_postgres_connection_pool().connect_options();
            sea_orm::sqlx::postgres::PgPoolOptions::new()
                .max_connections(1)
                .min_connections(0)
                .connect_lazy_with((*options).clone())
        });
        Self {
            pool,
            listener: None,
            next_attempt: std::time::Instant::now(),
        }
    }

    /// Connects and `LISTEN`s when there is no listener and the last attempt
    /// was long enough ago. Outside the `select!`, so a poll tick cannot
    /// cancel a connection half made.
    async fn connect(&mut self) {
        let Some(pool) = &self.pool else { return };
        if self.listener.is_some() || std::time::Instant::now() < self.next_attempt {
            return;
        }
        self.next_attempt = std::time::Instant::now() + LISTEN_RETRY;
        let listening = async {
            let mut listener = sea_orm::sqlx::postgres::PgListener::connect_with(pool).await?;
            listener.listen(OUTBOX_CHANNEL).await?;
            Ok::<_, sea_orm::sqlx::Error>(listener)
        };
        match listening.await {
            Ok(listener) => self.listener = Some(listener),
            Err(e) => tracing::warn!(error = %e, "cannot LISTEN for new jobs; the relay polls"),
        }
    }

    /// Resolves when a notification arrives (those already received are taken
    /// with it: one relay pass serves them all), or when the listener failed.
    /// Never resolves without a listener. Cancel-safe (`PgListener::recv` is),
    /// so it can sit in a `select!` beside the poll.
    async fn notified(&mut self) {
        let Some(listener) = self.listener.as_mut() else {
            return std::future::pending().await;
        };
        match listener.recv().await {
            Ok(_) => while listener.next_buffered().is_some() {},
            Err(e) => {
                tracing::warn!(error = %e, "lost the LISTEN connection for new jobs; the relay polls meanwhile");
                self.listener = None;
            }
        }
    }
}

/// Runs a complete worker process until `shutdown`: the daily `schedule`,
/// the outbox relay, and the queue consumer running jobs through `runner`.
/// On shutdown the consumer stops taking jobs and waits for the running ones.
pub async fn run_worker<C: Send + Sync + 'static>(
    runner: Arc<Runner<C>>,
    queue: Queue,
    schedule: &'static [Daily],
    shutdown: Shutdown,
) -> anyhow::Result<()> {
    let db = runner.db().clone();
    tracing::info!(
        worker = runner.worker_id(),
        concurrency = runner.concurrency(),
        "worker started"
    );
    let scheduler_task = tokio::spawn(scheduler::run(db.clone(), schedule, shutdown.clone()));
    let relay = Relay::new(db, queue.clone(), runner.jobs.clone());
    let relay_task = tokio::spawn(relay.run(shutdown.clone()));
    // The consumer is restarted if the transport fails under it (Redis
    // restarted, a backend error): the relay keeps the jobs in the outbox
    // meanwhile, and this process must not go on serving with no worker.
    while !shutdown.is_cancelled() {
        let stop = shutdown.clone();
        match queue
            .clone()
            .consume(runner.clone(), async move { stop.cancelled().await })
            .await
        {
            Ok(()) => break,
            Err(e) => {
                tracing::error!(error = %e, "job consumer stopped; restarting in 1 s");
                metrics::counter!("portal_worker_consumer_restarts_total").increment(1);
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
            }
        }
    }
    shutdown.cancel();
    let _ = relay_task.await;
    let _ = scheduler_task.await;
    tracing::info!("worker stopped");
    Ok(())
}
