//! `payment_exports`: requested CSV exports of payments, built by the worker.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

use crate::enums::ExportStatus;

/// A payments export. Requested by a user or by an API token (exactly one of
/// the two is set).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "payment_exports")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organisation_id: Uuid,
    pub requested_by_user_id: Option<Uuid>,
    pub requested_by_api_token_id: Option<Uuid>,
    /// The payment search filter the export applies (the API's filter
    /// input as JSON).
    #[sea_orm(column_type = "JsonBinary")]
    pub filter: Json,
    pub status: ExportStatus,
    /// Progress while `RUNNING`; the final row count once `COMPLETED`.
    pub rows_written: i64,
    /// Rows the filter matched, counted when the export starts.
    pub total_rows: Option<i64>,
    pub size_bytes: i64,
    /// Key of the CSV in the object store once written.
    pub storage_key: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub error: Option<String>,
    pub created_at: DateTimeUtc,
    pub started_at: Option<DateTimeUtc>,
    pub completed_at: Option<DateTimeUtc>,
    /// After this the file is deleted and the status becomes `EXPIRED`.
    pub expires_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::organisation::Entity",
        from = "Column::OrganisationId",
        to = "super::organisation::Column::Id",
        on_delete = "NoAction"
    )]
    Organisation,
    #[sea_orm(
        belongs_to = "super::user::Entity",
        from = "Column::RequestedByUserId",
        to = "super::user::Column::Id",
        on_delete = "NoAction"
    )]
    RequestedByUser,
    #[sea_orm(
        belongs_to = "super::api_token::Entity",
        from = "Column::RequestedByApiTokenId",
        to = "super::api_token::Column::Id",
        on_delete = "NoAction"
    )]
    RequestedByApiToken,
}

impl Related<super::organisation::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Organisation.def()
    }
}

/// The requesting user.
impl Related<super::user::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::RequestedByUser.def()
    }
}

/// The requesting API token.
impl Related<super::api_token::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::RequestedByApiToken.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
