//! Starting the web for a test, standing in for the worker where a test
//! needs a message to have moved on, and looking at what a send left behind.

use std::net::SocketAddr;
use std::time::Duration;

use messages::{Backends, FinalStatus, JobPayload, ListQuery, Message, Outcome, Simulate};

/// Starts the web on `backends` on a free port of 127.0.0.1, served until the
/// test ends, and returns its URL.
pub async fn spawn_web(backends: Backends) -> String {
    let app =
        web::Application::with_backends(backends, None, SocketAddr::from(([127, 0, 0, 1], 0)))
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
        Simulate::Fail => FinalStatus::Fail,
        _ => FinalStatus::Complete,
    };
    let outcome = Outcome {
        status,
        attempts: 1,
        error: None,
        at: messages::now(),
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

/// Every record in the store (a test makes fewer than a page).
pub async fn every_record(backends: &Backends) -> Vec<Message> {
    backends
        .store
        .list(ListQuery {
            status: None,
            limit: 100,
            cursor: None,
        })
        .await
        .expect("list")
        .items
}

/// Every record in the store, page by page.
pub async fn every_record_paged(backends: &Backends) -> Vec<Message> {
    let mut records = Vec::new();
    let mut cursor = None;
    loop {
        let page = backends
            .store
            .list(ListQuery {
                status: None,
                limit: 100,
                cursor,
            })
            .await
            .expect("list");
        records.extend(page.items);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return records,
        }
    }
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
