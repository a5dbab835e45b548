//! Liveness and readiness probes.
//!
//! Both are unauthenticated, so neither may be a way to make the service
//! work: `/healthz` checks nothing, and `/readyz` answers from the last
//! check of its dependencies, refreshed at most once per [`PROBE_TTL`]
//! however often it is asked (concurrent callers wait for the one check in
//! flight). The job counts of `/metrics` are refreshed the same way.
//!
//! What readiness means differs by process, because what an outage takes
//! away differs:
//!
//! - **API** (`portal api`, `portal serve`): only the database is required
//!   (503 without it). The queue (Redis) and the object store are reported
//!   `"degraded"` with a 200: taking every instance out of the load balancer
//!   because Redis is down would turn a delayed queue into a full outage. With
//!   the queue down, jobs wait in the outbox (written in the request's
//!   transaction) and are relayed when it is back; rate limits and cost
//!   budgets let requests through (the per-account lock-out in the database
//!   still holds); live updates reach only subscribers on the same instance.
//!   With the object store down, uploads and downloads fail and the rest works.
//! - **Worker** (`portal worker`): the database and the queue are both
//!   required: a worker without either can run nothing.

use std::time::{Duration, Instant};

use ::worker::queue::Queue;
use axum::{Json, extract::State, http::StatusCode, response::IntoResponse};
use sea_orm::DatabaseConnection;
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

    /// The cached readiness, or a fresh one from `check`.
    async fn readiness<F: Future<Output = Readiness>>(
        &self,
        check: impl FnOnce() -> F,
    ) -> Readiness {
        let mut cached = self.ready.lock().await;
        match *cached {
            Some((at, ready)) if at.elapsed() < PROBE_TTL => ready,
            _ => {
                let ready = check().await;
                *cached = Some((Instant::now(), ready));
                ready
            }
        }
    }
}

/// Which dependencies answered; `storage` is `None` where it is not checked
/// (the worker's probe).
#[derive(Debug, Clone, Copy)]
struct Readiness {
    database: bool,
    queue: bool,
    storage: Option<bool>,
}

/// The process is alive (no dependencies checked: a restart would not help them).
pub async fn healthz() -> &'static str {
    "ok"
}

async fn check(
    db: &DatabaseConnection,
    queue: &Queue,
    storage: Option<&platform::storage::Storage>,
) -> Readiness {
    let timeout = Duration::from_secs(2);
    let storage_check = async {
        match storage {
            Some(storage) => Some(tokio::time::timeout(timeout, storage.check()).await),
            None => None,
        }
    };
    let (db, queue, storage) = tokio::join!(
        tokio::time::timeout(timeout, platform::db::ping(db)),
        tokio::time::timeout(timeout, queue.ping()),
        storage_check,
    );
    let ready = Readiness {
        database: matches!(db, Ok(Ok(()))),
        queue: matches!(queue, Ok(Ok(()))),
        storage: storage.as_ref().map(|s| matches!(s, Ok(Ok(())))),
    };
    if !ready.database {
        tracing::warn!(?db, "readiness: database unreachable");
    }
    if !ready.queue {
        tracing::warn!("readiness: queue unreachable; jobs wait in the outbox");
    }
    if ready.storage == Some(false) {
        tracing::warn!(?storage, "readiness: storage unreachable");
    }
    ready
}

/// `GET /readyz` of the API: 503 only without the database; the queue and
/// the object store are `"degraded"` when down (module docs). The body
/// names each component's state and the overall `status`.
pub async fn readyz(State(state): State<HttpState>) -> impl IntoResponse {
    let app = &state.app;
    let ready = state
        .probes
        .readiness(|| check(&app.db, &app.queue, Some(&app.storage)))
        .await;
    let word = |ok: bool| if ok { "ok" } else { "degraded" };
    let (status, overall) = match ready {
        Readiness {
            database: false, ..
        } => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
        Readiness {
            queue: true,
            storage: Some(true) | None,
            ..
        } => (StatusCode::OK, "ok"),
        _ => (StatusCode::OK, "degraded"),
    };
    (
        status,
        Json(json!({
            "status": overall,
            "database": if ready.database { "ok" } else { "unreachable" },
            "queue": word(ready.queue),
            "storage": word(ready.storage.unwrap_or(true)),
        })),
    )
}

/// `GET /readyz` of the worker-only process: the database and the queue,
/// both required (module docs).
pub(super) async fn worker_readyz(
    db: &DatabaseConnection,
    queue: &Queue,
    probes: &Probes,
) -> impl IntoResponse + use<> {
    let ready = probes.readiness(|| check(db, queue, None)).await;
    let word = |ok: bool| if ok { "ok" } else { "unreachable" };
    let ok = ready.database && ready.queue;
    (
        if ok {
            StatusCode::OK
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        },
        Json(json!({
            "status": if ok { "ok" } else { "unavailable" },
            "database": word(ready.database),
            "queue": word(ready.queue),
        })),
    )
}
