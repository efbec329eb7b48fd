//! The web binary. `web` serves the page and the API until Ctrl-C or SIGTERM;
//! `web provision` creates the queue, dead-letter queue and table, and exits.

use std::process::ExitCode;

use service::cli::UsageError;
use web::{Application, WebConfig};

const USAGE: &str = "usage: web [provision]\n\n  web            serve the page and the API on PORT (default 5000, Elastic Beanstalk's)\n  web provision  create or find the queue, its dead-letter queue and the table\n\nConfiguration comes from the environment: see the README.";

#[tokio::main]
async fn main() -> ExitCode {
    service::cli::exit("web", run().await)
}

async fn run() -> anyhow::Result<()> {
    service::telemetry::init()?;
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    match arguments.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        [] => serve().await,
        ["provision"] => provision().await,
        ["-h" | "--help" | "help"] => {
            println!("{USAGE}");
            Ok(())
        }
        _ => Err(UsageError(format!("unknown arguments {arguments:?}\n\n{USAGE}")).into()),
    }
}

async fn serve() -> anyhow::Result<()> {
    let config = WebConfig::from_env()?;
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

async fn provision() -> anyhow::Result<()> {
    let config = WebConfig::from_env()?;
    for line in web::provision::provision(&config).await? {
        println!("{line}");
    }
    Ok(())
}
