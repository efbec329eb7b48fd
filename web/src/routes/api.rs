//! The JSON API (README, "HTTP API"): send a message or a burst, list
//! messages, read one, and the live page's updates.

#[cfg(feature = "dashboard")]
use std::collections::BTreeMap;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use messages::{MAX_PAGE, MessageId, Page};
use serde::{Deserialize, Serialize};
use service::http::HttpError;

use super::AppState;
use super::id_in_path::IdInPath;
#[cfg(feature = "dashboard")]
use crate::dashboard::snapshot::Pipeline;
use crate::edge::client::Client;
use crate::routes::error::{ApiJson, query_rejection, store_unavailable};
use crate::routes::input::{
    BurstSize, ListParams, burst, idempotency_key, parse_body, parse_group, parse_simulate,
    parse_watch,
};
use crate::sending::idempotent::send_once;
use crate::sending::plan::SendPlan;
use crate::views::message_json::{self, MessageJson};

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
struct OneRequest {
    body: String,
    simulate: Option<String>,
    group: Option<String>,
}

async fn create(
    State(state): State<AppState>,
    client: Client,
    headers: HeaderMap,
    ApiJson(request): ApiJson<OneRequest>,
) -> Result<(StatusCode, Json<MessageJson>), HttpError> {
    let key = idempotency_key(&headers)?;
    let plan = SendPlan::new(
        vec![parse_body(request.body)?],
        parse_simulate(request.simulate.as_deref())?,
        parse_group(request.group.as_deref())?,
        client.own_key(key),
    )?;
    state.charge_sends(&client, 1)?;
    let sent = send_once(&state.backends, plan).await?;
    Ok((StatusCode::ACCEPTED, Json(sent.one().into())))
}

/// One page of messages, newest first.
#[derive(Debug, Serialize)]
pub struct PageBody {
    items: Vec<MessageJson>,
    next_cursor: Option<MessageId>,
}

impl From<Page> for PageBody {
    fn from(page: Page) -> Self {
        Self {
            items: message_json::all(page.items),
            next_cursor: page.next_cursor,
        }
    }
}

async fn list(
    State(state): State<AppState>,
    params: Result<Query<ListParams>, QueryRejection>,
) -> Result<Json<PageBody>, HttpError> {
    let Query(params) = params.map_err(query_rejection)?;
    let page = params
        .parse()?
        .read(state.backends.store.as_ref())
        .await
        .map_err(|source| store_unavailable("messages cannot be listed", source))?;
    Ok(Json(page.into()))
}

async fn read(
    State(state): State<AppState>,
    IdInPath(id): IdInPath,
) -> Result<Json<MessageJson>, HttpError> {
    let message = state
        .backends
        .store
        .get(id)
        .await
        .map_err(|source| store_unavailable("the message cannot be read", source))?;
    message
        .map(|message| Json(message.into()))
        .ok_or_else(|| HttpError::not_found(format!("no message has id {id}")))
}

/// `POST /api/messages/batch`: `{"body", "simulate", "group", "count"}`, a
/// burst of `count` (1 to 100) messages numbered `#1`..`#count`, enqueued in
/// that order.
#[derive(Debug, Deserialize)]
struct BatchRequest {
    body: String,
    simulate: Option<String>,
    group: Option<String>,
    count: Option<BurstSize>,
}

/// The messages a burst created.
#[derive(Debug, Serialize)]
struct Created {
    items: Vec<MessageJson>,
}

async fn create_batch(
    State(state): State<AppState>,
    client: Client,
    headers: HeaderMap,
    ApiJson(request): ApiJson<BatchRequest>,
) -> Result<(StatusCode, Json<Created>), HttpError> {
    let key = idempotency_key(&headers)?;
    let count = BurstSize::parse(request.count.as_ref())?;
    let simulate = parse_simulate(request.simulate.as_deref())?;
    let group = parse_group(request.group.as_deref())?;
    let plan = SendPlan::new(
        burst(&request.body, count, simulate)?,
        simulate,
        group,
        client.own_key(key),
    )?;
    state.charge_sends(&client, count)?;
    let items = send_once(&state.backends, plan).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(Created {
            items: message_json::all(items.all()),
        }),
    ))
}

/// `GET /api/messages/updates?after=<id>&watch=<id>:<attempts>[:<status>],...&counts=1`:
/// what changed since the page last looked, for the live page. The new
/// messages and the counts come from what the web instance read for every
/// open page (`recent.rs`, `snapshot.rs`); a page's own read is the batch
/// read of the pending messages it shows.
#[derive(Debug, Default, Deserialize)]
struct UpdatesParams {
    after: Option<String>,
    watch: Option<String>,
    /// The counts and the pipeline too (the dashboard; ignored without it).
    #[cfg(feature = "dashboard")]
    counts: Option<String>,
}

#[derive(Debug, Serialize)]
struct Updates {
    /// Messages created after `after`, oldest first.
    new: Vec<MessageJson>,
    /// Watched messages whose status, attempts or progress differ from what
    /// the page shows.
    changed: Vec<MessageJson>,
    /// Watched messages that no longer exist (an operator deleted them).
    gone: Vec<MessageId>,
    /// Per status, when asked (capped, see the page): the dashboard's.
    #[cfg(feature = "dashboard")]
    counts: Option<BTreeMap<&'static str, u64>>,
    /// The pipeline strip's figures, with the counts.
    #[cfg(feature = "dashboard")]
    pipeline: Option<Pipeline>,
    /// More new messages wait: ask again at once.
    more: bool,
}

fn unavailable(source: messages::BackendError) -> HttpError {
    store_unavailable("updates cannot be read", source)
}

async fn updates(
    State(state): State<AppState>,
    params: Result<Query<UpdatesParams>, QueryRejection>,
) -> Result<Json<Updates>, HttpError> {
    let Query(params) = params.map_err(query_rejection)?;
    let store = &state.backends.store;
    let new = match params.after.as_deref().filter(|text| !text.is_empty()) {
        None => Vec::new(),
        Some(text) => {
            let after = MessageId::parse(text).map_err(|_| {
                HttpError::bad_request(
                    "after is not valid: pass the id of the newest message shown",
                )
            })?;
            // Read once for every open page (`recent.rs`).
            state
                .recent
                .newer_than(after, MAX_PAGE)
                .await
                .map_err(unavailable)?
        }
    };
    let watched = parse_watch(params.watch.as_deref().unwrap_or_default())?;
    let ids: Vec<MessageId> = watched.iter().map(|seen| seen.id).collect();
    let found = store.get_many(&ids).await.map_err(unavailable)?;
    let gone = ids
        .iter()
        .filter(|id| !found.iter().any(|message| message.id == **id))
        .copied()
        .collect();
    let changed = found
        .into_iter()
        .filter(|message| {
            watched
                .iter()
                .find(|seen| seen.id == message.id)
                .is_some_and(|seen| seen.differs_from(message))
        })
        .collect();
    // Shared by every open page, and at most a few seconds old (`snapshot.rs`).
    #[cfg(feature = "dashboard")]
    let (counts, pipeline) = if params.counts.is_some() {
        let pipeline = state.pipeline.pipeline().await;
        let counts = pipeline.counts.clone().ok_or_else(|| {
            unavailable(messages::BackendError::new(
                "counting messages",
                "the status store could not count (logged)",
            ))
        })?;
        (Some(counts), Some(pipeline))
    } else {
        (None, None)
    };
    let more = new.len() >= MAX_PAGE as usize;
    Ok(Json(Updates {
        new: message_json::all(new),
        changed: message_json::all(changed),
        gone,
        #[cfg(feature = "dashboard")]
        counts,
        #[cfg(feature = "dashboard")]
        pipeline,
        more,
    }))
}
