//! The worker binary: reads its configuration from the environment and serves
//! `/process` until Ctrl-C or SIGTERM.

use std::process::ExitCode;

use worker::{Application, WorkerConfig};

#[tokio::main]
async fn main() -> ExitCode {
    service::cli::exit("worker", run().await)
}

async fn run() -> anyhow::Result<()> {
    service::telemetry::init()?;
    let config = WorkerConfig::from_env()?;
    let app = Application::build(&config).await?;
    tracing::info!(
        port = app.port(),
        mode = app.intake().name(),
        queue = %app.backends().queue.describe(),
        store = %app.backends().store.describe(),
        "worker listening"
    );
    app.run_until(service::shutdown::signal()).await?;
    Ok(())
}
