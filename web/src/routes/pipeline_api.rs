//! The dashboard's API (README, "HTTP API"), open to all: the pipeline
//! snapshot, and "process a batch". Each batch asked for costs the client
//! one send (`SEND_RATE_PER_MINUTE`): it makes the worker work, and anyone
//! may ask. The local launcher has no limits, so "Process until empty"
//! there asks for batch after batch freely.

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Serialize;
use service::http::HttpError;

use super::AppState;
use crate::dashboard::snapshot::Pipeline;
use crate::dashboard::worker_link::BatchReport;
use crate::edge::client::Client;
#[cfg(feature = "operator")]
use crate::operator::redrive::RedriveProgress;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/pipeline", get(pipeline))
        .route("/api/process-batch", post(process_batch))
}

/// `POST /api/process-batch`: asks the worker (at `WORKER_URL`) to process
/// one batch, for the page's "Process" buttons; `{"received", "done", "retried"}`.
async fn process_batch(
    State(state): State<AppState>,
    client: Client,
) -> Result<Json<BatchReport>, HttpError> {
    // Each batch costs one send: it makes the worker do work, like a send.
    state.charge_sends(&client, 1)?;
    let worker = state.worker.as_ref().ok_or_else(|| {
        HttpError::not_found("no worker is configured: set WORKER_URL to process by hand")
    })?;
    let report = worker
        .process_batch()
        .await
        .map_err(|error| HttpError::bad_gateway(format!("nothing was processed: {error}")))?;
    Ok(Json(report))
}

/// The pipeline, and where this instance's last redrive is (the operator's
/// side).
#[derive(Debug, Serialize)]
struct PipelineBody {
    #[serde(flatten)]
    pipeline: Pipeline,
    #[cfg(feature = "operator")]
    redrive: Option<RedriveProgress>,
}

async fn pipeline(State(state): State<AppState>) -> Json<PipelineBody> {
    Json(PipelineBody {
        pipeline: state.pipeline.pipeline().await,
        #[cfg(feature = "operator")]
        redrive: state.redrive.progress(),
    })
}
