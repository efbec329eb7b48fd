//! The operator's API (README, "HTTP API"): the actions, each needing
//! `Authorization: Bearer <OPERATOR_TOKEN>` or a session (`access.rs`),
//! checked before the id is read or anything else is.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{delete, post};
use axum::{Json, Router};
use messages::Message;
use service::http::HttpError;

use super::AppState;
use super::acting::Acting;
use super::id_in_path::IdInPath;
use crate::operator::actions;
use crate::operator::redrive::RedriveProgress;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/messages/{id}/retry", post(retry))
        .route("/api/messages/{id}", delete(remove))
        .route("/api/dead-letters/redrive", post(redrive))
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
