//! `bench queue`: how fast the job pipeline moves no-op jobs, and how long a job
//! waits between being enqueued and starting, beside what Redis alone can do.
//!
//! The scenario runs the production path in-process, exactly as deployed:
//!
//! ```text
//!  enqueuer ──outbox::enqueue, N per txn──▶ outbox_jobs (PENDING)
//!                                               │ Relay (every relay interval)
//!                                               ▼
//!                                  apalis-redis queue (job ids)
//!                                               │ consumer, `concurrency` at once
//!                                               ▼
//!                       Runner::execute: claim ▶ run Noop ▶ complete (DONE)
//! ```
//!
//! The worker ([`api::jobs::run_worker`]: relay + consumer + runner) is
//! started first and warmed up with one job, then the enqueuer writes the jobs in
//! transactions of `--batch` while the worker runs, as API writes would arrive
//! during the day. The ledger itself is the measuring instrument: every row
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

use std::{collections::HashMap, sync::Arc, time::Duration};

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, QuerySelect,
};
use tokio::time::Instant;
use url::Url;
use uuid::Uuid;

use api::jobs::{noop::Noop, run_worker};
use entities::{JobStatus, outbox_job};
use platform::config::Config;
use worker::{job::Job, outbox, queue::Queue, runner::Shutdown};

use crate::{
    scratch::{ScratchDatabase, clean_redis, server},
    table::{Percentiles, Table, ms, rate},
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
    /// How often the relay moves outbox rows to the queue (`PORTAL_RELAY_INTERVAL_MS`).
    /// The production default is 250; 20 keeps the poll from dominating latency.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..))]
    relay_interval_ms: u64,
    /// Also run the embedded path (SQLite database + SQLite queue) as a second row.
    #[arg(long)]
    sqlite: bool,
    /// Fail when the jobs are not all done this many seconds after the worker started.
    #[arg(long, default_value_t = 300)]
    timeout_secs: u64,
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

/// One `redis-benchmark` test's figures.
struct RedisFigures {
    /// Requests per second.
    rps: f64,
    /// Round-trip latency of a single command, in milliseconds.
    latency: Percentiles,
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
        .latency(m.latency.p50, m.latency.p99)])?;
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

/// Starts the worker, warms it up, enqueues the jobs while it runs, waits for
/// all of them to be done, stops the worker and reads the timings back.
async fn drive(
    label: &str,
    args: &Args,
    config: Arc<Config>,
    db: DatabaseConnection,
    queue: Queue,
    shutdown: Shutdown,
) -> anyhow::Result<Measurement> {
    let mut worker = tokio::spawn(run_worker(config, db.clone(), queue, shutdown.clone()));
    let deadline = Instant::now() + Duration::from_secs(args.timeout_secs);

    // One job through the whole path first, so that connection pools, the
    // consumer's registration and prepared statements are not in the figures.
    let warm_up = async {
        let txn = platform::db::begin_write(&db).await?;
        let id = outbox::enqueue(
            &txn,
            &Noop {
                tag: 0,
                sleep_ms: 0,
            },
        )
        .await?
        .context("a no-op job has no dedupe key, so it is always written")?;
        txn.commit().await?;
        wait_until_done(label, &db, 1, deadline, false).await?;
        outbox_job::Entity::delete_by_id(id).exec(&db).await?;
        anyhow::Ok(())
    };
    while_worker_runs(warm_up, &mut worker, &db).await?;
    eprintln!("[{label}] worker warmed up");

    let measured = async {
        tokio::try_join!(
            enqueue_all(label, &db, args.jobs, args.batch),
            wait_until_done(label, &db, args.jobs, deadline, true),
        )
    };
    let (enqueued, ()) = while_worker_runs(measured, &mut worker, &db).await?;

    shutdown.cancel();
    match tokio::time::timeout(Duration::from_secs(30), worker).await {
        Ok(joined) => joined.context("worker task panicked")??,
        Err(_) => eprintln!("[{label}] worker did not stop within 30 s; measuring anyway"),
    }
    measure(&db, enqueued).await
}

/// Runs `work`, failing as soon as the worker stops on its own (it should only
/// stop when told to), with the worker's error and where the jobs were left.
async fn while_worker_runs<T>(
    work: impl Future<Output = anyhow::Result<T>>,
    worker: &mut tokio::task::JoinHandle<anyhow::Result<()>>,
    db: &DatabaseConnection,
) -> anyhow::Result<T> {
    tokio::select! {
        result = work => result,
        joined = worker => {
            let why = match joined {
                Ok(Ok(())) => "without an error".to_owned(),
                Ok(Err(e)) => format!("{e:#}"),
                Err(e) => format!("panicked: {e}"),
            };
            let counts = outbox::counts(db).await.unwrap_or_default();
            anyhow::bail!("the worker stopped before the jobs were done: {why}; jobs by status: {counts:?}")
        }
    }
}

/// What the enqueuer recorded.
struct Enqueued {
    /// Time to write and commit every job.
    elapsed: Duration,
    /// When each job's transaction committed.
    committed: HashMap<Uuid, DateTime<Utc>>,
}

/// Writes `jobs` no-op jobs through the outbox, `batch` per write transaction.
async fn enqueue_all(
    label: &str,
    db: &DatabaseConnection,
    jobs: u64,
    batch: u64,
) -> anyhow::Result<Enqueued> {
    let started = Instant::now();
    let mut committed = HashMap::with_capacity(jobs as usize);
    let mut progress = Progress::new(label, "enqueued", jobs);
    let mut next = 1;
    while next <= jobs {
        let end = (next + batch).min(jobs + 1);
        let txn = platform::db::begin_write(db).await?;
        let mut ids = Vec::with_capacity((end - next) as usize);
        for tag in next..end {
            let job = Noop { tag, sleep_ms: 0 };
            ids.push(
                outbox::enqueue(&txn, &job)
                    .await?
                    .context("a no-op job has no dedupe key, so it is always written")?,
            );
        }
        txn.commit().await?;
        let at = Utc::now();
        committed.extend(ids.into_iter().map(|id| (id, at)));
        progress.update(end - 1);
        next = end;
    }
    Ok(Enqueued {
        elapsed: started.elapsed(),
        committed,
    })
}

/// Polls the ledger every 100 ms until `jobs` no-op jobs are `DONE`. Fails at
/// `deadline`, with the count per status to show where the jobs are stuck.
async fn wait_until_done(
    label: &str,
    db: &DatabaseConnection,
    jobs: u64,
    deadline: Instant,
    report: bool,
) -> anyhow::Result<()> {
    let mut progress = Progress::new(label, "done", jobs);
    let mut ticker = tokio::time::interval(Duration::from_millis(100));
    loop {
        ticker.tick().await;
        let done = outbox_job::Entity::find()
            .filter(outbox_job::Column::Kind.eq(Noop::JOB_NAME))
            .filter(outbox_job::Column::Status.eq(JobStatus::Done))
            .count(db)
            .await?;
        if report {
            progress.update(done);
        }
        if done >= jobs {
            return Ok(());
        }
        if Instant::now() >= deadline {
            let counts = outbox::counts(db).await?;
            anyhow::bail!(
                "timed out with {done}/{jobs} jobs done; jobs by status: {counts:?} \
                 (raise --timeout-secs if the machine is just slow)"
            );
        }
    }
}

/// Reads the timings of every job back from the ledger.
async fn measure(db: &DatabaseConnection, enqueued: Enqueued) -> anyhow::Result<Measurement> {
    type Row = (
        Uuid,
        DateTime<Utc>,
        Option<DateTime<Utc>>,
        Option<DateTime<Utc>>,
        i32,
    );
    let rows: Vec<Row> = outbox_job::Entity::find()
        .select_only()
        .columns([
            outbox_job::Column::Id,
            outbox_job::Column::CreatedAt,
            outbox_job::Column::StartedAt,
            outbox_job::Column::FinishedAt,
            outbox_job::Column::Attempts,
        ])
        .filter(outbox_job::Column::Kind.eq(Noop::JOB_NAME))
        .into_tuple()
        .all(db)
        .await?;
    let millis = |d: chrono::TimeDelta| d.num_microseconds().unwrap_or(i64::MAX) as f64 / 1000.0;

    let mut latency = Vec::with_capacity(rows.len());
    let mut after_commit = Vec::with_capacity(rows.len());
    let mut first_enqueue: Option<DateTime<Utc>> = None;
    let mut first_start: Option<DateTime<Utc>> = None;
    let mut last_finish: Option<DateTime<Utc>> = None;
    let mut attempts = 0i64;
    for (id, created, started, finished, tries) in &rows {
        let (Some(started), Some(finished)) = (started, finished) else {
            anyhow::bail!("job {id} is done but has no start or finish time");
        };
        latency.push(millis(*started - *created));
        if let Some(commit) = enqueued.committed.get(id) {
            after_commit.push(millis(*started - *commit));
        }
        first_enqueue = Some(first_enqueue.map_or(*created, |t| t.min(*created)));
        first_start = Some(first_start.map_or(*started, |t| t.min(*started)));
        last_finish = Some(last_finish.map_or(*finished, |t| t.max(*finished)));
        attempts += i64::from(*tries);
    }
    let (Some(first), Some(started), Some(last)) = (first_enqueue, first_start, last_finish) else {
        anyhow::bail!("no jobs in the ledger");
    };
    let duration =
        |from: DateTime<Utc>, to: DateTime<Utc>| (to - from).to_std().unwrap_or_default();
    Ok(Measurement {
        jobs: rows.len(),
        wall: duration(first, last),
        first_start: duration(first, started),
        busy: duration(started, last),
        enqueue: enqueued.elapsed,
        latency: Percentiles::of(&mut latency).context("no latencies")?,
        after_commit: Percentiles::of(&mut after_commit).context("no commit times")?,
        attempts,
    })
}

/// Runs `redis-benchmark` LPUSH then RPOP on `key`: `None` when the tool is not
/// installed (the table then says so instead of failing the whole run).
async fn redis_benchmark(
    args: &Args,
    key: &str,
) -> anyhow::Result<Option<(RedisFigures, RedisFigures)>> {
    // A job id as the value: the size of what the pipeline's queue carries per job.
    let value = Uuid::new_v4().simple().to_string();
    let n = args.jobs.to_string();
    let c = args.concurrency.to_string();
    let mut results = Vec::new();
    // LPUSH first, so that every RPOP pops an element rather than hitting an
    // empty list (which is cheaper and would flatter the ceiling).
    for command in [vec!["LPUSH", key, &value], vec!["RPOP", key]] {
        eprintln!("[redis-benchmark] {} x {}", command[0], args.jobs);
        let output = tokio::process::Command::new("redis-benchmark")
            // `-u` takes the same URL as the service, password and db included.
            .args(["-u", &args.redis_url, "-n", &n, "-c", &c, "--csv"])
            .args(&command)
            .output()
            .await;
        let output = match output {
            Ok(output) => output,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                eprintln!(
                    "redis-benchmark is not installed, so there is no baseline \
                     (Debian/Ubuntu: apt-get install redis-tools)"
                );
                return Ok(None);
            }
            Err(e) => return Err(e).context("cannot run redis-benchmark"),
        };
        let stdout = String::from_utf8_lossy(&output.stdout);
        if !output.status.success() {
            anyhow::bail!(
                "redis-benchmark {} failed ({}): {}{}",
                command[0],
                output.status,
                stdout,
                String::from_utf8_lossy(&output.stderr)
            );
        }
        results.push(
            parse_csv(&stdout, command[0])
                .with_context(|| format!("cannot read redis-benchmark's output:\n{stdout}"))?,
        );
    }
    let rpop = results.pop().context("no RPOP result")?;
    let lpush = results.pop().context("no LPUSH result")?;
    Ok(Some((lpush, rpop)))
}

/// Reads the row of `test` from `redis-benchmark --csv` (Redis 7 columns:
/// `"test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms",
/// "p95_latency_ms","p99_latency_ms","max_latency_ms"`).
fn parse_csv(csv: &str, test: &str) -> Option<RedisFigures> {
    let line = csv
        .lines()
        .find(|l| l.trim_start_matches('"').starts_with(test))?;
    // Count from the right: the test name of a custom command contains its
    // arguments, the numbers are always the last seven fields.
    let fields: Vec<f64> = line
        .rsplit(',')
        .take(7)
        .map(|f| f.trim().trim_matches('"').parse().ok())
        .collect::<Option<Vec<_>>>()?;
    let [max, p99, _p95, p50, _min, _avg, rps] = fields[..] else {
        return None;
    };
    Some(RedisFigures {
        rps,
        latency: Percentiles { p50, p99, max },
    })
}

/// Everything the run measured, to print.
struct Report<'a> {
    args: &'a Args,
    names: &'a Names,
    production: &'a anyhow::Result<Measurement>,
    baseline: &'a anyhow::Result<Option<(RedisFigures, RedisFigures)>>,
    embedded: Option<&'a anyhow::Result<Measurement>>,
}

impl Report<'_> {
    /// Prints the table to stdout, then the lines that say what was measured.
    fn print(&self) {
        let pipelines: Vec<(&str, &str, &anyhow::Result<Measurement>)> = std::iter::once((
            "portal: outbox → Redis → worker",
            "PostgreSQL",
            self.production,
        ))
        .chain(self.embedded.map(|m| {
            (
                "portal embedded: SQLite outbox → queue → worker",
                "SQLite",
                m,
            )
        }))
        .collect();

        let mut table = Table::new(&["scenario", "jobs/s", "p50 ms", "p99 ms", "max ms"]);
        for (name, _, result) in &pipelines {
            table.row(match result {
                Ok(m) => vec![
                    (*name).to_owned(),
                    rate(m.jobs_per_second()),
                    ms(m.latency.p50),
                    ms(m.latency.p99),
                    ms(m.latency.max),
                ],
                Err(_) => failed_row(name),
            });
        }
        match self.baseline {
            Ok(Some((lpush, rpop))) => {
                for (name, figures) in [
                    ("redis-benchmark LPUSH (ceiling)", lpush),
                    ("redis-benchmark RPOP  (ceiling)", rpop),
                ] {
                    table.row(vec![
                        name.to_owned(),
                        rate(figures.rps),
                        ms(figures.latency.p50),
                        ms(figures.latency.p99),
                        ms(figures.latency.max),
                    ]);
                }
                for (_, short, result) in &pipelines {
                    if let Ok(m) = result {
                        let name = if *short == "PostgreSQL" {
                            "portal"
                        } else {
                            "embedded"
                        };
                        table.row(vec![
                            format!("ratio {name} / LPUSH"),
                            format!("{:.4}", m.jobs_per_second() / lpush.rps),
                        ]);
                    }
                }
            }
            Ok(None) => table.row(vec![
                "redis-benchmark (ceiling)".to_owned(),
                "not installed: apt-get install redis-tools".to_owned(),
            ]),
            Err(_) => table.row(failed_row("redis-benchmark (ceiling)")),
        }
        println!();
        print!("{}", table.render());
        println!();

        for (_, short, result) in &pipelines {
            match result {
                Ok(m) => {
                    println!(
                        "{short}: enqueue alone {} jobs/s ({} per transaction); \
                         first start {} ms after the first enqueue, then {} jobs/s until the last finish; \
                         commit-to-start p50 {} / p99 {} / max {} ms",
                        rate(m.enqueue_per_second()),
                        self.args.batch,
                        ms(m.first_start.as_secs_f64() * 1000.0),
                        rate(m.busy_per_second()),
                        ms(m.after_commit.p50),
                        ms(m.after_commit.p99),
                        ms(m.after_commit.max),
                    );
                    if m.attempts != m.jobs as i64 {
                        println!(
                            "{short}: note: {} attempts for {} jobs (some ran more than once)",
                            m.attempts, m.jobs
                        );
                    }
                }
                Err(e) => println!("{short}: FAILED: {e:#}"),
            }
        }
        if let Err(e) = self.baseline {
            println!("redis-benchmark: FAILED: {e:#}");
        }

        let Names {
            database,
            prefix,
            worker_id,
        } = self.names;
        let db_server = Url::parse(&self.args.database_url)
            .map(|u| server(&u))
            .unwrap_or_default();
        let redis_server = Url::parse(&self.args.redis_url)
            .map(|u| server(&u))
            .unwrap_or_default();
        println!(
            "run: {} no-op jobs (sleep 0), enqueued while the worker runs; worker {worker_id}, \
             concurrency {}, relay interval {} ms; PostgreSQL {db_server} database {database}; \
             Redis {redis_server} queue {prefix}; redis-benchmark -n {} -c {}{}",
            self.args.jobs,
            self.args.concurrency,
            self.args.relay_interval_ms,
            self.args.jobs,
            self.args.concurrency,
            if self.embedded.is_some() {
                "; SQLite in a temp folder"
            } else {
                ""
            },
        );
    }
}

/// The row of a scenario that did not finish; its error is printed under the table.
fn failed_row(name: &str) -> Vec<String> {
    vec![
        name.to_owned(),
        "failed".to_owned(),
        "-".to_owned(),
        "-".to_owned(),
        "-".to_owned(),
    ]
}

/// Progress lines on stderr at every tenth of the way (and at the end), so a
/// 10,000-job run prints ten lines rather than ten thousand.
struct Progress {
    label: String,
    verb: &'static str,
    total: u64,
    /// The next count worth a line.
    next: u64,
}

impl Progress {
    fn new(label: &str, verb: &'static str, total: u64) -> Self {
        Self {
            label: label.to_owned(),
            verb,
            total,
            next: total.div_ceil(10).max(1),
        }
    }

    fn update(&mut self, count: u64) {
        if count < self.next {
            return;
        }
        eprintln!("[{}] {} {count}/{}", self.label, self.verb, self.total);
        let step = self.total.div_ceil(10).max(1);
        while self.next <= count {
            self.next += step;
        }
        self.next = self.next.min(self.total);
        if count >= self.total {
            // Nothing more to report.
            self.next = u64::MAX;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_redis_benchmark_csv() {
        let csv = "\"test\",\"rps\",\"avg_latency_ms\",\"min_latency_ms\",\"p50_latency_ms\",\"p95_latency_ms\",\"p99_latency_ms\",\"max_latency_ms\"\n\
                   \"LPUSH portal-bench:x:ceiling 0123\",\"41666.67\",\"0.184\",\"0.040\",\"0.151\",\"0.239\",\"2.231\",\"4.223\"\n";
        let figures = parse_csv(csv, "LPUSH").unwrap();
        assert_eq!(figures.rps, 41666.67);
        assert_eq!(
            (
                figures.latency.p50,
                figures.latency.p99,
                figures.latency.max
            ),
            (0.151, 2.231, 4.223)
        );
        assert!(parse_csv(csv, "RPOP").is_none());
    }
}
