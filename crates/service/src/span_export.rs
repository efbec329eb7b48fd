//! Spans that cannot leave are said in the log: the OpenTelemetry SDK drops
//! a batch its exporter could not send without a word (its own logs are off
//! here), so an endpoint that does not answer (on Elastic Beanstalk, a
//! CloudWatch agent that is not running) would look like a quiet app.
//! [`Reported`] wraps the exporter and writes one warning a minute at most,
//! with how many batches were lost since the last (ARCHITECTURE.md,
//! "Traces").

use std::sync::Mutex;
use std::time::{Duration, Instant};

use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};

/// At most one warning in this long, however many batches fail.
const REPORT_EVERY: Duration = Duration::from_secs(60);

/// An exporter whose failures are reported in the log.
#[derive(Debug)]
pub struct Reported<E> {
    inner: E,
    losses: Mutex<Losses>,
}

/// Batches lost since the last warning, and when that was.
#[derive(Debug, Default)]
struct Losses {
    unreported: u64,
    reported_at: Option<Instant>,
}

impl<E> Reported<E> {
    pub fn new(inner: E) -> Self {
        Self {
            inner,
            losses: Mutex::new(Losses::default()),
        }
    }

    /// Counts a lost batch at `now`; returns how many to report, when a
    /// warning is due (the first loss, then once per [`REPORT_EVERY`]).
    fn lost_at(&self, now: Instant) -> Option<u64> {
        let mut losses = self
            .losses
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        losses.unreported += 1;
        let due = losses
            .reported_at
            .is_none_or(|at| now.duration_since(at) >= REPORT_EVERY);
        due.then(|| {
            losses.reported_at = Some(now);
            std::mem::take(&mut losses.unreported)
        })
    }
}

impl<E: SpanExporter> SpanExporter for Reported<E> {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let spans = batch.len();
        let result = self.inner.export(batch).await;
        if let Err(error) = &result
            && let Some(batches) = self.lost_at(Instant::now())
        {
            tracing::warn!(
                %error,
                batches,
                spans_in_the_last = spans,
                "spans could not be sent to OTEL_EXPORTER_OTLP_ENDPOINT and are lost; \
                 requests and jobs go on (on Elastic Beanstalk: is the CloudWatch agent running?)"
            );
        }
        result
    }

    fn shutdown_with_timeout(&mut self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn force_flush(&mut self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &opentelemetry_sdk::Resource) {
        self.inner.set_resource(resource);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_sdk::error::OTelSdkError;

    /// An exporter whose endpoint never answers.
    #[derive(Debug)]
    struct Unreachable;

    impl SpanExporter for Unreachable {
        async fn export(&self, _batch: Vec<SpanData>) -> OTelSdkResult {
            Err(OTelSdkError::InternalFailure(
                "connection refused".to_owned(),
            ))
        }
    }

    #[test]
    fn the_first_loss_is_reported_then_one_warning_a_minute_counts_the_rest() {
        let exporter = Reported::new(Unreachable);
        let start = Instant::now();
        assert_eq!(exporter.lost_at(start), Some(1), "the first loss at once");
        assert_eq!(exporter.lost_at(start + Duration::from_secs(5)), None);
        assert_eq!(exporter.lost_at(start + Duration::from_secs(30)), None);
        assert_eq!(
            exporter.lost_at(start + REPORT_EVERY),
            Some(3),
            "a minute on, the three since the last warning"
        );
        assert_eq!(exporter.lost_at(start + REPORT_EVERY), None);
    }

    #[tokio::test]
    async fn a_failed_export_is_still_an_error_for_the_sdk() {
        let exporter = Reported::new(Unreachable);
        assert!(exporter.export(Vec::new()).await.is_err());
        assert!(exporter.export(Vec::new()).await.is_err());
        // The first was reported at once; the second waits for the next
        // warning, with the loss that brings it.
        assert_eq!(
            exporter.lost_at(Instant::now() + REPORT_EVERY),
            Some(2),
            "the second failure was counted"
        );
    }
}
