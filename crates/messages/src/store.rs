//! The status-store port: the record of every message and its state.
//!
//! Every write that changes a state is conditional, so it is safe to repeat
//! and to race. A worker's writes (an attempt, a final outcome) apply only
//! while the message is `pending`: of two workers finishing one message, one
//! gets [`Transition::Applied`] and the other [`Transition::AlreadyFinal`], and
//! a final state is never overwritten by a delivery. The one way back is an
//! operator's [`StatusStore::retry`], which moves `fail`, and only `fail`,
//! to `pending` again.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::{
    BackendError, Claimed, Event, FinalStatus, IdempotencyKey, KeyClaim, KeyOutcome, Message,
    MessageGroup, MessageId, Status,
};

/// The largest page a list may ask for.
pub const MAX_PAGE: u32 = 100;

/// The result of a conditional write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transition {
    /// This call changed the record; here it is as written.
    Applied(Message),
    /// The record had a final state already (a duplicate or late delivery); unchanged.
    AlreadyFinal(Message),
    /// No record has this id.
    NotFound,
}

impl Transition {
    /// What a conditional write whose condition failed amounts to, from the
    /// record as it is now: gone, already final, or (still `pending`) the
    /// state the caller asked for, which a later attempt already wrote. Both
    /// backends explain a refused write this way.
    pub fn from_current(current: Option<Message>) -> Self {
        match current {
            None => Self::NotFound,
            Some(message) if message.status.is_final() => Self::AlreadyFinal(message),
            // Still pending: only `record_attempt` gets here (a later attempt is
            // already recorded), and that is the state the caller asked for.
            Some(message) => Self::Applied(message),
        }
    }
}

/// A final outcome to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// `complete` or `fail`.
    pub status: FinalStatus,
    /// Deliveries so far, this one included.
    pub attempts: u32,
    /// Why it failed, for `fail`.
    pub error: Option<String>,
    /// When it was decided.
    pub at: DateTime<Utc>,
    /// The delivery that decided it, added to the timeline with the change;
    /// none when the web or the sweeper decided it.
    pub event: Option<Event>,
}

/// One page of a list, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Page {
    /// At most the requested number of messages.
    pub items: Vec<Message>,
    /// Pass back as `cursor` for the next page; `None` on the last page.
    pub next_cursor: Option<MessageId>,
}

impl Page {
    /// Cuts rows read with a limit of `limit + 1` into a page and its cursor:
    /// the extra row only tells that a next page exists.
    pub fn from_rows(mut rows: Vec<Message>, limit: u32) -> Self {
        let limit = usize::try_from(limit).expect("a u32 fits in usize on 32- and 64-bit targets");
        let next_cursor = if rows.len() > limit {
            rows.truncate(limit);
            rows.last().map(|message| message.id)
        } else {
            None
        };
        Self {
            items: rows,
            next_cursor,
        }
    }
}

/// What to list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery {
    /// Only messages in this state, or all. `complete` on DynamoDB is read
    /// from the table, passing over the messages of other statuses up to a
    /// bound: when the newest are nearly all `pending` or `fail`, a page may
    /// hold fewer than `limit`, even none; follow `next_cursor` for more.
    pub status: Option<Status>,
    /// Only messages of this group, or all. With a status too, a page on
    /// DynamoDB may hold fewer than `limit` (it reads the group's entries,
    /// then keeps those in the status); follow `next_cursor` for more.
    pub group: Option<MessageGroup>,
    /// Page size, 1 to [`MAX_PAGE`].
    pub limit: u32,
    /// Start after this message (the previous page's `next_cursor`).
    pub cursor: Option<MessageId>,
}

/// Which `pending` messages the sweeper looks at: created and last active
/// before a cutoff, and re-enqueued fewer or at least so many times. Filtering
/// on both in the store (not after a limited read) keeps messages that cannot
/// be acted on from filling the batch, so they never hide one that can.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StaleQuery {
    /// No activity (`updated_at`) since this time, nor created after it.
    pub idle_since: DateTime<Utc>,
    /// Which re-enqueue counts.
    pub requeues: Requeues,
    /// At most this many, 1 to 1000.
    pub limit: u32,
}

/// A bound on `requeues`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requeues {
    /// Re-enqueued fewer than this many times.
    Fewer(u32),
    /// Re-enqueued at least this many times.
    AtLeast(u32),
}

impl Requeues {
    /// Whether `requeues` is within the bound.
    pub fn admits(self, requeues: u32) -> bool {
        match self {
            Self::Fewer(bound) => requeues < bound,
            Self::AtLeast(bound) => requeues >= bound,
        }
    }
}

/// A message's life, as the web and the worker write and read it: created
/// `pending`, read, its attempts noted, finished once.
#[async_trait]
pub trait MessageLifecycle: Send + Sync + 'static {
    /// Records a new message. Refuses to overwrite an existing id.
    async fn create(&self, message: &Message) -> Result<(), BackendError>;

    /// Records several new messages, in as few calls as the backend allows.
    async fn create_batch(&self, messages: &[Message]) -> Result<(), BackendError> {
        for message in messages {
            self.create(message).await?;
        }
        Ok(())
    }

    /// Reads one message with a strongly consistent read.
    async fn get(&self, id: MessageId) -> Result<Option<Message>, BackendError>;

    /// Reads several messages (at most [`MAX_PAGE`]); unknown ids are left out.
    async fn get_many(&self, ids: &[MessageId]) -> Result<Vec<Message>, BackendError> {
        let mut found = Vec::new();
        for id in ids.iter().take(MAX_PAGE as usize) {
            found.extend(self.get(*id).await?);
        }
        Ok(found)
    }

    /// Moves a `pending` message to a final state; see [`Transition`].
    async fn finish(&self, id: MessageId, outcome: &Outcome) -> Result<Transition, BackendError>;

    /// Notes a failed attempt on a message that stays `pending` (it will be
    /// retried), with `event`, its delivery, added to the timeline. Never
    /// lowers `attempts`, never touches a final message.
    async fn record_attempt(
        &self,
        id: MessageId,
        attempts: u32,
        error: &str,
        at: DateTime<Utc>,
        event: &Event,
    ) -> Result<Transition, BackendError>;

    /// Adds [`Event::Started`] to the timeline of a message that is still
    /// `pending`, changing nothing else (not its status, attempts, counts or
    /// `updated_at`). The worker calls it once for a job that has run a
    /// second without answering, so only slow jobs pay for the write.
    /// Returns whether it was added (not when the message is final or gone).
    async fn note_started(&self, id: MessageId, event: &Event) -> Result<bool, BackendError>;
}

/// Sends made once per `Idempotency-Key`: the web's claims on keys and
/// what became of them.
#[async_trait]
pub trait IdempotencyKeys: Send + Sync + 'static {
    /// Claims `key` for a send by recording `claim` (whose outcome is
    /// [`KeyOutcome::InProgress`]), if the key has no claim younger than
    /// [`crate::KEY_WINDOW`] at `claim.claimed_at`; otherwise returns that
    /// claim unchanged. One statement or conditional write: of two sends racing
    /// with one key, exactly one gets [`Claimed::New`].
    async fn claim_key(
        &self,
        key: &IdempotencyKey,
        claim: &KeyClaim,
    ) -> Result<Claimed, BackendError>;

    /// Records what became of the claim of `key` made at `claimed_at`, unless
    /// it has an answer already (the first answer stands). Returns whether
    /// this call recorded it.
    async fn settle_key(
        &self,
        key: &IdempotencyKey,
        claimed_at: DateTime<Utc>,
        outcome: &KeyOutcome,
    ) -> Result<bool, BackendError>;

    /// Records [`KeyOutcome::Sent`] for the claim of `key` made at
    /// `claimed_at`, only while that claim is [`KeyOutcome::InProgress`]: a
    /// retry found every record of it, and its send has neither begun to
    /// refuse ([`KeyOutcome::Refusing`]) nor said anything else. Returns
    /// whether this call recorded it. Against `settle_key` of
    /// [`KeyOutcome::Refusing`] by the send itself, exactly one wins.
    async fn confirm_key(
        &self,
        key: &IdempotencyKey,
        claimed_at: DateTime<Utc>,
    ) -> Result<bool, BackendError>;

    /// Forgets the claim of `key` made at `claimed_at`, unless it has an
    /// answer: its send created nothing, so a retry may run it anew.
    async fn release_key(
        &self,
        key: &IdempotencyKey,
        claimed_at: DateTime<Utc>,
    ) -> Result<(), BackendError>;
}

/// Periodic runs enqueued once, whoever reaches them: the scheduler's claims.
#[async_trait]
pub trait RunClaims: Send + Sync + 'static {
    /// Claims the run of periodic task `task` scheduled at `scheduled_at`:
    /// records it only if no run at or after that time is recorded yet, so of
    /// several pollers that reach the same run, exactly one enqueues it. (sqsd
    /// elects the instance that enqueues periodic tasks through a DynamoDB
    /// table; this conditional write is the same election, per run.)
    /// Returns whether this call won.
    async fn claim_scheduled_run(
        &self,
        task: &str,
        scheduled_at: DateTime<Utc>,
    ) -> Result<bool, BackendError>;
}

/// What the sweeper finds stuck in `pending`, and claims to enqueue again.
#[async_trait]
pub trait SweeperQueries: Send + Sync + 'static {
    /// The oldest `pending` messages that match `query` (at most its
    /// `limit`, oldest first): what the sweeper examines.
    async fn stale_pending(&self, query: StaleQuery) -> Result<Vec<Message>, BackendError>;

    /// Claims a stuck `pending` message for the sweeper to enqueue again: sets
    /// `updated_at` to `at`, `error` to `note`, adds one to `requeues` and
    /// [`Event::Requeued`] to the timeline, only
    /// if `updated_at` still equals `seen` (so of two sweepers, one wins).
    /// Returns whether this call won.
    async fn claim_requeue(
        &self,
        id: MessageId,
        seen: DateTime<Utc>,
        at: DateTime<Utc>,
        note: &str,
    ) -> Result<bool, BackendError>;
}

/// An operator's actions on failed messages.
#[async_trait]
pub trait OperatorActions: Send + Sync + 'static {
    /// An operator's retry: moves a `fail` message back to `pending`, keeps
    /// its attempts, adds one to `retries`, clears its error, sets
    /// `updated_at` to `at` and adds [`Event::Retried`] to the timeline, only if it is still `fail` (so of two retries,
    /// one wins). Returns the message as written, or `None` when this call
    /// changed nothing (gone, or not `fail`).
    async fn retry(
        &self,
        id: MessageId,
        at: DateTime<Utc>,
    ) -> Result<Option<Message>, BackendError>;

    /// An operator's delete: removes a message's record, only if it is
    /// `fail`. Returns whether this call removed it.
    async fn delete_failed(&self, id: MessageId) -> Result<bool, BackendError>;
}

/// What the pages and the dashboard read: lists, counts, the newest and
/// the oldest waiting message.
#[async_trait]
pub trait DashboardReads: Send + Sync + 'static {
    /// Lists messages newest first, reading only about one page from the backend.
    async fn list(&self, query: ListQuery) -> Result<Page, BackendError>;

    /// Messages created after `after`, oldest first, at most `limit`: what a
    /// live page has not seen yet.
    async fn newer_than(&self, after: MessageId, limit: u32) -> Result<Vec<Message>, BackendError>;

    /// How many messages have `status`, exactly, at a cost that does not
    /// grow with the number of messages: counts that follow every change of
    /// status atomically (SQLite: in the same transaction; DynamoDB: folded
    /// from the table's stream, each batch of changes once), so duplicate and
    /// concurrent deliveries, and a crash between two writes, leave them exact.
    async fn count(&self, status: Status) -> Result<u64, BackendError>;

    /// The count of every status, in [`Status::ALL`]'s order, as
    /// [`Self::count`] gives each: a backend that keeps them together
    /// reads them once (a dashboard's snapshot asks for all three).
    async fn counts(&self) -> Result<Vec<(Status, u64)>, BackendError> {
        let mut counts = Vec::with_capacity(Status::ALL.len());
        for status in Status::ALL {
            counts.push((status, self.count(status).await?));
        }
        Ok(counts)
    }

    /// The oldest `pending` message's id, which holds when it was created
    /// ([`MessageId::time`]): how long the oldest unfinished message has
    /// waited, for the pipeline strip. Cheap at any backlog: the first key
    /// of the pending index (on DynamoDB, of each of its shards).
    async fn oldest_pending(&self) -> Result<Option<MessageId>, BackendError>;
}

/// Where messages and their states are kept: every role above, in one
/// value ([`crate::Backends`] holds one). A part of the app that needs one
/// role takes that trait (`Arc<dyn RunClaims>`, say), so what it may do to
/// the store is in its signature; `scripts/check-architecture` keeps each
/// role under ten methods.
pub trait StatusStore:
    MessageLifecycle + IdempotencyKeys + RunClaims + SweeperQueries + OperatorActions + DashboardReads
{
    /// A short description for logs and the start-up banner.
    fn describe(&self) -> String;

    /// The service behind it, as the pipeline strip names the stage:
    /// `Amazon DynamoDB`, or `SQLite` in a local run.
    fn service(&self) -> &'static str;
}
