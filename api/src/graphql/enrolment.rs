//! The enrolment-only session's fence: while a user must set up two-factor
//! sign-in before anything else ([`crate::identity::login`], "When
//! two-factor is required"), only the root fields in [`ALLOWED`] run. Any
//! other root field answers `FORBIDDEN` with `extensions.reason`
//! `TWO_FACTOR_SETUP_REQUIRED`, before its resolver starts. The policies
//! refuse such a session too (it is not a [`crate::auth::Viewer::user`]), so
//! a field missed here still reads nothing; the fence gives the client one
//! clear answer.

use std::sync::Arc;

use async_graphql::{
    ErrorExtensions, PathSegment, Pos, ServerResult, Value,
    extensions::{Extension, ExtensionContext, ExtensionFactory, NextResolve, ResolveInfo},
};

use crate::{auth::Viewer, error::ApiError};

/// Root fields an enrolment-only session may use.
pub const ALLOWED: &[&str] = &[
    "__typename",
    "__schema",
    "__type",
    "viewer",
    "enableTwoFactor",
    "confirmTwoFactor",
    "setUpAuthenticatorApp",
    "resendTwoFactorCode",
    "generateRecoveryCodes",
    "logout",
];

/// Extension factory registered on the schema.
pub struct EnrolmentFence;

impl ExtensionFactory for EnrolmentFence {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(EnrolmentFence)
    }
}

#[async_trait::async_trait]
impl Extension for EnrolmentFence {
    async fn resolve(
        &self,
        ctx: &ExtensionContext<'_>,
        info: ResolveInfo<'_>,
        next: NextResolve<'_>,
    ) -> ServerResult<Option<Value>> {
        let root = info.path_node.parent.is_none();
        if root
            && matches!(ctx.data_opt::<Viewer>(), Some(Viewer::Enrolling(_)))
            && !ALLOWED.contains(&info.name)
        {
            let key = info.alias.unwrap_or(info.name).to_owned();
            return Err(ApiError::TwoFactorSetupRequired
                .extend()
                .into_server_error(Pos::default())
                .with_path(vec![PathSegment::Field(key)]));
        }
        next.run(ctx, info).await
    }
}
