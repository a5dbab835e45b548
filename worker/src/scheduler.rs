//! The worker's clock: puts the daily jobs into the outbox on time.
//!
//! The product passes its schedule in as a table of [`Daily`] entries (one
//! per daily job: `api::jobs::SCHEDULE`), so this module knows times and
//! dedupe keys, not what the jobs do. Every worker process runs [`run`]; at
//! start-up, then at least hourly and at each entry's time, it enqueues, for
//! every entry, the job of the latest day whose time has passed, with the
//! dedupe key `<job name>:<day>` (the job's own [`Job::dedupe_key`]). The first
//! worker to do so writes the job; every other attempt that day (other
//! workers, restarts, the hourly re-checks) is an `ON CONFLICT DO NOTHING`. A
//! worker started at 09:00 therefore runs that day's 02:00 job at once if
//! nobody did; one started at 01:00 leaves it to 02:00.
//!
//! Why not `apalis-cron`: a cron stream fires in each worker process, so it
//! would need the same dedupe to run once; it fires only while a process is up
//! at the exact minute, so a deploy at 02:00 would skip a day; and its jobs would
//! bypass the outbox, where every other job's retries, dead letters and history
//! live (`jobs(status: DEAD)`, `retryJob`). An insert with a dedupe key has none
//! of these problems and needs no configuration. The hourly re-check (rather
//! than sleeping a whole day) absorbs clock changes and a database that was down
//! at the job's time.
//!
//! The times are fixed in the product's table rather than configured: nothing
//! about a deployment needs a different hour, and one less variable is one
//! less thing to get wrong.

use std::time::Duration;

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use futures::future::BoxFuture;
use sea_orm::{DatabaseConnection, DbErr};
use uuid::Uuid;

use crate::{job::Job, outbox, runner::Shutdown};

/// Longest wait between two checks.
pub const RECHECK: Duration = Duration::from_secs(3600);

/// A job that runs once a day, for a day.
pub trait DailyJob: Job {
    /// The job for `day`. Its [`Job::dedupe_key`] must name the day, so that
    /// one job is written per day whatever the number of workers.
    fn for_day(day: NaiveDate) -> Self;
}

type Enqueue = for<'a> fn(
    &'a DatabaseConnection,
    NaiveDate,
    DateTime<Utc>,
) -> BoxFuture<'a, Result<Option<Uuid>, DbErr>>;

/// One row of the daily schedule: which job, at what time (UTC).
pub struct Daily {
    /// What the logs call it.
    pub name: &'static str,
    /// When it is due each day (UTC).
    pub at: NaiveTime,
    enqueue: Enqueue,
}

impl Daily {
    /// Job `J`, due every day at `hour:minute` UTC.
    pub const fn of<J: DailyJob>(name: &'static str, hour: u32, minute: u32) -> Self {
        let at = match NaiveTime::from_hms_opt(hour, minute, 0) {
            Some(t) => t,
            None => panic!("not a time of day"),
        };
        Self {
            name,
            at,
            enqueue: enqueue_for::<J>,
        }
    }

    /// The latest day whose time has passed at `now`: today from [`Self::at`],
    /// else yesterday.
    pub fn day_due(&self, now: DateTime<Utc>) -> NaiveDate {
        let today = now.date_naive();
        if now.time() >= self.at {
            today
        } else {
            today.pred_opt().unwrap_or(today)
        }
    }

    /// Enqueues the job due at `now` unless it already exists. Returns the job
    /// id when this call wrote it, `None` when it was there already.
    pub async fn enqueue_due(
        &self,
        db: &DatabaseConnection,
        now: DateTime<Utc>,
    ) -> Result<Option<Uuid>, DbErr> {
        let day = self.day_due(now);
        (self.enqueue)(db, day, day.and_time(self.at).and_utc()).await
    }

    /// How long from `now` until this entry is next due.
    fn until_next(&self, now: DateTime<Utc>) -> Duration {
        let next = (self.day_due(now) + chrono::Days::new(1))
            .and_time(self.at)
            .and_utc();
        (next - now).to_std().unwrap_or_default()
    }
}

fn enqueue_for<J: DailyJob>(
    db: &DatabaseConnection,
    day: NaiveDate,
    run_at: DateTime<Utc>,
) -> BoxFuture<'_, Result<Option<Uuid>, DbErr>> {
    Box::pin(async move { outbox::enqueue_at(db, &J::for_day(day), run_at).await })
}

/// How long to wait from `now` before the next check: an hour, or less to wake
/// at the next entry's time.
pub fn next_wait(schedule: &[Daily], now: DateTime<Utc>) -> Duration {
    schedule
        .iter()
        .map(|daily| daily.until_next(now))
        .fold(RECHECK, Duration::min)
}

/// Runs until `shutdown`: enqueues the jobs of `schedule` now and at every
/// check. Errors (the database is down) are logged and retried at the next
/// check.
pub async fn run(db: DatabaseConnection, schedule: &'static [Daily], shutdown: Shutdown) {
    loop {
        let now = Utc::now();
        for daily in schedule {
            match daily.enqueue_due(&db, now).await {
                Ok(Some(id)) => {
                    tracing::info!(job = %id, day = %daily.day_due(now), "{} enqueued", daily.name);
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "cannot enqueue the {}; will retry", daily.name);
                }
            }
        }
        // One second more, so the wake-up at the due time is never a hair early.
        let wait = next_wait(schedule, Utc::now()) + Duration::from_secs(1);
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(wait) => {}
        }
    }
}
