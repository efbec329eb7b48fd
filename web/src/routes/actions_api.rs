//! The operator's API (README, "HTTP API"): the pipeline snapshot and "process
//! a batch", open to all, and the actions, each needing `Authorization:
//! Bearer <OPERATOR_TOKEN>` or a session (`access.rs`), checked before the id
//! is read or anything else is. Each batch asked for costs the client one
//! send (`SEND_RATE_PER_MINUTE`): it makes the worker work, and anyone may
//! ask. The local launcher has no limits, so "Process until empty" there
//! asks for batch after batch freely.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use messages::Message;
use serde::Serialize;
use service::http::HttpError;

use super::AppState;
use super::acting::Acting;
use super::id_in_path::IdInPath;
use crate::dashboard::snapshot::Pipeline;
use crate::dashboard::worker_link::BatchReport;
use crate::edge::client::Client;
use crate::operator::actions;
use crate::operator::redrive::RedriveProgress;

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

/// The id in the path, read only after the credential is checked, so that a
/// wrong credential gets one answer whatever the id.
async fn retry(
    State(state): State<AppState>,
    _: Acting,
    IdInPath(id): IdInPath,
) -> Result<(StatusCode, Json<Message>), HttpError> {
    let message = actions::retry(&state.backends, id).await?;
    Ok((StatusCode::ACCEPTED, Json(message)))
}

async fn remove(
    State(state): State<AppState>,
    _: Acting,
    IdInPath(id): IdInPath,
) -> Result<StatusCode, HttpError> {
    actions::delete(&state.backends, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn redrive(
    State(state): State<AppState>,
    _: Acting,
) -> Result<(StatusCode, Json<RedriveProgress>), HttpError> {
    let (dead_letters, depth) = actions::dead_letters_to_redrive(&state.backends).await?;
    let progress = state
        .redrive
        .start(dead_letters, depth)
        .map_err(HttpError::conflict)?;
    Ok((StatusCode::ACCEPTED, Json(progress)))
}
