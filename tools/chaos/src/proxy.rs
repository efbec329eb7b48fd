//! An HTTP proxy between the processes and moto that can cut the backend off:
//! refuse every request at once, or hold every request without an answer (a
//! blackhole), then come back. One proxy per AWS service, so the DynamoDB one
//! can also serialise its requests: moto's server does not make a conditional
//! write atomic under concurrent requests (two writers can both succeed), and
//! the suite must check the app, not the emulator.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// What the proxy does with requests now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Forwards them.
    Up = 0,
    /// Answers each at once with a `503` (a backend that refuses).
    Refusing = 1,
    /// Holds each until the proxy is up again (a backend that hangs).
    Blackholed = 2,
}

/// A handle to switch a running proxy.
#[derive(Debug, Clone)]
pub struct Switch(Arc<AtomicU8>);

impl Switch {
    /// Puts the proxy in `mode`.
    pub fn set(&self, mode: Mode) {
        self.0.store(mode as u8, Ordering::SeqCst);
    }

    fn get(&self) -> Mode {
        match self.0.load(Ordering::SeqCst) {
            1 => Mode::Refusing,
            2 => Mode::Blackholed,
            _ => Mode::Up,
        }
    }
}

#[derive(Clone)]
struct Upstream {
    url: String,
    client: reqwest::Client,
    switch: Switch,
    /// Held across each forwarded request when the proxy serialises.
    one_at_a_time: Option<Arc<tokio::sync::Mutex<()>>>,
}

async fn forward(State(upstream): State<Upstream>, request: Request) -> Response {
    // A blackhole holds the request; bounded, so nothing waits forever.
    for _ in 0..600 {
        if upstream.switch.get() != Mode::Blackholed {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    if upstream.switch.get() == Mode::Refusing {
        return (StatusCode::SERVICE_UNAVAILABLE, "the chaos proxy refuses").into_response();
    }
    let (parts, body) = request.into_parts();
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
    let _turn = match &upstream.one_at_a_time {
        Some(lock) => Some(lock.lock().await),
        None => None,
    };
    let answer = match forwarded.send().await {
        Ok(answer) => answer,
        Err(error) => return (StatusCode::BAD_GATEWAY, error.to_string()).into_response(),
    };
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

/// Starts a proxy to `upstream` on a free port of 127.0.0.1; returns its URL
/// and its switch. `serialise`: one request at a time.
pub async fn start(upstream: &str, serialise: bool) -> anyhow::Result<(String, Switch)> {
    let switch = Switch(Arc::new(AtomicU8::new(Mode::Up as u8)));
    let state = Upstream {
        url: upstream.trim_end_matches('/').to_owned(),
        client: reqwest::Client::new(),
        switch: switch.clone(),
        one_at_a_time: serialise.then(|| Arc::new(tokio::sync::Mutex::new(()))),
    };
    let app = axum::Router::new().fallback(forward).with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok((url, switch))
}
