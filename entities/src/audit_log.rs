//! `audit_log`: the append-only record of every administrative action.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// One audit entry: who (`actor_*`) did what (`action`) to whom (`target_*`),
/// when, from where, with the state before and after.
///
/// Append-only: database triggers make any UPDATE or DELETE of this table
/// fail, so only `insert` works on it.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "audit_log")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The organisation whose administrators may read this entry; `None` for
    /// entries only staff may read.
    pub organisation_id: Option<Uuid>,
    /// The acting user; `None` for system actions (e.g. the 90-day sweep) and
    /// API tokens.
    pub actor_user_id: Option<Uuid>,
    pub actor_api_token_id: Option<Uuid>,
    /// What happened, e.g. `"user.deactivate"`.
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub action: String,
    /// The kind of object acted on, e.g. `"USER"`.
    #[sea_orm(column_type = "String(StringLen::N(32))")]
    pub target_type: String,
    pub target_id: Option<Uuid>,
    /// The relevant state before the action (secrets never included).
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub before: Option<Json>,
    /// The relevant state after the action.
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub after: Option<Json>,
    pub ip_address: Option<String>,
    /// The request id, to find the request in the logs.
    pub request_id: Option<String>,
    pub created_at: DateTimeUtc,
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
        from = "Column::ActorUserId",
        to = "super::user::Column::Id",
        on_delete = "NoAction"
    )]
    ActorUser,
    #[sea_orm(
        belongs_to = "super::api_token::Entity",
        from = "Column::ActorApiTokenId",
        to = "super::api_token::Column::Id",
        on_delete = "NoAction"
    )]
    ActorApiToken,
}

impl Related<super::organisation::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Organisation.def()
    }
}

/// The acting user.
impl Related<super::user::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::ActorUser.def()
    }
}

/// The acting API token.
impl Related<super::api_token::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::ActorApiToken.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
