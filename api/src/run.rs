//! The process modes of the `portal` binary.
//!
//! - [`serve_all`]: the embedded default — migrations, demo data, API and
//!   worker in one process.
//! - [`serve_api`] and [`serve_worker`]: the production processes, each
//!   scaled out separately.
//! - [`migrate`]: applies migrations (and optionally loads the demo data).
//!
//! All stop gracefully on Ctrl-C or SIGTERM: the HTTP server stops accepting
//! and drains in-flight requests; the worker stops taking jobs and lets running
//! ones finish (any it cannot finish are recovered by lease expiry).

use std::sync::Arc;

use anyhow::Context as _;
use migration::MigratorTrait;
use platform::config::Config;
use sea_orm::DatabaseConnection;
use worker::{queue::Queue, runner::Shutdown};

use crate::{
    app::{App, AppState},
    http,
    ratelimit::RateLimiter,
};

/// Cancels `shutdown` on Ctrl-C or SIGTERM.
pub fn shutdown_on_signals() -> Shutdown {
    let shutdown = Shutdown::new();
    let trigger = shutdown.clone();
    tokio::spawn(async move {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        {
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                    .expect("SIGTERM handler");
            tokio::select! {
                _ = ctrl_c => {},
                _ = term.recv() => {},
            }
        }
        #[cfg(not(unix))]
        let _ = ctrl_c.await;
        tracing::info!("shutdown requested; draining");
        trigger.cancel();
    });
    shutdown
}

async fn connect(config: &Config) -> anyhow::Result<DatabaseConnection> {
    platform::db::connect(config)
        .await
        .context("cannot connect to the database (DATABASE_URL)")
}

/// Refuses to run against a database whose schema is behind this binary.
async fn check_migrated(db: &DatabaseConnection) -> anyhow::Result<()> {
    let pending = migration::Migrator::get_pending_migrations(db).await?;
    if !pending.is_empty() {
        anyhow::bail!(
            "the database has {} pending migration(s); run `portal migrate` first",
            pending.len()
        );
    }
    Ok(())
}

/// Builds the application state (used by every mode and by the test harness).
pub async fn build_app(
    config: Arc<Config>,
    db: DatabaseConnection,
    queue: Queue,
) -> anyhow::Result<AppState> {
    use secrecy::ExposeSecret;
    // Rate-limit counters are shared through Redis when there is one; a Redis
    // that cannot be reached at startup falls back to per-process counters.
    let rate_limiter = match &config.redis_url {
        Some(url) => match redis::Client::open(url.expose_secret()) {
            Ok(client) => match client.get_connection_manager().await {
                Ok(conn) => RateLimiter::Redis {
                    conn,
                    namespace: config.jobs.queue_name.clone(),
                },
                Err(e) => {
                    tracing::warn!(error = %e, "Redis unreachable: rate limits are per process");
                    RateLimiter::memory()
                }
            },
            Err(e) => {
                tracing::warn!(error = %e, "REDIS_URL unusable for rate limits");
                RateLimiter::memory()
            }
        },
        None => RateLimiter::memory(),
    };
    // Live updates fan out through Redis pub/sub when there is one (see
    // `events`); the bridge connects in the background and keeps retrying, so
    // a Redis that is down at startup only delays cross-instance events.
    let events = match &config.redis_url {
        Some(url) => match redis::Client::open(url.expose_secret()) {
            Ok(client) => crate::events::EventBus::with_redis(
                client,
                format!("{}:events", config.jobs.queue_name),
            ),
            Err(e) => {
                tracing::warn!(error = %e, "REDIS_URL unusable for live updates: in-process only");
                crate::events::EventBus::new()
            }
        },
        None => crate::events::EventBus::new(),
    };
    let storage = platform::storage::Storage::from_config(&config)
        .await
        .context("storage unusable (PORTAL_DATA_DIR or PORTAL_S3_*)")?;
    Ok(AppState(Arc::new(App {
        config,
        db,
        queue,
        storage,
        metrics: http::metrics::handle(),
        rate_limiter,
        events,
    })))
}

/// Embedded all-in-one: migrate, load the demo data, API and worker in this process.
pub async fn serve_all(config: Config) -> anyhow::Result<()> {
    let config = Arc::new(config);
    let db = connect(&config).await?;
    platform::db::migrate(&db)
        .await
        .context("migrations failed")?;
    // Demo data (with its shared password) goes only into the embedded
    // SQLite database: a PostgreSQL one gets it only from an explicit
    // `portal migrate --demo`.
    let demo = match db.get_database_backend() {
        sea_orm::DbBackend::Sqlite => {
            Demo::Loaded(crate::demo::load_demo_data(&db, &config).await?)
        }
        _ if crate::demo::is_loaded(&db).await? => Demo::Loaded(None),
        _ => {
            tracing::info!(
                "DATABASE_URL is not SQLite: no demo data loaded (`portal migrate --demo` loads it on purpose)"
            );
            Demo::NotLoaded
        }
    };
    let queue = Queue::connect(&config, &db).await?;
    if config.clamd_addr.is_none() {
        tracing::warn!(
            "PORTAL_CLAMD_ADDR is not set: uploaded documents stay PENDING_SCAN and only their uploader can see them"
        );
    }
    let shutdown = shutdown_on_signals();
    let app = build_app(config.clone(), db.clone(), queue.clone()).await?;
    let worker_task = tokio::spawn(crate::jobs::run_worker(
        config.clone(),
        db.clone(),
        queue,
        shutdown.clone(),
    ));
    print_banner(&config, demo);
    let served = http::serve(app, shutdown.clone()).await;
    shutdown.cancel();
    worker_task.await??;
    served
}

/// Production API process.
pub async fn serve_api(config: Config) -> anyhow::Result<()> {
    let config = Arc::new(config);
    let db = connect(&config).await?;
    check_migrated(&db).await?;
    // The API only probes the queue: a Redis down at start-up is a degraded
    // queue (`/readyz`), not a reason to refuse to serve.
    let queue = Queue::connect_or_degraded(&config, &db).await?;
    let shutdown = shutdown_on_signals();
    let app = build_app(config, db, queue).await?;
    http::serve(app, shutdown).await
}

/// Production worker process, with its own small listener for probes and
/// metrics on `PORTAL_WORKER_BIND_ADDR` (the embedded [`serve_all`] has the
/// API's listener for those, so it binds no second port).
pub async fn serve_worker(config: Config) -> anyhow::Result<()> {
    let config = Arc::new(config);
    let db = connect(&config).await?;
    check_migrated(&db).await?;
    let queue = Queue::connect(&config, &db).await?;
    let shutdown = shutdown_on_signals();
    let state = http::worker::WorkerHttpState::new(config.clone(), db.clone(), queue.clone());
    // Bound before the worker starts, so a taken port stops the process at
    // once instead of leaving a worker nobody can scrape or probe.
    let listener = tokio::net::TcpListener::bind(config.worker_bind_addr)
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "cannot listen on {} (PORTAL_WORKER_BIND_ADDR): {e}",
                config.worker_bind_addr
            )
        })?;
    let listener_task = tokio::spawn(http::worker::serve_on(state, listener, shutdown.clone()));
    let worked = crate::jobs::run_worker(config, db, queue, shutdown.clone()).await;
    shutdown.cancel();
    listener_task.await??;
    worked
}

/// Applies migrations; with `demo`, also loads the demo data.
pub async fn migrate(config: Config, demo: bool) -> anyhow::Result<()> {
    let db = connect(&config).await?;
    let pending = migration::Migrator::get_pending_migrations(&db)
        .await?
        .len();
    tracing::info!(pending, "applying migrations");
    platform::db::migrate(&db)
        .await
        .context("migrations failed")?;
    tracing::info!("migrations applied");
    if demo {
        crate::demo::load_demo_data(&db, &config).await?;
    }
    Ok(())
}

/// `portal admin create-service-admin`: creates (or re-invites) the first
/// service administrator and prints their invitation link once. The email is
/// queued in the outbox: the worker sends it.
pub async fn create_service_admin(
    config: Config,
    input: crate::users::staff::NewServiceAdmin,
) -> anyhow::Result<()> {
    use crate::users::staff::Bootstrap;
    let db = connect(&config).await?;
    check_migrated(&db).await?;
    let queue = Queue::connect(&config, &db).await?;
    let app = build_app(Arc::new(config), db, queue).await?;
    let email = input.email.trim().to_owned();
    match crate::users::staff::create_service_admin(&app, input).await {
        Ok(Bootstrap::Created { link, .. }) => {
            println!("Created the service administrator {email}.");
            println!("Their invitation is queued by email. The link works once, for 24 hours:");
            println!("{link}");
        }
        Ok(Bootstrap::Reissued { link, .. }) => {
            println!("{email} has not accepted their invitation yet: here is a new link");
            println!("(earlier links no longer work; it is also queued by email):");
            println!("{link}");
        }
        Ok(Bootstrap::AlreadySetUp { .. }) => {
            println!(
                "{email} is already set up as a service administrator; nothing was changed. \
                 If they forgot their password, they can reset it from the sign-in page."
            );
        }
        Err(crate::error::ApiError::BadInput {
            message,
            field: Some(field),
            ..
        }) => anyhow::bail!("{field}: {message}"),
        Err(e) => anyhow::bail!("{e}"),
    }
    Ok(())
}

/// Whether the embedded server loaded (or found) the demo data.
enum Demo {
    /// Loaded now (`Some`) or earlier (`None`).
    Loaded(Option<crate::demo::DemoLogins>),
    /// Not loaded: the database is not the embedded SQLite one.
    NotLoaded,
}

fn print_banner(config: &Config, demo: Demo) {
    let base = config.public_base_url.as_str().trim_end_matches('/');
    println!();
    println!("  Landlord & Resident Portal is running (embedded mode)");
    println!("  GraphiQL:   {base}/graphql");
    println!("  Health:     {base}/healthz   Ready: {base}/readyz   Metrics: {base}/metrics");
    println!("  Data:       {}", config.data_dir.display());
    println!("  Emails:     {}/*.eml", config.outbox_dir().display());
    println!("  SMS:        {}/sms.log", config.outbox_dir().display());
    let Demo::Loaded(loaded) = demo else {
        println!();
        println!("  No demo data: the database is not the embedded SQLite one.");
        println!("  Create the first administrator with `portal admin create-service-admin`.");
        println!();
        return;
    };
    let logins = loaded.unwrap_or_else(crate::demo::DemoLogins::known);
    println!();
    println!("  Demo logins (password for all: {}):", logins.password);
    for (who, email) in &logins.accounts {
        println!("    {who:<44} {email}");
    }
    println!();
}
