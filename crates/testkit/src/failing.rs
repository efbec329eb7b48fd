//! Backends that fail every call, as SQS or DynamoDB do when unreachable: for
//! the error paths that a real emulator cannot be made to take on demand.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use messages::{
    BackendError, Backends, Claimed, DeadLetterQueue, Event, IdempotencyKey, KeyClaim, KeyOutcome,
    ListQuery, Message, MessageId, Outcome, Outgoing, Page, Queue, QueueDepth, Received,
    StaleQuery, Status, StatusStore, Transition,
};

/// A queue and a store that are down.
#[derive(Debug, Clone, Copy)]
pub struct Down;

fn down<T>(operation: &'static str) -> Result<T, BackendError> {
    Err(BackendError::new(
        operation,
        "connection refused (test double)",
    ))
}

#[async_trait]
impl Queue for Down {
    async fn send_message(&self, _message: &Outgoing) -> Result<(), BackendError> {
        down("send")
    }
    async fn receive(
        &self,
        _max: u32,
        _wait: Duration,
        _visibility: Duration,
    ) -> Result<Vec<Received>, BackendError> {
        down("receive")
    }
    async fn delete(&self, _receipt_handle: &str) -> Result<(), BackendError> {
        down("delete")
    }
    async fn change_visibility(
        &self,
        _receipt_handle: &str,
        _timeout: Duration,
    ) -> Result<(), BackendError> {
        down("change visibility")
    }
    async fn depth(&self) -> Result<QueueDepth, BackendError> {
        down("depth")
    }
    async fn dead_letter_queue(&self) -> Result<Option<Arc<dyn DeadLetterQueue>>, BackendError> {
        down("find the dead-letter queue")
    }
    fn name(&self) -> String {
        "down".to_owned()
    }
    fn describe(&self) -> String {
        "a queue that is down".to_owned()
    }
}

#[async_trait]
impl StatusStore for Down {
    async fn create(&self, _message: &Message) -> Result<(), BackendError> {
        down("create")
    }
    async fn get(&self, _id: MessageId) -> Result<Option<Message>, BackendError> {
        down("get")
    }
    async fn finish(&self, _id: MessageId, _outcome: &Outcome) -> Result<Transition, BackendError> {
        down("finish")
    }
    async fn record_attempt(
        &self,
        _id: MessageId,
        _attempts: u32,
        _error: &str,
        _at: DateTime<Utc>,
        _event: &Event,
    ) -> Result<Transition, BackendError> {
        down("record attempt")
    }
    async fn retry(
        &self,
        _id: MessageId,
        _at: DateTime<Utc>,
    ) -> Result<Option<Message>, BackendError> {
        down("retry")
    }
    async fn delete_failed(&self, _id: MessageId) -> Result<bool, BackendError> {
        down("delete")
    }
    async fn list(&self, _query: ListQuery) -> Result<Page, BackendError> {
        down("list")
    }
    async fn newer_than(
        &self,
        _after: MessageId,
        _limit: u32,
    ) -> Result<Vec<Message>, BackendError> {
        down("newer than")
    }
    async fn count(&self, _status: Status) -> Result<u64, BackendError> {
        down("count")
    }
    async fn stale_pending(&self, _query: StaleQuery) -> Result<Vec<Message>, BackendError> {
        down("stale pending")
    }
    async fn claim_requeue(
        &self,
        _id: MessageId,
        _seen: DateTime<Utc>,
        _at: DateTime<Utc>,
        _note: &str,
    ) -> Result<bool, BackendError> {
        down("claim requeue")
    }
    async fn claim_scheduled_run(
        &self,
        _task: &str,
        _scheduled_at: DateTime<Utc>,
    ) -> Result<bool, BackendError> {
        down("claim scheduled run")
    }
    async fn claim_key(
        &self,
        _key: &IdempotencyKey,
        _claim: &KeyClaim,
    ) -> Result<Claimed, BackendError> {
        down("claim_key")
    }
    async fn settle_key(
        &self,
        _key: &IdempotencyKey,
        _claimed_at: DateTime<Utc>,
        _outcome: &KeyOutcome,
    ) -> Result<bool, BackendError> {
        down("settle_key")
    }
    async fn release_key(
        &self,
        _key: &IdempotencyKey,
        _claimed_at: DateTime<Utc>,
    ) -> Result<(), BackendError> {
        down("release_key")
    }
    fn describe(&self) -> String {
        "a store that is down".to_owned()
    }
}

/// Both ports down.
pub fn backends() -> Backends {
    Backends {
        queue: Arc::new(Down),
        store: Arc::new(Down),
    }
}
