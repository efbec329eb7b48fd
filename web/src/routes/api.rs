//! The JSON API (DESIGN section 3): send a message, list messages, read one.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use messages::{ListQuery, MAX_PAGE, Message, MessageBody, MessageId, Page, Simulate, Status};
use serde::{Deserialize, Serialize};

use super::AppState;
use super::page::{COUNT_CAP, burst, parse_count};
use crate::error::{ApiError, ApiJson};
use crate::send::{send_message, send_messages};

/// The default page size of `GET /api/messages`.
pub const DEFAULT_LIMIT: u32 = 20;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/messages", get(list).post(create))
        .route("/api/messages/batch", post(create_batch))
        .route("/api/messages/updates", get(updates))
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

/// Reads a whole number from 1 to `max`, or says what `what` must be.
pub fn whole_number(text: &str, max: u32, what: &str) -> Result<u32, String> {
    text.parse::<u32>()
        .ok()
        .filter(|number| (1..=max).contains(number))
        .ok_or_else(|| format!("{what} must be a whole number from 1 to {max}, not {text:?}"))
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
            Some(text) => whole_number(text, MAX_PAGE, "limit").map_err(ApiError::BadRequest)?,
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

/// `POST /api/messages/batch`: `{"body", "simulate", "count"}`, a burst of
/// `count` (1 to 100) messages numbered `#1`..`#count`.
#[derive(Debug, Deserialize)]
struct BatchRequest {
    body: String,
    simulate: Option<String>,
    /// A number or a numeric string (what a form field holds).
    count: Option<serde_json::Value>,
}

async fn create_batch(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<BatchRequest>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    let simulate = parse_simulate(request.simulate.as_deref())?;
    let count = match &request.count {
        None | Some(serde_json::Value::Null) => 1,
        Some(serde_json::Value::String(text)) => parse_count(Some(text))?,
        Some(other) => parse_count(Some(&other.to_string()))?,
    };
    let messages = send_messages(&state.backends, burst(&request.body, count)?, simulate).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(serde_json::json!({ "items": messages })),
    ))
}

/// `GET /api/messages/updates?after=<id>&watch=<id>:<attempts>,...&counts=1`:
/// what changed since the page last looked, for the live page. It costs in
/// proportion to the changes: one Query for new messages, one batch read for
/// the pending messages on screen, and the counts only when asked.
#[derive(Debug, Default, Deserialize)]
struct UpdatesParams {
    after: Option<String>,
    watch: Option<String>,
    counts: Option<String>,
}

#[derive(Debug, Serialize)]
struct Updates {
    /// Messages created after `after`, oldest first.
    new: Vec<Message>,
    /// Watched messages whose status or attempts changed.
    changed: Vec<Message>,
    /// Per status, when asked (capped, see the page).
    counts: Option<std::collections::BTreeMap<&'static str, u64>>,
    /// More new messages wait: ask again at once.
    more: bool,
}

fn unavailable(source: messages::BackendError) -> ApiError {
    ApiError::Unavailable {
        public: "updates cannot be read: the status store is unavailable. Try again in a moment"
            .to_owned(),
        source,
    }
}

async fn updates(
    State(state): State<AppState>,
    params: Result<Query<UpdatesParams>, QueryRejection>,
) -> Result<Json<Updates>, ApiError> {
    let Query(params) = params?;
    let store = &state.backends.store;
    let new = match params.after.as_deref().filter(|text| !text.is_empty()) {
        None => Vec::new(),
        Some(text) => {
            let after = MessageId::parse(text).map_err(|_| {
                ApiError::BadRequest(
                    "after is not valid: pass the id of the newest message shown".to_owned(),
                )
            })?;
            store
                .newer_than(after, MAX_PAGE)
                .await
                .map_err(unavailable)?
        }
    };
    let mut watched = Vec::new();
    for item in params
        .watch
        .as_deref()
        .unwrap_or_default()
        .split(',')
        .filter(|item| !item.is_empty())
        .take(MAX_PAGE as usize)
    {
        let (id, attempts) = item.split_once(':').unwrap_or((item, "0"));
        let id = MessageId::parse(id).map_err(|_| {
            ApiError::BadRequest(
                "watch must list <id>:<attempts> pairs separated by commas".to_owned(),
            )
        })?;
        if !watched.iter().any(|(seen, _)| *seen == id) {
            watched.push((id, attempts.parse::<u32>().unwrap_or(0)));
        }
    }
    let ids: Vec<MessageId> = watched.iter().map(|(id, _)| *id).collect();
    let changed = store
        .get_many(&ids)
        .await
        .map_err(unavailable)?
        .into_iter()
        .filter(|message| {
            let seen = watched
                .iter()
                .find(|(id, _)| *id == message.id)
                .map_or(0, |(_, attempts)| *attempts);
            message.status != Status::Pending || message.attempts != seen
        })
        .collect();
    let counts = if params.counts.is_some() {
        let mut counts = std::collections::BTreeMap::new();
        for status in Status::ALL {
            counts.insert(
                status.as_str(),
                store.count(status, COUNT_CAP).await.map_err(unavailable)?,
            );
        }
        Some(counts)
    } else {
        None
    };
    let more = new.len() >= MAX_PAGE as usize;
    Ok(Json(Updates {
        new,
        changed,
        counts,
        more,
    }))
}
