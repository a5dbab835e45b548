//! The worker-only process's own small HTTP listener (`portal worker`, on
//! `PORTAL_WORKER_BIND_ADDR`): `/healthz`, `/readyz` (database and queue) and
//! `/metrics` (the same exposition and `PORTAL_METRICS_TOKEN` rule as the
//! API's), so the job metrics this process records are scraped and an
//! orchestrator can probe it. The embedded `portal serve` runs the worker
//! beside the API, whose listener already serves all three.

use std::{net::SocketAddr, sync::Arc};

use ::worker::{queue::Queue, runner::Shutdown};
use axum::{Router, extract::State, http::HeaderMap, response::Response, routing::get};
use platform::config::Config;
use sea_orm::DatabaseConnection;

use super::health::{self, Probes};

/// What the worker's listener reads.
#[derive(Clone)]
pub struct WorkerHttpState {
    /// Configuration (the metrics token).
    pub config: Arc<Config>,
    /// Database pool, for readiness and the job gauge.
    pub db: DatabaseConnection,
    /// The queue, for readiness.
    pub queue: Queue,
    /// The probes' cached answers.
    probes: Arc<Probes>,
}

impl WorkerHttpState {
    /// The state of a worker's listener.
    pub fn new(config: Arc<Config>, db: DatabaseConnection, queue: Queue) -> Self {
        Self {
            config,
            db,
            queue,
            probes: Default::default(),
        }
    }
}

/// The worker's routes.
pub fn router(state: WorkerHttpState) -> Router {
    // Installs the recorder, so the job metrics are recorded from the start.
    let _ = super::metrics::handle();
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(state)
}

async fn readyz(State(state): State<WorkerHttpState>) -> Response {
    use axum::response::IntoResponse;
    health::worker_readyz(&state.db, &state.queue, &state.probes)
        .await
        .into_response()
}

async fn metrics(State(state): State<WorkerHttpState>, headers: HeaderMap) -> Response {
    super::metrics::scrape(
        state.config.metrics_token.as_ref(),
        &headers,
        &state.db,
        &state.probes,
    )
    .await
}

/// Serves the worker's routes on `listener` until `shutdown`.
pub async fn serve_on(
    state: WorkerHttpState,
    listener: tokio::net::TcpListener,
    shutdown: Shutdown,
) -> anyhow::Result<()> {
    let addr = listener.local_addr()?;
    tracing::info!(%addr, "worker HTTP listener (health, readiness, metrics) listening");
    axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move { shutdown.cancelled().await })
    .await?;
    Ok(())
}
