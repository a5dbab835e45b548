//! `case_access_reports`: a party's "I don't recognise this case", a staff
//! to-do item until resolved.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

use crate::enums::AccessReportStatus;

/// One report. While `OPEN` it is on the staff queue (assigned to the case
/// owner at the time, if the case had one); a staff member resolves it with
/// what was found and done.
///
/// There are several references to `users`, so there is no
/// `Related<user::Entity>`; use the specific `Relation` variant.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "case_access_reports")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub case_id: Uuid,
    pub reported_by_user_id: Uuid,
    /// The reporter's organisation, for a landlord user.
    pub reporter_organisation_id: Option<Uuid>,
    /// What the reporter said (at most 2000 characters, checked by the API).
    #[sea_orm(column_type = "Text", nullable)]
    pub comment: Option<String>,
    pub status: AccessReportStatus,
    /// The case owner when the report was made.
    pub assigned_to_user_id: Option<Uuid>,
    /// What staff found and did (required to resolve).
    #[sea_orm(column_type = "Text", nullable)]
    pub resolution: Option<String>,
    pub resolved_at: Option<DateTimeUtc>,
    pub resolved_by_user_id: Option<Uuid>,
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
        from = "Column::ReportedByUserId",
        to = "super::user::Column::Id"
    )]
    ReportedBy,
}

impl Related<super::case::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Case.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
