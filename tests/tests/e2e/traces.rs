//! OpenTelemetry traces over OTLP/HTTP: the real `portal api` and `portal
//! worker` processes (`test-api`, `test-worker`) export to an OTLP/HTTP
//! receiver started by the test ([`Receiver`]: `POST /v1/traces`, protobuf
//! bodies decoded with the protocol's generated types).
//!
//! A request sent with a W3C `traceparent` gets a server span in that trace,
//! a child of the caller's span; the job it enqueued runs in the other
//! process, later, in a `job` span of the same trace whose parent is the
//! request's span (through `outbox_jobs.trace_context`); no exported
//! attribute carries the bearer token; and the worker's spans, held by a
//! batch delay longer than the test, arrive because shutdown flushes them.

use std::{
    net::SocketAddr,
    process::Stdio,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use axum::{Router, body::Bytes, extract::State, routing::post};
use entities::{JobStatus, outbox_job};
use opentelemetry_proto::tonic::{
    collector::trace::v1::{ExportTraceServiceRequest, ExportTraceServiceResponse},
    common::v1::{AnyValue, KeyValue, any_value},
    trace::v1::span::SpanKind,
};
use portal_tests::{TestApp, gid};
use prost::Message as _;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;
use tokio::process::{Child, Command};

use crate::support::identity;

/// One exported span, with the service that sent it.
#[derive(Debug, Clone)]
struct Exported {
    service: String,
    trace_id: String,
    span_id: String,
    parent_span_id: String,
    name: String,
    kind: i32,
    attributes: Vec<(String, String)>,
    /// Every attribute value of the span, its events and its resource.
    all_values: Vec<String>,
}

impl Exported {
    fn attribute(&self, key: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// A minimal OTLP/HTTP trace receiver.
#[derive(Clone, Default)]
struct Receiver {
    spans: Arc<Mutex<Vec<Exported>>>,
}

impl Receiver {
    async fn start() -> (Self, SocketAddr) {
        let receiver = Self::default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = Router::new()
            .route("/v1/traces", post(export))
            .with_state(receiver.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (receiver, addr)
    }

    fn spans(&self) -> Vec<Exported> {
        self.spans.lock().unwrap().clone()
    }

    /// Waits (bounded) for a span matching `what`.
    async fn wait_for(&self, what: &str, check: impl Fn(&Exported) -> bool) -> Exported {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(span) = self.spans().into_iter().find(|s| check(s)) {
                return span;
            }
            assert!(
                Instant::now() < deadline,
                "no exported span {what}; received: {:#?}",
                self.spans()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

fn text(value: &Option<AnyValue>) -> String {
    match value.as_ref().and_then(|v| v.value.as_ref()) {
        Some(any_value::Value::StringValue(s)) => s.clone(),
        Some(any_value::Value::IntValue(i)) => i.to_string(),
        Some(any_value::Value::BoolValue(b)) => b.to_string(),
        Some(any_value::Value::DoubleValue(d)) => d.to_string(),
        Some(other) => format!("{other:?}"),
        None => String::new(),
    }
}

fn pairs(attributes: &[KeyValue]) -> Vec<(String, String)> {
    attributes
        .iter()
        .map(|kv| (kv.key.clone(), text(&kv.value)))
        .collect()
}

async fn export(
    State(receiver): State<Receiver>,
    body: Bytes,
) -> ([(&'static str, &'static str); 1], Vec<u8>) {
    let request = ExportTraceServiceRequest::decode(body).expect("an OTLP protobuf body");
    let mut out = receiver.spans.lock().unwrap();
    for resource_spans in request.resource_spans {
        let resource = pairs(
            &resource_spans
                .resource
                .map(|r| r.attributes)
                .unwrap_or_default(),
        );
        let service = resource
            .iter()
            .find(|(k, _)| k == "service.name")
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        for scope in resource_spans.scope_spans {
            for span in scope.spans {
                let attributes = pairs(&span.attributes);
                let mut all_values: Vec<String> = attributes
                    .iter()
                    .chain(resource.iter())
                    .map(|(_, v)| v.clone())
                    .collect();
                for event in &span.events {
                    all_values.push(event.name.clone());
                    all_values.extend(pairs(&event.attributes).into_iter().map(|(_, v)| v));
                }
                out.push(Exported {
                    service: service.clone(),
                    trace_id: hex(&span.trace_id),
                    span_id: hex(&span.span_id),
                    parent_span_id: hex(&span.parent_span_id),
                    name: span.name,
                    kind: span.kind,
                    attributes,
                    all_values,
                });
            }
        }
    }
    (
        [("content-type", "application/x-protobuf")],
        ExportTraceServiceResponse::default().encode_to_vec(),
    )
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A `portal api` or `portal worker` process against this test's database
/// and queue, exporting to `otlp`.
fn spawn(app: &TestApp, binary: &str, otlp: SocketAddr, vars: &[(&str, String)]) -> Child {
    let mut command = Command::new(binary);
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", app.database_url())
        .env("PORTAL_DATA_DIR", app.data_dir())
        .env("PORTAL_PUBLIC_BASE_URL", format!("http://{}", app.host))
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", format!("http://{otlp}"))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .kill_on_drop(true);
    if let Some((redis, queue)) = app.redis_queue() {
        command
            .env("REDIS_URL", redis)
            .env("PORTAL_QUEUE_NAME", queue);
    }
    for (name, value) in vars {
        command.env(name, value);
    }
    command.spawn().expect("start the process")
}

/// Stops a child with SIGTERM (a graceful shutdown, which flushes spans)
/// and waits for it.
async fn stop(mut child: Child) {
    let status = std::process::Command::new("kill")
        .arg("-TERM")
        .arg(child.id().expect("running").to_string())
        .status()
        .unwrap();
    assert!(status.success());
    let exit = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .expect("the process stops within 30 s")
        .unwrap();
    assert!(exit.success(), "{exit}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_and_the_job_it_enqueues_share_one_trace() {
    let app = TestApp::init().await;
    if app.is_postgres() && app.redis_queue().is_none() {
        // The processes would need the harness's side SQLite queue.
        eprintln!("skipping traces: PostgreSQL without TEST_REDIS_URL");
        return;
    }
    let (receiver, otlp) = Receiver::start().await;
    let port = free_port();
    let api = spawn(
        &app,
        env!("CARGO_BIN_EXE_test-api"),
        otlp,
        &[
            ("PORTAL_BIND_ADDR", format!("127.0.0.1:{port}")),
            ("OTEL_BSP_SCHEDULE_DELAY", "100".into()),
        ],
    );
    let worker = spawn(
        &app,
        env!("CARGO_BIN_EXE_test-worker"),
        otlp,
        &[
            ("PORTAL_WORKER_BIND_ADDR", "127.0.0.1:0".into()),
            ("PORTAL_WORKER_ID", "traced-worker".into()),
            ("PORTAL_RELAY_INTERVAL_MS", "100".into()),
            // Longer than the test: the worker's spans arrive only because
            // its shutdown flushes them.
            ("OTEL_BSP_SCHEDULE_DELAY", "600000".into()),
        ],
    );

    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let started = Instant::now();
    while !http
        .get(format!("{base}/healthz"))
        .send()
        .await
        .is_ok_and(|r| r.status().is_success())
    {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the API never started"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let user = identity::landlord(&app, entities::TwoFactorMethod::None, None).await;
    let caseworker = app.caseworker().await;
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let caller_span = "00f067aa0ba902b7";
    let response: serde_json::Value = http
        .post(format!("{base}/graphql"))
        .bearer_auth(&caseworker.token)
        .header("traceparent", format!("00-{trace_id}-{caller_span}-01"))
        .json(&json!({
            "query": "mutation ResetTheirPassword($id: ID!) { sendPasswordReset(id: $id) { id } }",
            "operationName": "ResetTheirPassword",
            "variables": { "id": gid("User", user.user.id) },
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(response.get("errors").is_none(), "{response:#}");

    // The request's span: a server span in the caller's trace, its parent
    // the caller's span, with the semantic-convention attributes.
    let server = receiver
        .wait_for("for the request", |s| {
            s.trace_id == trace_id && s.kind == SpanKind::Server as i32
        })
        .await;
    assert_eq!(server.parent_span_id, caller_span, "{server:#?}");
    assert_eq!(server.name, "POST /graphql");
    assert_eq!(server.service, "portal-api");
    assert_eq!(server.attribute("http.request.method"), Some("POST"));
    assert_eq!(server.attribute("url.path"), Some("/graphql"));
    assert_eq!(server.attribute("http.response.status_code"), Some("200"));
    assert_eq!(
        server.attribute("graphql.operation.name"),
        Some("ResetTheirPassword")
    );

    // The job was written with the request span's context.
    let job = outbox_job::Entity::find()
        .filter(outbox_job::Column::Kind.eq("send_email"))
        .one(app.db())
        .await
        .unwrap()
        .expect("the reset email's job");
    assert_eq!(
        job.trace_context.as_deref(),
        Some(format!("00-{trace_id}-{}-01", server.span_id).as_str())
    );
    // The worker process runs it.
    let started = Instant::now();
    loop {
        let status = outbox_job::Entity::find_by_id(job.id)
            .one(app.db())
            .await
            .unwrap()
            .unwrap()
            .status;
        if status == JobStatus::Done {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the worker never finished the job ({status:?})"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        !receiver
            .spans()
            .iter()
            .any(|s| s.service == "portal-worker"),
        "the worker's batch delay holds its spans until shutdown"
    );

    stop(worker).await;
    let job_span = receiver
        .wait_for("for the job", |s| {
            s.service == "portal-worker" && s.name == "job send_email"
        })
        .await;
    assert_eq!(
        job_span.trace_id, trace_id,
        "the job continues the request's trace"
    );
    assert_eq!(
        job_span.parent_span_id, server.span_id,
        "the job's parent is the request's span"
    );
    assert_eq!(job_span.kind, SpanKind::Consumer as i32);
    assert_eq!(job_span.attribute("kind"), Some("send_email"));
    assert_eq!(job_span.attribute("job"), Some(job.id.to_string().as_str()));
    assert_eq!(job_span.attribute("attempt"), Some("1"));

    stop(api).await;
    let spans = receiver.spans();
    for span in &spans {
        assert!(
            span.all_values
                .iter()
                .all(|v| !v.contains(&caseworker.token) && !v.contains("Bearer")),
            "a credential in an exported span: {span:#?}"
        );
        assert!(
            span.attributes
                .iter()
                .all(|(k, _)| !k.to_ascii_lowercase().contains("authorization")),
            "{span:#?}"
        );
    }
    // The worker process's scheduler enqueues its periodic jobs (the daily
    // sweep) when it starts; on a loaded machine it may stop before running
    // them. They are not this test's concern: run them here.
    app.run_pending_jobs().await;
}
