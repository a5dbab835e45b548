//! `properties`: a landlord organisation's rented properties.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

use crate::enums::RentFrequency;

/// A property. Removing one sets `removed_at` (tenants and payments keep
/// pointing at it); removed properties are left out of lists.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "properties")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organisation_id: Uuid,
    /// The landlord's own property reference; unique within the organisation
    /// and the key of bulk housing-cost updates.
    pub reference: String,
    pub address_line1: String,
    pub address_line2: Option<String>,
    pub town: String,
    /// Normalised: upper case with one space, e.g. `"SW1A 1AA"`.
    pub postcode: String,
    /// Rent per `rent_frequency`, in pence.
    pub rent_pence: i64,
    /// Service charges per `rent_frequency`, in pence.
    pub service_charge_pence: i64,
    pub rent_frequency: RentFrequency,
    pub removed_at: Option<DateTimeUtc>,
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
    #[sea_orm(has_many = "super::tenant::Entity")]
    Tenant,
    #[sea_orm(has_many = "super::payment::Entity")]
    Payment,
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

impl Related<super::payment::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Payment.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
