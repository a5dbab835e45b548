//! `sessions`: signed-in sessions behind opaque bearer tokens.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A session. The bearer token itself is never stored, only its hash.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "sessions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: Uuid,
    /// Hex SHA-256 of the bearer token.
    #[sea_orm(column_type = "String(StringLen::N(64))", unique)]
    #[serde(skip)]
    pub token_hash: String,
    pub created_at: DateTimeUtc,
    pub last_seen_at: DateTimeUtc,
    /// Pushed forward on use; the session ends when idle past it.
    pub idle_expires_at: DateTimeUtc,
    /// Hard limit however active the session is.
    pub absolute_expires_at: DateTimeUtc,
    /// Set on sign-out, password change or reset, deactivation, or by the owner.
    pub revoked_at: Option<DateTimeUtc>,
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
    /// The session may only set up two-factor sign-in: the user's
    /// organisation requires it (or the user is staff) and none is set up.
    pub enrolment_only: bool,
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
