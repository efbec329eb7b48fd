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
//! capacity scenario, then the rescue scenario). Directly: `bench --help`
//! lists the scenarios and every option; moto's needs `MOTO_ENDPOINT`.

mod capacity;
mod fifo;
mod options;
mod proxy;
mod report;
mod rescue;
mod run;
mod tabs;

use std::process::ExitCode;

pub use options::Options;

#[tokio::main]
async fn main() -> ExitCode {
    service::cli::exit("bench", run().await)
}

async fn run() -> anyhow::Result<()> {
    let options = Options::from_command_line();
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
            body_bytes: options.body_bytes,
        })
        .await?;
        println!("{}", capacity::report::markdown(&results));
        if let Some(why) = &results.stopped_by {
            anyhow::bail!("the capacity scenario did not run to its end: {why}");
        }
        // After the figures are printed: a missed goal fails the run.
        capacity::goals::all_met(&capacity::goals::judge(&results))?;
    } else {
        let results = run::run(&options).await?;
        println!("{}", report::markdown(&options, &results));
    }
    Ok(())
}
