//! `cargo run --release`: the whole stack on this machine, stopped by Ctrl-C.

use std::process::ExitCode;

use local::{LocalConfig, Stack};
use worker::Intake;

#[tokio::main]
async fn main() -> ExitCode {
    service::cli::exit("local", run().await)
}

const ABOUT: &str = "The whole stack on this machine: the web and a worker that polls the queue, on SQS and DynamoDB when QUEUE_URL and TABLE_NAME are set, else on the embedded backend. Ctrl-C stops both.";

async fn run() -> anyhow::Result<()> {
    let settings = LocalConfig::settings();
    let command = service::cli::command("local", ABOUT, &settings);
    let Some(given) = service::cli::start(command, &settings)? else {
        return Ok(());
    };
    let config = LocalConfig::from_vars(&given.vars)?;
    let stack = Stack::start(&config).await?;
    let mode = match stack.intake() {
        Intake::Polling => "polling the queue",
        Intake::Manual => "waiting for the \"process messages\" button (WORKER_POLL=false)",
        Intake::Sqsd => "waiting for sqsd's requests",
    };
    println!();
    println!(
        "  web     {}   <- open this in your browser",
        stack.web_url()
    );
    println!("  worker  {}   {mode}", stack.worker_url());
    println!("  Ctrl-C stops both.");
    println!();
    stack.run_until(service::shutdown::signal()).await?;
    tracing::info!("stopped");
    Ok(())
}
