//! Prometheus metrics, named as Prometheus asks: everything of this service
//! under the `portal_` namespace, counters ending in `_total`, durations in
//! `_seconds`, a `# HELP` line for each, `portal_build_info` (always 1, its
//! labels say what is running), and the standard `process_*` metrics read
//! from `/proc`.
//!
//! The same exposition is served by the API (`GET /metrics` on
//! `PORTAL_BIND_ADDR`) and by the worker-only process (`portal worker`, on
//! `PORTAL_WORKER_BIND_ADDR`; see [`super::worker`]), both behind
//! `PORTAL_METRICS_TOKEN` when it is set.

use std::{sync::OnceLock, time::Instant};

use axum::{
    extract::{MatchedPath, Request, State},
    middleware::Next,
    response::{IntoResponse, Response},
};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use sea_orm::DatabaseConnection;
use secrecy::SecretString;

use super::{HttpState, health::Probes};

/// The metrics this service records, with their help text: described once
/// when the recorder is installed, so every scrape carries `# HELP` lines.
const COUNTERS: &[(&str, &str)] = &[
    (
        "portal_http_requests_total",
        "HTTP requests answered, by method, route template and status.",
    ),
    (
        "portal_graphql_errors_total",
        "GraphQL errors returned, by error code.",
    ),
    (
        "portal_rate_limited_total",
        "Attempts refused by a rate limit, by operation.",
    ),
    (
        "portal_job_outcomes_total",
        "Job attempts by job kind and outcome (done, retrying, dead, skipped).",
    ),
    (
        "portal_job_timeouts_total",
        "Job attempts cancelled for running past their kind's time limit.",
    ),
    (
        "portal_outbox_relayed_total",
        "Jobs handed from the outbox to the queue.",
    ),
    (
        "portal_outbox_pruned_total",
        "Finished jobs deleted from the outbox after the retention period.",
    ),
    (
        "portal_worker_consumer_restarts_total",
        "Restarts of the queue consumer after a transport failure.",
    ),
];

const HISTOGRAMS: &[(&str, &str)] = &[
    (
        "portal_http_request_duration_seconds",
        "Time to answer an HTTP request, by method and route template.",
    ),
    (
        "portal_job_duration_seconds",
        "Time one job attempt ran, by job kind.",
    ),
];

const GAUGES: &[(&str, &str)] = &[
    (
        "portal_jobs",
        "Jobs in the outbox that are not done, by status (PENDING, QUEUED, RUNNING, DEAD).",
    ),
    (
        "portal_build_info",
        "Always 1; the labels say which build is running.",
    ),
];

/// The process-wide recorder. Installed once; later calls (tests build many
/// apps in one process, and the embedded mode runs API and worker together)
/// share it.
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
            for (name, help) in COUNTERS {
                metrics::describe_counter!(*name, *help);
            }
            for (name, help) in HISTOGRAMS {
                metrics::describe_histogram!(*name, metrics::Unit::Seconds, *help);
            }
            for (name, help) in GAUGES {
                metrics::describe_gauge!(*name, *help);
            }
            metrics::gauge!(
                "portal_build_info",
                "version" => env!("CARGO_PKG_VERSION"),
                "profile" => if cfg!(debug_assertions) { "debug" } else { "release" },
            )
            .set(1.0);
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
    metrics::counter!("portal_http_requests_total", "method" => method.clone(), "path" => path.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("portal_http_request_duration_seconds", "method" => method, "path" => path)
        .record(start.elapsed().as_secs_f64());
    response
}

/// Whether the request carries the metrics token (when one is configured),
/// compared in constant time.
fn authorised(token: Option<&SecretString>, headers: &http::HeaderMap) -> bool {
    use secrecy::ExposeSecret;
    let Some(token) = token else {
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

/// The scrape, for the API's and the worker's `/metrics`: 401 without the
/// metrics token (when one is set); the job gauge refreshed at most once a
/// second (see `health`).
pub(super) async fn scrape(
    token: Option<&SecretString>,
    headers: &http::HeaderMap,
    db: &DatabaseConnection,
    probes: &Probes,
) -> Response {
    if !authorised(token, headers) {
        return (
            http::StatusCode::UNAUTHORIZED,
            [(http::header::WWW_AUTHENTICATE, "Bearer")],
            "metrics need the metrics token\n",
        )
            .into_response();
    }
    probes
        .refresh_jobs(|| async {
            // Only what is not done: bounded by the work in flight and the
            // dead letters, not by the outbox's whole history.
            match ::worker::outbox::open_counts(db).await {
                Ok(counts) => {
                    for status in entities::JobStatus::ALL.iter().copied() {
                        if status == entities::JobStatus::Done {
                            continue;
                        }
                        let n = counts
                            .iter()
                            .find(|(s, _)| s == &status)
                            .map_or(0, |(_, n)| *n);
                        metrics::gauge!("portal_jobs", "status" => status.as_str()).set(n as f64);
                    }
                }
                Err(e) => tracing::warn!(error = %e, "cannot count jobs for metrics"),
            }
        })
        .await;
    let mut body = handle().render();
    body.push_str(&process::render());
    (
        [(http::header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        body,
    )
        .into_response()
}

/// `GET /metrics` of the API (module docs).
pub async fn render(State(state): State<HttpState>, headers: http::HeaderMap) -> Response {
    scrape(
        state.app.config.metrics_token.as_ref(),
        &headers,
        &state.app.db,
        &state.probes,
    )
    .await
}

/// The standard process metrics of the Prometheus client libraries
/// (`process_resident_memory_bytes`, `process_cpu_seconds_total`,
/// `process_open_fds`, `process_max_fds`, `process_start_time_seconds`,
/// `process_virtual_memory_bytes`), read from `/proc/self` at each scrape.
/// On a system without `/proc` they are left out.
mod process {
    use std::fmt::Write as _;

    /// Clock ticks per second and page size: what Linux uses on every
    /// architecture this service is built for (x86-64, arm64).
    const TICKS_PER_SECOND: f64 = 100.0;
    const PAGE_SIZE: f64 = 4096.0;

    /// The metrics as exposition text (empty without `/proc`).
    pub(super) fn render() -> String {
        let mut out = String::new();
        let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
            return out;
        };
        // Fields after the command name, which is in parentheses and may
        // hold spaces: field 3 (state) is the first after ") ".
        let Some((_, rest)) = stat.rsplit_once(") ") else {
            return out;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let field = |n: usize| fields.get(n - 3).and_then(|v| v.parse::<f64>().ok());
        let mut metric = |name: &str, kind: &str, help: &str, value: f64| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
            );
        };
        if let (Some(utime), Some(stime)) = (field(14), field(15)) {
            metric(
                "process_cpu_seconds_total",
                "counter",
                "Total user and system CPU time spent in seconds.",
                (utime + stime) / TICKS_PER_SECOND,
            );
        }
        if let Some(vsize) = field(23) {
            metric(
                "process_virtual_memory_bytes",
                "gauge",
                "Virtual memory size in bytes.",
                vsize,
            );
        }
        if let Some(rss) = field(24) {
            metric(
                "process_resident_memory_bytes",
                "gauge",
                "Resident memory size in bytes.",
                rss * PAGE_SIZE,
            );
        }
        let boot_time = std::fs::read_to_string("/proc/stat").ok().and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("btime "))
                .and_then(|v| v.trim().parse::<f64>().ok())
        });
        if let (Some(boot), Some(start)) = (boot_time, field(22)) {
            metric(
                "process_start_time_seconds",
                "gauge",
                "Start time of the process since unix epoch in seconds.",
                boot + start / TICKS_PER_SECOND,
            );
        }
        if let Ok(fds) = std::fs::read_dir("/proc/self/fd") {
            metric(
                "process_open_fds",
                "gauge",
                "Number of open file descriptors.",
                fds.count() as f64,
            );
        }
        let max_fds = std::fs::read_to_string("/proc/self/limits")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("Max open files"))
                    .and_then(|l| l.split_whitespace().nth(3))
                    .and_then(|v| v.parse::<f64>().ok())
            });
        if let Some(max) = max_fds {
            metric(
                "process_max_fds",
                "gauge",
                "Maximum number of open file descriptors.",
                max,
            );
        }
        out
    }
}
