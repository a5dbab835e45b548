//! The operators' view of the outbox ledger: list jobs (the dead-letter queue
//! is the `DEAD` ones), read one, count them by status, and retry a dead one.
//! Service administrators only: every function takes the capability of
//! `policy::jobs::can_operate`.

use entities::{JobStatus, outbox_job};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::{
    app::App,
    audit::{self, Entry},
    error::{ApiError, ApiResult},
    policy::{Allowed, Staff},
};

/// A page of jobs newest first, of one `status` if given, after the job
/// `after`; and whether more follow.
pub async fn list(
    app: &App,
    _operator: &Allowed<Staff>,
    status: Option<JobStatus>,
    after: Option<Uuid>,
    limit: u64,
) -> ApiResult<(Vec<outbox_job::Model>, bool)> {
    let mut query = outbox_job::Entity::find();
    if let Some(status) = status {
        query = query.filter(outbox_job::Column::Status.eq(status));
    }
    Ok(platform::db::newest_first(&app.db, query, outbox_job::Column::Id, after, limit).await?)
}

/// One job, or `NOT_FOUND`.
pub async fn get(app: &App, _operator: &Allowed<Staff>, id: Uuid) -> ApiResult<outbox_job::Model> {
    outbox_job::Entity::find_by_id(id)
        .one(&app.db)
        .await?
        .ok_or(ApiError::NotFound("Job"))
}

/// How many jobs are in each status.
pub async fn counts(app: &App, _operator: &Allowed<Staff>) -> ApiResult<Vec<(JobStatus, i64)>> {
    Ok(worker::outbox::counts(&app.db).await?)
}

/// Puts a dead job back in line with a fresh set of attempts. Only dead jobs
/// can be retried (`CONFLICT` otherwise; `NOT_FOUND` for no such job).
pub async fn retry(app: &App, operator: &Allowed<Staff>, id: Uuid) -> ApiResult<outbox_job::Model> {
    let txn = platform::db::begin_write(&app.db).await?;
    if !worker::outbox::retry_dead(&txn, id).await? {
        drop(txn);
        return Err(match get(app, operator, id).await {
            Err(e) => e,
            Ok(_) => ApiError::Conflict("Only a dead job can be retried.".into()),
        });
    }
    // Who put a dead job back in line, and which (its kind and last error;
    // never its payload).
    let job = outbox_job::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or(ApiError::NotFound("Job"))?;
    audit::record(
        &txn,
        operator.actor(),
        Entry {
            action: "job.retried",
            target_type: "job",
            target_id: Some(id),
            organisation_id: None,
        },
        Some(serde_json::json!({ "status": JobStatus::Dead, "last_error": job.last_error })),
        Some(serde_json::json!({ "status": job.status, "kind": job.kind })),
    )
    .await?;
    txn.commit().await?;
    tracing::info!(job = %id, "dead job retried by an operator");
    Ok(job)
}
