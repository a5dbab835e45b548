//! `bench cases`: the casework pages a resident opens most — the home list
//! and a case page — on a PostgreSQL dataset of (by default) 100,000 cases,
//! with the number of SQL statements each request costs.
//!
//! The API runs in this process exactly as deployed ([`api::http::serve`] on a
//! real TCP port, against PostgreSQL and Redis in a scratch database and key
//! prefix), and is driven over HTTP with `reqwest`:
//!
//! 1. **Data**, written set-based (`INSERT ... SELECT generate_series`, one
//!    statement per table, ids derived from `md5(<kind> || n)` so rows can
//!    refer to each other without lookups): 500 landlord organisations, 50
//!    caseworkers, `--cases` cases (one in five closed) each with a resident
//!    and a landlord party, 5 tasks per case (3 pending, 2 completed; for the
//!    resident and the landlord in turn; due dates from 20 days ago to 40
//!    ahead) and 10 messages per case (5 staff messages, each with the
//!    resident's reply). The **bench resident** is the resident party of 50 of
//!    the cases (40 open); every other resident has two. Then `ANALYZE`.
//! 2. **(a) Home**: `home(first: 50)` with each item's case (reference, type,
//!    status, complainant, landlord), next task and due date, `--concurrency`
//!    callers at once for `--seconds`, all as the bench resident.
//! 3. **(b) Case page**: `case(id:)` with its details, owner, resident,
//!    landlord, next five tasks, all tasks and all messages (sender, read
//!    state), the callers rotating over the bench resident's 50 cases.
//! 4. **Baseline**: `{ viewer { id } }` the same way: the cost of the HTTP
//!    round trip, the session lookup and the GraphQL machinery alone.
//!
//! **SQL statements per request** are counted by SeaORM's metric callback on
//! the API's connection pool (every statement the API sends, including the
//! session lookup and any write), over the whole load, divided by the
//! requests. It does not grow with the data: the point of the loaders. The
//! same callback times each statement: the three statements with the most
//! total time in each load are printed on stderr, to show where the time goes.
//!
//! Progress goes to stderr; the database and the Redis keys are removed at the
//! end, also when the run fails.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::Context as _;
use sea_orm::{ConnectionTrait, DatabaseConnection};
use serde_json::json;
use url::Url;
use uuid::Uuid;

use platform::config::Config;
use worker::{queue::Queue, runner::Shutdown};

use crate::{
    dataset::{self, RESIDENT_CASES},
    scratch::{server, with_in_process_api},
    table::{Percentiles, Table, ms, rate},
};

/// The home query: what the home page shows.
const HOME: &str = "query Home { home(first: 50) { edges { node { \
    case { id reference type statusLabel complainantName landlordName } \
    nextTask { id title dueDate } dueDate overdue } } pageInfo { hasNextPage endCursor } } }";

/// The case page: overview, tasks and messages.
pub(crate) const CASE: &str = "query CasePage($id: ID!) { case(id: $id) { \
    id reference type stage statusLabel category createdAt closedAt \
    owner { id name team role } resident { name address } landlord { name address } \
    nextTasks { id title dueDate status overdue } \
    tasks { id title dueDate status overdue assigneeKind assigneeName } \
    messages { id subject body createdAt fromStaff senderName read } unreadCount } }";

/// The baseline.
const VIEWER: &str = "{ viewer { id } }";

/// Options of `bench cases`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Cases in the dataset.
    #[arg(long, default_value_t = 100_000, value_parser = clap::value_parser!(i64).range(1000..))]
    cases: i64,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u64).range(1..=256))]
    concurrency: u64,
    /// Length of each measurement.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=600))]
    seconds: u64,
    /// A PostgreSQL server URL; the bench creates (and drops) its own
    /// `portal_bench_<random>` database on that server.
    #[arg(long, default_value = crate::scratch::DEFAULT_DATABASE_URL)]
    database_url: String,
    /// Redis for the job queue and the rate-limit counters; only keys under
    /// `portal-bench:<random>:` are written, and deleted at the end.
    #[arg(long, default_value = "redis://127.0.0.1:6379")]
    redis_url: String,
}

/// One load's results.
struct Load {
    name: &'static str,
    ok: u64,
    elapsed: Duration,
    latency: Percentiles,
    /// SQL statements sent by the API during the load.
    statements: u64,
}

/// Runs the scenario and prints the table.
pub async fn run(args: Args) -> anyhow::Result<()> {
    let crate::scratch::RunNames {
        id: run_id,
        database,
        prefix,
    } = crate::scratch::RunNames::new();
    eprintln!(
        "bench cases: {} cases, concurrency {}, {} s per load (run {run_id})",
        args.cases, args.concurrency, args.seconds
    );
    let statements = Arc::new(Statements::default());
    let counter = statements.clone();
    let result = with_in_process_api(
        &args.database_url,
        &args.redis_url,
        &database,
        &prefix,
        // Set before the pool is cloned into the app, so every clone counts.
        |db| db.set_metric_callback(move |info| counter.record(info)),
        |config, db, shutdown| measure(&args, config, db, statements, shutdown),
    )
    .await;
    let (loads, rows) = result?;
    print(&args, &database, &loads, &rows);
    headlines(&loads)?;
    Ok(())
}

async fn measure(
    args: &Args,
    config: Arc<Config>,
    db: DatabaseConnection,
    statements: Arc<Statements>,
    shutdown: Shutdown,
) -> anyhow::Result<(Vec<Load>, Vec<(String, i64)>)> {
    let (resident, cases, rows) = generate(args, &db).await?;
    let client_info = api::auth::ClientInfo {
        ip: Some("127.0.0.1".into()),
        user_agent: Some("bench".into()),
        request_id: "bench".into(),
    };
    let token = api::auth::session::create(&db, resident, &client_info, false).await?;
    let queue = Queue::connect(&config, &db).await?;
    let app = api::run::build_app(config.clone(), db, queue)
        .await
        .expect("build app");
    let server = tokio::spawn(api::http::serve(app, shutdown.clone()));
    let client = Arc::new(Client {
        endpoint: format!("http://{}/graphql", config.bind_addr),
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()?,
        token,
        cases,
    });
    client.wait_until_up(Duration::from_secs(30)).await?;
    // Warm-up (pools, prepared statements), and a check that each query
    // answers what it should.
    let home = client.request(HOME, json!({})).await?;
    let items = home["data"]["home"]["edges"].as_array().map_or(0, Vec::len);
    anyhow::ensure!(items > 0, "the home list is empty: {home}");
    let page = client
        .request(CASE, json!({ "id": client.cases[0] }))
        .await?;
    anyhow::ensure!(
        page["data"]["case"]["messages"]
            .as_array()
            .is_some_and(|m| !m.is_empty()),
        "the case page has no messages: {page}"
    );
    eprintln!("[check] home lists {items} cases; a case page has tasks and messages");

    let seconds = Duration::from_secs(args.seconds);
    let mut loads = Vec::new();
    for (name, query) in [
        ("{ viewer { id } } (baseline)", VIEWER),
        ("(a) home(first: 50)", HOME),
        ("(b) case page", CASE),
    ] {
        eprintln!(
            "[load] {name}, concurrency {}, {} s",
            args.concurrency, args.seconds
        );
        statements.reset();
        let (ok, elapsed, latency) = client.load(args.concurrency, seconds, query).await?;
        let (statements, slowest) = statements.report(3);
        eprintln!("[load] {ok} requests, {statements} SQL statements; most time in:");
        for (sql, count, total) in slowest {
            eprintln!(
                "[load]   {:>8.1} ms total, {count} × {:.2} ms: {sql}",
                total.as_secs_f64() * 1000.0,
                total.as_secs_f64() * 1000.0 / count.max(1) as f64
            );
        }
        loads.push(Load {
            name,
            ok,
            elapsed,
            latency,
            statements,
        });
    }
    shutdown.cancel();
    server.await.context("API task panicked")??;
    Ok((loads, rows))
}

/// What SeaORM's metric callback saw: every statement, and the time per
/// statement text.
#[derive(Default)]
struct Statements {
    count: AtomicU64,
    /// Executions and total time, by SQL text (values are bound, so one text
    /// is one query shape).
    by_sql: Mutex<HashMap<String, (u64, Duration)>>,
}

impl Statements {
    fn record(&self, info: &sea_orm::metric::Info<'_>) {
        self.count.fetch_add(1, Ordering::Relaxed);
        let sql = info
            .statement
            .sql
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        if let Ok(mut by_sql) = self.by_sql.lock() {
            let entry = by_sql.entry(sql).or_default();
            entry.0 += 1;
            entry.1 += info.elapsed;
        }
    }

    fn reset(&self) {
        self.count.store(0, Ordering::Relaxed);
        if let Ok(mut by_sql) = self.by_sql.lock() {
            by_sql.clear();
        }
    }

    /// The statements since the last reset, and the `top` statement texts
    /// with the most total time (shortened to 160 characters).
    fn report(&self, top: usize) -> (u64, Vec<(String, u64, Duration)>) {
        let mut slowest: Vec<(String, u64, Duration)> = self
            .by_sql
            .lock()
            .map(|by_sql| {
                by_sql
                    .iter()
                    .map(|(sql, (n, t))| (sql.chars().take(160).collect(), *n, *t))
                    .collect()
            })
            .unwrap_or_default();
        slowest.sort_by_key(|s| std::cmp::Reverse(s.2));
        slowest.truncate(top);
        (self.count.load(Ordering::Relaxed), slowest)
    }
}

/// Writes the dataset (see the module docs and [`dataset`]). Returns the
/// bench resident, the ids of their cases, and the row counts per table.
async fn generate(
    args: &Args,
    db: &DatabaseConnection,
) -> anyhow::Result<(Uuid, Vec<String>, Vec<(String, i64)>)> {
    let started = Instant::now();
    let written = dataset::organisations(db, dataset::CASE_LANDLORDS).await?;
    let mut rows = vec![("organisations".to_owned(), written as i64)];
    rows.extend(dataset::casework(db, args.cases).await?);
    let analyze = Instant::now();
    db.execute_unprepared("ANALYZE").await?;
    eprintln!(
        "[data] ANALYZE in {:.1} s; dataset in {:.1} s",
        analyze.elapsed().as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    let resident = dataset::derived_id(db, "resident0").await?;
    let cases = dataset::resident_cases(db).await?;
    Ok((resident, cases, rows))
}

/// The HTTP side: one client, the bench resident's session.
struct Client {
    endpoint: String,
    http: reqwest::Client,
    token: String,
    /// The bench resident's cases, for the case page.
    cases: Vec<String>,
}

impl Client {
    async fn wait_until_up(&self, within: Duration) -> anyhow::Result<()> {
        let deadline = Instant::now() + within;
        let health = self.endpoint.replace("/graphql", "/healthz");
        loop {
            if self.http.get(&health).send().await.is_ok() {
                return Ok(());
            }
            if Instant::now() >= deadline {
                anyhow::bail!("the API did not start listening within {within:?}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn request(
        &self,
        query: &str,
        variables: serde_json::Value,
    ) -> anyhow::Result<serde_json::Value> {
        let response = self
            .http
            .post(&self.endpoint)
            .bearer_auth(&self.token)
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await?;
        let status = response.status();
        let body: serde_json::Value = response.json().await?;
        if !status.is_success() || body.get("errors").is_some() {
            anyhow::bail!("HTTP {status}: {body}");
        }
        Ok(body)
    }

    /// `query` from `concurrency` callers until `length` has passed, timing
    /// each; the first failure fails the load. The case page rotates over the
    /// resident's cases.
    async fn load(
        self: &Arc<Self>,
        concurrency: u64,
        length: Duration,
        query: &'static str,
    ) -> anyhow::Result<(u64, Duration, Percentiles)> {
        let started = Instant::now();
        let deadline = started + length;
        let mut callers = tokio::task::JoinSet::new();
        for caller in 0..concurrency as usize {
            let client = self.clone();
            callers.spawn(async move {
                let mut latencies = Vec::new();
                let mut i = caller;
                while Instant::now() < deadline {
                    let variables = json!({ "id": client.cases[i % client.cases.len()] });
                    i += concurrency as usize;
                    let sent = Instant::now();
                    client.request(query, variables).await?;
                    latencies.push(sent.elapsed().as_secs_f64() * 1000.0);
                }
                anyhow::Ok(latencies)
            });
        }
        let mut latencies = Vec::new();
        while let Some(joined) = callers.join_next().await {
            latencies.extend(joined.context("a load task panicked")??);
        }
        let elapsed = started.elapsed();
        Ok((
            latencies.len() as u64,
            elapsed,
            Percentiles::of(&mut latencies).context("no request finished")?,
        ))
    }
}

/// The suite's rows: home and the case page, each beside `{ viewer { id } }`.
fn headlines(loads: &[Load]) -> anyhow::Result<()> {
    let per_second = |l: &Load| l.ok as f64 / l.elapsed.as_secs_f64();
    let Some((baseline, measured)) = loads.split_first() else {
        return Ok(());
    };
    crate::headline::emit_beside(
        measured.iter().map(|l| crate::headline::Measured {
            scenario: format!(
                "{}, in-process API, {:.1} SQL statements per request (`bench cases`)",
                l.name,
                l.statements as f64 / l.ok.max(1) as f64
            ),
            per_second: per_second(l),
            p50_ms: l.latency.p50,
            p99_ms: l.latency.p99,
        }),
        "{ viewer { id } } on the same API",
        per_second(baseline),
    )
}

fn print(args: &Args, database: &str, loads: &[Load], rows: &[(String, i64)]) {
    let mut table = Table::new(&[
        "scenario",
        "requests",
        "req/s",
        "p50 ms",
        "p99 ms",
        "max ms",
        "SQL/request",
    ]);
    for load in loads {
        table.row(vec![
            load.name.to_owned(),
            rate(load.ok as f64),
            rate(load.ok as f64 / load.elapsed.as_secs_f64()),
            ms(load.latency.p50),
            ms(load.latency.p99),
            ms(load.latency.max),
            format!("{:.1}", load.statements as f64 / load.ok.max(1) as f64),
        ]);
    }
    println!();
    print!("{}", table.render());
    println!();
    let db_server = Url::parse(&args.database_url)
        .map(|u| server(&u))
        .unwrap_or_default();
    let dataset: Vec<String> = rows
        .iter()
        .map(|(table, n)| format!("{} {table}", rate(*n as f64)))
        .collect();
    println!(
        "run: {}; one resident with {RESIDENT_CASES} cases (40 open), concurrency {}, {} s per load, \
         API in-process over HTTP on loopback; {} CPU(s); PostgreSQL {db_server} database {database}",
        dataset.join(", "),
        args.concurrency,
        args.seconds,
        std::thread::available_parallelism().map_or(0, |n| n.get()),
    );
}
