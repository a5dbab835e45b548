//! The servers under test as child processes (`portal api`, `portal worker`,
//! PostGraphile): starting them and waiting until they answer, one GraphQL
//! request, their memory from `/proc/<pid>/status` (the RSS [`Sampler`]) and
//! stopping them.

use std::{
    process::Stdio,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::Context as _;
use serde_json::{Value, json};

use super::tools::PeerInstall;
use crate::scratch::free_port;

/// A server child process (the portal, a worker, PostGraphile).
pub struct Server {
    pub child: tokio::process::Child,
    pub pid: u32,
    pub endpoint: String,
}

/// A running RSS sampler.
pub struct Sampler {
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<u64>,
}

impl Sampler {
    /// Stops sampling; the peak `VmRSS` seen, in KiB.
    pub async fn stop(self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        self.task.await.unwrap_or(0)
    }
}

impl Server {
    /// `portal <command>` with `vars` (and nothing else of the caller's
    /// `PORTAL_*`), waiting for `/healthz` when it serves HTTP.
    pub async fn start_portal(
        portal: &super::tools::Portal,
        command: &str,
        vars: &[(&'static str, String)],
    ) -> anyhow::Result<Self> {
        let mut cmd = portal.command(command);
        // Its logs (stdout) go to our stderr, with the progress: stdout is the table's.
        let logs = std::os::fd::AsFd::as_fd(&std::io::stderr()).try_clone_to_owned()?;
        cmd.kill_on_drop(true)
            .stdin(Stdio::null())
            .stdout(Stdio::from(logs));
        for (name, _) in std::env::vars() {
            if name.starts_with("PORTAL_") || name == "DATABASE_URL" || name == "REDIS_URL" {
                cmd.env_remove(name);
            }
        }
        cmd.envs(vars.iter().map(|(k, v)| (*k, v.as_str())));
        cmd.env(
            "RUST_LOG",
            std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()),
        );
        let child = cmd
            .spawn()
            .with_context(|| format!("cannot start {} {command}", portal.display()))?;
        let pid = child.id().context("the child exited at once")?;
        let addr = vars
            .iter()
            .find(|(k, _)| *k == "PORTAL_BIND_ADDR")
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        let mut server = Self {
            child,
            pid,
            endpoint: format!("http://{addr}/graphql"),
        };
        eprintln!("[server] portal {command} (pid {pid})");
        if command == "api" {
            server
                .wait_until_up(&format!("http://{addr}/healthz"), false)
                .await?;
        }
        Ok(server)
    }

    /// A PostGraphile peer on `database_url`, on a free port.
    pub async fn start_postgraphile(
        peer: &PeerInstall,
        database_url: &str,
    ) -> anyhow::Result<Self> {
        let port = free_port()?.port();
        let mut cmd = tokio::process::Command::new(&peer.program);
        cmd.args(&peer.args).current_dir(&peer.dir);
        if peer.major == 4 {
            cmd.args(["-c", database_url, "--schema", "public"])
                .args(["--host", "127.0.0.1", "--port", &port.to_string()])
                .args(["--disable-default-mutations", "--disable-query-log"])
                .args(["--append-plugins", "postgraphile-plugin-connection-filter"]);
        } else {
            // graphile.config.mjs reads these (see `tools::ensure_postgraphile5`).
            cmd.env("PEER_DATABASE_URL", database_url)
                .env("PEER_PORT", port.to_string());
        }
        cmd.env("NODE_ENV", "production")
            .kill_on_drop(true)
            .stdin(Stdio::null())
            .stdout(Stdio::null());
        let child = cmd
            .spawn()
            .with_context(|| format!("cannot start {}", peer.program.display()))?;
        let pid = child.id().context("PostGraphile exited at once")?;
        let endpoint = format!("http://127.0.0.1:{port}/graphql");
        let mut server = Self {
            child,
            pid,
            endpoint: endpoint.clone(),
        };
        eprintln!("[server] {} (pid {pid}) on 127.0.0.1:{port}", peer.name());
        server.wait_until_up(&endpoint, true).await?;
        Ok(server)
    }

    async fn wait_until_up(&mut self, url: &str, graphql: bool) -> anyhow::Result<()> {
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let sent = if graphql {
                http.post(url)
                    .json(&json!({ "query": "{ __typename }" }))
                    .send()
                    .await
            } else {
                http.get(url).send().await
            };
            if sent.is_ok_and(|r| r.status().is_success()) {
                return Ok(());
            }
            if let Some(status) = self.child.try_wait()? {
                anyhow::bail!("the server (pid {}) exited: {status}", self.pid);
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "{url} did not answer within 60 s"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// A field of `/proc/<pid>/status`, in KiB (0 when gone).
    pub fn status_kib(&self, field: &str) -> u64 {
        proc_status_kib(self.pid, field).unwrap_or(0)
    }

    /// Samples `VmRSS` every 100 ms until stopped.
    pub fn sample_rss(&self) -> Sampler {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let pid = self.pid;
        let task = tokio::spawn(async move {
            let peak = AtomicU64::new(0);
            while !flag.load(Ordering::Relaxed) {
                if let Some(rss) = proc_status_kib(pid, "VmRSS:") {
                    peak.fetch_max(rss, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            peak.load(Ordering::Relaxed)
        });
        Sampler { stop, task }
    }

    /// SIGTERM (the portal drains and exits), SIGKILL after 10 s.
    pub async fn stop(mut self) {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status();
        if tokio::time::timeout(Duration::from_secs(10), self.child.wait())
            .await
            .is_err()
        {
            let _ = self.child.kill().await;
        }
    }
}

/// A field (`VmRSS:`, `VmHWM:`) of `/proc/<pid>/status`, in KiB.
pub fn proc_status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// One GraphQL request; fails on a non-200 or `errors`.
pub async fn graphql(
    http: &reqwest::Client,
    endpoint: &str,
    token: Option<&str>,
    body: &Value,
) -> anyhow::Result<Value> {
    let mut request = http.post(endpoint).json(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await?;
    let status = response.status();
    let body: Value = response.json().await?;
    if !status.is_success() || body.get("errors").is_some() {
        anyhow::bail!("{endpoint}: HTTP {status}: {body}");
    }
    Ok(body)
}

/// KiB to MiB, rounded down.
pub fn mib(kib: u64) -> u64 {
    kib / 1024
}
