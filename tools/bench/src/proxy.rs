//! A counting HTTP proxy in front of the emulator: every AWS request a process
//! makes goes through its own proxy, which counts it by operation (the
//! `X-Amz-Target` header of the JSON protocols SQS and DynamoDB use) and
//! forwards it unchanged.
//!
//! A proxy may also have an [`Observer`]: it then forwards each request itself,
//! and so sees the request and the answer (the capacity scenario's model of
//! DynamoDB's units, `capacity/observer.rs`). Without one, a request goes
//! straight through, as the pipeline scenario measures it.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode};
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

/// One request as the proxy received it, to forward as it is.
#[derive(Debug, Clone)]
pub struct Call {
    /// The HTTP method.
    pub method: Method,
    /// The path and query.
    pub path: String,
    /// The headers, but `host` and `content-length` (the client sets them anew).
    pub headers: HeaderMap,
    /// The whole body.
    pub body: Bytes,
}

impl Call {
    /// The operation the JSON protocols name in `X-Amz-Target`, such as
    /// `DynamoDB_20120810.PutItem` or `AmazonSQS.SendMessage`.
    pub fn target(&self) -> Option<&str> {
        self.headers
            .get("x-amz-target")
            .and_then(|value| value.to_str().ok())
    }
}

/// The emulator's whole answer to a [`Call`].
#[derive(Debug, Clone)]
pub struct Answer {
    /// The HTTP status.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The whole body.
    pub body: Bytes,
}

/// Where a proxy forwards to.
#[derive(Debug, Clone)]
pub struct Link {
    url: String,
    client: reqwest::Client,
}

impl Link {
    /// Sends `call` to the emulator and reads its whole answer.
    pub async fn send(&self, call: &Call) -> anyhow::Result<Answer> {
        let mut forwarded = self
            .client
            .request(call.method.clone(), format!("{}{}", self.url, call.path))
            .body(call.body.clone());
        for (name, value) in &call.headers {
            forwarded = forwarded.header(name, value);
        }
        let answer = forwarded.send().await?;
        let status = answer.status();
        let headers = answer.headers().clone();
        let body = answer
            .bytes()
            .await
            .map_err(|error| anyhow::anyhow!("the emulator's answer was cut short: {error}"))?;
        Ok(Answer {
            status,
            headers,
            body,
        })
    }
}

/// The future an [`Observer`] returns: the answer to give the process.
pub type Forwarding<'a> = Pin<Box<dyn Future<Output = anyhow::Result<Answer>> + Send + 'a>>;

/// Forwards each request of a proxy itself, and so sees what passes.
pub trait Observer: Send + Sync {
    /// Sends `call` through `link` (once) and returns the emulator's answer,
    /// looking at both on the way.
    fn forward<'a>(&'a self, call: Call, link: &'a Link) -> Forwarding<'a>;
}

#[derive(Clone)]
struct Upstream {
    link: Link,
    counts: Counts,
    observer: Option<Arc<dyn Observer>>,
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
    let mut headers = parts.headers;
    headers.remove("host");
    headers.remove("content-length");
    let call = Call {
        method: parts.method,
        path: parts
            .uri
            .path_and_query()
            .map_or("/", |path| path.as_str())
            .to_owned(),
        headers,
        body,
    };
    let answered = match &upstream.observer {
        // In a task of its own, run to its end: a client that gives up
        // waiting (a job's deadline) drops this handler, and a write moto has
        // applied must still reach the observer's count.
        Some(observer) => {
            let (observer, link) = (Arc::clone(observer), upstream.link.clone());
            tokio::spawn(async move { observer.forward(call, &link).await })
                .await
                .unwrap_or_else(|stopped| Err(anyhow::anyhow!("the forward stopped: {stopped}")))
        }
        None => upstream.link.send(&call).await,
    };
    match answered {
        Ok(answer) => {
            let mut response = Response::new(Body::from(answer.body));
            *response.status_mut() = answer.status;
            for (name, value) in &answer.headers {
                if name != "content-length" && name != "transfer-encoding" && name != "connection" {
                    response.headers_mut().insert(name, value.clone());
                }
            }
            response
        }
        Err(error) => (StatusCode::BAD_GATEWAY, format!("{error:#}")).into_response(),
    }
}

/// Starts a proxy to `upstream` on a free port of 127.0.0.1; returns its URL.
pub async fn start(upstream: &str) -> anyhow::Result<(String, Counts)> {
    start_observed(upstream, None).await
}

/// As [`start`], with `observer` forwarding each request, when there is one.
pub async fn start_observed(
    upstream: &str,
    observer: Option<Arc<dyn Observer>>,
) -> anyhow::Result<(String, Counts)> {
    let counts = Counts::default();
    let state = Upstream {
        link: Link {
            url: upstream.trim_end_matches('/').to_owned(),
            client: reqwest::Client::new(),
        },
        counts: counts.clone(),
        observer,
    };
    let app = axum::Router::new().fallback(forward).with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok((url, counts))
}
