//! `viewer`: the signed-in user's own view of their account.

use async_graphql::{Context, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};

use super::{
    ContextExt,
    enums::{Permission, StaffRole, TwoFactorMethod, UserKind},
};
use crate::identity::{phone, profile::Profile};

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
    /// How sign-in codes are sent (`NONE`: password only, unless the
    /// organisation requires two-factor, when codes go by email).
    pub two_factor_method: TwoFactorMethod,
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
        let u = p.user;
        Self {
            id: ID(u.id.to_string()),
            email: u.email,
            first_name: u.first_name,
            last_name: u.last_name,
            kind: u.kind.into(),
            staff_role: u.staff_role.map(Into::into),
            organisation: p.organisation.map(|o| MyOrganisation {
                id: ID(o.id.to_string()),
                name: o.name,
                requires_two_factor: o.requires_two_factor,
            }),
            permissions: p.permissions.into_iter().map(Into::into).collect(),
            two_factor_method: u.two_factor_method.into(),
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
    /// The signed-in user, or null when anonymous (or an API token).
    async fn viewer(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Me>> {
        let Some(auth) = ctx.viewer().user() else {
            return Ok(None);
        };
        let profile = crate::identity::profile::load(&ctx.app().db, auth.id).await?;
        Ok(Some(profile.into()))
    }
}
