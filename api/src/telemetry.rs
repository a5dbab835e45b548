//! Structured logging with `tracing`: human-readable lines in development,
//! JSON lines in production (`PORTAL_LOG_FORMAT=json`). `RUST_LOG` filters.
//!
//! OpenTelemetry traces over OTLP/HTTP (protobuf) when
//! `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is
//! set; unset, no exporter is built and no span goes anywhere but the log.
//! The standard variables are read by the OpenTelemetry SDK itself:
//! `OTEL_EXPORTER_OTLP_HEADERS` (e.g. an API key of the collector: never
//! logged), `OTEL_SERVICE_NAME` (default [`ServiceName`]: `portal` for the
//! all-in-one, `portal-api`, `portal-worker`), `OTEL_TRACES_SAMPLER` and
//! `OTEL_TRACES_SAMPLER_ARG` (default: parent-based, always on), and the
//! batch processor's `OTEL_BSP_*`.
//!
//! What is exported is only the portal's own spans and events at `info` or
//! above, whatever `RUST_LOG` says: a `request` span per HTTP request
//! (`crate::http`; a child of the caller's W3C `traceparent` when it sends
//! one) and a `job` span per job attempt (`worker::runner`; a child of the
//! span that enqueued the job, through `outbox_jobs.trace_context`). No
//! library's spans (the SQL driver, the queue) and no header is exported.

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::{Resource, trace::SdkTracerProvider};
use platform::config::LogFormat;
use tracing::{Level, Metadata};
use tracing_subscriber::{EnvFilter, Layer, filter::filter_fn, fmt, prelude::*};

/// Which process this is, for the default `OTEL_SERVICE_NAME`.
#[derive(Debug, Clone, Copy)]
pub enum ServiceName {
    /// `portal serve`, the all-in-one: `portal`.
    AllInOne,
    /// `portal api`: `portal-api`.
    Api,
    /// `portal worker`: `portal-worker`.
    Worker,
}

impl ServiceName {
    /// The service name traces carry unless `OTEL_SERVICE_NAME` says otherwise.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AllInOne => "portal",
            Self::Api => "portal-api",
            Self::Worker => "portal-worker",
        }
    }
}

/// The installed telemetry. Call [`Telemetry::shutdown`] when the process
/// stops, outside the async runtime, so that buffered spans are sent.
#[must_use = "call shutdown() before the process exits, or the last spans are lost"]
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// Whether spans are exported over OTLP.
    pub fn exporting(&self) -> bool {
        self.provider.is_some()
    }

    /// Sends the spans still buffered and stops the exporter (bounded by the
    /// exporter's timeout, `OTEL_EXPORTER_OTLP_TIMEOUT`, 10 s by default).
    pub fn shutdown(self) {
        if let Some(provider) = self.provider
            && let Err(e) = provider.shutdown()
        {
            eprintln!("portal: sending the last traces failed: {e}");
        }
    }
}

/// Installs the global subscriber (logs, and traces when an OTLP endpoint is
/// configured). Call once, before anything logs, and outside the async
/// runtime (the exporter's HTTP client is a blocking one on its own thread).
pub fn init(format: LogFormat, service: ServiceName) -> Telemetry {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,sea_orm=warn,apalis=warn"));
    let logs = match format {
        LogFormat::Json => fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .boxed(),
        LogFormat::Pretty => fmt::layer().compact().boxed(),
    };
    let (provider, setup_error) = match otlp_configured() {
        false => (None, None),
        true => match tracer_provider(service) {
            Ok(provider) => (Some(provider), None),
            Err(e) => (None, Some(e)),
        },
    };
    let traces = provider.as_ref().map(|provider| {
        tracing_opentelemetry::layer()
            .with_tracer(provider.tracer("portal"))
            .with_location(false)
            .with_threads(false)
            .with_filter(filter_fn(exported))
    });
    tracing_subscriber::registry()
        .with(logs.with_filter(filter))
        .with(traces)
        .init();
    if let Some(e) = setup_error {
        // The service runs on without traces rather than not at all.
        tracing::error!(error = %e, "OpenTelemetry exporter unusable: no traces are sent");
    } else if provider.is_some() {
        tracing::info!(
            service = %service_name(service),
            "OpenTelemetry traces are exported over OTLP/HTTP"
        );
    }
    Telemetry { provider }
}

/// Whether an OTLP endpoint is configured (an empty value counts as unset).
fn otlp_configured() -> bool {
    [
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    ]
    .iter()
    .any(|name| std::env::var(name).is_ok_and(|v| !v.trim().is_empty()))
}

fn service_name(service: ServiceName) -> String {
    std::env::var("OTEL_SERVICE_NAME")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| service.as_str().to_owned())
}

fn tracer_provider(service: ServiceName) -> Result<SdkTracerProvider, String> {
    use opentelemetry_otlp::{Protocol, WithExportConfig as _};
    // Endpoint, headers and timeout come from the standard variables.
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .build()
        .map_err(|e| e.to_string())?;
    let resource = Resource::builder()
        .with_service_name(service_name(service))
        .with_attribute(opentelemetry::KeyValue::new(
            "service.version",
            env!("CARGO_PKG_VERSION"),
        ))
        .build();
    // The sampler (`OTEL_TRACES_SAMPLER`) and the batch settings
    // (`OTEL_BSP_*`) are read from the environment by the SDK.
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource)
        .build())
}

/// The spans and events exported: the portal's own (`api`, `worker`,
/// `platform`, and `portal::*` targets such as the access log) at `info` or
/// above. A whole-word match: `apalis` is not `api`.
fn exported(meta: &Metadata<'_>) -> bool {
    let ours = ["api", "worker", "platform", "portal"]
        .iter()
        .any(|crate_name| {
            meta.target()
                .strip_prefix(crate_name)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with("::"))
        });
    ours && *meta.level() <= Level::INFO
}
