//! The daily expiry of payments exports: deletes the file of every
//! `COMPLETED` export whose `expires_at` has passed and marks it `EXPIRED`.
//!
//! Why a job and not only a check at download time: the files hold tenants'
//! names and claim references, so they must actually leave the store, not
//! just become unreachable. The download link is refused from `expires_at` on
//! anyway (the API checks the time), so a late run of this job never extends
//! access.
//!
//! Idempotent and safe to run twice at once: each export is handled on its
//! own — delete the object (deleting a missing object succeeds), then a
//! conditional `UPDATE ... WHERE status = 'COMPLETED'` — so a crash between
//! the two leaves an export that the next run finishes, and two runs racing
//! over one export both delete (harmlessly) and one of them marks it.
//! Exports are read in batches by id (keyset), so memory stays flat however
//! many expire on one day.

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::Expr,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use entities::{ExportStatus, payment_export};

use worker::{
    job::{Attempt, Job, JobError},
    scheduler::DailyJob,
};

use crate::jobs::JobContext;
use platform::storage::Storage;

/// Exports read per batch.
pub const BATCH_SIZE: u64 = 200;

/// Expire the exports of one day. The day only names the run: its dedupe key
/// makes any number of schedulers enqueue it once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpireExports {
    /// The (UTC) day this run is for.
    pub day: NaiveDate,
}

impl Job for ExpireExports {
    type Context = JobContext;
    const JOB_NAME: &'static str = "expire_exports";

    fn dedupe_key(&self) -> Option<String> {
        Some(format!("{}:{}", Self::JOB_NAME, self.day))
    }

    async fn run(&self, ctx: Arc<JobContext>, _attempt: Attempt) -> Result<(), JobError> {
        let expired = expire(&ctx.db, &ctx.storage, Utc::now()).await?;
        tracing::info!(day = %self.day, expired, "payments exports expired");
        Ok(())
    }
}

impl DailyJob for ExpireExports {
    fn for_day(day: NaiveDate) -> Self {
        Self { day }
    }
}

/// Deletes the files of the exports past their `expires_at` at `now` and
/// marks them `EXPIRED`. Returns how many this run marked.
pub async fn expire(
    db: &DatabaseConnection,
    storage: &Storage,
    now: DateTime<Utc>,
) -> Result<u64, JobError> {
    let mut after: Option<Uuid> = None;
    let mut marked = 0;
    loop {
        let mut select = payment_export::Entity::find()
            .filter(payment_export::Column::Status.eq(ExportStatus::Completed))
            .filter(payment_export::Column::ExpiresAt.lte(now))
            .order_by_asc(payment_export::Column::Id)
            .limit(BATCH_SIZE);
        if let Some(after) = after {
            select = select.filter(payment_export::Column::Id.gt(after));
        }
        let batch = select.all(db).await?;
        let Some(last) = batch.last() else {
            return Ok(marked);
        };
        after = Some(last.id);
        for export in batch {
            if let Some(key) = &export.storage_key {
                storage
                    .delete(key)
                    .await
                    .map_err(|e| JobError::Retry(format!("deleting export {}: {e}", export.id)))?;
            }
            let result = payment_export::Entity::update_many()
                .col_expr(
                    payment_export::Column::Status,
                    Expr::value(ExportStatus::Expired),
                )
                .col_expr(
                    payment_export::Column::StorageKey,
                    Expr::value(Option::<String>::None),
                )
                .filter(payment_export::Column::Id.eq(export.id))
                .filter(payment_export::Column::Status.eq(ExportStatus::Completed))
                .exec(db)
                .await?;
            marked += result.rows_affected;
        }
    }
}
