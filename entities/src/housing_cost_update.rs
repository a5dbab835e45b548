//! `housing_cost_updates`: uploaded CSVs that update the rent of many
//! properties at once, applied by the worker.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

use crate::enums::BulkUpdateStatus;

/// A bulk housing-cost update.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "housing_cost_updates")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organisation_id: Uuid,
    pub uploaded_by_user_id: Uuid,
    /// Key of the uploaded CSV in the object store.
    pub storage_key: String,
    pub original_filename: String,
    pub status: BulkUpdateStatus,
    /// Data rows in the file.
    pub row_count: i32,
    /// Rows applied successfully.
    pub applied_count: i32,
    /// Every rejected row, as a JSON array of `{"row", "column", "reason"}`.
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub errors: Option<Json>,
    pub created_at: DateTimeUtc,
    pub completed_at: Option<DateTimeUtc>,
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
        from = "Column::UploadedByUserId",
        to = "super::user::Column::Id",
        on_delete = "NoAction"
    )]
    UploadedByUser,
}

impl Related<super::organisation::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Organisation.def()
    }
}

/// The uploader.
impl Related<super::user::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::UploadedByUser.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
