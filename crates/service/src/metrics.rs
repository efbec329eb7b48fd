//! Metrics an operator can act on, as Prometheus text on a listener of their
//! own, `METRICS_ADDR`: never the public port, since nginx proxies every
//! path of it to the internet. The code records through the `metrics`
//! facade (`metrics::counter!` and friends), which costs nothing until
//! [`serve`] installs the recorder; histograms have explicit buckets, which
//! add up across instances (summaries do not). ARCHITECTURE.md, "Metrics",
//! lists every series and what each says when something fails.

use std::net::SocketAddr;
use std::sync::{Once, OnceLock};
use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::get;
use metrics::Label;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::env::{EnvError, Setting, Vars};

/// Seconds, from a millisecond to five minutes: requests, jobs.
const DURATION_BUCKETS: [f64; 16] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0,
];

/// Seconds, from a millisecond to a day: how long a job waited on the queue,
/// which is hours when the worker was down.
const WAIT_BUCKETS: [f64; 14] = [
    0.001, 0.01, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0, 21_600.0, 86_400.0,
];

/// The histogram of how long a job waited on the queue ([`WAIT_BUCKETS`]).
pub const QUEUE_WAIT: &str = "queue_wait_seconds";

/// `METRICS_ADDR`.
pub fn settings() -> Vec<Setting> {
    vec![
        Setting::new(
            "METRICS_ADDR",
            "where Prometheus text is served at /metrics, for an agent on this host to scrape",
        )
        .accepts("a loopback address and port, such as 127.0.0.1:9100")
        .default_is("unset: no metrics listener"),
    ]
}

/// Reads `METRICS_ADDR`; an address other than loopback is refused, since
/// the metrics are for this host's agent, not for the network.
pub fn address_from(vars: &Vars) -> Result<Option<SocketAddr>, EnvError> {
    let expected = "it must be a loopback address and port, such as 127.0.0.1:9100 (the metrics are for an agent on this host, never the network)";
    let Some(text) = vars.var("METRICS_ADDR")? else {
        return Ok(None);
    };
    match text.trim().parse::<SocketAddr>() {
        Ok(address) if address.ip().is_loopback() => Ok(Some(address)),
        _ => Err(EnvError {
            name: "METRICS_ADDR".to_owned(),
            value: text,
            expected: expected.to_owned(),
        }),
    }
}

/// The process's recorder, installed on first use: one per process, shared
/// by the apps in it (the launcher runs the web and the worker together).
fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new()
            .set_buckets(&DURATION_BUCKETS)
            .and_then(|builder| {
                builder.set_buckets_for_metric(Matcher::Full(QUEUE_WAIT.to_owned()), &WAIT_BUCKETS)
            })
            .expect("the bucket lists are constant and not empty");
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        // Another recorder already installed (a test's own) keeps recording;
        // this handle then renders nothing, which the test would see.
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("a metrics recorder was already installed; /metrics shows only its own");
        }
        handle
    })
}

/// Installs the recorder, and once per process starts its upkeep: the
/// exporter keeps each histogram's samples until they are drained into its
/// buckets, which its own listener does every few seconds and this one must
/// do itself, or an app nobody scrapes would keep every sample it records.
fn keep_up() {
    static UPKEEP: Once = Once::new();
    let handle = handle();
    UPKEEP.call_once(|| {
        tokio::spawn(async move {
            let mut every = tokio::time::interval(UPKEEP_EVERY);
            loop {
                every.tick().await;
                handle.run_upkeep();
            }
        });
    });
}

/// How often the histograms' samples are drained into their buckets.
const UPKEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// The metrics as Prometheus text.
pub fn render() -> String {
    let handle = handle();
    handle.run_upkeep();
    handle.render()
}

/// Serves `GET /metrics` on `address` for as long as the process runs;
/// returns the address bound (port 0 asks for a free one). Installs the
/// recorder first, so everything recorded from then on is shown.
pub async fn serve(address: SocketAddr) -> anyhow::Result<SocketAddr> {
    keep_up();
    let bound = crate::listener::bind_for(address, "METRICS_ADDR").await?;
    let port = bound.port();
    let router = Router::new().route("/metrics", get(|| async { render() }));
    tokio::spawn(async move {
        let forever = std::future::pending();
        if let Err(error) = crate::serve::serve(bound.into_listener(), router, forever).await {
            tracing::warn!(%error, "the metrics listener stopped");
        }
    });
    let bound = SocketAddr::new(address.ip(), port);
    tracing::info!(address = %bound, "metrics at /metrics");
    Ok(bound)
}

/// Middleware: each request counted by route, method and status, and timed
/// (`http_requests_total`, `http_request_duration_seconds`). Every label has
/// a bounded set of values, so no client can make a series per request: the
/// route is the pattern that matched (`/api/messages/{id}`), never the path,
/// and `unmatched` for a 404 of no route; a method is one of HTTP's own or
/// `other` ([`method_label`]).
pub async fn record_request(
    State(app): State<&'static str>,
    request: Request,
    next: Next,
) -> Response {
    let route = route_label(&request);
    let method = method_label(request.method());
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    // Static keys and values borrow; only the route and the status are owned.
    let labels = vec![
        Label::new("app", app),
        Label::new("route", route),
        Label::new("method", method),
    ];
    metrics::histogram!("http_request_duration_seconds", labels.clone())
        .record(started.elapsed().as_secs_f64());
    let mut counted = labels;
    counted.push(Label::new("status", status));
    metrics::counter!("http_requests_total", counted).increment(1);
    response
}

/// The route `request` matched, as a label: the pattern
/// (`/api/messages/{id}`), never the path, and `unmatched` for a request no
/// route took. The traces' server span names its request the same way.
pub fn route_label(request: &Request) -> String {
    request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str)
        .to_owned()
}

/// A request's method as a label: HTTP's standard methods by name, any
/// other (a client may send any token) as `other`.
pub fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The attacker's series: made-up methods all land in one label value.
    #[test]
    fn a_made_up_method_makes_no_series_of_its_own() {
        for made_up in ["BREW", "X1", "X2", "CONNECT", "TRACE"] {
            let method = Method::from_bytes(made_up.as_bytes()).expect("a token");
            assert_eq!(method_label(&method), "other", "{made_up}");
        }
        assert_eq!(method_label(&Method::POST), "POST");
    }

    #[test]
    fn metrics_listen_on_loopback_only() {
        let read = |value: &str| address_from(&Vars::of(&[("METRICS_ADDR", value)]));
        assert_eq!(
            read("127.0.0.1:9100"),
            Ok(Some(SocketAddr::from(([127, 0, 0, 1], 9100))))
        );
        assert!(read("[::1]:9100").is_ok_and(|address| address.is_some()));
        for refused in ["0.0.0.0:9100", "10.0.0.5:9100", "9100", "localhost"] {
            let error = read(refused).expect_err(refused);
            assert!(error.to_string().contains("loopback"), "{error}");
        }
        assert_eq!(address_from(&Vars::default()), Ok(None));
    }
}
