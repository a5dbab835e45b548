//! Tenancy and payments (the Universal Credit side): properties and tenants of
//! a landlord organisation, "Provide tenancy details" requests, Alternative
//! Payment Arrangements and their history, payments to landlords, payment CSV
//! exports and bulk housing-cost updates.
//!
//! Money is integer pence. Properties are removed by setting `removed_at`
//! (payments and tenants keep pointing at them), so references between these
//! tables block deletion (`NO ACTION`); only an arrangement's event history
//! cascades.

use sea_orm_migration::{prelude::*, schema::*};

use crate::common::{create_indexes, drop_tables, fk, index, unique_index};

#[derive(DeriveMigrationName)]
pub struct Migration;

// The trait's signatures elide `SchemaManager`'s lifetime and `async_trait`
// needs the impl to match them exactly, so `SchemaManager<'_>` is not an option.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Properties::Table)
                    .col(pk_uuid(Properties::Id))
                    .col(uuid(Properties::OrganisationId))
                    // The landlord's own property reference.
                    .col(string(Properties::Reference))
                    .col(string(Properties::AddressLine1))
                    .col(string_null(Properties::AddressLine2))
                    .col(string(Properties::Town))
                    // Normalised ("SW1A 1AA") so search is an equality.
                    .col(string(Properties::Postcode))
                    .col(big_integer(Properties::RentPence))
                    .col(big_integer(Properties::ServiceChargePence))
                    .col(string_len(Properties::RentFrequency, 32))
                    .col(timestamp_with_time_zone_null(Properties::RemovedAt))
                    .col(timestamp_with_time_zone(Properties::CreatedAt))
                    .col(timestamp_with_time_zone(Properties::UpdatedAt))
                    .foreign_key(&mut fk(
                        Properties::Table,
                        Properties::OrganisationId,
                        Organisations::Table,
                        Organisations::Id,
                        ForeignKeyAction::NoAction,
                    ))
                    .to_owned(),
            )
            .await?;
        create_indexes(
            manager,
            [
                // Also the key the bulk housing-cost CSV matches rows on.
                unique_index(
                    "ux_properties_organisation_id_reference",
                    Properties::Table,
                    [Properties::OrganisationId, Properties::Reference],
                ),
                index(
                    "ix_properties_organisation_id_postcode",
                    Properties::Table,
                    [Properties::OrganisationId, Properties::Postcode],
                ),
            ],
        )
        .await?;

        // Universal Credit claimants renting from the organisation.
        manager
            .create_table(
                Table::create()
                    .table(Tenants::Table)
                    .col(pk_uuid(Tenants::Id))
                    .col(uuid(Tenants::OrganisationId))
                    .col(string(Tenants::FirstName))
                    .col(string(Tenants::LastName))
                    .col(string(Tenants::ClaimReference))
                    .col(uuid_null(Tenants::PropertyId))
                    .col(timestamp_with_time_zone(Tenants::CreatedAt))
                    .col(timestamp_with_time_zone(Tenants::UpdatedAt))
                    .foreign_key(&mut fk(
                        Tenants::Table,
                        Tenants::OrganisationId,
                        Organisations::Table,
                        Organisations::Id,
                        ForeignKeyAction::NoAction,
                    ))
                    .foreign_key(&mut fk(
                        Tenants::Table,
                        Tenants::PropertyId,
                        Properties::Table,
                        Properties::Id,
                        ForeignKeyAction::NoAction,
                    ))
                    .to_owned(),
            )
            .await?;
        create_indexes(
            manager,
            [
                index(
                    "ix_tenants_organisation_id_last_name",
                    Tenants::Table,
                    [Tenants::OrganisationId, Tenants::LastName],
                ),
                unique_index(
                    "ux_tenants_organisation_id_claim_reference",
                    Tenants::Table,
                    [Tenants::OrganisationId, Tenants::ClaimReference],
                ),
            ],
        )
        .await?;

        // "Provide tenancy details" to-do items. The answer columns are null
        // until the landlord answers (or says NOT_TENANT, leaving them null).
        manager
            .create_table(
                Table::create()
                    .table(TenancyRequests::Table)
                    .col(pk_uuid(TenancyRequests::Id))
                    .col(uuid(TenancyRequests::OrganisationId))
                    .col(uuid(TenancyRequests::TenantId))
                    .col(string(TenancyRequests::Postcode))
                    .col(string_len(TenancyRequests::Status, 32))
                    .col(date(TenancyRequests::DueDate))
                    .col(uuid_null(TenancyRequests::CreatedByUserId))
                    .col(uuid_null(TenancyRequests::AnsweredByUserId))
                    .col(timestamp_with_time_zone_null(TenancyRequests::AnsweredAt))
                    .col(date_null(TenancyRequests::TenancyStartDate))
                    .col(big_integer_null(TenancyRequests::RentPence))
                    .col(string_len_null(TenancyRequests::RentFrequency, 32))
                    .col(big_integer_null(TenancyRequests::ServiceChargePence))
                    .col(boolean_null(TenancyRequests::InArrears))
                    .col(big_integer_null(TenancyRequests::ArrearsPence))
                    .col(timestamp_with_time_zone(TenancyRequests::CreatedAt))
                    .col(timestamp_with_time_zone(TenancyRequests::UpdatedAt))
                    .foreign_key(&mut fk(
                        TenancyRequests::Table,
                        TenancyRequests::OrganisationId,
                        Organisations::Table,
                        Organisations::Id,
                        ForeignKeyAction::NoAction,
                    ))
                    .foreign_key(&mut fk(
                        TenancyRequests::Table,
                        TenancyRequests::TenantId,
                        Tenants::Table,
                        Tenants::Id,
                        ForeignKeyAction::NoAction,
                    ))
                    .foreign_key(&mut fk(
                        TenancyRequests::Table,
                        TenancyRequests::CreatedByUserId,
                        Users::Table,
                        Users::Id,
                        ForeignKeyAction::NoAction,
                    ))
                    .foreign_key(&mut fk(
                        TenancyRequests::Table,
                        TenancyRequests::AnsweredByUserId,
                        Users::Table,
                        Users::Id,
                        ForeignKeyAction::NoAction,
                    ))
                    .to_owned(),
            )
            .await?;
        create_indexes(
            manager,
            [index(
                "ix_tenancy_requests_organisation_id_status_due_date",
                TenancyRequests::Table,
                [
                    TenancyRequests::OrganisationId,
                    TenancyRequests::Status,
                    TenancyRequests::DueDate,
                ],
            )],
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(PaymentArrangements::Table)
                    .col(pk_uuid(PaymentArrangements::Id))
                    .col(uuid(PaymentArrangements::OrganisationId))
                    .col(uuid(PaymentArrangements::TenantId))
                    // "APA-000123": what the landlord quotes and what payments
                    // carry as `arrangement_reference`.
                    .col(string_uniq(PaymentArrangements::Reference))
                    .col(text(PaymentArrangements::Reason))
                    .col(big_integer(PaymentArrangements::ArrearsPence))
                    .col(string_len(PaymentArrangements::Status, 32))
                    .col(text_null(PaymentArrangements::DecisionReason))
                    .col(uuid_null(PaymentArrangements::DecidedByUserId))
                    .col(timestamp_with_time_zone_null(
                        PaymentArrangements::DecidedAt,
                    ))
                    .col(uuid_null(PaymentArrangements::AppliedByUserId))
                    .col(timestamp_with_time_zone(PaymentArrangements::CreatedAt))
                    .col(timestamp_with_time_zone(PaymentArrangements::UpdatedAt))
                    .foreign_key(&mut fk(
                        PaymentArrangements::Table,
                        PaymentArrangements::OrganisationId,
                        Organisations::Table,
                        Organisations::Id,
                        ForeignKeyAction::NoAction,
                    ))
                    .foreign_key(&mut fk(
                        PaymentArrangements::Table,
                        PaymentArrangements::TenantId,
                        Tenants::Table,
                        Tenants::Id,
                        ForeignKeyAction::NoAction,
                    ))
                    .foreign_key(&mut fk(
                        PaymentArrangements::Table,
                        PaymentArrangements::DecidedByUserId,
                        Users::Table,
                        Users::Id,
                        ForeignKeyAction::NoAction,
                    ))
                    .foreign_key(&mut fk(
                        PaymentArrangements::Table,
                        PaymentArrangements::AppliedByUserId,
                        Users::Table,
                        Users::Id,
                        ForeignKeyAction::NoAction,
                    ))
                    .to_owned(),
            )
            .await?;
        create_indexes(
            manager,
            [index(
                "ix_payment_arrangements_organisation_id_status",
                PaymentArrangements::Table,
                [
                    PaymentArrangements::OrganisationId,
                    PaymentArrangements::Status,
                ],
            )],
        )
        .await?;

        // Status history of an arrangement, shown as its timeline.
        manager
            .create_table(
                Table::create()
                    .table(PaymentArrangementEvents::Table)
                    .col(pk_uuid(PaymentArrangementEvents::Id))
                    .col(uuid(PaymentArrangementEvents::PaymentArrangementId))
                    .col(string_len(PaymentArrangementEvents::Status, 32))
                    .col(text_null(PaymentArrangementEvents::Note))
                    .col(uuid_null(PaymentArrangementEvents::ActorUserId))
                    .col(timestamp_with_time_zone(
                        PaymentArrangementEvents::CreatedAt,
                    ))
                    .foreign_key(&mut fk(
                        PaymentArrangementEvents::Table,
                        PaymentArrangementEvents::PaymentArrangementId,
                        PaymentArrangements::Table,
                        PaymentArrangements::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        PaymentArrangementEvents::Table,
                        PaymentArrangementEvents::ActorUserId,
                        Users::Table,
                        Users::Id,
                        ForeignKeyAction::NoAction,
                    ))
                    .to_owned(),
            )
            .await?;
        create_indexes(
            manager,
            [index(
                "ix_payment_arrangement_events_arrangement_id_created_at",
                PaymentArrangementEvents::Table,
                [
                    PaymentArrangementEvents::PaymentArrangementId,
                    PaymentArrangementEvents::CreatedAt,
                ],
            )],
        )
        .await?;

        // Payments made to the landlord. Tenant name, postcode and claim
        // reference are copied in so search and export need no joins and
        // show what was true when the payment was made.
        manager
            .create_table(
                Table::create()
                    .table(Payments::Table)
                    .col(pk_uuid(Payments::Id))
                    .col(uuid(Payments::OrganisationId))
                    .col(uuid(Payments::TenantId))
                    .col(uuid_null(Payments::PropertyId))
                    .col(string(Payments::TenantName))
                    .col(string(Payments::Postcode))
                    .col(string(Payments::ClaimReference))
                    .col(big_integer(Payments::AmountPence))
                    .col(date(Payments::PaymentDate))
                    .col(date(Payments::PeriodStart))
                    .col(date(Payments::PeriodEnd))
                    .col(string_null(Payments::ArrangementReference))
                    .col(timestamp_with_time_zone(Payments::CreatedAt))
                    .foreign_key(&mut fk(
                        Payments::Table,
                        Payments::OrganisationId,
                        Organisations::Table,
                        Organisations::Id,
                        ForeignKeyAction::NoAction,
                    ))
                    .foreign_key(&mut fk(
                        Payments::Table,
                        Payments::TenantId,
                        Tenants::Table,
                        Tenants::Id,
                        ForeignKeyAction::NoAction,
                    ))
                    .foreign_key(&mut fk(
                        Payments::Table,
                        Payments::PropertyId,
                        Properties::Table,
                        Properties::Id,
                        ForeignKeyAction::NoAction,
                    ))
                    .to_owned(),
            )
            .await?;
        create_indexes(
            manager,
            [
                // Keyset pagination by (payment_date, id) within an
                // organisation, and the date-range filter.
                index(
                    "ix_payments_organisation_id_payment_date_id",
                    Payments::Table,
                    [
                        Payments::OrganisationId,
                        Payments::PaymentDate,
                        Payments::Id,
                    ],
                ),
                index(
                    "ix_payments_organisation_id_tenant_id",
                    Payments::Table,
                    [Payments::OrganisationId, Payments::TenantId],
                ),
                index(
                    "ix_payments_organisation_id_claim_reference",
                    Payments::Table,
                    [Payments::OrganisationId, Payments::ClaimReference],
                ),
                index(
                    "ix_payments_organisation_id_postcode",
                    Payments::Table,
                    [Payments::OrganisationId, Payments::Postcode],
                ),
            ],
        )
        .await?;

        // A requested CSV export. Requested by a user or by an API token
        // (exactly one is set). `filter` is the search filter as JSON
        // (jsonb on PostgreSQL, text on SQLite).
        manager
            .create_table(
                Table::create()
                    .table(PaymentExports::Table)
                    .col(pk_uuid(PaymentExports::Id))
                    .col(uuid(PaymentExports::OrganisationId))
                    .col(uuid_null(PaymentExports::RequestedByUserId))
                    .col(uuid_null(PaymentExports::RequestedByApiTokenId))
                    .col(json_binary(PaymentExports::Filter))
                    .col(string_len(PaymentExports::Status, 32))
                    // Progress while RUNNING.
                    .col(big_integer(PaymentExports::RowsWritten).default(0))
                    .col(big_integer_null(PaymentExports::TotalRows))
                    .col(big_integer(PaymentExports::SizeBytes).default(0))
                    .col(string_null(PaymentExports::StorageKey))
                    .col(text_null(PaymentExports::Error))
                    .col(timestamp_with_time_zone(PaymentExports::CreatedAt))
                    .col(timestamp_with_time_zone_null(PaymentExports::StartedAt))
                    .col(timestamp_with_time_zone_null(PaymentExports::CompletedAt))
                    .col(timestamp_with_time_zone_null(PaymentExports::ExpiresAt))
                    .foreign_key(&mut fk(
                        PaymentExports::Table,
                        PaymentExports::OrganisationId,
                        Organisations::Table,
                        Organisations::Id,
                        ForeignKeyAction::NoAction,
                    ))
                    .foreign_key(&mut fk(
                        PaymentExports::Table,
                        PaymentExports::RequestedByUserId,
                        Users::Table,
                        Users::Id,
                        ForeignKeyAction::NoAction,
                    ))
                    .foreign_key(&mut fk(
                        PaymentExports::Table,
                        PaymentExports::RequestedByApiTokenId,
                        ApiTokens::Table,
                        ApiTokens::Id,
                        ForeignKeyAction::NoAction,
                    ))
                    .to_owned(),
            )
            .await?;
        create_indexes(
            manager,
            [
                index(
                    "ix_payment_exports_organisation_id_created_at",
                    PaymentExports::Table,
                    [PaymentExports::OrganisationId, PaymentExports::CreatedAt],
                ),
                // The expiry sweep: completed exports past expires_at.
                index(
                    "ix_payment_exports_status_expires_at",
                    PaymentExports::Table,
                    [PaymentExports::Status, PaymentExports::ExpiresAt],
                ),
            ],
        )
        .await?;

        // An uploaded rent CSV, applied by the worker. `errors` lists every
        // rejected row as {row, column, reason}.
        manager
            .create_table(
                Table::create()
                    .table(HousingCostUpdates::Table)
                    .col(pk_uuid(HousingCostUpdates::Id))
                    .col(uuid(HousingCostUpdates::OrganisationId))
                    .col(uuid(HousingCostUpdates::UploadedByUserId))
                    .col(string(HousingCostUpdates::StorageKey))
                    .col(string(HousingCostUpdates::OriginalFilename))
                    .col(string_len(HousingCostUpdates::Status, 32))
                    .col(integer(HousingCostUpdates::RowCount).default(0))
                    .col(integer(HousingCostUpdates::AppliedCount).default(0))
                    .col(json_binary_null(HousingCostUpdates::Errors))
                    .col(timestamp_with_time_zone(HousingCostUpdates::CreatedAt))
                    .col(timestamp_with_time_zone_null(
                        HousingCostUpdates::CompletedAt,
                    ))
                    .foreign_key(&mut fk(
                        HousingCostUpdates::Table,
                        HousingCostUpdates::OrganisationId,
                        Organisations::Table,
                        Organisations::Id,
                        ForeignKeyAction::NoAction,
                    ))
                    .foreign_key(&mut fk(
                        HousingCostUpdates::Table,
                        HousingCostUpdates::UploadedByUserId,
                        Users::Table,
                        Users::Id,
                        ForeignKeyAction::NoAction,
                    ))
                    .to_owned(),
            )
            .await?;
        create_indexes(
            manager,
            [index(
                "ix_housing_cost_updates_organisation_id_created_at",
                HousingCostUpdates::Table,
                [
                    HousingCostUpdates::OrganisationId,
                    HousingCostUpdates::CreatedAt,
                ],
            )],
        )
        .await?;

        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_tables(
            manager,
            [
                HousingCostUpdates::Table.into_iden(),
                PaymentExports::Table.into_iden(),
                Payments::Table.into_iden(),
                PaymentArrangementEvents::Table.into_iden(),
                PaymentArrangements::Table.into_iden(),
                TenancyRequests::Table.into_iden(),
                Tenants::Table.into_iden(),
                Properties::Table.into_iden(),
            ],
        )
        .await
    }
}

/// Created by the identity migration; only the key is referenced here.
#[derive(DeriveIden)]
enum Organisations {
    Table,
    Id,
}

/// Created by the identity migration; only the key is referenced here.
#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

/// Created by the identity migration; only the key is referenced here.
#[derive(DeriveIden)]
enum ApiTokens {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Properties {
    Table,
    Id,
    OrganisationId,
    Reference,
    #[sea_orm(iden = "address_line1")]
    AddressLine1,
    #[sea_orm(iden = "address_line2")]
    AddressLine2,
    Town,
    Postcode,
    RentPence,
    ServiceChargePence,
    RentFrequency,
    RemovedAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Tenants {
    Table,
    Id,
    OrganisationId,
    FirstName,
    LastName,
    ClaimReference,
    PropertyId,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum TenancyRequests {
    Table,
    Id,
    OrganisationId,
    TenantId,
    Postcode,
    Status,
    DueDate,
    CreatedByUserId,
    AnsweredByUserId,
    AnsweredAt,
    TenancyStartDate,
    RentPence,
    RentFrequency,
    ServiceChargePence,
    InArrears,
    ArrearsPence,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum PaymentArrangements {
    Table,
    Id,
    OrganisationId,
    TenantId,
    Reference,
    Reason,
    ArrearsPence,
    Status,
    DecisionReason,
    DecidedByUserId,
    DecidedAt,
    AppliedByUserId,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum PaymentArrangementEvents {
    Table,
    Id,
    PaymentArrangementId,
    Status,
    Note,
    ActorUserId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Payments {
    Table,
    Id,
    OrganisationId,
    TenantId,
    PropertyId,
    TenantName,
    Postcode,
    ClaimReference,
    AmountPence,
    PaymentDate,
    PeriodStart,
    PeriodEnd,
    ArrangementReference,
    CreatedAt,
}

#[derive(DeriveIden)]
enum PaymentExports {
    Table,
    Id,
    OrganisationId,
    RequestedByUserId,
    RequestedByApiTokenId,
    Filter,
    Status,
    RowsWritten,
    TotalRows,
    SizeBytes,
    StorageKey,
    Error,
    CreatedAt,
    StartedAt,
    CompletedAt,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum HousingCostUpdates {
    Table,
    Id,
    OrganisationId,
    UploadedByUserId,
    StorageKey,
    OriginalFilename,
    Status,
    RowCount,
    AppliedCount,
    Errors,
    CreatedAt,
    CompletedAt,
}
