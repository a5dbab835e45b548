//! Documents: checking, storing and recording uploaded files.
//!
//! An upload goes through three steps, so that a request either keeps all
//! of its files or none of them:
//!
//! 1. [`stage`]: every file is checked ([`checks`]: size, extension, content,
//!    password protection) and, only if all pass, streamed from its spool
//!    file to storage under a key made from a new id (never the file name),
//!    computing its SHA-256 on the way. A failure deletes what was stored.
//!    A large file of a kind that can be checked as it streams was already
//!    checked, hashed and stored while the request arrived ([`stream`]): it
//!    is claimed here instead (and deleted by the transport when refused).
//! 2. [`Staged::insert`], inside the caller's transaction (which may also
//!    write a message reply): the rows, `PENDING_SCAN`, a `scan_document`
//!    job each (the outbox, same transaction) and an audit entry.
//! 3. If that transaction fails, [`Staged::discard`] deletes the objects.
//!
//! [`upload_to_case`] and [`attach_arrangement_evidence`] are the whole
//! flow for a case and for a payment arrangement (a message's attachments go
//! through `crate::casework::messages::{send, reply}` the same way).
//!
//! Beside uploads: [`share`] (staff share a document with the case's
//! parties), [`download_url`] (a short-lived link, audited) and
//! [`arrangement_evidence`]. Changes take the capability their policy gave
//! (`policy::cases::can_manage`, `can_act`,
//! `policy::arrangements::can_add_evidence`); reads take the caller and go
//! through `policy::documents`.

pub mod checks;
pub mod markup;
pub mod media;
pub mod office;
pub mod scan_document;
pub mod stream;

use std::{
    pin::Pin,
    task::{Context, Poll},
    time::Duration,
};

use self::scan_document::ScanDocument;
use async_graphql::UploadValue;
use chrono::Utc;
use entities::{DocumentCategory, ScanStatus, UserKind, document, payment_arrangement, user};
use platform::storage::keys;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
};
use serde_json::json;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, ReadBuf};
use uuid::Uuid;

use crate::{
    app::App,
    audit::{self, Actor, Entry},
    error::{ApiError, ApiResult},
    policy::{self, Allowed, Caller, Staff, cases::Reader, tenancy::LandlordUser},
};

/// Most files one request may carry (the multipart transport enforces it).
pub const MAX_FILES_PER_REQUEST: usize = 20;

/// How long a download URL works.
pub const DOWNLOAD_URL_TTL: Duration = Duration::from_secs(5 * 60);

/// One file of a request, as received.
pub struct NewFile {
    /// The input path of the file, for errors (e.g. `files.2.file`).
    pub field: String,
    /// The upload: its name, and its spool file unless it was streamed.
    pub upload: UploadValue,
    /// The file as stored while the request arrived (a large file of a kind
    /// checked as it streams: [`stream`]); then `upload.content` holds no
    /// bytes.
    pub streamed: Option<std::sync::Arc<stream::StreamedFile>>,
    /// Its category.
    pub category: DocumentCategory,
}

/// A checked and stored file, not yet recorded.
#[derive(Debug, Clone)]
pub struct StagedFile {
    id: Uuid,
    key: String,
    name: String,
    content_type: &'static str,
    category: DocumentCategory,
    size: u64,
    sha256: String,
}

/// Files stored by [`stage`], waiting for their rows.
#[derive(Debug, Clone, Default)]
#[must_use = "insert the staged files, or discard them"]
pub struct Staged(Vec<StagedFile>);

/// What the documents are attached to.
#[derive(Debug, Clone, Copy)]
pub enum Attach {
    /// A case, possibly through a message (reply or staff message).
    Case {
        /// The case.
        case_id: Uuid,
        /// The message, for attachments.
        message_id: Option<Uuid>,
        /// Whether the parties may see it (staff uploads only).
        shared_with_parties: bool,
    },
    /// Evidence of a payment arrangement.
    Arrangement(Uuid),
}

/// Checks every file and, if all pass, stores them all. `BAD_USER_INPUT`
/// (field of the first refused file, one reason per refused file, each
/// naming it) or `PAYLOAD_TOO_LARGE`; nothing is stored then. A streamed file
/// ([`stream`]) was checked and stored as it arrived: it is claimed here (and
/// deleted by the transport when refused or not claimed).
pub async fn stage(app: &App, files: Vec<NewFile>) -> ApiResult<Staged> {
    let max = app.config.limits.max_upload_bytes;
    let checked = tokio::task::spawn_blocking(move || check_all(files, max))
        .await
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("check task: {e}")))??;

    let mut staged = Staged::default();
    for (field, source, name, kind, category) in checked {
        let file = match source {
            Source::Streamed(file) => {
                if !file.claim() {
                    staged.discard(app).await;
                    return Err(ApiError::bad_input(
                        field,
                        "The same file part is given for more than one file.",
                    ));
                }
                StagedFile {
                    id: file.id,
                    key: file.key.clone(),
                    name,
                    content_type: kind.content_type(),
                    category,
                    size: file.size,
                    sha256: file.sha256.clone(),
                }
            }
            Source::Spool(spool) => {
                let id = Uuid::now_v7();
                let key = keys::document(id);
                let mut reader = HashingReader::new(tokio::fs::File::from_std(spool));
                match app
                    .storage
                    .put(&key, &mut reader, kind.content_type())
                    .await
                {
                    Ok(size) => StagedFile {
                        id,
                        key,
                        name,
                        content_type: kind.content_type(),
                        category,
                        size,
                        sha256: hex::encode(reader.hasher.finalize()),
                    },
                    Err(e) => {
                        staged.discard(app).await;
                        return Err(ApiError::Internal(
                            anyhow::Error::new(e).context("storing an upload"),
                        ));
                    }
                }
            }
        };
        staged.0.push(file);
    }
    Ok(staged)
}

/// Where a checked file's bytes are.
enum Source {
    Spool(std::fs::File),
    Streamed(std::sync::Arc<stream::StreamedFile>),
}

type Checked = (String, Source, String, checks::Kind, DocumentCategory);

fn check_all(files: Vec<NewFile>, max: u64) -> ApiResult<Vec<Checked>> {
    let mut ok = Vec::with_capacity(files.len());
    let mut refused: Option<String> = None;
    let mut reasons = Vec::new();
    for f in files {
        let name = checks::display_name(&f.upload.filename);
        if let Some(streamed) = f.streamed {
            if streamed.size > max {
                return Err(ApiError::PayloadTooLarge(format!(
                    "The file \"{name}\" is larger than the limit of {max} bytes."
                )));
            }
            match &streamed.outcome {
                Ok(kind) => ok.push((
                    f.field,
                    Source::Streamed(streamed.clone()),
                    name,
                    *kind,
                    f.category,
                )),
                Err(refusal) => {
                    refused.get_or_insert(f.field);
                    reasons.push(refusal.message().to_owned());
                }
            }
            continue;
        }
        let mut file = f.upload.content;
        let size = file
            .metadata()
            .map_err(|e| ApiError::Internal(anyhow::Error::new(e).context("spool metadata")))?
            .len();
        if size > max {
            return Err(ApiError::PayloadTooLarge(format!(
                "The file \"{name}\" is larger than the limit of {max} bytes."
            )));
        }
        match checks::check(&name, &mut file)
            .map_err(|e| ApiError::Internal(anyhow::Error::new(e).context("reading an upload")))?
        {
            Ok(kind) => {
                use std::io::Seek;
                file.rewind()
                    .map_err(|e| ApiError::Internal(anyhow::Error::new(e).context("rewind")))?;
                ok.push((f.field, Source::Spool(file), name, kind, f.category));
            }
            Err(refusal) => {
                refused.get_or_insert(f.field);
                reasons.push(refusal.message().to_owned());
            }
        }
    }
    if let Some(field) = refused {
        return Err(ApiError::BadInput {
            message: reasons.join(" "),
            field: Some(field),
            reasons,
        });
    }
    Ok(ok)
}

impl Staged {
    /// Whether no file is staged.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Deletes the stored objects (the request failed after [`stage`]).
    pub async fn discard(&self, app: &App) {
        for f in &self.0 {
            if let Err(e) = app.storage.delete(&f.key).await {
                tracing::warn!(key = %f.key, error = %e, "could not delete a discarded upload");
            }
        }
    }

    /// Records the staged files in the caller's transaction: rows
    /// (`PENDING_SCAN`), a scan job each, one audit entry each.
    pub async fn insert(
        &self,
        conn: &impl ConnectionTrait,
        attach: Attach,
        uploader: Uuid,
        actor: &Actor,
    ) -> ApiResult<Vec<document::Model>> {
        let (case_id, message_id, arrangement_id, shared) = match attach {
            Attach::Case {
                case_id,
                message_id,
                shared_with_parties,
            } => (Some(case_id), message_id, None, shared_with_parties),
            Attach::Arrangement(id) => (None, None, Some(id), false),
        };
        let mut rows = Vec::with_capacity(self.0.len());
        for f in &self.0 {
            let row = document::ActiveModel {
                id: Set(f.id),
                case_id: Set(case_id),
                message_id: Set(message_id),
                payment_arrangement_id: Set(arrangement_id),
                uploaded_by_user_id: Set(uploader),
                original_filename: Set(f.name.clone()),
                content_type: Set(f.content_type.to_owned()),
                category: Set(f.category),
                size_bytes: Set(f.size as i64),
                sha256: Set(f.sha256.clone()),
                storage_key: Set(f.key.clone()),
                scan_status: Set(ScanStatus::PendingScan),
                scan_detail: Set(None),
                scanned_at: Set(None),
                shared_with_parties: Set(shared),
                created_at: Set(Utc::now()),
            }
            .insert(conn)
            .await?;
            worker::outbox::enqueue(
                conn,
                &ScanDocument {
                    document_id: row.id,
                },
            )
            .await?;
            audit::record(
                conn,
                actor,
                Entry {
                    action: "document.upload",
                    target_type: "document",
                    target_id: Some(row.id),
                    organisation_id: None,
                },
                None,
                Some(json!({
                    "case_id": case_id,
                    "message_id": message_id,
                    "payment_arrangement_id": arrangement_id,
                    "file_name": row.original_filename,
                    "category": row.category,
                    "size_bytes": row.size_bytes,
                    "sha256": row.sha256,
                    "shared_with_parties": shared,
                })),
            )
            .await?;
            rows.push(row);
        }
        Ok(rows)
    }
}

/// Passes `result` (of the transaction that recorded `staged`) through,
/// deleting the stored objects if it failed.
pub async fn keep_or_discard<T>(app: &App, staged: &Staged, result: ApiResult<T>) -> ApiResult<T> {
    if result.is_err() {
        staged.discard(app).await;
    }
    result
}

/// Uploads files to an open case the caller can see
/// (`policy::documents::find_uploadable_case`). `shared_with_parties` is for
/// staff (parties: `FORBIDDEN`).
pub async fn upload_to_case(
    app: &App,
    uploader: &Allowed<Reader>,
    case_id: Uuid,
    files: Vec<NewFile>,
    shared_with_parties: bool,
) -> ApiResult<Vec<document::Model>> {
    if shared_with_parties && !uploader.is_staff() {
        return Err(ApiError::Forbidden);
    }
    // Visible (else NOT_FOUND) before anything is stored.
    policy::documents::find_uploadable_case(&app.db, uploader, case_id).await?;
    if files.is_empty() {
        return Err(ApiError::bad_input("files", "Choose at least one file."));
    }
    let staged = stage(app, files).await?;
    let result = async {
        let txn = platform::db::begin_write(&app.db).await?;
        policy::documents::find_uploadable_case(&txn, uploader, case_id).await?;
        let rows = staged
            .insert(
                &txn,
                Attach::Case {
                    case_id,
                    message_id: None,
                    shared_with_parties,
                },
                uploader.user_id,
                uploader.actor(),
            )
            .await?;
        txn.commit().await?;
        Ok(rows)
    }
    .await;
    keep_or_discard(app, &staged, result).await
}

/// Attaches evidence documents to a payment arrangement, uploaded by
/// `landlord`, whom `policy::arrangements::can_add_evidence` allowed to add
/// evidence to `arrangement` (read through
/// `policy::arrangements::find_visible`); this checks and stores the files
/// and records them in one transaction.
pub async fn attach_arrangement_evidence(
    app: &App,
    landlord: &Allowed<LandlordUser>,
    arrangement: &payment_arrangement::Model,
    files: Vec<NewFile>,
) -> ApiResult<Vec<document::Model>> {
    if files.is_empty() {
        return Err(ApiError::bad_input("files", "Choose at least one file."));
    }
    let staged = stage(app, files).await?;
    let result = async {
        let txn = platform::db::begin_write(&app.db).await?;
        let rows = staged
            .insert(
                &txn,
                Attach::Arrangement(arrangement.id),
                landlord.user_id,
                landlord.actor(),
            )
            .await?;
        txn.commit().await?;
        Ok(rows)
    }
    .await;
    keep_or_discard(app, &staged, result).await
}

/// The evidence of a payment arrangement that `reader` may see, oldest
/// first.
pub async fn arrangement_evidence(
    app: &App,
    reader: Reader,
    arrangement_id: Uuid,
) -> ApiResult<Vec<document::Model>> {
    Ok(document::Entity::find()
        .filter(document::Column::PaymentArrangementId.eq(arrangement_id))
        .filter(policy::documents::visible(reader))
        .order_by_asc(document::Column::CreatedAt)
        .order_by_asc(document::Column::Id)
        .all(&app.db)
        .await?)
}

/// Shares a document staff uploaded to an open case with the case's parties
/// (`CONFLICT`, reason `CASE_CLOSED`, on a closed case), or stops sharing it
/// (`BAD_USER_INPUT` on `id` for any other document), with its audit entry.
/// An attachment of a staff message is only ever seen by the message's
/// recipients, shared or not (`policy::documents`).
pub async fn share(
    app: &App,
    staff: &Allowed<Staff>,
    id: Uuid,
    shared: bool,
) -> ApiResult<document::Model> {
    let txn = platform::db::begin_write(&app.db).await?;
    let doc =
        policy::documents::find_visible(&txn, crate::casework::staff_reader(staff), id).await?;
    let uploader = user::Entity::find_by_id(doc.uploaded_by_user_id)
        .one(&txn)
        .await?;
    let Some(case_id) = doc
        .case_id
        .filter(|_| uploader.is_some_and(|u| u.kind == UserKind::Staff))
    else {
        return Err(ApiError::bad_input(
            "id",
            "Only documents uploaded by staff to a case can be shared.",
        ));
    };
    // A closed case is read-only: what its parties see stays as it was.
    policy::cases::find_managed(&txn, staff, case_id, false).await?;
    let before = doc.shared_with_parties;
    let mut active: document::ActiveModel = doc.into();
    active.shared_with_parties = Set(shared);
    let doc = active.update(&txn).await?;
    audit::record(
        &txn,
        staff.actor(),
        Entry {
            action: "document.share",
            target_type: "document",
            target_id: Some(doc.id),
            organisation_id: None,
        },
        Some(json!({ "shared_with_parties": before })),
        Some(json!({ "shared_with_parties": shared })),
    )
    .await?;
    txn.commit().await?;
    Ok(doc)
}

/// A download link for `doc` (which the caller may see) valid for
/// [`DOWNLOAD_URL_TTL`], with the file name in its `Content-Disposition`,
/// audited; `None` unless the caller may download it
/// (`policy::documents::downloadable`: scanned clean, or the caller's own
/// upload not yet scanned or not scannable).
pub async fn download_url(
    app: &App,
    caller: &Caller<'_>,
    doc: &document::Model,
) -> ApiResult<Option<String>> {
    if !policy::documents::downloadable(doc, caller.viewer.user().map(|u| u.id)) {
        return Ok(None);
    }
    let url = app
        .storage
        .download_url(&platform::storage::DownloadSpec {
            key: &doc.storage_key,
            filename: &doc.original_filename,
            content_type: &doc.content_type,
            ttl: DOWNLOAD_URL_TTL,
        })
        .await
        .map_err(|e| ApiError::Internal(anyhow::Error::new(e).context("download url")))?;
    audit::record(
        &app.db,
        &caller.actor,
        Entry {
            action: "document.download_url",
            target_type: "document",
            target_id: Some(doc.id),
            organisation_id: None,
        },
        None,
        None,
    )
    .await?;
    Ok(Some(url))
}

/// Passes bytes through while hashing them.
struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
}

impl<R> HashingReader<R> {
    fn new(inner: R) -> Self {
        Self {
            inner,
            hasher: Sha256::new(),
        }
    }
}

impl<R: AsyncRead + Unpin> AsyncRead for HashingReader<R> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let poll = Pin::new(&mut this.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = poll {
            this.hasher.update(&buf.filled()[before..]);
        }
        poll
    }
}
