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
//!    read. The API spools the file to a temporary file, checks it, and
//!    streams it to S3 while hashing it, all inside that time.
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

use std::{
    io::Write as _,
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
use aws_sdk_s3::{
    Client,
    config::{
        BehaviorVersion, Credentials, Region, RequestChecksumCalculation,
        ResponseChecksumValidation,
    },
    primitives::ByteStream,
};
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use chrono::Utc;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use uuid::Uuid;

use crate::{
    scratch::{ScratchDatabase, free_port, run_then_clean_up},
    table::Table,
};

/// The mutation, as a client sends it.
const UPLOAD: &str = "mutation Upload($caseId: ID!, $files: [DocumentUploadInput!]!) { \
    uploadDocuments(caseId: $caseId, files: $files) { id fileName contentType sizeBytes sha256 } }";

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
    /// The `portal` binary to run as the API (default: next to this binary,
    /// as `cargo build --release -p api` leaves it).
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
    portal: &Path,
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
    let mut child = tokio::process::Command::new(portal);
    child.arg("api").kill_on_drop(true).stdin(Stdio::null());
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
        .with_context(|| format!("cannot start {}", portal.display()))?;
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

/// An S3 client for the configured server, built as the worker builds its
/// own (path-style, checksums only where required).
fn s3_client(args: &Args) -> Client {
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .build_https();
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .http_client(http)
        .region(Region::new(args.s3_region.clone()))
        .credentials_provider(Credentials::new(
            &args.s3_access_key_id,
            &args.s3_secret_access_key,
            None,
            None,
            "portal-bench",
        ))
        .endpoint_url(args.s3_endpoint.trim_end_matches('/'))
        .force_path_style(true)
        .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
        .response_checksum_validation(ResponseChecksumValidation::WhenRequired)
        .build();
    Client::from_conf(config)
}

/// `HEAD` the object: it must exist with `size` bytes.
async fn check_size(s3: &Client, bucket: &str, key: &str, size: u64) -> anyhow::Result<()> {
    let head = s3
        .head_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "HEAD s3://{bucket}/{key}: {}",
                aws_sdk_s3::error::DisplayErrorContext(e)
            )
        })?;
    let found = head.content_length.unwrap_or(-1);
    anyhow::ensure!(
        found == size as i64,
        "s3://{bucket}/{key} holds {found} bytes, not {size}"
    );
    Ok(())
}

/// The `portal` binary: `explicit`, or next to this one.
fn portal_binary(explicit: Option<&Path>) -> anyhow::Result<PathBuf> {
    let own = std::env::current_exe()?;
    let path = match explicit {
        Some(p) => p.to_owned(),
        None => own.with_file_name("portal"),
    };
    anyhow::ensure!(
        path.is_file(),
        "no portal binary at {}: build it with `cargo build --release -p api` (same CARGO_TARGET_DIR), or pass --portal",
        path.display()
    );
    // `cargo run -p portal-bench` rebuilds the api crate into this binary, not
    // the `portal` binary: an older one measures older code.
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    if explicit.is_none()
        && let (Some(portal), Some(bench)) = (modified(&path), modified(&own))
        && portal < bench
    {
        eprintln!(
            "warning: {} is older than this bench binary; `cargo build --release -p api` to measure the current code",
            path.display()
        );
    }
    Ok(path)
}

/// Writes `size` bytes: a PDF header, then pseudo-random bytes (xorshift).
async fn write_file(path: &Path, size: u64) -> anyhow::Result<()> {
    let path = path.to_owned();
    tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
        let mut out = std::fs::File::create(&path)?;
        let header = b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n";
        out.write_all(header)?;
        let mut left = size - header.len() as u64;
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut buf = vec![0u8; 1 << 20];
        while left > 0 {
            for word in buf.chunks_exact_mut(8) {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                word.copy_from_slice(&state.to_le_bytes());
            }
            let n = left.min(buf.len() as u64) as usize;
            out.write_all(&buf[..n])?;
            left -= n as u64;
        }
        out.sync_all()?;
        Ok(())
    })
    .await?
}

/// Flushes dirty pages, so that one path's writes are not written back
/// during the next path's measurement.
fn sync() {
    let _ = std::process::Command::new("sync").status();
}

/// Writes the resident, their open case and a session. Returns the case and
/// the session token.
async fn seed(db: &DatabaseConnection) -> anyhow::Result<(Uuid, String)> {
    let (org, staff, resident, case_id) = (
        Uuid::new_v4(),
        Uuid::new_v4(),
        Uuid::new_v4(),
        Uuid::new_v4(),
    );
    let now = Utc::now();
    let user_columns = "id, kind, organisation_id, first_name, last_name, email, email_normalized, \
         status, mobile_reset_pending, two_factor_method, failed_login_attempts, staff_team, \
         staff_role, address, last_login_at, created_at, updated_at";
    let statements: Vec<(String, Vec<sea_orm::Value>)> = vec![
        (
            "INSERT INTO organisations (id, name, address, requires_two_factor, created_at, updated_at) \
             VALUES ($1, 'Bench Housing', '1 High Street', false, $2, $2)"
                .into(),
            vec![org.into(), now.into()],
        ),
        (
            format!(
                "INSERT INTO users ({user_columns}) VALUES \
                 ($1, 'STAFF', NULL, 'Case', 'Worker', 'staff@bench.example', 'staff@bench.example', \
                  'ACTIVE', false, 'NONE', 0, 'Dispute Resolution', 'CASEWORKER', NULL, $3, $3, $3), \
                 ($2, 'RESIDENT', NULL, 'Bench', 'Resident', 'resident@bench.example', 'resident@bench.example', \
                  'ACTIVE', false, 'NONE', 0, NULL, NULL, '1 Low Road', $3, $3, $3)"
            ),
            vec![staff.into(), resident.into(), now.into()],
        ),
        (
            "INSERT INTO cases (id, reference, case_type, stage, status_label, category, \
                                landlord_organisation_id, owner_user_id, closed_at, created_at, updated_at) \
             VALUES ($1, '202600001', 'Complaint about a member landlord', 'Assessment', \
                     'Case under assessment', 'Damp and mould', $2, $3, NULL, $4, $4)"
                .into(),
            vec![case_id.into(), org.into(), staff.into(), now.into()],
        ),
        (
            "INSERT INTO case_parties (id, case_id, party_kind, user_id, organisation_id, created_at) \
             VALUES ($1, $3, 'RESIDENT', $4, NULL, $6), ($2, $3, 'LANDLORD', NULL, $5, $6)"
                .into(),
            vec![
                Uuid::new_v4().into(),
                Uuid::new_v4().into(),
                case_id.into(),
                resident.into(),
                org.into(),
                now.into(),
            ],
        ),
    ];
    for (sql, values) in statements {
        db.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            sql,
            values,
        ))
        .await
        .context("seeding the case")?;
    }
    let client = api::auth::ClientInfo {
        ip: Some("127.0.0.1".into()),
        user_agent: Some("bench".into()),
        request_id: "bench".into(),
    };
    let token = api::auth::session::create(db, resident, &client).await?;
    Ok((case_id, token))
}

/// Waits until the API answers `/readyz` (or exits, or 30 s pass).
async fn wait_until_ready(
    addr: SocketAddr,
    child: &mut tokio::process::Child,
) -> anyhow::Result<()> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()?;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = child.try_wait()? {
            anyhow::bail!("the API exited during startup ({status}); see its log above");
        }
        if let Ok(response) = http.get(format!("http://{addr}/readyz")).send().await
            && response.status().is_success()
        {
            return Ok(());
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "the API did not become ready on {addr} within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Stops the API with SIGTERM (it drains and exits), or kills it after 10 s.
async fn stop_child(child: &mut tokio::process::Child, pid: u32) {
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
    if tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .is_err()
    {
        let _ = child.kill().await;
    }
}

/// A field (`VmRSS:`, `VmHWM:`) of `/proc/<pid>/status`, in KiB.
fn proc_status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// `uploadDocuments` with one file, as a GraphQL multipart request whose body
/// is streamed from `path`. Returns the document's id and recorded size.
async fn upload(
    addr: SocketAddr,
    token: &str,
    case_id: Uuid,
    path: &Path,
    filename: &str,
) -> anyhow::Result<(Uuid, u64)> {
    let boundary = format!("----portal-bench-{}", Uuid::new_v4().simple());
    let operations = json!({
        "query": UPLOAD,
        "variables": {
            "caseId": case_id,
            "files": [{ "file": null, "category": "EVIDENCE" }],
        },
    });
    let map = json!({ "0": ["variables.files.0.file"] });
    let before_file = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"operations\"\r\n\r\n{operations}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"map\"\r\n\r\n{map}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"0\"; filename=\"{filename}\"\r\n\
         Content-Type: application/pdf\r\n\r\n"
    );
    let after_file = format!("\r\n--{boundary}--\r\n");
    let file_len = tokio::fs::metadata(path).await?.len();
    let length = before_file.len() as u64 + file_len + after_file.len() as u64;
    let head = format!(
        "POST /graphql HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
         GraphQL-Require-Preflight: 1\r\nUser-Agent: portal-bench\r\n\
         Content-Type: multipart/form-data; boundary={boundary}\r\n\
         Content-Length: {length}\r\nConnection: close\r\n\r\n{before_file}"
    );

    let stream = tokio::net::TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (mut reader, mut writer) = stream.into_split();
    let send = async {
        writer.write_all(head.as_bytes()).await?;
        let mut file =
            tokio::io::BufReader::with_capacity(256 * 1024, tokio::fs::File::open(path).await?);
        let copied = tokio::io::copy_buf(&mut file, &mut writer).await?;
        anyhow::ensure!(copied == file_len, "sent {copied} of {file_len} bytes");
        writer.write_all(after_file.as_bytes()).await?;
        writer.flush().await?;
        anyhow::Ok(())
    };
    let receive = async {
        let mut response = Vec::new();
        reader.read_to_end(&mut response).await?;
        anyhow::Ok(response)
    };
    let (sent, received) = tokio::join!(send, receive);
    let response = received.context("reading the API's response")?;
    let (status, body) = match parse_response(&response) {
        Some(parsed) => parsed,
        None => {
            sent?;
            anyhow::bail!(
                "the API answered something that is not HTTP: {:?}",
                String::from_utf8_lossy(&response[..response.len().min(300)])
            );
        }
    };
    let body: Value = serde_json::from_slice(&body).with_context(|| {
        format!(
            "HTTP {status}, body not JSON: {}",
            String::from_utf8_lossy(&body)
        )
    })?;
    let document = &body["data"]["uploadDocuments"][0];
    let (Some(id), Some(size)) = (
        document["id"].as_str().and_then(|s| s.parse::<Uuid>().ok()),
        document["sizeBytes"].as_u64(),
    ) else {
        anyhow::bail!("HTTP {status}, the upload failed: {body}");
    };
    Ok((id, size))
}

/// Status and body of an HTTP/1.1 response (with `Content-Length` or chunked).
fn parse_response(raw: &[u8]) -> Option<(u16, Vec<u8>)> {
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..end]).ok()?;
    let status = head.split(' ').nth(1)?.parse().ok()?;
    let body = &raw[end + 4..];
    let chunked = head.lines().any(|l| {
        let l = l.to_ascii_lowercase();
        l.starts_with("transfer-encoding:") && l.contains("chunked")
    });
    if !chunked {
        return Some((status, body.to_vec()));
    }
    let mut out = Vec::new();
    let mut rest = body;
    loop {
        let line_end = rest.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&rest[..line_end]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        rest = &rest[line_end + 2..];
        if size == 0 {
            return Some((status, out));
        }
        out.extend_from_slice(rest.get(..size)?);
        rest = rest.get(size + 2..)?;
    }
}

fn print(args: &Args, size: u64, m: &Measured) {
    let megabytes = size as f64 / MB;
    let rate = |t: &Timed| megabytes / t.elapsed.as_secs_f64();
    let baseline = rate(&m.direct);
    println!(
        "bench upload: a {} MB PDF to S3 ({} bucket {}) through the API beside a direct PUT of the same file (MB = 1,000,000 bytes)\n",
        args.size_mb, args.s3_endpoint, args.s3_bucket
    );
    let mut table = Table::new(&["path", "seconds", "MB/s", "vs direct PUT"]);
    for t in [&m.direct, &m.storage, &m.api] {
        table.row(vec![
            t.name.to_owned(),
            format!("{:.2}", t.elapsed.as_secs_f64()),
            format!("{:.1}", rate(t)),
            format!("{:.2}", rate(t) / baseline),
        ]);
    }
    print!("{}", table.render());
    let mib = |kib: u64| kib as f64 / 1024.0;
    let growth = m.memory.peak.saturating_sub(m.memory.before);
    println!();
    let mut table = Table::new(&["API process (portal api)", "MiB"]);
    table.row(vec![
        "VmRSS before the upload".into(),
        format!("{:.1}", mib(m.memory.before)),
    ]);
    table.row(vec![
        format!(
            "VmRSS peak during the upload ({} samples, 20 ms)",
            m.memory.samples
        ),
        format!("{:.1}", mib(m.memory.peak)),
    ]);
    table.row(vec![
        "growth (goal < 64 MiB)".into(),
        format!("{:.1}", mib(growth)),
    ]);
    table.row(vec![
        "VmHWM after the upload (lifetime peak)".into(),
        format!("{:.1}", mib(m.memory.hwm)),
    ]);
    print!("{}", table.render());
}

/// The suite's row: the upload through the API beside the direct PUT.
fn headlines(args: &Args, size: u64, m: &Measured) -> anyhow::Result<()> {
    let megabytes = size as f64 / MB;
    let rate = |t: &Timed| megabytes / t.elapsed.as_secs_f64();
    let mut row = crate::headline::Headline::rate(
        format!(
            "limit: one {} MB document through `uploadDocuments` to S3 (`bench upload`; memory: API growth during it)",
            args.size_mb
        ),
        rate(&m.api),
        "direct S3 PutObject of the same file",
        rate(&m.direct),
        "MB/s",
    );
    row.memory_mib = Some(m.memory.peak.saturating_sub(m.memory.before) / 1024);
    crate::headline::emit(&[row])
}

#[cfg(test)]
mod tests {
    use super::parse_response;

    #[test]
    fn responses_are_parsed_with_either_framing() {
        let plain = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}";
        assert_eq!(parse_response(plain), Some((200, b"{}".to_vec())));
        let chunked =
            b"HTTP/1.1 413 Payload Too Large\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n{\"a\r\n3\r\n\":1\r\n1\r\n}\r\n0\r\n\r\n";
        assert_eq!(parse_response(chunked), Some((413, b"{\"a\":1}".to_vec())));
        assert_eq!(parse_response(b"garbage"), None);
    }
}
