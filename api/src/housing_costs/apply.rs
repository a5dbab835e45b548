//! `apply_housing_costs`: applies a stored housing-costs CSV in one
//! transaction, or rejects it with every failing row (see the module docs of
//! [`super`]).
//!
//! Idempotent: only a `QUEUED` or `RUNNING` update is worked on, and its
//! outcome (the property changes, the final status, the audit entry and the
//! email) commits in one transaction, so a re-run after a crash either finds
//! the work done or does it once. Each property `UPDATE` re-checks that the
//! property is still the organisation's and not removed; a row that no
//! longer matches rolls the whole transaction back and becomes a listed
//! error, so nothing is ever half-applied.

use std::sync::Arc;

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    IntoActiveModel, QueryFilter, Set, sea_query::Expr,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::io::AsyncReadExt;
use uuid::Uuid;

use crate::{
    graphql::scalars::NodeKind,
    jobs::JobContext,
    notifications::templates::EmailTemplate,
    notifications::{self, Recipient},
    webhooks,
};
use entities::{BulkUpdateStatus, WebhookEventType, housing_cost_update, property, user};
use platform::storage::Storage;
use worker::job::{Attempt, Job, JobError};

use super::csv_file::{self, RowError};
use crate::audit::{self, Actor, Entry};

/// Apply one uploaded file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplyHousingCosts {
    /// The `housing_cost_updates` row.
    pub update_id: Uuid,
}

impl Job for ApplyHousingCosts {
    type Context = JobContext;
    const JOB_NAME: &'static str = "apply_housing_costs";
    /// A whole CSV in one transaction: longer than a single delivery.
    const TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30 * 60);

    async fn run(&self, ctx: Arc<JobContext>, attempt: Attempt) -> Result<(), JobError> {
        let result = apply(&ctx.db, &ctx.storage, self.update_id).await;
        if let Err(e) = &result
            && (attempt.is_last || e.is_permanent())
        {
            tracing::error!(update = %self.update_id, error = %e, "housing costs update failed for good");
            housing_cost_update::Entity::update_many()
                .col_expr(
                    housing_cost_update::Column::Status,
                    Expr::value(BulkUpdateStatus::Failed),
                )
                .col_expr(
                    housing_cost_update::Column::CompletedAt,
                    Expr::value(Some(Utc::now())),
                )
                .filter(housing_cost_update::Column::Id.eq(self.update_id))
                .filter(
                    housing_cost_update::Column::Status
                        .is_in([BulkUpdateStatus::Queued, BulkUpdateStatus::Running]),
                )
                .exec(&ctx.db)
                .await?;
        }
        let applied = result?;
        tracing::info!(update = %self.update_id, outcome = ?applied, "housing costs update processed");
        Ok(())
    }
}

/// What one run did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// Already finished by an earlier run.
    AlreadyDone,
    /// Every row applied.
    Applied(u64),
    /// Nothing applied; this many problems listed.
    Rejected(usize),
}

/// Applies update `id` (see the module docs).
pub async fn apply(
    db: &DatabaseConnection,
    storage: &Storage,
    id: Uuid,
) -> Result<Applied, JobError> {
    let Some(update) = housing_cost_update::Entity::find_by_id(id).one(db).await? else {
        return Err(JobError::Permanent(format!("no housing cost update {id}")));
    };
    if !matches!(
        update.status,
        BulkUpdateStatus::Queued | BulkUpdateStatus::Running
    ) {
        return Ok(Applied::AlreadyDone);
    }
    if update.status == BulkUpdateStatus::Queued {
        let mut running = update.clone().into_active_model();
        running.status = Set(BulkUpdateStatus::Running);
        running.update(db).await?;
    }
    let bytes = read_file(storage, &update.storage_key).await?;

    let txn = platform::db::begin_write(db).await?;
    let outcome = match csv_file::check(&bytes) {
        Err(problems) => Err(problems),
        Ok(rows) => {
            let references: Vec<&str> = rows.iter().map(|r| r.reference.as_str()).collect();
            let properties =
                super::properties_named(&txn, update.organisation_id, &references).await?;
            match csv_file::check_against(&rows, &properties) {
                Err(problems) => Err(problems),
                Ok(ids) => write_rows(&txn, update.organisation_id, &rows, &ids).await?,
            }
        }
    };
    let now = Utc::now();
    let result = match outcome {
        Ok(applied) => {
            let mut done = update.clone().into_active_model();
            done.status = Set(BulkUpdateStatus::Applied);
            done.applied_count = Set(i32::try_from(applied).unwrap_or(i32::MAX));
            done.errors = Set(None);
            done.completed_at = Set(Some(now));
            done.update(&txn).await?;
            audit::record(
                &txn,
                &Actor::system().as_user(update.uploaded_by_user_id),
                Entry {
                    action: "housing_costs.apply",
                    target_type: "housing_cost_update",
                    target_id: Some(update.id),
                    organisation_id: Some(update.organisation_id),
                },
                None,
                Some(json!({
                    "file_name": update.original_filename,
                    "applied_count": applied,
                })),
            )
            .await
            .map_err(|e| JobError::Retry(e.to_string()))?;
            webhooks::events::emit(
                &txn,
                update.organisation_id,
                WebhookEventType::HousingCostUpdateApplied,
                json!({
                    "housing_cost_update_id": webhooks::events::id(NodeKind::HousingCostUpdate, update.id),
                    "applied_count": applied,
                }),
            )
            .await?;
            Applied::Applied(applied)
        }
        Err(problems) => {
            // Nothing of the file may stay: a fresh transaction records the
            // rejection after the applying one is rolled back.
            txn.rollback().await?;
            let txn = platform::db::begin_write(db).await?;
            let count = problems.len();
            reject(&txn, &update, problems).await?;
            webhooks::events::emit(
                &txn,
                update.organisation_id,
                WebhookEventType::HousingCostUpdateRejected,
                json!({
                    "housing_cost_update_id": webhooks::events::id(NodeKind::HousingCostUpdate, update.id),
                    "error_count": count,
                }),
            )
            .await?;
            notify_uploader(&txn, &update, false, count).await?;
            txn.commit().await?;
            return Ok(Applied::Rejected(count));
        }
    };
    notify_uploader(&txn, &update, true, 0).await?;
    txn.commit().await?;
    Ok(result)
}

/// Reads the stored file, refusing anything over the upload limit.
async fn read_file(storage: &Storage, key: &str) -> Result<Vec<u8>, JobError> {
    let reader = storage.get(key).await.map_err(|e| {
        if e.is_transient() {
            JobError::Retry(format!("reading {key}: {e}"))
        } else {
            JobError::Permanent(format!("reading {key}: {e}"))
        }
    })?;
    let mut bytes = vec![];
    reader
        .take(csv_file::MAX_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .await
        .map_err(|e| JobError::Retry(format!("reading {key}: {e}")))?;
    if bytes.len() > csv_file::MAX_BYTES {
        return Err(JobError::Permanent(format!("{key} is over the size limit")));
    }
    Ok(bytes)
}

/// Updates every property; `Err` with the rows that no longer match a live
/// property of the organisation (the caller then rolls back).
async fn write_rows(
    conn: &impl ConnectionTrait,
    organisation_id: Uuid,
    rows: &[csv_file::RowUpdate],
    ids: &[Uuid],
) -> Result<Result<u64, Vec<RowError>>, JobError> {
    let now = Utc::now();
    let mut gone = vec![];
    for (row, id) in rows.iter().zip(ids) {
        let mut update = property::Entity::update_many()
            .col_expr(property::Column::RentPence, Expr::value(row.rent_pence))
            .col_expr(property::Column::UpdatedAt, Expr::value(now));
        if let Some(charge) = row.service_charge_pence {
            update = update.col_expr(property::Column::ServiceChargePence, Expr::value(charge));
        }
        if let Some(frequency) = row.frequency {
            update = update.col_expr(property::Column::RentFrequency, Expr::value(frequency));
        }
        let result = update
            .filter(property::Column::Id.eq(*id))
            .filter(property::Column::OrganisationId.eq(organisation_id))
            .filter(property::Column::RemovedAt.is_null())
            .exec(conn)
            .await?;
        if result.rows_affected != 1 {
            gone.push(RowError {
                row: row.row,
                column: "property_reference".to_owned(),
                reason: "This property has been removed; its costs cannot be updated.".to_owned(),
            });
        }
    }
    Ok(if gone.is_empty() {
        Ok(rows.len() as u64)
    } else {
        Err(gone)
    })
}

async fn reject(
    conn: &impl ConnectionTrait,
    update: &housing_cost_update::Model,
    problems: Vec<RowError>,
) -> Result<(), JobError> {
    let mut rejected = update.clone().into_active_model();
    rejected.status = Set(BulkUpdateStatus::Rejected);
    rejected.applied_count = Set(0);
    rejected.errors = Set(Some(
        serde_json::to_value(&problems).map_err(|e| JobError::Permanent(e.to_string()))?,
    ));
    rejected.completed_at = Set(Some(Utc::now()));
    rejected.update(conn).await?;
    Ok(())
}

async fn notify_uploader(
    conn: &impl ConnectionTrait,
    update: &housing_cost_update::Model,
    applied: bool,
    error_count: usize,
) -> Result<(), JobError> {
    let Some(uploader) = user::Entity::find_by_id(update.uploaded_by_user_id)
        .one(conn)
        .await?
    else {
        return Ok(());
    };
    notifications::queue_email(
        conn,
        &Recipient {
            address: uploader.email.clone(),
            user_id: Some(uploader.id),
        },
        EmailTemplate::HousingCostsOutcome,
        json!({
            "first_name": uploader.first_name,
            "update_id": update.id,
            "file_name": update.original_filename,
            "applied": applied,
            "row_count": update.row_count,
            "error_count": error_count,
        }),
    )
    .await?;
    Ok(())
}
