//! `cargo run --release`: the whole stack on this machine, stopped by Ctrl-C.

use local::{LocalConfig, Stack};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    service::telemetry::init();
    let config = LocalConfig::from_env()?;
    let stack = Stack::start(&config).await?;
    let mode = if stack.polls() {
        "polling the queue"
    } else {
        "waiting for the \"process messages\" button (WORKER_POLL=false)"
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
