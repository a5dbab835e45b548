//! `export_payments`: writes one export's CSV into storage, streaming.
//!
//! 1. The export becomes `RUNNING` (with `started_at`); `total_rows`, the
//!    search's count for the filter (so progress can be shown), is counted
//!    beside the rows on another connection and set when known (within a
//!    moment of the start), then set to the rows written at the end.
//! 2. Rows flow from the database straight into [`Storage::put`] through a
//!    small bounded channel, so memory stays flat whatever the row count:
//!    - on PostgreSQL, `COPY (<the search's SELECT>) TO STDOUT WITH (FORMAT
//!      csv)` on one pooled connection, the cells formatted and
//!      formula-escaped in SQL ([`csv_format::copy_statement`]); the bytes
//!      are passed on as they arrive, with no per-row work in Rust (records
//!      are counted as COPY messages, one per row) — that is what makes it
//!      as fast as `psql \copy`;
//!    - on SQLite, SeaORM's row stream of the same query, each row written
//!      with the `csv` crate ([`csv_format::ExportRow::write`]).
//!
//!    `rows_written` is updated every [`PROGRESS_ROWS`] rows or
//!    [`PROGRESS_EVERY`], whichever comes first.
//! 3. `COMPLETED` with the row count, size, `completed_at` and `expires_at`,
//!    and the requester's email (a link to the signed-in portal, never to
//!    the file), in one transaction.
//!
//! Failures: a database or storage error fails the attempt; the writer hands
//! the error to the upload, which then aborts (S3 multipart aborted, local
//! temporary file removed), and the object is deleted besides, so nothing
//! partial is left. The attempt is retried with backoff; after the last one
//! the export is `FAILED` with a generic message (details go to the log).
//! Idempotent: a re-run writes the same key again, and a finished export
//! (completed, failed or expired) is left alone.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use bytes::{Bytes, BytesMut};
use chrono::Utc;
use futures::{SinkExt, StreamExt, channel::mpsc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, DbBackend, EntityTrait, IntoActiveModel,
    QueryFilter, Set, sea_query::Expr,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio_util::io::StreamReader;
use uuid::Uuid;

use crate::{
    graphql::scalars::NodeKind,
    jobs::JobContext,
    notifications::templates::EmailTemplate,
    notifications::{self, Recipient},
    webhooks,
};
use entities::{ExportStatus, WebhookEventType, payment_export, user};
use platform::storage::{Storage, keys};
use worker::job::{Attempt, Job, JobError};

use super::{EXPIRES_AFTER_DAYS, csv_format};
use crate::payments::search::{self, PaymentFilter, PaymentFilterInput};

/// Update `rows_written` at least every this many rows...
pub const PROGRESS_ROWS: u64 = 100_000;
/// ...or this often.
pub const PROGRESS_EVERY: Duration = Duration::from_secs(1);
/// Chunks in flight between the database and the upload (each at most a
/// few tens of KiB): the bound that keeps memory flat.
const CHANNEL_CHUNKS: usize = 16;
/// Bytes collected before a chunk is passed on to the upload.
const CHUNK_BYTES: usize = 64 * 1024;
/// What the requester sees when an export failed for good; the cause is in
/// the worker's log.
pub const FAILED_MESSAGE: &str = "The export could not be completed. Please request it again; if it fails again, contact support.";

/// Build one export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportPayments {
    /// The `payment_exports` row.
    pub export_id: Uuid,
}

impl Job for ExportPayments {
    type Context = JobContext;
    const JOB_NAME: &'static str = "export_payments";
    /// Every payment of the filter, written and uploaded: minutes on a large organisation.
    const TIMEOUT: Duration = Duration::from_secs(30 * 60);

    async fn run(&self, ctx: Arc<JobContext>, attempt: Attempt) -> Result<(), JobError> {
        let result = build(&ctx.db, &ctx.storage, self.export_id).await;
        match &result {
            Ok(report) => tracing::info!(
                export = %self.export_id,
                rows = report.rows,
                bytes = report.bytes,
                "payments export written"
            ),
            Err(e) if attempt.is_last || e.is_permanent() => {
                tracing::error!(export = %self.export_id, error = %e, "payments export failed for good");
                mark_failed(&ctx.db, self.export_id).await?;
            }
            Err(e) => {
                tracing::warn!(export = %self.export_id, error = %e, "payments export attempt failed")
            }
        }
        result.map(|_| ())
    }
}

/// What a run wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Report {
    /// Data rows written.
    pub rows: u64,
    /// Bytes stored.
    pub bytes: u64,
}

/// Marks export `id` failed, with its `payment_export.failed` event in the
/// same transaction (only when this call failed it: not twice).
async fn mark_failed(db: &DatabaseConnection, id: Uuid) -> Result<(), JobError> {
    let txn = platform::db::begin_write(db).await?;
    let failed = payment_export::Entity::update_many()
        .col_expr(
            payment_export::Column::Status,
            Expr::value(ExportStatus::Failed),
        )
        .col_expr(
            payment_export::Column::Error,
            Expr::value(Some(FAILED_MESSAGE.to_owned())),
        )
        .col_expr(
            payment_export::Column::CompletedAt,
            Expr::value(Some(Utc::now())),
        )
        .col_expr(
            payment_export::Column::StorageKey,
            Expr::value(Option::<String>::None),
        )
        .filter(payment_export::Column::Id.eq(id))
        .filter(payment_export::Column::Status.is_in([ExportStatus::Queued, ExportStatus::Running]))
        .exec(&txn)
        .await?;
    if failed.rows_affected > 0
        && let Some(export) = payment_export::Entity::find_by_id(id).one(&txn).await?
    {
        webhooks::events::emit(
            &txn,
            export.organisation_id,
            WebhookEventType::PaymentExportFailed,
            json!({
                "payment_export_id": webhooks::events::id(NodeKind::PaymentExport, export.id),
            }),
        )
        .await?;
    }
    txn.commit().await?;
    Ok(())
}

/// Builds export `id` (see the module docs).
pub async fn build(
    db: &DatabaseConnection,
    storage: &Storage,
    id: Uuid,
) -> Result<Report, JobError> {
    let Some(export) = payment_export::Entity::find_by_id(id).one(db).await? else {
        return Err(JobError::Permanent(format!("no payments export {id}")));
    };
    if !matches!(export.status, ExportStatus::Queued | ExportStatus::Running) {
        return Ok(Report {
            rows: export.rows_written.max(0) as u64,
            bytes: export.size_bytes.max(0) as u64,
        });
    }
    let input: PaymentFilterInput = serde_json::from_value(export.filter.clone())
        .map_err(|e| JobError::Permanent(format!("stored filter unreadable: {e}")))?;
    let filter = PaymentFilter::parse(&input, "filter")
        .map_err(|e| JobError::Permanent(format!("stored filter invalid: {e}")))?;
    let mut running = export.clone().into_active_model();
    running.status = Set(ExportStatus::Running);
    running.started_at = Set(Some(Utc::now()));
    running.rows_written = Set(0);
    running.total_rows = Set(None);
    running.update(db).await?;

    // The count for `total_rows` runs beside the rows (another pooled
    // connection), not before them: it is known within a moment of the
    // start, and the export does not wait for it.
    let count = async {
        let total = search::totals(db, export.organisation_id, &filter)
            .await
            .map_err(|e| JobError::Retry(e.to_string()))?
            .count;
        payment_export::Entity::update_many()
            .col_expr(payment_export::Column::TotalRows, Expr::value(Some(total)))
            .filter(payment_export::Column::Id.eq(id))
            .exec(db)
            .await?;
        Ok::<i64, JobError>(total)
    };
    let key = keys::export(id);
    let (counted, written) = tokio::join!(
        count,
        write_csv(db, storage, &key, id, export.organisation_id, &filter)
    );
    let written = counted.and(written);
    let report = match written {
        Ok(report) => report,
        Err(e) => {
            if let Err(d) = storage.delete(&key).await {
                tracing::warn!(error = %d, key, "cannot delete a partial export");
            }
            return Err(e);
        }
    };

    let now = Utc::now();
    let txn = platform::db::begin_write(db).await?;
    let mut done = export.clone().into_active_model();
    done.status = Set(ExportStatus::Completed);
    done.rows_written = Set(report.rows as i64);
    // What was written is the total (the count ran in its own snapshot).
    done.total_rows = Set(Some(report.rows as i64));
    done.size_bytes = Set(report.bytes as i64);
    done.storage_key = Set(Some(key));
    done.error = Set(None);
    done.completed_at = Set(Some(now));
    done.expires_at = Set(Some(now + chrono::Duration::days(EXPIRES_AFTER_DAYS)));
    let done = done.update(&txn).await?;
    webhooks::events::emit(
        &txn,
        export.organisation_id,
        WebhookEventType::PaymentExportCompleted,
        json!({
            "payment_export_id": webhooks::events::id(NodeKind::PaymentExport, id),
            "row_count": report.rows,
            "size_bytes": report.bytes,
            "expires_at": done.expires_at,
        }),
    )
    .await?;
    if let Some(user_id) = export.requested_by_user_id
        && let Some(requester) = user::Entity::find_by_id(user_id).one(&txn).await?
    {
        notifications::queue_email(
            &txn,
            &Recipient {
                address: requester.email.clone(),
                user_id: Some(requester.id),
            },
            EmailTemplate::ExportReady,
            json!({
                "first_name": requester.first_name,
                "export_id": id,
                "row_count": report.rows,
                "expires_at": done.expires_at,
            }),
        )
        .await?;
    }
    txn.commit().await?;
    Ok(report)
}

type Chunk = Result<Bytes, std::io::Error>;

/// Streams the CSV of `filter` into the object at `key`.
pub async fn write_csv(
    db: &DatabaseConnection,
    storage: &Storage,
    key: &str,
    export_id: Uuid,
    organisation_id: Uuid,
    filter: &PaymentFilter,
) -> Result<Report, JobError> {
    let (tx, rx) = mpsc::channel::<Chunk>(CHANNEL_CHUNKS);
    let select = search::query(organisation_id, filter);
    let produce = async move {
        let mut progress = Progress::new(db, export_id);
        let result = match db.get_database_backend() {
            DbBackend::Postgres => copy_out(db, select, tx.clone(), &mut progress).await,
            _ => stream_rows(db, select, tx.clone(), &mut progress).await,
        };
        if let Err(e) = &result {
            // Make the upload fail (and abort) rather than end cleanly.
            let mut tx = tx;
            let _ = tx
                .send(Err(std::io::Error::other(format!("export aborted: {e}"))))
                .await;
        }
        result
    };
    let upload = storage.put(key, StreamReader::new(rx), "text/csv; charset=utf-8");
    let (produced, uploaded) = tokio::join!(produce, upload);
    let rows = produced?;
    let bytes = uploaded.map_err(|e| {
        if e.is_transient() {
            JobError::Retry(format!("storing the export: {e}"))
        } else {
            JobError::Permanent(format!("storing the export: {e}"))
        }
    })?;
    Ok(Report { rows, bytes })
}

/// Progress reporting: `rows_written`, at most every [`PROGRESS_ROWS`] rows
/// or [`PROGRESS_EVERY`].
struct Progress<'a> {
    db: &'a DatabaseConnection,
    id: Uuid,
    reported: u64,
    at: Instant,
}

impl<'a> Progress<'a> {
    fn new(db: &'a DatabaseConnection, id: Uuid) -> Self {
        Self {
            db,
            id,
            reported: 0,
            at: Instant::now(),
        }
    }

    async fn rows(&mut self, rows: u64) -> Result<(), JobError> {
        if rows >= self.reported + PROGRESS_ROWS || self.at.elapsed() >= PROGRESS_EVERY {
            payment_export::Entity::update_many()
                .col_expr(
                    payment_export::Column::RowsWritten,
                    Expr::value(rows as i64),
                )
                .filter(payment_export::Column::Id.eq(self.id))
                .exec(self.db)
                .await?;
            self.reported = rows;
            self.at = Instant::now();
        }
        Ok(())
    }
}

async fn send(tx: &mut mpsc::Sender<Chunk>, bytes: Bytes) -> Result<(), JobError> {
    tx.send(Ok(bytes))
        .await
        .map_err(|_| JobError::Retry("the upload stopped reading".to_owned()))
}

/// PostgreSQL: `COPY ... TO STDOUT`, bytes passed on as they arrive.
async fn copy_out(
    db: &DatabaseConnection,
    select: sea_orm::Select<entities::payment::Entity>,
    mut tx: mpsc::Sender<Chunk>,
    progress: &mut Progress<'_>,
) -> Result<u64, JobError> {
    let statement = csv_format::copy_statement(select);
    let pool = db.get_postgres_connection_pool();
    let mut conn = pool
        .acquire()
        .await
        .map_err(|e| JobError::Retry(format!("database: {e}")))?;
    // PostgreSQL sends each row as one CopyData message ("messages sent
    // from the backend will always correspond to single data rows", the
    // protocol's COPY section), and sqlx yields one chunk per message: the
    // records are counted without reading their bytes.
    let mut records = 0u64;
    let mut stream = conn
        .copy_out_raw(&statement)
        .await
        .map_err(|e| JobError::Retry(format!("COPY: {e}")))?;
    // PostgreSQL sends one message per row (~100 bytes); they are gathered
    // into chunks of CHUNK_BYTES, so the upload writes (and the channel
    // carries) a few thousand large chunks rather than millions of rows.
    let mut buffer = BytesMut::with_capacity(2 * CHUNK_BYTES);
    buffer.extend_from_slice(&csv_format::header_line());
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| JobError::Retry(format!("COPY: {e}")))?;
        records += 1;
        buffer.extend_from_slice(&chunk);
        if buffer.len() >= CHUNK_BYTES {
            send(&mut tx, buffer.split().freeze()).await?;
            progress.rows(records).await?;
        }
    }
    if !buffer.is_empty() {
        send(&mut tx, buffer.freeze()).await?;
    }
    Ok(records)
}

/// SQLite (and any other backend): the row stream of the same query,
/// formatted with the `csv` crate into chunks.
async fn stream_rows(
    db: &DatabaseConnection,
    select: sea_orm::Select<entities::payment::Entity>,
    mut tx: mpsc::Sender<Chunk>,
    progress: &mut Progress<'_>,
) -> Result<u64, JobError> {
    let mut rows = csv_format::rows_select(select)
        .into_model::<csv_format::ExportRow>()
        .stream(db)
        .await?;
    // The csv writer formats into a Vec that is handed on whenever it holds
    // a chunk's worth (taking it leaves a new empty Vec behind).
    let mut out = csv_format::writer(csv_format::header_line());
    let csv_err = |e: csv::Error| JobError::Permanent(format!("CSV: {e}"));
    let mut count = 0u64;
    while let Some(row) = rows.next().await {
        row?.write(&mut out).map_err(csv_err)?;
        count += 1;
        if count.is_multiple_of(256) {
            out.flush()
                .map_err(|e| JobError::Permanent(format!("CSV: {e}")))?;
            if out.get_ref().len() >= CHUNK_BYTES {
                let full = std::mem::replace(&mut out, csv_format::writer(Vec::new()));
                let chunk = full
                    .into_inner()
                    .map_err(|e| JobError::Permanent(format!("CSV: {e}")))?;
                send(&mut tx, Bytes::from(chunk)).await?;
                progress.rows(count).await?;
            }
        }
    }
    let rest = out
        .into_inner()
        .map_err(|e| JobError::Permanent(format!("CSV: {e}")))?;
    if !rest.is_empty() {
        send(&mut tx, Bytes::from(rest)).await?;
    }
    Ok(count)
}
