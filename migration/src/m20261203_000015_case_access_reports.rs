//! `case_access_reports`: "I don't recognise this case". The Ombudsman seed
//! asks anyone who can see a case they do not recognise to tell the service
//! as soon as possible (portal users should only see cases they are involved
//! in, so it may be a data breach). A party's report is a staff to-do item,
//! assigned to the case owner when the case has one, until a staff member
//! resolves it with what was found and done.

use sea_orm_migration::{prelude::*, schema::*};

use crate::common::{create_indexes, drop_tables, fk, index};

#[derive(DeriveMigrationName)]
pub struct Migration;

// See `m20261124_000001_identity` for why `SchemaManager` has no lifetime here.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(CaseAccessReports::Table)
                    .col(pk_uuid(CaseAccessReports::Id))
                    .col(uuid(CaseAccessReports::CaseId))
                    .col(uuid(CaseAccessReports::ReportedByUserId))
                    // The reporter's organisation for a landlord user (whose
                    // administrators may read the audit entry), else null.
                    .col(uuid_null(CaseAccessReports::ReporterOrganisationId))
                    // At most 2000 characters, checked by the application.
                    .col(text_null(CaseAccessReports::Comment))
                    .col(string_len(CaseAccessReports::Status, 32))
                    // The case owner when the report was made, if any.
                    .col(uuid_null(CaseAccessReports::AssignedToUserId))
                    .col(text_null(CaseAccessReports::Resolution))
                    .col(timestamp_with_time_zone_null(CaseAccessReports::ResolvedAt))
                    .col(uuid_null(CaseAccessReports::ResolvedByUserId))
                    .col(timestamp_with_time_zone(CaseAccessReports::CreatedAt))
                    .col(timestamp_with_time_zone(CaseAccessReports::UpdatedAt))
                    // Part of the case's subtree: goes with the case.
                    .foreign_key(&mut fk(
                        CaseAccessReports::Table,
                        CaseAccessReports::CaseId,
                        Cases::Table,
                        Cases::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        CaseAccessReports::Table,
                        CaseAccessReports::ReportedByUserId,
                        Users::Table,
                        Users::Id,
                        ForeignKeyAction::NoAction,
                    ))
                    .foreign_key(&mut fk(
                        CaseAccessReports::Table,
                        CaseAccessReports::ReporterOrganisationId,
                        Organisations::Table,
                        Organisations::Id,
                        ForeignKeyAction::NoAction,
                    ))
                    .foreign_key(&mut fk(
                        CaseAccessReports::Table,
                        CaseAccessReports::AssignedToUserId,
                        Users::Table,
                        Users::Id,
                        ForeignKeyAction::NoAction,
                    ))
                    .foreign_key(&mut fk(
                        CaseAccessReports::Table,
                        CaseAccessReports::ResolvedByUserId,
                        Users::Table,
                        Users::Id,
                        ForeignKeyAction::NoAction,
                    ))
                    .to_owned(),
            )
            .await?;
        create_indexes(
            manager,
            [
                // The staff queue: open (or resolved) reports, newest first.
                index(
                    "ix_case_access_reports_status_id",
                    CaseAccessReports::Table,
                    [CaseAccessReports::Status, CaseAccessReports::Id],
                ),
                // A case's reports, and "has this user already reported it".
                index(
                    "ix_case_access_reports_case_id_reported_by",
                    CaseAccessReports::Table,
                    [
                        CaseAccessReports::CaseId,
                        CaseAccessReports::ReportedByUserId,
                    ],
                ),
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_tables(manager, [CaseAccessReports::Table.into_iden()]).await
    }
}

#[derive(DeriveIden)]
enum CaseAccessReports {
    Table,
    Id,
    CaseId,
    ReportedByUserId,
    ReporterOrganisationId,
    Comment,
    Status,
    AssignedToUserId,
    Resolution,
    ResolvedAt,
    ResolvedByUserId,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Cases {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Organisations {
    Table,
    Id,
}
