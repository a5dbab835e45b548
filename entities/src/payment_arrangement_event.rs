//! `payment_arrangement_events`: the status history of a payment arrangement.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

use crate::enums::ArrangementStatus;

/// One status change of an arrangement (including its submission).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "payment_arrangement_events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub payment_arrangement_id: Uuid,
    /// The status the arrangement moved to.
    pub status: ArrangementStatus,
    #[sea_orm(column_type = "Text", nullable)]
    pub note: Option<String>,
    pub actor_user_id: Option<Uuid>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::payment_arrangement::Entity",
        from = "Column::PaymentArrangementId",
        to = "super::payment_arrangement::Column::Id",
        on_delete = "Cascade"
    )]
    PaymentArrangement,
    #[sea_orm(
        belongs_to = "super::user::Entity",
        from = "Column::ActorUserId",
        to = "super::user::Column::Id",
        on_delete = "NoAction"
    )]
    ActorUser,
}

impl Related<super::payment_arrangement::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::PaymentArrangement.def()
    }
}

/// Who made the change.
impl Related<super::user::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::ActorUser.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
