//! Identity: organisations and their email domains, user accounts,
//! permissions, sessions, single-use emailed links, two-factor challenges and
//! organisation API tokens.
//!
//! Users are never deleted (they are deactivated), so most references to
//! `users` block deletion (`ON DELETE NO ACTION`, see the crate docs); only
//! pure children of a user (its permissions, sessions, links and challenges)
//! cascade.

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
                    .table(Organisations::Table)
                    .col(pk_uuid(Organisations::Id))
                    .col(string(Organisations::Name))
                    .col(text(Organisations::Address))
                    .col(boolean(Organisations::RequiresTwoFactor).default(false))
                    .col(timestamp_with_time_zone(Organisations::CreatedAt))
                    .col(timestamp_with_time_zone(Organisations::UpdatedAt))
                    .to_owned(),
            )
            .await?;

        // The domains an organisation may invite users from. Stored lowercase
        // so the invitation check is a plain equality on the index.
        manager
            .create_table(
                Table::create()
                    .table(OrganisationDomains::Table)
                    .col(pk_uuid(OrganisationDomains::Id))
                    .col(uuid(OrganisationDomains::OrganisationId))
                    .col(string(OrganisationDomains::Domain))
                    .col(timestamp_with_time_zone(OrganisationDomains::CreatedAt))
                    .foreign_key(&mut fk(
                        OrganisationDomains::Table,
                        OrganisationDomains::OrganisationId,
                        Organisations::Table,
                        Organisations::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        create_indexes(
            manager,
            [
                unique_index(
                    "ux_organisation_domains_organisation_id_domain",
                    OrganisationDomains::Table,
                    [
                        OrganisationDomains::OrganisationId,
                        OrganisationDomains::Domain,
                    ],
                ),
                index(
                    "ix_organisation_domains_domain",
                    OrganisationDomains::Table,
                    [OrganisationDomains::Domain],
                ),
            ],
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(Users::Table)
                    .col(pk_uuid(Users::Id))
                    .col(string_len(Users::Kind, 32))
                    // Set for landlord users only.
                    .col(uuid_null(Users::OrganisationId))
                    .col(string(Users::FirstName))
                    .col(string(Users::LastName))
                    // As the user typed it, for display and for sending mail.
                    .col(string(Users::Email))
                    // Lowercased: the sign-in name, compared case-insensitively
                    // through a plain index on both backends.
                    .col(string(Users::EmailNormalized))
                    // Null until the invitation is accepted.
                    .col(string_null(Users::PasswordHash))
                    .col(string_len(Users::Status, 32))
                    .col(string_null(Users::MobileNumber))
                    .col(boolean(Users::MobileResetPending).default(false))
                    .col(string_len(Users::TwoFactorMethod, 32).default("NONE"))
                    .col(text_null(Users::Address))
                    .col(string_null(Users::StaffTeam))
                    .col(string_len_null(Users::StaffRole, 32))
                    .col(integer(Users::FailedLoginAttempts).default(0))
                    .col(timestamp_with_time_zone_null(Users::LockedUntil))
                    .col(timestamp_with_time_zone_null(Users::LastLoginAt))
                    .col(timestamp_with_time_zone_null(Users::InvitedAt))
                    .col(timestamp_with_time_zone_null(Users::PasswordChangedAt))
                    .col(timestamp_with_time_zone_null(Users::InactivityWarnedAt))
                    .col(timestamp_with_time_zone_null(Users::DeactivatedAt))
                    .col(timestamp_with_time_zone(Users::CreatedAt))
                    .col(timestamp_with_time_zone(Users::UpdatedAt))
                    .foreign_key(&mut fk(
                        Users::Table,
                        Users::OrganisationId,
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
                // Email and mobile are unique only among accounts that are not
                // deactivated: deactivation frees them for a new invitation.
                unique_index(
                    "ux_users_email_normalized_live",
                    Users::Table,
                    [Users::EmailNormalized],
                )
                .and_where(Expr::col(Users::Status).ne("DEACTIVATED"))
                .take(),
                unique_index(
                    "ux_users_mobile_number_live",
                    Users::Table,
                    [Users::MobileNumber],
                )
                .and_where(Expr::col(Users::Status).ne("DEACTIVATED"))
                .and_where(Expr::col(Users::MobileNumber).is_not_null())
                .take(),
                index(
                    "ix_users_organisation_id",
                    Users::Table,
                    [Users::OrganisationId],
                ),
                // The daily 90-day sweep: live users by last login.
                index(
                    "ix_users_status_last_login_at",
                    Users::Table,
                    [Users::Status, Users::LastLoginAt],
                ),
            ],
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(UserPermissions::Table)
                    .col(uuid(UserPermissions::UserId))
                    .col(string_len(UserPermissions::Permission, 32))
                    .col(timestamp_with_time_zone(UserPermissions::CreatedAt))
                    .primary_key(
                        Index::create()
                            .col(UserPermissions::UserId)
                            .col(UserPermissions::Permission),
                    )
                    .foreign_key(&mut fk(
                        UserPermissions::Table,
                        UserPermissions::UserId,
                        Users::Table,
                        Users::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;

        // Opaque bearer tokens; only their SHA-256 is stored, so a database
        // leak does not hand out live sessions.
        manager
            .create_table(
                Table::create()
                    .table(Sessions::Table)
                    .col(pk_uuid(Sessions::Id))
                    .col(uuid(Sessions::UserId))
                    .col(string_len_uniq(Sessions::TokenHash, 64))
                    .col(timestamp_with_time_zone(Sessions::CreatedAt))
                    .col(timestamp_with_time_zone(Sessions::LastSeenAt))
                    .col(timestamp_with_time_zone(Sessions::IdleExpiresAt))
                    .col(timestamp_with_time_zone(Sessions::AbsoluteExpiresAt))
                    .col(timestamp_with_time_zone_null(Sessions::RevokedAt))
                    .col(string_null(Sessions::IpAddress))
                    .col(string_null(Sessions::UserAgent))
                    .foreign_key(&mut fk(
                        Sessions::Table,
                        Sessions::UserId,
                        Users::Table,
                        Users::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        create_indexes(
            manager,
            [index(
                "ix_sessions_user_id",
                Sessions::Table,
                [Sessions::UserId],
            )],
        )
        .await?;

        // Single-use links (invitation, password reset), stored hashed.
        manager
            .create_table(
                Table::create()
                    .table(UserTokens::Table)
                    .col(pk_uuid(UserTokens::Id))
                    .col(uuid(UserTokens::UserId))
                    .col(string_len(UserTokens::Purpose, 32))
                    .col(string_len_uniq(UserTokens::TokenHash, 64))
                    .col(timestamp_with_time_zone(UserTokens::ExpiresAt))
                    .col(timestamp_with_time_zone_null(UserTokens::UsedAt))
                    .col(timestamp_with_time_zone(UserTokens::CreatedAt))
                    .foreign_key(&mut fk(
                        UserTokens::Table,
                        UserTokens::UserId,
                        Users::Table,
                        Users::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        create_indexes(
            manager,
            [index(
                "ix_user_tokens_user_id_purpose",
                UserTokens::Table,
                [UserTokens::UserId, UserTokens::Purpose],
            )],
        )
        .await?;

        // One row per code sent for one step (sign-in, confirm a mobile,
        // enable 2FA). The client holds `challenge_token` between the steps;
        // attempts and locks are per challenge so a re-send cannot reset them.
        manager
            .create_table(
                Table::create()
                    .table(TwoFactorChallenges::Table)
                    .col(pk_uuid(TwoFactorChallenges::Id))
                    .col(uuid(TwoFactorChallenges::UserId))
                    .col(string_len(TwoFactorChallenges::Purpose, 32))
                    .col(string_len(TwoFactorChallenges::Channel, 32))
                    .col(string_len_uniq(TwoFactorChallenges::ChallengeTokenHash, 64))
                    .col(string(TwoFactorChallenges::CodeHash))
                    .col(string_null(TwoFactorChallenges::Destination))
                    .col(integer(TwoFactorChallenges::Attempts).default(0))
                    .col(integer(TwoFactorChallenges::Sends).default(1))
                    .col(timestamp_with_time_zone(TwoFactorChallenges::ExpiresAt))
                    .col(timestamp_with_time_zone_null(
                        TwoFactorChallenges::ConsumedAt,
                    ))
                    .col(timestamp_with_time_zone_null(TwoFactorChallenges::LockedAt))
                    .col(timestamp_with_time_zone(TwoFactorChallenges::CreatedAt))
                    .foreign_key(&mut fk(
                        TwoFactorChallenges::Table,
                        TwoFactorChallenges::UserId,
                        Users::Table,
                        Users::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        create_indexes(
            manager,
            [index(
                "ix_two_factor_challenges_user_id",
                TwoFactorChallenges::Table,
                [TwoFactorChallenges::UserId],
            )],
        )
        .await?;

        // Partner-dashboard tokens, shown once and stored hashed.
        manager
            .create_table(
                Table::create()
                    .table(ApiTokens::Table)
                    .col(pk_uuid(ApiTokens::Id))
                    .col(uuid(ApiTokens::OrganisationId))
                    .col(string(ApiTokens::Name))
                    .col(string_len_uniq(ApiTokens::TokenHash, 64))
                    .col(uuid_null(ApiTokens::CreatedByUserId))
                    .col(timestamp_with_time_zone(ApiTokens::CreatedAt))
                    .col(timestamp_with_time_zone_null(ApiTokens::LastUsedAt))
                    .col(timestamp_with_time_zone_null(ApiTokens::RevokedAt))
                    .foreign_key(&mut fk(
                        ApiTokens::Table,
                        ApiTokens::OrganisationId,
                        Organisations::Table,
                        Organisations::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        ApiTokens::Table,
                        ApiTokens::CreatedByUserId,
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
                "ix_api_tokens_organisation_id",
                ApiTokens::Table,
                [ApiTokens::OrganisationId],
            )],
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(ApiTokenPermissions::Table)
                    .col(uuid(ApiTokenPermissions::ApiTokenId))
                    .col(string_len(ApiTokenPermissions::Permission, 32))
                    .primary_key(
                        Index::create()
                            .col(ApiTokenPermissions::ApiTokenId)
                            .col(ApiTokenPermissions::Permission),
                    )
                    .foreign_key(&mut fk(
                        ApiTokenPermissions::Table,
                        ApiTokenPermissions::ApiTokenId,
                        ApiTokens::Table,
                        ApiTokens::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;

        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_tables(
            manager,
            [
                ApiTokenPermissions::Table.into_iden(),
                ApiTokens::Table.into_iden(),
                TwoFactorChallenges::Table.into_iden(),
                UserTokens::Table.into_iden(),
                Sessions::Table.into_iden(),
                UserPermissions::Table.into_iden(),
                Users::Table.into_iden(),
                OrganisationDomains::Table.into_iden(),
                Organisations::Table.into_iden(),
            ],
        )
        .await
    }
}

#[derive(DeriveIden)]
enum Organisations {
    Table,
    Id,
    Name,
    Address,
    RequiresTwoFactor,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum OrganisationDomains {
    Table,
    Id,
    OrganisationId,
    Domain,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    Kind,
    OrganisationId,
    FirstName,
    LastName,
    Email,
    EmailNormalized,
    PasswordHash,
    Status,
    MobileNumber,
    MobileResetPending,
    TwoFactorMethod,
    Address,
    StaffTeam,
    StaffRole,
    FailedLoginAttempts,
    LockedUntil,
    LastLoginAt,
    InvitedAt,
    PasswordChangedAt,
    InactivityWarnedAt,
    DeactivatedAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum UserPermissions {
    Table,
    UserId,
    Permission,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Sessions {
    Table,
    Id,
    UserId,
    TokenHash,
    CreatedAt,
    LastSeenAt,
    IdleExpiresAt,
    AbsoluteExpiresAt,
    RevokedAt,
    IpAddress,
    UserAgent,
}

#[derive(DeriveIden)]
enum UserTokens {
    Table,
    Id,
    UserId,
    Purpose,
    TokenHash,
    ExpiresAt,
    UsedAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum TwoFactorChallenges {
    Table,
    Id,
    UserId,
    Purpose,
    Channel,
    ChallengeTokenHash,
    CodeHash,
    Destination,
    Attempts,
    Sends,
    ExpiresAt,
    ConsumedAt,
    LockedAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ApiTokens {
    Table,
    Id,
    OrganisationId,
    Name,
    TokenHash,
    CreatedByUserId,
    CreatedAt,
    LastUsedAt,
    RevokedAt,
}

#[derive(DeriveIden)]
enum ApiTokenPermissions {
    Table,
    ApiTokenId,
    Permission,
}
