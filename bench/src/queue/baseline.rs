//! The baseline: `redis-benchmark` LPUSH then RPOP of the same count on the
//! same Redis, and its CSV output read as [`RedisFigures`].

use anyhow::Context as _;
use uuid::Uuid;

use super::Args;
use crate::table::Percentiles;

/// One `redis-benchmark` test's figures.
pub(super) struct RedisFigures {
    /// Requests per second.
    pub(super) rps: f64,
    /// Round-trip latency of a single command, in milliseconds.
    pub(super) latency: Percentiles,
}

/// Runs `redis-benchmark` LPUSH then RPOP on `key`: `None` when the tool is not
/// installed (the table then says so instead of failing the whole run).
pub(super) async fn redis_benchmark(
    args: &Args,
    key: &str,
) -> anyhow::Result<Option<(RedisFigures, RedisFigures)>> {
    // A job id as the value: the size of what the pipeline's queue carries per job.
    let value = Uuid::new_v4().simple().to_string();
    let n = args.jobs.to_string();
    let c = args.concurrency.to_string();
    let mut results = Vec::new();
    // LPUSH first, so that every RPOP pops an element rather than hitting an
    // empty list (which is cheaper and would flatter the ceiling).
    for command in [vec!["LPUSH", key, &value], vec!["RPOP", key]] {
        eprintln!("[redis-benchmark] {} x {}", command[0], args.jobs);
        let output = tokio::process::Command::new("redis-benchmark")
            // `-u` takes the same URL as the service, password and db included.
            .args(["-u", &args.redis_url, "-n", &n, "-c", &c, "--csv"])
            .args(&command)
            .output()
            .await;
        let output = match output {
            Ok(output) => output,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                eprintln!(
                    "redis-benchmark is not installed, so there is no baseline \
                     (Debian/Ubuntu: apt-get install redis-tools)"
                );
                return Ok(None);
            }
            Err(e) => return Err(e).context("cannot run redis-benchmark"),
        };
        let stdout = String::from_utf8_lossy(&output.stdout);
        if !output.status.success() {
            anyhow::bail!(
                "redis-benchmark {} failed ({}): {}{}",
                command[0],
                output.status,
                stdout,
                String::from_utf8_lossy(&output.stderr)
            );
        }
        results.push(
            parse_csv(&stdout, command[0])
                .with_context(|| format!("cannot read redis-benchmark's output:\n{stdout}"))?,
        );
    }
    let rpop = results.pop().context("no RPOP result")?;
    let lpush = results.pop().context("no LPUSH result")?;
    Ok(Some((lpush, rpop)))
}

/// Reads the row of `test` from `redis-benchmark --csv` (Redis 7 columns:
/// `"test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms",
/// "p95_latency_ms","p99_latency_ms","max_latency_ms"`).
fn parse_csv(csv: &str, test: &str) -> Option<RedisFigures> {
    let line = csv
        .lines()
        .find(|l| l.trim_start_matches('"').starts_with(test))?;
    // Count from the right: the test name of a custom command contains its
    // arguments, the numbers are always the last seven fields.
    let fields: Vec<f64> = line
        .rsplit(',')
        .take(7)
        .map(|f| f.trim().trim_matches('"').parse().ok())
        .collect::<Option<Vec<_>>>()?;
    let [max, p99, _p95, p50, _min, _avg, rps] = fields[..] else {
        return None;
    };
    Some(RedisFigures {
        rps,
        latency: Percentiles { p50, p99, max },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_redis_benchmark_csv() {
        let csv = "\"test\",\"rps\",\"avg_latency_ms\",\"min_latency_ms\",\"p50_latency_ms\",\"p95_latency_ms\",\"p99_latency_ms\",\"max_latency_ms\"\n\
                   \"LPUSH portal-bench:x:ceiling 0123\",\"41666.67\",\"0.184\",\"0.040\",\"0.151\",\"0.239\",\"2.231\",\"4.223\"\n";
        let figures = parse_csv(csv, "LPUSH").unwrap();
        assert_eq!(figures.rps, 41666.67);
        assert_eq!(
            (
                figures.latency.p50,
                figures.latency.p99,
                figures.latency.max
            ),
            (0.151, 2.231, 4.223)
        );
        assert!(parse_csv(csv, "RPOP").is_none());
    }
}
