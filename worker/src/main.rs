//! The worker binary: reads its settings once (flags, or else the
//! environment; `worker --help` lists them) and serves `/process` until
//! Ctrl-C or SIGTERM.

use std::process::ExitCode;

use worker::{Application, WorkerConfig};

#[tokio::main]
async fn main() -> ExitCode {
    service::cli::exit("worker", run().await)
}

const ABOUT: &str = "Serves POST /process, where Elastic Beanstalk's sqsd delivers each job (or polls the queue itself with WORKER_POLL=true), until Ctrl-C or SIGTERM.";

async fn run() -> anyhow::Result<()> {
    let settings = WorkerConfig::settings();
    let command = service::cli::command("worker", ABOUT, &settings);
    let Some(given) = service::cli::start(command, &settings)? else {
        return Ok(());
    };
    let config = WorkerConfig::from_vars(&given.vars)?;
    if let Some(address) = config.metrics {
        service::metrics::serve(address).await?;
    }
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
