//! `cargo run --release`: the whole stack on this machine, stopped by Ctrl-C.

use std::process::ExitCode;

use local::{LocalConfig, Stack};
use worker::Intake;

#[tokio::main]
async fn main() -> ExitCode {
    service::cli::exit("local", run().await)
}

async fn run() -> anyhow::Result<()> {
    service::telemetry::init()?;
    let config = LocalConfig::from_env()?;
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
