//! `POST /tasks/sweep`: the periodic task `cron.yaml` schedules. sqsd POSTs it
//! with `X-Aws-Sqsd-Taskname` and an empty body; a `200` ends the run.

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use messages::Backends;
use service::http::HttpError;
use sqsd::SqsdRequest;

use crate::sweep::{SweepConfig, SweepError, SweepReport, sweep};

/// What the sweeper needs.
#[derive(Clone)]
pub struct TaskState {
    /// The store to sweep and the queue to re-enqueue on.
    pub backends: Backends,
    /// Its settings.
    pub config: SweepConfig,
}

/// Runs one sweep; `200 {"checked", "requeued", "failed", "queue_busy"}`.
pub async fn sweep_task(
    State(state): State<TaskState>,
    headers: HeaderMap,
) -> Result<Json<SweepReport>, HttpError> {
    if let Ok(SqsdRequest::Task(task)) = SqsdRequest::parse(&headers) {
        tracing::info!(task = %task.name, scheduled_at = ?task.scheduled_at, "periodic task");
    }
    sweep(&state.backends, state.config, messages::now())
        .await
        .map(Json)
        .map_err(|error| {
            let public = format!("the sweep could not run: {error}");
            match error {
                SweepError::Backend(source) => HttpError::service_unavailable(public, source),
            }
        })
}
