//! Idempotency keys in the messages table: one item per key, keyed
//! `idempotency-key#<key>` (no message id can equal it: ids are UUIDs), with
//! no index key, so no list, count or sweep sees it. `expires_at` (epoch
//! seconds) lets DynamoDB's time to live delete it once its window is over;
//! until then a claim counts as expired by its `claimed_ms` alone, so the
//! answer never depends on when DynamoDB gets round to deleting.

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};

use super::DynamoStore;
use super::item::{Item, s};
use super::layout::named_key;
use messages::{
    BackendError, Claimed, IdempotencyKey, IdempotencyKeys, KEY_WINDOW, KeyClaim, KeyOutcome,
    MessageId,
};

/// The key prefix of the items that record idempotency keys.
const KEY_PREFIX: &str = "idempotency-key#";
/// The attribute DynamoDB's time to live reads (provisioning turns it on).
pub const EXPIRES_AT: &str = "expires_at";

const IN_PROGRESS: &str = "in_progress";
const UNKNOWN: &str = "unknown";
const REFUSING: &str = "refusing";
const ANSWERED: &str = "answered";
/// What an answered claim records besides its sentence. It was the HTTP
/// status of the first answer; it is still written (202 sent, 503 refused)
/// because a rolling deploy runs the versions that read it beside this one.
const ANSWER_STATUS: &str = "answer_status";
const SENT_STATUS: u16 = 202;
const REFUSED_STATUS: u16 = 503;

fn item_id(key: &IdempotencyKey) -> String {
    format!("{KEY_PREFIX}{key}")
}

fn n(number: impl ToString) -> AttributeValue {
    AttributeValue::N(number.to_string())
}

fn invalid(what: impl Into<String>) -> BackendError {
    BackendError::new("reading an idempotency key's item", what.into())
}

/// Reads a claim back.
fn claim_from(item: &Item) -> Result<KeyClaim, BackendError> {
    let text = |name: &str| match item.get(name) {
        Some(AttributeValue::S(text)) => Ok(text.as_str()),
        _ => Err(invalid(format!(
            "attribute {name:?} is missing or not a string"
        ))),
    };
    let number = |name: &str| match item.get(name) {
        Some(AttributeValue::N(number)) => number
            .parse::<i64>()
            .map_err(|_| invalid(format!("attribute {name:?} is not a number"))),
        _ => Err(invalid(format!(
            "attribute {name:?} is missing or not a number"
        ))),
    };
    let ids = text("ids")?
        .split(',')
        .filter(|id| !id.is_empty())
        .map(MessageId::parse)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| invalid(error.to_string()))?;
    let claimed_ms = number("claimed_ms")?;
    let claimed_at = DateTime::<Utc>::from_timestamp_millis(claimed_ms)
        .ok_or_else(|| invalid(format!("claimed_ms {claimed_ms} is not a time")))?;
    let outcome = match text("outcome")? {
        ANSWERED => match text("answer_error") {
            Ok(why) => KeyOutcome::Refused {
                why: why.to_owned(),
            },
            Err(_) => KeyOutcome::Sent,
        },
        UNKNOWN => KeyOutcome::Unknown,
        REFUSING => KeyOutcome::Refusing,
        _ => KeyOutcome::InProgress,
    };
    Ok(KeyClaim {
        fingerprint: text("fingerprint")?.to_owned(),
        ids,
        claimed_at,
        outcome,
    })
}

/// Claims `key`, or reads the claim that holds it.
pub async fn claim(
    client: &Client,
    table: &str,
    key: &IdempotencyKey,
    claim: &KeyClaim,
) -> Result<Claimed, BackendError> {
    let ids = claim
        .ids
        .iter()
        .map(MessageId::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let expired_before = (claim.claimed_at - KEY_WINDOW).timestamp_millis();
    let expires_at = (claim.claimed_at + KEY_WINDOW).timestamp();
    let mut item = named_key(item_id(key));
    item.extend([
        ("fingerprint".to_owned(), s(&claim.fingerprint)),
        ("ids".to_owned(), s(ids)),
        (
            "claimed_ms".to_owned(),
            n(claim.claimed_at.timestamp_millis()),
        ),
        ("outcome".to_owned(), s(IN_PROGRESS)),
        (EXPIRES_AT.to_owned(), n(expires_at)),
    ]);
    let put = client
        .put_item()
        .table_name(table)
        .set_item(Some(item))
        .condition_expression("attribute_not_exists(id) OR claimed_ms < :expired_before")
        .expression_attribute_values(":expired_before", n(expired_before))
        .send()
        .await;
    match put {
        Ok(_) => Ok(Claimed::New),
        Err(error)
            if error
                .as_service_error()
                .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
        {
            let held = client
                .get_item()
                .table_name(table)
                .set_key(Some(named_key(item_id(key))))
                .consistent_read(true)
                .send()
                .await
                .map_err(|error| BackendError::new("DynamoDB GetItem", error))?;
            match held.item {
                Some(item) => Ok(Claimed::Taken(claim_from(&item)?)),
                None => Err(BackendError::new(
                    "DynamoDB PutItem",
                    "the idempotency key was held, then gone: try again",
                )),
            }
        }
        Err(error) => Err(BackendError::new("DynamoDB PutItem", error)),
    }
}

/// Records what became of a claim, unless it has an answer already.
pub async fn settle(
    client: &Client,
    table: &str,
    key: &IdempotencyKey,
    claimed_at: DateTime<Utc>,
    outcome: &KeyOutcome,
) -> Result<bool, BackendError> {
    let request = client
        .update_item()
        .table_name(table)
        .set_key(Some(named_key(item_id(key))))
        .condition_expression("claimed_ms = :at AND outcome <> :answered")
        .expression_attribute_values(":at", n(claimed_at.timestamp_millis()))
        .expression_attribute_values(":answered", s(ANSWERED));
    let request = match outcome {
        KeyOutcome::InProgress | KeyOutcome::Unknown | KeyOutcome::Refusing => request
            .update_expression("SET outcome = :outcome")
            .expression_attribute_values(
                ":outcome",
                s(match outcome {
                    KeyOutcome::Unknown => UNKNOWN,
                    KeyOutcome::Refusing => REFUSING,
                    _ => IN_PROGRESS,
                }),
            ),
        KeyOutcome::Sent => request
            .update_expression(format!("SET outcome = :outcome, {ANSWER_STATUS} = :status"))
            .expression_attribute_values(":outcome", s(ANSWERED))
            .expression_attribute_values(":status", n(SENT_STATUS)),
        KeyOutcome::Refused { why } => request
            .update_expression(format!(
                "SET outcome = :outcome, {ANSWER_STATUS} = :status, answer_error = :error"
            ))
            .expression_attribute_values(":outcome", s(ANSWERED))
            .expression_attribute_values(":status", n(REFUSED_STATUS))
            .expression_attribute_values(":error", s(why)),
    };
    // Refused by its condition: the claim had moved on.
    super::won(request.send().await)
}

/// Answers a claim still in progress as sent.
pub async fn confirm(
    client: &Client,
    table: &str,
    key: &IdempotencyKey,
    claimed_at: DateTime<Utc>,
) -> Result<bool, BackendError> {
    let confirmed = client
        .update_item()
        .table_name(table)
        .set_key(Some(named_key(item_id(key))))
        .condition_expression("claimed_ms = :at AND outcome = :in_progress")
        .update_expression(format!(
            "SET outcome = :answered, {ANSWER_STATUS} = :status"
        ))
        .expression_attribute_values(":at", n(claimed_at.timestamp_millis()))
        .expression_attribute_values(":in_progress", s(IN_PROGRESS))
        .expression_attribute_values(":answered", s(ANSWERED))
        .expression_attribute_values(":status", n(SENT_STATUS))
        .send()
        .await;
    super::won(confirmed)
}

/// Forgets a claim that has no answer.
pub async fn release(
    client: &Client,
    table: &str,
    key: &IdempotencyKey,
    claimed_at: DateTime<Utc>,
) -> Result<(), BackendError> {
    let deleted = client
        .delete_item()
        .table_name(table)
        .set_key(Some(named_key(item_id(key))))
        .condition_expression("claimed_ms = :at AND outcome <> :answered")
        .expression_attribute_values(":at", n(claimed_at.timestamp_millis()))
        .expression_attribute_values(":answered", s(ANSWERED))
        .send()
        .await;
    match deleted {
        Ok(_) => Ok(()),
        // Answered or claimed again since: not ours to forget.
        Err(error)
            if error
                .as_service_error()
                .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
        {
            Ok(())
        }
        Err(error) => Err(BackendError::new("DynamoDB DeleteItem", error)),
    }
}

#[async_trait]
impl IdempotencyKeys for DynamoStore {
    async fn claim_key(
        &self,
        key: &IdempotencyKey,
        claim: &KeyClaim,
    ) -> Result<Claimed, BackendError> {
        self::claim(&self.client, &self.table, key, claim).await
    }

    async fn settle_key(
        &self,
        key: &IdempotencyKey,
        claimed_at: DateTime<Utc>,
        outcome: &KeyOutcome,
    ) -> Result<bool, BackendError> {
        settle(&self.client, &self.table, key, claimed_at, outcome).await
    }

    async fn confirm_key(
        &self,
        key: &IdempotencyKey,
        claimed_at: DateTime<Utc>,
    ) -> Result<bool, BackendError> {
        confirm(&self.client, &self.table, key, claimed_at).await
    }

    async fn release_key(
        &self,
        key: &IdempotencyKey,
        claimed_at: DateTime<Utc>,
    ) -> Result<(), BackendError> {
        release(&self.client, &self.table, key, claimed_at).await
    }
}
