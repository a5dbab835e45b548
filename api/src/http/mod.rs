//! The HTTP surface: routes, middleware and the server loop.
//!
//! | route | what |
//! |---|---|
//! | `POST /graphql` | GraphQL (JSON; batches capped) |
//! | `GET /graphql` | GraphiQL (when enabled), served with its assets by the API |
//! | `GET /graphiql/<version>/<file>` | GraphiQL's scripts and styles, from the binary |
//! | `GET /graphql/ws` | GraphQL subscriptions over WebSocket |
//! | `GET /healthz` | the process is alive |
//! | `GET /readyz` | per-component JSON; 503 only without the database, a queue or store outage is `degraded` (see [`health`]; checked at most once a second) |
//! | `GET /metrics` | Prometheus metrics (behind `PORTAL_METRICS_TOKEN` when set) |
//! | `GET /files/<key>` | local-storage downloads behind signed, expiring URLs |
//! | `POST /callbacks/notify/delivery-status` | GOV.UK Notify's delivery receipts (`crate::notifications::callbacks`) |
//!
//! Every response carries an `x-request-id` (the caller's, or a new UUID),
//! every log line of the request is inside a span with that id, and each
//! request ends with one access-log line ([`access_log`]).
//!
//! The worker-only process has its own small listener ([`worker`]).

pub mod access_log;
mod files;
mod graphiql;
mod graphql;
pub mod health;
pub mod metrics;
pub mod websocket;
pub mod worker;

use std::{net::SocketAddr, time::Duration};

use ::worker::runner::Shutdown;
use axum::{
    Router,
    http::{HeaderName, HeaderValue, Method, Request, header},
    middleware,
    routing::{get, post},
};
use tower_http::{
    catch_panic::CatchPanicLayer,
    cors::{AllowOrigin, CorsLayer},
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    trace::TraceLayer,
};

use crate::{app::AppState, graphql::PortalSchema};

/// State of the router: the app and the schema built on it.
#[derive(Clone)]
pub struct HttpState {
    /// Application state.
    pub app: AppState,
    /// The GraphQL schema.
    pub schema: PortalSchema,
    /// The probes' cached answers.
    pub probes: std::sync::Arc<health::Probes>,
}

static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Builds the router with all middleware.
pub fn router(app: AppState) -> Router {
    let schema = crate::graphql::build(Some(app.clone()), &app.config);
    let cors = cors(&app.config.cors_origins);
    let state = HttpState {
        app,
        schema,
        probes: Default::default(),
    };
    Router::new()
        .route("/graphql", get(graphiql::page).post(graphql::graphql_post))
        .route("/graphql/ws", get(websocket::graphql_ws))
        .route("/graphiql/{version}/{file}", get(graphiql::asset))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(metrics::render))
        .route("/files/{*key}", get(files::download))
        .route(
            "/callbacks/notify/delivery-status",
            post(crate::notifications::callbacks::delivery_status).layer(
                axum::extract::DefaultBodyLimit::max(
                    crate::notifications::callbacks::MAX_CALLBACK_BYTES,
                ),
            ),
        )
        .with_state(state)
        .layer(middleware::from_fn(metrics::track))
        .layer(middleware::from_fn(access_log::log))
        .layer(cors)
        .layer(CatchPanicLayer::custom(graphql::panic_response))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID.clone()))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(request_span)
                .on_response(record_status),
        )
        .layer(SetRequestIdLayer::new(REQUEST_ID.clone(), MakeRequestUuid))
}

/// The span of one request: the request id, method and path for the log
/// lines inside it; for OpenTelemetry (`crate::telemetry`) a server span
/// named after the route, with the semantic-convention attributes, a child
/// of the caller's W3C `traceparent` when there is one. No header but
/// `traceparent` is read: never a credential.
fn request_span<B>(req: &Request<B>) -> tracing::Span {
    use tracing_opentelemetry::OpenTelemetrySpanExt as _;
    let id = req
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-");
    let method = req.method();
    let path = req.uri().path();
    let span = tracing::info_span!(
        "request",
        otel.name = %format!("{method} {}", route(path)),
        otel.kind = "server",
        request_id = %id,
        method = %method,
        path = %path,
    );
    if let Some(traceparent) = req
        .headers()
        .get("traceparent")
        .and_then(|v| v.to_str().ok())
    {
        ::worker::trace_context::set_parent(&span, traceparent);
    }
    span.set_attribute("http.request.method", method.to_string());
    span.set_attribute("url.path", path.to_owned());
    span
}

/// The status code on the request's span (`http.response.status_code`);
/// a 5xx marks the span as an error.
fn record_status<B>(res: &http::Response<B>, _latency: Duration, span: &tracing::Span) {
    use tracing_opentelemetry::OpenTelemetrySpanExt as _;
    let status = res.status();
    span.set_attribute("http.response.status_code", i64::from(status.as_u16()));
    if status.is_server_error() {
        span.set_status(opentelemetry::trace::Status::error(status.to_string()));
    }
}

/// The route template of a path, for span names of low cardinality
/// (`GET /files/{key}`, not one name per file).
fn route(path: &str) -> &str {
    match path {
        "/graphql"
        | "/graphql/ws"
        | "/healthz"
        | "/readyz"
        | "/metrics"
        | "/callbacks/notify/delivery-status" => path,
        _ if path.starts_with("/files/") => "/files/{key}",
        _ if path.starts_with("/graphiql/") => "/graphiql/{version}/{file}",
        _ => "(unmatched)",
    }
}

fn cors(origins: &[String]) -> CorsLayer {
    let allowed: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(allowed))
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            REQUEST_ID.clone(),
        ])
        .expose_headers([REQUEST_ID.clone()])
        .max_age(Duration::from_secs(3600))
}

/// Serves until `shutdown`, then stops accepting and drains in-flight requests.
pub async fn serve(app: AppState, shutdown: Shutdown) -> anyhow::Result<()> {
    let addr = app.config.bind_addr;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {addr} (PORTAL_BIND_ADDR): {e}"))?;
    tracing::info!(%addr, "HTTP server listening");
    axum::serve(
        listener,
        router(app).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move { shutdown.cancelled().await })
    .await?;
    tracing::info!("HTTP server drained");
    Ok(())
}
