//! `bench queue`: how fast the job pipeline moves no-op jobs, and how long a job
//! waits between being enqueued and starting, beside what Redis alone can do.
//!
//! The scenario runs the production path in-process, exactly as deployed:
//!
//! ```text
//!  enqueuer ──outbox::enqueue_many, N per txn──▶ outbox_jobs (PENDING)
//!                                                    │ Relay (every relay interval)
//!                                                    ▼
//!                                       apalis-redis queue (job ids)
//!                                                    │ consumer, `concurrency` at once
//!                                                    ▼
//!                            Runner::execute: claim ▶ run Noop ▶ complete (DONE)
//! ```
//!
//! The worker ([`api::jobs::run_worker`]: relay + consumer + runner) is
//! started first and warmed up with one job, then the enqueuer writes the jobs in
//! transactions of `--batch` while the worker runs (`--enqueue each`: one
//! `outbox::enqueue` per job, as single API writes would arrive during the
//! day). The ledger itself is the measuring instrument: every row
//! records `created_at` (enqueue), `started_at` (claimed by the worker) and
//! `finished_at`, all stamped by this one process's clock, so no clocks need to
//! agree.
//!
//! The baseline is `redis-benchmark` doing an LPUSH and then an RPOP per job, the
//! same count with as many clients as the worker's concurrency, on the same Redis,
//! in the same run. A Redis-backed queue has to do at least that much per job, so
//! it is the ceiling the pipeline can approach but not pass; the ratio shows what
//! the durability (the outbox, the claim, the ledger updates) costs.
//!
//! `--sqlite` adds the embedded path (SQLite database and the apalis SQLite queue
//! in a temporary folder) as a second row.
//!
//! Where things are: this file has the options, the run and the two paths'
//! setup (PostgreSQL + Redis, SQLite); [`pipeline`] drives one path (the
//! worker, the enqueuer, the ledger read back as a [`Measurement`]);
//! [`baseline`] runs `redis-benchmark`; [`report`] prints the table.

mod baseline;
mod pipeline;
mod report;

use std::{sync::Arc, time::Duration};

use anyhow::Context as _;

use platform::config::Config;
use worker::{queue::Queue, runner::Shutdown};

use self::{baseline::redis_benchmark, pipeline::drive, report::Report};
use crate::{
    scratch::{ScratchDatabase, clean_redis},
    table::Percentiles,
};

/// Options of `bench queue`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Jobs to run through the pipeline (and LPUSH/RPOP count of the baseline).
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..))]
    jobs: u64,
    /// A PostgreSQL server URL; the bench creates (and drops) its own
    /// `portal_bench_<random>` database on that server.
    #[arg(long, default_value = crate::scratch::DEFAULT_DATABASE_URL)]
    database_url: String,
    /// Redis for the queue and for `redis-benchmark`; only keys under
    /// `portal-bench:<random>:` are written, and deleted at the end.
    #[arg(long, default_value = "redis://127.0.0.1:6379")]
    redis_url: String,
    /// Jobs the worker runs at once (`PORTAL_WORKER_CONCURRENCY`); also the
    /// number of `redis-benchmark` clients.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u64).range(1..=1024))]
    concurrency: u64,
    /// Jobs enqueued per transaction.
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u64).range(1..))]
    batch: u64,
    /// How a transaction writes its jobs: `many` with one `outbox::enqueue_many`
    /// (multi-row `INSERT`s, as bulk work such as the sweep's emails does),
    /// `each` with one `outbox::enqueue` per job (as a single API write does).
    #[arg(long, value_enum, default_value_t = Enqueue::Many)]
    enqueue: Enqueue,
    /// How often the relay moves outbox rows to the queue (`PORTAL_RELAY_INTERVAL_MS`).
    /// The production default is 250; 20 keeps the poll from dominating latency.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..))]
    relay_interval_ms: u64,
    /// Enqueue at this steady rate (jobs per second, `--batch` per transaction)
    /// instead of as fast as possible: the commit-to-start latency of a
    /// worker keeping up with a steady load rather than of a burst. 0: a burst.
    #[arg(long, default_value_t = 0)]
    rate: u64,
    /// Also run the embedded path (SQLite database + SQLite queue) as a second row.
    #[arg(long)]
    sqlite: bool,
    /// Fail when the jobs are not all done this many seconds after the worker started.
    #[arg(long, default_value_t = 300)]
    timeout_secs: u64,
}

/// How the enqueuer writes a transaction's jobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Enqueue {
    /// One `outbox::enqueue_many` per transaction.
    Many,
    /// One `outbox::enqueue` per job.
    Each,
}

impl Enqueue {
    fn name(self) -> &'static str {
        match self {
            Enqueue::Many => "enqueue_many",
            Enqueue::Each => "enqueue",
        }
    }
}

/// What one pipeline run measured.
struct Measurement {
    /// Jobs that finished.
    jobs: usize,
    /// From the first job's enqueue to the last job's finish.
    wall: Duration,
    /// How long the enqueuer took to write (and commit) every job.
    enqueue: Duration,
    /// `started_at - created_at`, per job.
    latency: Percentiles,
    /// `started_at -` the enqueuing transaction's commit, per job: the part of the
    /// latency the pipeline is responsible for.
    after_commit: Percentiles,
    /// From the first job's enqueue to the first start: the wake-up delay of an
    /// idle worker.
    first_start: Duration,
    /// From the first start to the last finish: the pipeline while busy.
    busy: Duration,
    /// Attempts summed over all jobs (equal to `jobs` unless some ran twice).
    attempts: i64,
}

impl Measurement {
    fn jobs_per_second(&self) -> f64 {
        self.jobs as f64 / self.wall.as_secs_f64()
    }

    fn enqueue_per_second(&self) -> f64 {
        self.jobs as f64 / self.enqueue.as_secs_f64()
    }

    fn busy_per_second(&self) -> f64 {
        self.jobs as f64 / self.busy.as_secs_f64()
    }
}

/// Runs the scenario and prints the table. A scenario that fails (the worker
/// stopping, a timeout) gets a `failed` row and its error under the table, and
/// the command then exits with an error: a failure is a result too.
pub async fn run(args: Args) -> anyhow::Result<()> {
    let crate::scratch::RunNames {
        id: run_id,
        database,
        prefix,
    } = crate::scratch::RunNames::new();
    let names = Names {
        database,
        prefix,
        worker_id: format!("portal-bench-{run_id}"),
    };
    eprintln!(
        "bench queue: {} jobs, concurrency {}, {} per transaction, relay every {} ms (run {run_id})",
        args.jobs, args.concurrency, args.batch, args.relay_interval_ms
    );

    // The production path, then the baseline, then (optionally) the embedded
    // path: one after the other so that they do not compete for the two cores.
    let production = production_path(&args, &names).await;
    let baseline = redis_benchmark(&args, &format!("{}:ceiling", names.prefix)).await;
    // Also deletes the baseline's list, which lives under the same prefix.
    match clean_redis(&args.redis_url, &names.prefix).await {
        Ok(n) => eprintln!("cleanup: deleted {n} Redis keys under {}:", names.prefix),
        Err(e) => eprintln!(
            "cleanup: could not delete Redis keys under {}: {e:#}",
            names.prefix
        ),
    }
    let embedded = if args.sqlite {
        Some(embedded_path(&args, &names).await)
    } else {
        None
    };

    let report = Report {
        args: &args,
        names: &names,
        production: &production,
        baseline: &baseline,
        embedded: embedded.as_ref(),
    };
    report.print();
    if let (Ok(m), Ok(Some((lpush, _)))) = (&production, &baseline) {
        crate::headline::emit(&[crate::headline::Headline::rate(
            format!(
                "limit: queue, {} no-op jobs outbox → Redis → worker (`bench queue`)",
                m.jobs
            ),
            m.jobs_per_second(),
            "redis-benchmark LPUSH",
            lpush.rps,
            "jobs/s",
        )
        .latency(m.latency.p50, m.latency.p99),
        crate::headline::Headline::rate(
            format!(
                "limit: queue, enqueue alone, {} jobs per transaction (`outbox::{}`); p50/p99: commit-to-start (`bench queue`)",
                args.batch,
                args.enqueue.name()
            ),
            m.enqueue_per_second(),
            "redis-benchmark LPUSH",
            lpush.rps,
            "jobs/s",
        )
        .latency(m.after_commit.p50, m.after_commit.p99)])?;
    }
    let failed = [
        Some(production.is_err()),
        Some(baseline.is_err()),
        embedded.as_ref().map(Result::is_err),
    ]
    .into_iter()
    .flatten()
    .filter(|failed| *failed)
    .count();
    if failed > 0 {
        anyhow::bail!("{failed} scenario(s) failed; see above");
    }
    Ok(())
}

/// What this run creates, all named after its random id.
struct Names {
    /// The scratch PostgreSQL database.
    database: String,
    /// The queue name, which is also the prefix of every Redis key of the run.
    prefix: String,
    /// `PORTAL_WORKER_ID`, recorded on every job the worker runs.
    worker_id: String,
}

/// PostgreSQL + Redis, in a scratch database that is dropped whatever happens.
async fn production_path(args: &Args, names: &Names) -> anyhow::Result<Measurement> {
    let Names {
        database,
        prefix,
        worker_id,
    } = names;
    // The worker's file adapters (email and SMS outbox) write under the data
    // folder; no-op jobs send nothing, but the folder must exist and be ours.
    let data_dir = tempfile::Builder::new().prefix("portal-bench-").tempdir()?;
    let scratch = ScratchDatabase::create(&args.database_url, database).await?;
    eprintln!("[postgres] created database {database}");
    let shutdown = Shutdown::new();
    let scenario = async {
        let db = platform::db::connect_url(&scratch.url).await?;
        platform::db::migrate(&db).await.context("migrations")?;
        let queue = Queue::connect_redis(&args.redis_url, prefix).await?;
        let redis_url = Some(args.redis_url.as_str());
        let config = config(
            args,
            &scratch.url,
            redis_url,
            prefix,
            worker_id,
            data_dir.path(),
        )?;
        let measured = drive(
            "postgres",
            args,
            config,
            db.clone(),
            queue,
            shutdown.clone(),
        )
        .await;
        db.close().await.ok();
        measured
    };
    let result = tokio::select! {
        result = scenario => result,
        _ = tokio::signal::ctrl_c() => Err(anyhow::anyhow!("interrupted")),
    };
    // Stops the worker if the scenario ended early (error or Ctrl-C).
    shutdown.cancel();
    match scratch.drop_database().await {
        Ok(()) => eprintln!("cleanup: dropped database {database}"),
        Err(e) => eprintln!("cleanup: could not drop database {database}: {e:#}"),
    }
    result
}

/// SQLite database + SQLite queue in a temporary folder (removed on drop).
async fn embedded_path(args: &Args, names: &Names) -> anyhow::Result<Measurement> {
    let Names {
        prefix, worker_id, ..
    } = names;
    let dir = tempfile::Builder::new().prefix("portal-bench-").tempdir()?;
    let url = format!("sqlite://{}/portal.db?mode=rwc", dir.path().display());
    eprintln!("[sqlite] database in {}", dir.path().display());
    let shutdown = Shutdown::new();
    let scenario = async {
        let db = platform::db::connect_url(&url).await?;
        platform::db::migrate(&db).await.context("migrations")?;
        let queue = Queue::sqlite(&db, prefix).await?;
        let config = config(args, &url, None, prefix, worker_id, dir.path())?;
        let measured = drive("sqlite", args, config, db.clone(), queue, shutdown.clone()).await;
        db.close().await.ok();
        measured
    };
    let result = tokio::select! {
        result = scenario => result,
        _ = tokio::signal::ctrl_c() => Err(anyhow::anyhow!("interrupted")),
    };
    shutdown.cancel();
    result
}

/// The service's configuration for this run, built the way the service builds
/// it (so defaults such as the lease apply), from explicit variables only: the
/// caller's `PORTAL_*` environment must not change what is measured.
fn config(
    args: &Args,
    database_url: &str,
    redis_url: Option<&str>,
    queue_name: &str,
    worker_id: &str,
    data_dir: &std::path::Path,
) -> anyhow::Result<Arc<Config>> {
    let mut vars = vec![
        ("DATABASE_URL", database_url.to_owned()),
        ("PORTAL_QUEUE_NAME", queue_name.to_owned()),
        ("PORTAL_DATA_DIR", data_dir.display().to_string()),
        ("PORTAL_WORKER_ID", worker_id.to_owned()),
        ("PORTAL_WORKER_CONCURRENCY", args.concurrency.to_string()),
        (
            "PORTAL_RELAY_INTERVAL_MS",
            args.relay_interval_ms.to_string(),
        ),
    ];
    if let Some(url) = redis_url {
        vars.push(("REDIS_URL", url.to_owned()));
    }
    let config = Config::from_vars(vars.into_iter().map(|(k, v)| (k.to_owned(), v)))?;
    Ok(Arc::new(config))
}
