//! `bench export`: the payments CSV export as the worker runs it, beside
//! `psql \copy` of the same query, at two sizes, with the worker's peak
//! memory.
//!
//! 1. **Data**, set-based (`generate_series`): two organisations, 500
//!    tenants and 500 properties each; the first has `--small` payments
//!    (default 200,000), the second `--payments` (default 2,000,000), over
//!    the last two years. Then `VACUUM ANALYZE`.
//! 2. For each organisation:
//!    - **Baseline**: `psql -c "\copy (<the export's SELECT>) to /dev/null
//!      with csv header"`, timed as a process (the same SELECT the export's
//!      `COPY` runs: the payment search's query with the property joined and
//!      the cells formatted and formula-escaped).
//!    - **Export**: a `payment_exports` row as `requestPaymentExport` writes
//!      it, built by a **child process** (this binary's hidden
//!      `export-worker` subcommand) calling the same
//!      `api::exports::export_payments::build` the worker's `export_payments` job calls,
//!      into local storage under a temporary folder. The child times the
//!      build alone (not its start-up) and reports its peak resident memory
//!      (`VmHWM` from `/proc/self/status`), so the figure is the export's own
//!      and is not mixed with the data generation in this process.
//! 3. The table: rows/s of each, the ratio (goal ≥ 0.7), the file size and
//!    the worker's peak memory at both sizes (goal: the same at both).

use std::{path::Path, process::Stdio, time::Instant};

use anyhow::Context as _;
use chrono::Utc;
use sea_orm::{ActiveModelTrait, ConnectionTrait, DatabaseConnection, DbBackend, Statement};
use uuid::Uuid;

use api::{exports::csv_format, payments::search};
use platform::{config::Config, storage::Storage};

use crate::{
    scratch::{ScratchDatabase, run_then_clean_up},
    table::{Table, rate},
};

/// Tenants (and properties) per organisation.
const TENANTS: i64 = 500;
/// Days of payment history.
const HISTORY_DAYS: i64 = 730;

/// Options of `bench export`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Payments of the large organisation.
    #[arg(long, default_value_t = 2_000_000, value_parser = clap::value_parser!(i64).range(1000..))]
    payments: i64,
    /// Payments of the small organisation (the second size, to show memory
    /// does not grow with rows).
    #[arg(long, default_value_t = 200_000, value_parser = clap::value_parser!(i64).range(100..))]
    small: i64,
    /// A PostgreSQL server URL; the bench creates (and drops) its own
    /// `portal_bench_<random>` database on that server.
    #[arg(long, default_value = crate::scratch::DEFAULT_DATABASE_URL)]
    database_url: String,
}

/// Options of the hidden `export-worker` subcommand (the child process).
#[derive(Debug, clap::Args)]
pub struct WorkerArgs {
    /// Database of the export.
    #[arg(long)]
    database_url: String,
    /// Local storage folder.
    #[arg(long)]
    data_dir: String,
    /// The `payment_exports` row to build.
    #[arg(long)]
    export_id: Uuid,
}

/// One size's results.
struct Size {
    rows: i64,
    psql_seconds: f64,
    export_seconds: f64,
    exported_rows: u64,
    bytes: u64,
    peak_kib: u64,
}

/// Runs the scenario and prints the table.
pub async fn run(args: Args) -> anyhow::Result<()> {
    which_psql()?;
    let crate::scratch::RunNames {
        id: run_id,
        database,
        ..
    } = crate::scratch::RunNames::new();
    eprintln!(
        "bench export: {} and {} payments (run {run_id})",
        args.small, args.payments
    );
    let data_dir = tempfile::Builder::new().prefix("portal-bench-").tempdir()?;
    let scratch = ScratchDatabase::create(&args.database_url, &database).await?;
    eprintln!("[postgres] created database {database}");
    let url = scratch.url.clone();
    let scenario = async {
        let db = platform::db::connect_url(&url).await?;
        platform::db::migrate(&db).await.context("migrations")?;
        let measured = measure(&args, &db, &url, data_dir.path()).await;
        db.close().await.ok();
        measured
    };
    let sizes = run_then_clean_up(scratch, None, None, scenario).await?;
    print(&sizes);
    headlines(&sizes)?;
    Ok(())
}

fn which_psql() -> anyhow::Result<()> {
    let ok = std::process::Command::new("psql")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    anyhow::ensure!(
        ok,
        "psql is needed for the baseline (apt-get install postgresql-client)"
    );
    Ok(())
}

/// Organisation `o` (1 or 2) with its tenants, properties and `payments`.
async fn generate(db: &DatabaseConnection, o: i64, payments: i64) -> anyhow::Result<Uuid> {
    let now = Utc::now();
    let today = now.date_naive();
    crate::dataset::step(
        db,
        "organisation",
        "INSERT INTO organisations (id, name, address, requires_two_factor, created_at, updated_at) \
         VALUES (md5('org' || $2::bigint)::uuid, 'Housing Association ' || $2::bigint, '1 High Street', false, $1, $1)",
        vec![now.into(), o.into()],
    )
    .await?;
    crate::dataset::step(
        db,
        "properties",
        "INSERT INTO properties (id, organisation_id, reference, address_line1, address_line2, town, postcode, \
             rent_pence, service_charge_pence, rent_frequency, removed_at, created_at, updated_at) \
         SELECT md5('property' || $2::bigint || '-' || t)::uuid, md5('org' || $2::bigint)::uuid, 'FLAT-' || t, \
                t || ' High Street', NULL, 'Leeds', 'LS' || (t % 20 + 1) || ' ' || (t % 9 + 1) || 'AB', \
                65000, 2500, 'MONTHLY', NULL, $1, $1 \
         FROM generate_series(1, $3::bigint) t",
        vec![now.into(), o.into(), TENANTS.into()],
    )
    .await?;
    crate::dataset::step(
        db,
        "tenants",
        "INSERT INTO tenants (id, organisation_id, first_name, last_name, claim_reference, property_id, created_at, updated_at) \
         SELECT md5('tenant' || $2::bigint || '-' || t)::uuid, md5('org' || $2::bigint)::uuid, \
                'Tenant', 'Number ' || t, 'UC-' || $2::bigint || lpad(t::text, 8, '0'), \
                md5('property' || $2::bigint || '-' || t)::uuid, $1, $1 \
         FROM generate_series(1, $3::bigint) t",
        vec![now.into(), o.into(), TENANTS.into()],
    )
    .await?;
    // A few names a spreadsheet would take for formulas or must quote, so
    // the escaping and quoting paths run at their real share.
    crate::dataset::step(
        db,
        "payments",
        "INSERT INTO payments (id, organisation_id, tenant_id, property_id, tenant_name, postcode, \
             claim_reference, amount_pence, payment_date, period_start, period_end, arrangement_reference, created_at) \
         SELECT md5('payment' || $2::bigint || '-' || g)::uuid, md5('org' || $2::bigint)::uuid, \
                md5('tenant' || $2::bigint || '-' || t)::uuid, md5('property' || $2::bigint || '-' || t)::uuid, \
                CASE WHEN t % 100 = 0 THEN '=Tenant ' || t WHEN t % 101 = 0 THEN 'Smith, Jo ' || t ELSE 'Tenant Number ' || t END, \
                'LS' || (t % 20 + 1) || ' ' || (t % 9 + 1) || 'AB', \
                'UC-' || $2::bigint || lpad(t::text, 8, '0'), 10000 + (g * 37) % 90000, \
                $1::date - (g % $4::bigint)::int, $1::date - (g % $4::bigint)::int - 37, \
                $1::date - (g % $4::bigint)::int - 8, CASE WHEN t % 10 = 0 THEN 'APA-2026-' || lpad(t::text, 5, '0') END, $5 \
         FROM (SELECT g, (g % $3::bigint) + 1 AS t FROM generate_series(1, $6::bigint) g) s",
        vec![
            today.into(),
            o.into(),
            TENANTS.into(),
            HISTORY_DAYS.into(),
            now.into(),
            payments.into(),
        ],
    )
    .await?;
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT md5('org' || $1::bigint)::uuid AS id",
            vec![o.into()],
        ))
        .await?
        .context("no organisation id")?;
    Ok(row.try_get("", "id")?)
}

async fn measure(
    args: &Args,
    db: &DatabaseConnection,
    url: &str,
    data_dir: &Path,
) -> anyhow::Result<Vec<Size>> {
    let small = generate(db, 1, args.small).await?;
    let large = generate(db, 2, args.payments).await?;
    let started = Instant::now();
    db.execute_unprepared("VACUUM ANALYZE").await?;
    eprintln!(
        "[data] VACUUM ANALYZE in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let mut sizes = vec![];
    for (org, rows) in [(small, args.small), (large, args.payments)] {
        let filter = search::PaymentFilter::default();
        let select = csv_format::select_sql(search::query(org, &filter));
        // The baseline before and after the export, the better one
        // counting, so a warmer cache cannot favour the export.
        let before = psql_copy(url, &select)?;
        eprintln!("[psql] {rows} rows: \\copy in {before:.2} s");
        let (export_seconds, exported_rows, bytes, peak_kib) =
            export_in_child(db, url, data_dir, org).await?;
        let after = psql_copy(url, &select)?;
        eprintln!("[psql] {rows} rows: \\copy in {after:.2} s");
        let psql_seconds = before.min(after);
        anyhow::ensure!(
            exported_rows == rows as u64,
            "the export wrote {exported_rows} rows, the organisation has {rows}"
        );
        eprintln!(
            "[export] {rows} rows in {export_seconds:.2} s, {bytes} bytes, worker peak {} MiB",
            peak_kib / 1024
        );
        sizes.push(Size {
            rows,
            psql_seconds,
            export_seconds,
            exported_rows,
            bytes,
            peak_kib,
        });
    }
    Ok(sizes)
}

/// Times `psql -c "\copy (select) to /dev/null with csv header"`.
fn psql_copy(url: &str, select: &str) -> anyhow::Result<f64> {
    let started = Instant::now();
    let output = std::process::Command::new("psql")
        .arg(url)
        .arg("-X")
        .arg("-q")
        .arg("-v")
        .arg("ON_ERROR_STOP=1")
        .arg("-c")
        .arg(format!("\\copy ({select}) to /dev/null with csv header"))
        .output()
        .context("running psql")?;
    let seconds = started.elapsed().as_secs_f64();
    anyhow::ensure!(
        output.status.success(),
        "psql failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(seconds)
}

/// Records an export of `org` as `requestPaymentExport` would and builds it
/// in a child process; returns (seconds, rows, bytes, peak KiB).
async fn export_in_child(
    db: &DatabaseConnection,
    url: &str,
    data_dir: &Path,
    org: Uuid,
) -> anyhow::Result<(f64, u64, u64, u64)> {
    let id = Uuid::now_v7();
    api::exports::queued(id, org, serde_json::json!({}), None, None)
        .insert(db)
        .await?;
    let output = tokio::process::Command::new(std::env::current_exe()?)
        .arg("export-worker")
        .arg("--database-url")
        .arg(url)
        .arg("--data-dir")
        .arg(data_dir)
        .arg("--export-id")
        .arg(id.to_string())
        .stderr(Stdio::inherit())
        .output()
        .await
        .context("running the export worker")?;
    anyhow::ensure!(output.status.success(), "the export worker failed");
    let report: serde_json::Value =
        serde_json::from_slice(&output.stdout).context("the export worker's report")?;
    let get = |k: &str| report[k].as_f64().unwrap_or(0.0);
    Ok((
        get("seconds"),
        get("rows") as u64,
        get("bytes") as u64,
        get("peak_kib") as u64,
    ))
}

/// The child process: builds one export exactly as the worker's job does
/// and prints `{seconds, rows, bytes, peak_kib}` as JSON on stdout.
pub async fn worker(args: WorkerArgs) -> anyhow::Result<()> {
    let config = Config::from_vars(
        [
            ("DATABASE_URL", args.database_url.clone()),
            ("PORTAL_DATA_DIR", args.data_dir.clone()),
            // Required beside PostgreSQL by the configuration; never
            // contacted here (the export needs no queue).
            ("REDIS_URL", "redis://127.0.0.1:6379".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v)),
    )?;
    let db = platform::db::connect(&config).await?;
    let storage = Storage::from_config(&config).await?;
    let started = Instant::now();
    let report = api::exports::export_payments::build(&db, &storage, args.export_id)
        .await
        .map_err(|e| anyhow::anyhow!("export failed: {e}"))?;
    let seconds = started.elapsed().as_secs_f64();
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let peak_kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0);
    println!(
        "{}",
        serde_json::json!({
            "seconds": seconds,
            "rows": report.rows,
            "bytes": report.bytes,
            "peak_kib": peak_kib,
        })
    );
    db.close().await.ok();
    Ok(())
}

fn print(sizes: &[Size]) {
    let mut table = Table::new(&[
        "rows",
        "psql \\copy rows/s",
        "export rows/s",
        "ratio",
        "export s",
        "file MiB",
        "worker peak RSS",
    ]);
    for s in sizes {
        let psql = s.rows as f64 / s.psql_seconds;
        let export = s.exported_rows as f64 / s.export_seconds;
        table.row(vec![
            s.rows.to_string(),
            rate(psql),
            rate(export),
            format!("{:.2}", export / psql),
            format!("{:.2}", s.export_seconds),
            format!("{:.1}", s.bytes as f64 / (1024.0 * 1024.0)),
            format!("{} MiB", s.peak_kib / 1024),
        ]);
    }
    println!(
        "bench export: the payments CSV export (PostgreSQL COPY → local storage, in a worker child process) beside psql \\copy of the same SELECT to /dev/null (goal: ratio ≥ 0.7; peak memory flat)\n"
    );
    println!("{}", table.render());
}

/// The suite's rows: one per size.
fn headlines(sizes: &[Size]) -> anyhow::Result<()> {
    let rows: Vec<_> = sizes
        .iter()
        .map(|s| {
            crate::headline::Headline::rate(
                format!(
                    "limit: payments CSV export, {} rows, COPY → storage in a worker (`bench export`)",
                    rate(s.rows as f64)
                ),
                s.exported_rows as f64 / s.export_seconds,
                "psql \\copy of the same SELECT",
                s.rows as f64 / s.psql_seconds,
                "rows/s",
            )
            .memory_kib(s.peak_kib)
        })
        .collect();
    crate::headline::emit(&rows)
}
