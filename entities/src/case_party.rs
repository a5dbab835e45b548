//! `case_parties`: who is on a case besides staff — residents and landlord
//! organisations.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

use crate::enums::PartyKind;

/// A party to a case. Exactly one of `user_id` (a resident) and
/// `organisation_id` (a landlord, meaning all of its users) is set, matching
/// `party_kind`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "case_parties")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub case_id: Uuid,
    pub party_kind: PartyKind,
    /// The resident, when `party_kind` is `RESIDENT`.
    pub user_id: Option<Uuid>,
    /// The landlord organisation, when `party_kind` is `LANDLORD`.
    pub organisation_id: Option<Uuid>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::case::Entity",
        from = "Column::CaseId",
        to = "super::case::Column::Id",
        on_delete = "Cascade"
    )]
    Case,
    #[sea_orm(
        belongs_to = "super::user::Entity",
        from = "Column::UserId",
        to = "super::user::Column::Id",
        on_delete = "NoAction"
    )]
    User,
    #[sea_orm(
        belongs_to = "super::organisation::Entity",
        from = "Column::OrganisationId",
        to = "super::organisation::Column::Id",
        on_delete = "NoAction"
    )]
    Organisation,
}

impl Related<super::case::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Case.def()
    }
}

impl Related<super::user::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::User.def()
    }
}

impl Related<super::organisation::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Organisation.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
