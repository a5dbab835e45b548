//! `bench payments`: the payment search a partner dashboard runs — a page of
//! 50 with the totals of the whole filter and a date range — through an
//! organisation API token with `VIEW_PAYMENTS`, on a PostgreSQL dataset of
//! (by default) 2,000,000 payments.
//!
//! 1. **Data**, set-based (`INSERT ... SELECT generate_series`, ids from
//!    `md5(<kind> || n)`): `--organisations` organisations (default 20), 500
//!    tenants each, and `--payments` payments spread evenly over the tenants
//!    and over the last two years (so an organisation has `payments /
//!    organisations` rows, 100,000 by default). Then `VACUUM ANALYZE` (the
//!    visibility map lets the totals be an index-only scan, as on a table
//!    that autovacuum keeps up with).
//! 2. **Baseline**: the same two statements the API sends for the search —
//!    the keyset page and the totals, built by `api::payments::search` — run
//!    directly on a connection pool by `--concurrency` callers: the database
//!    cost alone, without HTTP, authentication or GraphQL.
//! 3. **(a)** `payments(filter: {from, to}, first: 50) { totalCount
//!    totalAmount edges … }` over HTTP with the API token, the last 90 days
//!    (about an eighth of the organisation's payments).
//! 4. **(b)** the same with no filter: the totals over the whole
//!    organisation, the worst case of counting and summing.
//!
//! The query plan of the totals statement is printed on stderr. The API runs
//! in this process as deployed (`api::http::serve` on a real port, Redis for
//! the queue); the database and Redis keys are removed at the end, also when
//! the run fails.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::Context as _;
use chrono::{Duration as Days, NaiveDate, Utc};
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DatabaseConnection, DbBackend, QueryTrait, Set, Statement,
};
use serde_json::json;
use url::Url;
use uuid::Uuid;

use api::payments::search::{self, PaymentFilter, PaymentFilterInput};
use entities::{Permission, api_token, api_token_permission};
use platform::config::Config;
use worker::{queue::Queue, runner::Shutdown};

use crate::{
    dataset,
    scratch::{server, with_in_process_api},
    table::{Percentiles, Table, ms, rate},
};

/// The date range of load (a).
const RANGE_DAYS: i64 = 90;

pub(crate) const SEARCH: &str = "query Search($filter: PaymentFilter) { payments(filter: $filter, first: 50) { \
    totalCount totalAmount pageInfo { hasNextPage endCursor } \
    edges { node { id amount paymentDate periodStart periodEnd tenantName postcode claimReference arrangementReference } } } }";

/// Options of `bench payments`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Payments in the dataset.
    #[arg(long, default_value_t = 2_000_000, value_parser = clap::value_parser!(i64).range(1000..))]
    payments: i64,
    /// Organisations they are spread over.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(i64).range(1..=1000))]
    organisations: i64,
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
    /// Redis for the job queue; only keys under `portal-bench:<random>:` are
    /// written, and deleted at the end.
    #[arg(long, default_value = "redis://127.0.0.1:6379")]
    redis_url: String,
}

/// One load's results.
struct Load {
    name: &'static str,
    ok: u64,
    elapsed: Duration,
    latency: Percentiles,
}

/// Runs the scenario and prints the table.
pub async fn run(args: Args) -> anyhow::Result<()> {
    let crate::scratch::RunNames {
        id: run_id,
        database,
        prefix,
    } = crate::scratch::RunNames::new();
    eprintln!(
        "bench payments: {} payments over {} organisations, concurrency {}, {} s per load (run {run_id})",
        args.payments, args.organisations, args.concurrency, args.seconds
    );
    let result = with_in_process_api(
        &args.database_url,
        &args.redis_url,
        &database,
        &prefix,
        |_| {},
        |config, db, shutdown| measure(&args, config, db, shutdown),
    )
    .await;
    let (loads, per_org, range_rows) = result?;
    print(&args, &database, &loads, per_org, range_rows);
    headlines(&loads)?;
    Ok(())
}

/// Writes the dataset ([`dataset::organisations`], [`dataset::payments`]);
/// returns the bench organisation (the first).
async fn generate(args: &Args, db: &DatabaseConnection) -> anyhow::Result<Uuid> {
    dataset::organisations(db, args.organisations).await?;
    dataset::payments(db, args.organisations, args.payments).await?;
    dataset::vacuum_analyze(db).await?;
    dataset::derived_id(db, "org1").await
}

/// An API token of `org` with `VIEW_PAYMENTS`, written as `createApiToken`
/// would (by a landlord user of `org` who holds the permission: a token works
/// only while its creator does); returns the secret.
pub(crate) async fn token(db: &DatabaseConnection, org: Uuid) -> anyhow::Result<String> {
    let secret = api::auth::token::generate(api::auth::token::API_TOKEN_PREFIX);
    let id = Uuid::now_v7();
    let creator = Uuid::now_v7();
    let now = Utc::now();
    let email = format!("bench-token-{}@bench.example", creator.simple());
    entities::user::ActiveModel {
        id: Set(creator),
        kind: Set(entities::UserKind::Landlord),
        organisation_id: Set(Some(org)),
        first_name: Set("Bench".into()),
        last_name: Set("Dashboard".into()),
        email: Set(email.clone()),
        email_normalized: Set(email),
        password_hash: Set(None),
        status: Set(entities::UserStatus::Active),
        mobile_number: Set(None),
        mobile_reset_pending: Set(false),
        two_factor_method: Set(entities::TwoFactorMethod::None),
        totp_secret: Set(None),
        totp_last_step: Set(None),
        two_factor_declined_at: Set(None),
        address: Set(None),
        staff_team: Set(None),
        staff_role: Set(None),
        staff_role_label: Set(None),
        failed_login_attempts: Set(0),
        locked_until: Set(None),
        last_login_at: Set(Some(now)),
        invited_at: Set(None),
        password_changed_at: Set(None),
        inactivity_warned_at: Set(None),
        deactivated_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await?;
    entities::user_permission::ActiveModel {
        user_id: Set(creator),
        permission: Set(Permission::ViewPayments),
        created_at: Set(now),
    }
    .insert(db)
    .await?;
    api_token::ActiveModel {
        id: Set(id),
        organisation_id: Set(org),
        name: Set("Bench dashboard".into()),
        token_hash: Set(api::auth::token::hash(&secret)),
        token_prefix: Set(secret[..12].to_owned()),
        created_by_user_id: Set(Some(creator)),
        created_at: Set(now),
        last_used_at: Set(None),
        revoked_at: Set(None),
        expires_at: Set(Utc::now() + chrono::Duration::days(365)),
    }
    .insert(db)
    .await?;
    api_token_permission::ActiveModel {
        api_token_id: Set(id),
        permission: Set(Permission::ViewPayments),
    }
    .insert(db)
    .await?;
    Ok(secret)
}

type Measured = (Vec<Load>, i64, i64);

async fn measure(
    args: &Args,
    config: Arc<Config>,
    db: DatabaseConnection,
    shutdown: Shutdown,
) -> anyhow::Result<Measured> {
    let org = generate(args, &db).await?;
    let secret = token(&db, org).await?;
    let today = Utc::now().date_naive();
    let from: NaiveDate = today - Days::days(RANGE_DAYS - 1);
    let ranged = PaymentFilter::parse(
        &PaymentFilterInput {
            from: Some(from),
            to: Some(today),
            ..Default::default()
        },
        "filter",
    )?;
    let everything = PaymentFilter::default();
    let per_org = search::totals(&db, org, &everything).await?.count;
    let range_rows = search::totals(&db, org, &ranged).await?.count;
    eprintln!(
        "[check] the bench organisation has {per_org} payments, {range_rows} in the last {RANGE_DAYS} days"
    );
    let totals_sql = totals_sql(org, &ranged);
    for row in db
        .query_all_raw(Statement::from_string(
            DbBackend::Postgres,
            format!("EXPLAIN (ANALYZE, BUFFERS) {totals_sql}"),
        ))
        .await?
    {
        let line: String = row.try_get("", "QUERY PLAN")?;
        eprintln!("[plan] {line}");
    }

    let queue = Queue::connect(&config, &db).await?;
    let app = api::run::build_app(config.clone(), db.clone(), queue)
        .await
        .expect("build app");
    let server = tokio::spawn(api::http::serve(app, shutdown.clone()));
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()?;
    let endpoint = format!("http://{}/graphql", config.bind_addr);
    wait_until_up(&http, &endpoint, Duration::from_secs(30)).await?;
    let ranged_vars = json!({ "filter": { "from": from.to_string(), "to": today.to_string() } });
    let body = request(&http, &endpoint, &secret, ranged_vars.clone()).await?;
    let count = body["data"]["payments"]["totalCount"]
        .as_i64()
        .unwrap_or(-1);
    anyhow::ensure!(
        count == range_rows,
        "the API's totalCount {count} is not the direct count {range_rows}"
    );
    eprintln!("[check] the API's totals equal the direct statement's");

    let seconds = Duration::from_secs(args.seconds);
    let mut loads = Vec::new();
    eprintln!("[load] baseline: the page and totals statements directly");
    let (ok, elapsed, latency) = drive(args.concurrency, seconds, {
        let db = db.clone();
        let ranged = ranged.clone();
        move || {
            let (db, ranged) = (db.clone(), ranged.clone());
            async move {
                search::page(&db, org, &ranged, None, 50).await?;
                search::totals(&db, org, &ranged).await?;
                anyhow::Ok(())
            }
        }
    })
    .await?;
    loads.push(Load {
        name: "baseline: the same 2 SQL statements, direct",
        ok,
        elapsed,
        latency,
    });
    for (name, vars) in [
        ("(a) payments, last 90 days, page 50 + totals", ranged_vars),
        ("(b) payments, no filter (whole organisation)", json!({})),
    ] {
        eprintln!("[load] {name}");
        let (ok, elapsed, latency) = drive(args.concurrency, seconds, {
            let (http, endpoint, secret) = (http.clone(), endpoint.clone(), secret.clone());
            move || {
                let (http, endpoint, secret, vars) =
                    (http.clone(), endpoint.clone(), secret.clone(), vars.clone());
                async move {
                    request(&http, &endpoint, &secret, vars).await?;
                    anyhow::Ok(())
                }
            }
        })
        .await?;
        loads.push(Load {
            name,
            ok,
            elapsed,
            latency,
        });
    }
    shutdown.cancel();
    server.await.context("API task panicked")??;
    Ok((loads, per_org, range_rows))
}

/// The totals statement as SQL text, for `EXPLAIN`: the same condition the
/// API's totals use.
fn totals_sql(org: Uuid, filter: &PaymentFilter) -> String {
    use sea_orm::{EntityTrait, QueryFilter, QuerySelect, sea_query::Expr};
    entities::payment::Entity::find()
        .select_only()
        .expr(Expr::cust("COUNT(*)"))
        .expr(Expr::cust("CAST(COALESCE(SUM(amount_pence), 0) AS BIGINT)"))
        .filter(search::condition(org, filter))
        .build(DbBackend::Postgres)
        .to_string()
}

async fn wait_until_up(
    http: &reqwest::Client,
    endpoint: &str,
    within: Duration,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + within;
    let health = endpoint.replace("/graphql", "/healthz");
    loop {
        if http.get(&health).send().await.is_ok() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            anyhow::bail!("the API did not start listening within {within:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn request(
    http: &reqwest::Client,
    endpoint: &str,
    token: &str,
    variables: serde_json::Value,
) -> anyhow::Result<serde_json::Value> {
    let response = http
        .post(endpoint)
        .bearer_auth(token)
        .json(&json!({ "query": SEARCH, "variables": variables }))
        .send()
        .await?;
    let status = response.status();
    let body: serde_json::Value = response.json().await?;
    if !status.is_success() || body.get("errors").is_some() {
        anyhow::bail!("HTTP {status}: {body}");
    }
    Ok(body)
}

/// Runs `call` from `concurrency` callers until `length` has passed, timing
/// each; the first failure fails the load.
async fn drive<F, Fut>(
    concurrency: u64,
    length: Duration,
    call: F,
) -> anyhow::Result<(u64, Duration, Percentiles)>
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: Future<Output = anyhow::Result<()>> + Send,
{
    let started = Instant::now();
    let deadline = started + length;
    let mut callers = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let call = call.clone();
        callers.spawn(async move {
            let mut latencies = Vec::new();
            while Instant::now() < deadline {
                let sent = Instant::now();
                call().await?;
                latencies.push(sent.elapsed().as_secs_f64() * 1000.0);
            }
            anyhow::Ok(latencies)
        });
    }
    let mut latencies = Vec::new();
    while let Some(joined) = callers.join_next().await {
        latencies.extend(joined.context("a load task panicked")??);
    }
    Ok((
        latencies.len() as u64,
        started.elapsed(),
        Percentiles::of(&mut latencies).context("no request finished")?,
    ))
}

/// The suite's rows: each search through the API beside the same SQL run
/// directly.
fn headlines(loads: &[Load]) -> anyhow::Result<()> {
    let per_second = |l: &Load| l.ok as f64 / l.elapsed.as_secs_f64();
    let Some((baseline, measured)) = loads.split_first() else {
        return Ok(());
    };
    // Only (a): the direct statements are those of the 90-day search, not
    // the unfiltered one.
    crate::headline::emit_beside(
        measured.iter().take(1).map(|l| crate::headline::Measured {
            scenario: format!("{}, in-process API (`bench payments`)", l.name),
            per_second: per_second(l),
            p50_ms: l.latency.p50,
            p99_ms: l.latency.p99,
        }),
        "its 2 SQL statements run directly",
        per_second(baseline),
    )
}

fn print(args: &Args, database: &str, loads: &[Load], per_org: i64, range_rows: i64) {
    let mut table = Table::new(&[
        "scenario", "requests", "req/s", "p50 ms", "p99 ms", "max ms",
    ]);
    for load in loads {
        table.row(vec![
            load.name.to_owned(),
            rate(load.ok as f64),
            rate(load.ok as f64 / load.elapsed.as_secs_f64()),
            ms(load.latency.p50),
            ms(load.latency.p99),
            ms(load.latency.max),
        ]);
    }
    println!();
    print!("{}", table.render());
    println!();
    let db_server = Url::parse(&args.database_url)
        .map(|u| server(&u))
        .unwrap_or_default();
    println!(
        "run: {} payments over {} organisations; the bench organisation has {} ({} in the last {RANGE_DAYS} days); \
         API token with VIEW_PAYMENTS, concurrency {}, {} s per load, API in-process over HTTP on loopback; \
         {} CPU(s); PostgreSQL {db_server} database {database}",
        rate(args.payments as f64),
        args.organisations,
        rate(per_org as f64),
        rate(range_rows as f64),
        args.concurrency,
        args.seconds,
        std::thread::available_parallelism().map_or(0, |n| n.get()),
    );
}
