//! `webhook_events`: something that happened to an organisation that its
//! webhook endpoints may subscribe to.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

use crate::enums::WebhookEventType;

/// One event, written in the same transaction as the change that caused it,
/// so it exists exactly when that change committed.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "webhook_events")]
pub struct Model {
    /// A UUIDv7, also the `webhook-id` of every delivery of the event.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organisation_id: Uuid,
    /// The wire name, e.g. `payment_export.completed`.
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub event_type: WebhookEventType,
    /// The version of the event type's `data` shape.
    pub version: i32,
    /// Ids and the few fields a receiver needs; never a document, a secret
    /// or personal free text.
    #[sea_orm(column_type = "JsonBinary")]
    pub data: Json,
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
    #[sea_orm(has_many = "super::webhook_delivery::Entity")]
    Deliveries,
}

impl Related<super::organisation::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Organisation.def()
    }
}

impl Related<super::webhook_delivery::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Deliveries.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
