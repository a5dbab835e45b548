//! Load generation: one `oha` run against a server, with the server's RSS
//! sampled during it, read back as [`Oha`] figures.

use std::{path::Path, process::Stdio};

use anyhow::Context as _;
use serde_json::Value;

use super::server::{Server, mib};
use crate::table::rate;

/// One oha run.
pub struct Oha {
    pub rps: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub success_rate: f64,
    pub requests: u64,
    pub peak_rss_kib: u64,
}

impl Oha {
    pub(super) fn success(&self) -> String {
        format!("{:.2}% ok", self.success_rate * 100.0)
    }
}

/// `body` POSTed to `server` by oha at `concurrency` for `seconds`, the
/// server's RSS sampled every 100 ms.
pub async fn load(
    oha: &Path,
    concurrency: u64,
    seconds: u64,
    server: &Server,
    token: Option<&str>,
    body: &Value,
) -> anyhow::Result<Oha> {
    let mut cmd = tokio::process::Command::new(oha);
    cmd.args(["--no-tui", "--output-format", "json", "-m", "POST"])
        .args(["-c", &concurrency.to_string(), "-z", &format!("{seconds}s")])
        .args(["-H", "content-type: application/json"])
        .args(["-d", &body.to_string()]);
    if let Some(token) = token {
        cmd.args(["-H", &format!("authorization: Bearer {token}")]);
    }
    cmd.arg(&server.endpoint)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .kill_on_drop(true);
    let sampler = server.sample_rss();
    let output = cmd.output().await.context("cannot run oha")?;
    let peak_rss_kib = sampler.stop().await;
    anyhow::ensure!(output.status.success(), "oha failed: {}", output.status);
    let report: Value =
        serde_json::from_slice(&output.stdout).context("oha's output is not JSON")?;
    let summary = &report["summary"];
    let percentile =
        |p: &str| report["latencyPercentiles"][p].as_f64().unwrap_or(f64::NAN) * 1000.0;
    let requests = report["statusCodeDistribution"]
        .as_object()
        .map_or(0, |codes| codes.values().filter_map(Value::as_u64).sum());
    let ok = report["statusCodeDistribution"]["200"]
        .as_u64()
        .unwrap_or(0);
    let result = Oha {
        rps: summary["requestsPerSec"].as_f64().unwrap_or(0.0),
        p50_ms: percentile("p50"),
        p99_ms: percentile("p99"),
        success_rate: summary["successRate"].as_f64().unwrap_or(0.0)
            * (ok as f64 / requests.max(1) as f64),
        requests,
        peak_rss_kib,
    };
    eprintln!(
        "[load]   {} requests, {} req/s, p50 {:.1} ms, p99 {:.1} ms, {}, peak RSS {} MiB",
        result.requests,
        rate(result.rps),
        result.p50_ms,
        result.p99_ms,
        result.success(),
        mib(peak_rss_kib)
    );
    Ok(result)
}
