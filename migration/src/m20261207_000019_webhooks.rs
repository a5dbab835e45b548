//! Webhooks for partner dashboards (issue 17): an organisation's endpoints,
//! the events that happened to it, one delivery per (event, endpoint) and
//! every HTTP attempt of a delivery.
//!
//! - `webhook_endpoints`: where to send which event types, with the signing
//!   secret sealed at rest (and the previous one during a rotation's grace
//!   period). Deleting an endpoint removes its deliveries and attempts.
//! - `webhook_events`: written in the same transaction as the change that
//!   caused it (ids and a few fields, never a document or a secret).
//! - `webhook_deliveries`: one per (event, endpoint), PENDING until a 2xx
//!   (SUCCEEDED) or until retries run out (FAILED).
//! - `webhook_attempts`: each HTTP request of a delivery, with a bounded
//!   excerpt of the answer (at most 1 KiB, cut by the application).
//!
//! Events and deliveries go together when the log is purged, hence the
//! cascades from events to deliveries to attempts.

use sea_orm_migration::{prelude::*, schema::*};

use crate::common::{create_indexes, drop_tables, fk, index, unique_index};

#[derive(DeriveMigrationName)]
pub struct Migration;

// See `m20261124_000001_identity` for why `SchemaManager` has no lifetime here.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(WebhookEndpoints::Table)
                    .col(pk_uuid(WebhookEndpoints::Id))
                    .col(uuid(WebhookEndpoints::OrganisationId))
                    // At most 2048 characters, checked by the application.
                    .col(text(WebhookEndpoints::Url))
                    // At most 200 characters, checked by the application.
                    .col(text_null(WebhookEndpoints::Description))
                    // A JSON array of event type wire names,
                    // e.g. ["payments.recorded"].
                    .col(json_binary(WebhookEndpoints::EventTypes))
                    .col(boolean(WebhookEndpoints::Enabled))
                    // Why the worker disabled it (e.g. failing for too long);
                    // null when enabled or disabled by a user.
                    .col(text_null(WebhookEndpoints::DisabledReason))
                    .col(timestamp_with_time_zone_null(WebhookEndpoints::DisabledAt))
                    // The signing secret, sealed with the server key.
                    .col(text(WebhookEndpoints::SecretSealed))
                    // The secret before the last rotation, still valid until
                    // `previous_secret_expires_at`.
                    .col(text_null(WebhookEndpoints::PreviousSecretSealed))
                    .col(timestamp_with_time_zone_null(
                        WebhookEndpoints::PreviousSecretExpiresAt,
                    ))
                    // Since when every delivery has failed; null after a 2xx.
                    .col(timestamp_with_time_zone_null(
                        WebhookEndpoints::FailingSince,
                    ))
                    .col(timestamp_with_time_zone(WebhookEndpoints::CreatedAt))
                    .col(timestamp_with_time_zone(WebhookEndpoints::UpdatedAt))
                    .foreign_key(&mut fk(
                        WebhookEndpoints::Table,
                        WebhookEndpoints::OrganisationId,
                        Organisations::Table,
                        Organisations::Id,
                        ForeignKeyAction::NoAction,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(WebhookEvents::Table)
                    // A UUIDv7: time-ordered, so also the list order.
                    .col(pk_uuid(WebhookEvents::Id))
                    .col(uuid(WebhookEvents::OrganisationId))
                    // The wire name, e.g. "payment_export.completed".
                    .col(string_len(WebhookEvents::EventType, 64))
                    .col(integer(WebhookEvents::Version))
                    .col(json_binary(WebhookEvents::Data))
                    .col(timestamp_with_time_zone(WebhookEvents::CreatedAt))
                    .foreign_key(&mut fk(
                        WebhookEvents::Table,
                        WebhookEvents::OrganisationId,
                        Organisations::Table,
                        Organisations::Id,
                        ForeignKeyAction::NoAction,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(WebhookDeliveries::Table)
                    .col(pk_uuid(WebhookDeliveries::Id))
                    .col(uuid(WebhookDeliveries::EventId))
                    .col(uuid(WebhookDeliveries::EndpointId))
                    // PENDING | SUCCEEDED | FAILED.
                    .col(string_len(WebhookDeliveries::Status, 32))
                    .col(integer(WebhookDeliveries::Attempts).default(0))
                    .col(timestamp_with_time_zone_null(
                        WebhookDeliveries::NextAttemptAt,
                    ))
                    .col(integer_null(WebhookDeliveries::LastStatusCode))
                    .col(timestamp_with_time_zone(WebhookDeliveries::CreatedAt))
                    .col(timestamp_with_time_zone(WebhookDeliveries::UpdatedAt))
                    .foreign_key(&mut fk(
                        WebhookDeliveries::Table,
                        WebhookDeliveries::EventId,
                        WebhookEvents::Table,
                        WebhookEvents::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        WebhookDeliveries::Table,
                        WebhookDeliveries::EndpointId,
                        WebhookEndpoints::Table,
                        WebhookEndpoints::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(WebhookAttempts::Table)
                    .col(pk_uuid(WebhookAttempts::Id))
                    .col(uuid(WebhookAttempts::DeliveryId))
                    // 1 for the first request of the delivery.
                    .col(integer(WebhookAttempts::Attempt))
                    .col(timestamp_with_time_zone(WebhookAttempts::StartedAt))
                    // Null when no HTTP answer came (refused, timeout, ...).
                    .col(integer_null(WebhookAttempts::StatusCode))
                    .col(integer_null(WebhookAttempts::LatencyMs))
                    // At most 1 KiB of the answer, cut by the application.
                    .col(text_null(WebhookAttempts::ResponseExcerpt))
                    .col(text_null(WebhookAttempts::Error))
                    .foreign_key(&mut fk(
                        WebhookAttempts::Table,
                        WebhookAttempts::DeliveryId,
                        WebhookDeliveries::Table,
                        WebhookDeliveries::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        create_indexes(
            manager,
            [
                // An organisation's endpoints (list, count against the limit,
                // and the subscribers of a new event).
                index(
                    "ix_webhook_endpoints_organisation_id",
                    WebhookEndpoints::Table,
                    [WebhookEndpoints::OrganisationId],
                ),
                // An organisation's events, newest first; retention purge.
                index(
                    "ix_webhook_events_organisation_id_created_at",
                    WebhookEvents::Table,
                    [WebhookEvents::OrganisationId, WebhookEvents::CreatedAt],
                ),
                // One delivery per (event, endpoint); a redelivery reuses it.
                unique_index(
                    "ux_webhook_deliveries_event_id_endpoint_id",
                    WebhookDeliveries::Table,
                    [WebhookDeliveries::EventId, WebhookDeliveries::EndpointId],
                ),
                // An endpoint's delivery log, newest first.
                index(
                    "ix_webhook_deliveries_endpoint_id_created_at",
                    WebhookDeliveries::Table,
                    [WebhookDeliveries::EndpointId, WebhookDeliveries::CreatedAt],
                ),
                index(
                    "ix_webhook_attempts_delivery_id",
                    WebhookAttempts::Table,
                    [WebhookAttempts::DeliveryId],
                ),
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_tables(
            manager,
            [
                WebhookAttempts::Table.into_iden(),
                WebhookDeliveries::Table.into_iden(),
                WebhookEvents::Table.into_iden(),
                WebhookEndpoints::Table.into_iden(),
            ],
        )
        .await
    }
}

#[derive(DeriveIden)]
enum WebhookEndpoints {
    Table,
    Id,
    OrganisationId,
    Url,
    Description,
    EventTypes,
    Enabled,
    DisabledReason,
    DisabledAt,
    SecretSealed,
    PreviousSecretSealed,
    PreviousSecretExpiresAt,
    FailingSince,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum WebhookEvents {
    Table,
    Id,
    OrganisationId,
    EventType,
    Version,
    Data,
    CreatedAt,
}

#[derive(DeriveIden)]
enum WebhookDeliveries {
    Table,
    Id,
    EventId,
    EndpointId,
    Status,
    Attempts,
    NextAttemptAt,
    LastStatusCode,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum WebhookAttempts {
    Table,
    Id,
    DeliveryId,
    Attempt,
    StartedAt,
    StatusCode,
    LatencyMs,
    ResponseExcerpt,
    Error,
}

#[derive(DeriveIden)]
enum Organisations {
    Table,
    Id,
}
