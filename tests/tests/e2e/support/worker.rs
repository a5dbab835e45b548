//! The real worker process (`portal worker`, built as `test-worker`),
//! started against a test's database and Redis queue so that a test can
//! kill it (`Child::kill`, SIGKILL) or stop it (SIGTERM) mid-job.

use std::process::{Child, Command, Stdio};

use portal_tests::TestApp;

/// Starts the worker as `worker_id`, with a 2-second job lease and a fast
/// relay, plus the settings in `extra`. Needs Redis (`TEST_REDIS_URL`).
pub fn spawn_worker(app: &TestApp, worker_id: &str, extra: &[(&str, &str)]) -> Child {
    let (redis, queue) = app.redis_queue().expect("redis").clone();
    let mut command = Command::new(env!("CARGO_BIN_EXE_test-worker"));
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", app.database_url())
        .env("REDIS_URL", redis)
        .env("PORTAL_QUEUE_NAME", queue)
        .env("PORTAL_DATA_DIR", app.data_dir())
        .env("PORTAL_WORKER_ID", worker_id)
        .env("PORTAL_JOB_LEASE_SECS", "2")
        .env("PORTAL_RELAY_INTERVAL_MS", "100")
        .env("RUST_LOG", "warn");
    for (name, value) in extra {
        command.env(name, value);
    }
    command
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start test-worker")
}
