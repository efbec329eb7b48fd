//! The `X-Aws-Sqsd-*` headers as typed values. What sqsd sends is written
//! from AWS's documentation of worker environments; ARCHITECTURE.md,
//! "Elastic Beanstalk fidelity", lists where each behaviour is tested.
//!
//! sqsd sends, with every message: `X-Aws-Sqsd-Msgid`, `X-Aws-Sqsd-Receive-Count`,
//! `X-Aws-Sqsd-Queue`, `X-Aws-Sqsd-First-Received-At`, `X-Aws-Sqsd-Sent-At`,
//! `X-Aws-Sqsd-Sender-Id`, and `X-Aws-Sqsd-Attr-<name>` per message attribute.
//! Periodic tasks add `X-Aws-Sqsd-Taskname`, `X-Aws-Sqsd-Scheduled-At` and
//! `X-Aws-Sqsd-Path`.

use std::collections::BTreeMap;

use axum::http::{HeaderMap, HeaderName, HeaderValue};

/// `X-Aws-Sqsd-Msgid`: the SQS message id.
pub const MSGID: &str = "x-aws-sqsd-msgid";
/// `X-Aws-Sqsd-Receive-Count`: deliveries so far, this one included.
pub const RECEIVE_COUNT: &str = "x-aws-sqsd-receive-count";
/// `X-Aws-Sqsd-Queue`: the queue's name.
pub const QUEUE: &str = "x-aws-sqsd-queue";
/// `X-Aws-Sqsd-First-Received-At`: when the message was first received.
pub const FIRST_RECEIVED_AT: &str = "x-aws-sqsd-first-received-at";
/// `X-Aws-Sqsd-Sent-At`: when the message was sent.
pub const SENT_AT: &str = "x-aws-sqsd-sent-at";
/// `X-Aws-Sqsd-Sender-Id`: who sent it.
pub const SENDER_ID: &str = "x-aws-sqsd-sender-id";
/// `X-Aws-Sqsd-Attr-<name>`: one message attribute.
pub const ATTR_PREFIX: &str = "x-aws-sqsd-attr-";
/// `X-Aws-Sqsd-Taskname`: the `cron.yaml` task's name.
pub const TASKNAME: &str = "x-aws-sqsd-taskname";
/// `X-Aws-Sqsd-Scheduled-At`: when the task was scheduled.
pub const SCHEDULED_AT: &str = "x-aws-sqsd-scheduled-at";
/// `X-Aws-Sqsd-Path`: the task's URL path.
pub const PATH: &str = "x-aws-sqsd-path";

/// One delivery of a queue message.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Delivery {
    /// The SQS message id (not our message id, which is in the body).
    pub message_id: String,
    /// 1 on the first delivery; sqsd gives up after its `MaxRetries`.
    pub receive_count: u32,
    /// The queue's name.
    pub queue: Option<String>,
    /// As sqsd writes it (ISO 8601, UTC).
    pub first_received_at: Option<String>,
    /// As sqsd writes it (ISO 8601, UTC).
    pub sent_at: Option<String>,
    /// The sender's AWS id.
    pub sender_id: Option<String>,
    /// Message attributes; names are lower case, as HTTP headers are.
    pub attributes: BTreeMap<String, String>,
}

/// One run of a periodic task from `cron.yaml`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeriodicTask {
    /// The task's `name` in `cron.yaml`.
    pub name: String,
    /// When sqsd scheduled this run.
    pub scheduled_at: Option<String>,
    /// The task's `url`.
    pub path: Option<String>,
}

/// What sqsd is asking for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SqsdRequest {
    /// Process a queue message.
    Message(Delivery),
    /// Run a periodic task.
    Task(PeriodicTask),
}

/// Headers that are missing or malformed; the text says which and how.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum HeaderError {
    /// A required header is absent.
    #[error(
        "the {0} header is missing: this endpoint is called by the Elastic Beanstalk SQS daemon (sqsd), which always sends it"
    )]
    Missing(&'static str),
    /// A header's value cannot be read.
    #[error("the {name} header is {value:?}, but {expected}")]
    Invalid {
        /// The header.
        name: &'static str,
        /// Its value (cut short).
        value: String,
        /// What it should be.
        expected: &'static str,
    },
}

fn text(headers: &HeaderMap, name: &'static str) -> Result<Option<String>, HeaderError> {
    match headers.get(name) {
        None => Ok(None),
        Some(value) => match value.to_str() {
            Ok(text) => Ok(Some(text.trim().to_owned()).filter(|text| !text.is_empty())),
            Err(_) => Err(HeaderError::Invalid {
                name,
                value: String::from_utf8_lossy(value.as_bytes())
                    .chars()
                    .take(64)
                    .collect(),
                expected: "it must be visible ASCII text",
            }),
        },
    }
}

fn required(headers: &HeaderMap, name: &'static str) -> Result<String, HeaderError> {
    text(headers, name)?.ok_or(HeaderError::Missing(name))
}

impl SqsdRequest {
    /// Reads sqsd's headers from a request.
    pub fn parse(headers: &HeaderMap) -> Result<Self, HeaderError> {
        if let Some(name) = text(headers, TASKNAME)? {
            return Ok(Self::Task(PeriodicTask {
                name,
                scheduled_at: text(headers, SCHEDULED_AT)?,
                path: text(headers, PATH)?,
            }));
        }
        Delivery::parse(headers).map(Self::Message)
    }
}

impl Delivery {
    /// Reads the headers of a message delivery.
    pub fn parse(headers: &HeaderMap) -> Result<Self, HeaderError> {
        let message_id = required(headers, MSGID)?;
        let count = required(headers, RECEIVE_COUNT)?;
        let receive_count = count
            .parse::<u32>()
            .ok()
            .filter(|count| *count >= 1)
            .ok_or_else(|| HeaderError::Invalid {
                name: RECEIVE_COUNT,
                value: count.chars().take(64).collect(),
                expected: "it must be a whole number of at least 1",
            })?;
        let mut attributes = BTreeMap::new();
        for (name, value) in headers {
            if let (Some(attribute), Ok(value)) =
                (name.as_str().strip_prefix(ATTR_PREFIX), value.to_str())
            {
                attributes.insert(attribute.to_owned(), value.to_owned());
            }
        }
        Ok(Self {
            message_id,
            receive_count,
            queue: text(headers, QUEUE)?,
            first_received_at: text(headers, FIRST_RECEIVED_AT)?,
            sent_at: text(headers, SENT_AT)?,
            sender_id: text(headers, SENDER_ID)?,
            attributes,
        })
    }

    /// The delivery sqsd would make of a message received from `queue`.
    pub fn from_received(message: &messages::Received, queue: &str) -> Self {
        let iso = |millis: Option<i64>| {
            millis
                .and_then(chrono::DateTime::from_timestamp_millis)
                .map(|at| at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        };
        Self {
            message_id: message.message_id.clone(),
            receive_count: message.receive_count,
            queue: Some(queue.to_owned()),
            first_received_at: iso(message.first_received_at_ms),
            sent_at: iso(message.sent_at_ms),
            sender_id: message.sender_id.clone(),
            attributes: message.attributes.clone(),
        }
    }

    /// The headers sqsd would send for this delivery. Values that HTTP cannot
    /// carry (control characters) are left out rather than failing the delivery.
    pub fn to_headers(&self) -> HeaderMap {
        let mut headers = HeaderMap::new();
        let mut put = |name: &str, value: &str| put(&mut headers, name, value);
        put(MSGID, &self.message_id);
        put(RECEIVE_COUNT, &self.receive_count.to_string());
        let optional = [
            (QUEUE, &self.queue),
            (FIRST_RECEIVED_AT, &self.first_received_at),
            (SENT_AT, &self.sent_at),
            (SENDER_ID, &self.sender_id),
        ];
        for (name, value) in optional {
            if let Some(value) = value {
                put(name, value);
            }
        }
        for (name, value) in &self.attributes {
            put(
                &format!("{ATTR_PREFIX}{}", name.to_ascii_lowercase()),
                value,
            );
        }
        headers
    }
}

impl PeriodicTask {
    /// Adds the headers sqsd sends with a run of this task to `headers`.
    pub fn add_headers(&self, headers: &mut HeaderMap) {
        put(headers, TASKNAME, &self.name);
        for (name, value) in [(SCHEDULED_AT, &self.scheduled_at), (PATH, &self.path)] {
            if let Some(value) = value {
                put(headers, name, value);
            }
        }
    }
}

/// Sets one header, leaving out a name or value that HTTP cannot carry
/// (control characters) rather than failing the delivery.
fn put(headers: &mut HeaderMap, name: &str, value: &str) {
    if let (Ok(name), Ok(value)) = (HeaderName::try_from(name), HeaderValue::try_from(value)) {
        headers.insert(name, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delivery() -> Delivery {
        Delivery {
            message_id: "6d1b4c5e-0000-4000-8000-000000000001".to_owned(),
            receive_count: 2,
            queue: Some("messages".to_owned()),
            first_received_at: Some("2026-11-23T12:00:00Z".to_owned()),
            sent_at: Some("2026-11-23T11:59:59Z".to_owned()),
            sender_id: Some("AIDAEXAMPLE".to_owned()),
            attributes: BTreeMap::from([("origin".to_owned(), "web".to_owned())]),
        }
    }

    #[test]
    fn a_delivery_survives_a_round_trip_through_headers() {
        let delivery = delivery();
        assert_eq!(
            SqsdRequest::parse(&delivery.to_headers()),
            Ok(SqsdRequest::Message(delivery))
        );
    }

    #[test]
    fn a_missing_message_id_names_the_header() {
        let mut headers = delivery().to_headers();
        headers.remove(MSGID);
        assert_eq!(Delivery::parse(&headers), Err(HeaderError::Missing(MSGID)));
    }

    #[test]
    fn a_missing_receive_count_is_refused() {
        let mut headers = delivery().to_headers();
        headers.remove(RECEIVE_COUNT);
        assert_eq!(
            Delivery::parse(&headers),
            Err(HeaderError::Missing(RECEIVE_COUNT))
        );
    }

    #[test]
    fn a_receive_count_that_is_not_a_number_is_refused_with_what_to_send() {
        for bad in ["two", "0", "-1", "1.5", "99999999999"] {
            let mut headers = delivery().to_headers();
            headers.insert(RECEIVE_COUNT, HeaderValue::from_static("x"));
            headers.insert(RECEIVE_COUNT, HeaderValue::try_from(bad).expect("ascii"));
            let error = Delivery::parse(&headers).expect_err(bad);
            assert!(error.to_string().contains("at least 1"), "{bad}: {error}");
        }
    }

    #[test]
    fn a_header_that_is_not_text_is_refused() {
        let mut headers = delivery().to_headers();
        headers.insert(
            MSGID,
            HeaderValue::from_bytes(&[0xff, 0xfe]).expect("opaque bytes"),
        );
        assert!(matches!(
            Delivery::parse(&headers),
            Err(HeaderError::Invalid { name: MSGID, .. })
        ));
    }

    #[test]
    fn a_task_name_makes_it_a_periodic_task() {
        let mut headers = HeaderMap::new();
        headers.insert(TASKNAME, HeaderValue::from_static("sweep"));
        headers.insert(
            SCHEDULED_AT,
            HeaderValue::from_static("2026-11-23T12:00:00Z"),
        );
        headers.insert(PATH, HeaderValue::from_static("/tasks/sweep"));
        assert_eq!(
            SqsdRequest::parse(&headers),
            Ok(SqsdRequest::Task(PeriodicTask {
                name: "sweep".to_owned(),
                scheduled_at: Some("2026-11-23T12:00:00Z".to_owned()),
                path: Some("/tasks/sweep".to_owned()),
            }))
        );
    }

    #[test]
    fn a_task_survives_a_round_trip_through_headers() {
        let task = PeriodicTask {
            name: "sweep-pending".to_owned(),
            scheduled_at: Some("2026-12-01T08:05:00Z".to_owned()),
            path: Some("/tasks/sweep".to_owned()),
        };
        let mut headers = delivery().to_headers();
        task.add_headers(&mut headers);
        assert_eq!(SqsdRequest::parse(&headers), Ok(SqsdRequest::Task(task)));
    }

    #[test]
    fn attribute_headers_become_attributes() {
        let mut headers = delivery().to_headers();
        headers.insert("x-aws-sqsd-attr-trace", HeaderValue::from_static("abc"));
        let parsed = Delivery::parse(&headers).expect("valid");
        assert_eq!(
            parsed.attributes.get("trace").map(String::as_str),
            Some("abc")
        );
    }

    /// Bytes HTTP allows in a header value: visible ASCII, space, tab and
    /// the bytes above 127 (what a client can really send).
    fn header_bytes() -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
        proptest::collection::vec(
            proptest::prop_oneof![
                0x20_u8..=0x7e,
                0x80_u8..=0xff,
                proptest::strategy::Just(b'\t')
            ],
            0..80,
        )
    }

    proptest::proptest! {
        /// Whatever sqsd's headers hold, reading them is a request or an
        /// error that names a header, never a panic.
        #[test]
        fn any_header_values_are_a_request_or_an_error_naming_the_header(
            msgid in header_bytes(),
            count in header_bytes(),
            task in proptest::option::of(header_bytes()),
            attribute in header_bytes(),
        ) {
            let mut headers = HeaderMap::new();
            for (name, value) in [(MSGID, &msgid), (RECEIVE_COUNT, &count), ("x-aws-sqsd-attr-any", &attribute)] {
                headers.insert(name, HeaderValue::from_bytes(value).expect("allowed bytes"));
            }
            if let Some(task) = &task {
                headers.insert(TASKNAME, HeaderValue::from_bytes(task).expect("allowed bytes"));
            }
            if let Err(error) = SqsdRequest::parse(&headers) {
                proptest::prop_assert!(error.to_string().contains("x-aws-sqsd-"), "{}", error);
            }
        }

        /// Any delivery whose values HTTP can carry survives the trip
        /// through headers that the local poller makes and `/process` reads.
        #[test]
        fn any_delivery_round_trips_through_headers(
            message_id in "[!-~]{1,64}",
            receive_count in 1_u32..10_000,
            queue in proptest::option::of("[!-~]{1,80}"),
            attribute in "[a-z][a-z0-9._-]{0,20}",
            value in "[!-~]{1,40}",
        ) {
            let delivery = Delivery {
                message_id,
                receive_count,
                queue,
                attributes: BTreeMap::from([(attribute, value)]),
                ..Delivery::default()
            };
            proptest::prop_assert_eq!(
                SqsdRequest::parse(&delivery.to_headers()),
                Ok(SqsdRequest::Message(delivery))
            );
        }
    }
}
