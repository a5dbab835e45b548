//! An index on `outbox_jobs(status, finished_at)` for the retention prune.
//!
//! The relay deletes `DONE` jobs that finished before the retention cut-off
//! (`PORTAL_JOB_RETENTION_DAYS`) in batches; without this index each batch
//! would scan every finished job to find the old ones.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

// See `m20261124_000001_identity` for why `SchemaManager` has no lifetime here.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name("ix_outbox_jobs_status_finished_at")
                    .table(OutboxJobs::Table)
                    .col(OutboxJobs::Status)
                    .col(OutboxJobs::FinishedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("ix_outbox_jobs_status_finished_at")
                    .table(OutboxJobs::Table)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum OutboxJobs {
    Table,
    Status,
    FinishedAt,
}
