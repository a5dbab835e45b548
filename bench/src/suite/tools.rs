//! The tools the suite needs, installed or built when missing: `oha` and other
//! `cargo install` programs, PostGraphile (npm) and the release `portal`
//! binary.

use std::{
    path::{Path, PathBuf},
    process::Stdio,
};

use anyhow::Context as _;

use super::PEER_VERSION;

/// `oha` on PATH or in `~/.cargo/bin`, installed with `cargo install oha
/// --locked` when missing.
pub fn ensure_oha() -> anyhow::Result<PathBuf> {
    ensure_cargo_tool("oha", &["install", "oha", "--locked"])
}

/// The program `name` in `~/.cargo/bin` or on PATH, installed with `cargo
/// <install>` (a few minutes) when missing.
pub fn ensure_cargo_tool(name: &str, install: &[&str]) -> anyhow::Result<PathBuf> {
    let cargo_bin = expand_home(&format!("~/.cargo/bin/{name}"));
    let found = |p: &Path| {
        std::process::Command::new(p)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if found(&cargo_bin) {
        return Ok(cargo_bin);
    }
    if found(Path::new(name)) {
        return Ok(name.into());
    }
    eprintln!(
        "[tools] {name} missing: cargo {} (a few minutes)",
        install.join(" ")
    );
    let status = std::process::Command::new(cargo())
        .args(install)
        // Its own target directory: not the workspace's.
        .env_remove("CARGO_TARGET_DIR")
        .status()?;
    anyhow::ensure!(
        status.success() && found(&cargo_bin),
        "cargo {} failed; install {name} by hand",
        install.join(" ")
    );
    Ok(cargo_bin)
}

/// PostGraphile under `dir`, installed with npm when missing.
pub fn ensure_postgraphile(dir: &Path) -> anyhow::Result<PathBuf> {
    let bin = dir.join("node_modules/.bin/postgraphile");
    let plugin = dir.join("node_modules/postgraphile-plugin-connection-filter");
    if bin.is_file() && plugin.is_dir() {
        return Ok(bin);
    }
    eprintln!(
        "[tools] npm install postgraphile@{PEER_VERSION} postgraphile-plugin-connection-filter@2 into {}",
        dir.display()
    );
    std::fs::create_dir_all(dir)?;
    let status = std::process::Command::new("npm")
        .args(["install", "--no-audit", "--no-fund", "--prefix"])
        .arg(dir)
        .args([
            &format!("postgraphile@{PEER_VERSION}"),
            "postgraphile-plugin-connection-filter@2",
        ])
        .status()
        .context("cannot run npm (node and npm are needed for the PostGraphile peer)")?;
    anyhow::ensure!(status.success() && bin.is_file(), "npm install failed");
    Ok(bin)
}

/// Builds the release `portal` binary into this binary's target directory.
pub fn build_portal() -> anyhow::Result<PathBuf> {
    eprintln!("[tools] cargo build --release -p api (the portal binary)");
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .context("no workspace")?;
    let status = std::process::Command::new(cargo())
        // With portal-bench: the same feature set as `cargo run -p portal-bench`,
        // so nothing is rebuilt twice.
        .args(["build", "--release", "-p", "api", "-p", "portal-bench"])
        .current_dir(workspace)
        .status()?;
    anyhow::ensure!(status.success(), "cargo build --release -p api failed");
    let portal = std::env::current_exe()?.with_file_name("portal");
    anyhow::ensure!(portal.is_file(), "no {}", portal.display());
    Ok(portal)
}

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

pub(super) fn expand_home(path: &str) -> PathBuf {
    match (path.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => PathBuf::from(path),
    }
}
