//! The daily `prune_webhook_log` job: the delivery log is kept for
//! `PORTAL_WEBHOOK_LOG_RETENTION_DAYS` (30 by default), then an event goes
//! with its deliveries and their attempts.
//!
//! Why bounded: the log holds what receivers answered (excerpts of up to
//! 1 KiB) and grows with every event; a month covers the investigation of
//! any delivery problem and the day of retries, and an event older than
//! that cannot be redelivered. Rows are deleted children first (attempts,
//! deliveries, events) in batches of [`BATCH`], so a first run over a large
//! backlog never holds a long lock, and a run that stops half way leaves
//! nothing dangling for the next one.

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr};
use serde::{Deserialize, Serialize};

use worker::{
    job::{Attempt, Job, JobError},
    outbox::stmt,
    scheduler::DailyJob,
};

use crate::jobs::JobContext;

/// Rows deleted per statement.
pub const BATCH: i64 = 1000;

/// Prune the webhook log for one day. The day only names the run: its
/// dedupe key makes any number of schedulers enqueue it once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PruneWebhookLog {
    /// The (UTC) day this run is for.
    pub day: NaiveDate,
}

impl Job for PruneWebhookLog {
    type Context = JobContext;
    const JOB_NAME: &'static str = "prune_webhook_log";
    /// Works through a backlog in batches.
    const TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30 * 60);

    fn dedupe_key(&self) -> Option<String> {
        Some(format!("{}:{}", Self::JOB_NAME, self.day))
    }

    async fn run(&self, ctx: Arc<JobContext>, _attempt: Attempt) -> Result<(), JobError> {
        let retention = chrono::Duration::from_std(ctx.config.webhooks.log_retention)
            .unwrap_or(chrono::Duration::days(30));
        let pruned = prune(&ctx.db, Utc::now() - retention).await?;
        tracing::info!(day = %self.day, events = pruned, "webhook log pruned");
        Ok(())
    }
}

impl DailyJob for PruneWebhookLog {
    fn for_day(day: NaiveDate) -> Self {
        Self { day }
    }
}

/// Deletes the events created before `cutoff`, with their deliveries and
/// attempts. Returns how many events went.
pub async fn prune(db: &DatabaseConnection, cutoff: DateTime<Utc>) -> Result<u64, DbErr> {
    const OLD_EVENTS: &str = "SELECT id FROM webhook_events WHERE created_at < $1";
    let steps = [
        format!(
            "DELETE FROM webhook_attempts WHERE id IN (SELECT a.id FROM webhook_attempts a \
             JOIN webhook_deliveries d ON d.id = a.delivery_id \
             WHERE d.event_id IN ({OLD_EVENTS}) LIMIT $2)"
        ),
        format!(
            "DELETE FROM webhook_deliveries WHERE id IN (SELECT id FROM webhook_deliveries \
             WHERE event_id IN ({OLD_EVENTS}) LIMIT $2)"
        ),
        "DELETE FROM webhook_events WHERE id IN (SELECT id FROM webhook_events \
         WHERE created_at < $1 LIMIT $2)"
            .to_owned(),
    ];
    let backend = db.get_database_backend();
    let mut events = 0;
    for (i, sql) in steps.iter().enumerate() {
        loop {
            let deleted = db
                .execute_raw(stmt(backend, sql, vec![cutoff.into(), BATCH.into()]))
                .await?
                .rows_affected();
            if i == 2 {
                events += deleted;
            }
            if deleted < BATCH as u64 {
                break;
            }
        }
    }
    Ok(events)
}
