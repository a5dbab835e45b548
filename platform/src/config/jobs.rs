//! How jobs are retried, leased and relayed (`PORTAL_WORKER_*`,
//! `PORTAL_JOB_*`, `PORTAL_RELAY_INTERVAL_MS`, `PORTAL_QUEUE_NAME`).

use std::time::Duration;

use super::{ConfigError, Vars};

/// How jobs are retried, leased and relayed.
#[derive(Debug, Clone)]
pub struct JobConfig {
    /// Unique id of this worker process, recorded on every job it runs.
    pub worker_id: String,
    /// Jobs run at once by this process.
    pub concurrency: usize,
    /// Delay before the first retry; doubled each attempt, with equal jitter
    /// (half of the delay fixed, half random; see `worker::runner::Runner::backoff`).
    pub backoff_base: Duration,
    /// Cap on the retry delay.
    pub backoff_max: Duration,
    /// How long a running job's lease lasts without a heartbeat before another worker may run it.
    pub lease: Duration,
    /// How long a job may sit in the queue unstarted before the relay hands it over again.
    pub requeue_after: Duration,
    /// Poll interval of the outbox relay.
    pub relay_interval: Duration,
    /// Name of the queue (a Redis key prefix).
    pub queue_name: String,
    /// How long a `DONE` job is kept in the outbox (for `jobs(status: DONE)`
    /// and investigations) before the relay prunes it; dead jobs are kept
    /// until an operator retries them.
    pub retention: Duration,
}

pub(super) fn read(vars: &Vars) -> Result<JobConfig, ConfigError> {
    let backoff_base_ms: u64 = vars.positive("PORTAL_JOB_BACKOFF_BASE_MS", 2000)?;
    Ok(JobConfig {
        worker_id: vars
            .get("PORTAL_WORKER_ID")
            .map(str::to_owned)
            .unwrap_or_else(default_worker_id),
        concurrency: vars.positive("PORTAL_WORKER_CONCURRENCY", 4)?,
        backoff_base: Duration::from_millis(backoff_base_ms),
        backoff_max: Duration::from_secs(vars.positive("PORTAL_JOB_BACKOFF_MAX_SECS", 3600)?),
        lease: Duration::from_secs(vars.positive("PORTAL_JOB_LEASE_SECS", 300)?),
        requeue_after: Duration::from_secs(vars.positive("PORTAL_JOB_REQUEUE_SECS", 600)?),
        relay_interval: Duration::from_millis(vars.positive("PORTAL_RELAY_INTERVAL_MS", 250)?),
        queue_name: vars
            .get("PORTAL_QUEUE_NAME")
            .unwrap_or("portal:jobs")
            .to_owned(),
        retention: Duration::from_secs(
            vars.positive::<u64>("PORTAL_JOB_RETENTION_DAYS", 14)?
                .saturating_mul(86_400),
        ),
    })
}

/// `<host>-<pid>-<random>`: unique across restarts and across processes on one host,
/// and readable in logs and in the job ledger.
fn default_worker_id() -> String {
    let host = std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "worker".to_owned());
    let suffix: u32 = rand::random();
    format!("{host}-{}-{suffix:08x}", std::process::id())
}
