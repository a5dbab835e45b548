//! `users`: every account that can sign in — residents, landlord users and
//! staff.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

use crate::enums::{StaffRole, TwoFactorMethod, UserKind, UserStatus};

/// A user account. Never deleted: deactivation sets `status` to
/// `DEACTIVATED`, which frees the email address and mobile number.
///
/// Secrets (`password_hash`) are skipped by serde so that serialising a model
/// (e.g. into the audit log) never leaks them.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub kind: UserKind,
    /// The organisation of a landlord user; `None` for residents and staff.
    pub organisation_id: Option<Uuid>,
    pub first_name: String,
    pub last_name: String,
    /// The address as the user (or the inviter) typed it; used for display
    /// and for sending mail.
    pub email: String,
    /// Lowercased `email`: the sign-in name. Unique among users that are not
    /// deactivated (partial unique index).
    pub email_normalized: String,
    /// Argon2id PHC string; `None` until the invitation is accepted.
    #[serde(skip)]
    pub password_hash: Option<String>,
    pub status: UserStatus,
    /// E.164 (`+447700900123`). Unique among users that are not deactivated.
    pub mobile_number: Option<String>,
    /// An administrator reset the mobile number: the user must enter and
    /// confirm a new one at their next sign-in.
    pub mobile_reset_pending: bool,
    pub two_factor_method: TwoFactorMethod,
    /// The authenticator app's shared secret (RFC 6238, base32), once set
    /// up. It must be readable to check codes, so it cannot be hashed; serde
    /// skips it so the audit log never holds it.
    #[serde(skip)]
    pub totp_secret: Option<String>,
    /// The last authenticator time step accepted: a code works once only.
    pub totp_last_step: Option<i64>,
    /// When the user answered "Later" to the offer of two-factor sign-in.
    pub two_factor_declined_at: Option<DateTimeUtc>,
    /// Postal address of a resident.
    #[sea_orm(column_type = "Text", nullable)]
    pub address: Option<String>,
    /// Staff only: the team shown as the case owner's team.
    pub staff_team: Option<String>,
    /// Staff only.
    pub staff_role: Option<StaffRole>,
    /// Staff only: the case-handling role shown beside their name, e.g.
    /// "Case Handler" (free text; `staff_role` decides what they may do).
    pub staff_role_label: Option<String>,
    /// Consecutive wrong passwords; reset on success. Reaching the limit sets
    /// `locked_until`.
    pub failed_login_attempts: i32,
    pub locked_until: Option<DateTimeUtc>,
    /// Drives the 90-day inactivity sweep (with `invited_at` for users who
    /// never signed in).
    pub last_login_at: Option<DateTimeUtc>,
    pub invited_at: Option<DateTimeUtc>,
    pub password_changed_at: Option<DateTimeUtc>,
    /// When the "you will be deactivated soon" email was sent (day 76), so
    /// the sweep sends it once.
    pub inactivity_warned_at: Option<DateTimeUtc>,
    pub deactivated_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::organisation::Entity",
        from = "Column::OrganisationId",
        to = "super::organisation::Column::Id",
        on_delete = "NoAction"
    )]
    Organisation,
    #[sea_orm(has_many = "super::user_permission::Entity")]
    UserPermission,
    #[sea_orm(has_many = "super::session::Entity")]
    Session,
    #[sea_orm(has_many = "super::user_token::Entity")]
    UserToken,
    #[sea_orm(has_many = "super::two_factor_challenge::Entity")]
    TwoFactorChallenge,
    #[sea_orm(has_many = "super::message_read::Entity")]
    MessageRead,
    #[sea_orm(has_many = "super::notification_delivery::Entity")]
    NotificationDelivery,
}

impl Related<super::organisation::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Organisation.def()
    }
}

impl Related<super::user_permission::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::UserPermission.def()
    }
}

impl Related<super::session::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Session.def()
    }
}

impl Related<super::user_token::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::UserToken.def()
    }
}

impl Related<super::two_factor_challenge::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::TwoFactorChallenge.def()
    }
}

impl Related<super::message_read::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::MessageRead.def()
    }
}

impl Related<super::notification_delivery::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::NotificationDelivery.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
