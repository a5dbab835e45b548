//! Messages to chosen parties, internal notes, and "closed means Closed"
//! (issue 15, points 3 and 4):
//! - `messages.to_resident`, `messages.to_landlord`: which parties a staff
//!   message was sent to (the resident parties, the landlord organisation,
//!   or both). Until now every staff message went to every party, so the
//!   existing staff messages get both; a reply goes to the caseworker only,
//!   so existing replies get neither (their author's side still sees them
//!   through `replying_party_id`);
//! - `case_notes`: staff-only notes on a case. A table of their own rather
//!   than a kind of message, so that no query of the parties' thread,
//!   counts or live updates can show one by forgetting a condition;
//! - `cases.status_label_before_close`: the status label a case had when it
//!   was closed (closing sets the label to "Closed"), restored on reopening.
//!   Cases closed before this migration had kept their label: they are
//!   labelled "Closed" now, and keep the old label to restore.
//!
//! SQLite adds one column per `ALTER TABLE`, so each column is its own
//! statement.

use sea_orm_migration::{prelude::*, schema::*};

use crate::common::{create_indexes, drop_tables, fk, index};

#[derive(DeriveMigrationName)]
pub struct Migration;

async fn add(
    manager: &SchemaManager<'_>,
    table: impl IntoIden,
    mut column: ColumnDef,
) -> Result<(), DbErr> {
    manager
        .alter_table(
            Table::alter()
                .table(table)
                .add_column(&mut column)
                .to_owned(),
        )
        .await
}

async fn drop(
    manager: &SchemaManager<'_>,
    table: impl IntoIden,
    column: impl IntoIden,
) -> Result<(), DbErr> {
    manager
        .alter_table(Table::alter().table(table).drop_column(column).to_owned())
        .await
}

/// The label closing gives a case (also `api::casework::cases::CLOSED`).
const CLOSED: &str = "Closed";

// See `m20261124_000001_identity` for why `SchemaManager` has no lifetime here.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        add(
            manager,
            Messages::Table,
            boolean(Messages::ToResident).default(true).take(),
        )
        .await?;
        add(
            manager,
            Messages::Table,
            boolean(Messages::ToLandlord).default(true).take(),
        )
        .await?;
        manager
            .exec_stmt(
                Query::update()
                    .table(Messages::Table)
                    .value(Messages::ToResident, false)
                    .value(Messages::ToLandlord, false)
                    .and_where(Expr::col(Messages::ParentMessageId).is_not_null())
                    .to_owned(),
            )
            .await?;

        add(
            manager,
            Cases::Table,
            string_null(Cases::StatusLabelBeforeClose),
        )
        .await?;
        // Both assignments read the row as it was (standard SQL, and so on
        // SQLite and PostgreSQL alike).
        manager
            .exec_stmt(
                Query::update()
                    .table(Cases::Table)
                    .value(Cases::StatusLabelBeforeClose, Expr::col(Cases::StatusLabel))
                    .value(Cases::StatusLabel, CLOSED)
                    .and_where(Expr::col(Cases::ClosedAt).is_not_null())
                    .and_where(Expr::col(Cases::StatusLabel).ne(CLOSED))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(CaseNotes::Table)
                    .col(pk_uuid(CaseNotes::Id))
                    .col(uuid(CaseNotes::CaseId))
                    .col(uuid(CaseNotes::AuthorUserId))
                    .col(text(CaseNotes::Body))
                    .col(timestamp_with_time_zone(CaseNotes::CreatedAt))
                    .foreign_key(&mut fk(
                        CaseNotes::Table,
                        CaseNotes::CaseId,
                        Cases::Table,
                        Cases::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        CaseNotes::Table,
                        CaseNotes::AuthorUserId,
                        Users::Table,
                        Users::Id,
                        ForeignKeyAction::NoAction,
                    ))
                    .to_owned(),
            )
            .await?;
        create_indexes(
            manager,
            [index(
                "ix_case_notes_case_id",
                CaseNotes::Table,
                [CaseNotes::CaseId],
            )],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_tables(manager, [CaseNotes::Table.into_iden()]).await?;
        // The label a case had before closing is what it showed before this
        // migration.
        manager
            .exec_stmt(
                Query::update()
                    .table(Cases::Table)
                    .value(Cases::StatusLabel, Expr::col(Cases::StatusLabelBeforeClose))
                    .and_where(Expr::col(Cases::ClosedAt).is_not_null())
                    .and_where(Expr::col(Cases::StatusLabelBeforeClose).is_not_null())
                    .to_owned(),
            )
            .await?;
        drop(manager, Cases::Table, Cases::StatusLabelBeforeClose).await?;
        drop(manager, Messages::Table, Messages::ToLandlord).await?;
        drop(manager, Messages::Table, Messages::ToResident).await
    }
}

#[derive(DeriveIden)]
enum Messages {
    Table,
    ParentMessageId,
    ToResident,
    ToLandlord,
}

#[derive(DeriveIden)]
enum Cases {
    Table,
    Id,
    StatusLabel,
    StatusLabelBeforeClose,
    ClosedAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum CaseNotes {
    Table,
    Id,
    CaseId,
    AuthorUserId,
    Body,
    CreatedAt,
}
