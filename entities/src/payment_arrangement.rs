//! `payment_arrangements`: Alternative Payment Arrangement applications.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

use crate::enums::ArrangementStatus;

/// An application by a landlord for a managed payment for a tenant, decided by
/// staff. Its history is in
/// [`payment_arrangement_event`](super::payment_arrangement_event) and its
/// evidence in [`document`](super::document).
///
/// There are two references to `users`, so there is no
/// `Related<user::Entity>`; use the specific `Relation` variant.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "payment_arrangements")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organisation_id: Uuid,
    pub tenant_id: Uuid,
    /// e.g. `"APA-000123"`; payments made under it carry it as
    /// `arrangement_reference`.
    #[sea_orm(unique)]
    pub reference: String,
    #[sea_orm(column_type = "Text")]
    pub reason: String,
    pub arrears_pence: i64,
    pub status: ArrangementStatus,
    /// Staff's reason, required when rejecting.
    #[sea_orm(column_type = "Text", nullable)]
    pub decision_reason: Option<String>,
    pub decided_by_user_id: Option<Uuid>,
    pub decided_at: Option<DateTimeUtc>,
    /// The landlord user who applied.
    pub applied_by_user_id: Option<Uuid>,
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
    #[sea_orm(
        belongs_to = "super::tenant::Entity",
        from = "Column::TenantId",
        to = "super::tenant::Column::Id",
        on_delete = "NoAction"
    )]
    Tenant,
    #[sea_orm(
        belongs_to = "super::user::Entity",
        from = "Column::DecidedByUserId",
        to = "super::user::Column::Id",
        on_delete = "NoAction"
    )]
    DecidedByUser,
    #[sea_orm(
        belongs_to = "super::user::Entity",
        from = "Column::AppliedByUserId",
        to = "super::user::Column::Id",
        on_delete = "NoAction"
    )]
    AppliedByUser,
    #[sea_orm(has_many = "super::payment_arrangement_event::Entity")]
    PaymentArrangementEvent,
    #[sea_orm(has_many = "super::document::Entity")]
    Document,
}

impl Related<super::organisation::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Organisation.def()
    }
}

impl Related<super::tenant::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Tenant.def()
    }
}

impl Related<super::payment_arrangement_event::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::PaymentArrangementEvent.def()
    }
}

impl Related<super::document::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Document.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
