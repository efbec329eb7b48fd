//! The capacity model on the proxies' path: an [`Observer`] that forwards
//! each request of the web and the worker to moto and feeds the model the
//! DynamoDB requests with their answers, and SQS's payload sizes.

use std::sync::{Mutex, MutexGuard, PoisonError};

use axum::body::Bytes;
use axum::http::HeaderValue;
use serde_json::{Value, json};

use super::model::Model;
use super::schema::Layout;
use super::size::Item;
use super::usage::Usage;
use super::wire::{self, Answered, Kind};
use crate::proxy::{Answer, Call, Forwarding, Link, Observer};

/// DynamoDB's operations, in `X-Amz-Target`, start with this.
const DYNAMODB: &str = "DynamoDB_20120810.";
/// SQS's, with its JSON protocol, with this.
const SQS: &str = "AmazonSQS.";
/// The `X-Amz-Target` prefix of DynamoDB Streams' operations.
const STREAMS: &str = "DynamoDBStreams_20120810.";

/// One model shared by the proxies of the web and the worker.
#[derive(Debug)]
pub struct CapacityObserver {
    model: Mutex<Model>,
    /// Held through each DynamoDB write, its answer and the read after it.
    writes: tokio::sync::Mutex<()>,
}

impl CapacityObserver {
    /// An observer of a table laid out as `layout`, empty so far.
    pub fn new(layout: Layout) -> Self {
        Self {
            model: Mutex::new(Model::new(layout)),
            writes: tokio::sync::Mutex::new(()),
        }
    }

    fn model(&self) -> MutexGuard<'_, Model> {
        // A panic in the model leaves counts that are whole per request: keep them.
        self.model.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// What was counted since the last call; counting starts again.
    pub fn take_usage(&self) -> Usage {
        self.model().take_usage()
    }

    async fn observe(&self, call: Call, link: &Link) -> anyhow::Result<Answer> {
        let target = call.target().unwrap_or_default().to_owned();
        let Some(operation) = target.strip_prefix(DYNAMODB) else {
            let answer = link.send(&call).await?;
            if target.starts_with(SQS) {
                self.model().sqs_request(call.body.len(), answer.body.len());
            } else if let Some(operation) = target.strip_prefix(STREAMS) {
                self.model().stream_request(operation);
            }
            return Ok(answer);
        };
        match wire::kind(operation) {
            Kind::Write => {
                // Every DynamoDB write of the scenario, the web's and the
                // worker's alike, runs alone, from its request to the model's
                // read of the item after it: no other write can come between
                // and make the shadow copy wrong. It also makes moto's
                // conditional updates atomic, which moto does not promise on
                // its own. It slows the writes down, which this scenario does
                // not measure; the pipeline scenario's proxies have no observer.
                let _alone = self.writes.lock().await;
                let answer = link.send(&call).await?;
                let request = parse(&call.body);
                let body = parse(&answer.body);
                let answered = Answered {
                    success: answer.status.is_success(),
                    body: &body,
                };
                let read_after = match wire::item_to_read_after(operation, &request, answered) {
                    Some(key) => self.read_item(&call, link, &request, key).await,
                    None => None,
                };
                wire::write(&mut self.model(), operation, &request, answered, read_after);
                Ok(answer)
            }
            Kind::Read => {
                let answer = link.send(&call).await?;
                let body = parse(&answer.body);
                let answered = Answered {
                    success: answer.status.is_success(),
                    body: &body,
                };
                wire::read(&mut self.model(), operation, &parse(&call.body), answered);
                Ok(answer)
            }
            Kind::Other => link.send(&call).await,
        }
    }

    /// The item keyed by `key` as a consistent `GetItem` finds it, asked of
    /// moto with the original request's headers (moto reads the region and
    /// service from its `Authorization`, and checks no signature). This read
    /// is the model's, so it is neither counted nor charged.
    async fn read_item(
        &self,
        call: &Call,
        link: &Link,
        request: &Value,
        key: Item,
    ) -> Option<Item> {
        let mut get = call.clone();
        get.headers.insert(
            "x-amz-target",
            HeaderValue::from_static("DynamoDB_20120810.GetItem"),
        );
        get.body = Bytes::from(
            json!({"TableName": request["TableName"], "Key": key, "ConsistentRead": true})
                .to_string(),
        );
        match link.send(&get).await {
            Ok(answer) if answer.status.is_success() => {
                parse(&answer.body)["Item"].as_object().cloned()
            }
            Ok(answer) => {
                self.model().problem(format!(
                    "the model's GetItem after an UpdateItem was answered {}: {}",
                    answer.status,
                    String::from_utf8_lossy(&answer.body)
                ));
                None
            }
            Err(error) => {
                self.model().problem(format!(
                    "the model's GetItem after an UpdateItem failed: {error:#}"
                ));
                None
            }
        }
    }
}

/// A JSON body, or `Null` if it is not JSON (the model then reports what it
/// cannot find in it).
fn parse(body: &Bytes) -> Value {
    serde_json::from_slice(body).unwrap_or(Value::Null)
}

impl Observer for CapacityObserver {
    fn forward<'a>(&'a self, call: Call, link: &'a Link) -> Forwarding<'a> {
        Box::pin(self.observe(call, link))
    }
}
