//! The web's line to the worker, for local runs with polling off: the page's
//! "process messages" button asks the worker to process one batch. On Elastic
//! Beanstalk, sqsd feeds the worker and `WORKER_URL` is not set.

use std::time::Duration;

use serde::Deserialize;
use service::http::ErrorBody;

/// Where the worker answers, and a client to reach it.
#[derive(Debug, Clone)]
pub struct WorkerLink {
    url: String,
    client: reqwest::Client,
}

/// What the worker did with one batch.
#[derive(Debug, Clone, Copy, Deserialize, serde::Serialize)]
pub struct BatchReport {
    /// Messages received from the queue.
    pub received: u64,
    /// Messages that reached a final state.
    pub done: u64,
    /// Messages that will be retried.
    pub retried: u64,
}

/// How jobs reach the worker, as the web sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum WorkerMode {
    /// No `WORKER_URL`: on Elastic Beanstalk, sqsd posts each job to the worker.
    Sqsd,
    /// The worker polls the queue itself (`WORKER_POLL=true`).
    Polling,
    /// The worker waits for "process messages" (`WORKER_POLL=manual`).
    Manual,
    /// `WORKER_URL` is set but the worker does not answer.
    Unreachable,
}

impl WorkerMode {
    /// What the page says.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Sqsd => "fed by sqsd",
            Self::Polling => "polling the queue, as sqsd would",
            Self::Manual => "manual: waits for Process",
            Self::Unreachable => "not answering",
        }
    }
}

#[derive(Deserialize)]
struct Health {
    #[serde(default)]
    polling: bool,
    /// `sqsd`, `polling` or `manual`; absent from a worker of an older version.
    #[serde(default)]
    mode: Option<String>,
}

impl WorkerLink {
    /// The worker at `url` (for example `http://127.0.0.1:8081`). Fails only
    /// when no HTTP client can be made on this machine (no TLS roots, say).
    pub fn new(url: impl Into<String>) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            // A batch may hold slow jobs; the button waits for them.
            .timeout(Duration::from_secs(30))
            .build()?;
        Ok(Self {
            url: url.into().trim_end_matches('/').to_owned(),
            client,
        })
    }

    /// Whether the worker is up, and whether it polls or waits for batches
    /// by hand (then the page offers "process messages").
    pub async fn mode(&self) -> WorkerMode {
        let health = self
            .client
            .get(format!("{}/health", self.url))
            .timeout(Duration::from_secs(1))
            .send()
            .await;
        let health = match health {
            Ok(response) if response.status().is_success() => response.json::<Health>().await,
            _ => return WorkerMode::Unreachable,
        };
        match health {
            Ok(health) => match health.mode.as_deref() {
                Some("sqsd") => WorkerMode::Sqsd,
                Some("manual") => WorkerMode::Manual,
                Some("polling") => WorkerMode::Polling,
                _ if health.polling => WorkerMode::Polling,
                _ => WorkerMode::Manual,
            },
            Err(_) => WorkerMode::Unreachable,
        }
    }

    /// Asks the worker to process one batch; the error is a sentence for the page.
    pub async fn process_batch(&self) -> Result<BatchReport, String> {
        let response = self
            .client
            .post(format!("{}/process-batch", self.url))
            .send()
            .await
            .map_err(|error| {
                // The worker's address is internal: the log has it, the answer does not.
                tracing::warn!(worker = %self.url, %error, "the worker cannot be reached");
                "the worker cannot be reached: is it running? (the web's log says where it looked)"
                    .to_owned()
            })?;
        if response.status().is_success() {
            response.json().await.map_err(|error| {
                tracing::warn!(worker = %self.url, %error, "the worker's answer cannot be read");
                "the worker's answer cannot be read".to_owned()
            })
        } else {
            let status = response.status();
            Err(response.json::<ErrorBody>().await.map_or_else(
                |_| format!("the worker answered {status}"),
                |body| body.error,
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A worker that cannot be reached is said so without its address,
    /// which is internal: the log has it, the page does not.
    #[tokio::test]
    async fn an_unreachable_worker_is_said_so_without_its_address() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        // Bound, then closed: nothing answers there.
        let link = WorkerLink::new(format!("http://127.0.0.1:{port}")).expect("a client");
        let error = link.process_batch().await.expect_err("nothing answers");
        assert!(error.contains("cannot be reached"), "{error}");
        assert!(
            !error.contains("127.0.0.1") && !error.contains(&port.to_string()),
            "{error}"
        );
    }
}
