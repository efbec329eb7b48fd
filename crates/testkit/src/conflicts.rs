//! A proxy in front of moto's server that cancels chosen DynamoDB
//! transactions as DynamoDB does when two of them write one item at the same
//! moment: `TransactionCanceledException` with the reason
//! `TransactionConflict`, nothing applied ("TransactWriteItems": "a
//! transaction conflict"). moto never conflicts, and every counter shard
//! meets conflicts at load, so this is how the store's retry of a
//! conflicted transaction is tested. Every other request goes through to
//! moto unchanged.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

/// The DynamoDB operation the proxy cancels.
const TRANSACT_WRITE: &str = "DynamoDB_20120810.TransactWriteItems";

/// DynamoDB's answer to a transaction cancelled by a conflict (its JSON
/// protocol: the error's shape in `__type`, one reason per item).
const CONFLICT_ANSWER: &str = r#"{"__type":"com.amazonaws.dynamodb.v20120810#TransactionCanceledException","Message":"Transaction cancelled, please refer cancellation reasons for specific reasons [TransactionConflict, None]","CancellationReasons":[{"Code":"TransactionConflict","Message":"Transaction is ongoing for the item"},{"Code":"None"}]}"#;

/// A running proxy.
#[derive(Debug, Clone)]
pub struct ConflictProxy {
    /// Its URL, for an SDK's `endpoint_url`.
    pub endpoint: String,
    to_cancel: Arc<AtomicU32>,
    cancelled: Arc<AtomicU32>,
}

impl ConflictProxy {
    /// Starts a proxy to `upstream` (moto's URL) on a free loopback port.
    pub async fn start(upstream: String) -> Self {
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .expect("a free port");
        let address = listener.local_addr().expect("its address");
        let proxy = Self {
            endpoint: format!("http://{address}"),
            to_cancel: Arc::new(AtomicU32::new(0)),
            cancelled: Arc::new(AtomicU32::new(0)),
        };
        let state = Forward {
            upstream,
            client: reqwest::Client::new(),
            proxy: proxy.clone(),
        };
        let router = axum::Router::new().fallback(forward).with_state(state);
        tokio::spawn(async move { axum::serve(listener, router).await });
        proxy
    }

    /// Cancels the next `count` transactions with a conflict.
    pub fn cancel_next(&self, count: u32) {
        self.to_cancel.store(count, Ordering::SeqCst);
    }

    /// Transactions cancelled so far.
    pub fn cancelled(&self) -> u32 {
        self.cancelled.load(Ordering::SeqCst)
    }

    /// Whether this request is a transaction to cancel (and counts it).
    fn cancels(&self, headers: &HeaderMap) -> bool {
        let transaction = headers
            .get("x-amz-target")
            .is_some_and(|target| target == TRANSACT_WRITE);
        let cancel = transaction
            && self
                .to_cancel
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
                    left.checked_sub(1)
                })
                .is_ok();
        if cancel {
            self.cancelled.fetch_add(1, Ordering::SeqCst);
        }
        cancel
    }
}

#[derive(Clone)]
struct Forward {
    upstream: String,
    client: reqwest::Client,
    proxy: ConflictProxy,
}

async fn forward(State(state): State<Forward>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    if state.proxy.cancels(&parts.headers) {
        return (
            StatusCode::BAD_REQUEST,
            [("content-type", "application/x-amz-json-1.0")],
            CONFLICT_ANSWER,
        )
            .into_response();
    }
    let Ok(body) = axum::body::to_bytes(body, usize::MAX).await else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let path = parts.uri.path_and_query().map_or("/", |path| path.as_str());
    let mut headers = parts.headers;
    headers.remove("host");
    let answer = state
        .client
        .request(parts.method, format!("{}{path}", state.upstream))
        .headers(headers)
        .body(body)
        .send()
        .await;
    match answer {
        Ok(answer) => {
            let status = answer.status();
            let headers = answer.headers().clone();
            let body: Bytes = answer.bytes().await.unwrap_or_default();
            let mut response = Response::new(Body::from(body));
            *response.status_mut() = status;
            *response.headers_mut() = headers;
            response.headers_mut().remove("transfer-encoding");
            response
        }
        Err(_) => StatusCode::BAD_GATEWAY.into_response(),
    }
}
