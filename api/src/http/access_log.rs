//! One access-log line per request, at `info` with the target
//! `portal::access`: method, path, status, duration in milliseconds, request
//! id and the kind of principal (`anonymous`, `user`, `enrolling`,
//! `api_token`; `unverified` when credentials were sent to a route that does
//! not check them).
//!
//! Never a credential: the `Authorization` header is not logged, and the
//! path is logged without its query string (signed download links carry
//! their signature there).

use std::{
    sync::{Arc, OnceLock},
    time::Instant,
};

use axum::{extract::Request, middleware::Next, response::Response};

use crate::auth::Viewer;

/// Where the GraphQL handler writes who the request ran as, once it has
/// checked the credentials; the access log reads it after the response.
#[derive(Clone, Default)]
pub struct PrincipalSlot(Arc<OnceLock<&'static str>>);

impl PrincipalSlot {
    /// Records the principal of the request (the first call wins).
    pub fn record(&self, viewer: &Viewer) {
        let _ = self.0.set(match viewer {
            Viewer::Anonymous => "anonymous",
            Viewer::User(_) => "user",
            Viewer::Enrolling(_) => "enrolling",
            Viewer::ApiToken(_) => "api_token",
        });
    }
}

/// The middleware (module docs).
pub async fn log(mut req: Request, next: Next) -> Response {
    let slot = PrincipalSlot::default();
    req.extensions_mut().insert(slot.clone());
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let request_id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-")
        .to_owned();
    let sent_credentials = req.headers().contains_key(http::header::AUTHORIZATION);
    let start = Instant::now();
    let response = next.run(req).await;
    let principal = slot.0.get().copied().unwrap_or(if sent_credentials {
        "unverified"
    } else {
        "anonymous"
    });
    tracing::info!(
        target: "portal::access",
        method = %method,
        path = %path,
        status = response.status().as_u16(),
        duration_ms = start.elapsed().as_secs_f64() * 1000.0,
        request_id = %request_id,
        principal,
        "request"
    );
    response
}
