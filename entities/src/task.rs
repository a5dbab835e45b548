//! `tasks`: things a resident or a landlord organisation must do on a case.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

use crate::enums::{PartyKind, TaskStatus};

/// A task. Exactly one of `assignee_user_id` (a resident) and
/// `assignee_organisation_id` (a landlord organisation) is set, matching
/// `assignee_kind`. "Overdue" is derived: `PENDING` and `due_date` before
/// today.
///
/// There are several references to `users`, so there is no
/// `Related<user::Entity>`; use the specific `Relation` variant.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "tasks")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub case_id: Uuid,
    pub title: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub description: Option<String>,
    /// The target date.
    pub due_date: Date,
    pub status: TaskStatus,
    pub assignee_kind: PartyKind,
    pub assignee_user_id: Option<Uuid>,
    pub assignee_organisation_id: Option<Uuid>,
    /// For "Read message" tasks: the staff message to read.
    pub source_message_id: Option<Uuid>,
    /// Why the assignee could not complete it (at most 280 characters,
    /// checked by the API).
    pub unable_reason: Option<String>,
    pub completed_at: Option<DateTimeUtc>,
    pub completed_by_user_id: Option<Uuid>,
    /// When the case owner reviewed an `UNABLE_TO_COMPLETE` answer.
    pub reviewed_at: Option<DateTimeUtc>,
    pub reviewed_by_user_id: Option<Uuid>,
    /// When the "due soon" reminder was sent, so it is sent once.
    pub due_soon_reminded_at: Option<DateTimeUtc>,
    /// When the "overdue" reminder was sent, so it is sent once.
    pub overdue_reminded_at: Option<DateTimeUtc>,
    pub created_by_user_id: Option<Uuid>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
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
        from = "Column::AssigneeUserId",
        to = "super::user::Column::Id",
        on_delete = "NoAction"
    )]
    AssigneeUser,
    #[sea_orm(
        belongs_to = "super::organisation::Entity",
        from = "Column::AssigneeOrganisationId",
        to = "super::organisation::Column::Id",
        on_delete = "NoAction"
    )]
    AssigneeOrganisation,
    #[sea_orm(
        belongs_to = "super::message::Entity",
        from = "Column::SourceMessageId",
        to = "super::message::Column::Id",
        on_delete = "Cascade"
    )]
    SourceMessage,
    #[sea_orm(
        belongs_to = "super::user::Entity",
        from = "Column::CompletedByUserId",
        to = "super::user::Column::Id",
        on_delete = "NoAction"
    )]
    CompletedByUser,
    #[sea_orm(
        belongs_to = "super::user::Entity",
        from = "Column::ReviewedByUserId",
        to = "super::user::Column::Id",
        on_delete = "NoAction"
    )]
    ReviewedByUser,
    #[sea_orm(
        belongs_to = "super::user::Entity",
        from = "Column::CreatedByUserId",
        to = "super::user::Column::Id",
        on_delete = "NoAction"
    )]
    CreatedByUser,
}

impl Related<super::case::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Case.def()
    }
}

/// The assignee organisation.
impl Related<super::organisation::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::AssigneeOrganisation.def()
    }
}

/// The source message of a "Read message" task.
impl Related<super::message::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::SourceMessage.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
