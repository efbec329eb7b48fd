//! A traced send's `traceparent` attribute makes the round trip through the
//! queue: sent with the producer span's context, received as it was sent,
//! alone (no `tracestate`, empty or not), on moto's SQS and on the embedded
//! queue, standard and FIFO. Each case is a test of its own: nextest runs
//! each in a process, and each installs its own tracer.

use std::time::Duration;

use messages::Outgoing;
use opentelemetry::trace::SpanKind;
use testkit::backends::Kind;
use testkit::spans::SpanRecorder;
use tracing::Instrument;

async fn the_traceparent_attribute_makes_the_round_trip(kind: Kind) {
    let spans = SpanRecorder::default();
    assert!(service::telemetry::init_with_traces(
        service::traces::provider_with(spans.clone(), "test")
    ));
    let backend = kind.make(10).await;
    let backends = backend_config::traced(backend.backends.clone());
    async {
        backends
            .queue
            .send_message(&Outgoing::new("a traced job"))
            .await
    }
    .instrument(tracing::info_span!("a request"))
    .await
    .expect("sent");
    let received = backends
        .queue
        .receive(1, Duration::from_secs(2), Duration::from_secs(30))
        .await
        .expect("receive")
        .pop()
        .expect("the message is there");

    let producer = spans
        .finished()
        .into_iter()
        .find(|span| span.span_kind == SpanKind::Producer)
        .expect("a producer span for the send");
    let sent = format!(
        "00-{}-{}-01",
        producer.span_context.trace_id(),
        producer.span_context.span_id()
    );
    assert_eq!(
        received.attributes.get("traceparent"),
        Some(&sent),
        "{:?}",
        received.attributes
    );
    assert!(
        !received.attributes.contains_key("tracestate"),
        "{:?}",
        received.attributes
    );
}

#[tokio::test]
async fn on_sqs() {
    the_traceparent_attribute_makes_the_round_trip(Kind::Moto).await;
}

#[tokio::test]
async fn on_a_fifo_queue_on_sqs() {
    the_traceparent_attribute_makes_the_round_trip(Kind::MotoFifo).await;
}

#[tokio::test]
async fn on_the_embedded_queue() {
    the_traceparent_attribute_makes_the_round_trip(Kind::Embedded).await;
}

#[tokio::test]
async fn on_the_embedded_fifo_queue() {
    the_traceparent_attribute_makes_the_round_trip(Kind::EmbeddedFifo).await;
}
