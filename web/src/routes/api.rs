//! The JSON API (DESIGN section 3): send a message, list messages, read one.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use messages::{ListQuery, MAX_PAGE, Message, MessageBody, MessageId, Page, Simulate, Status};
use serde::{Deserialize, Serialize};

use super::AppState;
use crate::error::{ApiError, ApiJson};
use crate::send::send_message;

/// The default page size of `GET /api/messages`.
pub const DEFAULT_LIMIT: u32 = 20;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/messages", get(list).post(create))
        .route("/api/messages/{id}", get(read))
}

/// `POST /api/messages`. Fields arrive as plain strings so that each
/// mistake gets our own message rather than a serde one.
#[derive(Debug, Deserialize)]
struct SendRequest {
    body: String,
    simulate: Option<String>,
}

async fn create(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<SendRequest>,
) -> Result<(StatusCode, Json<Message>), ApiError> {
    let body =
        MessageBody::parse(request.body).map_err(|error| ApiError::Invalid(error.to_string()))?;
    let simulate = parse_simulate(request.simulate.as_deref())?;
    let message = send_message(&state.backends, body, simulate).await?;
    Ok((StatusCode::ACCEPTED, Json(message)))
}

/// Reads the `simulate` choice; absent means `ok`.
pub fn parse_simulate(text: Option<&str>) -> Result<Simulate, ApiError> {
    match text {
        None => Ok(Simulate::Ok),
        Some(text) => text
            .parse()
            .map_err(|error: messages::UnknownSimulate| ApiError::Invalid(error.to_string())),
    }
}

/// `GET /api/messages?status=&limit=&cursor=`, each optional.
#[derive(Debug, Default, Deserialize)]
pub struct ListParams {
    status: Option<String>,
    limit: Option<String>,
    cursor: Option<String>,
}

impl ListParams {
    /// Checks every parameter, naming the one that is wrong.
    pub fn parse(&self) -> Result<ListQuery, ApiError> {
        let status = match self.status.as_deref().filter(|text| !text.is_empty()) {
            None => None,
            Some(text) => Some(
                text.parse::<Status>()
                    .map_err(|error| ApiError::BadRequest(error.to_string()))?,
            ),
        };
        let limit = match self.limit.as_deref().filter(|text| !text.is_empty()) {
            None => DEFAULT_LIMIT,
            Some(text) => text
                .parse::<u32>()
                .ok()
                .filter(|limit| (1..=MAX_PAGE).contains(limit))
                .ok_or_else(|| {
                    ApiError::BadRequest(format!(
                        "limit must be a whole number from 1 to {MAX_PAGE}, not {text:?}"
                    ))
                })?,
        };
        let cursor = match self.cursor.as_deref().filter(|text| !text.is_empty()) {
            None => None,
            Some(text) => Some(MessageId::parse(text).map_err(|_| {
                ApiError::BadRequest(
                    "cursor is not valid: pass back the next_cursor of the previous page"
                        .to_owned(),
                )
            })?),
        };
        Ok(ListQuery {
            status,
            limit,
            cursor,
        })
    }
}

/// One page of messages, newest first.
#[derive(Debug, Serialize)]
pub struct PageBody {
    items: Vec<Message>,
    next_cursor: Option<MessageId>,
}

impl From<Page> for PageBody {
    fn from(page: Page) -> Self {
        Self {
            items: page.items,
            next_cursor: page.next_cursor,
        }
    }
}

async fn list(
    State(state): State<AppState>,
    params: Result<Query<ListParams>, QueryRejection>,
) -> Result<Json<PageBody>, ApiError> {
    let Query(params) = params?;
    let page = state
        .backends
        .store
        .list(params.parse()?)
        .await
        .map_err(|source| ApiError::Unavailable {
            public:
                "messages cannot be listed: the status store is unavailable. Try again in a moment"
                    .to_owned(),
            source,
        })?;
    Ok(Json(page.into()))
}

async fn read(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Message>, ApiError> {
    let id = MessageId::parse(&id).map_err(|error| ApiError::NotFound(error.to_string()))?;
    let message = state
        .backends
        .store
        .get(id)
        .await
        .map_err(|source| ApiError::Unavailable {
            public:
                "the message cannot be read: the status store is unavailable. Try again in a moment"
                    .to_owned(),
            source,
        })?;
    message
        .map(Json)
        .ok_or_else(|| ApiError::NotFound(format!("no message has id {id}")))
}
