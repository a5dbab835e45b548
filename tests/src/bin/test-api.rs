//! The API process for the traces test: exactly `portal api` (the same
//! functions, telemetry included), built inside this package so tests can
//! start it as a real process (`CARGO_BIN_EXE_test-api`).

fn main() -> std::process::ExitCode {
    let config = match platform::config::Config::from_env() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("test-api: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let telemetry = api::telemetry::init(config.log_format, api::telemetry::ServiceName::Api);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let result = runtime.block_on(api::run::serve_api(config));
    drop(runtime);
    telemetry.shutdown();
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("test-api: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
