//! Starting the web for a test, standing in for the worker where a test
//! needs a message to have moved on, and looking at what a send left behind.

use std::net::SocketAddr;
use std::time::Duration;

use messages::{Backends, FinalStatus, JobKind, JobPayload, Message, Outcome};

/// Starts the web on `backends` on a free port of 127.0.0.1, served until the
/// test ends, and returns its URL.
pub async fn spawn_web(backends: Backends) -> String {
    let app = web::Web::new(backends)
        .bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .expect("the web binds a free port");
    let url = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until(std::future::pending()));
    url
}

/// Takes the next job off the queue and records its message final, as the
/// worker would: `fail` for a `fail` job, `complete` for any other. The web's
/// tests only need the record to move; the worker's own tests cover how.
pub async fn finish_next(backends: &Backends) {
    let received = backends
        .queue
        .receive(1, Duration::from_secs(2), Duration::from_secs(30))
        .await
        .expect("receive")
        .pop()
        .expect("a job is queued");
    let job = JobPayload::from_json(received.body.as_bytes()).expect("a job");
    let status = match job.simulate {
        JobKind::Fail => FinalStatus::Fail,
        _ => FinalStatus::Complete,
    };
    let outcome = Outcome {
        status,
        attempts: 1,
        error: None,
        at: messages::now(),
        event: None,
    };
    backends
        .store
        .finish(job.id, &outcome)
        .await
        .expect("finish");
    backends
        .queue
        .delete(&received.receipt_handle)
        .await
        .expect("delete");
}

/// Every record in the store.
pub async fn every_record(backends: &Backends) -> Vec<Message> {
    testkit::backends::every_record(backends)
        .await
        .expect("list every record")
}

/// The jobs waiting on the queue, taken off it (hidden for 30 s).
pub async fn take_jobs(backends: &Backends) -> Vec<String> {
    let mut bodies = Vec::new();
    for _ in 0..3 {
        let received = backends
            .queue
            .receive(10, Duration::from_millis(100), Duration::from_secs(30))
            .await
            .expect("receive");
        bodies.extend(received.into_iter().map(|message| message.body));
    }
    bodies
}

/// A JSON answer, read whole.
pub struct Answer {
    /// Its status.
    pub status: axum::http::StatusCode,
    /// Its `Retry-After` header, if any.
    pub retry_after: Option<String>,
    /// Its body as JSON (`Null` when it is not JSON).
    pub body: serde_json::Value,
}

/// Reads `response` into an [`Answer`].
pub async fn answer(response: axum::response::Response) -> Answer {
    let status = response.status();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("body");
    Answer {
        status,
        retry_after,
        body: serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null),
    }
}

/// Starts `command` (the `web` binary, or a shell that execs it) on the
/// embedded backend in `data_dir`, on a free port of 127.0.0.1, with no rate
/// limit (a test is one client sending fast), and waits for its `/health`.
/// Returns the process and its URL.
pub async fn start_web_binary(
    mut command: tokio::process::Command,
    data_dir: &std::path::Path,
) -> (tokio::process::Child, String) {
    command
        .env("SEND_RATE_PER_MINUTE", "0")
        .env("READ_RATE_PER_MINUTE", "0");
    start_limited_web_binary(command, data_dir).await
}

/// As [`start_web_binary`], with the limits `command`'s environment sets
/// (the defaults of a deployed web when it sets none).
pub async fn start_limited_web_binary(
    mut command: tokio::process::Command,
    data_dir: &std::path::Path,
) -> (tokio::process::Child, String) {
    command
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    start_web_binary_with_output(command, data_dir).await
}

/// As [`start_limited_web_binary`], with the standard streams `command`
/// sets (piped, to read what the web logs).
pub async fn start_web_binary_with_output(
    mut command: tokio::process::Command,
    data_dir: &std::path::Path,
) -> (tokio::process::Child, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port();
    let web = command
        .env_remove("QUEUE_URL")
        .env_remove("TABLE_NAME")
        .env("DATA_DIR", data_dir)
        .env("PORT", port.to_string())
        .kill_on_drop(true)
        .spawn()
        .expect("start the web binary");
    let url = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    for _ in 0..200 {
        if client.get(format!("{url}/health")).send().await.is_ok() {
            return (web, url);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the web did not answer /health within 10 s");
}

/// The message ids of every job on the queue, taken off it.
pub async fn all_job_ids(backends: &Backends) -> std::collections::BTreeSet<String> {
    let mut ids = std::collections::BTreeSet::new();
    loop {
        let jobs = take_jobs(backends).await;
        if jobs.is_empty() {
            return ids;
        }
        for job in jobs {
            let job = JobPayload::from_json(job.as_bytes()).expect("a job");
            ids.insert(job.id.to_string());
        }
    }
}
