//! Real backends with faults put in front of chosen calls: a call refused
//! before it reaches the backend, or an answer lost after the backend applied
//! it (a connection reset after the request went out), or one that never
//! answers. For the error paths
//! where what the caller is told must match what really happened; every other
//! call goes through to the real backend unchanged.

use messages::QueueTraffic;
use messages::{
    DashboardReads, IdempotencyKeys, MessageLifecycle, OperatorActions, RunClaims, SweeperQueries,
};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use messages::{
    BackendError, Backends, Claimed, DeadLetterQueue, Event, IdempotencyKey, KeyClaim, KeyOutcome,
    ListQuery, Message, MessageId, Outcome, Outgoing, Page, Queue, QueueDepth, Received,
    StaleQuery, Status, StatusStore, Transition,
};

/// What happens to one kind of call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Fault {
    /// It goes through.
    #[default]
    None,
    /// It fails without reaching the backend: nothing changes.
    Refused,
    /// It reaches the backend and is applied, then fails: its answer is lost.
    AnswerLost,
    /// It never answers (a backend that hangs): for requests held in flight.
    Hangs,
    /// It answers nothing for this long, then fails without reaching the
    /// backend: a window in which another request can run.
    RefusedAfter(Duration),
}

/// Which calls fail, and how.
#[derive(Debug, Clone, Copy, Default)]
pub struct Faults {
    /// `create` and `create_batch`.
    pub create: Fault,
    /// `get` and `get_many` (a read is refused or hangs; it has no answer to lose).
    pub read: Fault,
    /// `finish`.
    pub finish: Fault,
    /// `send`, `send_message` and `send_batch`.
    pub send: Fault,
}

/// `inner` with `faults` in front.
pub fn backends(inner: &Backends, faults: Faults) -> Backends {
    backends_counting(inner, faults).0
}

/// How many of the store's reads that every open page makes went through.
#[derive(Debug, Default)]
pub struct Reads {
    /// `count` calls.
    pub count: AtomicU64,
    /// `newer_than` calls.
    pub newer_than: AtomicU64,
}

impl Reads {
    /// `(count, newer_than)` calls so far.
    pub fn now(&self) -> (u64, u64) {
        (
            self.count.load(Ordering::Relaxed),
            self.newer_than.load(Ordering::Relaxed),
        )
    }
}

/// As [`backends`], with the store's reads that open pages make counted on
/// the way (their cost is what grows with the pages).
pub fn backends_counting(inner: &Backends, faults: Faults) -> (Backends, Arc<Reads>) {
    let reads = Arc::new(Reads::default());
    let backends = Backends {
        queue: Arc::new(FaultyQueue {
            inner: Arc::clone(&inner.queue),
            send: faults.send,
        }),
        store: Arc::new(FaultyStore {
            inner: Arc::clone(&inner.store),
            faults,
            reads: Arc::clone(&reads),
        }),
        sessions: Arc::clone(&inner.sessions),
    };
    (backends, reads)
}

fn failure(operation: &'static str, fault: Fault) -> BackendError {
    let what = match fault {
        Fault::AnswerLost => "connection reset after the request was sent (test fault)",
        Fault::Refused | Fault::None | Fault::Hangs | Fault::RefusedAfter(_) => {
            "connection refused (test fault)"
        }
    };
    BackendError::new(operation, what)
}

/// Runs `call` as `fault` says.
async fn faulty<T>(
    operation: &'static str,
    fault: Fault,
    call: impl Future<Output = Result<T, BackendError>>,
) -> Result<T, BackendError> {
    match fault {
        Fault::None => call.await,
        Fault::Refused => Err(failure(operation, fault)),
        Fault::AnswerLost => {
            call.await?;
            Err(failure(operation, fault))
        }
        Fault::Hangs => std::future::pending().await,
        Fault::RefusedAfter(wait) => {
            tokio::time::sleep(wait).await;
            Err(failure(operation, fault))
        }
    }
}

struct FaultyQueue {
    inner: Arc<dyn Queue>,
    send: Fault,
}

#[async_trait]
impl QueueTraffic for FaultyQueue {
    async fn send_message(&self, message: &Outgoing) -> Result<(), BackendError> {
        faulty("send", self.send, self.inner.send_message(message)).await
    }

    async fn send_batch(&self, messages: &[Outgoing]) -> Result<Vec<bool>, BackendError> {
        faulty("send batch", self.send, self.inner.send_batch(messages)).await
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
        visibility: Duration,
    ) -> Result<(), BackendError> {
        self.inner
            .change_visibility(receipt_handle, visibility)
            .await
    }
}

#[async_trait]
impl Queue for FaultyQueue {
    async fn depth(&self) -> Result<QueueDepth, BackendError> {
        self.inner.depth().await
    }

    async fn dead_letter_queue(&self) -> Result<Option<Arc<dyn DeadLetterQueue>>, BackendError> {
        self.inner.dead_letter_queue().await
    }

    fn is_fifo(&self) -> bool {
        self.inner.is_fifo()
    }

    fn name(&self) -> String {
        self.inner.name()
    }

    fn describe(&self) -> String {
        format!("{} (with test faults)", self.inner.describe())
    }

    fn service(&self) -> &'static str {
        self.inner.service()
    }
}

struct FaultyStore {
    inner: Arc<dyn StatusStore>,
    faults: Faults,
    reads: Arc<Reads>,
}

#[async_trait]
impl MessageLifecycle for FaultyStore {
    async fn create(&self, message: &Message) -> Result<(), BackendError> {
        faulty("create", self.faults.create, self.inner.create(message)).await
    }

    async fn create_batch(&self, messages: &[Message]) -> Result<(), BackendError> {
        faulty(
            "create batch",
            self.faults.create,
            self.inner.create_batch(messages),
        )
        .await
    }

    async fn get(&self, id: MessageId) -> Result<Option<Message>, BackendError> {
        faulty("get", self.faults.read, self.inner.get(id)).await
    }

    async fn get_many(&self, ids: &[MessageId]) -> Result<Vec<Message>, BackendError> {
        faulty("get many", self.faults.read, self.inner.get_many(ids)).await
    }

    async fn finish(&self, id: MessageId, outcome: &Outcome) -> Result<Transition, BackendError> {
        faulty("finish", self.faults.finish, self.inner.finish(id, outcome)).await
    }

    async fn record_attempt(
        &self,
        id: MessageId,
        attempts: u32,
        error: &str,
        at: DateTime<Utc>,
        event: &Event,
    ) -> Result<Transition, BackendError> {
        self.inner
            .record_attempt(id, attempts, error, at, event)
            .await
    }

    async fn note_started(&self, id: MessageId, event: &Event) -> Result<bool, BackendError> {
        self.inner.note_started(id, event).await
    }
}

#[async_trait]
impl IdempotencyKeys for FaultyStore {
    async fn claim_key(
        &self,
        key: &IdempotencyKey,
        claim: &KeyClaim,
    ) -> Result<Claimed, BackendError> {
        self.inner.claim_key(key, claim).await
    }

    async fn settle_key(
        &self,
        key: &IdempotencyKey,
        claimed_at: DateTime<Utc>,
        outcome: &KeyOutcome,
    ) -> Result<bool, BackendError> {
        self.inner.settle_key(key, claimed_at, outcome).await
    }

    async fn confirm_key(
        &self,
        key: &IdempotencyKey,
        claimed_at: DateTime<Utc>,
    ) -> Result<bool, BackendError> {
        self.inner.confirm_key(key, claimed_at).await
    }

    async fn release_key(
        &self,
        key: &IdempotencyKey,
        claimed_at: DateTime<Utc>,
    ) -> Result<(), BackendError> {
        self.inner.release_key(key, claimed_at).await
    }
}

#[async_trait]
impl RunClaims for FaultyStore {
    async fn claim_scheduled_run(
        &self,
        task: &str,
        scheduled_at: DateTime<Utc>,
    ) -> Result<bool, BackendError> {
        self.inner.claim_scheduled_run(task, scheduled_at).await
    }
}

#[async_trait]
impl SweeperQueries for FaultyStore {
    async fn stale_pending(&self, query: StaleQuery) -> Result<Vec<Message>, BackendError> {
        self.inner.stale_pending(query).await
    }

    async fn claim_requeue(
        &self,
        id: MessageId,
        seen: DateTime<Utc>,
        at: DateTime<Utc>,
        note: &str,
    ) -> Result<bool, BackendError> {
        self.inner.claim_requeue(id, seen, at, note).await
    }
}

#[async_trait]
impl OperatorActions for FaultyStore {
    async fn retry(
        &self,
        id: MessageId,
        at: DateTime<Utc>,
    ) -> Result<Option<Message>, BackendError> {
        self.inner.retry(id, at).await
    }

    async fn delete_failed(&self, id: MessageId) -> Result<bool, BackendError> {
        self.inner.delete_failed(id).await
    }
}

#[async_trait]
impl DashboardReads for FaultyStore {
    async fn newer_than(&self, after: MessageId, limit: u32) -> Result<Vec<Message>, BackendError> {
        self.reads.newer_than.fetch_add(1, Ordering::Relaxed);
        self.inner.newer_than(after, limit).await
    }

    async fn count(&self, status: Status) -> Result<u64, BackendError> {
        self.reads.count.fetch_add(1, Ordering::Relaxed);
        self.inner.count(status).await
    }

    async fn oldest_pending(&self) -> Result<Option<MessageId>, BackendError> {
        faulty(
            "oldest pending",
            self.faults.read,
            self.inner.oldest_pending(),
        )
        .await
    }

    async fn list(&self, query: ListQuery) -> Result<Page, BackendError> {
        self.inner.list(query).await
    }
}

impl StatusStore for FaultyStore {
    fn describe(&self) -> String {
        format!("{} (with test faults)", self.inner.describe())
    }

    fn service(&self) -> &'static str {
        self.inner.service()
    }
}
