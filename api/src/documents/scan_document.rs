//! The virus scan of one uploaded document (PRODUCT "Virus scan").
//!
//! Enqueued in the transaction that writes the document row. Streams the
//! object from storage to clamd ([`platform::scan`]) and records the verdict:
//!
//! - `OK` → `CLEAN`: downloadable by everyone allowed to see it.
//! - `<signature> FOUND` → `INFECTED`: the object is moved under the
//!   quarantine prefix (the row's `storage_key` follows it), and the uploader
//!   and the case owner are emailed (`document_infected`). Never downloadable.
//! - `Heuristics.Encrypted.*` → `REJECTED` (password-protected; the detail
//!   says so). The object is deleted: the portal does not keep files it
//!   refuses.
//! - clamd refused the stream (over its `StreamMaxLength`) → `SCAN_FAILED`
//!   with clamd's message, and the job is dead-lettered: scanning again
//!   gives the same answer, and an operator can retry it after raising the
//!   limit. Never treated as clean.
//! - clamd unreachable, timing out or answering an error → the document stays
//!   `PENDING_SCAN` and the job is retried with backoff; on the last attempt
//!   it is marked `SCAN_FAILED` (with the reason) before being dead-lettered.
//! - `PORTAL_CLAMD_ADDR` unset → nothing to scan with: the document stays
//!   `PENDING_SCAN` (its uploader can download it, nobody else), a warning
//!   is logged and the job ends (no retry loop).
//!
//! Idempotent: only a `PENDING_SCAN` or `SCAN_FAILED` document is scanned,
//! and the verdict is written with a conditional update on that status.

use std::{sync::Arc, time::Duration};

use chrono::Utc;
use sea_orm::{
    ActiveEnum, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, sea_query::Expr,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use entities::{ScanStatus, UserStatus, case, document, user};

use worker::job::{Attempt, Job, JobError};

use platform::{
    scan::{Clamd, Verdict},
    storage::{StorageError, keys},
};

use crate::{
    jobs::JobContext,
    notifications::templates::EmailTemplate,
    notifications::{self, Recipient},
};

/// Per-step timeout of the clamd conversation.
pub const CLAMD_TIMEOUT: Duration = Duration::from_secs(60);

/// Scan one document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanDocument {
    /// The document.
    pub document_id: Uuid,
}

impl Job for ScanDocument {
    type Context = JobContext;
    const JOB_NAME: &'static str = "scan_document";
    /// Streams up to an upload's size limit to clamd.
    const TIMEOUT: Duration = Duration::from_secs(10 * 60);

    fn dedupe_key(&self) -> Option<String> {
        Some(format!("scan_document:{}", self.document_id))
    }

    async fn run(&self, ctx: Arc<JobContext>, attempt: Attempt) -> Result<(), JobError> {
        let Some(doc) = document::Entity::find_by_id(self.document_id)
            .one(&ctx.db)
            .await?
        else {
            return Ok(()); // deleted with its case
        };
        if !matches!(
            doc.scan_status,
            ScanStatus::PendingScan | ScanStatus::ScanFailed
        ) {
            return Ok(()); // already decided
        }
        let Some(addr) = ctx.config.clamd_addr.as_deref() else {
            tracing::warn!(
                document_id = %doc.id,
                "PORTAL_CLAMD_ADDR is not set: the document stays PENDING_SCAN and cannot be downloaded by anyone but its uploader"
            );
            return Ok(());
        };

        let object = match ctx.storage.get(&doc.storage_key).await {
            Ok(object) => object,
            Err(StorageError::NotFound(_)) => {
                // A previous attempt quarantined it and then failed to commit.
                let quarantined = keys::quarantined(&doc.storage_key);
                if ctx
                    .storage
                    .size(&quarantined)
                    .await
                    .ok()
                    .flatten()
                    .is_some()
                {
                    return infected(&ctx, &doc, "found by an earlier scan", quarantined).await;
                }
                set_status(
                    &ctx.db,
                    doc.id,
                    ScanStatus::ScanFailed,
                    Some("the stored file is missing".into()),
                )
                .await?;
                return Err(JobError::Permanent(format!(
                    "document {} has no stored object",
                    doc.id
                )));
            }
            Err(e) => return Err(JobError::Retry(format!("storage: {e}"))),
        };

        let verdict = Clamd::new(addr, CLAMD_TIMEOUT).scan(object).await;
        match verdict {
            Ok(Verdict::Clean) => {
                set_status(&ctx.db, doc.id, ScanStatus::Clean, None).await?;
                Ok(())
            }
            Ok(Verdict::Infected(signature)) => {
                let quarantined = keys::quarantined(&doc.storage_key);
                ctx.storage
                    .rename(&doc.storage_key, &quarantined)
                    .await
                    .map_err(|e| JobError::Retry(format!("quarantine: {e}")))?;
                infected(&ctx, &doc, &signature, quarantined).await
            }
            Ok(Verdict::Encrypted(signature)) => {
                set_status(
                    &ctx.db,
                    doc.id,
                    ScanStatus::Rejected,
                    Some(format!("password-protected ({signature})")),
                )
                .await?;
                if let Err(e) = ctx.storage.delete(&doc.storage_key).await {
                    tracing::warn!(document_id = %doc.id, error = %e, "could not delete a rejected document");
                }
                Ok(())
            }
            Ok(Verdict::Refused(message)) => {
                set_status(
                    &ctx.db,
                    doc.id,
                    ScanStatus::ScanFailed,
                    Some(message.clone()),
                )
                .await?;
                Err(JobError::Permanent(format!(
                    "clamd refused the document: {message}"
                )))
            }
            Err(e) => {
                if attempt.is_last {
                    set_status(&ctx.db, doc.id, ScanStatus::ScanFailed, Some(e.0.clone())).await?;
                }
                Err(JobError::Retry(e.0))
            }
        }
    }
}

/// Writes a verdict if the document is still waiting for one.
async fn set_status(
    conn: &impl ConnectionTrait,
    id: Uuid,
    status: ScanStatus,
    detail: Option<String>,
) -> Result<u64, sea_orm::DbErr> {
    let result = document::Entity::update_many()
        .col_expr(document::Column::ScanStatus, Expr::value(status.to_value()))
        .col_expr(document::Column::ScanDetail, Expr::value(detail))
        .col_expr(document::Column::ScannedAt, Expr::value(Utc::now()))
        .filter(document::Column::Id.eq(id))
        .filter(
            document::Column::ScanStatus.is_in([ScanStatus::PendingScan, ScanStatus::ScanFailed]),
        )
        .exec(conn)
        .await?;
    Ok(result.rows_affected)
}

/// Records an infected document (already moved to `quarantined`) and tells
/// its uploader and the case owner, in one transaction.
async fn infected(
    ctx: &JobContext,
    doc: &document::Model,
    signature: &str,
    quarantined: String,
) -> Result<(), JobError> {
    let txn = platform::db::begin_write(&ctx.db).await?;
    let updated = document::Entity::update_many()
        .col_expr(
            document::Column::ScanStatus,
            Expr::value(ScanStatus::Infected.to_value()),
        )
        .col_expr(
            document::Column::ScanDetail,
            Expr::value(signature.to_owned()),
        )
        .col_expr(document::Column::ScannedAt, Expr::value(Utc::now()))
        .col_expr(document::Column::StorageKey, Expr::value(quarantined))
        .filter(document::Column::Id.eq(doc.id))
        .filter(
            document::Column::ScanStatus.is_in([ScanStatus::PendingScan, ScanStatus::ScanFailed]),
        )
        .exec(&txn)
        .await?;
    if updated.rows_affected == 1 {
        let case = match doc.case_id {
            Some(id) => case::Entity::find_by_id(id).one(&txn).await?,
            None => None,
        };
        let uploader = user::Entity::find_by_id(doc.uploaded_by_user_id)
            .one(&txn)
            .await?;
        let uploaded_by = uploader
            .as_ref()
            .map(|u| format!("{} {}", u.first_name, u.last_name))
            .unwrap_or_default();
        let mut recipients: Vec<(user::Model, bool)> = Vec::new();
        if let Some(u) = uploader.clone() {
            recipients.push((u, true));
        }
        if let Some(owner_id) = case.as_ref().and_then(|c| c.owner_user_id)
            && owner_id != doc.uploaded_by_user_id
            && let Some(owner) = user::Entity::find_by_id(owner_id).one(&txn).await?
        {
            recipients.push((owner, false));
        }
        let reference = case
            .as_ref()
            .map(|c| c.reference.clone())
            .unwrap_or_default();
        for (to, is_uploader) in recipients {
            if to.status != UserStatus::Active {
                continue;
            }
            notifications::queue_email(
                &txn,
                &Recipient {
                    address: to.email.clone(),
                    user_id: Some(to.id),
                },
                EmailTemplate::DocumentInfected,
                json!({
                    "first_name": to.first_name,
                    "is_uploader": is_uploader,
                    "file_name": doc.original_filename,
                    "case_reference": reference,
                    "uploaded_by": uploaded_by,
                    "uploaded_at": doc.created_at.to_rfc3339(),
                }),
            )
            .await?;
        }
    }
    txn.commit().await?;
    tracing::warn!(document_id = %doc.id, signature, "infected upload quarantined");
    Ok(())
}
