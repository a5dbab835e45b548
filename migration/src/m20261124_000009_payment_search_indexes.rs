//! Indexes for the payment search (`api::payments::search`).
//!
//! - `payments (organisation_id, payment_date, id, amount_pence)` replaces
//!   `(organisation_id, payment_date, id)`: the same keyset order for pages,
//!   and it also covers the totals (`COUNT(*)`, `SUM(amount_pence)`) over a
//!   date range, which PostgreSQL can then answer with an index-only scan
//!   instead of fetching every matching row from the table. A plain column
//!   rather than `INCLUDE`, which SQLite does not have.
//! - `payments (organisation_id, arrangement_reference)`: the reference
//!   filter matches the claim reference (already indexed) or the
//!   arrangement reference; without this the `OR` scanned the organisation.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const OLD: &str = "ix_payments_organisation_id_payment_date_id";
const COVERING: &str = "ix_payments_organisation_id_payment_date_id_amount";
const ARRANGEMENT: &str = "ix_payments_organisation_id_arrangement_reference";

// See `m20261124_000001_identity` for why `SchemaManager` has no lifetime here.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name(COVERING)
                    .table(Payments::Table)
                    .col(Payments::OrganisationId)
                    .col(Payments::PaymentDate)
                    .col(Payments::Id)
                    .col(Payments::AmountPence)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_index(Index::drop().name(OLD).table(Payments::Table).to_owned())
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(ARRANGEMENT)
                    .table(Payments::Table)
                    .col(Payments::OrganisationId)
                    .col(Payments::ArrangementReference)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name(ARRANGEMENT)
                    .table(Payments::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(OLD)
                    .table(Payments::Table)
                    .col(Payments::OrganisationId)
                    .col(Payments::PaymentDate)
                    .col(Payments::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name(COVERING)
                    .table(Payments::Table)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum Payments {
    Table,
    Id,
    OrganisationId,
    PaymentDate,
    AmountPence,
    ArrangementReference,
}
