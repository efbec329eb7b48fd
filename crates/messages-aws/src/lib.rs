//! The AWS backend of the message ports: SQS for the queue, DynamoDB for the
//! status store and the operator's sessions, and the provisioning of both.
//!
//! Clients are built once from `aws_config::defaults` and cloned (they share a
//! connection pool), so the standard chain applies: `AWS_REGION`,
//! `AWS_ENDPOINT_URL` for an emulator, environment credentials, profiles and,
//! on Elastic Beanstalk, the instance role.
//!
//! Every SDK error is turned into a [`BackendError`] here: no AWS type leaves
//! this crate (ARCHITECTURE.md, "Invariants").
//!
//! # Layout
//! - [`SqsQueue`]: the [`messages::Queue`] port on SQS, and
//!   [`SqsDeadLetters`], its dead-letter queue.
//! - [`DynamoStore`]: the [`messages::StatusStore`] port on DynamoDB; the
//!   table design is documented there. [`DynamoSessions`]: the
//!   [`messages::SessionStore`] port, in the same table.
//! - [`provision`]: creates or finds the queue, its dead-letter queue and the table.

mod dead_letters;
mod dynamodb;
mod provision;
mod sqs;

use std::sync::Arc;
use std::time::Duration;

use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};

pub use dead_letters::SqsDeadLetters;
pub use dynamodb::{
    Copied, DynamoSessions, DynamoStore, INDEX_BY_GROUP, INDEX_BY_STATUS, fold_in_background,
};
pub use provision::provision;
pub use sqs::SqsQueue;

use messages::{BackendError, Backends};

/// SQS and DynamoDB through one shared AWS configuration. Called within a
/// Tokio runtime, it also folds the status counts from the table's stream
/// every few seconds while the store is in use (`fold_in_background`).
pub fn backends(sdk: &SdkConfig, queue_url: &str, table_name: &str) -> Backends {
    let dynamodb = aws_sdk_dynamodb::Client::new(sdk);
    let store = DynamoStore::new(sdk, table_name);
    fold_in_background(&store);
    Backends {
        queue: Arc::new(SqsQueue::new(aws_sdk_sqs::Client::new(sdk), queue_url)),
        store: Arc::new(store),
        sessions: Arc::new(DynamoSessions::new(dynamodb, table_name)),
    }
}

/// Loads the shared AWS configuration, with timeouts that fit our calls.
///
/// Why these timeouts: a dead endpoint must fail a request in seconds (the web
/// answers the browser, sqsd waits on the worker), while one attempt must still
/// outlast the longest long poll SQS allows (20 s).
pub async fn load_config() -> Result<SdkConfig, BackendError> {
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(3))
        .read_timeout(Duration::from_secs(25))
        .operation_attempt_timeout(Duration::from_secs(25))
        .operation_timeout(Duration::from_secs(60))
        .build();
    let config = aws_config::defaults(BehaviorVersion::latest())
        .timeout_config(timeouts)
        .load()
        .await;
    if config.region().is_none() {
        return Err(BackendError::new(
            "AWS configuration",
            "no AWS region is configured: set AWS_REGION (for example us-east-1) or a region in your AWS profile",
        ));
    }
    Ok(config)
}

/// The resource name in a queue URL: its last path segment.
pub fn queue_name_from_url(queue_url: &str) -> Option<&str> {
    let without_query = queue_url
        .split(['?', '#'])
        .next()
        .expect("split always yields a first part");
    let after_scheme = without_query
        .split_once("://")
        .map_or(without_query, |(_, rest)| rest);
    // The path starts after the host; a URL without one names no queue.
    let (_host, path) = after_scheme.split_once('/')?;
    path.trim_end_matches('/')
        .rsplit('/')
        .next()
        .filter(|name| !name.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_queue_name_is_the_last_path_segment() {
        let url = "https://sqs.eu-west-1.amazonaws.com/123456789012/messages";
        assert_eq!(queue_name_from_url(url), Some("messages"));
        assert_eq!(
            queue_name_from_url("http://127.0.0.1:5000/123456789012/q/"),
            Some("q")
        );
    }

    #[test]
    fn a_url_without_a_path_has_no_queue_name() {
        assert_eq!(
            queue_name_from_url("https://sqs.eu-west-1.amazonaws.com"),
            None
        );
    }
}
