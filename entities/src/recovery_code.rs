//! `recovery_codes`: single-use codes that stand in for a second factor when
//! the user cannot receive or read a code (a lost phone).

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// One recovery code. Only its hash is stored; the user saw it once.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "recovery_codes")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: Uuid,
    /// Hex SHA-256 of the user id and the normalised code.
    #[sea_orm(column_type = "String(StringLen::N(64))", unique)]
    #[serde(skip)]
    pub code_hash: String,
    /// Set when the code is used; a used code never works again.
    pub used_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::user::Entity",
        from = "Column::UserId",
        to = "super::user::Column::Id",
        on_delete = "Cascade"
    )]
    User,
}

impl Related<super::user::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::User.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
