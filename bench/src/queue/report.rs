//! What `bench queue` prints: the table of the paths beside the
//! `redis-benchmark` ceiling, then the lines that say what was measured.

use url::Url;

use super::{Args, Measurement, Names, baseline::RedisFigures};
use crate::{
    scratch::server,
    table::{Table, ms, rate},
};

/// Everything the run measured, to print.
pub(super) struct Report<'a> {
    pub(super) args: &'a Args,
    pub(super) names: &'a Names,
    pub(super) production: &'a anyhow::Result<Measurement>,
    pub(super) baseline: &'a anyhow::Result<Option<(RedisFigures, RedisFigures)>>,
    pub(super) embedded: Option<&'a anyhow::Result<Measurement>>,
}

impl Report<'_> {
    /// Prints the table to stdout, then the lines that say what was measured.
    pub(super) fn print(&self) {
        let pipelines: Vec<(&str, &str, &anyhow::Result<Measurement>)> = std::iter::once((
            "portal: outbox → Redis → worker",
            "PostgreSQL",
            self.production,
        ))
        .chain(self.embedded.map(|m| {
            (
                "portal embedded: SQLite outbox → queue → worker",
                "SQLite",
                m,
            )
        }))
        .collect();

        let mut table = Table::new(&["scenario", "jobs/s", "p50 ms", "p99 ms", "max ms"]);
        for (name, _, result) in &pipelines {
            table.row(match result {
                Ok(m) => vec![
                    (*name).to_owned(),
                    rate(m.jobs_per_second()),
                    ms(m.latency.p50),
                    ms(m.latency.p99),
                    ms(m.latency.max),
                ],
                Err(_) => failed_row(name),
            });
        }
        match self.baseline {
            Ok(Some((lpush, rpop))) => {
                for (name, figures) in [
                    ("redis-benchmark LPUSH (ceiling)", lpush),
                    ("redis-benchmark RPOP  (ceiling)", rpop),
                ] {
                    table.row(vec![
                        name.to_owned(),
                        rate(figures.rps),
                        ms(figures.latency.p50),
                        ms(figures.latency.p99),
                        ms(figures.latency.max),
                    ]);
                }
                for (_, short, result) in &pipelines {
                    if let Ok(m) = result {
                        let name = if *short == "PostgreSQL" {
                            "portal"
                        } else {
                            "embedded"
                        };
                        table.row(vec![
                            format!("ratio {name} / LPUSH"),
                            format!("{:.4}", m.jobs_per_second() / lpush.rps),
                        ]);
                    }
                }
            }
            Ok(None) => table.row(vec![
                "redis-benchmark (ceiling)".to_owned(),
                "not installed: apt-get install redis-tools".to_owned(),
            ]),
            Err(_) => table.row(failed_row("redis-benchmark (ceiling)")),
        }
        println!();
        print!("{}", table.render());
        println!();

        for (_, short, result) in &pipelines {
            match result {
                Ok(m) => {
                    println!(
                        "{short}: enqueue alone {} jobs/s ({} per transaction, outbox::{}); \
                         first start {} ms after the first enqueue, then {} jobs/s until the last finish; \
                         commit-to-start p50 {} / p99 {} / max {} ms",
                        rate(m.enqueue_per_second()),
                        self.args.batch,
                        self.args.enqueue.name(),
                        ms(m.first_start.as_secs_f64() * 1000.0),
                        rate(m.busy_per_second()),
                        ms(m.after_commit.p50),
                        ms(m.after_commit.p99),
                        ms(m.after_commit.max),
                    );
                    if m.attempts != m.jobs as i64 {
                        println!(
                            "{short}: note: {} attempts for {} jobs (some ran more than once)",
                            m.attempts, m.jobs
                        );
                    }
                }
                Err(e) => println!("{short}: FAILED: {e:#}"),
            }
        }
        if let Err(e) = self.baseline {
            println!("redis-benchmark: FAILED: {e:#}");
        }

        let Names {
            database,
            prefix,
            worker_id,
        } = self.names;
        let db_server = Url::parse(&self.args.database_url)
            .map(|u| server(&u))
            .unwrap_or_default();
        let redis_server = Url::parse(&self.args.redis_url)
            .map(|u| server(&u))
            .unwrap_or_default();
        println!(
            "run: {} no-op jobs (sleep 0), enqueued {} while the worker runs; worker {worker_id}, \
             concurrency {}, relay interval {} ms; PostgreSQL {db_server} database {database}; \
             Redis {redis_server} queue {prefix}; redis-benchmark -n {} -c {}{}",
            self.args.jobs,
            if self.args.rate > 0 {
                format!("at a steady {} jobs/s", self.args.rate)
            } else {
                "as fast as possible".to_owned()
            },
            self.args.concurrency,
            self.args.relay_interval_ms,
            self.args.jobs,
            self.args.concurrency,
            if self.embedded.is_some() {
                "; SQLite in a temp folder"
            } else {
                ""
            },
        );
    }
}

/// The row of a scenario that did not finish; its error is printed under the table.
fn failed_row(name: &str) -> Vec<String> {
    vec![
        name.to_owned(),
        "failed".to_owned(),
        "-".to_owned(),
        "-".to_owned(),
        "-".to_owned(),
    ]
}
