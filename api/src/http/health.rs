//! Liveness and readiness probes.
//!
//! Both are unauthenticated, so neither may be a way to make the service
//! work: `/healthz` checks nothing, and `/readyz` answers from the last
//! check of the database, queue and object store, refreshed at most once per
//! [`PROBE_TTL`] however often it is asked (concurrent callers wait for the
//! one check in flight). The job counts of `/metrics` are refreshed the same
//! way.

use std::time::{Duration, Instant};

use axum::{Json, extract::State, http::StatusCode, response::IntoResponse};
use serde_json::json;
use tokio::sync::Mutex;

use super::HttpState;

/// How long a probe's answer is reused.
pub const PROBE_TTL: Duration = Duration::from_secs(1);

/// The last readiness check and the last job-count refresh.
#[derive(Default)]
pub struct Probes {
    ready: Mutex<Option<(Instant, Readiness)>>,
    jobs: Mutex<Option<Instant>>,
}

impl Probes {
    /// Runs `refresh` unless it ran less than [`PROBE_TTL`] ago.
    pub async fn refresh_jobs<F: Future<Output = ()>>(&self, refresh: impl FnOnce() -> F) {
        let mut last = self.jobs.lock().await;
        if last.is_some_and(|at| at.elapsed() < PROBE_TTL) {
            return;
        }
        refresh().await;
        *last = Some(Instant::now());
    }
}

#[derive(Debug, Clone, Copy)]
struct Readiness {
    database: bool,
    queue: bool,
    storage: bool,
}

/// The process is alive (no dependencies checked: a restart would not help them).
pub async fn healthz() -> &'static str {
    "ok"
}

async fn check(state: &HttpState) -> Readiness {
    let timeout = Duration::from_secs(2);
    let (db, queue, storage) = tokio::join!(
        tokio::time::timeout(timeout, platform::db::ping(&state.app.db)),
        tokio::time::timeout(timeout, state.app.queue.ping()),
        tokio::time::timeout(timeout, state.app.storage.check()),
    );
    let ready = Readiness {
        database: matches!(db, Ok(Ok(()))),
        queue: matches!(queue, Ok(Ok(()))),
        storage: matches!(storage, Ok(Ok(()))),
    };
    if !ready.database {
        tracing::warn!(?db, "readiness: database unreachable");
    }
    if !ready.queue {
        tracing::warn!("readiness: queue unreachable");
    }
    if !ready.storage {
        tracing::warn!(?storage, "readiness: storage unreachable");
    }
    ready
}

/// Database, queue and object store reachable: 200, else 503 naming which
/// failed (module docs: at most one check per second).
pub async fn readyz(State(state): State<HttpState>) -> impl IntoResponse {
    let ready = {
        let mut cached = state.probes.ready.lock().await;
        match *cached {
            Some((at, ready)) if at.elapsed() < PROBE_TTL => ready,
            _ => {
                let ready = check(&state).await;
                *cached = Some((Instant::now(), ready));
                ready
            }
        }
    };
    let status = if ready.database && ready.queue && ready.storage {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let word = |ok: bool| if ok { "ok" } else { "unreachable" };
    (
        status,
        Json(json!({
            "database": word(ready.database),
            "queue": word(ready.queue),
            "storage": word(ready.storage),
        })),
    )
}
