//! `POST /tasks/sweep`: the periodic task `cron.yaml` schedules. sqsd delivers
//! it from the worker queue with `X-Aws-Sqsd-Taskname` and an empty body; a
//! `200` deletes the task's message, anything else retries it like a job.
//! A request without the task headers did not come from sqsd (or the local
//! poller, which sends what sqsd sends), so it is refused: the sweep is
//! not something a passer-by may start. The worker bundle's nginx also
//! answers `/tasks/` only to the instance itself.

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
    // it must not make the queue look busy to the sweep it runs, so one
    // message in flight is counted as its own.
    let own_in_flight = match SqsdRequest::parse(&headers) {
        Ok(SqsdRequest::Task(task)) => {
            tracing::info!(task = %task.name, scheduled_at = ?task.scheduled_at, "periodic task");
            1
        }
        Ok(SqsdRequest::Message(_)) | Err(_) => {
            return Err(HttpError::bad_request(
                "this is a periodic task's address: sqsd calls it with X-Aws-Sqsd-Taskname (cron.yaml). To sweep by hand on a worker instance: curl -X POST -H 'X-Aws-Sqsd-Taskname: sweep' http://localhost/tasks/sweep",
            ));
        }
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
