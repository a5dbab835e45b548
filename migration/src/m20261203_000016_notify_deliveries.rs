//! `notification_deliveries.provider_status` and `provider_status_at`: what
//! the provider last reported about a message after accepting it. GOV.UK
//! Notify calls back with `delivered`, `permanent-failure`,
//! `temporary-failure` or `technical-failure` (and, for some messages,
//! `sending` first); the raw status and its time are kept beside our own
//! `status` so that support staff can answer "I never got the email" with
//! what the provider saw, not only with "we handed it over".
//!
//! Callbacks find the delivery by our reference (the delivery id, which we
//! send to Notify as `reference`) and, failing that, by Notify's notification
//! id in `provider_reference`; that second lookup gets an index.
//!
//! SQLite adds one column per `ALTER TABLE`, hence two statements.

use sea_orm_migration::{prelude::*, schema::*};

use crate::common::{create_indexes, index};

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
                    .table(NotificationDeliveries::Table)
                    .add_column(string_len_null(NotificationDeliveries::ProviderStatus, 32))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(NotificationDeliveries::Table)
                    .add_column(timestamp_with_time_zone_null(
                        NotificationDeliveries::ProviderStatusAt,
                    ))
                    .to_owned(),
            )
            .await?;
        create_indexes(
            manager,
            [index(
                "ix_notification_deliveries_provider_reference",
                NotificationDeliveries::Table,
                [NotificationDeliveries::ProviderReference],
            )],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("ix_notification_deliveries_provider_reference")
                    .table(NotificationDeliveries::Table)
                    .to_owned(),
            )
            .await?;
        for column in [
            NotificationDeliveries::ProviderStatusAt,
            NotificationDeliveries::ProviderStatus,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(NotificationDeliveries::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum NotificationDeliveries {
    Table,
    ProviderReference,
    ProviderStatus,
    ProviderStatusAt,
}
