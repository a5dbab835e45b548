//! An email domain belongs to at most one organisation.
//!
//! Invitations are checked against the organisation's registered domains, so
//! a domain registered by two organisations would let either invite the other's
//! staff. The service checks this before registering a domain; this unique
//! index makes it hold even when two staff register the same domain at the
//! same moment. It replaces the plain index on `domain`.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

// See `m20261124_000001_identity` for why `SchemaManager` has no lifetime here.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("ix_organisation_domains_domain")
                    .table(OrganisationDomains::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_organisation_domains_domain")
                    .table(OrganisationDomains::Table)
                    .col(OrganisationDomains::Domain)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("ux_organisation_domains_domain")
                    .table(OrganisationDomains::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_organisation_domains_domain")
                    .table(OrganisationDomains::Table)
                    .col(OrganisationDomains::Domain)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum OrganisationDomains {
    Table,
    Domain,
}
