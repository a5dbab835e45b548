//! The `portal` binary. With no arguments it runs the embedded all-in-one
//! service (SQLite, local files, file outbox, demo data); the subcommands run
//! the production processes separately.

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

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::PrintSchema) => {
            print!("{}", api::graphql::sdl());
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
        Some(Command::Api) => api::telemetry::ServiceName::Api,
        Some(Command::Worker) => api::telemetry::ServiceName::Worker,
        _ => api::telemetry::ServiceName::AllInOne,
    };
    let telemetry = api::telemetry::init(config.log_format, service);
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    let result = runtime.block_on(async move {
        match cli.command.unwrap_or(Command::Serve) {
            Command::Serve => api::run::serve_all(config).await,
            Command::Api => api::run::serve_api(config).await,
            Command::Worker => api::run::serve_worker(config).await,
            Command::Migrate { demo } => api::run::migrate(config, demo).await,
            Command::Admin(Admin::CreateServiceAdmin {
                email,
                first_name,
                last_name,
                team,
                additional,
            }) => {
                let input = api::users::staff::NewServiceAdmin {
                    email,
                    first_name,
                    last_name,
                    team,
                    additional,
                };
                api::run::create_service_admin(config, input).await
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
