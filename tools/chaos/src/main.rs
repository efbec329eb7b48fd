//! The chaos suite, run by the README's test command on both backends: the
//! `web` and two polling `worker` release binaries as processes, six clients
//! sending under `Idempotency-Key`s and retrying as the README says, while
//! faults are dealt at random: the web or a worker SIGKILLed (and restarted),
//! SQS and DynamoDB refusing or blackholed for two seconds through a proxy
//! (moto only: the embedded backend has no network), and jobs delivered twice.
//! Then it waits for everything to settle and checks every accepted message
//! final in its expected state, none lost, stuck or flipped, every record
//! named by an answer, and no wrong answer. Bounded: the faults last
//! `--seconds`, each client gives up a send after 90 s, the settling after 240 s.
//!
//! Usage: `chaos --backend embedded|moto [--seconds S] [--seed N] [--bin-dir
//! target/release]` (`chaos --help` says more), with `MOTO_ENDPOINT` set for moto. Exits 1 when a check fails. The test
//! command runs it through `tools/chaos/tests/suite.rs`, 30 s of faults per backend.

mod fleet;
mod ledger;
mod proxy;
mod scenario;
mod senders;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Arg, ArgMatches, Command, value_parser};

use scenario::Plan;

/// The command line, read with clap like every binary's settings: `chaos
/// --help` lists each option, what it accepts and its default.
fn command() -> Command {
    Command::new("chaos")
        .about("The chaos suite: faults dealt at random while clients send, then every accepted message checked")
        .args([
            Arg::new("backend")
                .long("backend")
                .value_parser(["embedded", "moto"])
                .default_value("embedded")
                .help("the backend (moto's needs MOTO_ENDPOINT)"),
            Arg::new("seconds")
                .long("seconds")
                .value_parser(value_parser!(u64).range(5..=600))
                .default_value("30")
                .help("how long faults are dealt"),
            Arg::new("seed")
                .long("seed")
                .value_parser(value_parser!(u64))
                .help("the dice's seed, to replay a run [default: from the clock]"),
            Arg::new("bin-dir")
                .long("bin-dir")
                .value_name("DIR")
                .value_parser(value_parser!(PathBuf))
                .default_value("target/release")
                .help("where the web and worker release binaries are"),
        ])
}

/// The plan `matches` asks for; a seed from the clock unless one is given.
fn plan(matches: &ArgMatches) -> anyhow::Result<Plan> {
    let seed = match matches.get_one::<u64>("seed") {
        Some(seed) => *seed,
        None => u64::try_from(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)?
                .as_millis()
                % 1_000_000,
        )?,
    };
    Ok(Plan {
        backend: matches
            .get_one::<String>("backend")
            .cloned()
            .unwrap_or_default(),
        seconds: matches.get_one::<u64>("seconds").copied().unwrap_or(30),
        seed,
        bin_dir: matches
            .get_one::<PathBuf>("bin-dir")
            .cloned()
            .unwrap_or_default(),
    })
}

#[tokio::main]
async fn main() -> ExitCode {
    service::cli::exit("chaos", run().await)
}

async fn run() -> anyhow::Result<()> {
    // `--help`, or a wrong option, ends the process here (exit status 2).
    let plan = plan(&command().get_matches())?;
    let (report, held) = scenario::run(&plan).await?;
    println!("{report}");
    anyhow::ensure!(
        held,
        "the chaos suite found problems (listed above); replay with --seed {}",
        plan.seed
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_are_read_and_wrong_ones_refused() {
        let parse = |arguments: &[&str]| {
            command()
                .try_get_matches_from(std::iter::once("chaos").chain(arguments.iter().copied()))
        };
        let matches =
            parse(&["--backend", "moto", "--seconds", "5", "--seed", "42"]).expect("valid options");
        let plan = plan(&matches).expect("a plan");
        assert_eq!(
            (plan.backend.as_str(), plan.seconds, plan.seed),
            ("moto", 5, 42)
        );
        assert_eq!(plan.bin_dir, PathBuf::from("target/release"));
        for wrong in [
            &["--seconds", "4"][..],
            &["--seconds", "601"],
            &["--backend", "aws"],
            &["--seed", "-1"],
            &["--nope"],
        ] {
            assert!(parse(wrong).is_err(), "{wrong:?} was taken");
        }
    }
}
