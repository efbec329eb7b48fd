//! The benchmark's command line, read with clap like every binary's
//! settings: `bench --help` lists each option, what it accepts and its
//! default, and a wrong one is refused with the usage.

use std::path::PathBuf;

use clap::{Arg, Command, value_parser};

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
    /// Capacity: the size of each message's body, in bytes.
    pub body_bytes: usize,
}

fn command() -> Command {
    let count = |name: &'static str, default: &'static str, help: &'static str| {
        Arg::new(name)
            .long(name)
            .value_name("N")
            .value_parser(value_parser!(u64).range(1..))
            .default_value(default)
            .help(help)
    };
    // One of `values`, the first by default.
    let choice = |name: &'static str, values: &'static [&'static str], help: &'static str| {
        Arg::new(name)
            .long(name)
            .value_parser(values.to_vec())
            .default_value(values[0])
            .help(help)
    };
    Command::new("bench")
        .about("The benchmark: the web and the worker as processes, on the embedded backend or on moto (MOTO_ENDPOINT)")
        .args([
            choice(
                "scenario",
                &["pipeline", "fifo", "tabs", "rescue", "capacity"],
                "pipeline: accept rate, drain rate, latency, memory, AWS requests; fifo: standard against FIFO with 1, 10 and 100 groups; tabs: what open pages cost (moto); rescue: the sweeper under traffic; capacity: requests, units and dollars per message (moto)",
            ),
            choice("backend", &["embedded", "moto"], "the backend of pipeline and fifo"),
            count("messages", "1000", "messages for the throughput phases (capacity: sent one at a time, and as many in bursts)"),
            count("concurrency", "16", "concurrent senders"),
            count("latency-messages", "200", "messages for the latency phase"),
            Arg::new("bin-dir")
                .long("bin-dir")
                .value_name("DIR")
                .value_parser(value_parser!(PathBuf))
                .default_value("target/release")
                .help("where the release binaries are"),
            count("list-messages", "100000", "capacity: messages in the large table a list page is timed on"),
            count("list-requests", "30", "capacity: list requests timed per query and table size"),
            count("seed-seconds", "1800", "capacity: how long seeding the large table may take"),
            count("body-bytes", "1024", "capacity: the size of each message's body, in bytes (its goals are set at 1 KB)"),
            Arg::new("write-log")
                .long("write-log")
                .value_name("FILE.csv")
                .value_parser(value_parser!(PathBuf))
                .help("capacity: where to write every modelled write with its partition key value"),
        ])
}

impl Options {
    /// The options of this run; `--help`, or a wrong option, ends the
    /// process here with clap's answer (the usage, exit status 2).
    pub fn from_command_line() -> Self {
        Self::from(command().get_matches())
    }
}

impl From<clap::ArgMatches> for Options {
    fn from(matches: clap::ArgMatches) -> Self {
        let text = |name: &str| matches.get_one::<String>(name).cloned().unwrap_or_default();
        // Every count has a default and is at least 1 (its parser says so).
        let count = |name: &str| matches.get_one::<u64>(name).copied().unwrap_or(1);
        let size = |name: &str| usize::try_from(count(name)).unwrap_or(usize::MAX);
        Self {
            scenario: text("scenario"),
            backend: text("backend"),
            messages: size("messages"),
            concurrency: size("concurrency"),
            latency_messages: size("latency-messages"),
            bin_dir: matches
                .get_one::<PathBuf>("bin-dir")
                .cloned()
                .unwrap_or_default(),
            list_messages: size("list-messages"),
            list_requests: size("list-requests"),
            seed_seconds: count("seed-seconds"),
            write_log: matches.get_one::<PathBuf>("write-log").cloned(),
            body_bytes: size("body-bytes"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(arguments: &[&str]) -> Result<Options, clap::Error> {
        command()
            .try_get_matches_from(std::iter::once("bench").chain(arguments.iter().copied()))
            .map(Options::from)
    }

    #[test]
    fn the_defaults_are_the_pipeline_on_the_embedded_backend() {
        let options = parse(&[]).expect("no option is needed");
        assert_eq!(options.scenario, "pipeline");
        assert_eq!(options.backend, "embedded");
        assert_eq!(options.messages, 1000);
        assert_eq!(options.list_messages, 100_000);
        assert_eq!(options.bin_dir, PathBuf::from("target/release"));
        assert_eq!(options.write_log, None);
        assert_eq!(options.body_bytes, 1024);
    }

    #[test]
    fn options_are_read_and_wrong_ones_refused() {
        let options = parse(&[
            "--scenario",
            "capacity",
            "--messages",
            "50",
            "--write-log",
            "w.csv",
        ])
        .expect("valid options");
        assert_eq!(options.scenario, "capacity");
        assert_eq!(options.messages, 50);
        assert_eq!(options.write_log, Some(PathBuf::from("w.csv")));
        for wrong in [
            &["--scenario", "nope"][..],
            &["--backend", "dynamo"],
            &["--messages", "0"],
            &["--concurrency", "many"],
            &["--unknown"],
        ] {
            assert!(parse(wrong).is_err(), "{wrong:?} was taken");
        }
    }
}
