//! Headline rows: the figures of a scenario that `bench suite` puts in its
//! one table.
//!
//! Every scenario prints its own detailed table to stdout. When it runs as a
//! child of `bench suite`, the suite also sets [`ENV`] to a file path, and the
//! scenario writes its headline rows there as JSON: the suite reads figures,
//! not text scraped from another program's table.

use serde::{Deserialize, Serialize};

/// The variable naming the file the headline rows go to.
pub const ENV: &str = "PORTAL_BENCH_HEADLINES";

/// One row of the suite's table.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Headline {
    /// What was measured.
    pub scenario: String,
    /// This project's figure, with its unit.
    pub ours: String,
    /// The baseline's name and figure, with its unit.
    pub baseline: String,
    /// Ours divided by the baseline's (higher is better for rates; the
    /// scenario says so when it is a slowdown instead).
    pub ratio: Option<f64>,
    /// Median latency of this project's path, in milliseconds.
    pub p50_ms: Option<f64>,
    /// 99th percentile of this project's path, in milliseconds.
    pub p99_ms: Option<f64>,
    /// Peak memory of this project's process, in MiB.
    pub memory_mib: Option<u64>,
}

impl Headline {
    /// A row with a rate and its baseline; the ratio is computed.
    pub fn rate(
        scenario: impl Into<String>,
        ours: f64,
        baseline_name: &str,
        baseline: f64,
        unit: &str,
    ) -> Self {
        Self {
            scenario: scenario.into(),
            ours: format!("{} {unit}", figure(ours)),
            baseline: format!("{baseline_name}: {} {unit}", figure(baseline)),
            ratio: (baseline > 0.0 && ours.is_finite()).then(|| ours / baseline),
            p50_ms: None,
            p99_ms: None,
            memory_mib: None,
        }
    }

    /// With this project's latency percentiles.
    pub fn latency(mut self, p50_ms: f64, p99_ms: f64) -> Self {
        self.p50_ms = Some(p50_ms);
        self.p99_ms = Some(p99_ms);
        self
    }

    /// With this project's peak memory.
    pub fn memory_kib(mut self, kib: u64) -> Self {
        self.memory_mib = Some(kib / 1024);
        self
    }
}

/// One measured load: its name, requests per second and latency percentiles.
pub struct Measured {
    /// What was measured.
    pub scenario: String,
    /// Requests per second.
    pub per_second: f64,
    /// Median latency, ms.
    pub p50_ms: f64,
    /// 99th percentile, ms.
    pub p99_ms: f64,
}

/// Writes rows for `measured` loads, each beside the same baseline rate.
pub fn emit_beside(
    measured: impl IntoIterator<Item = Measured>,
    baseline_name: &str,
    baseline: f64,
) -> anyhow::Result<()> {
    let rows: Vec<Headline> = measured
        .into_iter()
        .map(|m| {
            Headline::rate(m.scenario, m.per_second, baseline_name, baseline, "req/s")
                .latency(m.p50_ms, m.p99_ms)
        })
        .collect();
    emit(&rows)
}

/// A rate as the suite prints it: whole numbers with thin separators, one
/// decimal below 100.
pub fn figure(value: f64) -> String {
    if value.abs() < 100.0 {
        format!("{value:.1}")
    } else {
        crate::table::rate(value)
    }
}

/// Writes `rows` to the file named by [`ENV`], when it is set.
pub fn emit(rows: &[Headline]) -> anyhow::Result<()> {
    if let Some(path) = std::env::var_os(ENV) {
        std::fs::write(&path, serde_json::to_vec_pretty(rows)?)?;
    }
    Ok(())
}

/// The rows a child wrote to `path` (none when it wrote nothing).
pub fn read(path: &std::path::Path) -> anyhow::Result<Vec<Headline>> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(serde_json::from_slice(&bytes)?),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_round_trip_through_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rows.json");
        assert!(read(&path).unwrap().is_empty());
        let row = Headline::rate("queue", 2866.0, "LPUSH", 93000.0, "jobs/s")
            .latency(1.5, 9.25)
            .memory_kib(21 * 1024);
        std::fs::write(&path, serde_json::to_vec(&[row]).unwrap()).unwrap();
        let rows = read(&path).unwrap();
        assert_eq!(rows[0].ours, "2 866 jobs/s");
        assert_eq!(rows[0].baseline, "LPUSH: 93 000 jobs/s");
        assert!((rows[0].ratio.unwrap() - 2866.0 / 93000.0).abs() < 1e-12);
        assert_eq!((rows[0].p99_ms, rows[0].memory_mib), (Some(9.25), Some(21)));
    }

    #[test]
    fn no_ratio_without_a_baseline() {
        assert!(Headline::rate("x", 1.0, "y", 0.0, "/s").ratio.is_none());
        assert_eq!(figure(12.345), "12.3");
    }
}
