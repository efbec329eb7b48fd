//! Clients that send during the chaos, each send under an `Idempotency-Key`,
//! retried with the same key until it gets an answer that settles it, as the
//! README tells a client to do. Every answer is kept for the checks.

use std::time::{Duration, Instant};

use messages::{JobKind, MessageId, Status};
use serde_json::Value;

/// One answer a client got.
#[derive(Debug, Clone)]
pub struct Seen {
    /// The HTTP status, or `None` when no answer came (connection refused or cut).
    pub status: Option<u16>,
    /// The error's sentence, or the body of a success.
    pub text: String,
}

/// A send, from its first try to the answer that settled it.
#[derive(Debug, Clone)]
pub struct Send {
    /// What the job does.
    pub simulate: JobKind,
    /// Every answer, in order.
    pub answers: Vec<Seen>,
    /// How it ended.
    pub ended: Ended,
}

/// How a send ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ended {
    /// `202`: this message, with the state the answer showed.
    Accepted(MessageId, Status),
    /// `503` saying it was recorded and marked `fail`: this message.
    MarkedFail(MessageId),
    /// An answer no client should get (a `4xx`, a `202` without an id).
    Wrong(String),
    /// Still unsettled when the client gave up.
    GaveUp,
}

/// The message ids written in `text`.
pub fn ids_in(text: &str) -> Vec<MessageId> {
    text.split(|c: char| !(c.is_ascii_hexdigit() || c == '-'))
        .filter_map(|word| MessageId::parse(word).ok())
        .collect()
}

/// A small, seeded random sequence (a 64-bit LCG): the run can be replayed
/// from its seed, and the suite needs nothing stronger.
#[derive(Debug, Clone)]
pub struct Dice(u64);

impl Dice {
    /// A sequence from `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// A number below `below` (at least 1).
    pub fn below(&mut self, below: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % below.max(1)
    }
}

/// Sends one message and retries it with the same key until it is settled,
/// for at most `patience`.
pub async fn send_once(
    client: &reqwest::Client,
    web: &str,
    key: &str,
    body: &str,
    simulate: JobKind,
    patience: Duration,
) -> Send {
    let mut answers = Vec::new();
    let deadline = Instant::now() + patience;
    while Instant::now() < deadline {
        let answer = client
            .post(format!("{web}/api/messages"))
            .header("Idempotency-Key", key)
            .timeout(Duration::from_secs(40))
            .json(&serde_json::json!({ "body": body, "simulate": simulate.as_str() }))
            .send()
            .await;
        let Ok(answer) = answer else {
            answers.push(Seen {
                status: None,
                text: "no answer".to_owned(),
            });
            tokio::time::sleep(Duration::from_millis(300)).await;
            continue;
        };
        let status = answer.status().as_u16();
        let body: Value = answer.json().await.unwrap_or(Value::Null);
        let text = body["error"]
            .as_str()
            .map_or_else(|| body.to_string(), str::to_owned);
        answers.push(Seen {
            status: Some(status),
            text: text.clone(),
        });
        let ended = match status {
            202 => {
                let id = body["id"].as_str().and_then(|id| MessageId::parse(id).ok());
                let shown = body["status"]
                    .as_str()
                    .and_then(|status| status.parse().ok());
                match (id, shown) {
                    (Some(id), Some(shown)) => Some(Ended::Accepted(id, shown)),
                    _ => Some(Ended::Wrong(format!(
                        "a 202 without an id and status: {body}"
                    ))),
                }
            }
            503 if text.contains("marked fail") && !text.contains("not known") => {
                match ids_in(&text).as_slice() {
                    [id] => Some(Ended::MarkedFail(*id)),
                    _ => Some(Ended::Wrong(format!("marked fail, but which? {text}"))),
                }
            }
            // Not sent, not known, in progress, shed: the same key again.
            503 | 409 => None,
            _ => Some(Ended::Wrong(format!("{status}: {text}"))),
        };
        if let Some(ended) = ended {
            return Send {
                simulate,
                answers,
                ended,
            };
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    Send {
        simulate,
        answers,
        ended: Ended::GaveUp,
    }
}
