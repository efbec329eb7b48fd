//! `POST /tasks/sweep`: the periodic task `cron.yaml` schedules. sqsd POSTs it
//! with `X-Aws-Sqsd-Taskname` and an empty body; a `200` ends the run.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use messages::Backends;
use serde_json::json;
use sqsd::SqsdRequest;

use crate::sweep::{SweepConfig, sweep};

/// What the sweeper needs.
#[derive(Clone)]
pub struct TaskState {
    /// The store to sweep and the queue to re-enqueue on.
    pub backends: Backends,
    /// Its settings.
    pub config: SweepConfig,
}

/// Runs one sweep; `200 {"checked", "requeued", "failed"}`.
pub async fn sweep_task(State(state): State<TaskState>, headers: HeaderMap) -> Response {
    if let Ok(SqsdRequest::Task(task)) = SqsdRequest::parse(&headers) {
        tracing::info!(task = %task.name, scheduled_at = ?task.scheduled_at, "periodic task");
    }
    match sweep(&state.backends, state.config, messages::now()).await {
        Ok(report) => (StatusCode::OK, Json(report)).into_response(),
        Err(error) => {
            tracing::error!(error = %error.chain(), "sweep failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "error": "the sweep could not run: a backend is unavailable; it runs again at its next schedule" })),
            )
                .into_response()
        }
    }
}
