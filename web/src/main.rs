//! The web binary. `web` serves the page and the API until Ctrl-C or SIGTERM;
//! `web provision` creates the queue, dead-letter queue and table, and exits.

use std::process::ExitCode;

use service::cli::UsageError;
use web::{Application, WebConfig};

const ABOUT: &str = "Serves the page and the API until Ctrl-C or SIGTERM; `web provision` creates (or finds) the queue, its dead-letter queue and the table, and exits.";

#[tokio::main]
async fn main() -> ExitCode {
    service::cli::exit("web", run().await)
}

async fn run() -> anyhow::Result<()> {
    let settings = WebConfig::settings();
    let command = service::cli::command("web", ABOUT, &settings).subcommand(
        service::cli::Command::new("provision")
            .about("create or find the queue, its dead-letter queue and the table, then exit"),
    );
    let Some(given) = service::cli::start(command, &settings)? else {
        return Ok(());
    };
    let config = WebConfig::from_vars(&given.vars)?;
    match given.subcommand.as_deref() {
        None => serve(config).await,
        Some("provision") => provision(config).await,
        Some(other) => Err(UsageError(format!("web has no command {other:?}")).into()),
    }
}

async fn serve(config: WebConfig) -> anyhow::Result<()> {
    if let Some(address) = config.metrics {
        service::metrics::serve(address).await?;
    }
    let app = Application::build(&config).await?;
    tracing::info!(
        port = app.port(),
        queue = %app.backends().queue.describe(),
        store = %app.backends().store.describe(),
        "web listening"
    );
    app.run_until(service::shutdown::signal()).await?;
    Ok(())
}

async fn provision(config: WebConfig) -> anyhow::Result<()> {
    for line in web::provision::provision(&config).await? {
        println!("{line}");
    }
    Ok(())
}
