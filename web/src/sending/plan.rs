//! What a client asked to send, planned once at the edge: the messages, each
//! with its id, and (under an `Idempotency-Key`) the request's fingerprint,
//! which a retry with the same key must match. A body its job cannot take
//! (`jobs::Input`) is refused here, before anything is recorded or charged.
//! The send path takes the plan as it is and clones nothing of it.

use jobs::BadInput;
use messages::{IdempotencyKey, JobKind, Message, MessageBody, MessageGroup};
use sha2::{Digest, Sha256};

/// A send, planned: what `idempotent::send_once` carries out.
#[derive(Debug)]
pub struct SendPlan {
    /// The messages, in the order they are enqueued; never empty.
    pub(super) messages: Vec<Message>,
    /// The key it is sent under, with the fingerprint of the request.
    pub(super) key: Option<Keyed>,
}

/// A key, and what a retry under it must ask again.
#[derive(Debug)]
pub(super) struct Keyed {
    pub(super) key: IdempotencyKey,
    pub(super) fingerprint: String,
}

/// Why a request cannot be planned as a send.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// No message in it.
    #[error("there is nothing to send: give a body")]
    NothingToSend,
    /// A body that is not what its job takes.
    #[error(transparent)]
    BadInput(#[from] BadInput),
}

impl SendPlan {
    /// `bodies` as messages of `simulate`, in `group`, sent under `key` if
    /// there is one.
    pub fn new(
        bodies: Vec<MessageBody>,
        simulate: JobKind,
        group: Option<MessageGroup>,
        key: Option<IdempotencyKey>,
    ) -> Result<Self, PlanError> {
        if bodies.is_empty() {
            return Err(PlanError::NothingToSend);
        }
        for body in &bodies {
            simulate.check(body.as_str())?;
        }
        let key = key.map(|key| Keyed {
            fingerprint: fingerprint(&bodies, simulate, group.as_ref()),
            key,
        });
        let trace_id = service::traces::current_trace_id();
        let messages = bodies
            .into_iter()
            .map(|body| {
                Message::new(body, simulate)
                    .in_group(group.clone())
                    .in_trace(trace_id.clone())
            })
            .collect();
        Ok(Self { messages, key })
    }

    /// `messages` as they are (of several groups, say), under no key.
    pub fn of(messages: Vec<Message>) -> Result<Self, PlanError> {
        if messages.is_empty() {
            return Err(PlanError::NothingToSend);
        }
        for message in &messages {
            message.simulate.check(&message.body)?;
        }
        let trace_id = service::traces::current_trace_id();
        Ok(Self {
            messages: messages
                .into_iter()
                .map(|message| message.in_trace(trace_id.clone()))
                .collect(),
            key: None,
        })
    }
}

/// What a retry must ask again, as a digest: the bodies, the job kind and
/// the group.
fn fingerprint(bodies: &[MessageBody], simulate: JobKind, group: Option<&MessageGroup>) -> String {
    let mut digest = Sha256::new();
    digest.update(simulate.as_str());
    // A group's absence and each group read apart: `|` is no job kind's.
    if let Some(group) = group {
        digest.update("|group:");
        digest.update(group.as_str());
        digest.update("|");
    }
    for body in bodies {
        let body = body.as_str();
        // Each body's length first, so no two lists of bodies read alike.
        digest.update(body.len().to_be_bytes());
        digest.update(body);
    }
    digest
        .finalize()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}
