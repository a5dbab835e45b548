//! Liveness and readiness probes.

use axum::{Json, extract::State, http::StatusCode, response::IntoResponse};
use serde_json::json;

use super::HttpState;

/// The process is alive (no dependencies checked: a restart would not help them).
pub async fn healthz() -> &'static str {
    "ok"
}

/// Database, queue and object store reachable: 200, else 503 naming which
/// failed.
pub async fn readyz(State(state): State<HttpState>) -> impl IntoResponse {
    let timeout = std::time::Duration::from_secs(2);
    let db = tokio::time::timeout(timeout, platform::db::ping(&state.app.db)).await;
    let queue = tokio::time::timeout(timeout, state.app.queue.ping()).await;
    let storage = tokio::time::timeout(timeout, state.app.storage.check()).await;
    let db_ok = matches!(db, Ok(Ok(())));
    let queue_ok = matches!(queue, Ok(Ok(())));
    let storage_ok = matches!(storage, Ok(Ok(())));
    if !db_ok {
        tracing::warn!(?db, "readiness: database unreachable");
    }
    if !queue_ok {
        tracing::warn!("readiness: queue unreachable");
    }
    if !storage_ok {
        tracing::warn!(?storage, "readiness: storage unreachable");
    }
    let status = if db_ok && queue_ok && storage_ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let word = |ok: bool| if ok { "ok" } else { "unreachable" };
    (
        status,
        Json(json!({
            "database": word(db_ok),
            "queue": word(queue_ok),
            "storage": word(storage_ok),
        })),
    )
}
