//! The figures as a Markdown section, ready for BENCHMARKS.md.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::time::Duration;

use crate::Options;
use crate::rescue::RescueResults;
use crate::run::Results;

/// The value at `fraction` (0.5 for the median) of `sorted`, zero if empty.
pub fn percentile(sorted: &[Duration], fraction: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((sorted.len() as f64 * fraction).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// Requests per message: the total, then each operation's.
pub fn per_message(counts: &BTreeMap<String, u64>, messages: usize) -> String {
    if counts.is_empty() {
        return "n/a (no AWS)".to_owned();
    }
    let total: u64 = counts.values().sum();
    let detail: Vec<String> = counts
        .iter()
        .map(|(operation, count)| {
            format!(
                "{} {:.2}",
                operation
                    .rsplit('.')
                    .next()
                    .expect("rsplit yields at least one part"),
                *count as f64 / messages as f64
            )
        })
        .collect();
    format!(
        "{:.2} ({})",
        total as f64 / messages as f64,
        detail.join(", ")
    )
}

/// One Markdown section for `results`.
pub fn markdown(options: &Options, results: &Results) -> String {
    // Writing to a String cannot fail: the `let _ =` below drop an Ok.
    let mut text = String::new();
    let ms = |duration: Duration| duration.as_secs_f64() * 1000.0;
    let _ = writeln!(text, "### Backend: {}\n", options.backend);
    let _ = writeln!(text, "| measure | value |\n|---|---|");
    let _ = writeln!(
        text,
        "| web: messages accepted per second ({} messages, {} concurrent clients) | {:.0} |",
        options.messages, options.concurrency, results.web_rate
    );
    let _ = writeln!(
        text,
        "| worker: messages finished per second (draining {} messages) | {:.0} |",
        options.messages, results.worker_rate
    );
    let _ = writeln!(
        text,
        "| send to final state, p50 / p99 / max ({} messages, one at a time) | {:.0} ms / {:.0} ms / {:.0} ms |",
        results.latencies.len(),
        ms(percentile(&results.latencies, 0.50)),
        ms(percentile(&results.latencies, 0.99)),
        ms(*results
            .latencies
            .last()
            .expect("--latency-messages is at least 1, so there is a latency")),
    );
    let _ = writeln!(
        text,
        "| peak memory (VmHWM): web / worker | {:.1} MiB / {:.1} MiB |",
        results.web_peak_kib as f64 / 1024.0,
        results.worker_peak_kib as f64 / 1024.0
    );
    let _ = writeln!(
        text,
        "| AWS requests per message, web | {} |",
        per_message(&results.web_requests, options.messages)
    );
    let _ = writeln!(
        text,
        "| AWS requests per message, worker | {} |",
        per_message(&results.worker_requests, options.messages)
    );
    text
}

/// The rescue scenario as a Markdown section.
pub fn rescue_markdown(results: &RescueResults) -> String {
    // As above: writing to a String cannot fail.
    let mut text = String::new();
    let seconds = |duration: Duration| duration.as_secs_f64();
    let _ = writeln!(
        text,
        "### Rescue under steady traffic (embedded, web and worker as two processes)\n"
    );
    let _ = writeln!(text, "| measure | value |\n|---|---|");
    let _ = writeln!(
        text,
        "| queue idle (nothing waiting, at most one in flight) in one-second samples | {} of {} |",
        results.idle_samples, results.samples
    );
    let _ = writeln!(
        text,
        "| records with a lost job, rescued to `complete` / failed / planted | {} / {} / {} |",
        results.rescue_times.len(),
        results.lost_failed,
        results.lost
    );
    if let (Some(first), Some(last)) = (results.rescue_times.first(), results.rescue_times.last()) {
        let _ = writeln!(
            text,
            "| time to rescue, first / p50 / last (bound: `SWEEP_AFTER_SECONDS` {} s + one cron period, 60 s) | {:.1} s / {:.1} s / {:.1} s |",
            results.sweep_after.as_secs(),
            seconds(*first),
            seconds(percentile(&results.rescue_times, 0.5)),
            seconds(*last),
        );
    }
    let _ = writeln!(
        text,
        "| steady-traffic jobs sent / ended `fail` / given an extra job by the sweeper | {} / {} / {} |",
        results.load_sent, results.load_failed, results.load_requeued
    );
    text
}
