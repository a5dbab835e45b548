//! `tenants`: Universal Credit claimants renting from a landlord organisation.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A tenant of an organisation.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "tenants")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organisation_id: Uuid,
    pub first_name: String,
    pub last_name: String,
    /// The Universal Credit claim reference; unique within the organisation.
    pub claim_reference: String,
    /// The property they rent, when known.
    pub property_id: Option<Uuid>,
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
        belongs_to = "super::property::Entity",
        from = "Column::PropertyId",
        to = "super::property::Column::Id",
        on_delete = "NoAction"
    )]
    Property,
    #[sea_orm(has_many = "super::tenancy_request::Entity")]
    TenancyRequest,
    #[sea_orm(has_many = "super::payment_arrangement::Entity")]
    PaymentArrangement,
    #[sea_orm(has_many = "super::payment::Entity")]
    Payment,
}

impl Related<super::organisation::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Organisation.def()
    }
}

impl Related<super::property::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Property.def()
    }
}

impl Related<super::tenancy_request::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::TenancyRequest.def()
    }
}

impl Related<super::payment_arrangement::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::PaymentArrangement.def()
    }
}

impl Related<super::payment::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Payment.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
