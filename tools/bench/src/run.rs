//! One benchmark run: start the processes, drive the three phases, collect
//! the figures, stop everything.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use tokio::process::{Child, Command};
use tokio::sync::Semaphore;

use crate::Options;
use crate::proxy::{self, Counts};

/// Everything measured.
#[derive(Debug, Default)]
pub struct Results {
    /// Messages accepted per second by the web.
    pub web_rate: f64,
    /// Messages finished per second by the worker.
    pub worker_rate: f64,
    /// Send-to-final latencies, sorted.
    pub latencies: Vec<Duration>,
    /// Peak resident memory in KiB.
    pub web_peak_kib: u64,
    /// Peak resident memory in KiB.
    pub worker_peak_kib: u64,
    /// AWS requests by the web while accepting the throughput messages.
    pub web_requests: BTreeMap<String, u64>,
    /// AWS requests by the worker while draining them.
    pub worker_requests: BTreeMap<String, u64>,
}

/// A running binary, stopped when dropped.
pub struct Process {
    child: Child,
    /// Where it answers.
    pub url: String,
}

impl Process {
    /// The process's peak resident memory, from Linux's `/proc`.
    fn peak_kib(&self) -> anyhow::Result<u64> {
        let pid = self
            .child
            .id()
            .ok_or_else(|| anyhow::anyhow!("the process has exited: its peak memory is gone"))?;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
        status
            .lines()
            .find(|line| line.starts_with("VmHWM:"))
            .and_then(|line| line.split_whitespace().nth(1))
            .and_then(|kib| kib.parse().ok())
            .ok_or_else(|| anyhow::anyhow!("/proc/{pid}/status has no VmHWM line"))
    }
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// Environment for one process: the backend, and the emulator through `endpoint`.
fn configure(command: &mut Command, backend: &Backend, endpoint: Option<&str>) {
    command
        .env("RUST_LOG", "warn")
        // The bench is one client sending as fast as it can: the web's rate
        // limit and in-flight cap would measure themselves, not the pipeline.
        .env("SEND_RATE_PER_MINUTE", "0")
        .env("READ_RATE_PER_MINUTE", "0")
        .env("MAX_IN_FLIGHT", "0")
        .env_remove("QUEUE_URL")
        .env_remove("TABLE_NAME")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .kill_on_drop(true);
    match backend {
        Backend::Embedded(dir) => {
            command.env("DATA_DIR", dir);
        }
        Backend::Moto { queue_url, table } => {
            command
                .env("QUEUE_URL", queue_url)
                .env("TABLE_NAME", table)
                .env(
                    "AWS_ENDPOINT_URL",
                    endpoint.expect("a moto backend is always reached through its counting proxy"),
                )
                .env("AWS_REGION", "us-east-1")
                .env("AWS_ACCESS_KEY_ID", "test")
                .env("AWS_SECRET_ACCESS_KEY", "test");
        }
    }
}

/// Where the processes keep their messages.
pub enum Backend {
    /// SQLite under this `DATA_DIR`.
    Embedded(std::path::PathBuf),
    /// SQS and DynamoDB on moto.
    Moto { queue_url: String, table: String },
}

/// moto's URL, from `MOTO_ENDPOINT` (`scripts/bench` starts moto and sets it).
pub fn moto_endpoint() -> anyhow::Result<String> {
    std::env::var("MOTO_ENDPOINT").map_err(|_| {
        anyhow::anyhow!("MOTO_ENDPOINT is not set: start moto's server, or run scripts/bench")
    })
}

/// Creates a fresh queue and table on moto at `moto` with `web provision`.
pub async fn provision_moto(bin_dir: &Path, moto: &str) -> anyhow::Result<Backend> {
    provision_moto_queue(bin_dir, moto, "").await
}

/// As [`provision_moto`], with `suffix` on the queue's name (`.fifo`: a FIFO queue).
pub async fn provision_moto_queue(
    bin_dir: &Path,
    moto: &str,
    suffix: &str,
) -> anyhow::Result<Backend> {
    let name = format!("bench-{}", chrono::Utc::now().timestamp_millis());
    let backend = Backend::Moto {
        queue_url: format!("{moto}/123456789012/{name}{suffix}"),
        table: name,
    };
    let mut provision = Command::new(bin_dir.join("web"));
    configure(&mut provision, &backend, Some(moto));
    let status = provision.arg("provision").status().await?;
    anyhow::ensure!(status.success(), "web provision failed");
    Ok(backend)
}

/// Starts `binary` on a free port with `extra` settings and waits for its `/health`.
pub async fn start(
    binary: &Path,
    backend: &Backend,
    endpoint: Option<&str>,
    extra: &[(&str, &str)],
) -> anyhow::Result<Process> {
    let port = free_port()?;
    let mut command = Command::new(binary);
    configure(&mut command, backend, endpoint);
    command.env("PORT", port.to_string());
    for (name, value) in extra {
        command.env(name, value);
    }
    let child = command.spawn().map_err(|error| {
        anyhow::anyhow!(
            "cannot start {}: {error}. Build it with scripts/bench",
            binary.display()
        )
    })?;
    let url = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    for _ in 0..200 {
        if client.get(format!("{url}/health")).send().await.is_ok() {
            return Ok(Process { child, url });
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    anyhow::bail!("{} did not answer /health within 10 s", binary.display())
}

/// Sends `count` messages with `concurrency` senders; returns ids and elapsed time.
async fn send_many(
    web: &str,
    count: usize,
    concurrency: usize,
) -> anyhow::Result<(Vec<String>, Duration)> {
    send_in_groups(web, count, concurrency, 0).await
}

/// As [`send_many`], message `n` in group `g{n % groups}` (none if `groups` is 0).
pub async fn send_in_groups(
    web: &str,
    count: usize,
    concurrency: usize,
    groups: usize,
) -> anyhow::Result<(Vec<String>, Duration)> {
    let client = reqwest::Client::new();
    let slots = Arc::new(Semaphore::new(concurrency));
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(count);
    for n in 0..count {
        let permit = Arc::clone(&slots).acquire_owned().await?;
        let (client, url) = (client.clone(), format!("{web}/api/messages"));
        tasks.push(tokio::spawn(async move {
            let group = (groups > 0).then(|| format!("g{}", n % groups));
            let answer = client
                .post(url)
                .json(&json!({ "body": format!("bench {n}"), "group": group }))
                .send()
                .await;
            drop(permit);
            let message: Value = answer?.error_for_status()?.json().await?;
            let id = message["id"]
                .as_str()
                .ok_or_else(|| anyhow::anyhow!("the web's answer has no id: {message}"))?;
            anyhow::Ok(id.to_owned())
        }));
    }
    let mut ids = Vec::with_capacity(count);
    for task in tasks {
        ids.push(task.await??);
    }
    Ok((ids, started.elapsed()))
}

/// Waits (at most ten minutes) until no message is pending, asking every
/// 20 ms.
pub async fn until_none_pending(web: &str) -> anyhow::Result<()> {
    until_none_pending_every(web, Duration::from_millis(20)).await
}

/// Waits (at most ten minutes) until no message is pending, asking every
/// `poll_every`.
pub async fn until_none_pending_every(web: &str, poll_every: Duration) -> anyhow::Result<()> {
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(600);
    while Instant::now() < deadline {
        let page: Value = client
            .get(format!("{web}/api/messages?status=pending&limit=1"))
            .send()
            .await?
            .json()
            .await?;
        if page["items"].as_array().is_some_and(Vec::is_empty) {
            return Ok(());
        }
        tokio::time::sleep(poll_every).await;
    }
    anyhow::bail!("messages were still pending after ten minutes")
}

async fn record(client: &reqwest::Client, web: &str, id: &str) -> anyhow::Result<Value> {
    Ok(client
        .get(format!("{web}/api/messages/{id}"))
        .send()
        .await?
        .json()
        .await?)
}

fn timestamp(message: &Value, field: &str) -> Option<DateTime<Utc>> {
    message[field]
        .as_str()
        .and_then(|text| DateTime::parse_from_rfc3339(text).ok())
        .map(|at| at.with_timezone(&Utc))
}

/// The whole run.
pub async fn run(options: &Options) -> anyhow::Result<Results> {
    let data_dir = tempfile::tempdir()?;
    let (backend, web_endpoint, worker_endpoint, counts) = if options.backend == "moto" {
        let moto = moto_endpoint()?;
        let backend = provision_moto(&options.bin_dir, &moto).await?;
        let (web_proxy, web_counts) = proxy::start(&moto).await?;
        let (worker_proxy, worker_counts) = proxy::start(&moto).await?;
        (
            backend,
            Some(web_proxy),
            Some(worker_proxy),
            Some((web_counts, worker_counts)),
        )
    } else {
        (
            Backend::Embedded(data_dir.path().to_owned()),
            None,
            None,
            None,
        )
    };
    let counts: Option<(Counts, Counts)> = counts;

    let web = start(
        &options.bin_dir.join("web"),
        &backend,
        web_endpoint.as_deref(),
        &[],
    )
    .await?;
    eprintln!(
        "phase 1: {} messages into the web, worker stopped",
        options.messages
    );
    let (_, sending) = send_many(&web.url, options.messages, options.concurrency).await?;
    // The embedded backend makes no AWS requests: nothing to count.
    let web_requests = counts
        .as_ref()
        .map(|(web, _)| web.snapshot())
        .unwrap_or_default();

    eprintln!("phase 2: the worker drains them");
    let worker_started = Instant::now();
    let worker = start(
        &options.bin_dir.join("worker"),
        &backend,
        worker_endpoint.as_deref(),
        &[("WORKER_POLL", "true")],
    )
    .await?;
    until_none_pending(&web.url).await?;
    let draining = worker_started.elapsed();
    // As for the web: none on the embedded backend.
    let worker_requests = counts
        .as_ref()
        .map(|(_, worker)| worker.snapshot())
        .unwrap_or_default();
    if let Some((web_counts, worker_counts)) = &counts {
        web_counts.reset();
        worker_counts.reset();
    }

    eprintln!(
        "phase 3: {} messages one after another, for latency",
        options.latency_messages
    );
    let client = reqwest::Client::new();
    let mut ids = Vec::new();
    for _ in 0..options.latency_messages {
        let (mut sent, _) = send_many(&web.url, 1, 1).await?;
        ids.append(&mut sent);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    until_none_pending(&web.url).await?;
    let mut latencies = Vec::new();
    for id in &ids {
        let message = record(&client, &web.url, id).await?;
        let at = |field: &str| {
            timestamp(&message, field)
                .ok_or_else(|| anyhow::anyhow!("message {message} has no readable {field}"))
        };
        let latency = (at("updated_at")? - at("created_at")?)
            .to_std()
            .map_err(|_| anyhow::anyhow!("message {message} was updated before it was created"))?;
        latencies.push(latency);
    }
    latencies.sort();

    let results = Results {
        web_rate: options.messages as f64 / sending.as_secs_f64(),
        worker_rate: options.messages as f64 / draining.as_secs_f64(),
        latencies,
        web_peak_kib: web.peak_kib()?,
        worker_peak_kib: worker.peak_kib()?,
        web_requests,
        worker_requests,
    };
    drop(web);
    drop(worker);
    Ok(results)
}
