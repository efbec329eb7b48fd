//! An in-memory span exporter: tests hand it to the tracer provider they
//! install (`service::traces::provider_with`), then read every span that
//! ended, as OpenTelemetry's exporter would have sent it.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry::trace::{SpanId, SpanKind, TraceId};
use opentelemetry::{Key, Value};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};

/// Keeps every span it is given; clones share them.
#[derive(Debug, Clone, Default)]
pub struct SpanRecorder {
    spans: Arc<Mutex<Vec<SpanData>>>,
}

impl SpanExporter for SpanRecorder {
    fn export(&self, batch: Vec<SpanData>) -> impl Future<Output = OTelSdkResult> + Send {
        if let Ok(mut spans) = self.spans.lock() {
            spans.extend(batch);
        }
        std::future::ready(Ok(()))
    }
}

impl SpanRecorder {
    /// The spans that ended so far, in the order they ended.
    pub fn finished(&self) -> Vec<SpanData> {
        self.spans
            .lock()
            .map(|spans| spans.clone())
            .unwrap_or_default()
    }

    /// Waits up to `limit` for a span of `kind` for which `wanted` holds.
    pub async fn wait_for(
        &self,
        kind: SpanKind,
        wanted: impl Fn(&SpanData) -> bool,
        limit: Duration,
    ) -> Option<SpanData> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let found = self
                .finished()
                .into_iter()
                .find(|span| span.span_kind == kind && wanted(span));
            if found.is_some() || tokio::time::Instant::now() >= deadline {
                return found;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// A span's attribute `key` as text, if it has one.
pub fn attribute(span: &SpanData, key: &str) -> Option<String> {
    span.attributes
        .iter()
        .find(|pair| pair.key == Key::from(key.to_owned()))
        .map(|pair| match &pair.value {
            Value::String(text) => text.to_string(),
            other => other.to_string(),
        })
}

/// A W3C `traceparent` naming `trace` and its span `parent`, sampled.
pub fn traceparent(trace: TraceId, parent: SpanId) -> String {
    format!("00-{trace}-{parent}-01")
}
