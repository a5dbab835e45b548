//! What `bench upload` prints: the table of the three paths and the API's
//! memory, and the suite's headline row.

use super::{Args, MB, Measured, Timed};
use crate::table::Table;

/// Prints the table of the three paths, then the API process's memory.
pub(super) fn print(args: &Args, size: u64, m: &Measured) {
    let megabytes = size as f64 / MB;
    let rate = |t: &Timed| megabytes / t.elapsed.as_secs_f64();
    let baseline = rate(&m.direct);
    println!(
        "bench upload: a {} MB PDF to S3 ({} bucket {}) through the API beside a direct PUT of the same file (MB = 1,000,000 bytes)\n",
        args.size_mb, args.s3_endpoint, args.s3_bucket
    );
    let mut table = Table::new(&["path", "seconds", "MB/s", "vs direct PUT"]);
    for t in [&m.direct, &m.storage, &m.api] {
        table.row(vec![
            t.name.to_owned(),
            format!("{:.2}", t.elapsed.as_secs_f64()),
            format!("{:.1}", rate(t)),
            format!("{:.2}", rate(t) / baseline),
        ]);
    }
    print!("{}", table.render());
    let mib = |kib: u64| kib as f64 / 1024.0;
    let growth = m.memory.peak.saturating_sub(m.memory.before);
    println!();
    let mut table = Table::new(&["API process (portal api)", "MiB"]);
    table.row(vec![
        "VmRSS before the upload".into(),
        format!("{:.1}", mib(m.memory.before)),
    ]);
    table.row(vec![
        format!(
            "VmRSS peak during the upload ({} samples, 20 ms)",
            m.memory.samples
        ),
        format!("{:.1}", mib(m.memory.peak)),
    ]);
    table.row(vec![
        "growth (goal < 64 MiB)".into(),
        format!("{:.1}", mib(growth)),
    ]);
    table.row(vec![
        "VmHWM after the upload (lifetime peak)".into(),
        format!("{:.1}", mib(m.memory.hwm)),
    ]);
    print!("{}", table.render());
}

/// The suite's row: the upload through the API beside the direct PUT.
pub(super) fn headlines(args: &Args, size: u64, m: &Measured) -> anyhow::Result<()> {
    let megabytes = size as f64 / MB;
    let rate = |t: &Timed| megabytes / t.elapsed.as_secs_f64();
    let mut row = crate::headline::Headline::rate(
        format!(
            "limit: one {} MB document through `uploadDocuments` to S3 (`bench upload`; memory: API growth during it)",
            args.size_mb
        ),
        rate(&m.api),
        "direct S3 PutObject of the same file",
        rate(&m.direct),
        "MB/s",
    );
    row.memory_mib = Some(m.memory.peak.saturating_sub(m.memory.before) / 1024);
    crate::headline::emit(&[row])
}
