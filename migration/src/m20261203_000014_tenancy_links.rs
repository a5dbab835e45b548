//! Tenants linked to properties, and why a to-do item was raised.
//!
//! - `tenancy_requests.reason`: what made staff ask (the UC seed's "New
//!   claim", or a change of circumstances). Existing requests were all raised
//!   for new claims, so the column defaults to `NEW_CLAIM`.
//! - `tenancy_requests.property_id`: the property a verified rent is for,
//!   when the request or its answer named one. SQLite cannot add a foreign
//!   key to an existing table, so there is none here on either backend (the
//!   migrations stay the same on both); the application only ever writes a
//!   property of the request's own organisation, and properties are never
//!   deleted (removal sets `removed_at`).
//! - An index on `tenants(property_id)`, for a page of properties' tenants
//!   (`Property.tenants`) in one statement.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

// See `m20261124_000001_identity` for why `SchemaManager` has no lifetime here.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One change per statement: SQLite's ALTER TABLE takes one at a time.
        manager
            .alter_table(
                Table::alter()
                    .table(TenancyRequests::Table)
                    .add_column(string_len(TenancyRequests::Reason, 32).default("NEW_CLAIM"))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(TenancyRequests::Table)
                    .add_column(uuid_null(TenancyRequests::PropertyId))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_tenants_property_id")
                    .table(Tenants::Table)
                    .col(Tenants::PropertyId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("ix_tenants_property_id")
                    .table(Tenants::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(TenancyRequests::Table)
                    .drop_column(TenancyRequests::PropertyId)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(TenancyRequests::Table)
                    .drop_column(TenancyRequests::Reason)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum TenancyRequests {
    Table,
    Reason,
    PropertyId,
}

#[derive(DeriveIden)]
enum Tenants {
    Table,
    PropertyId,
}
