//! `webhook_endpoints`: where an organisation wants its webhook events sent.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// One endpoint of an organisation: a URL, the event types it is subscribed
/// to and its signing secret (sealed with the server key; shown to the user
/// once, when created or rotated).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "webhook_endpoints")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organisation_id: Uuid,
    /// At most 2048 characters; `https` unless the operator allows `http`.
    #[sea_orm(column_type = "Text")]
    pub url: String,
    /// At most 200 characters.
    #[sea_orm(column_type = "Text", nullable)]
    pub description: Option<String>,
    /// A JSON array of event type wire names (see
    /// [`crate::WebhookEventType`]), never empty.
    #[sea_orm(column_type = "JsonBinary")]
    pub event_types: Json,
    /// Only enabled endpoints get deliveries for new events.
    pub enabled: bool,
    /// Why the worker disabled it (e.g. failing for too long); `None` when
    /// enabled or disabled by a user.
    #[sea_orm(column_type = "Text", nullable)]
    pub disabled_reason: Option<String>,
    pub disabled_at: Option<DateTimeUtc>,
    /// The current signing secret (`whsec_...`), sealed with the server key.
    /// Never exposed through the API after creation or rotation.
    #[sea_orm(column_type = "Text")]
    pub secret_sealed: String,
    /// The secret before the last rotation, sealed; deliveries are signed
    /// with both until `previous_secret_expires_at`.
    #[sea_orm(column_type = "Text", nullable)]
    pub previous_secret_sealed: Option<String>,
    pub previous_secret_expires_at: Option<DateTimeUtc>,
    /// Since when every delivery to it has failed; `None` after a success.
    pub failing_since: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
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
