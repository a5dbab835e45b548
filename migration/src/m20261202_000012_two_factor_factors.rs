//! Second factors that mean something (issue 13):
//! - `users.totp_secret`, `users.totp_last_step`: an authenticator app
//!   (RFC 6238); the last time step accepted, so a code works once only;
//! - `users.two_factor_declined_at`: when the user answered "Later" to the
//!   offer of two-factor sign-in (the offer comes back after a while);
//! - `recovery_codes`: ten single-use codes per user, stored hashed;
//! - `sessions.enrolment_only`: a session that may only set up two-factor
//!   sign-in (its organisation requires it, or the user is staff);
//! - `organisations.two_factor_methods`: which methods count where the
//!   organisation requires two-factor (`NULL`: any);
//! - `user_tokens.new_email`: the address a staff-initiated email change
//!   waits to confirm.
//!
//! SQLite adds one column per `ALTER TABLE`, so each column is its own
//! statement.

use sea_orm_migration::{prelude::*, schema::*};

use crate::common::{create_indexes, drop_tables, fk, index, unique_index};

#[derive(DeriveMigrationName)]
pub struct Migration;

async fn add(
    manager: &SchemaManager<'_>,
    table: impl IntoIden,
    mut column: ColumnDef,
) -> Result<(), DbErr> {
    manager
        .alter_table(
            Table::alter()
                .table(table)
                .add_column(&mut column)
                .to_owned(),
        )
        .await
}

async fn drop(
    manager: &SchemaManager<'_>,
    table: impl IntoIden,
    column: impl IntoIden,
) -> Result<(), DbErr> {
    manager
        .alter_table(Table::alter().table(table).drop_column(column).to_owned())
        .await
}

// See `m20261124_000001_identity` for why `SchemaManager` has no lifetime here.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        add(
            manager,
            Users::Table,
            string_len_null(Users::TotpSecret, 64),
        )
        .await?;
        add(manager, Users::Table, big_integer_null(Users::TotpLastStep)).await?;
        add(
            manager,
            Users::Table,
            timestamp_with_time_zone_null(Users::TwoFactorDeclinedAt),
        )
        .await?;
        add(
            manager,
            Sessions::Table,
            boolean(Sessions::EnrolmentOnly).default(false).take(),
        )
        .await?;
        add(
            manager,
            Organisations::Table,
            string_len_null(Organisations::TwoFactorMethods, 100),
        )
        .await?;
        add(
            manager,
            UserTokens::Table,
            string_null(UserTokens::NewEmail),
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(RecoveryCodes::Table)
                    .col(pk_uuid(RecoveryCodes::Id))
                    .col(uuid(RecoveryCodes::UserId))
                    .col(string_len(RecoveryCodes::CodeHash, 64))
                    .col(timestamp_with_time_zone_null(RecoveryCodes::UsedAt))
                    .col(timestamp_with_time_zone(RecoveryCodes::CreatedAt))
                    .foreign_key(&mut fk(
                        RecoveryCodes::Table,
                        RecoveryCodes::UserId,
                        Users::Table,
                        Users::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        create_indexes(
            manager,
            [
                index(
                    "ix_recovery_codes_user_id",
                    RecoveryCodes::Table,
                    [RecoveryCodes::UserId],
                ),
                unique_index(
                    "ux_recovery_codes_code_hash",
                    RecoveryCodes::Table,
                    [RecoveryCodes::CodeHash],
                ),
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_tables(manager, [RecoveryCodes::Table.into_iden()]).await?;
        drop(manager, UserTokens::Table, UserTokens::NewEmail).await?;
        drop(
            manager,
            Organisations::Table,
            Organisations::TwoFactorMethods,
        )
        .await?;
        drop(manager, Sessions::Table, Sessions::EnrolmentOnly).await?;
        drop(manager, Users::Table, Users::TwoFactorDeclinedAt).await?;
        drop(manager, Users::Table, Users::TotpLastStep).await?;
        drop(manager, Users::Table, Users::TotpSecret).await
    }
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    TotpSecret,
    TotpLastStep,
    TwoFactorDeclinedAt,
}

#[derive(DeriveIden)]
enum Sessions {
    Table,
    EnrolmentOnly,
}

#[derive(DeriveIden)]
enum Organisations {
    Table,
    TwoFactorMethods,
}

#[derive(DeriveIden)]
enum UserTokens {
    Table,
    NewEmail,
}

#[derive(DeriveIden)]
enum RecoveryCodes {
    Table,
    Id,
    UserId,
    CodeHash,
    UsedAt,
    CreatedAt,
}
