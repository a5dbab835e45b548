//! `bench`: the portal's benchmarks, one subcommand per scenario.
//!
//! Every scenario is run with one command, prints one table, and puts its
//! figure beside a named baseline measured *in the same run* on the same
//! machine, so that the numbers are read as a ratio to something known rather
//! than as absolute figures that drift with the hardware. Benchmarks live here
//! and never as timed assertions in tests: a test that fails because CI was
//! busy teaches nothing.
//!
//! ```text
//! cargo run --release -p portal-bench -- queue [--jobs 10000] [--sqlite]
//! cargo run --release -p portal-bench -- sweep [--users 1000000]
//! cargo run --release -p portal-bench -- login [--seconds 10]
//! cargo run --release -p portal-bench -- cases [--cases 100000] [--concurrency 32]
//! cargo run --release -p portal-bench -- payments [--payments 2000000] [--concurrency 32]
//! cargo run --release -p portal-bench -- export [--payments 2000000] [--small 200000]
//! cargo run --release -p portal-bench -- upload [--size-mb 250]
//! cargo run --release -p portal-bench -- suite [--size full|quick]
//! cargo run --release -p portal-bench -- soak [--minutes 5] [--rate R]
//! cargo run --release -p portal-bench -- webhooks [--events 5000] [--rate 200] [--seconds 10]
//! ```
//!
//! Progress goes to stderr, the table to stdout. `RUST_LOG` filters the
//! service's own logs (warnings only by default, so relay or queue failures
//! still show).

mod cases;
mod dataset;
mod export;
mod headline;
mod login;
mod payments;
mod queue;
mod scratch;
mod soak;
mod suite;
mod sweep;
mod table;
mod upload;
mod webhooks;

use std::{io::IsTerminal, process::ExitCode};

use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

/// Benchmarks of the landlord & resident portal back end.
#[derive(Debug, Parser)]
#[command(name = "bench", version)]
struct Cli {
    /// The scenario to run.
    #[command(subcommand)]
    command: Command,
}

/// One subcommand per scenario.
#[derive(Debug, Subcommand)]
enum Command {
    /// No-op jobs through outbox → Redis → worker, beside `redis-benchmark`
    /// LPUSH/RPOP of the same count (the ceiling).
    Queue(queue::Args),
    /// The 90-day inactivity sweep over a million users, beside one plain
    /// `UPDATE` of the same rows.
    Sweep(sweep::Args),
    /// Sign-ins per second at the configured argon2 cost, and a cheap query's
    /// p99 alone and during a login storm.
    Login(login::Args),
    /// The home query and a case page for a resident with 50 cases, on
    /// 100,000 cases: req/s, p50/p99 and SQL statements per request, beside
    /// `{ viewer { id } }`.
    Cases(cases::Args),
    /// The payment search (page of 50, totals, a date range) through a
    /// `VIEW_PAYMENTS` API token on 2,000,000 payments, beside the same SQL
    /// run directly.
    Payments(payments::Args),
    /// The payments CSV export (as the worker builds it, in a child process)
    /// on 200,000 and 2,000,000 payments, beside `psql \copy` of the same
    /// query; rows/s, ratio and the worker's peak memory.
    Export(export::Args),
    /// The child process of `export` (not for direct use).
    #[command(hide = true)]
    ExportWorker(export::WorkerArgs),
    /// A 250 MB document uploaded through the API (`portal api` child
    /// process) to S3, beside a direct PUT of the same file: MB/s, ratio and
    /// the API's memory growth.
    Upload(upload::Args),
    /// Everything side by side in one table: a realistic dataset, the API
    /// (release binary, production configuration) and PostGraphile 4 under
    /// `oha`, and the queue/export/upload limits.
    Suite(suite::Args),
    /// Minutes of mixed read/write load at 70% of the measured maximum, API
    /// and worker as child processes: zero errors, no memory growth, every
    /// job done.
    Soak(soak::Args),
    /// Webhook events delivered per second to a local receiver, beside the
    /// queue's no-op job rate in the same run, and the p99 from commit to
    /// delivery at a steady rate.
    Webhooks(webhooks::Args),
}

fn main() -> ExitCode {
    // `bench portal <mode> …` is the `portal` binary itself (`api::cli::main`),
    // before any of the bench's own set-up: the suite, `soak` and `upload` run
    // the API and the worker this way, from this binary, so one `cargo run
    // --release -p portal-bench` builds everything they start.
    let mut args = std::env::args_os();
    let program = args.next();
    let mut rest = args.peekable();
    if program.is_some() && rest.peek().is_some_and(|a| a == "portal") {
        rest.next();
        return api::cli::main(std::iter::once(std::ffi::OsString::from("portal")).chain(rest));
    }
    bench()
}

#[tokio::main]
async fn bench() -> ExitCode {
    let cli = Cli::parse();
    // Logs go to stderr with the progress lines, keeping stdout for the table.
    // The worker logs every finished job at INFO; at 10,000 jobs that would
    // bury the progress and cost measurable time, hence `warn` by default.
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .compact()
        .init();
    let result = match cli.command {
        Command::Queue(args) => queue::run(args).await,
        Command::Sweep(args) => sweep::run(args).await,
        Command::Login(args) => login::run(args).await,
        Command::Cases(args) => cases::run(args).await,
        Command::Payments(args) => payments::run(args).await,
        Command::Export(args) => export::run(args).await,
        Command::ExportWorker(args) => export::worker(args).await,
        Command::Upload(args) => upload::run(args).await,
        Command::Suite(args) => suite::run(args).await,
        Command::Soak(args) => soak::run(args).await,
        Command::Webhooks(args) => webhooks::run(args).await,
    };
    // The cause chain on one line, not `anyhow`'s `Debug` (which adds a
    // backtrace of the benchmark's own code whenever RUST_BACKTRACE is set).
    if let Err(e) = result {
        eprintln!("error: {e:#}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
