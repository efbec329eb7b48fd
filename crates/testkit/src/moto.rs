//! moto's server, the SQS and DynamoDB emulator started by the test command
//! (`scripts/test`), and fresh resources on it for each test.

use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_sqs::config::{Credentials, Region};
use messages::{Backends, MessageId, QueueKind};

/// The account id moto puts in queue URLs.
const MOTO_ACCOUNT: &str = "123456789012";

/// The emulator's URL. Tests that need it fail (never skip) without it.
pub fn endpoint() -> String {
    std::env::var("MOTO_ENDPOINT").unwrap_or_else(|_| {
        panic!("MOTO_ENDPOINT is not set: run the tests with scripts/test, which starts moto's server and sets it")
    })
}

/// An AWS configuration aimed at the emulator, with dummy credentials.
pub async fn sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "testkit"))
        .load()
        .await
}

/// A queue, its dead-letter queue and a table, made for one test.
pub struct Fresh {
    /// The emulator configuration.
    pub sdk: SdkConfig,
    /// The queue's URL.
    pub queue_url: String,
    /// The dead-letter queue's URL.
    pub dlq_url: String,
    /// The table's name.
    pub table: String,
    /// Connected to both.
    pub backends: Backends,
    /// What `provision` printed.
    pub report: Vec<String>,
}

/// A name no other test uses.
pub fn unique_name(prefix: &str) -> String {
    format!("{prefix}-{}", MessageId::new())
}

/// The URL moto gives a queue of this name.
pub fn queue_url(name: &str) -> String {
    format!("{}/{MOTO_ACCOUNT}/{name}", endpoint())
}

/// Provisions fresh resources with `provision`, as `web provision` does.
pub async fn fresh(max_attempts: u32) -> Fresh {
    fresh_of(QueueKind::Standard, max_attempts).await
}

/// As [`fresh`], with a queue of `kind` (a FIFO queue's name ends in `.fifo`,
/// and so does its dead-letter queue's).
pub async fn fresh_of(kind: QueueKind, max_attempts: u32) -> Fresh {
    let sdk = sdk_config().await;
    let name = unique_name("t");
    let (queue_name, dlq_name) = match kind {
        QueueKind::Standard => (name.clone(), format!("{name}-dlq")),
        QueueKind::Fifo => (format!("{name}.fifo"), format!("{name}-dlq.fifo")),
    };
    let queue_url = queue_url(&queue_name);
    let dlq_url = self::queue_url(&dlq_name);
    let report = messages_aws::provision(&sdk, &queue_url, &name, max_attempts)
        .await
        .unwrap_or_else(|error| panic!("provisioning on moto failed: {}", error.chain()));
    let backends = messages_aws::backends(&sdk, &queue_url, &name);
    Fresh {
        sdk,
        queue_url,
        dlq_url,
        table: name,
        backends,
        report,
    }
}

/// The key attributes of `table`, in the order of its key schema.
pub async fn table_keys(sdk: &SdkConfig, table: &str) -> Vec<String> {
    aws_sdk_dynamodb::Client::new(sdk)
        .describe_table()
        .table_name(table)
        .send()
        .await
        .expect("describe the table")
        .table
        .map(|table| table.key_schema.unwrap_or_default())
        .unwrap_or_default()
        .into_iter()
        .map(|key| key.attribute_name)
        .collect()
}

/// Makes a table named `table` as a version before the table was keyed by
/// shard (`layout.rs`) made it: keyed by `id` alone, listing through a
/// `newest_by_shard` index.
pub async fn a_table_of_an_earlier_layout(sdk: &SdkConfig, table: &str) {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
        ProjectionType, ScalarAttributeType,
    };
    let key = |name: &str, key_type| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(key_type)
            .build()
            .expect("a key has a name and a type")
    };
    let string = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .expect("an attribute has a name and a type")
    };
    aws_sdk_dynamodb::Client::new(sdk)
        .create_table()
        .table_name(table)
        .billing_mode(aws_sdk_dynamodb::types::BillingMode::PayPerRequest)
        .attribute_definitions(string("id"))
        .attribute_definitions(string("shard"))
        .key_schema(key("id", KeyType::Hash))
        .global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name("newest_by_shard")
                .key_schema(key("shard", KeyType::Hash))
                .key_schema(key("id", KeyType::Range))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::KeysOnly)
                        .build(),
                )
                .build()
                .expect("an index has a name and keys"),
        )
        .send()
        .await
        .unwrap_or_else(|error| panic!("cannot make the earlier table: {error:?}"));
}

/// Puts every item of the table `from` into `to` as it is: what an earlier
/// version's table would hold, for a table made by [`a_table_of_an_earlier_layout`].
pub async fn put_every_item(sdk: &SdkConfig, from: &str, to: &str) -> usize {
    let client = aws_sdk_dynamodb::Client::new(sdk);
    let items = client
        .scan()
        .table_name(from)
        .consistent_read(true)
        .send()
        .await
        .unwrap_or_else(|error| panic!("cannot scan {from}: {error:?}"))
        .items
        .unwrap_or_default();
    for item in &items {
        client
            .put_item()
            .table_name(to)
            .set_item(Some(item.clone()))
            .send()
            .await
            .unwrap_or_else(|error| panic!("cannot put into {to}: {error:?}"));
    }
    items.len()
}

/// The key of the status counts' item (`stream_counts.rs`): its name in both
/// parts of the table's key.
fn counts_key() -> std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue> {
    let name = aws_sdk_dynamodb::types::AttributeValue::S("status-counts".to_owned());
    [("shard".to_owned(), name.clone()), ("id".to_owned(), name)].into()
}

/// Deletes the status counts' item, as a table has it before its first fold
/// or `web provision` started them.
pub async fn without_its_counts(fresh: &Fresh) {
    aws_sdk_dynamodb::Client::new(&fresh.sdk)
        .delete_item()
        .table_name(&fresh.table)
        .set_key(Some(counts_key()))
        .send()
        .await
        .unwrap_or_else(|error| panic!("cannot delete the counts: {error:?}"));
}

/// The checkpoints the status counts' item holds (each stream shard's last
/// record folded), as a consistent read finds them: where the folds stand.
pub async fn counts_checkpoints(fresh: &Fresh) -> String {
    let item = aws_sdk_dynamodb::Client::new(&fresh.sdk)
        .get_item()
        .table_name(&fresh.table)
        .set_key(Some(counts_key()))
        .consistent_read(true)
        .send()
        .await
        .unwrap_or_else(|error| panic!("cannot read the counts item: {error:?}"))
        .item
        .unwrap_or_else(|| panic!("no counts item in {}", fresh.table));
    format!("{:?}", item.get("checkpoints"))
}
