//! `api_token_permissions`: the permissions an API token carries.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

use crate::enums::Permission;

/// One permission of one API token (only `VIEW_PAYMENTS` and
/// `EXPORT_PAYMENTS` are granted to tokens; see
/// [`Permission::API_TOKEN_ALLOWED`]).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "api_token_permissions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub api_token_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub permission: Permission,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::api_token::Entity",
        from = "Column::ApiTokenId",
        to = "super::api_token::Column::Id",
        on_delete = "Cascade"
    )]
    ApiToken,
}

impl Related<super::api_token::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::ApiToken.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
