//! Documents: every uploaded file, whether attached to a case, a message (a
//! reply's attachments also carry the case, so they appear in the case's
//! document list) or a payment arrangement (evidence).
//!
//! A separate migration because documents reference both casework and
//! payment-arrangement tables, which must exist first (SQLite cannot add a
//! foreign key to an existing table).

use sea_orm_migration::{prelude::*, schema::*};

use crate::common::{create_indexes, drop_tables, fk, index};

#[derive(DeriveMigrationName)]
pub struct Migration;

// The trait's signatures elide `SchemaManager`'s lifetime and `async_trait`
// needs the impl to match them exactly, so `SchemaManager<'_>` is not an option.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Documents::Table)
                    .col(pk_uuid(Documents::Id))
                    .col(uuid_null(Documents::CaseId))
                    .col(uuid_null(Documents::MessageId))
                    .col(uuid_null(Documents::PaymentArrangementId))
                    .col(uuid(Documents::UploadedByUserId))
                    .col(string(Documents::OriginalFilename))
                    // The content type checked against the file's bytes.
                    .col(string(Documents::ContentType))
                    .col(string_len(Documents::Category, 32))
                    .col(big_integer(Documents::SizeBytes))
                    // Hex SHA-256 of the content, for integrity and de-duplication.
                    .col(string_len(Documents::Sha256, 64))
                    // Where the bytes live in the object store; never shown to clients.
                    .col(string(Documents::StorageKey))
                    .col(string_len(Documents::ScanStatus, 32))
                    // The scanner's verdict, e.g. the signature name when infected.
                    .col(string_null(Documents::ScanDetail))
                    .col(timestamp_with_time_zone_null(Documents::ScannedAt))
                    // Staff documents are visible to the parties only once shared.
                    .col(boolean(Documents::SharedWithParties).default(false))
                    .col(timestamp_with_time_zone(Documents::CreatedAt))
                    // A document is part of whatever it is attached to: it
                    // goes when its case / message / arrangement goes (never
                    // in normal operation). Cascade rather than block so
                    // a case's cascade can reach it by either path.
                    .foreign_key(&mut fk(
                        Documents::Table,
                        Documents::CaseId,
                        Cases::Table,
                        Cases::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        Documents::Table,
                        Documents::MessageId,
                        Messages::Table,
                        Messages::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        Documents::Table,
                        Documents::PaymentArrangementId,
                        PaymentArrangements::Table,
                        PaymentArrangements::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        Documents::Table,
                        Documents::UploadedByUserId,
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
                index(
                    "ix_documents_case_id_created_at",
                    Documents::Table,
                    [Documents::CaseId, Documents::CreatedAt],
                ),
                index(
                    "ix_documents_message_id",
                    Documents::Table,
                    [Documents::MessageId],
                ),
                index(
                    "ix_documents_payment_arrangement_id",
                    Documents::Table,
                    [Documents::PaymentArrangementId],
                ),
                // The worker finds documents still waiting for (or failing) a scan.
                index(
                    "ix_documents_scan_status",
                    Documents::Table,
                    [Documents::ScanStatus],
                ),
            ],
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_tables(manager, [Documents::Table.into_iden()]).await
    }
}

/// Created by the identity migration; only the key is referenced here.
#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

/// Created by the casework migration; only the key is referenced here.
#[derive(DeriveIden)]
enum Cases {
    Table,
    Id,
}

/// Created by the casework migration; only the key is referenced here.
#[derive(DeriveIden)]
enum Messages {
    Table,
    Id,
}

/// Created by the tenancy and payments migration; only the key is referenced here.
#[derive(DeriveIden)]
enum PaymentArrangements {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Documents {
    Table,
    Id,
    CaseId,
    MessageId,
    PaymentArrangementId,
    UploadedByUserId,
    OriginalFilename,
    ContentType,
    Category,
    SizeBytes,
    Sha256,
    StorageKey,
    ScanStatus,
    ScanDetail,
    ScannedAt,
    SharedWithParties,
    CreatedAt,
}
