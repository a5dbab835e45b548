//! `api_tokens.expires_at`: every organisation API token expires. From that
//! instant authentication refuses it exactly like an unknown token.
//!
//! The column is `NOT NULL`, as in the entity, because every token has an
//! expiry. SQLite cannot add a `NOT NULL` column without a default, so it is
//! added with the Unix epoch as its default. That default is there only to add
//! the column: the application always writes `expires_at`, and a row written
//! without it would be expired from the start (fail closed).
//!
//! Tokens that already exist are then given the time of this migration plus
//! 90 days (the built-in `PORTAL_API_TOKEN_DEFAULT_DAYS`; a migration does not
//! read the configuration). This is not `created_at` plus 90 days because
//! that would cut off, without warning and at deploy time, every partner
//! dashboard whose token is more than 90 days old. It is not `NULL` ("never
//! expires") either, because then the tokens most likely to have leaked (the
//! old ones) would be the only ones that live forever. This way every existing
//! token gets a full default lifetime from the day the rule starts, and
//! administrators see its `expiresAt` in `apiTokens` in time to replace it.

use std::time::{Duration, SystemTime};

use sea_orm_migration::{prelude::*, schema::*, sea_orm::prelude::DateTimeUtc};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The expiry of a row written without one: long past.
const EPOCH: &str = "1970-01-01T00:00:00+00:00";

/// The lifetime given to tokens that existed before this migration.
const BACKFILL: Duration = Duration::from_secs(90 * 24 * 60 * 60);

// See `m20261124_000001_identity` for why `SchemaManager` has no lifetime here.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(ApiTokens::Table)
                    .add_column(timestamp_with_time_zone(ApiTokens::ExpiresAt).default(EPOCH))
                    .to_owned(),
            )
            .await?;
        // Bound as a value, so SQLite stores the same RFC 3339 text the
        // entities write and text order stays time order.
        let expires_at = DateTimeUtc::from(SystemTime::now() + BACKFILL);
        manager
            .exec_stmt(
                Query::update()
                    .table(ApiTokens::Table)
                    .value(ApiTokens::ExpiresAt, expires_at)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(ApiTokens::Table)
                    .drop_column(ApiTokens::ExpiresAt)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum ApiTokens {
    Table,
    ExpiresAt,
}
