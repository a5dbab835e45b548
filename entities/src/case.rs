//! `cases`: complaints handled by caseworkers, between residents and their
//! landlord.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A case. Open while `closed_at` is `None`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "cases")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Year and a 5-digit sequence, e.g. `"202200046"`; allocated from
    /// [`case_reference_counter`](super::case_reference_counter).
    #[sea_orm(column_type = "String(StringLen::N(16))", unique)]
    pub reference: String,
    /// e.g. "Complaint about a member landlord".
    pub case_type: String,
    /// e.g. "DR2 Review".
    pub stage: String,
    /// Free-text status shown to the parties, e.g. "Case under assessment".
    pub status_label: String,
    /// e.g. "Asbestos".
    pub category: String,
    /// The landlord party's organisation, denormalised from the parties for
    /// the landlord's case lists.
    pub landlord_organisation_id: Option<Uuid>,
    /// The staff member who owns the case.
    pub owner_user_id: Option<Uuid>,
    /// When the case was closed (its label is then "Closed").
    pub closed_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// The status label the case had when it was closed, restored when it
    /// is reopened (`None` while open).
    pub status_label_before_close: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::organisation::Entity",
        from = "Column::LandlordOrganisationId",
        to = "super::organisation::Column::Id",
        on_delete = "NoAction"
    )]
    LandlordOrganisation,
    #[sea_orm(
        belongs_to = "super::user::Entity",
        from = "Column::OwnerUserId",
        to = "super::user::Column::Id",
        on_delete = "NoAction"
    )]
    OwnerUser,
    #[sea_orm(has_many = "super::case_party::Entity")]
    CaseParty,
    #[sea_orm(has_many = "super::task::Entity")]
    Task,
    #[sea_orm(has_many = "super::message::Entity")]
    Message,
    #[sea_orm(has_many = "super::document::Entity")]
    Document,
}

/// The landlord organisation.
impl Related<super::organisation::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::LandlordOrganisation.def()
    }
}

/// The case owner.
impl Related<super::user::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::OwnerUser.def()
    }
}

impl Related<super::case_party::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::CaseParty.def()
    }
}

impl Related<super::task::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Task.def()
    }
}

impl Related<super::message::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Message.def()
    }
}

impl Related<super::document::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Document.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
