//! `bench soak`: a mixed read/write load held for `--minutes` at 70% of the
//! measured maximum, with the API and the worker as child processes (release
//! `portal api` / `portal worker`, production configuration) on PostgreSQL
//! and Redis, on the quick dataset of `bench suite`.
//!
//! 1. **Maximum**: the mix from `--concurrency` closed-loop callers for
//!    `--probe-seconds`; the rate reached is the maximum (or `--rate`).
//! 2. **Soak**: an open loop (a request started every 1/rate s, whatever the
//!    answers do) for `--minutes`, each answer checked (HTTP 200 and no GraphQL
//!    `errors`); the API's and the worker's `VmRSS` sampled every second.
//! 3. **Drain**: up to `--drain-seconds` for the outbox to empty.
//!
//! Mix (by weight): reads — the resident's case page 30, home 20, the payment
//! search 20; writes — `sendMessage` by the case owner 10 (emails the
//! resident: one job each, and a "Read message" task), `createTask` by the
//! case owner 5, `markMessagesRead` by the resident 14, and
//! `requestPaymentExport` of the 90-day search 1 (an export job each).
//!
//! Pass: zero errors; RSS averaged over the last minute within 10% (or 20 MiB)
//! of the average over minute 2 (after warm-up), for both processes; every
//! job enqueued since the start completed after the drain (none
//! `PENDING`/`QUEUED`/`RUNNING`, none `DEAD`), at least one job for each
//! message sent and each export requested, and every export `COMPLETED`.
//! Exits non-zero otherwise.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::Context as _;
use chrono::{Duration as Days, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};
use serde_json::json;

use crate::{
    dataset,
    scratch::{ScratchDatabase, run_then_clean_up},
    suite::{self, Server, Size, mib},
    table::rate,
};

/// Options of `bench soak`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Length of the soak.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(2..=600))]
    minutes: u64,
    /// Requests per second to hold (default: 70% of the measured maximum).
    #[arg(long)]
    rate: Option<f64>,
    /// Callers of the maximum-throughput probe.
    #[arg(long, default_value_t = 32)]
    concurrency: u64,
    /// Length of the probe.
    #[arg(long, default_value_t = 15)]
    probe_seconds: u64,
    /// Longest wait for the outbox to empty after the soak.
    #[arg(long, default_value_t = 120)]
    drain_seconds: u64,
    /// A PostgreSQL server URL; the bench creates (and drops) its own
    /// `portal_bench_<random>` database on that server.
    #[arg(long, default_value = crate::scratch::DEFAULT_DATABASE_URL)]
    database_url: String,
    /// Redis; only keys under `portal-bench:<random>:` are written.
    #[arg(long, default_value = "redis://127.0.0.1:6379")]
    redis_url: String,
}

/// What the load needs: endpoint, credentials, ids.
struct Mix {
    http: reqwest::Client,
    endpoint: String,
    resident: String,
    staff: String,
    payments_token: String,
    /// Cases owned by the staff member, with their resident.
    staff_cases: Vec<(String, String)>,
    /// The resident's cases.
    cases: Vec<String>,
    from: String,
    to: String,
    due: String,
    errors: AtomicU64,
    ok: AtomicU64,
    /// Messages sent and exports requested (answered without errors).
    messages_sent: AtomicU64,
    exports_requested: AtomicU64,
    first_error: std::sync::Mutex<Option<String>>,
}

const HOME: &str = "query Home { home(first: 50) { edges { node { \
    case { id reference type statusLabel complainantName landlordName } \
    nextTask { id title dueDate } dueDate overdue } } pageInfo { hasNextPage endCursor } } }";
const SEND_MESSAGE: &str = "mutation Send($caseId: ID!, $input: SendMessageInput!) { \
    sendMessage(caseId: $caseId, input: $input) { id } }";
const EXPORT: &str = "mutation Export($filter: PaymentFilter) { \
    requestPaymentExport(filter: $filter) { id status } }";
const CREATE_TASK: &str = "mutation Task($caseId: ID!, $input: CreateTaskInput!) { \
    createTask(caseId: $caseId, input: $input) { id status } }";
const MARK_READ: &str =
    "mutation Read($caseId: ID!) { markMessagesRead(input: {caseId: $caseId}) { __typename } }";

impl Mix {
    /// Request number `i` of the mix; Ok(false) on an error answer.
    async fn one(&self, i: u64) -> bool {
        let pick = i % 100;
        let case = &self.cases[(i as usize / 100) % self.cases.len()];
        let (token, body) = match pick {
            0..30 => (
                &self.resident,
                json!({ "query": crate::cases::CASE, "variables": { "id": case } }),
            ),
            30..50 => (&self.resident, json!({ "query": HOME })),
            50..70 => (
                &self.payments_token,
                json!({ "query": crate::payments::SEARCH,
                        "variables": { "filter": { "from": self.from, "to": self.to } } }),
            ),
            70..80 => {
                let (case, _) = &self.staff_cases[(i as usize / 100) % self.staff_cases.len()];
                (
                    &self.staff,
                    json!({ "query": SEND_MESSAGE, "variables": {
                        "caseId": case,
                        "input": { "subject": format!("Soak message {i}"),
                                   "body": "Please read the enclosed update." } } }),
                )
            }
            80..85 => {
                let (case, resident) =
                    &self.staff_cases[(i as usize / 100) % self.staff_cases.len()];
                (
                    &self.staff,
                    json!({ "query": CREATE_TASK, "variables": {
                        "caseId": case,
                        "input": { "title": format!("Soak task {i}"), "dueDate": self.due,
                                   "assignee": { "residentUserId": resident } } } }),
                )
            }
            99 => (
                &self.payments_token,
                json!({ "query": EXPORT,
                        "variables": { "filter": { "from": self.from, "to": self.to } } }),
            ),
            _ => (
                &self.resident,
                json!({ "query": MARK_READ, "variables": { "caseId": case } }),
            ),
        };
        match suite::graphql(&self.http, &self.endpoint, Some(token), &body).await {
            Ok(_) => {
                self.ok.fetch_add(1, Ordering::Relaxed);
                match pick {
                    70..80 => self.messages_sent.fetch_add(1, Ordering::Relaxed),
                    99 => self.exports_requested.fetch_add(1, Ordering::Relaxed),
                    _ => 0,
                };
                true
            }
            Err(e) => {
                if self.errors.fetch_add(1, Ordering::Relaxed) == 0
                    && let Ok(mut first) = self.first_error.lock()
                {
                    *first = Some(format!("{e:#}"));
                }
                false
            }
        }
    }
}

/// Runs the soak; fails when a criterion fails.
pub async fn run(args: Args) -> anyhow::Result<()> {
    let portal = suite::Portal::embedded()?;
    let crate::scratch::RunNames {
        id: run_id,
        database,
        prefix,
    } = crate::scratch::RunNames::new();
    eprintln!("bench soak: {} min (run {run_id})", args.minutes);
    let data_dir = tempfile::Builder::new().prefix("portal-bench-").tempdir()?;
    let scratch = ScratchDatabase::create(&args.database_url, &database).await?;
    let url = scratch.url.clone();
    let scenario = async {
        let db = platform::db::connect_url(&url).await?;
        platform::db::migrate(&db).await.context("migrations")?;
        suite::seed(&db, Size::Quick).await?;
        let org = dataset::derived_id(&db, "org1").await?;
        let payments_token = crate::payments::token(&db, org).await?;
        // The dashboard token may also export.
        db.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "INSERT INTO api_token_permissions (api_token_id, permission) \
             SELECT id, 'EXPORT_PAYMENTS' FROM api_tokens WHERE token_prefix = $1",
            [payments_token[..12].into()],
        ))
        .await?;
        let resident_id = dataset::derived_id(&db, "resident0").await?;
        // Case g's owner is caseworker g % 50 + 1: caseworker 2 owns cases
        // 51, 101, 151, … (all open: g % 5 = 1), each with resident
        // (g - 51) / 2 % residents + 1 (see `dataset::casework`). Not the
        // bench resident's: the tasks created do not pile up on the pages read.
        let staff_id = dataset::derived_id(&db, "staff2").await?;
        let (cases_n, _) = Size::Quick.rows();
        let residents = (cases_n - dataset::RESIDENT_CASES).div_euclid(2).max(1);
        let mut staff_cases = Vec::new();
        for g in (51..=cases_n).step_by(50) {
            staff_cases.push((
                dataset::derived_id(&db, &format!("case{g}"))
                    .await?
                    .to_string(),
                dataset::derived_id(&db, &format!("resident{}", (g - 51) / 2 % residents + 1))
                    .await?
                    .to_string(),
            ));
        }
        let info = api::auth::ClientInfo {
            ip: Some("127.0.0.1".into()),
            user_agent: Some("bench soak".into()),
            request_id: "bench".into(),
        };
        let resident = api::auth::session::create(&db, resident_id, &info, false).await?;
        let staff = api::auth::session::create(&db, staff_id, &info, false).await?;
        let cases = dataset::resident_cases(&db).await?;
        let vars = suite::production_vars(&url, &args.redis_url, &prefix, data_dir.path())?;
        let api = Server::start_portal(&portal, "api", &vars).await?;
        let worker = Server::start_portal(&portal, "worker", &vars).await?;
        let today = Utc::now().date_naive();
        let mix = Arc::new(Mix {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()?,
            endpoint: api.endpoint.clone(),
            resident,
            staff,
            payments_token,
            staff_cases,
            cases,
            from: (today - Days::days(89)).to_string(),
            to: today.to_string(),
            due: (today + Days::days(14)).to_string(),
            errors: AtomicU64::new(0),
            ok: AtomicU64::new(0),
            messages_sent: AtomicU64::new(0),
            exports_requested: AtomicU64::new(0),
            first_error: std::sync::Mutex::new(None),
        });
        let result = soak(&args, &db, &mix, &api, &worker).await;
        api.stop().await;
        worker.stop().await;
        db.close().await.ok();
        result
    };
    let passed =
        run_then_clean_up(scratch, Some((&args.redis_url, &prefix)), None, scenario).await?;
    anyhow::ensure!(passed, "the soak failed (see above)");
    Ok(())
}

async fn soak(
    args: &Args,
    db: &DatabaseConnection,
    mix: &Arc<Mix>,
    api: &Server,
    worker: &Server,
) -> anyhow::Result<bool> {
    // Jobs and exports are counted from here: the warm-up and the probe
    // write too.
    let soak_started = Utc::now();
    // Warm-up and a check of every request kind.
    for i in [0, 30, 50, 70, 80, 85, 99] {
        anyhow::ensure!(
            mix.one(i).await,
            "request kind {i} fails: {:?}",
            mix.first_error.lock().ok().and_then(|e| e.clone())
        );
    }
    // 1. The maximum, closed loop.
    let max = match args.rate {
        Some(rate) => rate / 0.7,
        None => {
            eprintln!(
                "[probe] mixed load, {} callers, {} s",
                args.concurrency, args.probe_seconds
            );
            let counter = Arc::new(AtomicU64::new(100));
            let deadline = Instant::now() + Duration::from_secs(args.probe_seconds);
            let started = Instant::now();
            let mut callers = tokio::task::JoinSet::new();
            for _ in 0..args.concurrency {
                let (mix, counter) = (mix.clone(), counter.clone());
                callers.spawn(async move {
                    while Instant::now() < deadline {
                        let i = counter.fetch_add(1, Ordering::Relaxed);
                        mix.one(i).await;
                    }
                });
            }
            while callers.join_next().await.is_some() {}
            let done = counter.load(Ordering::Relaxed) - 100;
            let max = done as f64 / started.elapsed().as_secs_f64();
            eprintln!(
                "[probe] {} req/s ({} errors)",
                rate(max),
                mix.errors.load(Ordering::Relaxed)
            );
            max
        }
    };
    let target = max * 0.7;
    let errors_before = mix.errors.load(Ordering::Relaxed);
    let ok_before = mix.ok.load(Ordering::Relaxed);
    eprintln!(
        "[soak] {} req/s (70% of {}) for {} min; RSS every second",
        rate(target),
        rate(max),
        args.minutes
    );
    // 2. The soak, open loop.
    let length = Duration::from_secs(args.minutes * 60);
    let started = Instant::now();
    let mut samples: Vec<(f64, u64, u64)> = Vec::new();
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / target));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut sampler = tokio::time::interval(Duration::from_secs(1));
    let in_flight = Arc::new(tokio::sync::Semaphore::new(1024));
    let mut i: u64 = 1_000_000;
    let mut last_report = Instant::now();
    while started.elapsed() < length {
        tokio::select! {
            _ = ticker.tick() => {
                i += 1;
                let (mix, permit) = (mix.clone(), in_flight.clone().acquire_owned().await?);
                tokio::spawn(async move {
                    mix.one(i).await;
                    drop(permit);
                });
            }
            _ = sampler.tick() => {
                samples.push((
                    started.elapsed().as_secs_f64(),
                    api.status_kib("VmRSS:"),
                    worker.status_kib("VmRSS:"),
                ));
                if last_report.elapsed() >= Duration::from_secs(30) {
                    last_report = Instant::now();
                    let last = samples.last().copied().unwrap_or_default();
                    eprintln!(
                        "[soak] {:.0} s: {} ok, {} errors; RSS api {} MiB, worker {} MiB",
                        last.0,
                        mix.ok.load(Ordering::Relaxed) - ok_before,
                        mix.errors.load(Ordering::Relaxed) - errors_before,
                        mib(last.1),
                        mib(last.2)
                    );
                }
            }
        }
    }
    // Wait for the requests still in flight.
    let _ = in_flight.acquire_many(1024).await?;
    let elapsed = started.elapsed().as_secs_f64();
    let ok = mix.ok.load(Ordering::Relaxed) - ok_before;
    let errors = mix.errors.load(Ordering::Relaxed) - errors_before;

    // 3. The drain.
    let drain_started = Instant::now();
    let mut jobs = outbox(db, soak_started).await?;
    while jobs.unfinished > 0 && drain_started.elapsed() < Duration::from_secs(args.drain_seconds) {
        tokio::time::sleep(Duration::from_secs(1)).await;
        jobs = outbox(db, soak_started).await?;
    }
    let exports = exports(db, soak_started).await?;
    eprintln!(
        "[drain] {:.0} s: {} jobs done, {} unfinished, {} dead",
        drain_started.elapsed().as_secs_f64(),
        jobs.done,
        jobs.unfinished,
        jobs.dead
    );

    // Verdict.
    let average = |from: f64, to: f64, pick: fn(&(f64, u64, u64)) -> u64| {
        let window: Vec<u64> = samples
            .iter()
            .filter(|s| s.0 >= from && s.0 < to)
            .map(pick)
            .collect();
        window.iter().sum::<u64>() as f64 / window.len().max(1) as f64
    };
    let end = args.minutes as f64 * 60.0;
    let grew = |name: &str, pick: fn(&(f64, u64, u64)) -> u64| {
        let warm = average(60.0, 120.0, pick);
        let last = average(end - 60.0, end + 1.0, pick);
        let growth = last - warm;
        let ok = growth < (warm * 0.10).max(20.0 * 1024.0);
        let line = format!(
            "{name} RSS: minute 2 average {:.1} MiB, last minute {:.1} MiB ({:+.1} MiB) — {}",
            warm / 1024.0,
            last / 1024.0,
            growth / 1024.0,
            if ok { "ok" } else { "GREW" }
        );
        (ok, line)
    };
    let (api_ok, api_line) = grew("API", |s| s.1);
    let (worker_ok, worker_line) = grew("worker", |s| s.2);
    let sent = mix.messages_sent.load(Ordering::Relaxed);
    let requested = mix.exports_requested.load(Ordering::Relaxed);
    let jobs_ok = jobs.unfinished == 0
        && jobs.dead == 0
        && jobs.total >= (sent + requested) as i64
        && exports.completed == requested as i64
        && exports.total == requested as i64;
    println!();
    println!(
        "soak: {} min at {} req/s (70% of a measured {} req/s, mixed: case page 30, home 20, payment search 20, sendMessage 10, createTask 5, markMessagesRead 14, requestPaymentExport 1)",
        args.minutes,
        rate(target),
        rate(max)
    );
    println!(
        "requests: {ok} ok, {errors} errors ({} req/s achieved) — {}",
        rate((ok + errors) as f64 / elapsed),
        if errors == 0 { "ok" } else { "FAILED" }
    );
    if let Some(first) = mix.first_error.lock().ok().and_then(|e| e.clone())
        && errors > 0
    {
        println!("  first error: {first}");
    }
    println!("{api_line}");
    println!("{worker_line}");
    println!(
        "jobs: {} enqueued since the soak began (for {sent} messages sent and {requested} exports requested, \
         besides any scheduled); after the drain {} done, {} unfinished, {} dead; exports {} completed of {} — {}",
        jobs.total,
        jobs.done,
        jobs.unfinished,
        jobs.dead,
        exports.completed,
        exports.total,
        if jobs_ok { "ok" } else { "FAILED" }
    );
    let passed = errors == 0 && api_ok && worker_ok && jobs_ok;
    println!("verdict: {}", if passed { "PASS" } else { "FAIL" });
    Ok(passed)
}

#[derive(Default)]
struct Jobs {
    total: i64,
    unfinished: i64,
    dead: i64,
    done: i64,
}

/// The outbox jobs created since `since`, by state.
async fn outbox(db: &DatabaseConnection, since: chrono::DateTime<Utc>) -> anyhow::Result<Jobs> {
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT status, count(*)::bigint AS n FROM outbox_jobs WHERE created_at >= $1 GROUP BY status",
            [since.into()],
        ))
        .await?;
    let mut jobs = Jobs::default();
    for row in rows {
        let status: String = row.try_get("", "status")?;
        let n: i64 = row.try_get("", "n")?;
        jobs.total += n;
        match status.as_str() {
            "PENDING" | "QUEUED" | "RUNNING" => jobs.unfinished += n,
            "DEAD" => jobs.dead += n,
            _ => jobs.done += n,
        }
    }
    Ok(jobs)
}

/// The exports requested since `since`.
#[derive(Default)]
struct Exports {
    total: i64,
    completed: i64,
}

async fn exports(db: &DatabaseConnection, since: chrono::DateTime<Utc>) -> anyhow::Result<Exports> {
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT count(*)::bigint AS total, \
                    count(*) FILTER (WHERE status = 'COMPLETED')::bigint AS completed \
             FROM payment_exports WHERE created_at >= $1",
            [since.into()],
        ))
        .await?
        .context("no count")?;
    Ok(Exports {
        total: row.try_get("", "total")?,
        completed: row.try_get("", "completed")?,
    })
}
