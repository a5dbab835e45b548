//! Every other scenario of `bench/` run as a child process of the suite (the
//! queue, export and upload limits; login, sweep, cases, payments): their
//! command lines at the suite's size, their headline rows read back and their
//! own tables kept for the report.

use std::process::Stdio;

use super::{Args, Size, report::Row, s3::S3Server};

/// A scenario of `bench/` run as a child of the suite.
struct Child {
    /// Its subcommand and arguments.
    argv: Vec<String>,
    /// What its rows are about, for the failure row.
    what: &'static str,
}

/// Every other scenario of `bench/` (the limits: queue, export, upload; and
/// login, sweep, cases, payments), each as a child process on its own scratch
/// database, its headline rows read back (see [`crate::headline`]) and its
/// own table kept verbatim for the report.
pub(super) async fn scenarios(args: &Args, s3: Option<&S3Server>) -> (Vec<Row>, String) {
    let full = args.size == Size::Full;
    let pick = |full_value: &str, quick_value: &str| {
        if full { full_value } else { quick_value }.to_owned()
    };
    let seconds = pick("10", "3");
    let db = ["--database-url".to_owned(), args.database_url.clone()];
    let redis = ["--redis-url".to_owned(), args.redis_url.clone()];
    let with = |name: &str, rest: Vec<String>, redis_too: bool| {
        let mut argv = vec![name.to_owned()];
        argv.extend(rest);
        argv.extend(db.clone());
        if redis_too {
            argv.extend(redis.clone());
        }
        argv
    };
    let mut upload = vec!["--size-mb".to_owned(), pick("250", "50")];
    if let Some(s3) = s3 {
        upload.extend(s3.flags());
    }
    let children = [
        Child {
            argv: with("queue", vec!["--jobs".into(), pick("10000", "2000")], true),
            what: "limit: queue against redis-benchmark",
        },
        Child {
            argv: with(
                "export",
                vec![
                    "--payments".into(),
                    pick("2000000", "200000"),
                    "--small".into(),
                    pick("200000", "20000"),
                ],
                false,
            ),
            what: "limit: export against psql \\copy",
        },
        Child {
            argv: with("upload", upload, true),
            what: "limit: upload against a direct S3 PUT",
        },
        Child {
            argv: with("login", vec!["--seconds".into(), seconds.clone()], true),
            what: "login storm",
        },
        Child {
            argv: with(
                "sweep",
                vec!["--users".into(), pick("1000000", "100000")],
                false,
            ),
            what: "90-day sweep",
        },
        Child {
            argv: with(
                "cases",
                vec![
                    "--cases".into(),
                    pick("100000", "5000"),
                    "--seconds".into(),
                    seconds.clone(),
                    "--concurrency".into(),
                    args.concurrency.to_string(),
                ],
                true,
            ),
            what: "cases (home, case page)",
        },
        Child {
            argv: with(
                "payments",
                vec![
                    "--payments".into(),
                    pick("2000000", "100000"),
                    "--seconds".into(),
                    seconds.clone(),
                    "--concurrency".into(),
                    args.concurrency.to_string(),
                ],
                true,
            ),
            what: "payments (in-process)",
        },
    ];
    let mut rows = Vec::new();
    let mut text = String::new();
    let dir = tempfile::tempdir().ok();
    for (i, child) in children.into_iter().enumerate() {
        let shown = shown_argv(&child.argv);
        eprintln!("[scenario] bench {shown}");
        let rows_file = dir
            .as_ref()
            .map(|d| d.path().join(format!("{i}.json")))
            .unwrap_or_default();
        let output = match std::env::current_exe() {
            Ok(exe) => {
                tokio::process::Command::new(exe)
                    .args(&child.argv)
                    .env(crate::headline::ENV, &rows_file)
                    .stderr(Stdio::inherit())
                    .kill_on_drop(true)
                    .output()
                    .await
            }
            Err(e) => Err(e),
        };
        let failure = match output {
            Ok(out) if out.status.success() => {
                let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
                text.push_str(&format!("\n## bench {shown}\n\n```text\n{stdout}```\n"));
                eprint!("{stdout}");
                match crate::headline::read(&rows_file) {
                    Ok(read) if !read.is_empty() => {
                        rows.extend(read.into_iter().map(Row::from));
                        None
                    }
                    Ok(_) => Some("reported no figures".to_owned()),
                    Err(e) => Some(format!("its figures are unreadable: {e:#}")),
                }
            }
            Ok(out) => Some(format!("failed ({}); see the log above", out.status)),
            Err(e) => Some(format!("did not run: {e}")),
        };
        if let Some(failure) = failure {
            rows.push(Row {
                scenario: format!("{} (`bench {shown}`)", child.what),
                ours: failure,
                baseline: "—".into(),
                ratio: "—".into(),
                p50: "—".into(),
                p99: "—".into(),
                memory: "—".into(),
            });
        }
    }
    (rows, text)
}

/// The arguments as shown: the database and Redis URLs left out.
fn shown_argv(argv: &[String]) -> String {
    let mut shown = Vec::new();
    let mut skip = false;
    for a in argv {
        if skip {
            skip = false;
            continue;
        }
        if a.starts_with("--database-url") || a.starts_with("--redis-url") || a.starts_with("--s3-")
        {
            skip = true;
            continue;
        }
        shown.push(a.as_str());
    }
    shown.join(" ")
}
