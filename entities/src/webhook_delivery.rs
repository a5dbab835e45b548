//! `webhook_deliveries`: one event to one endpoint, with its retry state.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

use crate::enums::WebhookDeliveryStatus;

/// The delivery of one event to one endpoint (unique per pair). Each HTTP
/// request is a `webhook_attempts` row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "webhook_deliveries")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub event_id: Uuid,
    pub endpoint_id: Uuid,
    pub status: WebhookDeliveryStatus,
    /// HTTP requests made so far.
    pub attempts: i32,
    /// When the next retry is due, while `PENDING`.
    pub next_attempt_at: Option<DateTimeUtc>,
    /// The status code of the last answer, if one came.
    pub last_status_code: Option<i32>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::webhook_event::Entity",
        from = "Column::EventId",
        to = "super::webhook_event::Column::Id",
        on_delete = "Cascade"
    )]
    Event,
    #[sea_orm(
        belongs_to = "super::webhook_endpoint::Entity",
        from = "Column::EndpointId",
        to = "super::webhook_endpoint::Column::Id",
        on_delete = "Cascade"
    )]
    Endpoint,
    #[sea_orm(has_many = "super::webhook_attempt::Entity")]
    Attempts,
}

impl Related<super::webhook_event::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Event.def()
    }
}

impl Related<super::webhook_endpoint::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Endpoint.def()
    }
}

impl Related<super::webhook_attempt::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Attempts.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
