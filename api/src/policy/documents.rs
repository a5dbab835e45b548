//! Who may see, upload and download a document.
//!
//! - Staff see every document.
//! - A party sees, on the cases it can see ([`super::cases`]), the documents
//!   its own side uploaded (the resident themself; any user of the landlord
//!   organisation) and those staff shared with the parties
//!   (`shared_with_parties`, set on staff uploads and on staff messages'
//!   attachments). Attachments of a reply are uploaded by the replying
//!   side, so they follow the message rule: staff and the side that wrote
//!   the reply see them, and they appear in the case's document list.
//! - Evidence of a payment arrangement (no case): staff and the uploading
//!   side.
//! - Anything else answers `NOT_FOUND`, exactly like a missing id.
//! - Only `CLEAN` documents can be downloaded (a URL is issued), by anyone
//!   who can see them; the uploader sees their pending ones, with their
//!   status, and no URL.
//! - Uploading to a case: anyone who can see it; parties only while it is
//!   open.
//! - Sharing a document with the parties: staff (`cases::can_manage`).

use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect, QueryTrait,
};
use uuid::Uuid;

use entities::{ScanStatus, document, user};

use super::{
    Allowed,
    cases::{Reader, Side, party_cases},
};
use crate::error::{ApiError, ApiResult};

/// The condition on `documents` selecting exactly what `reader` may see.
pub fn visible(reader: Reader) -> Condition {
    let Some(side) = reader.side else {
        return Condition::all();
    };
    let own_side = match side {
        Side::Resident(id) => document::Column::UploadedByUserId.eq(id),
        Side::Landlord(org) => document::Column::UploadedByUserId.in_subquery(
            user::Entity::find()
                .select_only()
                .column(user::Column::Id)
                .filter(user::Column::OrganisationId.eq(org))
                .into_query(),
        ),
    };
    Condition::any()
        .add(
            Condition::all()
                .add(document::Column::CaseId.in_subquery(party_cases(side)))
                .add(
                    Condition::any()
                        .add(own_side.clone())
                        .add(document::Column::SharedWithParties.eq(true)),
                ),
        )
        .add(
            Condition::all()
                .add(document::Column::CaseId.is_null())
                .add(own_side),
        )
}

/// One document by id, if `reader` may see it; `NOT_FOUND` otherwise.
pub async fn find_visible(
    conn: &impl ConnectionTrait,
    reader: Reader,
    id: Uuid,
) -> ApiResult<document::Model> {
    document::Entity::find_by_id(id)
        .filter(visible(reader))
        .one(conn)
        .await?
        .ok_or(ApiError::NotFound("Document"))
}

/// Whether a visible document may be downloaded: only once scanned clean.
pub fn downloadable(doc: &document::Model) -> bool {
    doc.scan_status == ScanStatus::Clean && !doc.storage_key.starts_with("quarantine/")
}

/// A case the caller may upload to: visible (else `NOT_FOUND`), and for
/// parties open (else `CONFLICT`).
pub async fn find_uploadable_case(
    conn: &impl ConnectionTrait,
    allowed: &Allowed<Reader>,
    case_id: Uuid,
) -> ApiResult<entities::case::Model> {
    let case = super::cases::find_visible(conn, **allowed, case_id).await?;
    if !allowed.is_staff() && case.closed_at.is_some() {
        return Err(ApiError::Conflict("The case is closed.".into()));
    }
    Ok(case)
}
