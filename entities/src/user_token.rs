//! `user_tokens`: single-use links sent by email (invitation, password reset).

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

use crate::enums::TokenPurpose;

/// A single-use emailed link. Only the hash of the link's secret is stored.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "user_tokens")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: Uuid,
    pub purpose: TokenPurpose,
    /// Hex SHA-256 of the secret in the link.
    #[sea_orm(column_type = "String(StringLen::N(64))", unique)]
    #[serde(skip)]
    pub token_hash: String,
    pub expires_at: DateTimeUtc,
    /// Set when the link is followed; a used link never works again.
    pub used_at: Option<DateTimeUtc>,
    /// An email change: the new address, which becomes the account's when
    /// the link sent to it is followed.
    pub new_email: Option<String>,
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
