//! The worker's clock: puts the daily jobs into the outbox on time.
//!
//! There are two daily jobs: the 90-day sweep ([`InactivitySweep`]), due at
//! [`SWEEP_AT`] (02:00 UTC, a quiet hour in the UK in both summer and winter
//! time), and the task reminders ([`TaskReminders`]), due at [`REMINDERS_AT`]
//! (06:00 UTC, so the emails are waiting at the start of the working day; the
//! reminders work the same way as the sweep described below, with the dedupe
//! key `task_reminders:<day>`). Every worker process runs this task; at
//! start-up and then at least hourly, and at each 02:00, it enqueues the sweep
//! of the latest 02:00 that has passed, with the dedupe key
//! `inactivity_sweep:<day>`. The first worker to do so writes the job; every
//! other attempt that day (other workers, restarts, the hourly re-checks) is an
//! `ON CONFLICT DO NOTHING`. A worker started at 09:00 therefore runs that
//! day's sweep at once if nobody did; one started at 01:00 leaves it to 02:00.
//!
//! Why not `apalis-cron`: a cron stream fires in each worker process, so it
//! would need the same dedupe to run once; it fires only while a process is up
//! at the exact minute, so a deploy at 02:00 would skip a day; and its jobs would
//! bypass the outbox, where every other job's retries, dead letters and history
//! live (`jobs(status: DEAD)`, `retryJob`). An insert with a dedupe key has none
//! of these problems and needs no configuration. The hourly re-check (rather
//! than sleeping a whole day) absorbs clock changes and a database that was down
//! at 02:00.
//!
//! The times are fixed rather than configured: nothing about a deployment
//! needs a different hour, and one less variable is one less thing to get wrong.

use std::time::Duration;

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use sea_orm::{DatabaseConnection, DbErr};
use uuid::Uuid;

use crate::{
    jobs::{
        expire_exports::ExpireExports, inactivity_sweep::InactivitySweep,
        task_reminders::TaskReminders,
    },
    outbox,
    runner::Shutdown,
};

/// When the daily sweep is due (UTC).
pub const SWEEP_AT: NaiveTime = match NaiveTime::from_hms_opt(2, 0, 0) {
    Some(t) => t,
    None => panic!("02:00 is a valid time"),
};

/// When the daily task reminders are due (UTC).
pub const REMINDERS_AT: NaiveTime = match NaiveTime::from_hms_opt(6, 0, 0) {
    Some(t) => t,
    None => panic!("06:00 is a valid time"),
};

/// Longest wait between two checks.
pub const RECHECK: Duration = Duration::from_secs(3600);

/// The day whose sweep is due at `now`: today from 02:00, else yesterday.
pub fn sweep_day(now: DateTime<Utc>) -> NaiveDate {
    day_due(now, SWEEP_AT)
}

/// The day whose task reminders are due at `now`: today from 06:00, else
/// yesterday.
pub fn reminders_day(now: DateTime<Utc>) -> NaiveDate {
    day_due(now, REMINDERS_AT)
}

/// The latest day whose `at` has passed at `now`.
fn day_due(now: DateTime<Utc>, at: NaiveTime) -> NaiveDate {
    let today = now.date_naive();
    if now.time() >= at {
        today
    } else {
        today.pred_opt().unwrap_or(today)
    }
}

/// Enqueues the task reminders due at `now` unless they already exist.
/// Returns the job id when this call wrote it, `None` when it was there
/// already.
pub async fn enqueue_reminders_due(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
) -> Result<Option<Uuid>, DbErr> {
    let day = reminders_day(now);
    outbox::enqueue_at(
        db,
        &TaskReminders { day },
        day.and_time(REMINDERS_AT).and_utc(),
    )
    .await
}

/// Enqueues the sweep due at `now` unless it already exists. Returns the job id
/// when this call wrote it, `None` when it was there already.
pub async fn enqueue_due(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
) -> Result<Option<Uuid>, DbErr> {
    let day = sweep_day(now);
    outbox::enqueue_at(
        db,
        &InactivitySweep { day },
        day.and_time(SWEEP_AT).and_utc(),
    )
    .await
}

/// When the daily expiry of payments exports ([`ExpireExports`]) is due:
/// 03:00 UTC, after the sweep. Dedupe key `expire_exports:<day>`, the same
/// once-a-day rule as the sweep.
pub const EXPIRE_EXPORTS_AT: NaiveTime = match NaiveTime::from_hms_opt(3, 0, 0) {
    Some(t) => t,
    None => panic!("03:00 is a valid time"),
};

/// Enqueues the export expiry of the latest 03:00 that has passed, once per
/// day (see [`EXPIRE_EXPORTS_AT`]).
pub async fn enqueue_export_expiry_due(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
) -> Result<Option<Uuid>, DbErr> {
    let day = day_due(now, EXPIRE_EXPORTS_AT);
    outbox::enqueue_at(
        db,
        &ExpireExports { day },
        day.and_time(EXPIRE_EXPORTS_AT).and_utc(),
    )
    .await
}

/// How long to wait from `now` before the next check: an hour, or less to wake
/// at the next 02:00 or 06:00.
fn next_wait(now: DateTime<Utc>) -> Duration {
    [SWEEP_AT, REMINDERS_AT, EXPIRE_EXPORTS_AT]
        .into_iter()
        .map(|at| {
            let next = (day_due(now, at) + chrono::Days::new(1))
                .and_time(at)
                .and_utc();
            (next - now).to_std().unwrap_or_default()
        })
        .fold(RECHECK, Duration::min)
}

/// Runs until `shutdown`: enqueues the daily jobs now and at every check.
/// Errors (the database is down) are logged and retried at the next check.
pub async fn run(db: DatabaseConnection, shutdown: Shutdown) {
    loop {
        let now = Utc::now();
        match enqueue_due(&db, now).await {
            Ok(Some(id)) => {
                tracing::info!(job = %id, day = %sweep_day(now), "inactivity sweep enqueued");
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "cannot enqueue the inactivity sweep; will retry"),
        }
        match enqueue_reminders_due(&db, now).await {
            Ok(Some(id)) => {
                tracing::info!(job = %id, day = %reminders_day(now), "task reminders enqueued");
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "cannot enqueue the task reminders; will retry"),
        }
        match enqueue_export_expiry_due(&db, now).await {
            Ok(Some(id)) => tracing::info!(job = %id, "payments export expiry enqueued"),
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "cannot enqueue the export expiry; will retry"),
        }
        // One second more, so the wake-up at 02:00 is never a hair early.
        let wait = next_wait(Utc::now()) + Duration::from_secs(1);
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(wait) => {}
        }
    }
}
