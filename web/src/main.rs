//! The web binary. `web` serves the page and the API until Ctrl-C or SIGTERM;
//! `web provision` creates the queue, dead-letter queue and table, and exits;
//! `web copy-messages` copies an earlier version's table into it.

use std::process::ExitCode;

use service::cli::UsageError;
use web::{Application, WebConfig};

const ABOUT: &str = "Serves the page and the API until Ctrl-C or SIGTERM; `web provision` creates (or finds) the queue, its dead-letter queue and the table, and exits; `web copy-messages` copies the messages of COPY_FROM_TABLE into TABLE_NAME, and exits.";

#[tokio::main]
async fn main() -> ExitCode {
    service::cli::exit("web", run().await)
}

async fn run() -> anyhow::Result<()> {
    let settings = WebConfig::settings();
    let command = service::cli::command("web", ABOUT, &settings)
        .subcommand(
            service::cli::Command::new("provision")
                .about("create or find the queue, its dead-letter queue and the table, then exit"),
        )
        .subcommand(service::cli::Command::new("copy-messages").about(
            "copy the messages of COPY_FROM_TABLE (an earlier version's table) into TABLE_NAME, then exit",
        ));
    let Some(given) = service::cli::start(command, &settings)? else {
        return Ok(());
    };
    let config = WebConfig::from_vars(&given.vars)?;
    match given.subcommand.as_deref() {
        None => serve(config).await,
        Some("provision") => provision(config).await,
        Some("copy-messages") => copy_messages(config).await,
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

async fn copy_messages(config: WebConfig) -> anyhow::Result<()> {
    let Some(from) = &config.copy_from else {
        return Err(UsageError(
            "web copy-messages needs COPY_FROM_TABLE: the earlier table to copy from".to_owned(),
        )
        .into());
    };
    let said = |copied: &backend_config::Copied| {
        format!(
            "{} messages copied, {} kept as the new table has them, {} other items left behind",
            copied.copied, copied.kept, copied.left
        )
    };
    let copied = config
        .backend
        .copy_messages(from, |so_far| {
            tracing::info!(from = %from, "so far: {}", said(so_far));
        })
        .await
        .map_err(|error| anyhow::anyhow!(error.chain()))?;
    println!("{from}: {}", said(&copied));
    Ok(())
}
