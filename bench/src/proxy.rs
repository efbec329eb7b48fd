//! A counting HTTP proxy in front of the emulator: every AWS request a process
//! makes goes through its own proxy, which counts it by operation (the
//! `X-Amz-Target` header of the JSON protocols SQS and DynamoDB use) and
//! forwards it unchanged.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// Requests seen, by operation.
#[derive(Debug, Clone, Default)]
pub struct Counts(Arc<Mutex<BTreeMap<String, u64>>>);

impl Counts {
    /// A copy of the counts so far.
    pub fn snapshot(&self) -> BTreeMap<String, u64> {
        // A panic while counting leaves whole counts behind: keep them.
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Forgets everything counted so far.
    pub fn reset(&self) {
        if let Ok(mut counts) = self.0.lock() {
            counts.clear();
        }
    }

    fn add(&self, operation: String) {
        if let Ok(mut counts) = self.0.lock() {
            *counts.entry(operation).or_default() += 1;
        }
    }
}

#[derive(Clone)]
struct Upstream {
    url: String,
    client: reqwest::Client,
    counts: Counts,
}

async fn forward(State(upstream): State<Upstream>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let operation = parts
        .headers
        .get("x-amz-target")
        .and_then(|value| value.to_str().ok())
        // DynamoDB and SQS's JSON protocol name the operation there; any
        // request without it is counted, under "other", not dropped.
        .unwrap_or("other")
        .to_owned();
    upstream.counts.add(operation);
    let body: Bytes = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(bytes) => bytes,
        Err(error) => return (StatusCode::BAD_REQUEST, error.to_string()).into_response(),
    };
    let path = parts.uri.path_and_query().map_or("/", |path| path.as_str());
    let mut forwarded = upstream
        .client
        .request(parts.method, format!("{}{path}", upstream.url))
        .body(body);
    for (name, value) in &parts.headers {
        if name != "host" && name != "content-length" {
            forwarded = forwarded.header(name, value);
        }
    }
    match forwarded.send().await {
        Ok(answer) => {
            let status = answer.status();
            let headers = answer.headers().clone();
            let Ok(bytes) = answer.bytes().await else {
                return (
                    StatusCode::BAD_GATEWAY,
                    "the emulator's answer was cut short",
                )
                    .into_response();
            };
            let mut response = Response::new(Body::from(bytes));
            *response.status_mut() = status;
            for (name, value) in &headers {
                if name != "content-length" && name != "transfer-encoding" && name != "connection" {
                    response.headers_mut().insert(name, value.clone());
                }
            }
            response
        }
        Err(error) => (StatusCode::BAD_GATEWAY, error.to_string()).into_response(),
    }
}

/// Starts a proxy to `upstream` on a free port of 127.0.0.1; returns its URL.
pub async fn start(upstream: &str) -> anyhow::Result<(String, Counts)> {
    let counts = Counts::default();
    let state = Upstream {
        url: upstream.trim_end_matches('/').to_owned(),
        client: reqwest::Client::new(),
        counts: counts.clone(),
    };
    let app = axum::Router::new().fallback(forward).with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok((url, counts))
}
