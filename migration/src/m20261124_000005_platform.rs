//! Platform tables shared by every domain: the append-only audit log, the
//! outbox (job ledger) and the record of every email and SMS delivery.

use sea_orm_migration::{prelude::*, schema::*, sea_orm::DbBackend};

use crate::common::{create_indexes, drop_tables, fk, index, unique_index};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Message of the error raised by any UPDATE or DELETE on `audit_log`.
const APPEND_ONLY_MESSAGE: &str = "audit_log is append-only";

// The trait's signatures elide `SchemaManager`'s lifetime and `async_trait`
// needs the impl to match them exactly, so `SchemaManager<'_>` is not an option.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Who did what to whom, when, from where, with the state before and
        // after. References block deletion (NO ACTION; never cascade or set
        // null): a cascade would be an UPDATE/DELETE on the log, which the
        // triggers below forbid anyway, and the actors are never deleted.
        manager
            .create_table(
                Table::create()
                    .table(AuditLog::Table)
                    .col(pk_uuid(AuditLog::Id))
                    // The organisation whose administrators may read the entry.
                    .col(uuid_null(AuditLog::OrganisationId))
                    .col(uuid_null(AuditLog::ActorUserId))
                    .col(uuid_null(AuditLog::ActorApiTokenId))
                    // e.g. "user.deactivate".
                    .col(string_len(AuditLog::Action, 64))
                    // e.g. "USER"; with target_id, the object acted on.
                    .col(string_len(AuditLog::TargetType, 32))
                    .col(uuid_null(AuditLog::TargetId))
                    .col(json_binary_null(AuditLog::Before))
                    .col(json_binary_null(AuditLog::After))
                    .col(string_null(AuditLog::IpAddress))
                    .col(string_null(AuditLog::RequestId))
                    .col(timestamp_with_time_zone(AuditLog::CreatedAt))
                    .foreign_key(&mut fk(
                        AuditLog::Table,
                        AuditLog::OrganisationId,
                        Organisations::Table,
                        Organisations::Id,
                        ForeignKeyAction::NoAction,
                    ))
                    .foreign_key(&mut fk(
                        AuditLog::Table,
                        AuditLog::ActorUserId,
                        Users::Table,
                        Users::Id,
                        ForeignKeyAction::NoAction,
                    ))
                    .foreign_key(&mut fk(
                        AuditLog::Table,
                        AuditLog::ActorApiTokenId,
                        ApiTokens::Table,
                        ApiTokens::Id,
                        ForeignKeyAction::NoAction,
                    ))
                    .to_owned(),
            )
            .await?;
        create_indexes(
            manager,
            [
                index(
                    "ix_audit_log_organisation_id_created_at",
                    AuditLog::Table,
                    [AuditLog::OrganisationId, AuditLog::CreatedAt],
                ),
                index(
                    "ix_audit_log_target_id",
                    AuditLog::Table,
                    [AuditLog::TargetId],
                ),
                index(
                    "ix_audit_log_created_at",
                    AuditLog::Table,
                    [AuditLog::CreatedAt],
                ),
            ],
        )
        .await?;
        create_append_only_triggers(manager).await?;

        // The job ledger. A row is written in the same transaction as the
        // change that needs the job (so a job exists if and only if the change
        // committed), relayed to the queue (PENDING -> QUEUED), and leased by
        // a worker while it runs. The row stays as the record of the job.
        manager
            .create_table(
                Table::create()
                    .table(OutboxJobs::Table)
                    .col(pk_uuid(OutboxJobs::Id))
                    // The job's name, e.g. "send_email".
                    .col(string_len(OutboxJobs::Kind, 64))
                    // The job's arguments: ids only, never the data itself.
                    .col(json_binary(OutboxJobs::Payload))
                    .col(string_len(OutboxJobs::Status, 32))
                    .col(integer(OutboxJobs::Attempts).default(0))
                    .col(integer(OutboxJobs::MaxAttempts))
                    // Not before this time (backoff and scheduled jobs).
                    .col(timestamp_with_time_zone(OutboxJobs::RunAt))
                    .col(timestamp_with_time_zone_null(OutboxJobs::QueuedAt))
                    .col(timestamp_with_time_zone_null(OutboxJobs::StartedAt))
                    .col(timestamp_with_time_zone_null(OutboxJobs::FinishedAt))
                    // A RUNNING job whose lease has passed is taken to have
                    // lost its worker and is run again.
                    .col(timestamp_with_time_zone_null(OutboxJobs::LeaseUntil))
                    .col(string_null(OutboxJobs::WorkerId))
                    .col(text_null(OutboxJobs::LastError))
                    .col(string_null(OutboxJobs::DedupeKey))
                    .col(timestamp_with_time_zone(OutboxJobs::CreatedAt))
                    .col(timestamp_with_time_zone(OutboxJobs::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        create_indexes(
            manager,
            [
                // Jobs that must not be enqueued twice (e.g. the daily sweep
                // for a given date) carry a dedupe key.
                unique_index(
                    "ux_outbox_jobs_dedupe_key",
                    OutboxJobs::Table,
                    [OutboxJobs::DedupeKey],
                )
                .and_where(Expr::col(OutboxJobs::DedupeKey).is_not_null())
                .take(),
                // The relay: PENDING jobs that are due.
                index(
                    "ix_outbox_jobs_status_run_at",
                    OutboxJobs::Table,
                    [OutboxJobs::Status, OutboxJobs::RunAt],
                ),
                // The reaper: RUNNING jobs whose lease has expired.
                index(
                    "ix_outbox_jobs_status_lease_until",
                    OutboxJobs::Table,
                    [OutboxJobs::Status, OutboxJobs::LeaseUntil],
                ),
                // QUEUED jobs the queue may have lost.
                index(
                    "ix_outbox_jobs_status_queued_at",
                    OutboxJobs::Table,
                    [OutboxJobs::Status, OutboxJobs::QueuedAt],
                ),
            ],
        )
        .await?;

        // One row per email or SMS, with its delivery state.
        manager
            .create_table(
                Table::create()
                    .table(NotificationDeliveries::Table)
                    .col(pk_uuid(NotificationDeliveries::Id))
                    .col(string_len(NotificationDeliveries::Channel, 32))
                    .col(string_len(NotificationDeliveries::Template, 64))
                    // An email address or an E.164 phone number.
                    .col(string(NotificationDeliveries::Recipient))
                    .col(uuid_null(NotificationDeliveries::UserId))
                    .col(string_null(NotificationDeliveries::Subject))
                    // Template parameters.
                    .col(json_binary(NotificationDeliveries::Params))
                    .col(string_len(NotificationDeliveries::Status, 32))
                    .col(integer(NotificationDeliveries::Attempts).default(0))
                    .col(string_null(NotificationDeliveries::ProviderReference))
                    .col(text_null(NotificationDeliveries::LastError))
                    .col(timestamp_with_time_zone(NotificationDeliveries::CreatedAt))
                    .col(timestamp_with_time_zone(NotificationDeliveries::UpdatedAt))
                    .col(timestamp_with_time_zone_null(
                        NotificationDeliveries::SentAt,
                    ))
                    .foreign_key(&mut fk(
                        NotificationDeliveries::Table,
                        NotificationDeliveries::UserId,
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
                    "ix_notification_deliveries_user_id_created_at",
                    NotificationDeliveries::Table,
                    [
                        NotificationDeliveries::UserId,
                        NotificationDeliveries::CreatedAt,
                    ],
                ),
                index(
                    "ix_notification_deliveries_status",
                    NotificationDeliveries::Table,
                    [NotificationDeliveries::Status],
                ),
            ],
        )
        .await?;

        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Dropping the table drops its triggers on both backends (and a DROP
        // does not fire the DELETE trigger); only PostgreSQL's trigger
        // function outlives the table.
        drop_tables(
            manager,
            [
                NotificationDeliveries::Table.into_iden(),
                OutboxJobs::Table.into_iden(),
                AuditLog::Table.into_iden(),
            ],
        )
        .await?;
        if manager.get_database_backend() == DbBackend::Postgres {
            manager
                .get_connection()
                .execute_unprepared("DROP FUNCTION IF EXISTS audit_log_append_only()")
                .await?;
        }
        Ok(())
    }
}

/// Makes every UPDATE and DELETE on `audit_log` fail, so not even a bug in the
/// application (or an operator's stray statement through it) can rewrite
/// history. Trigger syntax differs between the backends.
async fn create_append_only_triggers(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    let statements: Vec<String> = match manager.get_database_backend() {
        DbBackend::Postgres => vec![
            format!(
                "CREATE FUNCTION audit_log_append_only() RETURNS trigger
                LANGUAGE plpgsql AS $$
                BEGIN
                    RAISE EXCEPTION '{APPEND_ONLY_MESSAGE}' USING ERRCODE = 'insufficient_privilege';
                END;
                $$"
            ),
            // FOR EACH ROW: a statement-level trigger would also fire for
            // UPDATEs that match no rows, which is harmless but noisy.
            "CREATE TRIGGER audit_log_append_only
                BEFORE UPDATE OR DELETE ON audit_log
                FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()"
                .to_owned(),
        ],
        DbBackend::Sqlite => vec![
            format!(
                "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
                BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}'); END"
            ),
            format!(
                "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
                BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}'); END"
            ),
        ],
        other => {
            return Err(DbErr::Migration(format!(
                "the audit_log triggers are not written for {other:?}"
            )));
        }
    };
    for statement in statements {
        manager
            .get_connection()
            .execute_unprepared(&statement)
            .await?;
    }
    Ok(())
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

/// Created by the identity migration; only the key is referenced here.
#[derive(DeriveIden)]
enum ApiTokens {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum AuditLog {
    Table,
    Id,
    OrganisationId,
    ActorUserId,
    ActorApiTokenId,
    Action,
    TargetType,
    TargetId,
    Before,
    After,
    IpAddress,
    RequestId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum OutboxJobs {
    Table,
    Id,
    Kind,
    Payload,
    Status,
    Attempts,
    MaxAttempts,
    RunAt,
    QueuedAt,
    StartedAt,
    FinishedAt,
    LeaseUntil,
    WorkerId,
    LastError,
    DedupeKey,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum NotificationDeliveries {
    Table,
    Id,
    Channel,
    Template,
    Recipient,
    UserId,
    Subject,
    Params,
    Status,
    Attempts,
    ProviderReference,
    LastError,
    CreatedAt,
    UpdatedAt,
    SentAt,
}
