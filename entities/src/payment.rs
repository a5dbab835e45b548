//! `payments`: Universal Credit housing payments made to a landlord.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A payment to a landlord organisation for a tenant. Tenant name, postcode
/// and claim reference are copied in when recorded, so search and export need
/// no joins and show what was true at the time.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "payments")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organisation_id: Uuid,
    pub tenant_id: Uuid,
    pub property_id: Option<Uuid>,
    /// "First Last" at the time of payment.
    pub tenant_name: String,
    /// Normalised postcode at the time of payment.
    pub postcode: String,
    pub claim_reference: String,
    pub amount_pence: i64,
    pub payment_date: Date,
    /// First day of the period the payment covers.
    pub period_start: Date,
    /// Last day of the period the payment covers (inclusive).
    pub period_end: Date,
    /// The Alternative Payment Arrangement reference, when paid under one.
    pub arrangement_reference: Option<String>,
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
        belongs_to = "super::tenant::Entity",
        from = "Column::TenantId",
        to = "super::tenant::Column::Id",
        on_delete = "NoAction"
    )]
    Tenant,
    #[sea_orm(
        belongs_to = "super::property::Entity",
        from = "Column::PropertyId",
        to = "super::property::Column::Id",
        on_delete = "NoAction"
    )]
    Property,
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

impl Related<super::property::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Property.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
