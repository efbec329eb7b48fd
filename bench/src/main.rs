//! The benchmark. It runs the `web` and `worker` release binaries as separate
//! processes, on the embedded backend or on SQS + DynamoDB (moto), and reports:
//!
//! - messages per second accepted by the web (`POST /api/messages`, concurrent
//!   clients, worker stopped so it measures the web alone);
//! - messages per second finished by the worker (polling, draining the backlog);
//! - latency from send to final state, p50 and p99, at a steady light load,
//!   from each record's own `created_at` and `updated_at`;
//! - peak memory (VmHWM) of each process;
//! - AWS requests per message, per process: each process reaches the emulator
//!   through its own counting proxy, so every request on the wire is counted,
//!   retries included, by operation.
//!
//! `--scenario rescue` measures instead how the sweeper rescues lost jobs
//! under steady traffic (`rescue.rs`).
//!
//! Usage: `scripts/bench` (builds, starts moto, runs both backends, then the
//! rescue scenario). Directly: `bench --backend embedded|moto [--messages N]
//! [--concurrency C] [--latency-messages M] [--bin-dir target/release]`, with
//! `MOTO_ENDPOINT` set for moto; or `bench --scenario rescue [--bin-dir DIR]`.

mod proxy;
mod report;
mod rescue;
mod run;

use std::path::PathBuf;
use std::process::ExitCode;

/// What to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// `pipeline` (the default) or `rescue`.
    pub scenario: String,
    /// `embedded` or `moto`.
    pub backend: String,
    /// Messages for the throughput phases.
    pub messages: usize,
    /// Concurrent senders.
    pub concurrency: usize,
    /// Messages for the latency phase.
    pub latency_messages: usize,
    /// Where the release binaries are.
    pub bin_dir: PathBuf,
}

fn parse_options() -> anyhow::Result<Options> {
    let mut options = Options {
        scenario: "pipeline".to_owned(),
        backend: "embedded".to_owned(),
        messages: 1000,
        concurrency: 16,
        latency_messages: 200,
        bin_dir: PathBuf::from("target/release"),
    };
    let mut arguments = std::env::args().skip(1);
    while let Some(flag) = arguments.next() {
        let mut value = || {
            arguments
                .next()
                .ok_or_else(|| anyhow::anyhow!("{flag} needs a value"))
        };
        match flag.as_str() {
            "--scenario" => options.scenario = value()?,
            "--backend" => options.backend = value()?,
            "--messages" => options.messages = value()?.parse()?,
            "--concurrency" => options.concurrency = value()?.parse()?,
            "--latency-messages" => options.latency_messages = value()?.parse()?,
            "--bin-dir" => options.bin_dir = PathBuf::from(value()?),
            other => anyhow::bail!(
                "unknown argument {other:?}: use --scenario pipeline|rescue, --backend embedded|moto, --messages N, --concurrency C, --latency-messages M, --bin-dir DIR"
            ),
        }
    }
    anyhow::ensure!(
        options.scenario == "pipeline" || options.scenario == "rescue",
        "--scenario must be pipeline or rescue, not {:?}",
        options.scenario
    );
    anyhow::ensure!(
        options.backend == "embedded" || options.backend == "moto",
        "--backend must be embedded or moto, not {:?}",
        options.backend
    );
    anyhow::ensure!(
        options.messages >= 1 && options.concurrency >= 1 && options.latency_messages >= 1,
        "--messages, --concurrency and --latency-messages must be at least 1"
    );
    Ok(options)
}

#[tokio::main]
async fn main() -> ExitCode {
    service::cli::exit("bench", run().await)
}

async fn run() -> anyhow::Result<()> {
    let options = parse_options()?;
    if options.scenario == "rescue" {
        let results = rescue::run(&options.bin_dir).await?;
        println!("{}", report::rescue_markdown(&results));
    } else {
        let results = run::run(&options).await?;
        println!("{}", report::markdown(&options, &results));
    }
    Ok(())
}
