//! The contract of the `Queue`, `StatusStore` and `SessionStore` ports, run on both backends,
//! one file per port or role (`StatusStore`'s roles: `lifecycle`, `idempotency`,
//! `run_claims`, `sweeping`, `operator_actions`, `reads`):
//! the embedded one and SQS + DynamoDB on moto. The worker relies on every
//! behaviour here; a difference between the two is a bug in the embedded one.
//! Every queue test runs on a standard and on a FIFO queue of each backend;
//! the FIFO queue's own rules have tests of their own, on both backends.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use messages::{
    Claimed, FinalStatus, IdempotencyKey, JobKind, KeyClaim, KeyOutcome, ListQuery, Message,
    MessageBody, MessageGroup, MessageId, NewSession, Outcome, Outgoing, Queue, QueueDepth,
    Requeues, SessionKey, StaleQuery, Status, Transition,
};

use testkit::backends::Kind;
use testkit::on_both_backends;

const HIDE: Duration = Duration::from_secs(30);
const BRIEF: Duration = Duration::from_millis(500);

fn message(text: &str) -> Message {
    Message::new(MessageBody::parse(text).expect("valid"), JobKind::Succeed)
}

fn outcome(status: FinalStatus, attempts: u32, error: Option<&str>) -> Outcome {
    Outcome {
        status,
        attempts,
        error: error.map(str::to_owned),
        at: messages::now(),
        event: None,
    }
}

/// The record of `id`, which must be there.
async fn stored(store: &Arc<dyn messages::StatusStore>, id: messages::MessageId) -> Message {
    store.get(id).await.expect("get").expect("kept")
}

const CREDENTIAL: &str = "fingerprint-of-the-operator-token";

/// A delivery that failed and will be retried, for the timeline.
fn retried_delivery() -> messages::Event {
    messages::Event::delivered(1, messages::now(), 500, Some("failed"))
}

async fn bodies_of(queue: &Arc<dyn Queue>, max: u32, wait: Duration) -> Vec<String> {
    queue
        .receive(max, wait, HIDE)
        .await
        .expect("receive")
        .into_iter()
        .map(|message| message.body)
        .collect()
}

mod fifo;
mod idempotency;
mod lifecycle;
mod operator_actions;
mod queue;
mod reads;
mod run_claims;
mod sessions;
mod sweeping;
