//! `api_tokens.token_prefix`: the first characters of an API token, kept in
//! clear so that a list of tokens can say which one is which ("pat_Ab12Cd34…")
//! and a token found in a log or a repository can be matched to its row.
//!
//! Twelve characters are the `pat_` prefix and 8 characters (48 bits) of the
//! 256-bit secret: enough to tell tokens apart, far too little to guess the
//! rest. The column is `NOT NULL` with an empty default so that it can be
//! added to a table that already has rows (SQLite cannot add a `NOT NULL`
//! column without a default).

use sea_orm_migration::{prelude::*, schema::*};

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
                    .table(ApiTokens::Table)
                    .add_column(string_len(ApiTokens::TokenPrefix, 16).default(""))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(ApiTokens::Table)
                    .drop_column(ApiTokens::TokenPrefix)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum ApiTokens {
    Table,
    TokenPrefix,
}
