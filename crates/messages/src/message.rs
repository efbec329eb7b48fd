//! The message record (what the table holds and the API shows) and the job
//! payload (what the queue carries from the web to the worker).

use chrono::{DateTime, SubsecRound, Utc};
use serde::{Deserialize, Serialize};

use crate::{Event, JobKind, MessageBody, MessageGroup, MessageId, Outgoing, Status};

/// The current time at the precision the product stores (milliseconds), so
/// that a record read back equals the record written.
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(3)
}

/// One message as recorded in the status store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// Also the key on the queue and in URLs.
    pub id: MessageId,
    /// The text that was sent.
    pub body: String,
    /// What the job does with it.
    pub simulate: JobKind,
    /// `pending` until the worker finishes it.
    pub status: Status,
    /// Deliveries the worker has seen so far (sqsd's receive count).
    pub attempts: u32,
    /// When the web accepted it.
    pub created_at: DateTime<Utc>,
    /// When the status or attempts last changed.
    pub updated_at: DateTime<Utc>,
    /// Why the last attempt failed, if it did.
    pub error: Option<String>,
    /// Times the sweeper enqueued its job again, having found it stuck.
    #[serde(default)]
    pub requeues: u32,
    /// Times an operator sent it back to `pending` after it failed.
    #[serde(default)]
    pub retries: u32,
    /// The group whose order it keeps on a FIFO queue, if one was given.
    #[serde(default)]
    pub group: Option<MessageGroup>,
    /// Its timeline, oldest first: the last [`crate::MAX_HISTORY`] events.
    #[serde(default)]
    pub history: Vec<Event>,
    /// The trace of the request that sent it, when traces are on: where an
    /// operator looks for a message that never reached the worker
    /// (ARCHITECTURE.md, "Traces").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<String>,
}

impl Message {
    /// A new `pending` message, not yet stored.
    pub fn new(body: MessageBody, simulate: JobKind) -> Self {
        Self::with_id(MessageId::new(), body, simulate)
    }

    /// A new `pending` message with an id chosen before (an idempotent send
    /// claims its ids before it creates the messages).
    pub fn with_id(id: MessageId, body: MessageBody, simulate: JobKind) -> Self {
        let at = now();
        Self {
            id,
            body: body.into(),
            simulate,
            status: Status::Pending,
            attempts: 0,
            created_at: at,
            updated_at: at,
            error: None,
            requeues: 0,
            retries: 0,
            group: None,
            history: Vec::new(),
            trace_id: None,
        }
    }

    /// The same message in `group`.
    pub fn in_group(self, group: Option<MessageGroup>) -> Self {
        Self { group, ..self }
    }

    /// The same message, sent in the trace `trace_id`.
    #[must_use]
    pub fn in_trace(self, trace_id: Option<String>) -> Self {
        Self { trace_id, ..self }
    }

    /// The job to put on the queue for this message.
    pub fn job(&self) -> JobPayload {
        JobPayload {
            id: self.id,
            body: self.body.clone(),
            simulate: self.simulate,
        }
    }

    /// The job as the web enqueues it: in the message's group, deduplicated
    /// by the message's id, so that on a FIFO queue a send repeated after a
    /// lost answer is enqueued once.
    pub fn outgoing(&self) -> Outgoing {
        Outgoing {
            body: self.job().to_json(),
            group: self.group.clone(),
            deduplication_id: Some(self.id.to_string()),
            ..Outgoing::default()
        }
    }

    /// The job as the sweeper enqueues it again, for the `requeue`-th time:
    /// under a deduplication id of its own, so that a FIFO queue does not
    /// drop it as a repeat of the first send.
    pub fn outgoing_requeued(&self, requeue: u32) -> Outgoing {
        Outgoing {
            deduplication_id: Some(format!("{}.requeue-{requeue}", self.id)),
            ..self.outgoing()
        }
    }

    /// The job as enqueued after an operator's `retry`-th retry: a new
    /// message to a FIFO queue, like the sweeper's.
    pub fn outgoing_retried(&self, retry: u32) -> Outgoing {
        Outgoing {
            deduplication_id: Some(format!("{}.retry-{retry}", self.id)),
            ..self.outgoing()
        }
    }
}

/// What travels on the queue, and what a job is given to run.
///
/// The wire form is JSON, `{"id": "...", "body": "...", "simulate": "ok"}`,
/// and is what sqsd POSTs to the worker's `/process`. The worker takes only
/// the `id` from it ([`JobPayload::id_from_json`]) and runs the kind and body
/// of the stored record: anyone who reaches `/process` can write a body, so
/// a delivery names a message but cannot choose what runs or what is
/// recorded (ARCHITECTURE.md, "The worker trusts the store"). The body and
/// kind travel so that a look at the dead-letter queue can say what each
/// job was without the store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobPayload {
    /// The message this job is for.
    pub id: MessageId,
    /// The text that was sent.
    pub body: String,
    /// What the job does.
    #[serde(default)]
    pub simulate: JobKind,
}

impl JobPayload {
    /// The JSON put on the queue.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self)
            .expect("a struct of strings and enums with derived Serialize always serialises")
    }

    /// Reads a job from a queue body, with an error that says what is wrong.
    pub fn from_json(bytes: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(bytes)
    }

    /// The message a queue body names: all the worker believes of a
    /// delivery. The body must still be a job (`{"id"}` alone, or with a
    /// `body` and a known `simulate`, as every web has enqueued), so that a
    /// malformed one is refused with a sentence; their values are not read.
    pub fn id_from_json(bytes: &[u8]) -> Result<MessageId, serde_json::Error> {
        /// A job's fields; only the id is kept.
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Named {
            id: MessageId,
            #[serde(default, rename = "body")]
            _body: Option<String>,
            #[serde(default, rename = "simulate")]
            _simulate: Option<JobKind>,
        }
        serde_json::from_slice::<Named>(bytes).map(|named| named.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message() -> Message {
        Message::new(MessageBody::parse("hello").expect("valid"), JobKind::Flaky)
    }

    #[test]
    fn a_new_message_is_pending_with_no_attempts() {
        let message = message();
        assert_eq!(message.status, Status::Pending);
        assert_eq!(message.attempts, 0);
        assert_eq!(message.error, None);
    }

    #[test]
    fn a_job_is_enqueued_in_its_group_deduplicated_by_its_id_and_a_requeue_is_not_a_repeat() {
        let group = MessageGroup::parse("orders").ok();
        let message = message().in_group(group.clone());
        let first = message.outgoing();
        assert_eq!(first.group, group);
        assert_eq!(first.deduplication_id, Some(message.id.to_string()));
        assert_eq!(
            JobPayload::from_json(first.body.as_bytes()).ok(),
            Some(message.job())
        );
        // The same send again (a retry) is the same message to a FIFO queue;
        // each of the sweeper's re-enqueues is a new one, in the same group.
        assert_eq!(message.outgoing(), first);
        let again = [message.outgoing_requeued(1), message.outgoing_requeued(2)];
        assert_ne!(again[0].deduplication_id, first.deduplication_id);
        assert_ne!(again[0].deduplication_id, again[1].deduplication_id);
        assert!(
            again
                .iter()
                .all(|outgoing| outgoing.group == group && outgoing.body == first.body)
        );
    }

    #[test]
    fn a_job_survives_a_round_trip_through_json() {
        let job = message().job();
        assert_eq!(
            JobPayload::from_json(job.to_json().as_bytes()).ok(),
            Some(job)
        );
    }

    #[test]
    fn a_job_without_simulate_means_ok() {
        let id = MessageId::new();
        let json = format!(r#"{{"id":"{id}","body":"x"}}"#);
        let job = JobPayload::from_json(json.as_bytes()).expect("valid");
        assert_eq!(job.simulate, JobKind::Succeed);
    }

    #[test]
    fn a_delivery_is_read_for_its_id_alone() {
        let id = MessageId::new();
        for body in [
            format!(r#"{{"id":"{id}"}}"#),
            format!(r#"{{"id":"{id}","body":"forged","simulate":"fail"}}"#),
        ] {
            assert_eq!(
                JobPayload::id_from_json(body.as_bytes()).ok(),
                Some(id),
                "{body}"
            );
        }
        for bad in [
            r#"{"body":"x"}"#.to_owned(),
            r#"{"id":"not an id"}"#.to_owned(),
            format!(r#"{{"id":"{id}","simulate":"explode"}}"#),
            format!(r#"{{"id":"{id}","extra":1}}"#),
        ] {
            assert!(JobPayload::id_from_json(bad.as_bytes()).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_job_with_an_unknown_field_is_refused() {
        let id = MessageId::new();
        let json = format!(r#"{{"id":"{id}","body":"x","extra":1}}"#);
        assert!(JobPayload::from_json(json.as_bytes()).is_err());
    }

    #[test]
    fn the_record_serialises_with_the_contract_field_names() {
        let value = serde_json::to_value(message()).expect("serialises");
        for field in [
            "id",
            "body",
            "status",
            "attempts",
            "created_at",
            "updated_at",
            "error",
        ] {
            assert!(value.get(field).is_some(), "missing {field}");
        }
        assert_eq!(value["status"], "pending");
    }
}
