//! `bench sweep`: the 90-day inactivity sweep over a million users, beside the
//! one plain `UPDATE` that a hand-run clean-up would be.
//!
//! The scenario, on PostgreSQL in a scratch database:
//!
//! 1. **Data**: `--users` users written by one `INSERT ... SELECT
//!    generate_series` (seconds, not minutes), a third residents and the rest
//!    landlord users spread over 100 organisations, each with a mobile number and
//!    the session of their last sign-in. Last sign-ins are spread so that
//!    `--deactivate-permille` are 91–150 days ago (due for deactivation),
//!    `--warn-permille` 77–89 days ago (due a warning) and the rest 0–75 days
//!    ago. Ids are time-ordered like the service's UUIDv7s. Then `VACUUM
//!    ANALYZE` and a `CHECKPOINT`, so both measurements start from the same
//!    state.
//! 2. **The sweep**: [`inactivity_sweep::deactivate_idle`] then
//!    [`inactivity_sweep::warn_idle`], exactly what the daily job runs (in
//!    batches of `--batch` users per transaction, each with its sessions
//!    revoked, emails and outbox jobs queued and audit entries written).
//! 3. **The baseline**: the data is generated afresh (`TRUNCATE ... CASCADE`
//!    and the same `INSERT`s), then one `UPDATE users SET status =
//!    'DEACTIVATED', ... WHERE <the same predicate>` deactivates the same rows
//!    and does nothing else: no sessions, no emails, no audit, one transaction
//!    holding every row lock. It is the floor for "deactivate these rows"; the
//!    ratio shows what batching, the emails, the audit trail and concurrency
//!    safety cost on top.
//!
//! Progress goes to stderr; the scratch database is dropped at the end, also
//! when the run fails.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement, Value};
use url::Url;

use api::identity::inactivity_sweep::{self, BATCH_SIZE, DEACTIVATE_AFTER_DAYS};

use crate::{
    scratch::{ScratchDatabase, run_then_clean_up, server},
    table::{Table, rate},
};

/// Options of `bench sweep`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Users in the table.
    #[arg(long, default_value_t = 1_000_000, value_parser = clap::value_parser!(u64).range(1000..))]
    users: u64,
    /// Users per thousand due for deactivation (no sign-in for 91–150 days).
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(0..=1000))]
    deactivate_permille: u64,
    /// Users per thousand due a warning (no sign-in for 77–89 days).
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u64).range(0..=1000))]
    warn_permille: u64,
    /// Users per sweep transaction.
    #[arg(long, default_value_t = BATCH_SIZE, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    batch: u64,
    /// A PostgreSQL server URL; the bench creates (and drops) its own
    /// `portal_bench_<random>` database on that server.
    #[arg(long, default_value = crate::scratch::DEFAULT_DATABASE_URL)]
    database_url: String,
}

/// One timed step.
struct Timed {
    rows: u64,
    elapsed: Duration,
}

impl Timed {
    fn per_second(&self) -> f64 {
        self.rows as f64 / self.elapsed.as_secs_f64()
    }
}

/// What the run measured.
struct Measured {
    deactivate: Timed,
    warn: Timed,
    plain: Timed,
    /// Rows written beside the users by the sweep (sessions revoked, deliveries,
    /// outbox jobs, audit entries).
    side_rows: SideRows,
    /// Time to generate the data once.
    generate: Duration,
}

/// The rows the sweep wrote besides `users`.
struct SideRows {
    sessions_revoked: i64,
    deliveries: i64,
    jobs: i64,
    audit: i64,
}

/// Runs the scenario and prints the table.
pub async fn run(args: Args) -> anyhow::Result<()> {
    if args.deactivate_permille + args.warn_permille > 1000 {
        anyhow::bail!("--deactivate-permille plus --warn-permille must not exceed 1000");
    }
    let crate::scratch::RunNames {
        id: run_id,
        database,
        ..
    } = crate::scratch::RunNames::new();
    eprintln!(
        "bench sweep: {} users, {}‰ due for deactivation, {}‰ due a warning, {} per transaction (run {run_id})",
        args.users, args.deactivate_permille, args.warn_permille, args.batch
    );
    let scratch = ScratchDatabase::create(&args.database_url, &database).await?;
    eprintln!("[postgres] created database {database}");
    let url = scratch.url.clone();
    let scenario = async {
        let db = platform::db::connect_url(&url).await?;
        platform::db::migrate(&db).await.context("migrations")?;
        let measured = measure(&args, &db).await;
        db.close().await.ok();
        measured
    };
    let result = run_then_clean_up(scratch, None, None, scenario).await;
    let measured = result?;
    print(&args, &database, &measured);
    crate::headline::emit(&[crate::headline::Headline::rate(
        format!(
            "90-day sweep: {} users deactivated with sessions, email and audit (`bench sweep`)",
            rate(measured.deactivate.rows as f64)
        ),
        measured.deactivate.per_second(),
        "one plain UPDATE of the same rows",
        measured.plain.per_second(),
        "users/s",
    )])?;
    Ok(())
}

async fn measure(args: &Args, db: &DatabaseConnection) -> anyhow::Result<Measured> {
    // One clock for the data and both measurements, so they select the same rows.
    let now = Utc::now();
    let expected_deactivate = expected(args.users, 0, args.deactivate_permille);
    let expected_warn = expected(
        args.users,
        args.deactivate_permille,
        args.deactivate_permille + args.warn_permille,
    );

    let started = Instant::now();
    generate(args, db, now).await?;
    let generated_in = started.elapsed();

    eprintln!("[sweep] deactivating {expected_deactivate} users");
    let progress = watch(db.clone(), "sweep", expected_deactivate + expected_warn);
    let started = Instant::now();
    let deactivated = inactivity_sweep::deactivate_idle(db, now, args.batch).await?;
    let deactivate = Timed {
        rows: deactivated,
        elapsed: started.elapsed(),
    };
    eprintln!("[sweep] warning {expected_warn} users");
    let started = Instant::now();
    let warned = inactivity_sweep::warn_idle(db, now, args.batch).await?;
    let warn = Timed {
        rows: warned,
        elapsed: started.elapsed(),
    };
    progress.abort();
    if (deactivated, warned) != (expected_deactivate, expected_warn) {
        anyhow::bail!(
            "the sweep deactivated {deactivated} and warned {warned} users, \
             expected {expected_deactivate} and {expected_warn}"
        );
    }
    let side_rows = SideRows {
        sessions_revoked: count(
            db,
            "SELECT COUNT(*) AS n FROM sessions WHERE revoked_at IS NOT NULL",
        )
        .await?,
        deliveries: count(db, "SELECT COUNT(*) AS n FROM notification_deliveries").await?,
        jobs: count(db, "SELECT COUNT(*) AS n FROM outbox_jobs").await?,
        audit: count(db, "SELECT COUNT(*) AS n FROM audit_log").await?,
    };

    eprintln!("[baseline] resetting the data");
    db.execute_unprepared(
        "TRUNCATE users, organisations, sessions, notification_deliveries, outbox_jobs, audit_log CASCADE",
    )
    .await?;
    generate(args, db, now).await?;
    eprintln!("[baseline] one UPDATE of {expected_deactivate} users");
    let started = Instant::now();
    let result = db
        .execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "UPDATE users SET status = 'DEACTIVATED', deactivated_at = $1, mobile_number = NULL, updated_at = $1 \
             WHERE status IN ('ACTIVE', 'SUSPENDED') AND kind <> 'STAFF' \
               AND COALESCE(last_login_at, invited_at, created_at) < $2",
            [
                Value::from(now),
                Value::from(now - chrono::Duration::days(DEACTIVATE_AFTER_DAYS)),
            ],
        ))
        .await?;
    let plain = Timed {
        rows: result.rows_affected(),
        elapsed: started.elapsed(),
    };
    if plain.rows != expected_deactivate {
        anyhow::bail!(
            "the plain UPDATE changed {} rows, expected {expected_deactivate}",
            plain.rows
        );
    }
    Ok(Measured {
        deactivate,
        warn,
        plain,
        side_rows,
        generate: generated_in,
    })
}

/// Users `g` in `1..=users` whose bucket `(g * 7919) % 1000` is in `from..to`:
/// the generator's own arithmetic, so the bench knows what to expect.
fn expected(users: u64, from: u64, to: u64) -> u64 {
    (1..=users)
        .filter(|g| (from..to).contains(&((g * 7919) % 1000)))
        .count() as u64
}

/// Writes the organisations, users and sessions, then `VACUUM ANALYZE` and a
/// checkpoint so that neither measurement pays for the other's dead rows or
/// dirty pages.
async fn generate(args: &Args, db: &DatabaseConnection, now: DateTime<Utc>) -> anyhow::Result<()> {
    let started = Instant::now();
    exec(
        db,
        "INSERT INTO organisations (id, name, address, requires_two_factor, created_at, updated_at) \
         SELECT ('01900000-0000-7000-9000-' || lpad(to_hex(g), 12, '0'))::uuid, \
                'Organisation ' || g, g || ' High Street', false, $1, $1 \
         FROM generate_series(1, 100) g",
        vec![now.into()],
    )
    .await?;
    // Bucket h = (g * 7919) % 1000 spreads every thousand consecutive users
    // evenly over 0..999 (7919 is prime), so the mix is the same in any id range.
    exec(
        db,
        "INSERT INTO users (id, kind, organisation_id, first_name, last_name, email, email_normalized, \
                            status, mobile_number, mobile_reset_pending, two_factor_method, \
                            failed_login_attempts, last_login_at, created_at, updated_at) \
         SELECT ('01900000-0000-7000-8000-' || lpad(to_hex(g), 12, '0'))::uuid, \
                CASE WHEN g % 3 = 0 THEN 'RESIDENT' ELSE 'LANDLORD' END, \
                CASE WHEN g % 3 = 0 THEN NULL \
                     ELSE ('01900000-0000-7000-9000-' || lpad(to_hex(1 + g % 100), 12, '0'))::uuid END, \
                'User', 'Number ' || g, 'user' || g || '@bench.example', 'user' || g || '@bench.example', \
                'ACTIVE', '+447' || lpad(g::text, 9, '0'), false, 'NONE', 0, \
                $1 - make_interval(days => CASE WHEN h < $2 THEN 91 + (g % 60)::int \
                                                 WHEN h < $3 THEN 77 + (g % 13)::int \
                                                 ELSE (g % 76)::int END, \
                                   secs => (g % 86000)::double precision), \
                $1 - interval '2 years', $1 \
         FROM (SELECT g, (g * 7919) % 1000 AS h FROM generate_series(1, $4::bigint) g) s",
        vec![
            now.into(),
            (args.deactivate_permille as i64).into(),
            ((args.deactivate_permille + args.warn_permille) as i64).into(),
            (args.users as i64).into(),
        ],
    )
    .await?;
    // The session of each user's last sign-in, long expired but never revoked:
    // what the sweep finds and revokes.
    exec(
        db,
        "INSERT INTO sessions (id, user_id, token_hash, created_at, last_seen_at, idle_expires_at, absolute_expires_at) \
         SELECT gen_random_uuid(), id, md5(id::text) || md5(email), last_login_at, last_login_at, \
                last_login_at + interval '30 minutes', last_login_at + interval '12 hours' \
         FROM users",
        vec![],
    )
    .await?;
    db.execute_unprepared("VACUUM ANALYZE").await?;
    db.execute_unprepared("CHECKPOINT").await?;
    eprintln!(
        "[data] {} users with sessions in {:.1} s",
        args.users,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

async fn exec(db: &DatabaseConnection, sql: &str, values: Vec<Value>) -> anyhow::Result<()> {
    db.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        sql,
        values,
    ))
    .await
    .with_context(|| format!("{}…", &sql[..sql.len().min(60)]))?;
    Ok(())
}

async fn count(db: &DatabaseConnection, sql: &str) -> anyhow::Result<i64> {
    let row = db
        .query_one_raw(Statement::from_string(DbBackend::Postgres, sql))
        .await?
        .context("COUNT returned no row")?;
    Ok(row.try_get("", "n")?)
}

/// Prints the sweep's progress every two seconds, read from the deliveries it
/// has committed (one per user; far cheaper to count than the users table).
fn watch(db: DatabaseConnection, label: &'static str, total: u64) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(Duration::from_secs(2));
        ticker.tick().await;
        loop {
            ticker.tick().await;
            if let Ok(done) = count(&db, "SELECT COUNT(*) AS n FROM notification_deliveries").await
            {
                eprintln!("[{label}] {done}/{total} users done");
            }
        }
    })
}

fn print(args: &Args, database: &str, m: &Measured) {
    let plain = m.plain.elapsed.as_secs_f64();
    let mut table = Table::new(&["scenario", "rows", "seconds", "rows/s", "× plain UPDATE"]);
    table.row(vec![
        "plain UPDATE (deactivate only, one statement)".to_owned(),
        rate(m.plain.rows as f64),
        format!("{plain:.2}"),
        rate(m.plain.per_second()),
        "1.00".to_owned(),
    ]);
    let total = Timed {
        rows: m.deactivate.rows + m.warn.rows,
        elapsed: m.deactivate.elapsed + m.warn.elapsed,
    };
    for (name, timed, ratio) in [
        (
            "sweep: deactivate (+ sessions, email, audit)",
            &m.deactivate,
            true,
        ),
        ("sweep: warn (+ email)", &m.warn, false),
        ("sweep: whole job", &total, false),
    ] {
        table.row(vec![
            name.to_owned(),
            rate(timed.rows as f64),
            format!("{:.2}", timed.elapsed.as_secs_f64()),
            rate(timed.per_second()),
            if ratio {
                format!("{:.2}", timed.elapsed.as_secs_f64() / plain)
            } else {
                "-".to_owned()
            },
        ]);
    }
    println!();
    print!("{}", table.render());
    println!();
    let s = &m.side_rows;
    println!(
        "sweep wrote beside the users: {} sessions revoked, {} deliveries, {} outbox jobs, {} audit entries",
        rate(s.sessions_revoked as f64),
        rate(s.deliveries as f64),
        rate(s.jobs as f64),
        rate(s.audit as f64)
    );
    let db_server = Url::parse(&args.database_url)
        .map(|u| server(&u))
        .unwrap_or_default();
    println!(
        "run: {} users ({}‰ due for deactivation, {}‰ due a warning), each with a session; \
         sweep in batches of {} users per transaction; data generated in {:.1} s (twice); \
         PostgreSQL {db_server} database {database}",
        rate(args.users as f64),
        args.deactivate_permille,
        args.warn_permille,
        args.batch,
        m.generate.as_secs_f64(),
    );
}
