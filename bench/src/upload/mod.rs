//! `bench upload`: one large document (250 MB by default) uploaded through the
//! API to an S3-compatible server, beside a direct `PutObject` of the same file
//! to the same server in the same run, with the API process's memory.
//!
//! 1. **The file**: `--size-mb` × 1,000,000 bytes in a temporary `.pdf`
//!    (`%PDF-1.7` then pseudo-random bytes, which pass the upload checks:
//!    PDF magic, no `/Encrypt`), written once and streamed from disk by every
//!    path below; nothing holds it in memory.
//! 2. **The API** runs as a child process, exactly as deployed: the `portal`
//!    binary (`cargo build --release -p api`, found next to this binary or
//!    given with `--portal`) as `portal api`, against a scratch PostgreSQL
//!    database (migrated and seeded here: a resident party to one open case,
//!    with a session), a scratch Redis prefix and the S3 bucket, with
//!    `PORTAL_MAX_UPLOAD_BYTES` raised to fit the file. It runs without the
//!    worker and without `PORTAL_CLAMD_ADDR`, so no scan job touches the
//!    upload while it is measured. One small upload warms it up first.
//! 3. **(a) Direct PUT** (the baseline): one `PutObject` by aws-sdk-s3,
//!    streamed from the file (`ByteStream::from_path`, known length, so the
//!    SDK signs it `UNSIGNED-PAYLOAD` and reads the file once).
//! 4. **(b) `Storage::put`**, in this process: the storage layer the API
//!    uses (a multipart upload of 8 MiB parts, 2 in flight) reading the same
//!    file, to tell the cost of multipart from the cost of the API itself.
//! 5. **(c) Through the API**: `uploadDocuments(caseId:, files: [{file,
//!    category}])` as a GraphQL multipart request on `POST /graphql` with a
//!    `Bearer` session and `GraphQL-Require-Preflight: 1`, the body streamed
//!    from the file over a plain HTTP/1.1 connection (hand-written request,
//!    `Content-Length` known), timed from the first byte sent to the response
//!    read. The API decides the file's type from its leading bytes, then
//!    hashes and scans it as it arrives and streams it to S3 in the same
//!    pass (`api::documents::stream`: the first 8 MiB are spooled, the rest
//!    goes from the request to the multipart upload), all inside that time.
//!
//! Each object is checked with `HEAD` (its size must be the file's) and
//! deleted; `sync` runs before each path so that one path's dirty pages are
//! not written back during the next. The API's memory: `VmRSS` of the child
//! from `/proc/<pid>/status` before (c), sampled every 20 ms during (c) (the
//! peak), and `VmHWM` after; the growth is the peak minus before (goal: under
//! 64 MiB).
//!
//! S3: `TEST_S3_ENDPOINT`, `TEST_S3_BUCKET`, `TEST_S3_ACCESS_KEY_ID`,
//! `TEST_S3_SECRET_ACCESS_KEY`, `TEST_S3_REGION` (the variables of the tests)
//! or the flags; the defaults are the server `.ci/run` starts. Progress goes
//! to stderr; the database, the Redis keys, the objects and the file are
//! removed at the end, also when the run fails.
//!
//! Where things are: this file has the options, the run and the three timed
//! paths; [`setup`] builds the S3 client, finds the `portal` binary, writes
//! the file and seeds the case; [`child`] talks to the `portal api` child
//! process (readiness, the hand-written multipart request, its memory,
//! stopping it); [`report`] prints the tables and the suite's row.

mod child;
mod report;
mod setup;

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    process::Stdio,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::Context as _;
use aws_sdk_s3::{Client, primitives::ByteStream};
use uuid::Uuid;

use self::{
    child::{proc_status_kib, stop_child, upload, wait_until_ready},
    report::{headlines, print},
    setup::{check_size, portal_binary, s3_client, seed, write_file},
};
use crate::scratch::{ScratchDatabase, free_port, run_then_clean_up};

/// One megabyte, as the sizes and rates are counted.
const MB: f64 = 1_000_000.0;

/// The command that starts the services of the CI script, S3 included.
const START_SERVICES: &str = "CI_KEEP_SERVICES=1 CI_SKIP_CARGO=1 bash .ci/run";

/// Options of `bench upload`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Size of the uploaded file, in MB (1,000,000 bytes). At most 2000: the
    /// API reports sizes as a GraphQL `Int`.
    #[arg(long, default_value_t = 250, value_parser = clap::value_parser!(u64).range(1..=2000))]
    size_mb: u64,
    /// The S3-compatible server.
    #[arg(
        long,
        env = "TEST_S3_ENDPOINT",
        default_value = "http://127.0.0.1:9000"
    )]
    s3_endpoint: String,
    /// The bucket (it must exist).
    #[arg(long, env = "TEST_S3_BUCKET", default_value = "portal-test")]
    s3_bucket: String,
    /// Access key id.
    #[arg(long, env = "TEST_S3_ACCESS_KEY_ID", default_value = "ci-access")]
    s3_access_key_id: String,
    /// Secret access key.
    #[arg(
        long,
        env = "TEST_S3_SECRET_ACCESS_KEY",
        default_value = "ci-secret-key-123",
        hide_env_values = true,
        hide_default_value = true
    )]
    s3_secret_access_key: String,
    /// Region.
    #[arg(long, env = "TEST_S3_REGION", default_value = "us-east-1")]
    s3_region: String,
    /// A `portal` binary to run as the API (default: this binary's own
    /// `portal` subcommand, the same code built with it).
    #[arg(long)]
    portal: Option<PathBuf>,
    /// A PostgreSQL server URL; the bench creates (and drops) its own
    /// `portal_bench_<random>` database on that server.
    #[arg(long, default_value = crate::scratch::DEFAULT_DATABASE_URL)]
    database_url: String,
    /// Redis for the API's job queue and rate limits; only keys under
    /// `portal-bench:<random>:` are written, and deleted at the end.
    #[arg(long, default_value = "redis://127.0.0.1:6379")]
    redis_url: String,
}

/// One path's result.
struct Timed {
    name: &'static str,
    elapsed: Duration,
}

/// The API process's memory, in KiB.
struct Memory {
    before: u64,
    peak: u64,
    samples: usize,
    hwm: u64,
}

/// What the run measured.
struct Measured {
    direct: Timed,
    storage: Timed,
    api: Timed,
    memory: Memory,
}

/// Runs the scenario and prints the table.
pub async fn run(args: Args) -> anyhow::Result<()> {
    let crate::scratch::RunNames {
        id: run_id,
        database,
        prefix,
    } = crate::scratch::RunNames::new();
    let size = args.size_mb * 1_000_000;
    eprintln!(
        "bench upload: {} MB through the API beside a direct PUT, S3 at {} bucket {} (run {run_id})",
        args.size_mb, args.s3_endpoint, args.s3_bucket
    );

    let s3 = s3_client(&args);
    s3.head_bucket()
        .bucket(&args.s3_bucket)
        .send()
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "no S3-compatible server answers with bucket {} at {} ({}); start one with `{START_SERVICES}`",
                args.s3_bucket,
                args.s3_endpoint,
                aws_sdk_s3::error::DisplayErrorContext(e)
            )
        })?;
    eprintln!("[s3] bucket {} answers", args.s3_bucket);
    let portal = portal_binary(args.portal.as_deref())?;

    let dir = tempfile::Builder::new()
        .prefix("portal-bench-upload-")
        .tempdir()?;
    let file = dir.path().join("bench-upload.pdf");
    let started = Instant::now();
    write_file(&file, size).await?;
    eprintln!(
        "[file] {} bytes in {} ({:.1} s)",
        size,
        file.display(),
        started.elapsed().as_secs_f64()
    );

    let scratch = ScratchDatabase::create(&args.database_url, &database).await?;
    eprintln!("[postgres] created database {database}");
    let url = scratch.url.clone();
    // Objects written by the run, deleted at the end whatever happens.
    let written = std::sync::Mutex::new(Vec::<String>::new());
    let scenario = async {
        let db = platform::db::connect_url(&url).await?;
        platform::db::migrate(&db).await.context("migrations")?;
        let (case_id, token) = seed(&db).await?;
        db.close().await.ok();
        let addr = free_port()?;
        let vars = vec![
            ("DATABASE_URL", url.clone()),
            ("REDIS_URL", args.redis_url.clone()),
            ("PORTAL_QUEUE_NAME", prefix.clone()),
            ("PORTAL_DATA_DIR", dir.path().display().to_string()),
            ("PORTAL_BIND_ADDR", addr.to_string()),
            ("PORTAL_S3_BUCKET", args.s3_bucket.clone()),
            ("PORTAL_S3_ENDPOINT", args.s3_endpoint.clone()),
            ("PORTAL_S3_REGION", args.s3_region.clone()),
            ("PORTAL_S3_ACCESS_KEY_ID", args.s3_access_key_id.clone()),
            (
                "PORTAL_S3_SECRET_ACCESS_KEY",
                args.s3_secret_access_key.clone(),
            ),
            ("PORTAL_S3_FORCE_PATH_STYLE", "true".into()),
            (
                "PORTAL_MAX_UPLOAD_BYTES",
                (size + 50 * 1024 * 1024).max(300 * 1024 * 1024).to_string(),
            ),
        ];
        measure(
            &args, &s3, &portal, &vars, addr, case_id, &token, &file, size, &written,
        )
        .await
    };
    let result = run_then_clean_up(scratch, Some((&args.redis_url, &prefix)), None, scenario).await;
    let keys = written.lock().map(|k| k.clone()).unwrap_or_default();
    for key in &keys {
        match s3
            .delete_object()
            .bucket(&args.s3_bucket)
            .key(key)
            .send()
            .await
        {
            Ok(_) => eprintln!("cleanup: deleted s3://{}/{key}", args.s3_bucket),
            Err(e) => eprintln!(
                "cleanup: could not delete s3://{}/{key}: {}",
                args.s3_bucket,
                aws_sdk_s3::error::DisplayErrorContext(e)
            ),
        }
    }
    let measured = result?;
    print(&args, size, &measured);
    headlines(&args, size, &measured)?;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn measure(
    args: &Args,
    s3: &Client,
    portal: &crate::suite::Portal,
    vars: &[(&str, String)],
    addr: SocketAddr,
    case_id: Uuid,
    token: &str,
    file: &Path,
    size: u64,
    written: &std::sync::Mutex<Vec<String>>,
) -> anyhow::Result<Measured> {
    let remember = |key: &str| {
        if let Ok(mut keys) = written.lock() {
            keys.push(key.to_owned());
        }
    };
    let bucket = &args.s3_bucket;

    // (a) Direct PutObject, streamed from the file.
    sync();
    let key = format!("bench/upload-{}.pdf", Uuid::new_v4().simple());
    remember(&key);
    eprintln!("[a] PutObject {size} bytes to s3://{bucket}/{key}");
    let started = Instant::now();
    s3.put_object()
        .bucket(bucket)
        .key(&key)
        .content_type("application/pdf")
        .body(ByteStream::from_path(file).await.context("open the file")?)
        .send()
        .await
        .map_err(|e| anyhow::anyhow!("PutObject: {}", aws_sdk_s3::error::DisplayErrorContext(e)))?;
    let direct = Timed {
        name: "(a) direct PutObject (aws-sdk-s3, streamed from disk)",
        elapsed: started.elapsed(),
    };
    check_size(s3, bucket, &key, size).await?;
    eprintln!("[a] {:.2} s", direct.elapsed.as_secs_f64());

    // (b) The storage layer the API uses, in this process.
    let config = platform::config::Config::from_vars(
        vars.iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect::<Vec<_>>(),
    )?;
    let storage = platform::storage::Storage::from_config(&config).await?;
    sync();
    let key = platform::storage::keys::document(Uuid::now_v7());
    remember(&key);
    eprintln!("[b] Storage::put {size} bytes to s3://{bucket}/{key}");
    let started = Instant::now();
    let stored = storage
        .put(&key, tokio::fs::File::open(file).await?, "application/pdf")
        .await
        .context("Storage::put")?;
    let storage_put = Timed {
        name: "(b) Storage::put (multipart, 8 MiB parts, 2 in flight)",
        elapsed: started.elapsed(),
    };
    anyhow::ensure!(
        stored == size,
        "Storage::put stored {stored} bytes, not {size}"
    );
    check_size(s3, bucket, &key, size).await?;
    eprintln!("[b] {:.2} s", storage_put.elapsed.as_secs_f64());

    // (c) Through the API, in a child process.
    let mut child = portal.command("api");
    child.kill_on_drop(true).stdin(Stdio::null());
    // Nothing of the caller's configuration leaks in (a PORTAL_CLAMD_ADDR
    // would start scans, which this bench keeps out).
    for (name, _) in std::env::vars() {
        if name.starts_with("PORTAL_") || name == "DATABASE_URL" || name == "REDIS_URL" {
            child.env_remove(name);
        }
    }
    child.envs(vars.iter().map(|(k, v)| (*k, v.as_str())));
    child.env(
        "RUST_LOG",
        std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()),
    );
    let mut child = child
        .spawn()
        .with_context(|| format!("cannot start {} api", portal.display()))?;
    let pid = child.id().context("the API exited at once")?;
    eprintln!("[c] started {} api (pid {pid}) on {addr}", portal.display());
    wait_until_ready(addr, &mut child).await?;

    // Warm-up: the S3 client, the database pool, the first allocations.
    let small = file.with_file_name("warm-up.pdf");
    tokio::fs::write(&small, b"%PDF-1.7\nwarm-up\n%%EOF\n").await?;
    let warm = upload(addr, token, case_id, &small, "warm-up.pdf").await?;
    remember(&platform::storage::keys::document(warm.0));
    tokio::fs::remove_file(&small).await.ok();

    sync();
    let before = proc_status_kib(pid, "VmRSS:").context("read /proc/<pid>/status")?;
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = {
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut peak = 0;
            let mut samples = 0;
            let mut tick = tokio::time::interval(Duration::from_millis(20));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            while !stop.load(Ordering::Relaxed) {
                tick.tick().await;
                if let Some(rss) = proc_status_kib(pid, "VmRSS:") {
                    peak = peak.max(rss);
                    samples += 1;
                }
            }
            (peak, samples)
        })
    };
    eprintln!("[c] uploadDocuments {size} bytes through POST /graphql (API RSS {before} KiB)");
    let started = Instant::now();
    let uploaded = upload(addr, token, case_id, file, "bench-upload.pdf").await;
    let elapsed = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    let (peak, samples) = sampler.await?;
    let hwm = proc_status_kib(pid, "VmHWM:").unwrap_or(0);
    let (id, stored) = uploaded?;
    let key = platform::storage::keys::document(id);
    remember(&key);
    anyhow::ensure!(
        stored == size,
        "the API recorded {stored} bytes, not {size}"
    );
    check_size(s3, bucket, &key, size).await?;
    let api = Timed {
        name: "(c) uploadDocuments through the API (portal api)",
        elapsed,
    };
    eprintln!(
        "[c] {:.2} s; RSS peak {peak} KiB over {samples} samples, VmHWM {hwm} KiB",
        elapsed.as_secs_f64()
    );
    stop_child(&mut child, pid).await;
    Ok(Measured {
        direct,
        storage: storage_put,
        api,
        memory: Memory {
            before,
            peak,
            samples,
            hwm,
        },
    })
}

/// Flushes dirty pages, so that one path's writes are not written back
/// during the next path's measurement.
fn sync() {
    let _ = std::process::Command::new("sync").status();
}
