//! Documents: upload (GraphQL multipart requests), one document, sharing,
//! and short-lived download URLs (a case's document list is `Case.documents`,
//! through the loaders).
//!
//! Visibility is `policy::documents`; checks, storage, sharing and download
//! links are the `documents` services.

use async_graphql::{Context, Enum, ID, Object};
use chrono::{DateTime, Utc};

use entities::document;

use super::{
    ContextExt,
    cases::Case,
    enums::DocumentCategory,
    inputs::{DocumentUploadInput, new_files},
    loaders::{CaseKey, UserKey},
    messages::{Message, message_link},
    scalars::{NodeKind, global_id, parse_id},
};
use crate::{documents, policy};

/// Where a document is in the virus scan.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "entities::ScanStatus")]
pub enum ScanStatus {
    /// Stored, waiting for the scanner: downloadable by its uploader only.
    PendingScan,
    /// Scanned clean: downloadable by everyone who sees it.
    Clean,
    /// A virus was found: quarantined, never downloadable (not even by its
    /// uploader).
    Infected,
    /// The scan failed; the worker retries (operators can retry a dead job).
    /// Downloadable by its uploader only.
    ScanFailed,
    /// Refused by the scanner as password-protected; deleted.
    Rejected,
}

/// An uploaded document.
pub struct Document(pub document::Model);

/// A document uploaded to a case (by a party or staff, alone or attached to a
/// message) or as evidence of a payment arrangement: its name, category, size,
/// uploader and scan status, and a download link for those who may download it.
#[Object]
impl Document {
    /// Document id.
    pub async fn id(&self) -> ID {
        global_id(NodeKind::Document, self.0.id)
    }
    /// The case it belongs to (none for evidence of a payment arrangement),
    /// through the request's loader.
    async fn case(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Case>> {
        let Some(id) = self.0.case_id else {
            return Ok(None);
        };
        Ok(ctx.load(CaseKey(id, ctx.reader()?)).await?.map(Case))
    }
    /// The message it is attached to, if any, through the request's loader
    /// (null too when the reader may not see that message).
    async fn message(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Message>> {
        let Some(id) = self.0.message_id else {
            return Ok(None);
        };
        message_link(ctx, id).await
    }
    /// The file's name on the uploader's device (for display only).
    async fn file_name(&self) -> &str {
        &self.0.original_filename
    }
    /// The type of the content, as checked on upload.
    async fn content_type(&self) -> &str {
        &self.0.content_type
    }
    /// Category.
    async fn category(&self) -> DocumentCategory {
        self.0.category.into()
    }
    /// Size in bytes.
    async fn size_bytes(&self) -> i64 {
        self.0.size_bytes
    }
    /// SHA-256 of the content (hex).
    async fn sha256(&self) -> &str {
        &self.0.sha256
    }
    /// The uploader's name.
    async fn uploaded_by(&self, ctx: &Context<'_>) -> async_graphql::Result<String> {
        Ok(ctx
            .load(UserKey(self.0.uploaded_by_user_id))
            .await?
            .map(|u| format!("{} {}", u.first_name, u.last_name))
            .unwrap_or_default())
    }
    /// Whether I uploaded it.
    async fn uploaded_by_me(&self, ctx: &Context<'_>) -> async_graphql::Result<bool> {
        Ok(ctx.reader()?.user_id == self.0.uploaded_by_user_id)
    }
    /// When it was uploaded.
    async fn uploaded_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// Virus-scan status.
    async fn scan_status(&self) -> ScanStatus {
        self.0.scan_status.into()
    }
    /// When the scan finished.
    async fn scanned_at(&self) -> Option<DateTime<Utc>> {
        self.0.scanned_at
    }
    /// Whether the case's parties see it (staff uploads).
    async fn shared_with_parties(&self) -> bool {
        self.0.shared_with_parties
    }
    /// A download link valid for 5 minutes, with the file name in its
    /// `Content-Disposition`. For its uploader unless it is `INFECTED` or
    /// `REJECTED`; for everyone else only once it is `CLEAN`; null otherwise.
    #[graphql(complexity = "super::cost::DOWNLOAD_URL_COST")]
    async fn download_url(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<String>> {
        Ok(documents::download_url(ctx.app(), &ctx.caller(), &self.0).await?)
    }
}

/// Document queries.
#[derive(Default)]
pub struct DocumentsQuery;

#[Object]
impl DocumentsQuery {
    /// One document (`NOT_FOUND` when it does not exist or I may not see it).
    pub async fn document(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The document.")] id: ID,
    ) -> async_graphql::Result<Document> {
        let id = parse_id(&id, NodeKind::Document)?;
        Ok(Document(
            policy::documents::find_visible(&ctx.app().db, ctx.reader()?, id).await?,
        ))
    }
}

/// Document mutations.
#[derive(Default)]
pub struct DocumentsMutation;

#[Object]
impl DocumentsMutation {
    /// Uploads one or more files to a case (a multipart request; at most 20
    /// files, each within the upload limit). Each file needs a category, its
    /// own or `sameCategoryForAll`. Every file is checked (type, content,
    /// password protection) before any is kept: one refusal and nothing is
    /// stored. Accepted types: pictures (jpg, jpeg, jpe, png, gif, bmp, tif,
    /// tiff, ico, heic, heif, webp), Office documents (doc, docx, xls, xlsx,
    /// ppt, pptx), pdf, rtf, txt, csv, xml, emails (msg, eml), saved web pages
    /// (mht, mhtml), audio (mp3, m4a, wav) and video (mp4, mov, avi, wmv, mpg,
    /// mpeg). Each document starts `PENDING_SCAN`; its uploader can download
    /// it at once, everyone else once it is `CLEAN`. `sharedWithParties`:
    /// staff only, lets the case's parties see the documents.
    async fn upload_documents(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The case to upload to.")] case_id: ID,
        #[graphql(desc = "The files, each with its category (1 to 20 files).")] files: Vec<
            DocumentUploadInput,
        >,
        #[graphql(
            desc = "One category for every file (the seed's \"same category for all\"), instead of each file's own."
        )]
        same_category_for_all: Option<DocumentCategory>,
        #[graphql(
            desc = "Staff: share the files with the case's parties at once (default false)."
        )]
        shared_with_parties: Option<bool>,
    ) -> async_graphql::Result<Vec<Document>> {
        let case_id = parse_id(&case_id, NodeKind::Case)?;
        let files = new_files(ctx, "files", files, same_category_for_all)?;
        let allowed = policy::cases::can_act(&ctx.caller())?;
        let rows = documents::upload_to_case(
            ctx.app(),
            &allowed,
            case_id,
            files,
            shared_with_parties.unwrap_or(false),
        )
        .await?;
        Ok(rows.into_iter().map(Document).collect())
    }

    /// Shares a staff document with the case's parties, or stops sharing it.
    /// Staff only.
    async fn share_document(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The document (a staff upload).")] id: ID,
        #[graphql(desc = "Whether the case's parties may see it.")] shared: bool,
    ) -> async_graphql::Result<Document> {
        let allowed = policy::cases::can_manage(&ctx.caller())?;
        let id = parse_id(&id, NodeKind::Document)?;
        Ok(Document(
            documents::share(ctx.app(), &allowed, id, shared).await?,
        ))
    }
}
