//! The `portal` command line (`portal [serve|api|worker|migrate|admin|print-schema|config-table]`),
//! shared by the `portal` binary and the benchmarks.

use clap::{Parser, Subcommand};
use platform::config::Config;

#[derive(Parser)]
#[command(
    name = "portal",
    version,
    about = "Landlord & Resident Portal: GraphQL API and background worker"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// API and worker in one process, after migrating and loading the demo data (the default).
    Serve,
    /// The GraphQL API only (production).
    Api,
    /// The background worker only (production).
    Worker,
    /// Apply database migrations, then exit.
    Migrate {
        /// Also load the demo data (idempotent).
        #[arg(long, alias = "seed")]
        demo: bool,
    },
    /// Administration tasks on the command line.
    #[command(subcommand)]
    Admin(Admin),
    /// Print the GraphQL schema (SDL) to stdout.
    PrintSchema,
    /// Print the configuration table (every environment variable, its
    /// default and meaning) as Markdown, as the README has it.
    ConfigTable,
}

#[derive(Subcommand)]
enum Admin {
    /// Create the first service administrator of a new installation: an
    /// invited account whose single-use invitation link (valid 24 hours) is
    /// emailed and printed once. Safe to run again (see the README).
    CreateServiceAdmin {
        /// Their email address (their username).
        #[arg(long)]
        email: String,
        /// Their first name.
        #[arg(long)]
        first_name: String,
        /// Their last name.
        #[arg(long)]
        last_name: String,
        /// Their team, e.g. "Service administration".
        #[arg(long)]
        team: Option<String>,
        /// Create one even though another service administrator exists.
        #[arg(long)]
        additional: bool,
    },
}

/// The `portal` command line: parses `args` (the program name first, as
/// [`std::env::args_os`] gives them) and runs the chosen process mode to its
/// end. The `portal` binary is this function; `bench` runs it too (its hidden
/// `portal` subcommand), so the benchmarks start the same code without a
/// second build.
pub fn main<I, T>(args: I) -> std::process::ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let cli = Cli::parse_from(args);
    match cli.command {
        Some(Command::PrintSchema) => {
            print!("{}", crate::graphql::sdl());
            return std::process::ExitCode::SUCCESS;
        }
        Some(Command::ConfigTable) => {
            print!("{}", platform::config::vars::markdown_table());
            return std::process::ExitCode::SUCCESS;
        }
        _ => {}
    }
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("portal: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let service = match cli.command {
        Some(Command::Api) => crate::telemetry::ServiceName::Api,
        Some(Command::Worker) => crate::telemetry::ServiceName::Worker,
        _ => crate::telemetry::ServiceName::AllInOne,
    };
    let telemetry = crate::telemetry::init(config.log_format, service);
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    let result = runtime.block_on(async move {
        match cli.command.unwrap_or(Command::Serve) {
            Command::Serve => crate::run::serve_all(config).await,
            Command::Api => crate::run::serve_api(config).await,
            Command::Worker => crate::run::serve_worker(config).await,
            Command::Migrate { demo } => crate::run::migrate(config, demo).await,
            Command::Admin(Admin::CreateServiceAdmin {
                email,
                first_name,
                last_name,
                team,
                additional,
            }) => {
                let input = crate::users::staff::NewServiceAdmin {
                    email,
                    first_name,
                    last_name,
                    team,
                    additional,
                };
                crate::run::create_service_admin(config, input).await
            }
            Command::PrintSchema | Command::ConfigTable => unreachable!("handled above"),
        }
    });
    if let Err(e) = &result {
        tracing::error!(error = ?e, "portal stopped with an error");
    }
    // The runtime first (its tasks may still end spans), then the spans
    // still buffered are sent.
    drop(runtime);
    telemetry.shutdown();
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("portal: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
