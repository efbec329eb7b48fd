//! The processes under test: one `web` and several polling `worker`s, the
//! release binaries, each killable with SIGKILL (no chance to clean up) and
//! restarted with the same settings, the web on the same port.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::process::{Child, Command};

/// The settings every process gets, and where the binaries are.
#[derive(Debug, Clone)]
pub struct Setup {
    /// Where `web` and `worker` are.
    pub bin_dir: PathBuf,
    /// Environment for every process (the backend, its endpoints).
    pub env: Vec<(String, String)>,
    /// The `cron.yaml` the workers read (a sweep every minute).
    pub cron_file: PathBuf,
}

/// The running processes.
pub struct Fleet {
    setup: Setup,
    web: Child,
    web_port: u16,
    workers: Vec<Child>,
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

fn command(binary: &Path, setup: &Setup) -> Command {
    let mut command = Command::new(binary);
    command
        .env("RUST_LOG", "error")
        .env_remove("QUEUE_URL")
        .env_remove("TABLE_NAME")
        .env_remove("AWS_ENDPOINT_URL")
        .envs(setup.env.iter().map(|(name, value)| (name, value)))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    command
}

fn spawn_web(setup: &Setup, port: u16) -> anyhow::Result<Child> {
    let binary = setup.bin_dir.join("web");
    command(&binary, setup)
        .env("PORT", port.to_string())
        // The suite's senders are few clients sending fast.
        .env("SEND_RATE_PER_MINUTE", "0")
        .env("READ_RATE_PER_MINUTE", "0")
        .spawn()
        .map_err(|error| anyhow::anyhow!("cannot start {}: {error}", binary.display()))
}

fn spawn_worker(setup: &Setup) -> anyhow::Result<Child> {
    let binary = setup.bin_dir.join("worker");
    command(&binary, setup)
        .env("PORT", "0")
        .env("WORKER_POLL", "true")
        .env("POLL_WAIT_SECONDS", "1")
        // A killed worker's jobs come back within a minute, not sqsd's 300
        // s. The job deadline still leaves a sweep (the periodic task) time
        // to read every shard of the pending index twice on a busy moto,
        // where one index Query scans the whole table (about 40 ms with 400
        // messages while the rest of the tests use the same moto): at 5 s,
        // and then with the index on 64 shards at 20 s, every sweep of a
        // loaded run timed out, and a record whose job was lost stayed
        // pending. sqsd's own default is 299 s.
        .env("VISIBILITY_TIMEOUT", "65")
        .env("INACTIVITY_TIMEOUT", "60")
        .env("ERROR_VISIBILITY_TIMEOUT", "0")
        .env("SLOW_JOB_MS", "300")
        // A record whose job was lost (the web killed between its two
        // writes) is enqueued again by the next sweep, a minute at most.
        .env("SWEEP_AFTER_SECONDS", "5")
        .env("CRON_FILE", &setup.cron_file)
        .spawn()
        .map_err(|error| anyhow::anyhow!("cannot start {}: {error}", binary.display()))
}

impl Fleet {
    /// Starts the web and `workers` workers, and waits for the web's `/health`.
    pub async fn start(setup: Setup, workers: usize) -> anyhow::Result<Self> {
        let web_port = free_port()?;
        let web = spawn_web(&setup, web_port)?;
        let workers = (0..workers)
            .map(|_| spawn_worker(&setup))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let fleet = Self {
            setup,
            web,
            web_port,
            workers,
        };
        fleet.until_web_answers().await?;
        Ok(fleet)
    }

    /// Where the web answers.
    pub fn web_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.web_port)
    }

    async fn until_web_answers(&self) -> anyhow::Result<()> {
        let client = reqwest::Client::new();
        for _ in 0..200 {
            if client
                .get(format!("{}/health", self.web_url()))
                .send()
                .await
                .is_ok()
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        anyhow::bail!("the web did not answer /health within 10 s")
    }

    /// SIGKILLs the web mid-whatever, then starts it again on its port.
    pub async fn kill_web(&mut self) -> anyhow::Result<()> {
        self.web.kill().await?;
        self.web = spawn_web(&self.setup, self.web_port)?;
        self.until_web_answers().await
    }

    /// SIGKILLs worker `index` mid-whatever, then starts it again.
    pub async fn kill_worker(&mut self, index: usize) -> anyhow::Result<()> {
        let count = self.workers.len();
        let worker = &mut self.workers[index % count];
        worker.kill().await?;
        *worker = spawn_worker(&self.setup)?;
        Ok(())
    }

    /// How many workers run.
    pub fn workers(&self) -> usize {
        self.workers.len()
    }
}
