//! A plain index on `case_parties(case_id)`.
//!
//! The partial unique indexes on `(case_id, user_id)` and `(case_id,
//! organisation_id)` cannot serve `WHERE case_id IN (...)` (their predicates
//! do not match), so loading the parties of a page of cases scanned the whole
//! table: on the 100,000-case benchmark it was most of the time of the home
//! query and the case page.

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
                    .name("ix_case_parties_case_id")
                    .table(CaseParties::Table)
                    .col(CaseParties::CaseId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("ix_case_parties_case_id")
                    .table(CaseParties::Table)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum CaseParties {
    Table,
    CaseId,
}
