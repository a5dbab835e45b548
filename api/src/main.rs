//! The `portal` binary. With no arguments it runs the embedded all-in-one
//! service (SQLite, local files, file outbox, demo data); the subcommands run
//! the production processes separately.

fn main() -> std::process::ExitCode {
    api::cli::main(std::env::args_os())
}
