//! Bulk housing-cost updates: a landlord with `BULK_UPDATE_HOUSING_COSTS`
//! uploads a CSV of property references and new rents (format in
//! [`csv_file`]); the worker applies it **all or nothing**.
//!
//! Why the file is checked twice. At upload the whole file is read and
//! checked in the request (it is at most [`csv_file::MAX_BYTES`], a fraction
//! of a second's work), against the organisation's properties too: a file
//! with any problem is refused at once with `BAD_USER_INPUT`, naming the row
//! and column of each problem, and nothing is stored. That is the better
//! experience — the person who chose the file is still looking at the form
//! and can fix it straight away, instead of waiting for an email. A file
//! that passes is stored and a `QUEUED` update is recorded, with its job, in
//! one transaction. The worker then reads the stored file again and checks
//! it against the properties *as they are then*, inside the transaction that
//! applies it (a property may have been removed in between): any problem
//! makes the update `REJECTED` with every failing row listed, and nothing is
//! changed; otherwise every row is applied and the update is `APPLIED`. The
//! uploader is emailed the outcome either way.

pub mod apply;
pub mod csv_file;

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use serde_json::json;
use uuid::Uuid;

use entities::{BulkUpdateStatus, housing_cost_update, property};
use platform::storage::keys;
use worker::outbox;

use crate::{
    app::App,
    audit::{self, Entry},
    error::{ApiError, ApiResult},
    policy::{Allowed, Caller, housing_costs as policy, tenancy::LandlordUser},
};
use csv_file::RowError;

/// The content types accepted for the file (browsers on Windows send the
/// Excel type for `.csv` files).
pub const CONTENT_TYPES: [&str; 3] = ["text/csv", "application/csv", "application/vnd.ms-excel"];

/// A file refused at upload: every problem, each with its row and column.
#[derive(Debug)]
pub struct FileRejected(pub Vec<RowError>);

impl FileRejected {
    /// The GraphQL error: `BAD_USER_INPUT` on `field`, `reasons` one line per
    /// problem (`Row 3, rent: ...`), and `row`, `column` (the first problem)
    /// and `errors` (all of them, as `{row, column, reason}`) in the
    /// extensions.
    pub fn into_graphql(self, field: &str) -> async_graphql::Error {
        use async_graphql::ErrorExtensions;
        let reasons: Vec<String> = self
            .0
            .iter()
            .map(|e| format!("Row {}, {}: {}", e.row, e.column, e.reason))
            .collect();
        let first = self.0.first().cloned();
        let message = match &first {
            Some(e) => format!(
                "The file was not accepted: {} problem(s), the first in row {}, column {}. Nothing was changed.",
                self.0.len(),
                e.row,
                e.column
            ),
            None => "The file was not accepted.".to_owned(),
        };
        let errors = serde_json::to_value(&self.0).unwrap_or_default();
        let base = ApiError::BadInput {
            message,
            field: Some(field.to_owned()),
            reasons,
        }
        .extend();
        base.extend_with(|_, ext| {
            if let Some(first) = &first {
                ext.set("row", first.row);
                ext.set("column", first.column.as_str());
            }
            if let Ok(errors) = async_graphql::Value::from_json(errors.clone()) {
                ext.set("errors", errors);
            }
        })
    }
}

/// Why an upload was refused.
#[derive(Debug)]
pub enum UploadError {
    /// The file is too big or not CSV, or it could not be stored.
    Api(ApiError),
    /// The contents have problems.
    Rejected(FileRejected),
}

impl From<ApiError> for UploadError {
    fn from(e: ApiError) -> Self {
        Self::Api(e)
    }
}

impl From<sea_orm::DbErr> for UploadError {
    fn from(e: sea_orm::DbErr) -> Self {
        Self::Api(e.into())
    }
}

/// The organisation's properties named by `references`, by reference.
pub async fn properties_named(
    conn: &impl ConnectionTrait,
    organisation_id: Uuid,
    references: &[&str],
) -> Result<csv_file::Properties, sea_orm::DbErr> {
    let mut found = csv_file::Properties::new();
    // Bounded IN lists: SQLite allows at most 32,766 bound values.
    for chunk in references.chunks(1_000) {
        let rows = property::Entity::find()
            .filter(property::Column::OrganisationId.eq(organisation_id))
            .filter(property::Column::Reference.is_in(chunk.iter().copied()))
            .all(conn)
            .await?;
        found.extend(csv_file::by_reference(rows));
    }
    Ok(found)
}

/// Checks an uploaded file completely, stores it and queues it to be
/// applied, for the uploader's organisation (allowed by
/// `policy::housing_costs::can_upload`). Refused files change nothing.
pub async fn upload(
    app: &App,
    uploader: &Allowed<LandlordUser>,
    filename: &str,
    content_type: Option<&str>,
    bytes: Vec<u8>,
) -> Result<housing_cost_update::Model, UploadError> {
    if bytes.len() > csv_file::MAX_BYTES {
        return Err(ApiError::PayloadTooLarge(format!(
            "The file is larger than {} MB.",
            csv_file::MAX_BYTES / (1024 * 1024)
        ))
        .into());
    }
    let essence = content_type
        .unwrap_or_default()
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    // Browsers and tools label CSV files inconsistently (Windows often sends
    // `application/vnd.ms-excel`, scripts `application/octet-stream`), so a
    // `.csv` name is enough; the content is what is checked, in full, below.
    let csv_name = std::path::Path::new(filename)
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
    if !csv_name && !CONTENT_TYPES.contains(&essence.as_str()) {
        return Err(ApiError::bad_input(
            "file",
            "Must be a CSV file (text/csv) with the header \"property_reference,rent,service_charge,frequency\".",
        )
        .into());
    }
    let rows = csv_file::check(&bytes).map_err(|e| UploadError::Rejected(FileRejected(e)))?;
    let references: Vec<&str> = rows.iter().map(|r| r.reference.as_str()).collect();
    let properties = properties_named(&app.db, uploader.organisation_id, &references).await?;
    csv_file::check_against(&rows, &properties)
        .map_err(|e| UploadError::Rejected(FileRejected(e)))?;

    let id = Uuid::now_v7();
    let key = keys::housing_cost_update(id);
    // The file first: a stored file without its row is invisible and is
    // deleted below if the transaction fails; a row without its file would
    // be a job that cannot run.
    app.storage
        .put(&key, bytes.as_slice(), "text/csv")
        .await
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("storing the housing costs CSV: {e}")))?;
    let stored = async {
        let txn = platform::db::begin_write(&app.db).await?;
        let row = housing_cost_update::ActiveModel {
            id: Set(id),
            organisation_id: Set(uploader.organisation_id),
            uploaded_by_user_id: Set(uploader.user_id),
            storage_key: Set(key.clone()),
            original_filename: Set(display_name(filename)),
            status: Set(BulkUpdateStatus::Queued),
            row_count: Set(i32::try_from(rows.len()).unwrap_or(i32::MAX)),
            applied_count: Set(0),
            errors: Set(None),
            created_at: Set(Utc::now()),
            completed_at: Set(None),
        }
        .insert(&txn)
        .await?;
        outbox::enqueue(&txn, &apply::ApplyHousingCosts { update_id: id }).await?;
        audit::record(
            &txn,
            uploader.actor(),
            Entry {
                action: "housing_costs.upload",
                target_type: "housing_cost_update",
                target_id: Some(id),
                organisation_id: Some(uploader.organisation_id),
            },
            None,
            Some(json!({
                "file_name": row.original_filename,
                "row_count": row.row_count,
            })),
        )
        .await?;
        txn.commit().await?;
        Ok::<_, ApiError>(row)
    }
    .await;
    if stored.is_err()
        && let Err(e) = app.storage.delete(&key).await
    {
        tracing::warn!(error = %e, key, "cannot delete the file of a refused upload");
    }
    Ok(stored?)
}

/// A file name fit for display: the last path segment, control characters
/// dropped, at most 200 characters.
fn display_name(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let clean: String = last.chars().filter(|c| !c.is_control()).take(200).collect();
    if clean.trim().is_empty() {
        "housing-costs.csv".to_owned()
    } else {
        clean
    }
}

/// One update by id, if the caller may see it.
pub async fn find(
    app: &App,
    caller: &Caller<'_>,
    id: Uuid,
) -> ApiResult<housing_cost_update::Model> {
    policy::find_visible(&app.db, caller, id).await
}

/// A page of the updates the caller may see, newest first, after the
/// update `after` (keyset on the time-ordered id); and whether more follow.
pub async fn list(
    app: &App,
    caller: &Caller<'_>,
    organisation_id: Option<Uuid>,
    after: Option<Uuid>,
    limit: u64,
) -> ApiResult<(Vec<housing_cost_update::Model>, bool)> {
    let select =
        housing_cost_update::Entity::find().filter(policy::visible(caller, organisation_id)?);
    Ok(platform::db::newest_first(
        &app.db,
        select,
        housing_cost_update::Column::Id,
        after,
        limit,
    )
    .await?)
}

/// The stored problems of an update.
pub fn errors_of(row: &housing_cost_update::Model) -> Vec<RowError> {
    row.errors
        .clone()
        .and_then(|e| serde_json::from_value(e).ok())
        .unwrap_or_default()
}
