//! Who is calling: bearer tokens, sessions, API tokens and passwords.
//!
//! Every request is resolved to a [`Viewer`] once, in the HTTP layer, and the
//! resolvers ask the policies in [`crate::policy`] what that viewer may do.

pub mod password;
pub mod session;
pub mod token;

use std::sync::Arc;

use entities::{Permission, StaffRole, UserKind};
use uuid::Uuid;

/// A signed-in user, as far as authorization needs to know them.
#[derive(Debug, Clone)]
pub struct AuthUser {
    /// User id.
    pub id: Uuid,
    /// Resident, landlord user or staff.
    pub kind: UserKind,
    /// The landlord organisation of a landlord user.
    pub organisation_id: Option<Uuid>,
    /// The role of a staff member.
    pub staff_role: Option<StaffRole>,
    /// Permissions of a landlord user.
    pub permissions: Vec<Permission>,
    /// The session this request came with.
    pub session_id: Uuid,
}

/// A partner dashboard's organisation API token.
#[derive(Debug, Clone)]
pub struct AuthToken {
    /// Token id.
    pub id: Uuid,
    /// The organisation it belongs to.
    pub organisation_id: Uuid,
    /// The subset of payment permissions it carries.
    pub permissions: Vec<Permission>,
}

/// The caller of a request.
#[derive(Debug, Clone, Default)]
pub enum Viewer {
    /// No credentials.
    #[default]
    Anonymous,
    /// A user with a session.
    User(Arc<AuthUser>),
    /// A user whose session may only set up two-factor sign-in (their
    /// organisation requires it, or they are staff, and none is set up:
    /// see [`crate::identity::login`]). Not a [`Viewer::user`]: every policy
    /// treats it as no user, and only the enrolment operations accept it.
    Enrolling(Arc<AuthUser>),
    /// An organisation API token.
    ApiToken(Arc<AuthToken>),
}

impl Viewer {
    /// The signed-in user, if any.
    pub fn user(&self) -> Option<&AuthUser> {
        match self {
            Self::User(u) => Some(u),
            _ => None,
        }
    }

    /// The signed-in user acting on their own sign-in factors: a full
    /// session's user, or an enrolment-only session's.
    pub fn account(&self) -> Option<&AuthUser> {
        match self {
            Self::User(u) | Self::Enrolling(u) => Some(u),
            _ => None,
        }
    }

    /// The credential behind the caller: the session (full or
    /// enrolment-only) or the API token; `None` when anonymous. A WebSocket
    /// connection is tied to the credential it opened with.
    pub fn credential(&self) -> Option<Uuid> {
        match self {
            Self::User(u) | Self::Enrolling(u) => Some(u.session_id),
            Self::ApiToken(t) => Some(t.id),
            Self::Anonymous => None,
        }
    }

    /// Whether the caller is staff with the given role (any staff role when `None`).
    pub fn is_staff(&self, role: Option<StaffRole>) -> bool {
        self.user().is_some_and(|u| {
            u.kind == UserKind::Staff && role.is_none_or(|r| u.staff_role == Some(r))
        })
    }
}

/// Where the request came from, for audit records and rate limits.
#[derive(Debug, Clone)]
pub struct ClientInfo {
    /// Client address (the peer address; see the README on proxies).
    pub ip: Option<String>,
    /// `User-Agent`, truncated.
    pub user_agent: Option<String>,
    /// The request id (`x-request-id`).
    pub request_id: String,
}
