//! `bench webhooks`: how many webhook events per second the worker delivers
//! to a local receiver, beside the queue's own no-op job rate measured in
//! the same run on the same worker, and the p99 from the commit that wrote
//! an event to its arrival at the receiver at a steady rate.
//!
//! ```text
//!  emit (event + delivery + job, one txn) ──▶ outbox ──relay──▶ Redis
//!        ──▶ worker: deliver_webhook ──HTTP POST, signed──▶ receiver (127.0.0.1)
//! ```
//!
//! Three phases on one worker (`api::jobs::run_worker`: relay, consumer,
//! runner), PostgreSQL + Redis, in a scratch database and key prefix:
//!
//! 1. **baseline**: `--events` no-op jobs, written first and then made due
//!    all at once; jobs/s from then to the last `DONE`. Each webhook is at
//!    least one such job, so this is the ceiling.
//! 2. **burst**: `--events` events spread over `--endpoints` endpoints of
//!    one organisation, written first and then made due all at once;
//!    events/s from then to the last arrival at the receiver (writing them
//!    is the API's cost, not measured here).
//! 3. **steady**: `--rate` events per second for `--seconds`, each in its own
//!    transaction, as API writes arrive; per event, the time from its commit
//!    to its arrival (both stamped by this process's clock): p50, p99, max.
//!
//! The receiver answers 200 at once, so the figures are the portal's cost
//! (the outbox, the relay, claiming, signing, the attempt record, the HTTP
//! round trip on loopback), not a receiver's.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use anyhow::Context as _;
use axum::http::HeaderMap;
use chrono::Utc;
use sea_orm::{ActiveModelTrait, ConnectionTrait, DatabaseConnection, Set, TransactionTrait};
use serde_json::json;
use uuid::Uuid;

use api::{
    jobs::noop::Noop,
    webhooks::{deliver::DeliverWebhook, signing},
};
use entities::{WebhookDeliveryStatus, WebhookEventType};
use platform::config::Config;
use worker::{outbox, queue::Queue, runner::Shutdown};

use crate::{
    scratch::{ScratchDatabase, clean_redis},
    table::{Percentiles, Table, ms, rate},
};

/// Options of `bench webhooks`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Events of the burst (and no-op jobs of the baseline).
    #[arg(long, default_value_t = 5_000, value_parser = clap::value_parser!(u64).range(1..))]
    events: u64,
    /// Endpoints the events are spread over.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u64).range(1..=1000))]
    endpoints: u64,
    /// Events per second of the steady phase.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    rate: u64,
    /// Seconds of the steady phase.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
    seconds: u64,
    /// Jobs the worker runs at once (`PORTAL_WORKER_CONCURRENCY`).
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u64).range(1..=1024))]
    concurrency: u64,
    /// A PostgreSQL server URL; the bench creates (and drops) its own database.
    #[arg(long, default_value = crate::scratch::DEFAULT_DATABASE_URL)]
    database_url: String,
    /// Redis for the queue; only keys under `portal-bench:<random>:` are written.
    #[arg(long, default_value = "redis://127.0.0.1:6379")]
    redis_url: String,
    /// Fail when a phase has not finished this many seconds after it started.
    #[arg(long, default_value_t = 300)]
    timeout_secs: u64,
}

/// Arrival time of each `webhook-id` at the receiver.
type Arrivals = Arc<Mutex<HashMap<Uuid, chrono::DateTime<Utc>>>>;

/// Runs the scenario and prints the table.
pub async fn run(args: Args) -> anyhow::Result<()> {
    let names = crate::scratch::RunNames::new();
    eprintln!(
        "bench webhooks: {} events over {} endpoints, then {}/s for {} s, concurrency {} (run {})",
        args.events, args.endpoints, args.rate, args.seconds, args.concurrency, names.id
    );
    let data_dir = tempfile::Builder::new().prefix("portal-bench-").tempdir()?;
    let scratch = ScratchDatabase::create(&args.database_url, &names.database).await?;
    eprintln!("[postgres] created database {}", names.database);
    let shutdown = Shutdown::new();
    let result = tokio::select! {
        result = scenario(&args, &scratch.url, &names.prefix, data_dir.path(), shutdown.clone()) => result,
        _ = tokio::signal::ctrl_c() => Err(anyhow::anyhow!("interrupted")),
    };
    shutdown.cancel();
    match scratch.drop_database().await {
        Ok(()) => eprintln!("cleanup: dropped database {}", names.database),
        Err(e) => eprintln!("cleanup: could not drop database {}: {e:#}", names.database),
    }
    if let Err(e) = clean_redis(&args.redis_url, &names.prefix).await {
        eprintln!("cleanup: could not delete Redis keys: {e:#}");
    }
    let (baseline, burst, steady) = result?;
    let mut table = Table::new(&[
        "scenario",
        "count",
        "rate",
        "vs baseline",
        "p50",
        "p99",
        "max",
    ]);
    table.row(vec![
        "baseline: no-op jobs, outbox → Redis → worker".into(),
        args.events.to_string(),
        format!("{} jobs/s", rate(baseline)),
        "1.00".into(),
    ]);
    table.row(vec![
        format!("burst: webhooks to {} endpoints", args.endpoints),
        args.events.to_string(),
        format!("{} events/s", rate(burst)),
        format!("{:.2}", burst / baseline),
    ]);
    table.row(vec![
        format!(
            "steady {}/s for {} s: commit → arrival",
            args.rate, args.seconds
        ),
        (args.rate * args.seconds).to_string(),
        String::new(),
        String::new(),
        ms(steady.p50),
        ms(steady.p99),
        ms(steady.max),
    ]);
    println!("{}", table.render());
    Ok(())
}

async fn scenario(
    args: &Args,
    database_url: &str,
    prefix: &str,
    data_dir: &std::path::Path,
    shutdown: Shutdown,
) -> anyhow::Result<(f64, f64, Percentiles)> {
    let db = platform::db::connect_url(database_url).await?;
    platform::db::migrate(&db).await.context("migrations")?;
    let queue = Queue::connect_redis(&args.redis_url, prefix).await?;
    let vars = [
        ("DATABASE_URL", database_url.to_owned()),
        ("REDIS_URL", args.redis_url.clone()),
        ("PORTAL_QUEUE_NAME", prefix.to_owned()),
        ("PORTAL_DATA_DIR", data_dir.display().to_string()),
        ("PORTAL_WORKER_CONCURRENCY", args.concurrency.to_string()),
        ("PORTAL_RELAY_INTERVAL_MS", "20".to_owned()),
        ("PORTAL_WEBHOOK_ALLOW_PRIVATE", "true".to_owned()),
        ("PORTAL_WEBHOOK_ALLOW_HTTP", "true".to_owned()),
        (
            "PORTAL_WEBHOOK_ENDPOINT_CONCURRENCY",
            args.concurrency.to_string(),
        ),
    ];
    let config = Arc::new(Config::from_vars(
        vars.into_iter().map(|(k, v)| (k.to_owned(), v)),
    )?);

    let arrivals: Arrivals = Arc::default();
    let url = receiver(arrivals.clone()).await?;
    let organisation = organisation(&db).await?;
    let key = signing::ServerKey::load(&config)?;
    let mut endpoints = Vec::new();
    for _ in 0..args.endpoints {
        endpoints.push(endpoint(&db, &key, organisation, &url).await?);
    }

    let worker = tokio::spawn(api::jobs::run_worker(
        config.clone(),
        db.clone(),
        queue,
        shutdown.clone(),
    ));
    let timeout = Duration::from_secs(args.timeout_secs);

    // 1. The baseline.
    let txn = db.begin().await?;
    for chunk in (0..args.events).collect::<Vec<_>>().chunks(500) {
        let jobs: Vec<Noop> = chunk.iter().map(|&tag| Noop { tag, sleep_ms: 0 }).collect();
        outbox::enqueue_many(&txn, &jobs).await?;
    }
    hold(&txn).await?;
    txn.commit().await?;
    let started = release(&db).await?;
    wait_until(timeout, "the no-op jobs", || async {
        Ok(unfinished(&db).await? == 0)
    })
    .await?;
    let baseline = args.events as f64 / started.elapsed().as_secs_f64();
    eprintln!("[baseline] {} jobs/s", rate(baseline));

    // 2. The burst.
    let txn = db.begin().await?;
    for i in 0..args.events {
        emit(&txn, organisation, endpoints[i as usize % endpoints.len()]).await?;
    }
    hold(&txn).await?;
    txn.commit().await?;
    let started = release(&db).await?;
    let want = args.events as usize;
    wait_until(timeout, "the burst's deliveries", || async {
        Ok(arrivals.lock().unwrap().len() >= want)
    })
    .await?;
    let burst = args.events as f64 / started.elapsed().as_secs_f64();
    eprintln!("[burst] {} events/s", rate(burst));
    arrivals.lock().unwrap().clear();

    // 3. The steady rate.
    let mut committed = HashMap::new();
    let every = Duration::from_secs_f64(1.0 / args.rate as f64);
    let mut ticker = tokio::time::interval(every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let total = args.rate * args.seconds;
    for i in 0..total {
        ticker.tick().await;
        let txn = db.begin().await?;
        let id = emit(&txn, organisation, endpoints[i as usize % endpoints.len()]).await?;
        txn.commit().await?;
        committed.insert(id, Utc::now());
    }
    wait_until(timeout, "the steady deliveries", || async {
        Ok(arrivals.lock().unwrap().len() >= total as usize)
    })
    .await?;
    let mut latencies: Vec<f64> = {
        let arrived = arrivals.lock().unwrap();
        committed
            .iter()
            .filter_map(|(id, at)| arrived.get(id).map(|a| (*a - *at).num_microseconds()))
            .map(|us| us.unwrap_or(0) as f64 / 1000.0)
            .collect()
    };
    let steady = Percentiles::of(&mut latencies).context("no steady deliveries")?;
    eprintln!("[steady] p99 {} ms", ms(steady.p99));

    shutdown.cancel();
    worker.await??;
    db.close().await.ok();
    Ok((baseline, burst, steady))
}

/// A receiver on 127.0.0.1 that answers 200 at once and notes when each
/// `webhook-id` first arrived; returns its URL.
async fn receiver(arrivals: Arrivals) -> anyhow::Result<String> {
    let router = axum::Router::new().fallback(move |headers: HeaderMap| {
        let arrivals = arrivals.clone();
        async move {
            let now = Utc::now();
            if let Some(id) = headers
                .get("webhook-id")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse().ok())
            {
                arrivals.lock().unwrap().entry(id).or_insert(now);
            }
            "ok"
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, router).await });
    Ok(format!("http://{addr}/hook"))
}

async fn organisation(db: &DatabaseConnection) -> anyhow::Result<Uuid> {
    let now = Utc::now();
    let id = Uuid::now_v7();
    entities::organisation::ActiveModel {
        id: Set(id),
        name: Set("Bench Housing".into()),
        address: Set("1 Bench Street".into()),
        requires_two_factor: Set(false),
        two_factor_methods: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await?;
    Ok(id)
}

async fn endpoint(
    db: &DatabaseConnection,
    key: &signing::ServerKey,
    organisation: Uuid,
    url: &str,
) -> anyhow::Result<Uuid> {
    let now = Utc::now();
    let id = Uuid::now_v7();
    entities::webhook_endpoint::ActiveModel {
        id: Set(id),
        organisation_id: Set(organisation),
        url: Set(url.to_owned()),
        description: Set(None),
        event_types: Set(json!([WebhookEventType::PaymentsRecorded.as_str()])),
        enabled: Set(true),
        disabled_reason: Set(None),
        disabled_at: Set(None),
        secret_sealed: Set(signing::seal(key, &signing::new_secret())),
        previous_secret_sealed: Set(None),
        previous_secret_expires_at: Set(None),
        failing_since: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await?;
    Ok(id)
}

/// One event for one endpoint, as `webhooks::events::emit` writes it.
async fn emit(
    txn: &impl ConnectionTrait,
    organisation: Uuid,
    endpoint: Uuid,
) -> anyhow::Result<Uuid> {
    let now = Utc::now();
    let event = Uuid::now_v7();
    entities::webhook_event::ActiveModel {
        id: Set(event),
        organisation_id: Set(organisation),
        event_type: Set(WebhookEventType::PaymentsRecorded),
        version: Set(1),
        data: Set(json!({ "payment_ids": [Uuid::now_v7()], "count": 1 })),
        created_at: Set(now),
    }
    .insert(txn)
    .await?;
    let delivery = Uuid::now_v7();
    entities::webhook_delivery::ActiveModel {
        id: Set(delivery),
        event_id: Set(event),
        endpoint_id: Set(endpoint),
        status: Set(WebhookDeliveryStatus::Pending),
        attempts: Set(0),
        next_attempt_at: Set(Some(now)),
        last_status_code: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(txn)
    .await?;
    outbox::enqueue(
        txn,
        &DeliverWebhook {
            delivery_id: delivery,
        },
    )
    .await?;
    Ok(event)
}

/// Makes the pending jobs wait (in the transaction that wrote them), so that
/// the writing is not measured: the baseline and the burst both time the
/// worker alone, from [`release`] on.
async fn hold(txn: &impl ConnectionTrait) -> anyhow::Result<()> {
    txn.execute_unprepared(
        "UPDATE outbox_jobs SET run_at = '2100-01-01T00:00:00Z' WHERE status = 'PENDING'",
    )
    .await?;
    Ok(())
}

/// Makes every held job due now; returns when that started.
async fn release(db: &DatabaseConnection) -> anyhow::Result<Instant> {
    let started = Instant::now();
    db.execute_unprepared("UPDATE outbox_jobs SET run_at = created_at WHERE status = 'PENDING'")
        .await?;
    Ok(started)
}

async fn unfinished(db: &DatabaseConnection) -> anyhow::Result<i64> {
    let row = db
        .query_one_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            "SELECT COUNT(*) AS n FROM outbox_jobs WHERE status IN ('PENDING','QUEUED','RUNNING')",
        ))
        .await?
        .context("no count")?;
    Ok(row.try_get("", "n")?)
}

async fn wait_until<F, Fut>(timeout: Duration, what: &str, mut done: F) -> anyhow::Result<()>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<bool>>,
{
    let deadline = Instant::now() + timeout;
    while !done().await? {
        if Instant::now() > deadline {
            anyhow::bail!("timed out waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    Ok(())
}
