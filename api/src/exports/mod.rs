//! Payments CSV exports: a caller with `EXPORT_PAYMENTS` requests one with
//! the payment search's filter; the worker ([`job`]) streams the rows of that
//! very search from the database into storage; the export reports its status
//! and progress, and offers a short-lived download link until it expires.
//!
//! - The filter is validated at request time exactly as the search validates
//!   it ([`PaymentFilter::parse`]): an inverted date range or a malformed
//!   postcode is `BAD_USER_INPUT` and nothing is recorded. It is stored as
//!   the client sent it and parsed again when the export runs, so the rows
//!   are the search's rows at that moment, in the search's order.
//! - The row and its job are written in one transaction (the outbox).
//! - Files are kept [`EXPIRES_AFTER_DAYS`] days, then deleted by the daily
//!   `expire_exports` job; the link is refused from `expires_at` on even if
//!   that job has not run yet.
//! - An organisation has at most [`MAX_ACTIVE_PER_ORGANISATION`] exports
//!   queued or running at once; one more is `RATE_LIMITED` (with
//!   `retryAfterSeconds`) and records nothing. Counted with the
//!   organisation's row locked, so concurrent requests cannot overshoot.
//! - Each request is audited (`export.requested`, with the filter), and so
//!   is each download link issued (`export.download_url_issued`).

pub mod csv_format;
pub mod expire_exports;
pub mod export_payments;

use std::time::Duration;

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QuerySelect, Set,
};
use serde_json::json;
use uuid::Uuid;

use entities::{ExportStatus, organisation, payment_export};
use platform::storage::DownloadSpec;
use worker::outbox;

use crate::{
    app::App,
    audit::{self, Entry},
    error::{ApiError, ApiResult},
    payments::search::{PaymentFilter, PaymentFilterInput},
    policy::{
        Allowed, Caller,
        exports::{self as policy, ExportRequest, Requester},
    },
};

/// Exports queued or running at once per organisation.
pub const MAX_ACTIVE_PER_ORGANISATION: u64 = 3;

/// Days a completed export's file is kept.
pub const EXPIRES_AFTER_DAYS: i64 = 7;
/// How long a download link works: long enough to start the download, short
/// enough that a link copied into a chat or a log is soon useless.
pub const DOWNLOAD_URL_TTL: Duration = Duration::from_secs(5 * 60);

/// A new export row, `QUEUED`, before its job has run: `filter` is the
/// [`PaymentFilterInput`] as JSON, and one of `user` / `token` requested it.
pub fn queued(
    id: Uuid,
    organisation_id: Uuid,
    filter: serde_json::Value,
    user: Option<Uuid>,
    token: Option<Uuid>,
) -> payment_export::ActiveModel {
    payment_export::ActiveModel {
        id: Set(id),
        organisation_id: Set(organisation_id),
        requested_by_user_id: Set(user),
        requested_by_api_token_id: Set(token),
        filter: Set(filter),
        status: Set(ExportStatus::Queued),
        rows_written: Set(0),
        total_rows: Set(None),
        size_bytes: Set(0),
        storage_key: Set(None),
        error: Set(None),
        created_at: Set(Utc::now()),
        started_at: Set(None),
        completed_at: Set(None),
        expires_at: Set(None),
    }
}

/// Records an export request and queues its job, for the organisation and
/// requester that `policy::exports::can_request` allowed.
pub async fn request(
    app: &App,
    allowed: &Allowed<ExportRequest>,
    filter: PaymentFilterInput,
) -> ApiResult<payment_export::Model> {
    PaymentFilter::parse(&filter, "filter")?;
    let (user, token) = match allowed.requester {
        Requester::User(id) => (Some(id), None),
        Requester::ApiToken(id) => (None, Some(id)),
    };
    let id = Uuid::now_v7();
    let txn = platform::db::begin_write(&app.db).await?;
    // The organisation's row, locked: concurrent requests count in turn.
    organisation::Entity::find_by_id(allowed.organisation_id)
        .lock_exclusive()
        .one(&txn)
        .await?
        .ok_or(ApiError::NotFound("Organisation"))?;
    let active = payment_export::Entity::find()
        .filter(payment_export::Column::OrganisationId.eq(allowed.organisation_id))
        .filter(payment_export::Column::Status.is_in([ExportStatus::Queued, ExportStatus::Running]))
        .count(&txn)
        .await?;
    if active >= MAX_ACTIVE_PER_ORGANISATION {
        return Err(ApiError::RateLimited {
            retry_after_secs: 30,
        });
    }
    let row = queued(
        id,
        allowed.organisation_id,
        serde_json::to_value(&filter).map_err(anyhow::Error::from)?,
        user,
        token,
    )
    .insert(&txn)
    .await?;
    outbox::enqueue(&txn, &export_payments::ExportPayments { export_id: id }).await?;
    audit::record(
        &txn,
        allowed.actor(),
        Entry {
            action: "export.requested",
            target_type: "payment_export",
            target_id: Some(id),
            organisation_id: Some(allowed.organisation_id),
        },
        None,
        Some(json!({ "filter": row.filter })),
    )
    .await?;
    txn.commit().await?;
    Ok(row)
}

/// One export by id, if the caller may see it.
pub async fn find(app: &App, caller: &Caller<'_>, id: Uuid) -> ApiResult<payment_export::Model> {
    policy::find_visible(&app.db, caller, id).await
}

/// A page of the exports the caller may see, newest first, after `after`
/// (keyset on the time-ordered id), and whether more follow.
pub async fn list(
    app: &App,
    caller: &Caller<'_>,
    organisation_id: Option<Uuid>,
    after: Option<Uuid>,
    limit: u64,
) -> ApiResult<(Vec<payment_export::Model>, bool)> {
    let select = payment_export::Entity::find().filter(policy::visible(caller, organisation_id)?);
    Ok(
        platform::db::newest_first(&app.db, select, payment_export::Column::Id, after, limit)
            .await?,
    )
}

/// Whether the export's file can be downloaded now.
pub fn downloadable(export: &payment_export::Model) -> bool {
    export.status == ExportStatus::Completed
        && export.storage_key.is_some()
        && export.expires_at.is_some_and(|at| at > Utc::now())
}

/// The file name offered for download.
pub fn filename(export: &payment_export::Model) -> String {
    format!(
        "payments-{}.csv",
        export
            .completed_at
            .unwrap_or(export.created_at)
            .format("%Y-%m-%d-%H%M")
    )
}

/// A short-lived download link, when the file is ready and not expired,
/// audited as issued to `caller`. The caller has already been allowed to see
/// `export` (the policy).
pub async fn download_url(
    app: &App,
    caller: &Caller<'_>,
    export: &payment_export::Model,
) -> ApiResult<Option<String>> {
    let Some(key) = export
        .storage_key
        .as_deref()
        .filter(|_| downloadable(export))
    else {
        return Ok(None);
    };
    let name = filename(export);
    let url = app
        .storage
        .download_url(&DownloadSpec {
            key,
            filename: &name,
            content_type: "text/csv; charset=utf-8",
            ttl: DOWNLOAD_URL_TTL,
        })
        .await
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("download URL: {e}")))?;
    audit::record(
        &app.db,
        &caller.actor,
        Entry {
            action: "export.download_url_issued",
            target_type: "payment_export",
            target_id: Some(export.id),
            organisation_id: Some(export.organisation_id),
        },
        None,
        Some(json!({ "valid_seconds": DOWNLOAD_URL_TTL.as_secs() })),
    )
    .await?;
    Ok(Some(url))
}

/// Rejects a filter the search would reject (for callers that only check).
pub fn validate(filter: &PaymentFilterInput) -> ApiResult<PaymentFilter> {
    PaymentFilter::parse(filter, "filter")
}
