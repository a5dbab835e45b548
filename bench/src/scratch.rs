//! Throwaway resources for one benchmark run: a fresh PostgreSQL database and a
//! Redis key prefix, both removed at the end.
//!
//! A benchmark never runs against an existing database: leftover rows would
//! change the plans PostgreSQL picks and the work the relay does, and a
//! benchmark must not be able to damage data. Each run creates its own
//! `portal_bench_<random>` database and `portal-bench:<random>` Redis prefix,
//! and the caller drops both whether the scenario succeeded or not.

use anyhow::Context as _;
use sea_orm::{ConnectionTrait, Database};
use url::Url;

/// The server the benchmarks use unless told otherwise: the local one,
/// without TLS. On loopback TLS only costs CPU (sqlx's default `prefer` would
/// negotiate it when the server offers it, as Debian's does, while node-pg
/// and other peers do not), and it would be measured as the portal's cost.
pub const DEFAULT_DATABASE_URL: &str =
    "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable";

/// The names of one run: its id (in the progress lines), its scratch
/// database and its Redis key prefix.
pub struct RunNames {
    /// 12 random hex digits: unique enough for concurrent runs, short enough
    /// to read.
    pub id: String,
    /// `portal_bench_<id>`.
    pub database: String,
    /// `portal-bench:<id>`.
    pub prefix: String,
}

impl RunNames {
    /// Fresh names.
    pub fn new() -> Self {
        let id = uuid::Uuid::new_v4().simple().to_string()[..12].to_owned();
        Self {
            database: format!("portal_bench_{id}"),
            prefix: format!("portal-bench:{id}"),
            id,
        }
    }
}

/// A PostgreSQL database created for this run.
pub struct ScratchDatabase {
    /// URL of the server's maintenance database, used to create and drop.
    admin_url: String,
    /// Name of the created database.
    pub name: String,
    /// URL of the created database.
    pub url: String,
}

impl ScratchDatabase {
    /// Creates `name` on the server of `admin_url` (any database on that server
    /// the user may connect to, usually `postgres`).
    pub async fn create(admin_url: &str, name: &str) -> anyhow::Result<Self> {
        let mut url = Url::parse(admin_url).context("--database-url is not a URL")?;
        if !matches!(url.scheme(), "postgres" | "postgresql") {
            anyhow::bail!(
                "--database-url must be a postgres:// URL, got {}",
                url.scheme()
            );
        }
        let admin = Database::connect(admin_url)
            .await
            .with_context(|| format!("cannot connect to PostgreSQL at {}", server(&url)))?;
        // The name is ours (letters, digits, underscores), so it needs no quoting.
        admin
            .execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await
            .with_context(|| format!("cannot create database {name}"))?;
        admin.close().await.ok();
        url.set_path(&format!("/{name}"));
        Ok(Self {
            admin_url: admin_url.to_owned(),
            name: name.to_owned(),
            url: url.to_string(),
        })
    }

    /// Drops the database. `WITH (FORCE)` ends connections still open (a pool
    /// that was not closed because the scenario failed half-way).
    pub async fn drop_database(self) -> anyhow::Result<()> {
        let admin = Database::connect(&self.admin_url).await?;
        admin
            .execute_unprepared(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .await
            .with_context(|| format!("cannot drop database {}", self.name))?;
        admin.close().await.ok();
        Ok(())
    }
}

/// `host:port` of a URL, for messages (never the password).
pub fn server(url: &Url) -> String {
    format!(
        "{}:{}",
        url.host_str().unwrap_or("?"),
        url.port_or_known_default()
            .map_or_else(|| "?".to_owned(), |p| p.to_string())
    )
}

/// Deletes every Redis key under `prefix:` and apalis' entry for the queue in its
/// global queue list. Returns how many keys were deleted.
pub async fn clean_redis(redis_url: &str, prefix: &str) -> anyhow::Result<usize> {
    let client = redis::Client::open(redis_url)?;
    let mut conn = client.get_multiplexed_async_connection().await?;
    let mut keys = Vec::new();
    let mut cursor: u64 = 0;
    // SCAN, not KEYS: the Redis may be shared, and KEYS blocks it while it walks
    // the whole keyspace.
    loop {
        let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(format!("{prefix}:*"))
            .arg("COUNT")
            .arg(1000)
            .query_async(&mut conn)
            .await?;
        keys.extend(batch);
        if next == 0 {
            break;
        }
        cursor = next;
    }
    // SCAN may return a key twice; DEL counts each key once anyway.
    for chunk in keys.chunks(500) {
        redis::cmd("DEL")
            .arg(chunk)
            .query_async::<()>(&mut conn)
            .await?;
    }
    // apalis-redis registers each queue's worker set in a global sorted set
    // (outside the queue's prefix) for its dashboard; leaving ours would list a
    // dead queue there forever.
    redis::cmd("ZREM")
        .arg("core:apalis:queues:list")
        .arg(format!("{prefix}:workers"))
        .query_async::<()>(&mut conn)
        .await?;
    Ok(keys.len())
}

/// Runs `scenario` until it ends or Ctrl-C, then, whatever the outcome, stops
/// the in-process API (`shutdown`), drops the scratch database and, with
/// `redis` (URL, prefix), deletes the run's Redis keys. The cleanup every
/// scenario needs, in one place.
pub async fn run_then_clean_up<T>(
    scratch: ScratchDatabase,
    redis: Option<(&str, &str)>,
    shutdown: Option<&worker::runner::Shutdown>,
    scenario: impl Future<Output = anyhow::Result<T>>,
) -> anyhow::Result<T> {
    let result = tokio::select! {
        result = scenario => result,
        _ = tokio::signal::ctrl_c() => Err(anyhow::anyhow!("interrupted")),
    };
    if let Some(shutdown) = shutdown {
        shutdown.cancel();
    }
    let database = scratch.name.clone();
    match scratch.drop_database().await {
        Ok(()) => eprintln!("cleanup: dropped database {database}"),
        Err(e) => eprintln!("cleanup: could not drop database {database}: {e:#}"),
    }
    if let Some((url, prefix)) = redis {
        match clean_redis(url, prefix).await {
            Ok(n) => eprintln!("cleanup: deleted {n} Redis keys under {prefix}:"),
            Err(e) => eprintln!("cleanup: could not delete Redis keys under {prefix}: {e:#}"),
        }
    }
    result
}

/// A loopback port nobody listens on now (the API binds it a moment later).
pub fn free_port() -> anyhow::Result<std::net::SocketAddr> {
    let listener = std::net::TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0))?;
    Ok(listener.local_addr()?)
}

/// A run against a scratch database with the API in this process: creates
/// `database` on the server of `database_url`, migrates it, lets `prepare`
/// adjust the connection (e.g. count statements) before it is shared, builds
/// the configuration (Redis queue under `prefix`, a temporary data folder, a
/// free port), runs `measure`, and always cleans up (database dropped, Redis
/// keys deleted, even on Ctrl-C).
pub async fn with_in_process_api<T, Fut>(
    database_url: &str,
    redis_url: &str,
    database: &str,
    prefix: &str,
    prepare: impl FnOnce(&mut sea_orm::DatabaseConnection),
    measure: impl FnOnce(
        std::sync::Arc<platform::config::Config>,
        sea_orm::DatabaseConnection,
        worker::runner::Shutdown,
    ) -> Fut,
) -> anyhow::Result<T>
where
    Fut: Future<Output = anyhow::Result<T>>,
{
    let data_dir = tempfile::Builder::new().prefix("portal-bench-").tempdir()?;
    let scratch = ScratchDatabase::create(database_url, database).await?;
    eprintln!("[postgres] created database {database}");
    let url = scratch.url.clone();
    let shutdown = worker::runner::Shutdown::new();
    let scenario = async {
        let mut db = platform::db::connect_url(&url).await?;
        platform::db::migrate(&db).await.context("migrations")?;
        prepare(&mut db);
        let config = std::sync::Arc::new(platform::config::Config::from_vars(
            [
                ("DATABASE_URL", url.clone()),
                ("REDIS_URL", redis_url.to_owned()),
                ("PORTAL_QUEUE_NAME", prefix.to_owned()),
                ("PORTAL_DATA_DIR", data_dir.path().display().to_string()),
                ("PORTAL_BIND_ADDR", free_port()?.to_string()),
                // Throughput from one session per client, not the
                // per-principal cost budget, is what is measured.
                ("PORTAL_COST_PER_MINUTE", "1000000000000".to_owned()),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v)),
        )?);
        let measured = measure(config, db.clone(), shutdown.clone()).await;
        db.close().await.ok();
        measured
    };
    run_then_clean_up(
        scratch,
        Some((redis_url, prefix)),
        Some(&shutdown),
        scenario,
    )
    .await
}
