//! `bench login`: how many sign-ins per second the API sustains at the
//! configured argon2 cost, and whether a login storm slows everyone else down.
//!
//! The API runs in this process exactly as deployed ([`api::http::serve`] on a
//! real TCP port, against PostgreSQL and Redis in a scratch database and key
//! prefix), and is driven over HTTP with `reqwest`:
//!
//! 1. **Data**: `--users` residents (no second factor, so a right password
//!    signs straight in) written by one `INSERT ... SELECT generate_series`,
//!    all with the hash of one password: hashing once and reusing it costs
//!    nothing at verification time, which is what is measured.
//! 2. **(a) Logins**: `login(input:)` with the right password, `--concurrency`
//!    at once, for `--seconds`. Each sign-in is a full argon2id verification
//!    (hashed off the runtime, bounded by the API's hashing semaphore) plus the
//!    sign-in transaction (lock-out bookkeeping, session, audit entry).
//! 3. **(b) Baseline**: `{ viewer { id } }` with session tokens, `--concurrency`
//!    at once, for `--seconds`, alone: a cheap authenticated request (session
//!    lookup, permissions, one resolver).
//! 4. **(c) Under a storm**: the same viewer load while (a) runs again beside
//!    it. The question is the p99 of (c) over the p99 of (b): password hashing
//!    is deliberately expensive, and must not starve other requests (goal:
//!    within 2×).
//!
//! The API's sign-in rate limits (per account and per client address) are
//! real and on. A storm in production comes from many people on many
//! addresses, so the bench rotates its login traffic over many loopback source
//! addresses (127.1.x.y, all local on Linux) and many accounts, staying under
//! both limits; a `RATE_LIMITED` answer is an error of the run.
//!
//! Progress goes to stderr; the database and the Redis keys are removed at the
//! end, also when the run fails.

use std::{
    net::{IpAddr, Ipv4Addr},
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::Context as _;
use chrono::Utc;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement, Value};
use serde_json::json;
use url::Url;

use platform::config::Config;
use worker::{queue::Queue, runner::Shutdown};

use crate::{
    scratch::{server, with_in_process_api},
    table::{Percentiles, Table, ms, rate},
};

/// The one password every bench user has.
const PASSWORD: &str = "Bench-Password-2026!";
/// Sign-ins per source address before moving to the next, under the API's
/// limit of 50 per address per 15 minutes.
const LOGINS_PER_ADDRESS: u64 = 45;
/// Sign-ins per account stay under the API's limit of 10 per 15 minutes as
/// long as the run signs in fewer than this many times per user.
const LOGINS_PER_ACCOUNT: u64 = 9;

/// Options of `bench login`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Users with the bench password (sign-ins rotate over them).
    #[arg(long, default_value_t = 2000, value_parser = clap::value_parser!(u64).range(100..))]
    users: u64,
    /// Requests in flight at once, in each load (logins; viewer queries).
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u64).range(1..=256))]
    concurrency: u64,
    /// Length of each of the three measurements.
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
    /// Requests that succeeded.
    ok: u64,
    /// Time the load ran.
    elapsed: Duration,
    /// Latency of the successful requests, in milliseconds.
    latency: Percentiles,
}

impl Load {
    fn per_second(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64()
    }
}

/// What the run measured.
struct Measured {
    /// The argon2 parameters of the users' hash, as the API hashes today
    /// (`m=…,t=…,p=…`).
    argon2: String,
    logins: Load,
    viewer_alone: Load,
    viewer_storm: Load,
    storm_logins: Load,
}

/// Runs the scenario and prints the table.
pub async fn run(args: Args) -> anyhow::Result<()> {
    let crate::scratch::RunNames {
        id: run_id,
        database,
        prefix,
    } = crate::scratch::RunNames::new();
    eprintln!(
        "bench login: {} users, concurrency {}, {} s per load (run {run_id})",
        args.users, args.concurrency, args.seconds
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
    let measured = result?;
    print(&args, &database, &prefix, &measured);
    crate::headline::emit(&[crate::headline::Headline {
        scenario: "login storm: `{ viewer { id } }` p99 during a storm of argon2id logins, \
                   slowdown (lower is better; goal ≤ 2) (`bench login`)"
            .into(),
        ours: format!(
            "p99 {} ms during the storm ({} logins/s alone)",
            ms(measured.viewer_storm.latency.p99),
            rate(measured.logins.per_second())
        ),
        baseline: format!(
            "the same query alone: p99 {} ms",
            ms(measured.viewer_alone.latency.p99)
        ),
        ratio: Some(measured.viewer_storm.latency.p99 / measured.viewer_alone.latency.p99),
        p50_ms: Some(measured.viewer_storm.latency.p50),
        p99_ms: Some(measured.viewer_storm.latency.p99),
        memory_mib: None,
    }])?;
    Ok(())
}

async fn measure(
    args: &Args,
    config: Arc<Config>,
    db: DatabaseConnection,
    shutdown: Shutdown,
) -> anyhow::Result<Measured> {
    let argon2 = generate(args, &db).await?;
    let queue = Queue::connect(&config, &db).await?;
    let app = api::run::build_app(config.clone(), db, queue)
        .await
        .expect("build app");
    let server = tokio::spawn(api::http::serve(app, shutdown.clone()));
    let endpoint = format!("http://{}/graphql", config.bind_addr);
    let client = Client::new(&endpoint, args.users)?;
    client.wait_until_up(Duration::from_secs(30)).await?;

    // Session tokens for the viewer load, one per concurrent caller.
    let mut tokens = Vec::new();
    for _ in 0..args.concurrency {
        tokens.push(client.login().await?.context("a viewer's sign-in failed")?);
    }
    // Warm-up: connection pools, prepared statements, the argon2 memory.
    for token in &tokens {
        client.viewer(token).await?;
    }
    let seconds = Duration::from_secs(args.seconds);

    eprintln!(
        "[a] logins, concurrency {}, {} s",
        args.concurrency, args.seconds
    );
    let logins = client.logins(args.concurrency, seconds).await?;
    eprintln!("[a] {} logins", logins.ok);
    eprintln!(
        "[b] viewer queries alone, concurrency {}, {} s",
        args.concurrency, args.seconds
    );
    let viewer_alone = client.viewers(&tokens, seconds).await?;
    eprintln!("[b] {} queries", viewer_alone.ok);
    eprintln!(
        "[c] viewer queries during a login storm, {} s",
        args.seconds
    );
    let (viewer_storm, storm_logins) = tokio::try_join!(
        client.viewers(&tokens, seconds),
        client.logins(args.concurrency, seconds)
    )?;
    eprintln!(
        "[c] {} queries beside {} logins",
        viewer_storm.ok, storm_logins.ok
    );
    shutdown.cancel();
    server.await.context("API task panicked")??;
    Ok(Measured {
        argon2,
        logins,
        viewer_alone,
        viewer_storm,
        storm_logins,
    })
}

/// Writes the users: one statement, one password hash shared by all. Returns
/// the hash's parameters.
async fn generate(args: &Args, db: &DatabaseConnection) -> anyhow::Result<String> {
    let started = Instant::now();
    let hash = api::auth::password::hash(PASSWORD.to_owned()).await?;
    // PHC string: $argon2id$v=19$m=19456,t=2,p=1$salt$hash
    let params = hash.split('$').nth(3).unwrap_or("?").to_owned();
    let now = Utc::now();
    db.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "INSERT INTO users (id, kind, first_name, last_name, email, email_normalized, password_hash, \
                            status, mobile_reset_pending, two_factor_method, failed_login_attempts, \
                            last_login_at, created_at, updated_at) \
         SELECT gen_random_uuid(), 'RESIDENT', 'Bench', 'Resident ' || g, \
                'resident' || g || '@bench.example', 'resident' || g || '@bench.example', $1, \
                'ACTIVE', false, 'NONE', 0, $2, $2, $2 \
         FROM generate_series(1, $3::bigint) g",
        [
            Value::from(hash),
            Value::from(now),
            Value::from(args.users as i64),
        ],
    ))
    .await
    .context("generating users")?;
    eprintln!(
        "[data] {} users in {:.1} s",
        args.users,
        started.elapsed().as_secs_f64()
    );
    Ok(params)
}

/// The HTTP side: one client for viewer queries, and one per source address
/// for sign-ins (see the module docs on rate limits).
struct Client {
    endpoint: String,
    users: u64,
    viewer: reqwest::Client,
    /// Sign-in clients, one per loopback source address, made as needed.
    login_clients: tokio::sync::Mutex<Vec<reqwest::Client>>,
    /// Sign-ins started so far: picks the account and the source address.
    logins: AtomicU64,
}

impl Client {
    fn new(endpoint: &str, users: u64) -> anyhow::Result<Arc<Self>> {
        Ok(Arc::new(Self {
            endpoint: endpoint.to_owned(),
            users,
            viewer: reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()?,
            login_clients: tokio::sync::Mutex::new(Vec::new()),
            logins: AtomicU64::new(0),
        }))
    }

    async fn wait_until_up(&self, within: Duration) -> anyhow::Result<()> {
        let deadline = Instant::now() + within;
        let health = self.endpoint.replace("/graphql", "/healthz");
        loop {
            if self.viewer.get(&health).send().await.is_ok() {
                return Ok(());
            }
            if Instant::now() >= deadline {
                anyhow::bail!("the API did not start listening within {within:?}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The client for sign-in number `n`: source address 127.1.x.y, a new one
    /// every [`LOGINS_PER_ADDRESS`] sign-ins.
    async fn login_client(&self, n: u64) -> anyhow::Result<reqwest::Client> {
        let index = (n / LOGINS_PER_ADDRESS) as usize;
        let mut clients = self.login_clients.lock().await;
        while clients.len() <= index {
            let i = clients.len();
            let address = Ipv4Addr::new(127, 1, (i / 250) as u8, (i % 250 + 1) as u8);
            clients.push(
                reqwest::Client::builder()
                    .local_address(IpAddr::V4(address))
                    .timeout(Duration::from_secs(60))
                    .build()?,
            );
        }
        Ok(clients[index].clone())
    }

    async fn graphql(
        &self,
        client: &reqwest::Client,
        token: Option<&str>,
        body: serde_json::Value,
    ) -> anyhow::Result<serde_json::Value> {
        let mut request = client.post(&self.endpoint).json(&body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await?;
        let status = response.status();
        let body: serde_json::Value = response.json().await?;
        if !status.is_success() || body.get("errors").is_some() {
            anyhow::bail!("HTTP {status}: {body}");
        }
        Ok(body)
    }

    /// Signs in as the next account; returns its session token.
    async fn login(&self) -> anyhow::Result<Option<String>> {
        let n = self.logins.fetch_add(1, Ordering::Relaxed);
        if n / self.users >= LOGINS_PER_ACCOUNT {
            anyhow::bail!(
                "more than {LOGINS_PER_ACCOUNT} sign-ins per account would hit the API's rate limit: \
                 raise --users"
            );
        }
        let client = self.login_client(n).await?;
        let body = self
            .graphql(
                &client,
                None,
                json!({
                    "query": "mutation($input: LoginInput!) { login(input: $input) { __typename ... on SignedIn { token } } }",
                    "variables": { "input": {
                        "email": format!("resident{}@bench.example", n % self.users + 1),
                        "password": PASSWORD,
                    } },
                }),
            )
            .await?;
        Ok(body["data"]["login"]["token"].as_str().map(str::to_owned))
    }

    async fn viewer(&self, token: &str) -> anyhow::Result<()> {
        self.graphql(
            &self.viewer,
            Some(token),
            json!({ "query": "{ viewer { id } }" }),
        )
        .await?;
        Ok(())
    }

    /// Sign-ins, `concurrency` at once, for `length`.
    async fn logins(self: &Arc<Self>, concurrency: u64, length: Duration) -> anyhow::Result<Load> {
        self.load(concurrency, length, |client, _| async move {
            client
                .login()
                .await?
                .map(|_| ())
                .context("the sign-in did not sign in")
        })
        .await
    }

    /// Viewer queries, one caller per token, for `length`.
    async fn viewers(
        self: &Arc<Self>,
        tokens: &[String],
        length: Duration,
    ) -> anyhow::Result<Load> {
        let tokens: Arc<Vec<String>> = Arc::new(tokens.to_vec());
        self.load(tokens.len() as u64, length, move |client, caller| {
            let tokens = tokens.clone();
            async move { client.viewer(&tokens[caller]).await }
        })
        .await
    }

    /// Runs `request` in `concurrency` loops until `length` has passed, timing
    /// each; the first failure fails the load.
    async fn load<F, Fut>(
        self: &Arc<Self>,
        concurrency: u64,
        length: Duration,
        request: F,
    ) -> anyhow::Result<Load>
    where
        F: Fn(Arc<Self>, usize) -> Fut + Clone + Send + 'static,
        Fut: Future<Output = anyhow::Result<()>> + Send,
    {
        let started = Instant::now();
        let deadline = started + length;
        let mut callers = tokio::task::JoinSet::new();
        for caller in 0..concurrency as usize {
            let client = self.clone();
            let request = request.clone();
            callers.spawn(async move {
                let mut latencies = Vec::new();
                while Instant::now() < deadline {
                    let sent = Instant::now();
                    request(client.clone(), caller).await?;
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
        Ok(Load {
            ok: latencies.len() as u64,
            elapsed,
            latency: Percentiles::of(&mut latencies).context("no request finished")?,
        })
    }
}

fn print(args: &Args, database: &str, prefix: &str, m: &Measured) {
    let mut table = Table::new(&[
        "scenario", "requests", "req/s", "p50 ms", "p99 ms", "max ms",
    ]);
    for (name, load) in [
        ("(a) login (argon2id), alone", &m.logins),
        ("(b) { viewer { id } }, alone", &m.viewer_alone),
        (
            "(c) { viewer { id } }, during a login storm",
            &m.viewer_storm,
        ),
        ("    the storm's logins", &m.storm_logins),
    ] {
        table.row(vec![
            name.to_owned(),
            rate(load.ok as f64),
            rate(load.per_second()),
            ms(load.latency.p50),
            ms(load.latency.p99),
            ms(load.latency.max),
        ]);
    }
    table.row(vec![
        "ratio p99 (c) / (b) (goal ≤ 2)".to_owned(),
        String::new(),
        String::new(),
        String::new(),
        format!(
            "{:.2}",
            m.viewer_storm.latency.p99 / m.viewer_alone.latency.p99
        ),
    ]);
    println!();
    print!("{}", table.render());
    println!();
    let db_server = Url::parse(&args.database_url)
        .map(|u| server(&u))
        .unwrap_or_default();
    let redis_server = Url::parse(&args.redis_url)
        .map(|u| server(&u))
        .unwrap_or_default();
    println!(
        "run: {} residents sharing one argon2id hash ({}), concurrency {} per load, \
         {} s per load, API in-process over HTTP on loopback; {} CPU(s); PostgreSQL {db_server} \
         database {database}; Redis {redis_server} prefix {prefix}",
        rate(args.users as f64),
        m.argon2,
        args.concurrency,
        args.seconds,
        std::thread::available_parallelism().map_or(0, |n| n.get()),
    );
}
