//! The operator's API (README, "HTTP API"): the pipeline snapshot and "process
//! a batch", open to all, and the actions, each needing `Authorization:
//! Bearer <OPERATOR_TOKEN>` (`operator.rs`). None counts against the rate
//! limit on sends: "Process until empty" asks for batch after batch.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use messages::{Message, MessageId};
use serde::Serialize;
use service::http::HttpError;

use super::AppState;
use crate::operate;
use crate::redrive::RedriveProgress;
use crate::snapshot::Pipeline;
use crate::worker_link::BatchReport;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/pipeline", get(pipeline))
        .route("/api/messages/{id}/retry", post(retry))
        .route("/api/messages/{id}", delete(remove))
        .route("/api/dead-letters/redrive", post(redrive))
        .route("/api/process-batch", post(process_batch))
}

/// `POST /api/process-batch`: asks the worker (at `WORKER_URL`) to process
/// one batch, for the page's "Process" buttons; `{"received", "done", "retried"}`.
async fn process_batch(State(state): State<AppState>) -> Result<Json<BatchReport>, HttpError> {
    let worker = state.worker.as_ref().ok_or_else(|| {
        HttpError::not_found("no worker is configured: set WORKER_URL to process by hand")
    })?;
    let report = worker
        .process_batch()
        .await
        .map_err(|error| HttpError::bad_gateway(format!("nothing was processed: {error}")))?;
    Ok(Json(report))
}

/// The pipeline, and where this instance's last redrive is.
#[derive(Debug, Serialize)]
struct PipelineBody {
    #[serde(flatten)]
    pipeline: Pipeline,
    redrive: Option<RedriveProgress>,
}

async fn pipeline(State(state): State<AppState>) -> Json<PipelineBody> {
    Json(PipelineBody {
        pipeline: state.pipeline.pipeline().await,
        redrive: state.redrive.progress(),
    })
}

fn message_id(text: &str) -> Result<MessageId, HttpError> {
    MessageId::parse(text).map_err(|error| HttpError::not_found(error.to_string()))
}

async fn retry(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<Message>), HttpError> {
    state.operator.check(&headers)?;
    let message = operate::retry(&state.backends, message_id(&id)?).await?;
    Ok((StatusCode::ACCEPTED, Json(message)))
}

async fn remove(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<StatusCode, HttpError> {
    state.operator.check(&headers)?;
    operate::delete(&state.backends, message_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn redrive(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<(StatusCode, Json<RedriveProgress>), HttpError> {
    state.operator.check(&headers)?;
    let (dead_letters, depth) = operate::dead_letters_to_redrive(&state.backends).await?;
    let progress = state
        .redrive
        .start(dead_letters, depth)
        .map_err(HttpError::conflict)?;
    Ok((StatusCode::ACCEPTED, Json(progress)))
}
