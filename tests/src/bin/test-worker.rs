//! The worker process for the fault tests: exactly `portal worker` (the same
//! function), built inside this package so tests can start and kill it as a
//! real process (`CARGO_BIN_EXE_test-worker`).

fn main() -> std::process::ExitCode {
    let config = match platform::config::Config::from_env() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("test-worker: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let telemetry = api::telemetry::init(config.log_format, api::telemetry::ServiceName::Worker);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let result = runtime.block_on(api::run::serve_worker(config));
    drop(runtime);
    telemetry.shutdown();
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("test-worker: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
