//! Bulk housing-cost updates (`BULK_UPDATE_HOUSING_COSTS`): upload a CSV of
//! property references and new rents, then follow its outcome. See
//! `crate::housing_costs` for the file format and the all-or-nothing rule.

use std::io::{Read, Seek, SeekFrom};

use async_graphql::{
    Context, Enum, ID, Object, SimpleObject, Upload,
    connection::{Connection, EmptyFields},
};
use chrono::{DateTime, Utc};

use entities::{BulkUpdateStatus, housing_cost_update};

use super::{
    ContextExt,
    organisations::{Organisation, organisation_link},
    pagination::{decode_cursor, keyset_connection, page_size},
    scalars::{NodeKind, global_id, organisation_arg, parse_id},
    users::{UserAccount, user_link},
};
use crate::{
    error::ApiError,
    housing_costs::{self, UploadError, csv_file},
    policy,
};

/// Where an update is.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "BulkUpdateStatus")]
pub enum HousingCostUpdateStatus {
    /// Uploaded and checked; waiting for the worker.
    Queued,
    /// The worker is applying it.
    Running,
    /// Every row was applied.
    Applied,
    /// Nothing was applied; `errors` lists every failing row.
    Rejected,
    /// An internal failure after retries; nothing was applied.
    Failed,
}

/// One problem in an uploaded file.
#[derive(SimpleObject)]
pub struct HousingCostRowError {
    /// Row number, by CSV record: the header is row 1, the first property
    /// row 2.
    pub row: i64,
    /// The column at fault, by its header name.
    pub column: String,
    /// What is wrong.
    pub reason: String,
}

/// An uploaded housing-costs file and its outcome.
pub struct HousingCostUpdate(pub housing_cost_update::Model);

/// A CSV of housing costs uploaded to change many properties' rents at once,
/// and its outcome: applied whole, or rejected with the rows at fault and
/// nothing changed.
#[Object]
impl HousingCostUpdate {
    /// The update's id.
    pub async fn id(&self) -> ID {
        global_id(NodeKind::HousingCostUpdate, self.0.id)
    }
    /// The landlord organisation, through the request's loader.
    async fn organisation(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Organisation>> {
        organisation_link(ctx, self.0.organisation_id).await
    }
    /// The landlord user who uploaded the file, through the request's loader:
    /// null when I may not see their account in user management (only the
    /// organisation's administrators and staff do; nobody sees a deactivated
    /// account there).
    async fn uploaded_by(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<UserAccount>> {
        user_link(ctx, self.0.uploaded_by_user_id).await
    }
    /// The uploaded file's name.
    async fn file_name(&self) -> &str {
        &self.0.original_filename
    }
    /// Waiting to be applied, applied, or rejected.
    async fn status(&self) -> HousingCostUpdateStatus {
        self.0.status.into()
    }
    /// Property rows in the file.
    async fn row_count(&self) -> i32 {
        self.0.row_count
    }
    /// Properties updated (every row when `APPLIED`, otherwise 0).
    async fn applied_count(&self) -> i32 {
        self.0.applied_count
    }
    /// Every failing row, when `REJECTED`.
    async fn errors(&self) -> Vec<HousingCostRowError> {
        housing_costs::errors_of(&self.0)
            .into_iter()
            .map(|e| HousingCostRowError {
                row: e.row as i64,
                column: e.column,
                reason: e.reason,
            })
            .collect()
    }
    /// When the file was uploaded.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// When it was applied or rejected.
    async fn completed_at(&self) -> Option<DateTime<Utc>> {
        self.0.completed_at
    }
}

/// Housing-cost update queries.
#[derive(Default)]
pub struct HousingCostsQuery;

#[Object]
impl HousingCostsQuery {
    /// One update (`NOT_FOUND` when missing or not mine to see).
    pub async fn housing_cost_update(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The bulk update.")] id: ID,
    ) -> async_graphql::Result<HousingCostUpdate> {
        let id = parse_id(&id, NodeKind::HousingCostUpdate)?;
        Ok(HousingCostUpdate(
            housing_costs::find(ctx.app(), &ctx.caller(), id).await?,
        ))
    }

    /// My organisation's updates, newest first (staff: every organisation's,
    /// or `organisationId`'s).
    #[graphql(complexity = "super::pagination::connection_cost(first, child_complexity)")]
    async fn housing_cost_updates(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "Which organisation's: staff may name any (or leave it out for every organisation); an organisation's own users and API tokens see their own, and naming another organisation answers `NOT_FOUND`."
        )]
        organisation_id: Option<ID>,
        #[graphql(desc = "How many to return: 1 to 100 (default 20).")] first: Option<i32>,
        #[graphql(desc = "The `endCursor` of the previous page: the page starts after it.")] after: Option<String>,
    ) -> async_graphql::Result<Connection<String, HousingCostUpdate, EmptyFields, EmptyFields>>
    {
        let limit = page_size(first)?;
        let after = after.as_deref().map(decode_cursor).transpose()?;
        let organisation_id = organisation_arg(organisation_id.as_ref())?;
        let (rows, more) =
            housing_costs::list(ctx.app(), &ctx.caller(), organisation_id, after, limit).await?;
        Ok(keyset_connection(
            rows,
            after.is_some(),
            more,
            |u| u.id,
            HousingCostUpdate,
        ))
    }
}

/// Housing-cost update mutations.
#[derive(Default)]
pub struct HousingCostsMutation;

#[Object]
impl HousingCostsMutation {
    /// Uploads a CSV of new rents (header
    /// `property_reference,rent,service_charge,frequency`; the last two
    /// columns are optional) for my organisation's properties. The whole file
    /// is checked now: any problem is `BAD_USER_INPUT` with every failing row
    /// in `extensions.errors` (`row`, `column`, `reason`; the first also as
    /// `extensions.row` / `extensions.column`), and nothing is stored. A good
    /// file is applied by the worker in one transaction — every row or none.
    async fn upload_housing_costs(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "The CSV file, as a multipart file part (its columns are in the README)."
        )]
        file: Upload,
    ) -> async_graphql::Result<HousingCostUpdate> {
        // Permission before reading anything the caller sent.
        let uploader = policy::housing_costs::can_upload(&ctx.caller())?;
        let value = file.value(ctx)?;
        let too_big = || {
            ApiError::PayloadTooLarge(format!(
                "The file is larger than {} MB.",
                csv_file::MAX_BYTES / (1024 * 1024)
            ))
        };
        if value.size().unwrap_or(0) > csv_file::MAX_BYTES as u64 {
            return Err(too_big().into());
        }
        // The spooled file may be positioned at its end.
        let mut content = &value.content;
        content
            .seek(SeekFrom::Start(0))
            .map_err(|e| ApiError::Internal(anyhow::Error::new(e).context("reading upload")))?;
        let mut bytes = Vec::new();
        content
            .take(csv_file::MAX_BYTES as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| ApiError::Internal(anyhow::Error::new(e).context("reading upload")))?;
        if bytes.len() > csv_file::MAX_BYTES {
            return Err(too_big().into());
        }
        match housing_costs::upload(
            ctx.app(),
            &uploader,
            &value.filename,
            value.content_type.as_deref(),
            bytes,
        )
        .await
        {
            Ok(row) => Ok(HousingCostUpdate(row)),
            Err(UploadError::Api(e)) => Err(e.into()),
            Err(UploadError::Rejected(rejected)) => Err(rejected.into_graphql("file")),
        }
    }
}
