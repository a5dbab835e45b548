//! One pipeline run: the worker started and warmed up, the jobs enqueued
//! while it runs (with [`Progress`] lines), the wait until all are done, and
//! the timings read back from the ledger as a [`Measurement`].

use std::{collections::HashMap, sync::Arc, time::Duration};

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, QuerySelect,
};
use tokio::time::Instant;
use uuid::Uuid;

use api::jobs::{noop::Noop, run_worker};
use entities::{JobStatus, outbox_job};
use platform::config::Config;
use worker::{job::Job, outbox, queue::Queue, runner::Shutdown};

use super::{Args, Enqueue, Measurement};
use crate::table::Percentiles;

/// Starts the worker, warms it up, enqueues the jobs while it runs, waits for
/// all of them to be done, stops the worker and reads the timings back.
pub(super) async fn drive(
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
            enqueue_all(label, &db, args.jobs, args.batch, args.enqueue, args.rate),
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

/// Writes `jobs` no-op jobs through the outbox, `batch` per write transaction,
/// written `how`, at `rate` jobs per second (0: as fast as it can).
async fn enqueue_all(
    label: &str,
    db: &DatabaseConnection,
    jobs: u64,
    batch: u64,
    how: Enqueue,
    rate: u64,
) -> anyhow::Result<Enqueued> {
    let started = Instant::now();
    let mut written = 0u64;
    let mut committed = HashMap::with_capacity(jobs as usize);
    let mut progress = Progress::new(label, "enqueued", jobs);
    let mut next = 1;
    while next <= jobs {
        let end = (next + batch).min(jobs + 1);
        if rate > 0 {
            // The transaction with jobs `written..` is due at written / rate.
            tokio::time::sleep_until(
                started + Duration::from_secs_f64(written as f64 / rate as f64),
            )
            .await;
        }
        written += end - next;
        let txn = platform::db::begin_write(db).await?;
        let jobs: Vec<Noop> = (next..end).map(|tag| Noop { tag, sleep_ms: 0 }).collect();
        let ids = match how {
            Enqueue::Many => outbox::enqueue_many(&txn, &jobs).await?,
            Enqueue::Each => {
                let mut ids = Vec::with_capacity(jobs.len());
                for job in &jobs {
                    ids.push(
                        outbox::enqueue(&txn, job)
                            .await?
                            .context("a no-op job has no dedupe key, so it is always written")?,
                    );
                }
                ids
            }
        };
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
