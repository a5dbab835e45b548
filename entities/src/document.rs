//! `documents`: uploaded files attached to a case, a message or a payment
//! arrangement.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

use crate::enums::{DocumentCategory, ScanStatus};

/// An uploaded document. A reply's attachment has both `message_id` and
/// `case_id`, so it also appears in the case's document list. Only `CLEAN`
/// documents can be downloaded by anyone but the uploader.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "documents")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub case_id: Option<Uuid>,
    pub message_id: Option<Uuid>,
    /// Evidence for an Alternative Payment Arrangement.
    pub payment_arrangement_id: Option<Uuid>,
    pub uploaded_by_user_id: Uuid,
    /// The name the file had on the uploader's device (for display and
    /// the download's `Content-Disposition`).
    pub original_filename: String,
    /// The declared MIME type, verified against the file's content.
    pub content_type: String,
    pub category: DocumentCategory,
    pub size_bytes: i64,
    /// Hex SHA-256 of the content.
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub sha256: String,
    /// Key of the bytes in the object store; never shown to clients.
    pub storage_key: String,
    pub scan_status: ScanStatus,
    /// The scanner's verdict, e.g. the signature name when infected.
    pub scan_detail: Option<String>,
    pub scanned_at: Option<DateTimeUtc>,
    /// Whether the case's parties may see a staff upload.
    pub shared_with_parties: bool,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::case::Entity",
        from = "Column::CaseId",
        to = "super::case::Column::Id",
        on_delete = "Cascade"
    )]
    Case,
    #[sea_orm(
        belongs_to = "super::message::Entity",
        from = "Column::MessageId",
        to = "super::message::Column::Id",
        on_delete = "Cascade"
    )]
    Message,
    #[sea_orm(
        belongs_to = "super::payment_arrangement::Entity",
        from = "Column::PaymentArrangementId",
        to = "super::payment_arrangement::Column::Id",
        on_delete = "Cascade"
    )]
    PaymentArrangement,
    #[sea_orm(
        belongs_to = "super::user::Entity",
        from = "Column::UploadedByUserId",
        to = "super::user::Column::Id",
        on_delete = "NoAction"
    )]
    UploadedByUser,
}

impl Related<super::case::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Case.def()
    }
}

impl Related<super::message::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Message.def()
    }
}

impl Related<super::payment_arrangement::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::PaymentArrangement.def()
    }
}

/// The uploader.
impl Related<super::user::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::UploadedByUser.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
