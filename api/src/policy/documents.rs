//! Who may see, upload and download a document.
//!
//! - Staff see every document.
//! - A party sees, on the cases it can see ([`super::cases`]), the documents
//!   its own side uploaded (the resident themself; any user of the landlord
//!   organisation) and those staff shared with the parties
//!   (`shared_with_parties`, set on staff uploads and on staff messages'
//!   attachments). A message's attachments are further limited to those who
//!   see the message (`super::messages::attachments_visible`): a staff
//!   message's to its recipients (a letter to the resident alone does not
//!   show its enclosures to the landlord), a reply's to staff and the side
//!   that wrote it; they appear in the case's document list.
//! - Evidence of a payment arrangement (no case): staff and the uploading
//!   side.
//! - Anything else answers `NOT_FOUND`, exactly like a missing id.
//! - Downloads ([`downloadable`]): the uploader may download what they
//!   uploaded while it waits for the scan or after a failed scan (the seed:
//!   "download any documents you have previously uploaded"; the bytes are
//!   their own, so serving them back exposes nobody to anything new, and
//!   without clamd nothing is ever scanned). Everybody else who can see a
//!   document, staff included, only once it is `CLEAN`. An `INFECTED`
//!   document is never served, not even to its uploader: it is quarantined
//!   and the link would hand malware back to a device, or to whoever the
//!   link is forwarded to; a `REJECTED` one is deleted.
//! - Uploading to a case: anyone who can see it, while it is open (a closed
//!   case is read-only for everyone: `CONFLICT`, reason `CASE_CLOSED`).
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
                )
                .add(super::messages::attachments_visible(reader)),
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

/// Whether `user` (who can see `doc`; `None` for an API token) may download
/// it: anyone once it is `CLEAN`; its uploader also while it is
/// `PENDING_SCAN` or `SCAN_FAILED`; nobody when it is `INFECTED` or
/// `REJECTED`, or quarantined.
pub fn downloadable(doc: &document::Model, user: Option<Uuid>) -> bool {
    if doc.storage_key.starts_with("quarantine/") {
        return false;
    }
    match doc.scan_status {
        ScanStatus::Clean => true,
        ScanStatus::PendingScan | ScanStatus::ScanFailed => user == Some(doc.uploaded_by_user_id),
        ScanStatus::Infected | ScanStatus::Rejected => false,
    }
}

/// A case the caller may upload to: visible (else `NOT_FOUND`), and open
/// (else `CONFLICT`, reason `CASE_CLOSED`), for staff too.
pub async fn find_uploadable_case(
    conn: &impl ConnectionTrait,
    allowed: &Allowed<Reader>,
    case_id: Uuid,
) -> ApiResult<entities::case::Model> {
    let case = super::cases::find_visible(conn, **allowed, case_id).await?;
    crate::casework::open(case)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(uploader: Uuid, status: ScanStatus, key: &str) -> document::Model {
        document::Model {
            id: Uuid::now_v7(),
            case_id: Some(Uuid::now_v7()),
            message_id: None,
            payment_arrangement_id: None,
            uploaded_by_user_id: uploader,
            original_filename: "a.pdf".into(),
            content_type: "application/pdf".into(),
            category: entities::DocumentCategory::Evidence,
            size_bytes: 1,
            sha256: String::new(),
            storage_key: key.into(),
            scan_status: status,
            scan_detail: None,
            scanned_at: None,
            shared_with_parties: false,
            created_at: chrono::Utc::now(),
        }
    }

    #[test]
    fn the_uploader_downloads_unless_infected_everyone_else_once_clean() {
        let uploader = Uuid::now_v7();
        let other = Uuid::now_v7();
        let key = "documents/x";
        for (status, mine, others) in [
            (ScanStatus::PendingScan, true, false),
            (ScanStatus::ScanFailed, true, false),
            (ScanStatus::Clean, true, true),
            (ScanStatus::Infected, false, false),
            (ScanStatus::Rejected, false, false),
        ] {
            let d = doc(uploader, status, key);
            assert_eq!(downloadable(&d, Some(uploader)), mine, "{status:?}");
            assert_eq!(downloadable(&d, Some(other)), others, "{status:?}");
            assert_eq!(downloadable(&d, None), others, "{status:?}, an API token");
        }
        let quarantined = doc(uploader, ScanStatus::PendingScan, "quarantine/documents/x");
        assert!(!downloadable(&quarantined, Some(uploader)));
    }
}
