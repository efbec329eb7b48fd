//! Backends that fail every call, as SQS or DynamoDB do when unreachable: for
//! the error paths that a real emulator cannot be made to take on demand.
//! They count the calls they refused, so a test can also show that a request
//! made none at all.

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
    ListQuery, Message, MessageId, NewSession, Outcome, Outgoing, Page, Queue, QueueDepth,
    Received, SessionKey, SessionStore, StaleQuery, Status, StatusStore, Transition,
};

/// A queue, a store and sessions that are down, counting the calls made to them.
#[derive(Debug, Clone, Default)]
pub struct Down {
    calls: Arc<AtomicU64>,
}

impl Down {
    /// Refuses the call `operation`, and counts it.
    fn down<T>(&self, operation: &'static str) -> Result<T, BackendError> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        Err(BackendError::new(
            operation,
            "connection refused (test double)",
        ))
    }
}

#[async_trait]
impl QueueTraffic for Down {
    async fn send_message(&self, _message: &Outgoing) -> Result<(), BackendError> {
        self.down("send")
    }

    async fn receive(
        &self,
        _max: u32,
        _wait: Duration,
        _visibility: Duration,
    ) -> Result<Vec<Received>, BackendError> {
        self.down("receive")
    }

    async fn delete(&self, _receipt_handle: &str) -> Result<(), BackendError> {
        self.down("delete")
    }

    async fn change_visibility(
        &self,
        _receipt_handle: &str,
        _timeout: Duration,
    ) -> Result<(), BackendError> {
        self.down("change visibility")
    }
}

#[async_trait]
impl Queue for Down {
    async fn depth(&self) -> Result<QueueDepth, BackendError> {
        self.down("depth")
    }

    async fn dead_letter_queue(&self) -> Result<Option<Arc<dyn DeadLetterQueue>>, BackendError> {
        self.down("find the dead-letter queue")
    }

    fn name(&self) -> String {
        "down".to_owned()
    }

    fn describe(&self) -> String {
        "a queue that is down".to_owned()
    }

    fn service(&self) -> &'static str {
        "a queue that is down"
    }
}

#[async_trait]
impl MessageLifecycle for Down {
    async fn create(&self, _message: &Message) -> Result<(), BackendError> {
        self.down("create")
    }

    async fn get(&self, _id: MessageId) -> Result<Option<Message>, BackendError> {
        self.down("get")
    }

    async fn finish(&self, _id: MessageId, _outcome: &Outcome) -> Result<Transition, BackendError> {
        self.down("finish")
    }

    async fn record_attempt(
        &self,
        _id: MessageId,
        _attempts: u32,
        _error: &str,
        _at: DateTime<Utc>,
        _event: &Event,
    ) -> Result<Transition, BackendError> {
        self.down("record attempt")
    }

    async fn note_started(&self, _id: MessageId, _event: &Event) -> Result<bool, BackendError> {
        self.down("note a start")
    }
}

#[async_trait]
impl IdempotencyKeys for Down {
    async fn claim_key(
        &self,
        _key: &IdempotencyKey,
        _claim: &KeyClaim,
    ) -> Result<Claimed, BackendError> {
        self.down("claim_key")
    }

    async fn settle_key(
        &self,
        _key: &IdempotencyKey,
        _claimed_at: DateTime<Utc>,
        _outcome: &KeyOutcome,
    ) -> Result<bool, BackendError> {
        self.down("settle_key")
    }

    async fn confirm_key(
        &self,
        _key: &IdempotencyKey,
        _claimed_at: DateTime<Utc>,
    ) -> Result<bool, BackendError> {
        self.down("confirm_key")
    }

    async fn release_key(
        &self,
        _key: &IdempotencyKey,
        _claimed_at: DateTime<Utc>,
    ) -> Result<(), BackendError> {
        self.down("release_key")
    }
}

#[async_trait]
impl RunClaims for Down {
    async fn claim_scheduled_run(
        &self,
        _task: &str,
        _scheduled_at: DateTime<Utc>,
    ) -> Result<bool, BackendError> {
        self.down("claim scheduled run")
    }
}

#[async_trait]
impl SweeperQueries for Down {
    async fn stale_pending(&self, _query: StaleQuery) -> Result<Vec<Message>, BackendError> {
        self.down("stale pending")
    }

    async fn claim_requeue(
        &self,
        _id: MessageId,
        _seen: DateTime<Utc>,
        _at: DateTime<Utc>,
        _note: &str,
    ) -> Result<bool, BackendError> {
        self.down("claim requeue")
    }
}

#[async_trait]
impl OperatorActions for Down {
    async fn retry(
        &self,
        _id: MessageId,
        _at: DateTime<Utc>,
    ) -> Result<Option<Message>, BackendError> {
        self.down("retry")
    }

    async fn delete_failed(&self, _id: MessageId) -> Result<bool, BackendError> {
        self.down("delete")
    }
}

#[async_trait]
impl DashboardReads for Down {
    async fn list(&self, _query: ListQuery) -> Result<Page, BackendError> {
        self.down("list")
    }

    async fn newer_than(
        &self,
        _after: MessageId,
        _limit: u32,
    ) -> Result<Vec<Message>, BackendError> {
        self.down("newer than")
    }

    async fn count(&self, _status: Status) -> Result<u64, BackendError> {
        self.down("count")
    }

    async fn oldest_pending(&self) -> Result<Option<MessageId>, BackendError> {
        self.down("oldest pending")
    }
}

impl StatusStore for Down {
    fn describe(&self) -> String {
        "a store that is down".to_owned()
    }

    fn service(&self) -> &'static str {
        "a store that is down"
    }
}

#[async_trait]
impl SessionStore for Down {
    async fn start(&self, _session: &NewSession) -> Result<(), BackendError> {
        self.down("start session")
    }
    async fn touch(
        &self,
        _key: &SessionKey,
        _credential: &str,
        _now: DateTime<Utc>,
        _idle_until: DateTime<Utc>,
    ) -> Result<bool, BackendError> {
        self.down("touch session")
    }
    async fn end(&self, _key: &SessionKey) -> Result<(), BackendError> {
        self.down("end session")
    }
}

/// Every port down.
pub fn backends() -> Backends {
    backends_counting().0
}

/// Every port down, and how many calls they have refused so far.
pub fn backends_counting() -> (Backends, Arc<AtomicU64>) {
    let down = Down::default();
    let calls = Arc::clone(&down.calls);
    let backends = Backends {
        queue: Arc::new(down.clone()),
        store: Arc::new(down.clone()),
        sessions: Arc::new(down),
    };
    (backends, calls)
}
