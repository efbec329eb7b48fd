//! Consistent reads of many items in one `BatchGetItem`, with the keys
//! DynamoDB leaves unprocessed under load asked again: the one loop both the
//! pages (`get_many`) read through.

use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::KeysAndAttributes;
use backon::BackoffBuilder;

use super::item::Item;
use messages::BackendError;

/// How many times the unprocessed keys are asked for again.
const AGAIN: usize = 5;

/// The items of `keys` (at most 100) that exist in `table`, read
/// consistently, in no particular order. An item left unread after asking
/// [`AGAIN`] times more is an error, never a silent gap: a message missing from a page,
/// or a counter missing from a count, would be a wrong answer.
pub async fn consistent(
    client: &Client,
    table: &str,
    keys: Vec<Item>,
) -> Result<Vec<Item>, BackendError> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let mut wanted = Some(
        KeysAndAttributes::builder()
            .set_keys(Some(keys))
            .consistent_read(true)
            .build()
            .map_err(|error| BackendError::new("building a DynamoDB batch", error))?,
    );
    // What DynamoDB's guide asks: back off before asking again.
    let mut waits = backon::ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(100))
        .with_max_times(AGAIN)
        .build();
    let mut items = Vec::new();
    while let Some(request) = wanted.take() {
        let output = client
            .batch_get_item()
            .request_items(table, request)
            .send()
            .await
            .map_err(|error| BackendError::new("DynamoDB BatchGetItem", error))?;
        items.extend(
            output
                .responses
                .unwrap_or_default()
                .remove(table)
                .unwrap_or_default(),
        );
        wanted = output
            .unprocessed_keys
            .and_then(|mut unprocessed| unprocessed.remove(table))
            .filter(|keys| !keys.keys.is_empty());
        if wanted.is_some() {
            let Some(wait) = waits.next() else {
                return Err(BackendError::new(
                    "DynamoDB BatchGetItem",
                    "part of the batch stayed unprocessed after retries",
                ));
            };
            tokio::time::sleep(wait).await;
        }
    }
    Ok(items)
}
