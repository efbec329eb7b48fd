//! `--scenario fifo`: what a FIFO queue costs against a standard one, on one
//! backend. For a standard queue, then a FIFO queue with the messages spread
//! over 1, 10 and 100 groups: the web's accept rate (worker stopped), the
//! worker's drain rate, and the AWS requests per message of each process (on
//! moto, counted on the wire by a proxy per process, as in `run.rs`).
//!
//! Every job is `ok` (instant), so one group drains at the speed of one job
//! after another through the queue: receive, `/process`, delete. Each rate is
//! also given as a ratio to the standard queue's, measured in the same run.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::time::Instant;

use crate::Options;
use crate::proxy;
use crate::report::per_message;
use crate::run::{Backend, provision_moto_queue, send_in_groups, start, until_none_pending};

/// One queue's figures.
pub struct FifoRun {
    /// `standard`, or `FIFO, N groups`.
    pub label: String,
    /// Messages accepted per second by the web.
    pub web_rate: f64,
    /// Messages finished per second by the worker.
    pub worker_rate: f64,
    /// AWS requests by the web while accepting.
    pub web_requests: BTreeMap<String, u64>,
    /// AWS requests by the worker while draining.
    pub worker_requests: BTreeMap<String, u64>,
}

/// The queues measured: a group count of 0 is the standard queue.
const GROUPS: [usize; 4] = [0, 1, 10, 100];

/// Runs every queue of [`GROUPS`] on `options.backend`.
pub async fn run(options: &Options) -> anyhow::Result<Vec<FifoRun>> {
    let mut runs = Vec::new();
    for groups in GROUPS {
        runs.push(one_queue(options, groups).await?);
    }
    Ok(runs)
}

async fn one_queue(options: &Options, groups: usize) -> anyhow::Result<FifoRun> {
    let label = match groups {
        0 => "standard".to_owned(),
        1 => "FIFO, 1 group".to_owned(),
        n => format!("FIFO, {n} groups"),
    };
    eprintln!("fifo scenario, {}: {label}", options.backend);
    let data_dir = tempfile::tempdir()?;
    let kind = if groups == 0 { "standard" } else { "fifo" };
    let (backend, proxies) = if options.backend == "moto" {
        let moto = crate::run::moto_endpoint()?;
        let suffix = if groups == 0 { "" } else { ".fifo" };
        let backend = provision_moto_queue(&options.bin_dir, &moto, suffix).await?;
        let web = proxy::start(&moto).await?;
        let worker = proxy::start(&moto).await?;
        (backend, Some((web, worker)))
    } else {
        (Backend::Embedded(data_dir.path().to_owned()), None)
    };
    let web_endpoint = proxies.as_ref().map(|(web, _)| web.0.clone());
    let worker_endpoint = proxies.as_ref().map(|(_, worker)| worker.0.clone());
    let web = start(
        &options.bin_dir.join("web"),
        &backend,
        web_endpoint.as_deref(),
        &[("QUEUE_TYPE", kind)],
    )
    .await?;
    let (_, sending) =
        send_in_groups(&web.url, options.messages, options.concurrency, groups).await?;
    let web_requests = proxies
        .as_ref()
        .map(|(web, _)| web.1.snapshot())
        .unwrap_or_default();
    let started = Instant::now();
    let worker = start(
        &options.bin_dir.join("worker"),
        &backend,
        worker_endpoint.as_deref(),
        &[
            ("WORKER_POLL", "true"),
            ("CRON_FILE", "none"),
            ("QUEUE_TYPE", kind),
        ],
    )
    .await?;
    until_none_pending(&web.url).await?;
    let draining = started.elapsed();
    let worker_requests = proxies
        .as_ref()
        .map(|(_, worker)| worker.1.snapshot())
        .unwrap_or_default();
    drop(worker);
    drop(web);
    Ok(FifoRun {
        label,
        web_rate: options.messages as f64 / sending.as_secs_f64(),
        worker_rate: options.messages as f64 / draining.as_secs_f64(),
        web_requests,
        worker_requests,
    })
}

/// The runs as a Markdown section.
pub fn markdown(options: &Options, runs: &[FifoRun]) -> String {
    // Writing to a String cannot fail: the `let _ =` below drop an Ok.
    let mut text = String::new();
    let _ = writeln!(
        text,
        "### FIFO against standard, backend: {} ({} messages, {} concurrent clients)\n",
        options.backend, options.messages, options.concurrency
    );
    let _ = writeln!(
        text,
        "| queue | web: accepted/s (ratio to standard) | worker: finished/s (ratio to standard) | AWS requests per message: web | worker |\n|---|---|---|---|---|"
    );
    let standard = runs.first().map(|run| (run.web_rate, run.worker_rate));
    for run in runs {
        let ratio = |rate: f64, of: fn((f64, f64)) -> f64| {
            standard.map_or(String::new(), |base| format!(" ({:.2})", rate / of(base)))
        };
        let _ = writeln!(
            text,
            "| {} | {:.0}{} | {:.0}{} | {} | {} |",
            run.label,
            run.web_rate,
            ratio(run.web_rate, |base| base.0),
            run.worker_rate,
            ratio(run.worker_rate, |base| base.1),
            per_message(&run.web_requests, options.messages),
            per_message(&run.worker_requests, options.messages),
        );
    }
    text
}
