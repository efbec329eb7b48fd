//! The chaos suite, run by the README's test command on both backends: the
//! `web` and two polling `worker` release binaries as processes, six clients
//! sending under `Idempotency-Key`s and retrying as the README says, while
//! faults are dealt at random: the web or a worker SIGKILLed (and restarted),
//! SQS and DynamoDB refusing or blackholed for two seconds through a proxy
//! (moto only: the embedded backend has no network), and jobs delivered twice.
//! Then it waits for everything to settle and checks every accepted message
//! final in its expected state, none lost, stuck or flipped, every record
//! named by an answer, and no wrong answer. Bounded: the faults last
//! `--seconds`, each client gives up a send after 90 s, the settling after 180 s.
//!
//! Usage: `chaos --backend embedded|moto [--seconds S] [--seed N] [--bin-dir target/release]`,
//! with `MOTO_ENDPOINT` set for moto. Exits 1 when a check fails. The test
//! command runs it through `tools/chaos/tests/suite.rs`, 30 s of faults per backend.

mod fleet;
mod ledger;
mod proxy;
mod scenario;
mod senders;

use std::path::PathBuf;
use std::process::ExitCode;

use scenario::Plan;

fn parse_plan() -> anyhow::Result<Plan> {
    let mut plan = Plan {
        backend: "embedded".to_owned(),
        seconds: 30,
        seed: u64::try_from(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)?
                .as_millis()
                % 1_000_000,
        )?,
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
            "--backend" => plan.backend = value()?,
            "--seconds" => plan.seconds = value()?.parse()?,
            "--seed" => plan.seed = value()?.parse()?,
            "--bin-dir" => plan.bin_dir = PathBuf::from(value()?),
            other => anyhow::bail!(
                "unknown argument {other:?}: use --backend embedded|moto, --seconds S, --seed N, --bin-dir DIR"
            ),
        }
    }
    anyhow::ensure!(
        plan.backend == "embedded" || plan.backend == "moto",
        "--backend must be embedded or moto, not {:?}",
        plan.backend
    );
    anyhow::ensure!(
        (5..=600).contains(&plan.seconds),
        "--seconds must be 5 to 600"
    );
    Ok(plan)
}

#[tokio::main]
async fn main() -> ExitCode {
    service::cli::exit("chaos", run().await)
}

async fn run() -> anyhow::Result<()> {
    let plan = parse_plan()?;
    let (report, held) = scenario::run(&plan).await?;
    println!("{report}");
    anyhow::ensure!(
        held,
        "the chaos suite found problems (listed above); replay with --seed {}",
        plan.seed
    );
    Ok(())
}
