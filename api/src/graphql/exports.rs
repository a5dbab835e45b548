//! Payments CSV exports (`EXPORT_PAYMENTS` users and API tokens, staff):
//! request one with the payment search's filter, follow its status and
//! progress, and download it while it lasts. See `crate::exports`.

use async_graphql::{
    Context, Enum, ID, Object,
    connection::{Connection, EmptyFields},
};
use chrono::{DateTime, Utc};

use entities::{ExportStatus, payment_export};

use super::{
    ContextExt,
    inputs::PaymentFilter,
    organisations::{Organisation, organisation_link},
    pagination::{decode_cursor, keyset_connection, page_size},
    scalars::Date,
    scalars::{NodeKind, global_id, organisation_arg, parse_id},
    users::{UserAccount, user_link},
};
use crate::{exports, payments::search::PaymentFilterInput, policy};

/// Where an export is in its life.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "ExportStatus")]
pub enum PaymentExportStatus {
    /// Requested; waiting for the worker.
    Queued,
    /// The worker is writing the file (see `rowsWritten` / `totalRows`).
    Running,
    /// Ready to download until `expiresAt`.
    Completed,
    /// Failed for good (see `error`); request a new one.
    Failed,
    /// The file was deleted after `expiresAt`.
    Expired,
}

/// A requested CSV export of payments.
pub struct PaymentExport(pub payment_export::Model);

/// A requested CSV export of payments: queued, running, ready to download until
/// it expires, or failed.
#[Object]
impl PaymentExport {
    /// The export's id.
    pub async fn id(&self) -> ID {
        global_id(NodeKind::PaymentExport, self.0.id)
    }
    /// The landlord organisation, through the request's loader (null for
    /// a caller who may not see organisations: API tokens).
    async fn organisation(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Organisation>> {
        organisation_link(ctx, self.0.organisation_id).await
    }
    /// The landlord user who asked for it (none when an API token did),
    /// through the request's loader: null also when staff asked for it
    /// (staff accounts are no `UserAccount`), and
    /// when I may not see their account in user management (only the
    /// organisation's administrators and staff do; nobody sees a deactivated
    /// account there).
    async fn requested_by(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<UserAccount>> {
        let Some(id) = self.0.requested_by_user_id else {
            return Ok(None);
        };
        user_link(ctx, id).await
    }
    /// The API token that asked for it (none when a user did). Kept as an
    /// id, not a link to the `ApiToken`: only the organisation's
    /// administrators may see its tokens, while an export is read by
    /// everyone with `EXPORT_PAYMENTS` and by the tokens themselves;
    /// administrators find the token by this id in `apiTokens`.
    async fn requested_by_api_token_id(&self) -> Option<ID> {
        self.0
            .requested_by_api_token_id
            .map(|id| global_id(NodeKind::ApiToken, id))
    }
    /// The search filter it applies, as given.
    async fn filter(&self) -> PaymentExportFilter {
        PaymentExportFilter(serde_json::from_value(self.0.filter.clone()).unwrap_or_default())
    }
    /// Queued, running, completed (downloadable until `expiresAt`), failed or expired.
    async fn status(&self) -> PaymentExportStatus {
        self.0.status.into()
    }
    /// Rows written so far; once `COMPLETED`, the number of rows in the file
    /// (not counting the header).
    async fn rows_written(&self) -> i64 {
        self.0.rows_written
    }
    /// Rows the filter matches, for a progress bar: counted while the first
    /// rows are written (null until then); once `COMPLETED`, the rows in the
    /// file, like `rowsWritten`.
    async fn total_rows(&self) -> Option<i64> {
        self.0.total_rows
    }
    /// The file's size in bytes, once `COMPLETED`.
    async fn size_bytes(&self) -> i64 {
        self.0.size_bytes
    }
    /// Why it failed, when `FAILED`.
    async fn error(&self) -> Option<&str> {
        self.0.error.as_deref()
    }
    /// When it was requested.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// When the worker started writing it.
    async fn started_at(&self) -> Option<DateTime<Utc>> {
        self.0.started_at
    }
    /// When it was completed or failed.
    async fn completed_at(&self) -> Option<DateTime<Utc>> {
        self.0.completed_at
    }
    /// When the file is deleted.
    async fn expires_at(&self) -> Option<DateTime<Utc>> {
        self.0.expires_at
    }
    /// A link that downloads the CSV for the next 5 minutes; ask again for a
    /// fresh one. Only while `COMPLETED` and not expired.
    #[graphql(complexity = "super::cost::DOWNLOAD_URL_COST")]
    async fn download_url(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<String>> {
        Ok(exports::download_url(ctx.app(), &ctx.caller(), &self.0).await?)
    }
}

/// The filter an export applies.
pub struct PaymentExportFilter(PaymentFilterInput);

/// The filter an export applies (the payment search's filter, as requested).
#[Object]
impl PaymentExportFilter {
    /// Paid on or after this date.
    async fn from(&self) -> Option<Date> {
        self.0.from.map(Date)
    }
    /// Paid on or before this date.
    async fn to(&self) -> Option<Date> {
        self.0.to.map(Date)
    }
    /// Part of the tenant's name (any case).
    async fn tenant_name(&self) -> Option<&str> {
        self.0.tenant_name.as_deref()
    }
    /// A full postcode, an outward code or the start of one.
    async fn postcode(&self) -> Option<&str> {
        self.0.postcode.as_deref()
    }
    /// A claim reference or an arrangement reference (`APA-…`), exactly.
    async fn reference(&self) -> Option<&str> {
        self.0.reference.as_deref()
    }
}

/// Export queries.
#[derive(Default)]
pub struct ExportsQuery;

#[Object]
impl ExportsQuery {
    /// One export (`NOT_FOUND` when missing or not mine to see).
    pub async fn payment_export(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The export.")] id: ID,
    ) -> async_graphql::Result<PaymentExport> {
        let id = parse_id(&id, NodeKind::PaymentExport)?;
        Ok(PaymentExport(
            exports::find(ctx.app(), &ctx.caller(), id).await?,
        ))
    }

    /// My organisation's exports, newest first (`EXPORT_PAYMENTS`; staff:
    /// every organisation's, or `organisationId`'s).
    #[graphql(complexity = "super::pagination::connection_cost(first, child_complexity)")]
    async fn payment_exports(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "Which organisation's: staff may name any (or leave it out for every organisation); an organisation's own users and API tokens see their own, and naming another organisation answers `NOT_FOUND`."
        )]
        organisation_id: Option<ID>,
        #[graphql(desc = "How many to return: 1 to 100 (default 20).")] first: Option<i32>,
        #[graphql(desc = "The `endCursor` of the previous page: the page starts after it.")] after: Option<String>,
    ) -> async_graphql::Result<Connection<String, PaymentExport, EmptyFields, EmptyFields>> {
        let limit = page_size(first)?;
        let after = after.as_deref().map(decode_cursor).transpose()?;
        let (rows, more) = exports::list(
            ctx.app(),
            &ctx.caller(),
            organisation_arg(organisation_id.as_ref())?,
            after,
            limit,
        )
        .await?;
        Ok(keyset_connection(
            rows,
            after.is_some(),
            more,
            |e| e.id,
            PaymentExport,
        ))
    }
}

/// Export mutations.
#[derive(Default)]
pub struct ExportsMutation;

#[Object]
impl ExportsMutation {
    /// Asks for a CSV of the payments matching `filter` (the same filter and
    /// rows as the `payments` search). The worker builds it; follow it with
    /// `paymentExport(id)`. Needs `EXPORT_PAYMENTS` (a user or an API token,
    /// for its own organisation); staff name the organisation.
    async fn request_payment_export(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "Which organisation's: staff may name any (or leave it out for every organisation); an organisation's own users and API tokens see their own, and naming another organisation answers `NOT_FOUND`."
        )]
        organisation_id: Option<ID>,
        #[graphql(desc = "Which payments, as in `payments(filter:)` (default: all).")]
        filter: Option<PaymentFilter>,
    ) -> async_graphql::Result<PaymentExport> {
        let input: PaymentFilterInput = filter.unwrap_or_default().into();
        let requested = organisation_arg(organisation_id.as_ref())?;
        let allowed = policy::exports::can_request(&ctx.caller(), requested, "organisationId")?;
        Ok(PaymentExport(
            exports::request(ctx.app(), &allowed, input).await?,
        ))
    }
}
