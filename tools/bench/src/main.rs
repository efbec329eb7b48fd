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
//! `--scenario fifo` measures a standard queue against a FIFO queue with 1,
//! 10 and 100 groups on one backend: rates, and requests per message (`fifo.rs`).
//!
//! `--scenario tabs` (on moto) measures what 1, 10 and 100 open pages cost:
//! the web's AWS requests per minute (`tabs.rs`).
//!
//! `--scenario rescue` measures instead how the sweeper rescues lost jobs
//! under steady traffic (`rescue.rs`).
//!
//! `--scenario capacity` (on moto) models what the requests of `web` and
//! `worker` would cost on DynamoDB and SQS: per message sent one at a time
//! and in bursts of 100, the requests, DynamoDB's write and read units, the
//! busiest partition key value against the per-partition limit, and dollars
//! per million messages; and what one list page costs, and takes on moto,
//! with a small and a large table (`capacity.rs`).
//!
//! Usage: `scripts/bench` (builds, starts moto, runs both backends, the
//! capacity scenario, then the rescue scenario). Directly: `bench --backend embedded|moto
//! [--messages N] [--concurrency C] [--latency-messages M] [--bin-dir
//! target/release]`, with `MOTO_ENDPOINT` set for moto; `bench --scenario fifo
//! --backend embedded|moto [--messages N] [--concurrency C]`; `bench --scenario
//! rescue [--bin-dir DIR]`; or, with `MOTO_ENDPOINT` set, `bench --scenario
//! capacity [--messages N] [--list-messages L] [--list-requests R]
//! [--seed-seconds S] [--write-log FILE.csv] [--bin-dir DIR]`: N messages one
//! at a time and N in bursts (default 1,000), list pages with 100 and with L
//! messages in the table (default 100,000, seeded for at most S seconds,
//! default 1,800), R requests timed per page (default 30); the write log
//! lists every modelled write with its partition key value.

mod capacity;
mod fifo;
mod proxy;
mod report;
mod rescue;
mod run;
mod tabs;

use std::path::PathBuf;
use std::process::ExitCode;

/// What to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// `pipeline` (the default), `fifo`, `tabs`, `rescue` or `capacity`.
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
    /// Capacity: messages in the table for the second list measurement.
    pub list_messages: usize,
    /// Capacity: list requests timed per query and table size.
    pub list_requests: usize,
    /// Capacity: how long seeding the large table may take.
    pub seed_seconds: u64,
    /// Capacity: where to write every modelled write, as CSV.
    pub write_log: Option<PathBuf>,
}

fn parse_options() -> anyhow::Result<Options> {
    let mut options = Options {
        scenario: "pipeline".to_owned(),
        backend: "embedded".to_owned(),
        messages: 1000,
        concurrency: 16,
        latency_messages: 200,
        bin_dir: PathBuf::from("target/release"),
        list_messages: 100_000,
        list_requests: 30,
        seed_seconds: 1800,
        write_log: None,
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
            "--list-messages" => options.list_messages = value()?.parse()?,
            "--list-requests" => options.list_requests = value()?.parse()?,
            "--seed-seconds" => options.seed_seconds = value()?.parse()?,
            "--write-log" => options.write_log = Some(PathBuf::from(value()?)),
            other => anyhow::bail!(
                "unknown argument {other:?}: use --scenario pipeline|fifo|tabs|rescue|capacity, --backend embedded|moto, --messages N, --concurrency C, --latency-messages M, --bin-dir DIR, and for capacity --list-messages L, --list-requests R, --seed-seconds S, --write-log FILE"
            ),
        }
    }
    anyhow::ensure!(
        ["pipeline", "fifo", "tabs", "rescue", "capacity"].contains(&options.scenario.as_str()),
        "--scenario must be pipeline, fifo, tabs, rescue or capacity, not {:?}",
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
    anyhow::ensure!(
        options.list_requests >= 1,
        "--list-requests must be at least 1"
    );
    Ok(options)
}

#[tokio::main]
async fn main() -> ExitCode {
    service::cli::exit("bench", run().await)
}

async fn run() -> anyhow::Result<()> {
    let options = parse_options()?;
    if options.scenario == "tabs" {
        let runs = tabs::run(&options).await?;
        println!("{}", tabs::markdown(&runs));
    } else if options.scenario == "fifo" {
        let runs = fifo::run(&options).await?;
        println!("{}", fifo::markdown(&options, &runs));
    } else if options.scenario == "rescue" {
        let results = rescue::run(&options.bin_dir).await?;
        println!("{}", report::rescue_markdown(&results));
    } else if options.scenario == "capacity" {
        let results = capacity::scenario::run(&capacity::scenario::CapacityOptions {
            bin_dir: options.bin_dir.clone(),
            messages: options.messages,
            // The small table: one page's worth.
            list_small: 100,
            list_large: options.list_messages,
            list_requests: options.list_requests,
            seed_limit: std::time::Duration::from_secs(options.seed_seconds),
            write_log: options.write_log.clone(),
        })
        .await?;
        println!("{}", capacity::report::markdown(&results));
    } else {
        let results = run::run(&options).await?;
        println!("{}", report::markdown(&options, &results));
    }
    Ok(())
}
