//! `case_notes`: staff-only notes on a case.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// An internal note: written by staff, read by staff. Never shown to the
/// parties, never emailed, no tasks; kept apart from `messages` so that no
/// query of the parties' thread can return one.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "case_notes")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub case_id: Uuid,
    /// The staff member who wrote it.
    pub author_user_id: Uuid,
    /// Plain text (at most 2000 characters, checked by the API).
    #[sea_orm(column_type = "Text")]
    pub body: String,
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
        belongs_to = "super::user::Entity",
        from = "Column::AuthorUserId",
        to = "super::user::Column::Id",
        on_delete = "NoAction"
    )]
    AuthorUser,
}

impl Related<super::case::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Case.def()
    }
}

/// The author.
impl Related<super::user::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::AuthorUser.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
