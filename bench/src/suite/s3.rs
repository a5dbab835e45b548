//! The S3-compatible server `bench upload` runs against inside the suite: the
//! tests' server when it answers, else an `s3s-fs` started here.

use std::{
    process::Stdio,
    time::{Duration, Instant},
};

use anyhow::Context as _;

use super::tools::ensure_cargo_tool;
use crate::scratch::free_port;

/// An S3-compatible server for `bench upload`: the one the tests use when it
/// answers, else `s3s-fs` started here (installed with `cargo install` when
/// missing) on a temporary folder.
pub struct S3Server {
    endpoint: String,
    child: Option<tokio::process::Child>,
    _root: Option<tempfile::TempDir>,
}

/// The credentials of the s3s-fs the suite starts.
const S3_KEY: (&str, &str) = ("portal-bench", "portal-bench-secret-key");
/// The bucket of the s3s-fs the suite starts.
const S3_BUCKET: &str = "portal-bench";
/// The s3s-fs version installed.
const S3S_FS_VERSION: &str = "0.14.1";

impl S3Server {
    /// The server configured for the tests (`TEST_S3_ENDPOINT`, default
    /// `http://127.0.0.1:9000`) when something listens there; else a new
    /// s3s-fs.
    pub async fn ensure() -> anyhow::Result<Self> {
        let configured =
            std::env::var("TEST_S3_ENDPOINT").unwrap_or_else(|_| "http://127.0.0.1:9000".into());
        if reqwest::Client::new()
            .get(&configured)
            .timeout(Duration::from_secs(2))
            .send()
            .await
            .is_ok()
        {
            eprintln!("[s3] using the server at {configured}");
            return Ok(Self {
                endpoint: configured,
                child: None,
                _root: None,
            });
        }
        let bin = ensure_cargo_tool(
            "s3s-fs",
            &[
                "install",
                &format!("s3s-fs@{S3S_FS_VERSION}"),
                "--features",
                "binary",
                "--locked",
            ],
        )?;
        let root = tempfile::Builder::new()
            .prefix("portal-bench-s3-")
            .tempdir()?;
        std::fs::create_dir_all(root.path().join(S3_BUCKET))?;
        let port = free_port()?.port();
        let child = tokio::process::Command::new(&bin)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--access-key", S3_KEY.0, "--secret-key", S3_KEY.1])
            .arg(root.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("cannot start {}", bin.display()))?;
        let endpoint = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        while reqwest::Client::new().get(&endpoint).send().await.is_err() {
            anyhow::ensure!(
                Instant::now() < deadline,
                "s3s-fs did not answer within 30 s"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        eprintln!("[s3] started s3s-fs {S3S_FS_VERSION} on {endpoint}");
        Ok(Self {
            endpoint,
            child: Some(child),
            _root: Some(root),
        })
    }

    /// The flags of `bench upload` for this server (none for the configured
    /// one: `bench upload` reads the same variables).
    pub(super) fn flags(&self) -> Vec<String> {
        if self.child.is_none() {
            return Vec::new();
        }
        [
            ("--s3-endpoint", self.endpoint.as_str()),
            ("--s3-bucket", S3_BUCKET),
            ("--s3-access-key-id", S3_KEY.0),
            ("--s3-secret-access-key", S3_KEY.1),
            ("--s3-region", "us-east-1"),
        ]
        .iter()
        .flat_map(|(k, v)| [(*k).to_owned(), (*v).to_owned()])
        .collect()
    }
}
