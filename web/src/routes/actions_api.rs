//! The operator's API (README, "HTTP API"): the pipeline snapshot, open to
//! all, and the actions, each needing `Authorization: Bearer <OPERATOR_TOKEN>`
//! (`operator.rs`).

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

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/pipeline", get(pipeline))
        .route("/api/messages/{id}/retry", post(retry))
        .route("/api/messages/{id}", delete(remove))
        .route("/api/dead-letters/redrive", post(redrive))
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
    let dead_letters = state
        .backends
        .queue
        .dead_letter_queue()
        .await
        .map_err(|source| {
            HttpError::service_unavailable(
                "the dead-letter queue cannot be found right now: nothing was moved",
                source,
            )
        })?
        .ok_or_else(|| {
            HttpError::conflict("this queue has no dead-letter queue: there is nothing to redrive")
        })?;
    let depth = dead_letters.depth().await.map_err(|source| {
        HttpError::service_unavailable(
            "the dead-letter queue cannot be read right now: nothing was moved",
            source,
        )
    })?;
    let progress = state
        .redrive
        .start(dead_letters, depth)
        .map_err(HttpError::conflict)?;
    Ok((StatusCode::ACCEPTED, Json(progress)))
}
