//! Operations over a WebSocket obey the same session rules as over HTTP.
//!
//! A connection keeps the bearer value of its `connection_init`
//! ([`SocketSession`]), never a resolved caller: every operation sent over it
//! resolves the caller again, as a `POST /graphql` does (the session's idle
//! expiry slides, its absolute expiry holds, a suspension or a lost
//! permission applies at once). When the credential the connection opened
//! with no longer names a live session or token (signed out, revoked, a
//! password change or reset, suspension, deactivation, expiry), the operation
//! answers `UNAUTHENTICATED` and the connection is closed with code 4401
//! (see `http::websocket` for every close code).

use std::sync::Arc;

use async_graphql::{
    ErrorExtensions, Request, ServerResult,
    extensions::{Extension, ExtensionContext, ExtensionFactory, NextPrepareRequest},
};
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::{app::AppState, auth::session, error::ApiError};

/// Close code: the connection's session or token ended.
pub const CLOSE_SESSION_ENDED: u16 = 4401;

/// What a WebSocket connection carries instead of a caller.
#[derive(Debug)]
pub struct SocketSession {
    /// The `authorization` value of `connection_init`, if any.
    pub authorization: Option<String>,
    /// The session or API token it named then (`None`: anonymous).
    pub credential: Option<Uuid>,
    /// Asks the connection's server loop to close with a code and reason.
    pub close: mpsc::UnboundedSender<(u16, String)>,
}

impl SocketSession {
    /// The caller now, or `UNAUTHENTICATED` (and the connection closed) when
    /// the credential it opened with has ended. `touch`: whether this counts
    /// as use of the session (operations do; the periodic check does not).
    pub async fn caller(
        &self,
        db: &sea_orm::DatabaseConnection,
        touch: bool,
    ) -> Result<crate::auth::Viewer, ApiError> {
        let header = self.authorization.as_deref();
        let viewer = if touch {
            session::authenticate(db, header).await?
        } else {
            session::recheck(db, header).await?
        };
        if self.credential.is_some() && viewer.credential() != self.credential {
            let _ = self
                .close
                .send((CLOSE_SESSION_ENDED, "Session ended".to_owned()));
            return Err(ApiError::Unauthenticated);
        }
        Ok(viewer)
    }
}

/// Extension factory registered on the schema.
pub struct SocketSessions;

impl ExtensionFactory for SocketSessions {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(SocketSessions)
    }
}

#[async_trait::async_trait]
impl Extension for SocketSessions {
    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        let request = match (
            ctx.data_opt::<Arc<SocketSession>>(),
            ctx.data_opt::<AppState>(),
        ) {
            (Some(socket), Some(app)) => {
                let viewer = socket
                    .caller(&app.db, true)
                    .await
                    .map_err(|e| e.extend().into_server_error(Default::default()))?;
                request.data(viewer)
            }
            _ => request,
        };
        next.run(ctx, request).await
    }
}
