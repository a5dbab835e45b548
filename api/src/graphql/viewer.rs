//! `viewer`: the signed-in user's own view of their account.

use async_graphql::{Context, Enum, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};

use super::{
    ContextExt,
    enums::{Permission, StaffRole, TwoFactorMethod, UserKind},
    scalars::{NodeKind, global_id},
};
use crate::identity::{login, phone, profile::Profile};

/// What the client should do about two-factor sign-in for this user.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "login::SetupPrompt")]
pub enum TwoFactorSetup {
    /// Nothing: two-factor is on, or the user said "Later" in the last 30
    /// days.
    None,
    /// Offer to set it up (`enableTwoFactor` or `setUpAuthenticatorApp`);
    /// "Later" is `declineTwoFactorSetup`, which holds the offer off for 30
    /// days.
    Offered,
    /// It must be set up before anything else: the session is
    /// enrolment-only, and every other operation answers `FORBIDDEN` with
    /// `extensions.reason` `TWO_FACTOR_SETUP_REQUIRED`.
    Required,
}

/// The signed-in user's organisation, as far as their own account needs it.
#[derive(SimpleObject)]
pub struct MyOrganisation {
    /// Organisation id.
    pub id: ID,
    /// Name.
    pub name: String,
    /// Whether every user of the organisation must use two-factor sign-in
    /// (then two-factor cannot be turned off).
    pub requires_two_factor: bool,
    /// Where two-factor is required, the methods that count.
    pub accepted_two_factor_methods: Vec<TwoFactorMethod>,
}

/// The signed-in user's own view of themselves.
#[derive(SimpleObject)]
pub struct Me {
    /// User id.
    pub id: ID,
    /// Email address (the username).
    pub email: String,
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// Resident, landlord user or staff.
    pub kind: UserKind,
    /// The role of a staff member.
    pub staff_role: Option<StaffRole>,
    /// The landlord organisation of a landlord user.
    pub organisation: Option<MyOrganisation>,
    /// What a landlord user may do in their organisation (empty for others).
    pub permissions: Vec<Permission>,
    /// The second factor asked for at sign-in (`NONE`: password only).
    pub two_factor_method: TwoFactorMethod,
    /// Whether to offer, or require, setting up two-factor sign-in.
    pub two_factor_setup: TwoFactorSetup,
    /// Unused recovery codes (`generateRecoveryCodes` makes ten).
    pub recovery_codes_remaining: u64,
    /// The mobile number with all but the last 3 digits hidden
    /// (`07*** ***123`); null when there is none.
    pub masked_mobile_number: Option<String>,
    /// An administrator reset the mobile number: a new one is asked for at
    /// the next sign-in.
    pub mobile_reset_pending: bool,
    /// A resident's postal address (set with `updateMyAddress`), lines
    /// separated by newlines; null when none is kept (landlord users and
    /// staff keep none of their own).
    pub address: Option<String>,
    /// When the user last signed in.
    pub last_login_at: Option<DateTime<Utc>>,
    /// When the password was last set.
    pub password_changed_at: Option<DateTime<Utc>>,
}

impl From<Profile> for Me {
    fn from(p: Profile) -> Self {
        let setup = login::setup_prompt(&p.user, p.organisation.as_ref(), Utc::now());
        let accepted = login::accepted_methods(p.organisation.as_ref());
        let u = p.user;
        Self {
            id: global_id(NodeKind::User, u.id),
            email: u.email,
            first_name: u.first_name,
            last_name: u.last_name,
            kind: u.kind.into(),
            staff_role: u.staff_role.map(Into::into),
            organisation: p.organisation.map(|o| MyOrganisation {
                id: global_id(NodeKind::Organisation, o.id),
                name: o.name,
                requires_two_factor: o.requires_two_factor,
                accepted_two_factor_methods: accepted.into_iter().map(Into::into).collect(),
            }),
            permissions: p.permissions.into_iter().map(Into::into).collect(),
            two_factor_method: u.two_factor_method.into(),
            two_factor_setup: setup.into(),
            recovery_codes_remaining: p.recovery_codes_remaining,
            masked_mobile_number: u.mobile_number.as_deref().map(phone::mask),
            mobile_reset_pending: u.mobile_reset_pending,
            address: u.address,
            last_login_at: u.last_login_at,
            password_changed_at: u.password_changed_at,
        }
    }
}

/// Viewer queries.
#[derive(Default)]
pub struct ViewerQuery;

#[Object]
impl ViewerQuery {
    /// The signed-in user, or null when anonymous (or an API token). An
    /// enrolment-only session sees its user too, with `twoFactorSetup:
    /// REQUIRED`.
    async fn viewer(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Me>> {
        let Some(auth) = ctx.viewer().account() else {
            return Ok(None);
        };
        let profile = crate::identity::profile::load(&ctx.app().db, auth.id).await?;
        Ok(Some(profile.into()))
    }
}
