//! Who may see and act on identity objects: a session, a two-factor
//! challenge. Both belong to one user, and only that user may see or end
//! them; anyone else is told the object does not exist.

use entities::{session, two_factor_challenge};

use crate::{
    auth::AuthUser,
    error::{ApiError, ApiResult},
};

/// Listing and ending a session: its owner only (`NOT_FOUND` otherwise, so
/// session ids cannot be probed).
pub fn can_manage_session(viewer: &AuthUser, session: &session::Model) -> ApiResult<()> {
    if session.user_id == viewer.id {
        Ok(())
    } else {
        Err(ApiError::NotFound("Session"))
    }
}

/// Completing a challenge opened from a signed-in session (enabling
/// two-factor): the user it was opened for only. The caller maps a refusal to
/// the same answer as an unknown challenge token.
pub fn owns_challenge(viewer: &AuthUser, challenge: &two_factor_challenge::Model) -> bool {
    challenge.user_id == viewer.id
}

/// A user acting on their own sign-in factors: a full session's user, or an
/// enrolment-only session's (which may do nothing else). Anonymous callers
/// and API tokens are `UNAUTHENTICATED`.
pub fn own_account<'a>(caller: &super::Caller<'a>) -> ApiResult<&'a AuthUser> {
    caller.viewer.account().ok_or(ApiError::Unauthenticated)
}
