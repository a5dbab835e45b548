//! Liveness and readiness probes.

use axum::{Json, extract::State, http::StatusCode, response::IntoResponse};
use serde_json::json;

use super::HttpState;

/// The process is alive (no dependencies checked: a restart would not help them).
pub async fn healthz() -> &'static str {
    "ok"
}

/// Database and queue reachable: 200, else 503 with which one failed.
pub async fn readyz(State(state): State<HttpState>) -> impl IntoResponse {
    let timeout = std::time::Duration::from_secs(2);
    let db = tokio::time::timeout(timeout, worker::db::ping(&state.app.db)).await;
    let queue = tokio::time::timeout(timeout, state.app.queue.ping()).await;
    let db_ok = matches!(db, Ok(Ok(())));
    let queue_ok = matches!(queue, Ok(Ok(())));
    if !db_ok {
        tracing::warn!(?db, "readiness: database unreachable");
    }
    if !queue_ok {
        tracing::warn!("readiness: queue unreachable");
    }
    let status = if db_ok && queue_ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let word = |ok: bool| if ok { "ok" } else { "unreachable" };
    (
        status,
        Json(json!({ "database": word(db_ok), "queue": word(queue_ok) })),
    )
}
