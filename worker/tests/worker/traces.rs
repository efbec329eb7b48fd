//! A delivery continues the trace of its send: sqsd passes the message's
//! `traceparent` attribute on as the `X-Aws-Sqsd-Attr-traceparent` header
//! (AWS documents that the worker gets each message attribute as an
//! `X-Aws-Sqsd-Attr-<name>` header), and the worker's span for the delivery
//! has that context as its parent, and a link to it. A `traceparent` that
//! cannot be read starts a trace of its own; the job runs either way.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use jobs::JobSettings;
use messages::{JobKind, Status};
use opentelemetry::trace::{SpanId, SpanKind, TraceId};
use testkit::backends::Kind;
use testkit::spans::{SpanRecorder, attribute, traceparent};
use tower::ServiceExt;

use crate::helpers::process_router;

async fn a_delivery_from_sqsd_continues_the_trace_of_its_send(kind: Kind) {
    let spans = SpanRecorder::default();
    assert!(service::telemetry::init_with_traces(
        service::traces::provider_with(spans.clone(), "worker")
    ));
    let backend = kind.make(10).await;
    let backends = backend_config::traced(backend.backends.clone());
    let worker = process_router(&backends, 3, JobSettings::default().slow_job);

    let trace = TraceId::from_hex("0af7651916cd43dd8448eb211c80319c").expect("a trace id");
    let send = SpanId::from_hex("b7ad6b7169203331").expect("a span id");
    let traced = testkit::seed::sent(&backends, "traced", JobKind::Succeed).await;
    let unreadable = testkit::seed::sent(&backends, "garbled trace", JobKind::Succeed).await;
    for (message, header) in [
        (&traced, traceparent(trace, send)),
        (&unreadable, "00-not-a-trace".to_owned()),
    ] {
        let mut delivery = testkit::sqsd::delivery(1);
        delivery
            .attributes
            .insert(service::traces::TRACEPARENT.to_owned(), header);
        let mut request = Request::post("/process")
            .body(Body::from(message.job().to_json()))
            .expect("request");
        *request.headers_mut() = delivery.to_headers();
        assert!(
            request
                .headers()
                .contains_key("x-aws-sqsd-attr-traceparent"),
            "sent as sqsd sends an attribute"
        );
        let response = worker.clone().oneshot(request).await.expect("infallible");
        assert_eq!(response.status(), StatusCode::OK);
    }

    let finished = spans.finished();
    let consumer_of = |id: messages::MessageId| {
        finished
            .iter()
            .find(|span| {
                span.span_kind == SpanKind::Consumer
                    && attribute(span, "message.id") == Some(id.to_string())
            })
            .unwrap_or_else(|| panic!("a consumer span for {id}: {finished:#?}"))
    };
    let continued = consumer_of(traced.id);
    assert_eq!(continued.span_context.trace_id(), trace);
    assert_eq!(continued.parent_span_id, send);
    assert!(
        continued
            .links
            .iter()
            .any(|link| link.span_context.span_id() == send),
        "linked to the send"
    );
    assert_eq!(
        attribute(continued, "messaging.operation.type").as_deref(),
        Some("process")
    );
    assert_eq!(
        attribute(continued, "messaging.destination.name").as_deref(),
        Some("test-queue")
    );

    let fresh = consumer_of(unreadable.id);
    assert_ne!(fresh.span_context.trace_id(), trace);
    assert_eq!(fresh.parent_span_id, SpanId::INVALID, "a trace of its own");

    for message in [&traced, &unreadable] {
        let stored = backends
            .store
            .get(message.id)
            .await
            .expect("get")
            .expect("kept");
        assert_eq!(stored.status, Status::Complete, "the job ran either way");
    }
}

#[tokio::test]
async fn on_the_embedded_backend() {
    a_delivery_from_sqsd_continues_the_trace_of_its_send(Kind::Embedded).await;
}

#[tokio::test]
async fn on_sqs_and_dynamodb() {
    a_delivery_from_sqsd_continues_the_trace_of_its_send(Kind::Moto).await;
}
