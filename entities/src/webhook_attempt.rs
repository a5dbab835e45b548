//! `webhook_attempts`: one HTTP request of a webhook delivery.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// One request to the endpoint and what came back. The excerpt is shown only
/// to the endpoint's organisation.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "webhook_attempts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub delivery_id: Uuid,
    /// 1 for the delivery's first request.
    pub attempt: i32,
    pub started_at: DateTimeUtc,
    /// `None` when no HTTP answer came (refused, timed out, ...).
    pub status_code: Option<i32>,
    pub latency_ms: Option<i32>,
    /// At most 1 KiB of the answer's body.
    #[sea_orm(column_type = "Text", nullable)]
    pub response_excerpt: Option<String>,
    /// Why no answer (or a bad one) came, for the organisation to read.
    #[sea_orm(column_type = "Text", nullable)]
    pub error: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::webhook_delivery::Entity",
        from = "Column::DeliveryId",
        to = "super::webhook_delivery::Column::Id",
        on_delete = "Cascade"
    )]
    Delivery,
}

impl Related<super::webhook_delivery::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Delivery.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
