//! What operators run and watch: the worker's own HTTP listener (health,
//! readiness, metrics), the access log, job time limits and the pruning of
//! finished jobs.

use std::{
    io::Write,
    sync::{Arc, Mutex},
    time::Duration,
};

use api::jobs::{JobContext, noop::Noop};
use axum::{
    body::Body,
    http::{Request, StatusCode},
};
use chrono::Utc;
use entities::{JobStatus, outbox_job};
use portal_tests::TestApp;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
use serde_json::json;
use worker::{
    job::{Attempt, Job, JobError, Registry},
    outbox,
    runner::{Relay, Runner, Shutdown},
};

/// Starts the worker-only process's listener on a free port; returns its base URL.
async fn worker_listener(app: &TestApp, shutdown: &Shutdown) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let state = api::http::worker::WorkerHttpState::new(
        app.state.config.clone(),
        app.db().clone(),
        app.state.queue.clone(),
    );
    tokio::spawn(api::http::worker::serve_on(
        state,
        listener,
        shutdown.clone(),
    ));
    base
}

#[tokio::test]
async fn the_worker_serves_probes_and_its_job_metrics_over_http() {
    let app = TestApp::builder()
        .env("PORTAL_METRICS_TOKEN", "a-metrics-token-for-tests")
        .build()
        .await;
    outbox::enqueue(app.db(), &Noop::default()).await.unwrap();
    assert_eq!(app.run_pending_jobs().await, 1);

    let shutdown = Shutdown::new();
    let base = worker_listener(&app, &shutdown).await;
    let http = reqwest::Client::new();
    let health = http.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    let ready = http.get(format!("{base}/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
    assert_eq!(
        ready.json::<serde_json::Value>().await.unwrap(),
        json!({ "status": "ok", "database": "ok", "queue": "ok" })
    );

    // The same token rule as the API's /metrics.
    let refused = http.get(format!("{base}/metrics")).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let scrape = http
        .get(format!("{base}/metrics"))
        .bearer_auth("a-metrics-token-for-tests")
        .send()
        .await
        .unwrap();
    assert_eq!(scrape.status(), StatusCode::OK);
    let text = scrape.text().await.unwrap();
    for expected in [
        "# HELP portal_job_outcomes_total ",
        "# TYPE portal_job_outcomes_total counter",
        "portal_job_outcomes_total{kind=\"noop\",outcome=\"done\"}",
        "portal_job_duration_seconds_bucket{kind=\"noop\"",
        "portal_jobs{status=\"PENDING\"}",
        "portal_build_info{",
        "process_resident_memory_bytes ",
    ] {
        assert!(text.contains(expected), "{expected} missing:\n{text}");
    }
    shutdown.cancel();
}

/// A `MakeWriter` that keeps what is logged, for reading back.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn lines(&self) -> Vec<String> {
        String::from_utf8_lossy(&self.0.lock().unwrap())
            .lines()
            .map(str::to_owned)
            .collect()
    }
}

#[tokio::test]
async fn every_request_has_one_access_log_line_and_never_the_token() {
    let app = TestApp::init().await;
    let admin = app.service_admin().await;
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .finish();
    // The test runtime runs the request on this thread, so a thread-local
    // subscriber sees its events.
    let _guard = tracing::subscriber::set_default(subscriber);

    let signed_in = app
        .send(
            Request::post("/graphql")
                .header("content-type", "application/json")
                .header("authorization", format!("Bearer {}", admin.token))
                .header("x-request-id", "req-signed-in")
                .body(Body::from(r#"{"query":"{ viewer { id } }"}"#))
                .unwrap(),
        )
        .await;
    assert_eq!(signed_in.status, StatusCode::OK);
    app.send(
        Request::get("/healthz?token=not-logged")
            .header("x-request-id", "req-anonymous")
            .body(Body::empty())
            .unwrap(),
    )
    .await;

    let lines = captured.lines();
    let access: Vec<&String> = lines
        .iter()
        .filter(|l| l.contains("portal::access"))
        .collect();
    assert_eq!(access.len(), 2, "{lines:#?}");
    let user = access
        .iter()
        .find(|l| l.contains("req-signed-in"))
        .expect("the signed-in request's line");
    for part in [
        " INFO ",
        "method=POST",
        "path=/graphql",
        "status=200",
        "duration_ms=",
        "principal=\"user\"",
    ] {
        assert!(user.contains(part), "{part} missing: {user}");
    }
    let anonymous = access
        .iter()
        .find(|l| l.contains("req-anonymous"))
        .expect("the probe's line");
    assert!(anonymous.contains("path=/healthz "), "{anonymous}");
    assert!(anonymous.contains("principal=\"anonymous\""), "{anonymous}");
    for line in &lines {
        assert!(!line.contains(&admin.token), "a token was logged: {line}");
        assert!(
            !line.contains("not-logged"),
            "a query string was logged: {line}"
        );
    }
}

/// A job that never finishes on its own, with a short time limit.
#[derive(serde::Serialize, serde::Deserialize)]
struct Hang;

impl Job for Hang {
    type Context = JobContext;
    const JOB_NAME: &'static str = "hang";
    const MAX_ATTEMPTS: i32 = 2;
    const TIMEOUT: Duration = Duration::from_millis(200);

    async fn run(&self, _: Arc<JobContext>, _: Attempt) -> Result<(), JobError> {
        std::future::pending::<()>().await;
        Ok(())
    }
}

#[tokio::test]
async fn a_hung_job_is_cancelled_at_its_time_limit_retried_then_dead_lettered() {
    let app = TestApp::init().await;
    // A retry an hour away: `run_pending` loops while jobs are due, and the
    // test's short backoff could make the retry due within the same call on
    // a loaded machine. `skip_backoff` makes it due when the test says so.
    let mut jobs = app.config().jobs.clone();
    jobs.backoff_base = Duration::from_secs(3600);
    jobs.backoff_max = Duration::from_secs(3600);
    let runner = Runner::new(
        app.runner().context().clone(),
        app.db().clone(),
        Registry::new().register::<Hang>(),
        jobs,
    );
    let id = outbox::enqueue(app.db(), &Hang).await.unwrap().unwrap();

    assert_eq!(runner.run_pending().await.unwrap(), 1);
    let first = outbox_job::Entity::find_by_id(id)
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.status, JobStatus::Pending, "retried: {first:?}");
    assert!(first.run_at > first.started_at.unwrap(), "with backoff");
    let error = first.last_error.clone().unwrap_or_default();
    assert!(error.contains("timed out after 0.2 s"), "{error}");

    app.skip_backoff().await;
    assert_eq!(runner.run_pending().await.unwrap(), 1);
    let last = outbox_job::Entity::find_by_id(id)
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(last.status, JobStatus::Dead, "{last:?}");
    assert_eq!(last.attempts, 2);
    assert!(last.lease_until.is_none());
}

#[tokio::test]
async fn finished_jobs_are_pruned_after_the_retention_period_and_dead_ones_kept() {
    let app = TestApp::builder()
        .env("PORTAL_JOB_RETENTION_DAYS", "14")
        .build()
        .await;
    let mut ids = Vec::new();
    for tag in 0..5 {
        ids.push(
            outbox::enqueue(app.db(), &Noop { tag, sleep_ms: 0 })
                .await
                .unwrap()
                .unwrap(),
        );
    }
    assert_eq!(app.run_pending_jobs().await, 5);
    // Three finished three weeks ago, one yesterday; one is a dead letter
    // of three weeks ago.
    let weeks_ago = Utc::now() - chrono::Duration::days(21);
    let set_finished = |ids: Vec<uuid::Uuid>, at: chrono::DateTime<Utc>, status: JobStatus| {
        let db = app.db().clone();
        async move {
            outbox_job::Entity::update_many()
                .col_expr(outbox_job::Column::FinishedAt, Expr::value(at))
                .col_expr(outbox_job::Column::Status, Expr::value(status.as_str()))
                .filter(outbox_job::Column::Id.is_in(ids))
                .exec(&db)
                .await
                .unwrap();
        }
    };
    set_finished(ids[0..3].to_vec(), weeks_ago, JobStatus::Done).await;
    set_finished(
        vec![ids[3]],
        Utc::now() - chrono::Duration::days(1),
        JobStatus::Done,
    )
    .await;
    set_finished(vec![ids[4]], weeks_ago, JobStatus::Dead).await;

    let relay = Relay::new(
        app.db().clone(),
        app.state.queue.clone(),
        app.config().jobs.clone(),
    );
    assert_eq!(relay.prune().await.unwrap(), 3);
    let left: Vec<uuid::Uuid> = outbox_job::Entity::find()
        .all(app.db())
        .await
        .unwrap()
        .into_iter()
        .map(|j| j.id)
        .collect();
    assert_eq!(left.len(), 2, "{left:?}");
    assert!(left.contains(&ids[3]) && left.contains(&ids[4]));

    // Set-based in batches: two more old ones, one row per statement.
    set_finished(vec![ids[3]], weeks_ago, JobStatus::Done).await;
    let more = outbox::enqueue(app.db(), &Noop::default())
        .await
        .unwrap()
        .unwrap();
    app.run_pending_jobs().await;
    set_finished(vec![more], weeks_ago, JobStatus::Done).await;
    let cutoff = Utc::now() - chrono::Duration::days(14);
    assert_eq!(outbox::prune_done(app.db(), cutoff, 1).await.unwrap(), 2);
    assert_eq!(relay.prune().await.unwrap(), 0);
    let dead = outbox_job::Entity::find_by_id(ids[4])
        .one(app.db())
        .await
        .unwrap();
    assert!(
        dead.is_some(),
        "dead letters stay until an operator retries them"
    );
}
