//! Prometheus metrics: HTTP requests and latency, GraphQL errors by code,
//! jobs by status (queue depth) and job outcomes (recorded by the runner).

use std::{sync::OnceLock, time::Instant};

use axum::{
    extract::{MatchedPath, Request, State},
    middleware::Next,
    response::{IntoResponse, Response},
};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use super::HttpState;

/// The process-wide recorder. Installed once; later calls (tests build many
/// apps in one process) share it.
pub fn handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let buckets = [
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
            ];
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &buckets)
                .expect("valid buckets")
                .build_recorder();
            let handle = recorder.handle();
            // Fails only if another recorder is installed (e.g. by a test
            // harness); the handle still renders what this recorder sees.
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}

/// Counts and times every request by route template (never the raw path, which
/// would give one series per id).
pub async fn track(req: Request, next: Next) -> Response {
    let path = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = req.method().to_string();
    let start = Instant::now();
    let response = next.run(req).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!("http_requests_total", "method" => method.clone(), "path" => path.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("http_request_duration_seconds", "method" => method, "path" => path)
        .record(start.elapsed().as_secs_f64());
    response
}

/// Whether the request carries the metrics token (when one is configured),
/// compared in constant time.
fn authorised(state: &HttpState, headers: &http::HeaderMap) -> bool {
    use secrecy::ExposeSecret;
    let Some(token) = &state.app.config.metrics_token else {
        return true;
    };
    let expected = format!("Bearer {}", token.expose_secret());
    let given = headers
        .get(http::header::AUTHORIZATION)
        .map(|v| v.as_bytes())
        .unwrap_or_default();
    given.len() == expected.len()
        && given
            .iter()
            .zip(expected.as_bytes())
            .fold(0u8, |diff, (a, b)| diff | (a ^ b))
            == 0
}

/// `GET /metrics`: behind `PORTAL_METRICS_TOKEN` when it is set; the job
/// counts are refreshed at most once a second (see `health`).
pub async fn render(State(state): State<HttpState>, headers: http::HeaderMap) -> Response {
    if !authorised(&state, &headers) {
        return (
            http::StatusCode::UNAUTHORIZED,
            [(http::header::WWW_AUTHENTICATE, "Bearer")],
            "metrics need the metrics token\n",
        )
            .into_response();
    }
    state
        .probes
        .refresh_jobs(|| async {
            match worker::outbox::counts(&state.app.db).await {
                Ok(counts) => {
                    for status in entities::JobStatus::ALL.iter().copied() {
                        let n = counts
                            .iter()
                            .find(|(s, _)| s == &status)
                            .map_or(0, |(_, n)| *n);
                        metrics::gauge!("jobs", "status" => status.as_str()).set(n as f64);
                    }
                }
                Err(e) => tracing::warn!(error = %e, "cannot count jobs for metrics"),
            }
        })
        .await;
    (
        [(http::header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.app.metrics.render(),
    )
        .into_response()
}
