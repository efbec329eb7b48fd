//! The operator's sessions in the messages table: one item per session,
//! keyed `operator-session#<key>` (no message id can equal it: ids are
//! UUIDs), with no index key, so no list, count or sweep sees it
//! (`layout.rs`). Every web instance reads the same items, so a sign-in on
//! one and a sign-out on another agree.
//!
//! A use is one conditional `UpdateItem` that checks the credential and both
//! expiries and moves the idle expiry, so two instances using one session at
//! once cannot revive an expired one. [`EXPIRES_AT`] (epoch seconds) follows
//! the idle expiry, so DynamoDB's time to live deletes a session nobody uses;
//! until it does, the conditions alone decide, so the answer never depends
//! on when DynamoDB gets round to deleting.

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};

use super::item::s;
use super::keys::EXPIRES_AT;
use super::layout::named_key;
use messages::{BackendError, NewSession, SessionKey, SessionStore};

/// The key prefix of the items that record sessions.
const KEY_PREFIX: &str = "operator-session#";

fn item_id(key: &SessionKey) -> String {
    format!("{KEY_PREFIX}{}", key.as_str())
}

fn n(number: impl ToString) -> AttributeValue {
    AttributeValue::N(number.to_string())
}

/// The time to live of a session idle until `at`: the second after it, so
/// DynamoDB never deletes a session that is still live.
fn expiry(at: DateTime<Utc>) -> AttributeValue {
    n(at.timestamp() + 1)
}

/// The operator's sessions in a DynamoDB table of messages.
#[derive(Debug, Clone)]
pub struct DynamoSessions {
    client: Client,
    table: String,
}

impl DynamoSessions {
    /// Uses `client` for the table named `table`.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }
}

#[async_trait]
impl SessionStore for DynamoSessions {
    async fn start(&self, session: &NewSession) -> Result<(), BackendError> {
        let mut item = named_key(item_id(&session.key));
        item.extend([
            ("credential".to_owned(), s(&session.credential)),
            (
                "started_ms".to_owned(),
                n(session.started_at.timestamp_millis()),
            ),
            ("ends_ms".to_owned(), n(session.ends_at.timestamp_millis())),
            (
                "idle_ms".to_owned(),
                n(session.idle_until.timestamp_millis()),
            ),
            (EXPIRES_AT.to_owned(), expiry(session.idle_until)),
        ]);
        // Never over an existing item: two equal 256-bit secrets are an
        // error, not a shared session.
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(id)")
            .send()
            .await
            .map_err(|error| BackendError::new("DynamoDB PutItem", error))?;
        Ok(())
    }

    async fn touch(
        &self,
        key: &SessionKey,
        credential: &str,
        now: DateTime<Utc>,
        idle_until: DateTime<Utc>,
    ) -> Result<bool, BackendError> {
        let used = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(named_key(item_id(key))))
            .condition_expression(
                "attribute_exists(id) AND #credential = :credential AND ends_ms > :now AND idle_ms > :now",
            )
            .update_expression("SET idle_ms = :idle, #expires = :expires")
            .expression_attribute_names("#credential", "credential")
            .expression_attribute_names("#expires", EXPIRES_AT)
            .expression_attribute_values(":credential", s(credential))
            .expression_attribute_values(":now", n(now.timestamp_millis()))
            .expression_attribute_values(":idle", n(idle_until.timestamp_millis()))
            .expression_attribute_values(":expires", expiry(idle_until))
            .send()
            .await;
        match used {
            Ok(_) => Ok(true),
            // Unknown, ended, expired or another credential's: refused.
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(UpdateItemError::is_conditional_check_failed_exception) =>
            {
                Ok(false)
            }
            Err(error) => Err(BackendError::new("DynamoDB UpdateItem", error)),
        }
    }

    async fn end(&self, key: &SessionKey) -> Result<(), BackendError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(named_key(item_id(key))))
            .send()
            .await
            .map_err(|error| BackendError::new("DynamoDB DeleteItem", error))?;
        Ok(())
    }
}
