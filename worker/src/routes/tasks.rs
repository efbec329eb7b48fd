//! `POST /tasks/sweep`: the periodic task `cron.yaml` schedules. sqsd delivers
//! it from the worker queue with `X-Aws-Sqsd-Taskname` and an empty body; a
//! `200` deletes the task's message, anything else retries it like a job.

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

/// Runs one sweep; `200 {"checked", "requeued", "failed", "left_waiting"}`.
pub async fn sweep_task(
    State(state): State<TaskState>,
    headers: HeaderMap,
) -> Result<Json<SweepReport>, HttpError> {
    // Delivered by sqsd, the task is itself a message in flight on the queue:
    // it must not make the queue look busy to the sweep it runs. The task
    // headers are taken at their word (only sqsd sends them); if they come
    // with no message in flight, one foreign message in flight is tolerated,
    // which can only be a job that is running: a message it concerns was
    // active recently, so it is not stale and the sweep leaves it alone.
    let own_in_flight = match SqsdRequest::parse(&headers) {
        Ok(SqsdRequest::Task(task)) => {
            tracing::info!(task = %task.name, scheduled_at = ?task.scheduled_at, "periodic task");
            1
        }
        _ => 0,
    };
    sweep(
        &state.backends,
        state.config,
        messages::now(),
        own_in_flight,
    )
    .await
    .map(Json)
    .map_err(|error| {
        let public = format!("the sweep could not run: {error}");
        match error {
            SweepError::Backend(source) => HttpError::service_unavailable(public, source),
        }
    })
}
