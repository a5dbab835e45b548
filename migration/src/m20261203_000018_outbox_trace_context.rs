//! `outbox_jobs.trace_context`: the W3C `traceparent` of the request (or job)
//! that enqueued the job, so the job's span joins that trace when
//! OpenTelemetry tracing is on. `NULL` when tracing is off or the job was
//! written outside any trace (the daily schedule).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

// See `m20261124_000001_identity` for why `SchemaManager` has no lifetime here.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(OutboxJobs::Table)
                    .add_column(
                        ColumnDef::new(OutboxJobs::TraceContext)
                            .string_len(128)
                            .null(),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(OutboxJobs::Table)
                    .drop_column(OutboxJobs::TraceContext)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum OutboxJobs {
    Table,
    TraceContext,
}
