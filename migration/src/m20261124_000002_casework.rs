//! Casework (the Ombudsman side): cases and their yearly reference counters,
//! the parties to a case, staff messages and party replies, tasks, and who
//! has read which message.
//!
//! A case is the root of its own subtree: parties, messages, tasks and read
//! receipts are `ON DELETE CASCADE` from it, and every foreign key *inside*
//! that subtree cascades (or sets null) too, so deleting a case removes the
//! whole subtree whatever order the backend visits the rows in. References out
//! of the subtree (to users and organisations) block deletion
//! (`NO ACTION`): those are never deleted.

use sea_orm_migration::{prelude::*, schema::*};

use crate::common::{create_indexes, drop_tables, fk, index, unique_index};

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
                    .table(Cases::Table)
                    .col(pk_uuid(Cases::Id))
                    // Year followed by a 5-digit sequence, e.g. "202200046".
                    .col(string_len_uniq(Cases::Reference, 16))
                    .col(string(Cases::CaseType))
                    .col(string(Cases::Stage))
                    // Free text ("Case under assessment", ...): the back office
                    // invents new ones, so it is not an enum.
                    .col(string(Cases::StatusLabel))
                    .col(string(Cases::Category))
                    .col(uuid_null(Cases::LandlordOrganisationId))
                    .col(uuid_null(Cases::OwnerUserId))
                    .col(timestamp_with_time_zone_null(Cases::ClosedAt))
                    .col(timestamp_with_time_zone(Cases::CreatedAt))
                    .col(timestamp_with_time_zone(Cases::UpdatedAt))
                    .foreign_key(&mut fk(
                        Cases::Table,
                        Cases::LandlordOrganisationId,
                        Organisations::Table,
                        Organisations::Id,
                        ForeignKeyAction::NoAction,
                    ))
                    .foreign_key(&mut fk(
                        Cases::Table,
                        Cases::OwnerUserId,
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
                // A landlord's open (closed_at IS NULL) and closed case lists.
                index(
                    "ix_cases_landlord_organisation_id_closed_at",
                    Cases::Table,
                    [Cases::LandlordOrganisationId, Cases::ClosedAt],
                ),
                index("ix_cases_owner_user_id", Cases::Table, [Cases::OwnerUserId]),
                index("ix_cases_created_at", Cases::Table, [Cases::CreatedAt]),
            ],
        )
        .await?;

        // One row per year. A reference is allocated by incrementing
        // `last_value` in the transaction that creates the case, so the row
        // lock serialises concurrent allocations and a rollback gives the
        // number back (no gaps, no duplicates).
        manager
            .create_table(
                Table::create()
                    .table(CaseReferenceCounters::Table)
                    .col(integer(CaseReferenceCounters::Year).primary_key())
                    .col(integer(CaseReferenceCounters::LastValue))
                    .to_owned(),
            )
            .await?;

        // Who is on a case: a resident (user) or a landlord organisation.
        // Exactly one of user_id / organisation_id is set, matching party_kind
        // (checked by the application).
        manager
            .create_table(
                Table::create()
                    .table(CaseParties::Table)
                    .col(pk_uuid(CaseParties::Id))
                    .col(uuid(CaseParties::CaseId))
                    .col(string_len(CaseParties::PartyKind, 32))
                    .col(uuid_null(CaseParties::UserId))
                    .col(uuid_null(CaseParties::OrganisationId))
                    .col(timestamp_with_time_zone(CaseParties::CreatedAt))
                    .foreign_key(&mut fk(
                        CaseParties::Table,
                        CaseParties::CaseId,
                        Cases::Table,
                        Cases::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        CaseParties::Table,
                        CaseParties::UserId,
                        Users::Table,
                        Users::Id,
                        ForeignKeyAction::NoAction,
                    ))
                    .foreign_key(&mut fk(
                        CaseParties::Table,
                        CaseParties::OrganisationId,
                        Organisations::Table,
                        Organisations::Id,
                        ForeignKeyAction::NoAction,
                    ))
                    .to_owned(),
            )
            .await?;
        create_indexes(
            manager,
            [
                unique_index(
                    "ux_case_parties_case_id_user_id",
                    CaseParties::Table,
                    [CaseParties::CaseId, CaseParties::UserId],
                )
                .and_where(Expr::col(CaseParties::UserId).is_not_null())
                .take(),
                unique_index(
                    "ux_case_parties_case_id_organisation_id",
                    CaseParties::Table,
                    [CaseParties::CaseId, CaseParties::OrganisationId],
                )
                .and_where(Expr::col(CaseParties::OrganisationId).is_not_null())
                .take(),
                // "My cases" for a resident and for a landlord organisation.
                index(
                    "ix_case_parties_user_id",
                    CaseParties::Table,
                    [CaseParties::UserId],
                ),
                index(
                    "ix_case_parties_organisation_id",
                    CaseParties::Table,
                    [CaseParties::OrganisationId],
                ),
            ],
        )
        .await?;

        // Staff messages and party replies. Created before tasks, which point
        // at the message a "Read message" task is about.
        manager
            .create_table(
                Table::create()
                    .table(Messages::Table)
                    .col(pk_uuid(Messages::Id))
                    .col(uuid(Messages::CaseId))
                    .col(uuid(Messages::SenderUserId))
                    .col(uuid_null(Messages::ParentMessageId))
                    .col(uuid_null(Messages::ReplyingPartyId))
                    .col(string_null(Messages::Subject))
                    .col(text(Messages::Body))
                    .col(timestamp_with_time_zone(Messages::CreatedAt))
                    .foreign_key(&mut fk(
                        Messages::Table,
                        Messages::CaseId,
                        Cases::Table,
                        Cases::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        Messages::Table,
                        Messages::SenderUserId,
                        Users::Table,
                        Users::Id,
                        ForeignKeyAction::NoAction,
                    ))
                    // A reply belongs to the staff message it answers.
                    .foreign_key(&mut fk(
                        Messages::Table,
                        Messages::ParentMessageId,
                        Messages::Table,
                        Messages::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    // Removing a party from a case must not delete or block on
                    // what they wrote; the reply keeps its sender.
                    .foreign_key(&mut fk(
                        Messages::Table,
                        Messages::ReplyingPartyId,
                        CaseParties::Table,
                        CaseParties::Id,
                        ForeignKeyAction::SetNull,
                    ))
                    .to_owned(),
            )
            .await?;
        create_indexes(
            manager,
            [
                // A party replies at most once to each staff message.
                unique_index(
                    "ux_messages_parent_message_id_replying_party_id",
                    Messages::Table,
                    [Messages::ParentMessageId, Messages::ReplyingPartyId],
                )
                .and_where(Expr::col(Messages::ParentMessageId).is_not_null())
                .take(),
                index(
                    "ix_messages_case_id_created_at",
                    Messages::Table,
                    [Messages::CaseId, Messages::CreatedAt],
                ),
            ],
        )
        .await?;

        // Tasks set on a case for a resident or a landlord organisation.
        // As with parties, exactly one of assignee_user_id /
        // assignee_organisation_id is set, matching assignee_kind.
        manager
            .create_table(
                Table::create()
                    .table(Tasks::Table)
                    .col(pk_uuid(Tasks::Id))
                    .col(uuid(Tasks::CaseId))
                    .col(string(Tasks::Title))
                    .col(text_null(Tasks::Description))
                    .col(date(Tasks::DueDate))
                    .col(string_len(Tasks::Status, 32))
                    .col(string_len(Tasks::AssigneeKind, 32))
                    .col(uuid_null(Tasks::AssigneeUserId))
                    .col(uuid_null(Tasks::AssigneeOrganisationId))
                    .col(uuid_null(Tasks::SourceMessageId))
                    // At most 280 characters, enforced by the application so
                    // the limit can be reported as a field error.
                    .col(string_null(Tasks::UnableReason))
                    .col(timestamp_with_time_zone_null(Tasks::CompletedAt))
                    .col(uuid_null(Tasks::CompletedByUserId))
                    .col(timestamp_with_time_zone_null(Tasks::ReviewedAt))
                    .col(uuid_null(Tasks::ReviewedByUserId))
                    // Set when the reminder job has sent each reminder, so a
                    // re-run of the job does not send it twice.
                    .col(timestamp_with_time_zone_null(Tasks::DueSoonRemindedAt))
                    .col(timestamp_with_time_zone_null(Tasks::OverdueRemindedAt))
                    .col(uuid_null(Tasks::CreatedByUserId))
                    .col(timestamp_with_time_zone(Tasks::CreatedAt))
                    .col(timestamp_with_time_zone(Tasks::UpdatedAt))
                    .foreign_key(&mut fk(
                        Tasks::Table,
                        Tasks::CaseId,
                        Cases::Table,
                        Cases::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        Tasks::Table,
                        Tasks::AssigneeUserId,
                        Users::Table,
                        Users::Id,
                        ForeignKeyAction::NoAction,
                    ))
                    .foreign_key(&mut fk(
                        Tasks::Table,
                        Tasks::AssigneeOrganisationId,
                        Organisations::Table,
                        Organisations::Id,
                        ForeignKeyAction::NoAction,
                    ))
                    // Same case subtree: cascade, see the module docs.
                    .foreign_key(&mut fk(
                        Tasks::Table,
                        Tasks::SourceMessageId,
                        Messages::Table,
                        Messages::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        Tasks::Table,
                        Tasks::CompletedByUserId,
                        Users::Table,
                        Users::Id,
                        ForeignKeyAction::NoAction,
                    ))
                    .foreign_key(&mut fk(
                        Tasks::Table,
                        Tasks::ReviewedByUserId,
                        Users::Table,
                        Users::Id,
                        ForeignKeyAction::NoAction,
                    ))
                    .foreign_key(&mut fk(
                        Tasks::Table,
                        Tasks::CreatedByUserId,
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
                // Next outstanding task(s) of a case, in due order.
                index(
                    "ix_tasks_case_id_status_due_date",
                    Tasks::Table,
                    [Tasks::CaseId, Tasks::Status, Tasks::DueDate],
                ),
                // "My tasks" for a resident and for a landlord organisation.
                index(
                    "ix_tasks_assignee_user_id_status_due_date",
                    Tasks::Table,
                    [Tasks::AssigneeUserId, Tasks::Status, Tasks::DueDate],
                ),
                index(
                    "ix_tasks_assignee_organisation_id_status_due_date",
                    Tasks::Table,
                    [Tasks::AssigneeOrganisationId, Tasks::Status, Tasks::DueDate],
                ),
            ],
        )
        .await?;

        // Read receipts, per user, for unread counts.
        manager
            .create_table(
                Table::create()
                    .table(MessageReads::Table)
                    .col(uuid(MessageReads::MessageId))
                    .col(uuid(MessageReads::UserId))
                    .col(timestamp_with_time_zone(MessageReads::ReadAt))
                    .primary_key(
                        Index::create()
                            .col(MessageReads::MessageId)
                            .col(MessageReads::UserId),
                    )
                    .foreign_key(&mut fk(
                        MessageReads::Table,
                        MessageReads::MessageId,
                        Messages::Table,
                        Messages::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        MessageReads::Table,
                        MessageReads::UserId,
                        Users::Table,
                        Users::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        create_indexes(
            manager,
            [index(
                "ix_message_reads_user_id",
                MessageReads::Table,
                [MessageReads::UserId],
            )],
        )
        .await?;

        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_tables(
            manager,
            [
                MessageReads::Table.into_iden(),
                Tasks::Table.into_iden(),
                Messages::Table.into_iden(),
                CaseParties::Table.into_iden(),
                CaseReferenceCounters::Table.into_iden(),
                Cases::Table.into_iden(),
            ],
        )
        .await
    }
}

/// Created by the identity migration; only the key is referenced here.
#[derive(DeriveIden)]
enum Organisations {
    Table,
    Id,
}

/// Created by the identity migration; only the key is referenced here.
#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Cases {
    Table,
    Id,
    Reference,
    CaseType,
    Stage,
    StatusLabel,
    Category,
    LandlordOrganisationId,
    OwnerUserId,
    ClosedAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum CaseReferenceCounters {
    Table,
    Year,
    LastValue,
}

#[derive(DeriveIden)]
enum CaseParties {
    Table,
    Id,
    CaseId,
    PartyKind,
    UserId,
    OrganisationId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Messages {
    Table,
    Id,
    CaseId,
    SenderUserId,
    ParentMessageId,
    ReplyingPartyId,
    Subject,
    Body,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Tasks {
    Table,
    Id,
    CaseId,
    Title,
    Description,
    DueDate,
    Status,
    AssigneeKind,
    AssigneeUserId,
    AssigneeOrganisationId,
    SourceMessageId,
    UnableReason,
    CompletedAt,
    CompletedByUserId,
    ReviewedAt,
    ReviewedByUserId,
    DueSoonRemindedAt,
    OverdueRemindedAt,
    CreatedByUserId,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum MessageReads {
    Table,
    MessageId,
    UserId,
    ReadAt,
}
