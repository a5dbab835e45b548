//! `notification_deliveries`: every email and SMS sent (or attempted), with
//! its delivery state.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

use crate::enums::{Channel, DeliveryStatus};

/// One email or SMS.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "notification_deliveries")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub channel: Channel,
    /// Template name, e.g. `"invitation"`.
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub template: String,
    /// An email address or an E.164 phone number.
    pub recipient: String,
    /// The user it was sent to, when it was sent to a user.
    pub user_id: Option<Uuid>,
    /// Email subject; `None` for SMS.
    pub subject: Option<String>,
    /// Template parameters. May hold single-use links or codes, so it is
    /// never exposed through the API.
    #[sea_orm(column_type = "JsonBinary")]
    pub params: Json,
    pub status: DeliveryStatus,
    pub attempts: i32,
    /// The provider's message id, once accepted.
    pub provider_reference: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub last_error: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub sent_at: Option<DateTimeUtc>,
    /// What the provider last reported after accepting the message, in its
    /// own words (GOV.UK Notify: `delivered`, `permanent-failure`,
    /// `temporary-failure`, `technical-failure`, `sending`); `None` until a
    /// delivery-status callback arrives.
    #[sea_orm(column_type = "String(StringLen::N(32))", nullable)]
    pub provider_status: Option<String>,
    /// When the provider says that status was reached (Notify's
    /// `completed_at`, else `sent_at`, else the time of the callback).
    pub provider_status_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::user::Entity",
        from = "Column::UserId",
        to = "super::user::Column::Id",
        on_delete = "NoAction"
    )]
    User,
}

impl Related<super::user::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::User.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
