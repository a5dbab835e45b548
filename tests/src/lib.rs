//! The `TestApp` harness shared by the end-to-end tests.
//!
//! Each test gets its own database (a fresh SQLite file, or a fresh PostgreSQL
//! database when `TEST_DATABASE_URL` is set), its own queue (a per-test Redis
//! queue name when `TEST_REDIS_URL` is set), its own outbox folder, and sends
//! requests to the real router in-process (`router.oneshot`), so everything but
//! the TCP socket is what production runs.
//!
//! Background jobs do not run by themselves: a test calls
//! [`TestApp::run_pending_jobs`] at the point of the story where the worker
//! would have caught up. A test that leaves jobs unprocessed fails when the
//! `TestApp` is dropped, so no test can forget a side effect it caused.
//!
//! Emails are read back with [`TestApp::emails`]: from the `.eml` files of the
//! embedded mode, or from the real SMTP server's API (maildev) when
//! `TEST_SMTP_URL` and `TEST_SMTP_API_URL` are set; both give the same
//! [`Email`] values, so email snapshots hold in both modes.
//!
//! [`notify::NotifyServer`] is a GOV.UK Notify-compatible server for the
//! tests of the Notify transports and callbacks.

pub mod case_fixtures;
pub mod fixtures;
pub mod notify;
pub mod services;

use std::{path::PathBuf, sync::Arc};

use api::jobs::JobContext;
use axum::{
    Router,
    body::Body,
    http::{Request, Response, StatusCode, header},
};
use http_body_util::BodyExt;
use platform::config::Config;
use sea_orm::{ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};
use tower::ServiceExt;
use uuid::Uuid;
use worker::{queue::Queue, runner::Runner};

pub use services::{require_env, skip_unless};

/// The GraphQL global id of the database row `id` of GraphQL type
/// `type_name` (`gid("Case", case.id)`), for a test that passes an id it
/// read from the database. Ids read from a response pass through as they
/// are.
pub fn gid(type_name: &str, id: Uuid) -> String {
    let kind = api::graphql::scalars::NodeKind::ALL
        .into_iter()
        .find(|kind| kind.type_name() == type_name)
        .unwrap_or_else(|| panic!("no node kind {type_name}"));
    api::graphql::scalars::global_id(kind, id).0
}

/// The database id inside a global id read from a response (panics when it
/// is not one).
pub fn uuid_of(global_id: &str) -> Uuid {
    api::graphql::scalars::decode_global_id(global_id)
        .unwrap_or_else(|| panic!("not a global id: {global_id}"))
        .1
}

/// A running application for one test.
pub struct TestApp {
    /// Application state (database, config, queue).
    pub state: api::app::AppState,
    router: Router,
    runner: Arc<Runner<JobContext>>,
    _dir: tempfile::TempDir,
    database: services::TestDatabase,
    redis_queue: Option<(String, String)>,
    /// Host of this test's public base URL; unique per test, so emails sent
    /// through a shared SMTP server can be told apart by their Message-ID.
    pub host: String,
    /// Whether `Drop` should check that no jobs were left unprocessed.
    check_jobs_on_drop: bool,
}

/// Builder for a [`TestApp`] with extra environment settings.
#[derive(Default)]
pub struct TestAppBuilder {
    vars: Vec<(String, String)>,
    embedded_only: bool,
    allow_leftover_jobs: bool,
}

impl TestAppBuilder {
    /// Sets a configuration variable (e.g. `PORTAL_MAX_BATCH_SIZE`).
    pub fn env(mut self, name: &str, value: impl Into<String>) -> Self {
        self.vars.push((name.to_owned(), value.into()));
        self
    }

    /// Ignores `TEST_*` service URLs: SQLite, SQLite queue, file outbox.
    pub fn embedded(mut self) -> Self {
        self.embedded_only = true;
        self
    }

    /// For tests about the pipeline itself, which leave jobs in flight on purpose.
    pub fn allow_leftover_jobs(mut self) -> Self {
        self.allow_leftover_jobs = true;
        self
    }

    /// Starts the app.
    pub async fn build(self) -> TestApp {
        let dir = tempfile::tempdir().expect("tempdir");
        let host = format!("t{}.portal.test", Uuid::new_v4().simple());
        let database = if self.embedded_only {
            services::TestDatabase::sqlite(dir.path()).await
        } else {
            services::TestDatabase::create(dir.path()).await
        };
        let mut vars: Vec<(String, String)> = vec![
            ("PORTAL_DATA_DIR".into(), dir.path().display().to_string()),
            ("DATABASE_URL".into(), database.url.clone()),
            ("PORTAL_PUBLIC_BASE_URL".into(), format!("http://{host}")),
            ("PORTAL_JOB_BACKOFF_BASE_MS".into(), "10".into()),
        ];
        let redis_queue = match (self.embedded_only, services::env("TEST_REDIS_URL")) {
            (false, Some(url)) => Some((url, format!("portal-test:{}", Uuid::new_v4().simple()))),
            _ => None,
        };
        if let Some((url, queue)) = &redis_queue {
            vars.push(("REDIS_URL".into(), url.clone()));
            vars.push(("PORTAL_QUEUE_NAME".into(), queue.clone()));
        }
        if let (false, Some(smtp)) = (self.embedded_only, services::env("TEST_SMTP_URL")) {
            vars.push(("PORTAL_SMTP_URL".into(), smtp));
        }
        if !self.embedded_only {
            vars.extend(services::s3_vars());
        }
        vars.extend(self.vars);
        let config = Arc::new(Config::from_vars(vars).expect("test configuration"));
        let db = platform::db::connect(&config).await.expect("connect");
        platform::db::migrate(&db).await.expect("migrate");
        let queue = match &redis_queue {
            Some((url, name)) => Queue::connect_redis(url, name).await.expect("redis queue"),
            None if database.is_sqlite() => Queue::sqlite(&db, &config.jobs.queue_name)
                .await
                .expect("sqlite queue"),
            None => {
                // PostgreSQL without Redis: give the queue a SQLite file of its own.
                let side = platform::db::connect_url(&format!(
                    "sqlite://{}/queue.db?mode=rwc",
                    dir.path().display()
                ))
                .await
                .expect("queue database");
                Queue::sqlite(&side, &config.jobs.queue_name)
                    .await
                    .expect("sqlite queue")
            }
        };
        let state = api::run::build_app(config.clone(), db.clone(), queue)
            .await
            .expect("build app");
        let router = api::http::router(state.clone());
        let runner = Arc::new(api::jobs::runner(config, db).await.expect("runner"));
        TestApp {
            state,
            router,
            runner,
            _dir: dir,
            database,
            redis_queue,
            host,
            check_jobs_on_drop: !self.allow_leftover_jobs,
        }
    }
}

impl TestApp {
    /// A test app with default settings.
    pub async fn init() -> Self {
        Self::builder().build().await
    }

    /// A builder for extra settings.
    pub fn builder() -> TestAppBuilder {
        TestAppBuilder::default()
    }

    /// The database.
    pub fn db(&self) -> &DatabaseConnection {
        &self.state.db
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.state.config
    }

    /// The job runner (the same code the worker runs).
    pub fn runner(&self) -> &Arc<Runner<JobContext>> {
        &self.runner
    }

    /// Whether this test runs on PostgreSQL.
    pub fn is_postgres(&self) -> bool {
        !self.database.is_sqlite()
    }

    /// URL of this test's database.
    pub fn database_url(&self) -> &str {
        &self.database.url
    }

    /// The per-test Redis (URL, queue name), when Redis is in use.
    pub fn redis_queue(&self) -> Option<&(String, String)> {
        self.redis_queue.as_ref()
    }

    /// Sends a raw request through the router.
    pub async fn request(&self, request: Request<Body>) -> Response<Body> {
        self.router
            .clone()
            .oneshot(request)
            .await
            .expect("router is infallible")
    }

    /// Sends a raw request and returns status, headers and body as JSON (or a string).
    pub async fn send(&self, request: Request<Body>) -> TestResponse {
        let response = self.request(request).await;
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        let mut body = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        let cost = take_cost(&mut body);
        TestResponse {
            status,
            headers,
            body,
            cost,
        }
    }

    /// Runs a GraphQL operation, anonymously or with a bearer token.
    pub async fn graphql(
        &self,
        token: Option<&str>,
        query: &str,
        variables: Value,
    ) -> TestResponse {
        self.graphql_raw(token, json!({ "query": query, "variables": variables }))
            .await
    }

    /// POSTs any JSON body to `/graphql` (single or batch).
    pub async fn graphql_raw(&self, token: Option<&str>, body: Value) -> TestResponse {
        let mut request =
            Request::post("/graphql").header(header::CONTENT_TYPE, "application/json");
        if let Some(token) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        self.send(
            request
                .body(Body::from(serde_json::to_vec(&body).expect("json")))
                .expect("request"),
        )
        .await
    }

    /// Runs a GraphQL operation as a multipart request (the GraphQL multipart
    /// request spec), with the `GraphQL-Require-Preflight` header. Each file is
    /// (variable path such as `variables.files.0.file`, file name, content).
    pub async fn graphql_multipart(
        &self,
        token: Option<&str>,
        query: &str,
        variables: Value,
        files: &[(&str, &str, &[u8])],
    ) -> TestResponse {
        let mut request = Request::post("/graphql").header("graphql-require-preflight", "1");
        if let Some(token) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let (content_type, body) = multipart_body(query, variables, files);
        self.send(
            request
                .header(header::CONTENT_TYPE, content_type)
                .body(Body::from(body))
                .expect("request"),
        )
        .await
    }

    /// Runs every due job, as the worker would, until none is due. Returns how many ran.
    pub async fn run_pending_jobs(&self) -> usize {
        self.runner.run_pending().await.expect("run jobs")
    }

    /// Moves every job's retry time to now, so the next `run_pending_jobs` runs
    /// retries without waiting for their backoff.
    pub async fn skip_backoff(&self) {
        self.db()
            .execute_unprepared(
                "UPDATE outbox_jobs SET run_at = created_at WHERE status = 'PENDING'",
            )
            .await
            .expect("skip backoff");
    }

    /// Jobs not finished (pending, queued or running).
    pub async fn unfinished_jobs(&self) -> u64 {
        use sea_orm::ColumnTrait;
        entities::outbox_job::Entity::find()
            .filter(entities::outbox_job::Column::Status.is_in([
                entities::JobStatus::Pending,
                entities::JobStatus::Queued,
                entities::JobStatus::Running,
            ]))
            .count(self.db())
            .await
            .expect("count jobs")
    }

    /// Emails sent so far by this test, oldest first.
    pub async fn emails(&self) -> Vec<Email> {
        match (
            services::env("TEST_SMTP_URL"),
            services::env("TEST_SMTP_API_URL"),
        ) {
            (Some(_), Some(api)) if self.config().mail.smtp_url().is_some() => {
                services::maildev_emails(&api, &self.host).await
            }
            _ => services::eml_files(&self.config().outbox_dir()),
        }
    }

    /// SMS messages "sent" to the embedded log file, as (to, body) pairs.
    pub fn sms(&self) -> Vec<(String, String)> {
        let path = self.config().outbox_dir().join("sms.log");
        std::fs::read_to_string(path)
            .unwrap_or_default()
            .lines()
            .filter_map(|line| {
                let mut cols = line.splitn(4, '\t');
                let (_time, to, _reference, body) =
                    (cols.next()?, cols.next()?, cols.next()?, cols.next()?);
                Some((to.to_owned(), body.replace("\\n", "\n")))
            })
            .collect()
    }

    /// The folder holding this test's files.
    pub fn data_dir(&self) -> PathBuf {
        self.config().data_dir.clone()
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let check = self.check_jobs_on_drop && !std::thread::panicking();
        let url = self.database.url.clone();
        let leftover = if check {
            // Drop cannot await; ask on a thread with its own runtime.
            std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime");
                rt.block_on(async move {
                    let db = platform::db::connect_url(&url).await.ok()?;
                    let row = db
                        .query_one_raw(sea_orm::Statement::from_string(
                            db.get_database_backend(),
                            "SELECT COUNT(*) AS n FROM outbox_jobs WHERE status IN ('PENDING','QUEUED','RUNNING')",
                        ))
                        .await
                        .ok()??;
                    let n: i64 = row.try_get("", "n").ok()?;
                    db.close().await.ok();
                    Some(n)
                })
            })
            .join()
            .ok()
            .flatten()
        } else {
            None
        };
        self.database.drop_database();
        if let Some((url, queue)) = self.redis_queue.take() {
            services::delete_redis_keys(&url, &queue);
        }
        if let Some(n) = leftover.filter(|n| *n > 0) {
            panic!(
                "the test left {n} background job(s) unprocessed: call `app.run_pending_jobs().await` \
                 where the worker would have run them"
            );
        }
    }
}

/// A GraphQL multipart request body (content type, bytes): `operations`,
/// `map`, then one part per file, named by its index.
pub fn multipart_body(
    query: &str,
    variables: Value,
    files: &[(&str, &str, &[u8])],
) -> (String, Vec<u8>) {
    let boundary = format!("----portal-test-{}", Uuid::new_v4().simple());
    let operations = json!({ "query": query, "variables": variables });
    let map: serde_json::Map<String, Value> = files
        .iter()
        .enumerate()
        .map(|(i, (path, _, _))| (i.to_string(), json!([path])))
        .collect();
    let mut body = Vec::new();
    let mut part = |headers: String, content: &[u8]| {
        body.extend_from_slice(format!("--{boundary}\r\n{headers}\r\n\r\n").as_bytes());
        body.extend_from_slice(content);
        body.extend_from_slice(b"\r\n");
    };
    part(
        "Content-Disposition: form-data; name=\"operations\"".into(),
        operations.to_string().as_bytes(),
    );
    part(
        "Content-Disposition: form-data; name=\"map\"".into(),
        Value::Object(map).to_string().as_bytes(),
    );
    for (i, (_, filename, content)) in files.iter().enumerate() {
        part(
            format!(
                "Content-Disposition: form-data; name=\"{i}\"; filename=\"{filename}\"\r\nContent-Type: application/octet-stream"
            ),
            content,
        );
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// A response as the tests see it.
#[derive(Debug)]
pub struct TestResponse {
    /// HTTP status.
    pub status: StatusCode,
    /// Response headers.
    pub headers: http::HeaderMap,
    /// JSON body (or a JSON string holding a non-JSON body), without the
    /// cost report, which differs from one request to the next.
    pub body: Value,
    /// `extensions.cost` of the response (of each operation of a batch, as
    /// an array), taken out of `body`.
    pub cost: Value,
}

/// Takes `extensions.cost` out of a GraphQL response body (or of each
/// response of a batch), dropping `extensions` when nothing else is in it.
fn take_cost(body: &mut Value) -> Value {
    fn take(response: &mut Value) -> Value {
        let Some(extensions) = response
            .get_mut("extensions")
            .and_then(Value::as_object_mut)
        else {
            return Value::Null;
        };
        let cost = extensions.remove("cost").unwrap_or(Value::Null);
        if extensions.is_empty()
            && let Some(map) = response.as_object_mut()
        {
            map.remove("extensions");
        }
        cost
    }
    match body {
        Value::Array(responses) => Value::Array(responses.iter_mut().map(take).collect()),
        response => take(response),
    }
}

impl TestResponse {
    /// `data` of a GraphQL response, asserting there were no errors.
    pub fn data(&self) -> &Value {
        assert!(
            self.body.get("errors").is_none(),
            "unexpected GraphQL errors: {:#}",
            self.body
        );
        &self.body["data"]
    }

    /// The `extensions.code` of every error, in order.
    pub fn error_codes(&self) -> Vec<String> {
        self.body["errors"]
            .as_array()
            .map(|errors| {
                errors
                    .iter()
                    .map(|e| {
                        e["extensions"]["code"]
                            .as_str()
                            .unwrap_or("<none>")
                            .to_owned()
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The one error's code, asserting there is exactly one.
    pub fn error_code(&self) -> String {
        let codes = self.error_codes();
        assert_eq!(codes.len(), 1, "expected one error: {:#}", self.body);
        codes[0].clone()
    }
}

/// An email as a test sees it, whichever transport sent it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Email {
    /// Recipient address.
    pub to: String,
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub text: String,
    /// HTML body.
    pub html: String,
}
