//! `POST /process-batch`: processes one batch from the queue on demand, for a
//! local run in manual mode (`WORKER_POLL=manual`; the page's "process
//! messages" button). The route exists only in that mode (`routes/mod.rs`).

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use service::http::HttpError;
use sqsd::Dispatched;

use super::BatchState;

/// How long the button waits for messages to arrive.
const WAIT: Duration = Duration::from_secs(1);

/// What one batch did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct BatchReport {
    /// Messages received from the queue.
    pub received: usize,
    /// Messages that reached a final state.
    pub done: usize,
    /// Messages that will be retried.
    pub retried: usize,
}

/// `200 {"received", "done", "retried"}`.
pub async fn process_batch(
    State(state): State<BatchState>,
) -> Result<Json<BatchReport>, HttpError> {
    let outcomes = state.poller.poll_once(WAIT).await.map_err(|source| {
        HttpError::service_unavailable("the queue is unavailable; try again in a moment", source)
    })?;
    let count = |kind: Dispatched| outcomes.iter().filter(|outcome| **outcome == kind).count();
    Ok(Json(BatchReport {
        received: outcomes.len(),
        done: count(Dispatched::Done),
        retried: count(Dispatched::Retried),
    }))
}
