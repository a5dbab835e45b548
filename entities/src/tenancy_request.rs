//! `tenancy_requests`: "Provide tenancy details" to-do items raised by staff
//! when a tenant makes a new claim.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

use crate::enums::{RentFrequency, TenancyRequestReason, TenancyRequestStatus};

/// A request for a tenant's tenancy details. The answer fields stay `None`
/// while `OPEN` and when the answer is `NOT_TENANT`.
///
/// There are two references to `users`, so there is no
/// `Related<user::Entity>`; use the specific `Relation` variant.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "tenancy_requests")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organisation_id: Uuid,
    pub tenant_id: Uuid,
    /// The postcode the tenant gave on their claim (normalised).
    pub postcode: String,
    pub status: TenancyRequestStatus,
    /// Why it was raised.
    pub reason: TenancyRequestReason,
    /// The property the details are for, when the request or its answer
    /// named one (always a property of the same organisation).
    pub property_id: Option<Uuid>,
    pub due_date: Date,
    pub created_by_user_id: Option<Uuid>,
    pub answered_by_user_id: Option<Uuid>,
    pub answered_at: Option<DateTimeUtc>,
    pub tenancy_start_date: Option<Date>,
    /// Rent per `rent_frequency`, in pence.
    pub rent_pence: Option<i64>,
    pub rent_frequency: Option<RentFrequency>,
    /// Service charges per `rent_frequency`, in pence.
    pub service_charge_pence: Option<i64>,
    pub in_arrears: Option<bool>,
    /// Arrears in pence, when `in_arrears`.
    pub arrears_pence: Option<i64>,
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
        from = "Column::CreatedByUserId",
        to = "super::user::Column::Id",
        on_delete = "NoAction"
    )]
    CreatedByUser,
    #[sea_orm(
        belongs_to = "super::user::Entity",
        from = "Column::AnsweredByUserId",
        to = "super::user::Column::Id",
        on_delete = "NoAction"
    )]
    AnsweredByUser,
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

impl ActiveModelBehavior for ActiveModel {}
