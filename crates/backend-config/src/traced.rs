//! Every send traced, whichever backend and whoever sends (the web's sends
//! and bursts, an operator's retry, the sweeper's re-enqueue, the scheduler's
//! periodic task): [`traced`] puts the apps' queue behind [`TracedQueue`],
//! which wraps each send in a producer span and gives each message the
//! `traceparent` that continues the trace on the worker's side (ARCHITECTURE.md,
//! "Traces"). With traces off, it adds a span for the logs and nothing else.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use messages::{
    BackendError, Backends, DeadLetterQueue, Outgoing, Queue, QueueDepth, QueueKind, QueueTraffic,
    Received,
};
use service::traces::{TRACEPARENT, producer_span, traceparent};
use tracing::Instrument;

/// SQS's limit on message attributes per message: a message that already
/// has this many travels without its trace rather than being refused.
pub const MAX_ATTRIBUTES: usize = 10;

/// `backends` with their queue's sends traced.
pub fn traced(backends: Backends) -> Backends {
    Backends {
        queue: Arc::new(TracedQueue {
            name: backends.queue.name(),
            inner: backends.queue,
        }),
        ..backends
    }
}

/// A queue whose sends are traced; everything else is the inner queue's.
pub struct TracedQueue {
    inner: Arc<dyn Queue>,
    /// The inner queue's name, read once: every send's span names it.
    name: String,
}

/// `message` with `traceparent` among its attributes, when there is one and
/// room for it.
fn carrying(message: &Outgoing, traceparent: Option<&String>) -> Outgoing {
    let mut message = message.clone();
    if let Some(traceparent) = traceparent
        && message.attributes.len() < MAX_ATTRIBUTES
    {
        message
            .attributes
            .insert(TRACEPARENT.to_owned(), traceparent.clone());
    }
    message
}

#[async_trait]
impl QueueTraffic for TracedQueue {
    async fn send_message(&self, message: &Outgoing) -> Result<(), BackendError> {
        let span = producer_span(&self.name, 1);
        let message = carrying(message, traceparent(&span).as_ref());
        self.inner.send_message(&message).instrument(span).await
    }

    async fn send_batch(&self, messages: &[Outgoing]) -> Result<Vec<bool>, BackendError> {
        let span = producer_span(&self.name, messages.len());
        let context = traceparent(&span);
        let messages: Vec<Outgoing> = messages
            .iter()
            .map(|message| carrying(message, context.as_ref()))
            .collect();
        self.inner.send_batch(&messages).instrument(span).await
    }

    async fn receive(
        &self,
        max: u32,
        wait: Duration,
        visibility: Duration,
    ) -> Result<Vec<Received>, BackendError> {
        self.inner.receive(max, wait, visibility).await
    }

    async fn delete(&self, receipt_handle: &str) -> Result<(), BackendError> {
        self.inner.delete(receipt_handle).await
    }

    async fn change_visibility(
        &self,
        receipt_handle: &str,
        timeout: Duration,
    ) -> Result<(), BackendError> {
        self.inner.change_visibility(receipt_handle, timeout).await
    }
}

#[async_trait]
impl Queue for TracedQueue {
    async fn depth(&self) -> Result<QueueDepth, BackendError> {
        self.inner.depth().await
    }

    async fn dead_letter_queue(&self) -> Result<Option<Arc<dyn DeadLetterQueue>>, BackendError> {
        self.inner.dead_letter_queue().await
    }

    fn kind(&self) -> QueueKind {
        self.inner.kind()
    }

    fn is_fifo(&self) -> bool {
        self.inner.is_fifo()
    }

    fn name(&self) -> String {
        self.name.clone()
    }

    fn describe(&self) -> String {
        self.inner.describe()
    }

    fn service(&self) -> &'static str {
        self.inner.service()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn a_message_carries_its_trace_only_where_there_is_room() {
        let traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".to_owned();
        let plain = Outgoing::new("job");
        let carried = carrying(&plain, Some(&traceparent));
        assert_eq!(carried.attributes.get(TRACEPARENT), Some(&traceparent));
        assert_eq!(carried.attributes.len(), 1, "no tracestate beside it");

        let full = Outgoing::new("job").with_attributes(
            (0..MAX_ATTRIBUTES)
                .map(|n| (format!("attribute{n}"), "value".to_owned()))
                .collect::<BTreeMap<_, _>>(),
        );
        assert_eq!(carrying(&full, Some(&traceparent)), full);
        assert_eq!(carrying(&plain, None), plain);
    }
}
