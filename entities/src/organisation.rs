//! `organisations`: landlord organisations (housing associations, councils,
//! private landlords) whose users work with the service.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A landlord organisation.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "organisations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub name: String,
    /// Postal address, shown on cases where the organisation is the landlord.
    #[sea_orm(column_type = "Text")]
    pub address: String,
    /// When set, every user of the organisation must use two-factor sign-in.
    pub requires_two_factor: bool,
    /// Where two-factor is required, the methods that count
    /// (comma-separated `TwoFactorMethod` values); `None`: any method.
    pub two_factor_methods: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::organisation_domain::Entity")]
    OrganisationDomain,
    #[sea_orm(has_many = "super::user::Entity")]
    User,
    #[sea_orm(has_many = "super::api_token::Entity")]
    ApiToken,
    /// Cases where this organisation is the landlord.
    #[sea_orm(has_many = "super::case::Entity")]
    Case,
    #[sea_orm(has_many = "super::property::Entity")]
    Property,
    #[sea_orm(has_many = "super::tenant::Entity")]
    Tenant,
    #[sea_orm(has_many = "super::payment::Entity")]
    Payment,
}

impl Related<super::organisation_domain::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::OrganisationDomain.def()
    }
}

impl Related<super::user::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::User.def()
    }
}

impl Related<super::api_token::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::ApiToken.def()
    }
}

impl Related<super::case::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Case.def()
    }
}

impl Related<super::property::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Property.def()
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
