//! Traces across the queue (ARCHITECTURE.md, "Traces"): the spans of
//! `tracing` become OpenTelemetry spans, sent over OTLP/HTTP in batches when
//! `OTEL_EXPORTER_OTLP_ENDPOINT` says where (the CloudWatch agent, which
//! feeds X-Ray; New Relic, Honeycomb, Jaeger, any OTLP backend). Unset, no
//! span leaves the process and none of this costs anything.
//!
//! A trace crosses the queue in the `traceparent` message attribute (W3C
//! Trace Context; never a `tracestate`): [`traceparent`] is what a send puts
//! there, and [`continue_trace`] is the one place a delivery takes it back,
//! whether sqsd passed it on as `X-Aws-Sqsd-Attr-traceparent` or the local
//! poller did, in the same header. The spans follow OpenTelemetry's messaging
//! conventions: [`producer_span`] for a send, [`consumer_span`] for a
//! delivery, and [`server_span`] for each HTTP request.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::OnceLock;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::Uri;
use axum::middleware::Next;
use axum::response::Response;
use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::TraceContextExt;
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider, SpanExporter};
use tracing::Instrument;
use tracing::field::Empty;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::env::{EnvError, Setting, Vars};

/// The message attribute (and HTTP header) that carries a trace's context.
pub const TRACEPARENT: &str = "traceparent";

/// The header sqsd sends with every delivery: such a request is a message
/// arriving, traced by its [`consumer_span`] rather than a server span,
/// unless it is a periodic task's (sqsd makes those messages itself, with no
/// trace to continue: a task's run starts its own, in a server span).
const SQSD_MESSAGE_ID: &str = "x-aws-sqsd-msgid";
const SQSD_TASK_NAME: &str = "x-aws-sqsd-taskname";

/// The health check's route, in both apps.
const HEALTH: &str = "/health";

/// How long the last spans may take to leave at exit.
const FLUSH_AT_EXIT: Duration = Duration::from_secs(5);

/// The provider spans go to, once one is installed.
static PROVIDER: OnceLock<SdkTracerProvider> = OnceLock::new();

/// The tracing settings every binary reads.
pub fn settings() -> Vec<Setting> {
    vec![
        Setting::new(
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            "where traces are sent, over OTLP/HTTP (the path /v1/traces is added); unset, no trace is made",
        )
        .accepts("a URL such as http://127.0.0.1:4318 (the CloudWatch agent); https:// unless on this machine"),
        Setting::new(
            "OTEL_EXPORTER_OTLP_HEADERS",
            "headers sent with every export, such as a tracing service's API key",
        )
        .accepts("name=value pairs separated by commas")
        .secret(),
        Setting::new(
            "OTEL_TRACES_SAMPLER_ARG",
            "the share of traces kept, decided by trace id so that a trace is kept whole",
        )
        .accepts("a number from 0 to 1")
        .default_is(1),
        Setting::new("OTEL_SERVICE_NAME", "the service name the traces carry")
            .accepts("a name")
            .default_is("the binary's name"),
    ]
}

/// Where this process's traces go, and which it keeps.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceSettings {
    /// The collector's base URL; none makes no trace.
    pub endpoint: Option<String>,
    /// The share of traces kept, 0 to 1.
    pub sample: f64,
    /// The `service.name` of the spans.
    pub service: String,
}

impl TraceSettings {
    /// Reads the settings of `binary`, or says which one is wrong.
    pub fn from_vars(vars: &Vars, binary: &str) -> Result<Self, EnvError> {
        let endpoint = vars.var("OTEL_EXPORTER_OTLP_ENDPOINT")?;
        if let Some(endpoint) = &endpoint {
            check_endpoint(endpoint)?;
        }
        // Read here for `--help` and the check above; the exporter reads it
        // from the environment itself, as OpenTelemetry specifies.
        let _secret = vars.var("OTEL_EXPORTER_OTLP_HEADERS")?;
        let expected = "it must be a number from 0 to 1, such as 0.05 for one trace in twenty";
        let sample: f64 = vars.parse_or("OTEL_TRACES_SAMPLER_ARG", 1.0, expected)?;
        if !(0.0..=1.0).contains(&sample) {
            return Err(EnvError {
                name: "OTEL_TRACES_SAMPLER_ARG".to_owned(),
                value: sample.to_string(),
                expected: expected.to_owned(),
            });
        }
        Ok(Self {
            endpoint,
            sample,
            service: vars
                .var("OTEL_SERVICE_NAME")?
                .unwrap_or_else(|| binary.to_owned()),
        })
    }

    /// The provider that sends spans to the endpoint in batches, from a
    /// thread of its own; none without an endpoint.
    pub fn provider(&self) -> Result<Option<SdkTracerProvider>, EnvError> {
        let Some(endpoint) = &self.endpoint else {
            return Ok(None);
        };
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
            .with_endpoint(format!("{}/v1/traces", endpoint.trim_end_matches('/')))
            .build()
            .map_err(|error| EnvError {
                name: "OTEL_EXPORTER_OTLP_ENDPOINT".to_owned(),
                value: endpoint.clone(),
                expected: format!("it must be an OTLP/HTTP endpoint ({error})"),
            })?;
        Ok(Some(
            SdkTracerProvider::builder()
                .with_batch_exporter(crate::span_export::Reported::new(exporter))
                .with_sampler(sampler(self.sample))
                .with_resource(resource(&self.service))
                .build(),
        ))
    }
}

/// Keeps `share` of the traces, by trace id: every span of a trace is kept
/// or dropped together, on both sides of the queue, whatever a caller's
/// `traceparent` claims (a client cannot ask for every request it makes to
/// be kept).
fn sampler(share: f64) -> Sampler {
    Sampler::TraceIdRatioBased(share)
}

fn resource(service: &str) -> Resource {
    Resource::builder()
        .with_service_name(service.to_owned())
        .build()
}

/// A provider that hands each span to `exporter` as it ends, keeping every
/// trace: what tests read their spans from.
pub fn provider_with(exporter: impl SpanExporter + 'static, service: &str) -> SdkTracerProvider {
    SdkTracerProvider::builder()
        .with_simple_exporter(exporter)
        .with_sampler(sampler(1.0))
        .with_resource(resource(service))
        .build()
}

/// An endpoint that cannot be used: not a URL, or plain HTTP to another
/// machine (traces name messages and, with `OTEL_EXPORTER_OTLP_HEADERS`,
/// carry a credential: they cross a network only encrypted).
fn check_endpoint(endpoint: &str) -> Result<(), EnvError> {
    let refused = |expected: &str| EnvError {
        name: "OTEL_EXPORTER_OTLP_ENDPOINT".to_owned(),
        value: endpoint.to_owned(),
        expected: expected.to_owned(),
    };
    let uri: Uri = endpoint
        .parse()
        .map_err(|_| refused("it must be a URL such as http://127.0.0.1:4318"))?;
    let host = uri
        .host()
        .ok_or_else(|| refused("it must be a URL with a host, such as http://127.0.0.1:4318"))?;
    match uri.scheme_str() {
        Some("https") => Ok(()),
        Some("http") if is_this_machine(host) => Ok(()),
        Some("http") => Err(refused(
            "it must be https:// for another machine (plain http only to this one, such as http://127.0.0.1:4318)",
        )),
        _ => Err(refused(
            "it must start with https:// (or http:// on this machine)",
        )),
    }
}

fn is_this_machine(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .is_ok_and(|address| address.is_loopback())
}

/// Makes `provider` the one spans go to; false when one already is (the
/// first stays).
pub(crate) fn keep(provider: SdkTracerProvider) -> bool {
    PROVIDER.set(provider).is_ok()
}

/// Whether spans go anywhere: without a provider, nothing here does any work.
pub fn enabled() -> bool {
    PROVIDER.get().is_some()
}

/// Sends what is left and stops, waiting at most a few seconds: at exit.
pub fn shut_down() {
    if let Some(provider) = PROVIDER.get()
        && let Err(error) = provider.shutdown_with_timeout(FLUSH_AT_EXIT)
    {
        eprintln!("the last traces may not have been sent: {error}");
    }
}

/// The `traceparent` that continues `span`'s trace on the other side of the
/// queue; none when traces are off.
pub fn traceparent(span: &tracing::Span) -> Option<String> {
    if !enabled() {
        return None;
    }
    let context = span.context();
    if !context.span().span_context().is_valid() {
        return None;
    }
    let mut carrier = HashMap::new();
    TraceContextPropagator::new().inject_context(&context, &mut carrier);
    // Only the parent: an empty `tracestate` would be an attribute SQS
    // refuses, and a full one would spend the message's attribute budget.
    carrier.remove(TRACEPARENT)
}

/// Makes `span`, before it is entered, continue the trace that
/// `traceparent` names: as its parent, and linked to it, as OpenTelemetry's
/// messaging conventions have a delivery do. Nothing when traces are off,
/// or there is no `traceparent`, or it cannot be read (a message is never
/// refused for its trace).
pub fn continue_trace(span: &tracing::Span, traceparent: Option<&str>) {
    let Some(context) = traceparent.filter(|_| enabled()).and_then(remote_context) else {
        return;
    };
    let remote = context.span().span_context().clone();
    if span.set_parent(context).is_ok() {
        span.add_link(remote);
    }
}

/// The context `traceparent` names, if it can be read: what a caller's
/// header and a message's attribute are both read with.
fn remote_context(traceparent: &str) -> Option<opentelemetry::Context> {
    let carrier = HashMap::from([(TRACEPARENT.to_owned(), traceparent.to_owned())]);
    let context = TraceContextPropagator::new().extract(&carrier);
    context.span().span_context().is_valid().then_some(context)
}

/// The id of the trace the current span is part of, for an error answer
/// and the logs; none when traces are off.
pub fn current_trace_id() -> Option<String> {
    if !enabled() {
        return None;
    }
    let context = tracing::Span::current().context();
    let span = context.span();
    let ids = span.span_context();
    ids.is_valid().then(|| ids.trace_id().to_string())
}

/// The span of a send of `count` messages to `queue` (a producer span).
pub fn producer_span(queue: &str, count: usize) -> tracing::Span {
    tracing::info_span!(
        "send",
        otel.name = %format_args!("send {queue}"),
        otel.kind = "producer",
        messaging.system = "aws_sqs",
        messaging.operation.type = "send",
        messaging.operation.name = "send",
        messaging.destination.name = %queue,
        messaging.batch.message_count = count,
    )
}

/// The span of one delivery of a message of `queue` (a consumer span),
/// continuing the trace of its send; the job's message id and kind are
/// recorded on it once its body is read (`message.id`, `job.kind`).
pub fn consumer_span(
    queue: &str,
    sqs_message_id: &str,
    receive_count: u32,
    traceparent: Option<&str>,
) -> tracing::Span {
    let span = tracing::info_span!(
        "process",
        otel.name = %format_args!("process {queue}"),
        otel.kind = "consumer",
        messaging.system = "aws_sqs",
        messaging.operation.type = "process",
        messaging.operation.name = "process",
        messaging.destination.name = %queue,
        messaging.message.id = %sqs_message_id,
        receive_count,
        message.id = Empty,
        job.kind = Empty,
    );
    continue_trace(&span, traceparent);
    span
}

/// Middleware: a server span for each request (its method, matched route
/// and status), continuing a `traceparent` the caller sent. A delivery from
/// sqsd gets its [`consumer_span`] instead, and a health check none: the
/// load balancer's every few seconds is no request anyone follows, and would
/// be most of the traces. `app` names the app.
pub async fn server_span(
    State(app): State<&'static str>,
    request: Request,
    next: Next,
) -> Response {
    let delivery = request.headers().contains_key(SQSD_MESSAGE_ID)
        && !request.headers().contains_key(SQSD_TASK_NAME);
    if !enabled() || delivery {
        return next.run(request).await;
    }
    let route = crate::metrics::route_label(&request);
    if route == HEALTH {
        return next.run(request).await;
    }
    let method = crate::metrics::method_label(request.method());
    let span = tracing::info_span!(
        "request",
        otel.name = %format_args!("{method} {route}"),
        otel.kind = "server",
        otel.status_code = Empty,
        app,
        http.request.method = method,
        http.route = %route,
        http.response.status_code = Empty,
    );
    let caller = request
        .headers()
        .get(TRACEPARENT)
        .and_then(|value| value.to_str().ok())
        .and_then(remote_context);
    if let Some(caller) = caller {
        let _ignored = span.set_parent(caller);
    }
    let response = next.run(request).instrument(span.clone()).await;
    let status = response.status();
    span.record("http.response.status_code", status.as_u16());
    if status.is_server_error() {
        span.record("otel.status_code", "error");
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings_of(pairs: &[(&'static str, &str)]) -> Result<TraceSettings, EnvError> {
        TraceSettings::from_vars(&Vars::of(pairs), "web")
    }

    #[test]
    fn without_an_endpoint_no_trace_is_made() {
        let settings = settings_of(&[]).expect("no setting is needed");
        assert_eq!(settings.endpoint, None);
        assert_eq!(settings.sample, 1.0);
        assert_eq!(settings.service, "web");
        assert!(settings.provider().expect("no provider to build").is_none());
    }

    #[test]
    fn plain_http_goes_only_to_this_machine() {
        for fine in [
            "http://127.0.0.1:4318",
            "http://localhost:4318/",
            "http://[::1]:4318",
            "https://otlp.example.com",
        ] {
            assert!(
                settings_of(&[("OTEL_EXPORTER_OTLP_ENDPOINT", fine)]).is_ok(),
                "{fine} was refused"
            );
        }
        for refused in [
            "http://10.0.0.5:4318",
            "http://collector.example.com",
            "ftp://127.0.0.1",
            "127.0.0.1:4318",
            "not a url",
        ] {
            let error =
                settings_of(&[("OTEL_EXPORTER_OTLP_ENDPOINT", refused)]).expect_err(refused);
            assert_eq!(error.name, "OTEL_EXPORTER_OTLP_ENDPOINT");
        }
    }

    #[test]
    fn the_share_kept_is_a_number_from_0_to_1() {
        let half = settings_of(&[("OTEL_TRACES_SAMPLER_ARG", "0.5")]).expect("a share");
        assert_eq!(half.sample, 0.5);
        for wrong in ["1.5", "-0.1", "half", "NaN"] {
            assert!(
                settings_of(&[("OTEL_TRACES_SAMPLER_ARG", wrong)]).is_err(),
                "{wrong} was taken"
            );
        }
    }

    /// The exporter's wiring, against a small OTLP collector: spans leave
    /// in batches as OTLP/HTTP protobuf, to `/v1/traces` under the endpoint,
    /// with the service's name.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn spans_reach_an_otlp_collector_over_http() {
        use std::sync::{Arc, Mutex};

        use axum::body::Bytes;
        use axum::http::HeaderMap;
        use opentelemetry::trace::{Span as _, Tracer as _, TracerProvider as _};

        type Exports = Arc<Mutex<Vec<(String, Bytes)>>>;
        let exports: Exports = Arc::default();
        let kept = Arc::clone(&exports);
        let collector = axum::Router::new().route(
            "/v1/traces",
            axum::routing::post(move |headers: HeaderMap, body: Bytes| async move {
                let kind = headers
                    .get("content-type")
                    .and_then(|value| value.to_str().ok())
                    .unwrap_or_default()
                    .to_owned();
                kept.lock().expect("lock").push((kind, body));
                // An empty ExportTraceServiceResponse: everything accepted.
                ([("content-type", "application/x-protobuf")], Bytes::new())
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a free port");
        let address = listener.local_addr().expect("its address");
        tokio::spawn(async move { axum::serve(listener, collector).await });

        let settings = TraceSettings {
            endpoint: Some(format!("http://{address}/")),
            sample: 1.0,
            service: "web-under-test".to_owned(),
        };
        let provider = settings.provider().expect("it builds").expect("a provider");
        let mut span = provider.tracer("test").start("exported-span");
        let trace = span.span_context().trace_id();
        span.end();
        // The batch processor's thread sends it; flushing waits for it.
        let flushed = tokio::task::spawn_blocking(move || provider.force_flush())
            .await
            .expect("the flush ran");
        assert!(flushed.is_ok(), "{flushed:?}");

        let exports = exports.lock().expect("lock").clone();
        assert_eq!(exports.len(), 1, "one batch");
        let (kind, body) = &exports[0];
        assert_eq!(kind, "application/x-protobuf");
        let contains = |needle: &[u8]| body.windows(needle.len()).any(|window| window == needle);
        assert!(
            contains(&trace.to_bytes()),
            "the span's trace id is in the export"
        );
        assert!(contains(b"exported-span"));
        assert!(contains(b"web-under-test"), "with the service's name");
    }

    #[test]
    fn without_a_provider_nothing_is_propagated() {
        let span = tracing::info_span!("send");
        assert_eq!(traceparent(&span), None);
        assert_eq!(current_trace_id(), None);
    }
}
