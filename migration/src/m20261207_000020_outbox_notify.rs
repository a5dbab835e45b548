//! PostgreSQL only: a `NOTIFY portal_outbox` when jobs are written to the
//! outbox, so the workers' relays hand new jobs to the queue as soon as their
//! transaction commits instead of at their next poll.
//!
//! A notification is delivered at commit and never for a transaction that
//! rolled back, so it says exactly what the outbox does: there is new work.
//! The trigger is per statement (a multi-row `INSERT` of the sweep's emails
//! notifies once) and PostgreSQL folds the identical notifications of one
//! transaction into one. The relay still polls (`PORTAL_RELAY_INTERVAL_MS`)
//! for what no insert announces (retries coming due, recovered jobs) and in
//! case a notification is missed. SQLite has no such mechanism; its relay polls.

use sea_orm_migration::{prelude::*, sea_orm::DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The channel the relay listens on (`worker::runner::OUTBOX_CHANNEL`).
const CHANNEL: &str = "portal_outbox";

// See `m20261124_000001_identity` for why `SchemaManager` has no lifetime here.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        let db = manager.get_connection();
        db.execute_unprepared(&format!(
            "CREATE FUNCTION outbox_jobs_notify() RETURNS trigger
            LANGUAGE plpgsql AS $$
            BEGIN
                PERFORM pg_notify('{CHANNEL}', '');
                RETURN NULL;
            END;
            $$"
        ))
        .await?;
        db.execute_unprepared(
            "CREATE TRIGGER outbox_jobs_notify
                AFTER INSERT ON outbox_jobs
                FOR EACH STATEMENT EXECUTE FUNCTION outbox_jobs_notify()",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        let db = manager.get_connection();
        db.execute_unprepared("DROP TRIGGER IF EXISTS outbox_jobs_notify ON outbox_jobs")
            .await?;
        db.execute_unprepared("DROP FUNCTION IF EXISTS outbox_jobs_notify()")
            .await?;
        Ok(())
    }
}
