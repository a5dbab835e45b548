//! `api_tokens`: organisation tokens for partner dashboards.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// An organisation API token. Shown once on creation; only its hash is kept.
///
/// It acts for its creator (`created_by_user_id`): it is accepted only while
/// that user is active, and carries only the permissions they still hold.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "api_tokens")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organisation_id: Uuid,
    /// A label chosen by the creator, e.g. "Finance dashboard".
    pub name: String,
    /// Hex SHA-256 of the token.
    #[sea_orm(column_type = "String(StringLen::N(64))", unique)]
    #[serde(skip)]
    pub token_hash: String,
    /// The token's first 12 characters (`pat_` and 8 of the secret), kept in
    /// clear so lists can tell tokens apart; far too short to guess the rest.
    #[sea_orm(column_type = "String(StringLen::N(16))")]
    pub token_prefix: String,
    pub created_by_user_id: Option<Uuid>,
    pub created_at: DateTimeUtc,
    pub last_used_at: Option<DateTimeUtc>,
    /// From this instant the token is refused like an unknown one. Set at
    /// creation (`expiresInDays`, within the configured maximum) and never
    /// extended. Tokens older than the column got the migration's time plus
    /// 90 days (`m20261124_000010_api_token_expiry`).
    pub expires_at: DateTimeUtc,
    /// A revoked token is kept (the audit log and exports refer to it) but
    /// never accepted again.
    pub revoked_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::organisation::Entity",
        from = "Column::OrganisationId",
        to = "super::organisation::Column::Id",
        on_delete = "Cascade"
    )]
    Organisation,
    #[sea_orm(
        belongs_to = "super::user::Entity",
        from = "Column::CreatedByUserId",
        to = "super::user::Column::Id",
        on_delete = "NoAction"
    )]
    CreatedByUser,
    #[sea_orm(has_many = "super::api_token_permission::Entity")]
    ApiTokenPermission,
}

impl Related<super::organisation::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Organisation.def()
    }
}

/// The user who created the token.
impl Related<super::user::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::CreatedByUser.def()
    }
}

impl Related<super::api_token_permission::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::ApiTokenPermission.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
