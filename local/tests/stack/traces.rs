//! One trace from a request to the web, across the queue, to the job the
//! worker runs, on both backends and both queue kinds, the worker polling
//! the queue as sqsd does. The spans are read from an in-memory exporter
//! (`testkit::spans`) as OTLP would have sent them; the message's page
//! names the trace its delivery ran in.
//!
//! What it reproduces of the platform: sqsd passes each string message
//! attribute on as an `X-Aws-Sqsd-Attr-<name>` header ("Elastic Beanstalk
//! worker environments", AWS's documentation); the local poller does the
//! same, so the worker reads the trace's context from that one header either
//! way (sqsd-shaped requests: `worker/tests/worker/traces.rs`).

use std::time::Duration;

use opentelemetry::trace::{SpanId, SpanKind, TraceId};
use sqsd::PollerConfig;
use testkit::backends::Kind;
use testkit::spans::{SpanRecorder, attribute, traceparent};
use worker::{Intake, WorkerSettings};

use crate::helpers::spawn_stack;

async fn one_trace_runs_from_the_request_across_the_queue_to_the_job(kind: Kind) {
    let spans = SpanRecorder::default();
    assert!(
        service::telemetry::init_with_traces(service::traces::provider_with(
            spans.clone(),
            "local"
        )),
        "the test's subscriber is the first"
    );
    let backend = kind.make(10).await;
    let settings = WorkerSettings {
        intake: Intake::Polling,
        poller: PollerConfig {
            wait: Duration::from_secs(1),
            ..PollerConfig::default()
        },
        ..WorkerSettings::default()
    };
    let stack = spawn_stack(backend.backends.clone(), &settings).await;

    // The caller's trace (a browser's, a load balancer's): the web joins it.
    let trace = TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").expect("a trace id");
    let caller = SpanId::from_hex("00f067aa0ba902b7").expect("a span id");
    let answer = reqwest::Client::new()
        .post(format!("{}/api/messages", stack.web))
        .header("traceparent", traceparent(trace, caller))
        .json(&serde_json::json!({"body": "traced across the queue"}))
        .send()
        .await
        .expect("send");
    assert_eq!(answer.status(), 202);
    let sent: serde_json::Value = answer.json().await.expect("the message as JSON");
    let id = sent["id"].as_str().expect("an id").to_owned();
    // The record keeps the trace it was sent in from the start, so a message
    // that never reaches the worker still leads to its request.
    assert_eq!(
        sent["trace_id"],
        trace.to_string(),
        "the answer names the trace"
    );
    let recorded = backend
        .backends
        .store
        .get(messages::MessageId::parse(&id).expect("an id"))
        .await
        .expect("get")
        .expect("recorded");
    assert_eq!(
        recorded.trace_id,
        Some(trace.to_string()),
        "the record keeps the trace"
    );

    let limit = Duration::from_secs(30);
    let in_trace =
        |span: &opentelemetry_sdk::trace::SpanData| span.span_context.trace_id() == trace;
    let server = spans
        .wait_for(
            SpanKind::Server,
            |span| in_trace(span) && span.name == "POST /api/messages",
            limit,
        )
        .await
        .expect("the web's server span, in the caller's trace");
    assert_eq!(
        server.parent_span_id, caller,
        "the caller's span is its parent"
    );
    assert_eq!(
        attribute(&server, "http.response.status_code").as_deref(),
        Some("202")
    );

    let producer = spans
        .wait_for(SpanKind::Producer, in_trace, limit)
        .await
        .expect("the send's producer span, in the same trace");
    assert_eq!(producer.parent_span_id, server.span_context.span_id());
    assert_eq!(
        spans
            .finished()
            .iter()
            .filter(|span| span.span_kind == SpanKind::Producer && in_trace(span))
            .count(),
        1,
        "one send, one producer span: the queue is traced once"
    );
    assert_eq!(
        attribute(&producer, "messaging.operation.type").as_deref(),
        Some("send")
    );

    let consumer = spans
        .wait_for(
            SpanKind::Consumer,
            |span| in_trace(span) && attribute(span, "message.id").as_deref() == Some(id.as_str()),
            limit,
        )
        .await
        .expect("the worker's span for the delivery, in the same trace");
    assert_eq!(
        consumer.parent_span_id,
        producer.span_context.span_id(),
        "the delivery's parent is the send"
    );
    assert!(
        consumer
            .links
            .iter()
            .any(|link| link.span_context.span_id() == producer.span_context.span_id()),
        "and it links to it"
    );
    assert_eq!(
        attribute(&consumer, "messaging.system").as_deref(),
        Some("aws_sqs")
    );
    assert_eq!(attribute(&consumer, "job.kind").as_deref(), Some("ok"));
    assert_eq!(attribute(&consumer, "receive_count").as_deref(), Some("1"));

    // The message's page leads to the trace: its delivery names it.
    let page = reqwest::get(format!("{}/messages/{id}", stack.web))
        .await
        .expect("the message's page")
        .text()
        .await
        .expect("its HTML");
    assert!(
        page.contains(&format!("trace <code>{trace}</code>")),
        "the delivery's line names its trace: {page}"
    );
    assert!(
        page.contains(&format!("<code id=\"detail-trace\">{trace}</code>")),
        "the record's trace is on the page: {page}"
    );
}

#[tokio::test]
async fn embedded_standard() {
    one_trace_runs_from_the_request_across_the_queue_to_the_job(Kind::Embedded).await;
}

#[tokio::test]
async fn embedded_fifo() {
    one_trace_runs_from_the_request_across_the_queue_to_the_job(Kind::EmbeddedFifo).await;
}

#[tokio::test]
async fn moto_standard() {
    one_trace_runs_from_the_request_across_the_queue_to_the_job(Kind::Moto).await;
}

#[tokio::test]
async fn moto_fifo() {
    one_trace_runs_from_the_request_across_the_queue_to_the_job(Kind::MotoFifo).await;
}
