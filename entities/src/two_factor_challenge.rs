//! `two_factor_challenges`: a code sent by email or SMS for one step
//! (sign-in, confirming a mobile number, enabling two-factor).

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

use crate::enums::{ChallengePurpose, TwoFactorChannel};

/// One two-factor challenge. Re-sending replaces `code_hash` and bumps
/// `sends` but keeps `attempts`, so re-sending cannot reset the
/// wrong-code limit.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "two_factor_challenges")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: Uuid,
    pub purpose: ChallengePurpose,
    pub channel: TwoFactorChannel,
    /// Hex SHA-256 of the opaque handle the client holds between the steps.
    #[sea_orm(column_type = "String(StringLen::N(64))", unique)]
    #[serde(skip)]
    pub challenge_token_hash: String,
    /// Hash of the 6-digit code currently valid.
    #[serde(skip)]
    pub code_hash: String,
    /// The mobile number being confirmed (`CONFIRM_MOBILE`), which is not yet
    /// the user's.
    pub destination: Option<String>,
    /// Wrong codes entered so far; at the limit the challenge locks.
    pub attempts: i32,
    /// Codes sent (the first send counts).
    pub sends: i32,
    pub expires_at: DateTimeUtc,
    /// Set when the right code is entered; a code works once.
    pub consumed_at: Option<DateTimeUtc>,
    /// Set when too many wrong codes were entered.
    pub locked_at: Option<DateTimeUtc>,
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
