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
//!
//! Where things are: this file has the options, the run and the dataset;
//! [`tools`] installs or builds what the run needs, [`server`] starts and
//! watches the servers, [`load`] drives `oha`, [`peer`] holds the two
//! scenarios against PostGraphile, [`children`] the other scenarios run as
//! child processes, [`s3`] the S3 server for `bench upload`, and [`report`]
//! the table.

mod children;
mod load;
mod peer;
mod report;
mod s3;
mod server;
mod tools;

use std::{path::Path, time::Instant};

use anyhow::Context as _;
use chrono::Utc;

pub use server::{Server, graphql, mib};
pub use tools::Portal;

use self::{
    children::scenarios,
    peer::{Peer, measure},
    report::{Row, ratio, render},
    s3::S3Server,
    tools::{ensure_oha, ensure_postgraphile4, ensure_postgraphile5, expand_home},
};
use crate::{
    dataset,
    scratch::{ScratchDatabase, free_port, run_then_clean_up},
    table::rate,
};

/// The PostGraphile versions installed and measured: 5.x is the ratio's
/// baseline, 4.x is beside it.
pub const PEER5_VERSION: &str = "5.1.5";
pub const PEER4_VERSION: &str = "4.14.1";
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

/// Runs the suite and prints the table.
pub async fn run(args: Args) -> anyhow::Result<()> {
    let seconds = args.seconds.unwrap_or(match args.size {
        Size::Full => 15,
        Size::Quick => 5,
    });
    let oha = ensure_oha()?;
    let peer_dir = expand_home(&args.peer_dir);
    let peer5 = ensure_postgraphile5(&peer_dir.join(format!("postgraphile-{PEER5_VERSION}")))?;
    let peer4 = ensure_postgraphile4(&peer_dir)?;
    let portal = Portal::embedded()?;
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
        let session = api::auth::session::create(&db, resident, &client_info, false).await?;
        let case_id = dataset::derived_id(&db, "case1").await?;
        db.close().await.ok();

        let vars = production_vars(&url, &args.redis_url, &prefix, data_dir.path())?;
        let api = Server::start_portal(&portal, "api", &vars).await?;
        let server5 = Server::start_postgraphile(&peer5, &url).await?;
        let server4 = Server::start_postgraphile(&peer4, &url).await?;
        let peers = [
            Peer {
                install: &peer5,
                server: &server5,
            },
            Peer {
                install: &peer4,
                server: &server4,
            },
        ];
        let measured = measure(
            &args,
            seconds,
            &oha,
            &api,
            &peers,
            &url,
            org,
            &payments_token,
            &session,
            case_id,
        )
        .await;
        let api_hwm = api.status_kib("VmHWM:");
        let hwm5 = server5.status_kib("VmHWM:");
        let hwm4 = server4.status_kib("VmHWM:");
        api.stop().await;
        server5.stop().await;
        server4.stop().await;
        let mut table = measured?;
        eprintln!(
            "[memory] VmHWM: portal api {} MiB, PostGraphile {PEER5_VERSION} {} MiB, {PEER4_VERSION} {} MiB",
            mib(api_hwm),
            mib(hwm5),
            mib(hwm4)
        );
        table.push(Row {
            scenario: format!("lifetime peak memory (VmHWM) (ratio to PostGraphile {PEER5_VERSION})"),
            ours: format!("portal api {} MiB", mib(api_hwm)),
            baseline: format!(
                "PostGraphile {PEER5_VERSION} (node) {} MiB; PostGraphile {PEER4_VERSION} (node) {} MiB",
                mib(hwm5),
                mib(hwm4)
            ),
            ratio: ratio(api_hwm as f64, hwm5 as f64),
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
         PostGraphile {PEER5_VERSION} (Amber + connection-filter presets, on Node 22) and {PEER4_VERSION} \
         (+ postgraphile-plugin-connection-filter) without (no JWT, no row-level security).",
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
        // The bench measures throughput from one session per client; the
        // per-principal cost budget would cap it.
        ("PORTAL_COST_PER_MINUTE", "1000000000000".into()),
    ])
}
