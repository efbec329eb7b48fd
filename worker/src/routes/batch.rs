//! `POST /process-batch`: processes one batch from the queue on demand, for a
//! local run with polling off (the page's "process messages" button). With
//! polling on, messages are processed as they arrive, so it refuses and says so.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};
use sqsd::{Dispatched, Poller};

/// How long the button waits for messages to arrive.
const WAIT: Duration = Duration::from_secs(1);

/// What `/process-batch` and `/health` need.
#[derive(Clone)]
pub struct BatchState {
    /// The same poller that `WORKER_POLL=true` runs, used for one batch.
    pub poller: Poller,
    /// Whether the poller runs by itself.
    pub polling: bool,
}

/// `200 {"received", "done", "retried"}`, or `409` when the worker polls by itself.
pub async fn process_batch(State(state): State<BatchState>) -> (StatusCode, Json<Value>) {
    if state.polling {
        return (
            StatusCode::CONFLICT,
            Json(
                json!({ "error": "this worker polls the queue itself (WORKER_POLL=true), so messages are processed as they arrive and there is no batch to process by hand" }),
            ),
        );
    }
    match state.poller.poll_once(WAIT).await {
        Ok(outcomes) => {
            let count =
                |kind: Dispatched| outcomes.iter().filter(|outcome| **outcome == kind).count();
            (
                StatusCode::OK,
                Json(json!({
                    "received": outcomes.len(),
                    "done": count(Dispatched::Done),
                    "retried": count(Dispatched::Retried),
                })),
            )
        }
        Err(error) => {
            tracing::error!(error = %error.chain(), "cannot receive a batch");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "error": "the queue is unavailable; try again in a moment" })),
            )
        }
    }
}
