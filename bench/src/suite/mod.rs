//! `bench suite`: every scenario side by side, from one command, in one
//! table.
//!
//! 1. **Tools**: `oha` (the load generator; `cargo install oha --locked` when
//!    it is missing), PostGraphile 4.14.1 with
//!    `postgraphile-plugin-connection-filter` (`npm install` into
//!    `~/.cache/portal-peer` when missing), and the release `portal` binary
//!    (`cargo build --release -p api`, next to this binary).
//! 2. **Data**: a scratch PostgreSQL database, migrated, then seeded by
//!    [`crate::dataset`]: 500 organisations, 50 caseworkers and the residents
//!    (two cases each), cases with 5 tasks and 10 messages each, and payments
//!    over the first 20 organisations (500 tenants each). `--size full`:
//!    100,000 cases (≈ 50,000 users, 500,000 tasks, 1,000,000 messages) and
//!    2,000,000 payments; `--size quick`: a twentieth.
//! 3. **Servers**: `portal api` as a child process in its production
//!    configuration (introspection, GraphiQL and field suggestions off, JSON
//!    logs) on Redis under a run-unique queue name, and PostGraphile on the same
//!    database. Both are checked to return the same rows before timing.
//! 4. **Load**: `oha` at `--concurrency` for `--seconds` per scenario, the
//!    server's `VmRSS` sampled every 100 ms (peak column), `VmHWM` at the end.
//!    (a) the payment search, page 50 with a 90-day range, `totalCount`
//!    (ours also `totalAmount`; PostGraphile has no sum without an aggregates
//!    plugin); (b) a resident's case page with its tasks and messages. Ours
//!    runs with authentication and authorisation (a `VIEW_PAYMENTS` API
//!    token; the resident's session); PostGraphile's without (no JWT, no RLS).
//! 5. **Every other scenario** of `bench/`, each a child process on its own
//!    scratch database, its headline figures read back as JSON
//!    ([`crate::headline`]) into the same table and its own table kept in the
//!    report: the limits (`bench queue` against `redis-benchmark`, `bench
//!    export` against `psql \copy`, `bench upload` against a direct S3 PUT,
//!    on the S3 server of the tests or an `s3s-fs` started here), then `bench
//!    login`, `bench sweep`, `bench cases` and `bench payments`.
//!
//! The table goes to stdout and to `bench/results/suite-<size>.md`.

use std::{
    path::{Path, PathBuf},
    process::Stdio,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::Context as _;
use chrono::{Duration as Days, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{
    dataset,
    scratch::{ScratchDatabase, free_port, run_then_clean_up},
    table::rate,
};

/// PostGraphile version installed and reported.
pub const PEER_VERSION: &str = "4.14.1";
/// The date range of the payment search.
const RANGE_DAYS: i64 = 90;

/// Dataset size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Size {
    /// 100,000 cases, 500,000 tasks, 1,000,000 messages, 2,000,000 payments.
    Full,
    /// A twentieth of full.
    Quick,
}

impl Size {
    /// (cases, payments).
    pub fn rows(self) -> (i64, i64) {
        match self {
            Size::Full => (100_000, 2_000_000),
            Size::Quick => (5_000, 100_000),
        }
    }
    fn name(self) -> &'static str {
        match self {
            Size::Full => "full",
            Size::Quick => "quick",
        }
    }
}

/// Options of `bench suite`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Dataset size.
    #[arg(long, value_enum, default_value_t = Size::Full)]
    size: Size,
    /// Connections in flight at once (both servers).
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u64).range(1..=256))]
    concurrency: u64,
    /// Length of each load (default 15 s full, 5 s quick).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=600))]
    seconds: Option<u64>,
    /// Only the scenarios against PostGraphile: skip the other `bench/`
    /// scenarios (the queue, export and upload limits, login, sweep, cases,
    /// payments).
    #[arg(long, alias = "no-limits")]
    peer_only: bool,
    /// A PostgreSQL server URL; the bench creates (and drops) its own
    /// `portal_bench_<random>` database on that server.
    #[arg(long, default_value = crate::scratch::DEFAULT_DATABASE_URL)]
    database_url: String,
    /// Redis; only keys under `portal-bench:<random>:` are written, and
    /// deleted at the end.
    #[arg(long, default_value = "redis://127.0.0.1:6379")]
    redis_url: String,
    /// Where PostGraphile is installed (with `npm install` when missing).
    #[arg(long, default_value = "~/.cache/portal-peer")]
    peer_dir: String,
}

/// One row of the table.
struct Row {
    scenario: String,
    ours: String,
    baseline: String,
    ratio: String,
    p50: String,
    p99: String,
    memory: String,
}

/// Runs the suite and prints the table.
pub async fn run(args: Args) -> anyhow::Result<()> {
    let seconds = args.seconds.unwrap_or(match args.size {
        Size::Full => 15,
        Size::Quick => 5,
    });
    let oha = ensure_oha()?;
    let peer = ensure_postgraphile(&expand_home(&args.peer_dir))?;
    let portal = build_portal()?;
    let crate::scratch::RunNames {
        id: run_id,
        database,
        prefix,
    } = crate::scratch::RunNames::new();
    let (cases, payments) = args.size.rows();
    eprintln!(
        "bench suite ({}): {cases} cases, {payments} payments, concurrency {}, {seconds} s per load (run {run_id})",
        args.size.name(),
        args.concurrency
    );
    let data_dir = tempfile::Builder::new().prefix("portal-bench-").tempdir()?;
    let scratch = ScratchDatabase::create(&args.database_url, &database).await?;
    eprintln!("[postgres] created database {database}");
    let url = scratch.url.clone();
    let scenario = async {
        let db = platform::db::connect_url(&url).await?;
        platform::db::migrate(&db).await.context("migrations")?;
        let rows = seed(&db, args.size).await?;
        let org = dataset::derived_id(&db, "org1").await?;
        let payments_token = crate::payments::token(&db, org).await?;
        let resident = dataset::derived_id(&db, "resident0").await?;
        let client_info = api::auth::ClientInfo {
            ip: Some("127.0.0.1".into()),
            user_agent: Some("bench".into()),
            request_id: "bench".into(),
        };
        let session = api::auth::session::create(&db, resident, &client_info).await?;
        let case_id = dataset::derived_id(&db, "case1").await?;
        db.close().await.ok();

        let vars = production_vars(&url, &args.redis_url, &prefix, data_dir.path())?;
        let api = Server::start_portal(&portal, "api", &vars).await?;
        let peer = Server::start_postgraphile(&peer, &url).await?;
        let measured = measure(
            &args,
            seconds,
            &oha,
            &api,
            &peer,
            org,
            &payments_token,
            &session,
            case_id,
        )
        .await;
        let api_hwm = api.status_kib("VmHWM:");
        let peer_hwm = peer.status_kib("VmHWM:");
        api.stop().await;
        peer.stop().await;
        let mut table = measured?;
        eprintln!(
            "[memory] VmHWM: portal api {} MiB, PostGraphile {} MiB",
            mib(api_hwm),
            mib(peer_hwm)
        );
        table.push(Row {
            scenario: "lifetime peak memory (VmHWM)".into(),
            ours: format!("portal api {} MiB", mib(api_hwm)),
            baseline: format!("PostGraphile {PEER_VERSION} (node) {} MiB", mib(peer_hwm)),
            ratio: ratio(api_hwm as f64, peer_hwm as f64),
            p50: "—".into(),
            p99: "—".into(),
            memory: format!("{} MiB", mib(api_hwm)),
        });
        anyhow::Ok((table, rows))
    };
    let (mut table, rows) =
        run_then_clean_up(scratch, Some((&args.redis_url, &prefix)), None, scenario).await?;
    let mut extra = String::new();
    if !args.peer_only {
        let s3 = match S3Server::ensure().await {
            Ok(s3) => Some(s3),
            Err(e) => {
                eprintln!("[s3] no S3-compatible server: {e:#}; `bench upload` will say so");
                None
            }
        };
        let (more, text) = scenarios(&args, s3.as_ref()).await;
        table.extend(more);
        extra = text;
    }
    let dataset: Vec<String> = rows
        .iter()
        .map(|(table, n)| format!("{} {table}", rate(*n as f64)))
        .collect();
    let note = format!(
        "size {}: {}; concurrency {}, {seconds} s per load, oha; {} CPU(s). \
         This project with authentication and authorisation (API token, resident session); \
         PostGraphile {PEER_VERSION} (+ postgraphile-plugin-connection-filter) without (no JWT, no row-level security).",
        args.size.name(),
        dataset.join(", "),
        args.concurrency,
        std::thread::available_parallelism().map_or(0, |n| n.get()),
    );
    let rendered = render(&table);
    println!();
    print!("{rendered}");
    println!();
    println!("{note}");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("results");
    std::fs::create_dir_all(&dir)?;
    let file = dir.join(format!("suite-{}.md", args.size.name()));
    std::fs::write(
        &file,
        format!(
            "# bench suite ({}), {}\n\n{rendered}\n{note}\n{extra}",
            args.size.name(),
            Utc::now().format("%Y-%m-%d %H:%M UTC")
        ),
    )?;
    eprintln!("[report] written to {}", file.display());
    Ok(())
}

/// The dataset of `size`; returns the rows per table.
pub async fn seed(
    db: &sea_orm::DatabaseConnection,
    size: Size,
) -> anyhow::Result<Vec<(String, i64)>> {
    let started = Instant::now();
    let (cases, payments) = size.rows();
    let orgs = dataset::organisations(db, dataset::CASE_LANDLORDS).await?;
    let mut rows = vec![("organisations".to_owned(), orgs as i64)];
    rows.extend(dataset::casework(db, cases).await?);
    let written = dataset::payments(db, 20, payments).await?;
    rows.push(("payments".to_owned(), written as i64));
    dataset::vacuum_analyze(db).await?;
    eprintln!("[data] dataset in {:.1} s", started.elapsed().as_secs_f64());
    Ok(rows)
}

/// The production configuration of a child `portal` process.
pub fn production_vars(
    database_url: &str,
    redis_url: &str,
    prefix: &str,
    data_dir: &Path,
) -> anyhow::Result<Vec<(&'static str, String)>> {
    Ok(vec![
        ("DATABASE_URL", database_url.to_owned()),
        ("REDIS_URL", redis_url.to_owned()),
        ("PORTAL_QUEUE_NAME", prefix.to_owned()),
        ("PORTAL_DATA_DIR", data_dir.display().to_string()),
        ("PORTAL_BIND_ADDR", free_port()?.to_string()),
        ("PORTAL_INTROSPECTION", "false".into()),
        ("PORTAL_GRAPHIQL", "false".into()),
        ("PORTAL_FIELD_SUGGESTIONS", "false".into()),
        ("PORTAL_LOG_FORMAT", "json".into()),
    ])
}

#[allow(clippy::too_many_arguments)]
async fn measure(
    args: &Args,
    seconds: u64,
    oha: &Path,
    api: &Server,
    peer: &Server,
    org: Uuid,
    payments_token: &str,
    session: &str,
    case_id: Uuid,
) -> anyhow::Result<Vec<Row>> {
    let today = Utc::now().date_naive();
    let from = today - Days::days(RANGE_DAYS - 1);
    let http = reqwest::Client::new();
    // (a) The payment search.
    let ours_search = json!({
        "query": crate::payments::SEARCH,
        "variables": { "filter": { "from": from.to_string(), "to": today.to_string() } },
    });
    let peer_search = json!({
        "query": format!(
            "{{ allPayments(first: 50, orderBy: [PAYMENT_DATE_DESC, ID_DESC], \
               condition: {{ organisationId: \"{org}\" }}, \
               filter: {{ paymentDate: {{ greaterThanOrEqualTo: \"{from}\", lessThanOrEqualTo: \"{today}\" }} }}) {{ \
               totalCount pageInfo {{ hasNextPage endCursor }} \
               edges {{ node {{ id amountPence paymentDate periodStart periodEnd tenantName postcode claimReference arrangementReference }} }} }} }}"
        ),
    });
    let ours = graphql(&http, &api.endpoint, Some(payments_token), &ours_search).await?;
    let theirs = graphql(&http, &peer.endpoint, None, &peer_search).await?;
    let (our_count, our_page) = (
        ours["data"]["payments"]["totalCount"].as_i64(),
        ours["data"]["payments"]["edges"].as_array().map(Vec::len),
    );
    let (peer_count, peer_page) = (
        theirs["data"]["allPayments"]["totalCount"].as_i64(),
        theirs["data"]["allPayments"]["edges"]
            .as_array()
            .map(Vec::len),
    );
    eprintln!(
        "[check] payment search: portal totalCount {our_count:?}, page {our_page:?}; PostGraphile totalCount {peer_count:?}, page {peer_page:?}"
    );
    anyhow::ensure!(
        our_count.is_some() && our_count == peer_count && our_page == peer_page,
        "the two payment searches differ"
    );
    // (b) The case page.
    let ours_case =
        json!({ "query": crate::cases::CASE, "variables": { "id": case_id.to_string() } });
    let peer_case = json!({
        "query": format!(
            "{{ caseById(id: \"{case_id}\") {{ id reference caseType stage statusLabel category createdAt closedAt \
               userByOwnerUserId {{ id firstName lastName staffTeam staffRole }} \
               organisationByLandlordOrganisationId {{ name address }} \
               casePartiesByCaseId {{ nodes {{ partyKind userByUserId {{ firstName lastName address }} organisationByOrganisationId {{ name address }} }} }} \
               nextTasks: tasksByCaseId(first: 5, orderBy: DUE_DATE_ASC, condition: {{ status: \"PENDING\", assigneeKind: \"RESIDENT\" }}) {{ nodes {{ id title dueDate status }} }} \
               tasksByCaseId(orderBy: DUE_DATE_ASC, condition: {{ assigneeKind: \"RESIDENT\" }}) {{ nodes {{ id title dueDate status assigneeKind \
                 userByAssigneeUserId {{ firstName lastName }} organisationByAssigneeOrganisationId {{ name }} }} }} \
               messagesByCaseId(orderBy: CREATED_AT_ASC) {{ nodes {{ id subject body createdAt \
                 userBySenderUserId {{ firstName lastName staffTeam }} }} }} }} }}"
        ),
    });
    let ours = graphql(&http, &api.endpoint, Some(session), &ours_case).await?;
    let theirs = graphql(&http, &peer.endpoint, None, &peer_case).await?;
    let count = |v: &Value| v.as_array().map(Vec::len);
    let ours_rows = (
        count(&ours["data"]["case"]["tasks"]),
        count(&ours["data"]["case"]["messages"]),
    );
    let peer_rows = (
        count(&theirs["data"]["caseById"]["tasksByCaseId"]["nodes"]),
        count(&theirs["data"]["caseById"]["messagesByCaseId"]["nodes"]),
    );
    eprintln!(
        "[check] case page (tasks, messages): portal {ours_rows:?}; PostGraphile {peer_rows:?}"
    );
    anyhow::ensure!(
        ours_rows.0.is_some() && ours_rows == peer_rows,
        "the two case pages differ"
    );

    let mut rows = Vec::new();
    for (name, ours_body, token, peer_body) in [
        (
            format!(
                "(a) payment search, page 50, {RANGE_DAYS}-day range, totalCount ({} rows match)",
                our_count.unwrap_or(0)
            ),
            &ours_search,
            payments_token,
            &peer_search,
        ),
        (
            format!(
                "(b) case page: case, parties, {} tasks, {} messages",
                ours_rows.0.unwrap_or(0),
                ours_rows.1.unwrap_or(0)
            ),
            &ours_case,
            session,
            &peer_case,
        ),
    ] {
        eprintln!("[load] {name}: portal api");
        let ours = load(oha, args.concurrency, seconds, api, Some(token), ours_body).await?;
        eprintln!("[load] {name}: PostGraphile");
        let theirs = load(oha, args.concurrency, seconds, peer, None, peer_body).await?;
        // A 200 may still carry GraphQL errors, which oha cannot see: one
        // more checked request after each load.
        graphql(&http, &api.endpoint, Some(token), ours_body).await?;
        graphql(&http, &peer.endpoint, None, peer_body).await?;
        rows.push(Row {
            scenario: name,
            ours: format!("{} req/s ({})", rate(ours.rps), ours.success()),
            baseline: format!(
                "PostGraphile {PEER_VERSION}: {} req/s ({}), p50 {:.1} / p99 {:.1} ms, RSS {} MiB",
                rate(theirs.rps),
                theirs.success(),
                theirs.p50_ms,
                theirs.p99_ms,
                mib(theirs.peak_rss_kib)
            ),
            ratio: ratio(ours.rps, theirs.rps),
            p50: format!("{:.1} ms", ours.p50_ms),
            p99: format!("{:.1} ms", ours.p99_ms),
            memory: format!("{} MiB", mib(ours.peak_rss_kib)),
        });
    }
    Ok(rows)
}

/// One oha run.
pub struct Oha {
    pub rps: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub success_rate: f64,
    pub requests: u64,
    pub peak_rss_kib: u64,
}

impl Oha {
    fn success(&self) -> String {
        format!("{:.2}% ok", self.success_rate * 100.0)
    }
}

/// `body` POSTed to `server` by oha at `concurrency` for `seconds`, the
/// server's RSS sampled every 100 ms.
pub async fn load(
    oha: &Path,
    concurrency: u64,
    seconds: u64,
    server: &Server,
    token: Option<&str>,
    body: &Value,
) -> anyhow::Result<Oha> {
    let mut cmd = tokio::process::Command::new(oha);
    cmd.args(["--no-tui", "--output-format", "json", "-m", "POST"])
        .args(["-c", &concurrency.to_string(), "-z", &format!("{seconds}s")])
        .args(["-H", "content-type: application/json"])
        .args(["-d", &body.to_string()]);
    if let Some(token) = token {
        cmd.args(["-H", &format!("authorization: Bearer {token}")]);
    }
    cmd.arg(&server.endpoint)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .kill_on_drop(true);
    let sampler = server.sample_rss();
    let output = cmd.output().await.context("cannot run oha")?;
    let peak_rss_kib = sampler.stop().await;
    anyhow::ensure!(output.status.success(), "oha failed: {}", output.status);
    let report: Value =
        serde_json::from_slice(&output.stdout).context("oha's output is not JSON")?;
    let summary = &report["summary"];
    let percentile =
        |p: &str| report["latencyPercentiles"][p].as_f64().unwrap_or(f64::NAN) * 1000.0;
    let requests = report["statusCodeDistribution"]
        .as_object()
        .map_or(0, |codes| codes.values().filter_map(Value::as_u64).sum());
    let ok = report["statusCodeDistribution"]["200"]
        .as_u64()
        .unwrap_or(0);
    let result = Oha {
        rps: summary["requestsPerSec"].as_f64().unwrap_or(0.0),
        p50_ms: percentile("p50"),
        p99_ms: percentile("p99"),
        success_rate: summary["successRate"].as_f64().unwrap_or(0.0)
            * (ok as f64 / requests.max(1) as f64),
        requests,
        peak_rss_kib,
    };
    eprintln!(
        "[load]   {} requests, {} req/s, p50 {:.1} ms, p99 {:.1} ms, {}, peak RSS {} MiB",
        result.requests,
        rate(result.rps),
        result.p50_ms,
        result.p99_ms,
        result.success(),
        mib(peak_rss_kib)
    );
    Ok(result)
}

/// A server child process (the portal, a worker, PostGraphile).
pub struct Server {
    pub child: tokio::process::Child,
    pub pid: u32,
    pub endpoint: String,
}

/// A running RSS sampler.
pub struct Sampler {
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<u64>,
}

impl Sampler {
    /// Stops sampling; the peak `VmRSS` seen, in KiB.
    pub async fn stop(self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        self.task.await.unwrap_or(0)
    }
}

impl Server {
    /// `portal <command>` with `vars` (and nothing else of the caller's
    /// `PORTAL_*`), waiting for `/healthz` when it serves HTTP.
    pub async fn start_portal(
        portal: &Path,
        command: &str,
        vars: &[(&'static str, String)],
    ) -> anyhow::Result<Self> {
        let mut cmd = tokio::process::Command::new(portal);
        // Its logs (stdout) go to our stderr, with the progress: stdout is the table's.
        let logs = std::os::fd::AsFd::as_fd(&std::io::stderr()).try_clone_to_owned()?;
        cmd.arg(command)
            .kill_on_drop(true)
            .stdin(Stdio::null())
            .stdout(Stdio::from(logs));
        for (name, _) in std::env::vars() {
            if name.starts_with("PORTAL_") || name == "DATABASE_URL" || name == "REDIS_URL" {
                cmd.env_remove(name);
            }
        }
        cmd.envs(vars.iter().map(|(k, v)| (*k, v.as_str())));
        cmd.env(
            "RUST_LOG",
            std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()),
        );
        let child = cmd
            .spawn()
            .with_context(|| format!("cannot start {}", portal.display()))?;
        let pid = child.id().context("the child exited at once")?;
        let addr = vars
            .iter()
            .find(|(k, _)| *k == "PORTAL_BIND_ADDR")
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        let mut server = Self {
            child,
            pid,
            endpoint: format!("http://{addr}/graphql"),
        };
        eprintln!("[server] portal {command} (pid {pid})");
        if command == "api" {
            server
                .wait_until_up(&format!("http://{addr}/healthz"), false)
                .await?;
        }
        Ok(server)
    }

    /// PostGraphile on `database_url`, on a free port.
    pub async fn start_postgraphile(bin: &Path, database_url: &str) -> anyhow::Result<Self> {
        let port = free_port()?.port();
        let mut cmd = tokio::process::Command::new(bin);
        cmd.args(["-c", database_url, "--schema", "public"])
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--disable-default-mutations", "--disable-query-log"])
            .args(["--append-plugins", "postgraphile-plugin-connection-filter"])
            .env("NODE_ENV", "production")
            .kill_on_drop(true)
            .stdin(Stdio::null())
            .stdout(Stdio::null());
        let child = cmd
            .spawn()
            .with_context(|| format!("cannot start {}", bin.display()))?;
        let pid = child.id().context("PostGraphile exited at once")?;
        let endpoint = format!("http://127.0.0.1:{port}/graphql");
        let mut server = Self {
            child,
            pid,
            endpoint: endpoint.clone(),
        };
        eprintln!("[server] PostGraphile {PEER_VERSION} (pid {pid}) on 127.0.0.1:{port}");
        server.wait_until_up(&endpoint, true).await?;
        Ok(server)
    }

    async fn wait_until_up(&mut self, url: &str, graphql: bool) -> anyhow::Result<()> {
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let sent = if graphql {
                http.post(url)
                    .json(&json!({ "query": "{ __typename }" }))
                    .send()
                    .await
            } else {
                http.get(url).send().await
            };
            if sent.is_ok_and(|r| r.status().is_success()) {
                return Ok(());
            }
            if let Some(status) = self.child.try_wait()? {
                anyhow::bail!("the server (pid {}) exited: {status}", self.pid);
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "{url} did not answer within 60 s"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// A field of `/proc/<pid>/status`, in KiB (0 when gone).
    pub fn status_kib(&self, field: &str) -> u64 {
        proc_status_kib(self.pid, field).unwrap_or(0)
    }

    /// Samples `VmRSS` every 100 ms until stopped.
    pub fn sample_rss(&self) -> Sampler {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let pid = self.pid;
        let task = tokio::spawn(async move {
            let peak = AtomicU64::new(0);
            while !flag.load(Ordering::Relaxed) {
                if let Some(rss) = proc_status_kib(pid, "VmRSS:") {
                    peak.fetch_max(rss, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            peak.load(Ordering::Relaxed)
        });
        Sampler { stop, task }
    }

    /// SIGTERM (the portal drains and exits), SIGKILL after 10 s.
    pub async fn stop(mut self) {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status();
        if tokio::time::timeout(Duration::from_secs(10), self.child.wait())
            .await
            .is_err()
        {
            let _ = self.child.kill().await;
        }
    }
}

/// A field (`VmRSS:`, `VmHWM:`) of `/proc/<pid>/status`, in KiB.
pub fn proc_status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// One GraphQL request; fails on a non-200 or `errors`.
pub async fn graphql(
    http: &reqwest::Client,
    endpoint: &str,
    token: Option<&str>,
    body: &Value,
) -> anyhow::Result<Value> {
    let mut request = http.post(endpoint).json(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await?;
    let status = response.status();
    let body: Value = response.json().await?;
    if !status.is_success() || body.get("errors").is_some() {
        anyhow::bail!("{endpoint}: HTTP {status}: {body}");
    }
    Ok(body)
}

/// `oha` on PATH or in `~/.cargo/bin`, installed with `cargo install oha
/// --locked` when missing.
pub fn ensure_oha() -> anyhow::Result<PathBuf> {
    ensure_cargo_tool("oha", &["install", "oha", "--locked"])
}

/// The program `name` in `~/.cargo/bin` or on PATH, installed with `cargo
/// <install>` (a few minutes) when missing.
pub fn ensure_cargo_tool(name: &str, install: &[&str]) -> anyhow::Result<PathBuf> {
    let cargo_bin = expand_home(&format!("~/.cargo/bin/{name}"));
    let found = |p: &Path| {
        std::process::Command::new(p)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if found(&cargo_bin) {
        return Ok(cargo_bin);
    }
    if found(Path::new(name)) {
        return Ok(name.into());
    }
    eprintln!(
        "[tools] {name} missing: cargo {} (a few minutes)",
        install.join(" ")
    );
    let status = std::process::Command::new(cargo())
        .args(install)
        // Its own target directory: not the workspace's.
        .env_remove("CARGO_TARGET_DIR")
        .status()?;
    anyhow::ensure!(
        status.success() && found(&cargo_bin),
        "cargo {} failed; install {name} by hand",
        install.join(" ")
    );
    Ok(cargo_bin)
}

/// PostGraphile under `dir`, installed with npm when missing.
pub fn ensure_postgraphile(dir: &Path) -> anyhow::Result<PathBuf> {
    let bin = dir.join("node_modules/.bin/postgraphile");
    let plugin = dir.join("node_modules/postgraphile-plugin-connection-filter");
    if bin.is_file() && plugin.is_dir() {
        return Ok(bin);
    }
    eprintln!(
        "[tools] npm install postgraphile@{PEER_VERSION} postgraphile-plugin-connection-filter@2 into {}",
        dir.display()
    );
    std::fs::create_dir_all(dir)?;
    let status = std::process::Command::new("npm")
        .args(["install", "--no-audit", "--no-fund", "--prefix"])
        .arg(dir)
        .args([
            &format!("postgraphile@{PEER_VERSION}"),
            "postgraphile-plugin-connection-filter@2",
        ])
        .status()
        .context("cannot run npm (node and npm are needed for the PostGraphile peer)")?;
    anyhow::ensure!(status.success() && bin.is_file(), "npm install failed");
    Ok(bin)
}

/// Builds the release `portal` binary into this binary's target directory.
pub fn build_portal() -> anyhow::Result<PathBuf> {
    eprintln!("[tools] cargo build --release -p api (the portal binary)");
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .context("no workspace")?;
    let status = std::process::Command::new(cargo())
        // With portal-bench: the same feature set as `cargo run -p portal-bench`,
        // so nothing is rebuilt twice.
        .args(["build", "--release", "-p", "api", "-p", "portal-bench"])
        .current_dir(workspace)
        .status()?;
    anyhow::ensure!(status.success(), "cargo build --release -p api failed");
    let portal = std::env::current_exe()?.with_file_name("portal");
    anyhow::ensure!(portal.is_file(), "no {}", portal.display());
    Ok(portal)
}

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

fn expand_home(path: &str) -> PathBuf {
    match (path.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => PathBuf::from(path),
    }
}

pub fn mib(kib: u64) -> u64 {
    kib / 1024
}

fn ratio(ours: f64, theirs: f64) -> String {
    if theirs > 0.0 && ours.is_finite() {
        format!("{:.2}", ours / theirs)
    } else {
        "—".into()
    }
}

fn render(rows: &[Row]) -> String {
    let mut out = String::from(
        "| scenario | this project | baseline | ratio (ours / baseline) | p50 | p99 | peak memory (API RSS) |\n\
         |---|---|---|---|---|---|---|\n",
    );
    for r in rows {
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} |\n",
            r.scenario, r.ours, r.baseline, r.ratio, r.p50, r.p99, r.memory
        ));
    }
    out
}

/// A scenario of `bench/` run as a child of the suite.
struct Child {
    /// Its subcommand and arguments.
    argv: Vec<String>,
    /// What its rows are about, for the failure row.
    what: &'static str,
}

/// Every other scenario of `bench/` (the limits: queue, export, upload; and
/// login, sweep, cases, payments), each as a child process on its own scratch
/// database, its headline rows read back (see [`crate::headline`]) and its
/// own table kept verbatim for the report.
async fn scenarios(args: &Args, s3: Option<&S3Server>) -> (Vec<Row>, String) {
    let full = args.size == Size::Full;
    let pick = |full_value: &str, quick_value: &str| {
        if full { full_value } else { quick_value }.to_owned()
    };
    let seconds = pick("10", "3");
    let db = ["--database-url".to_owned(), args.database_url.clone()];
    let redis = ["--redis-url".to_owned(), args.redis_url.clone()];
    let with = |name: &str, rest: Vec<String>, redis_too: bool| {
        let mut argv = vec![name.to_owned()];
        argv.extend(rest);
        argv.extend(db.clone());
        if redis_too {
            argv.extend(redis.clone());
        }
        argv
    };
    let mut upload = vec!["--size-mb".to_owned(), pick("250", "50")];
    if let Some(s3) = s3 {
        upload.extend(s3.flags());
    }
    let children = [
        Child {
            argv: with("queue", vec!["--jobs".into(), pick("10000", "2000")], true),
            what: "limit: queue against redis-benchmark",
        },
        Child {
            argv: with(
                "export",
                vec![
                    "--payments".into(),
                    pick("2000000", "200000"),
                    "--small".into(),
                    pick("200000", "20000"),
                ],
                false,
            ),
            what: "limit: export against psql \\copy",
        },
        Child {
            argv: with("upload", upload, true),
            what: "limit: upload against a direct S3 PUT",
        },
        Child {
            argv: with("login", vec!["--seconds".into(), seconds.clone()], true),
            what: "login storm",
        },
        Child {
            argv: with(
                "sweep",
                vec!["--users".into(), pick("1000000", "100000")],
                false,
            ),
            what: "90-day sweep",
        },
        Child {
            argv: with(
                "cases",
                vec![
                    "--cases".into(),
                    pick("100000", "5000"),
                    "--seconds".into(),
                    seconds.clone(),
                    "--concurrency".into(),
                    args.concurrency.to_string(),
                ],
                true,
            ),
            what: "cases (home, case page)",
        },
        Child {
            argv: with(
                "payments",
                vec![
                    "--payments".into(),
                    pick("2000000", "100000"),
                    "--seconds".into(),
                    seconds.clone(),
                    "--concurrency".into(),
                    args.concurrency.to_string(),
                ],
                true,
            ),
            what: "payments (in-process)",
        },
    ];
    let mut rows = Vec::new();
    let mut text = String::new();
    let dir = tempfile::tempdir().ok();
    for (i, child) in children.into_iter().enumerate() {
        let shown = shown_argv(&child.argv);
        eprintln!("[scenario] bench {shown}");
        let rows_file = dir
            .as_ref()
            .map(|d| d.path().join(format!("{i}.json")))
            .unwrap_or_default();
        let output = match std::env::current_exe() {
            Ok(exe) => {
                tokio::process::Command::new(exe)
                    .args(&child.argv)
                    .env(crate::headline::ENV, &rows_file)
                    .stderr(Stdio::inherit())
                    .kill_on_drop(true)
                    .output()
                    .await
            }
            Err(e) => Err(e),
        };
        let failure = match output {
            Ok(out) if out.status.success() => {
                let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
                text.push_str(&format!("\n## bench {shown}\n\n```text\n{stdout}```\n"));
                eprint!("{stdout}");
                match crate::headline::read(&rows_file) {
                    Ok(read) if !read.is_empty() => {
                        rows.extend(read.into_iter().map(Row::from));
                        None
                    }
                    Ok(_) => Some("reported no figures".to_owned()),
                    Err(e) => Some(format!("its figures are unreadable: {e:#}")),
                }
            }
            Ok(out) => Some(format!("failed ({}); see the log above", out.status)),
            Err(e) => Some(format!("did not run: {e}")),
        };
        if let Some(failure) = failure {
            rows.push(Row {
                scenario: format!("{} (`bench {shown}`)", child.what),
                ours: failure,
                baseline: "—".into(),
                ratio: "—".into(),
                p50: "—".into(),
                p99: "—".into(),
                memory: "—".into(),
            });
        }
    }
    (rows, text)
}

/// The arguments as shown: the database and Redis URLs left out.
fn shown_argv(argv: &[String]) -> String {
    let mut shown = Vec::new();
    let mut skip = false;
    for a in argv {
        if skip {
            skip = false;
            continue;
        }
        if a.starts_with("--database-url") || a.starts_with("--redis-url") || a.starts_with("--s3-")
        {
            skip = true;
            continue;
        }
        shown.push(a.as_str());
    }
    shown.join(" ")
}

impl From<crate::headline::Headline> for Row {
    fn from(h: crate::headline::Headline) -> Self {
        let ms = |v: Option<f64>| v.map_or("—".into(), |v| format!("{} ms", crate::table::ms(v)));
        Row {
            scenario: h.scenario,
            ours: h.ours,
            baseline: h.baseline,
            ratio: h.ratio.map_or("—".into(), |r| {
                if r < 0.01 {
                    format!("{r:.4}")
                } else {
                    format!("{r:.2}")
                }
            }),
            p50: ms(h.p50_ms),
            p99: ms(h.p99_ms),
            memory: h.memory_mib.map_or("—".into(), |m| format!("{m} MiB")),
        }
    }
}

/// An S3-compatible server for `bench upload`: the one the tests use when it
/// answers, else `s3s-fs` started here (installed with `cargo install` when
/// missing) on a temporary folder.
pub struct S3Server {
    endpoint: String,
    child: Option<tokio::process::Child>,
    _root: Option<tempfile::TempDir>,
}

/// The credentials of the s3s-fs the suite starts.
const S3_KEY: (&str, &str) = ("portal-bench", "portal-bench-secret-key");
/// The bucket of the s3s-fs the suite starts.
const S3_BUCKET: &str = "portal-bench";
/// The s3s-fs version installed.
const S3S_FS_VERSION: &str = "0.14.1";

impl S3Server {
    /// The server configured for the tests (`TEST_S3_ENDPOINT`, default
    /// `http://127.0.0.1:9000`) when something listens there; else a new
    /// s3s-fs.
    pub async fn ensure() -> anyhow::Result<Self> {
        let configured =
            std::env::var("TEST_S3_ENDPOINT").unwrap_or_else(|_| "http://127.0.0.1:9000".into());
        if reqwest::Client::new()
            .get(&configured)
            .timeout(Duration::from_secs(2))
            .send()
            .await
            .is_ok()
        {
            eprintln!("[s3] using the server at {configured}");
            return Ok(Self {
                endpoint: configured,
                child: None,
                _root: None,
            });
        }
        let bin = ensure_cargo_tool(
            "s3s-fs",
            &[
                "install",
                &format!("s3s-fs@{S3S_FS_VERSION}"),
                "--features",
                "binary",
                "--locked",
            ],
        )?;
        let root = tempfile::Builder::new()
            .prefix("portal-bench-s3-")
            .tempdir()?;
        std::fs::create_dir_all(root.path().join(S3_BUCKET))?;
        let port = free_port()?.port();
        let child = tokio::process::Command::new(&bin)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--access-key", S3_KEY.0, "--secret-key", S3_KEY.1])
            .arg(root.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("cannot start {}", bin.display()))?;
        let endpoint = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        while reqwest::Client::new().get(&endpoint).send().await.is_err() {
            anyhow::ensure!(
                Instant::now() < deadline,
                "s3s-fs did not answer within 30 s"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        eprintln!("[s3] started s3s-fs {S3S_FS_VERSION} on {endpoint}");
        Ok(Self {
            endpoint,
            child: Some(child),
            _root: Some(root),
        })
    }

    /// The flags of `bench upload` for this server (none for the configured
    /// one: `bench upload` reads the same variables).
    fn flags(&self) -> Vec<String> {
        if self.child.is_none() {
            return Vec::new();
        }
        [
            ("--s3-endpoint", self.endpoint.as_str()),
            ("--s3-bucket", S3_BUCKET),
            ("--s3-access-key-id", S3_KEY.0),
            ("--s3-secret-access-key", S3_KEY.1),
            ("--s3-region", "us-east-1"),
        ]
        .iter()
        .flat_map(|(k, v)| [(*k).to_owned(), (*v).to_owned()])
        .collect()
    }
}
