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

/// The names of `fresh`'s table's indexes.
pub async fn table_indexes(fresh: &Fresh) -> Vec<String> {
    aws_sdk_dynamodb::Client::new(&fresh.sdk)
        .describe_table()
        .table_name(&fresh.table)
        .send()
        .await
        .expect("describe the table")
        .table
        .and_then(|table| table.global_secondary_indexes)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|index| index.index_name)
        .collect()
}

/// Deletes one of `fresh`'s table's indexes: the table as a release made
/// before that index would have left it.
pub async fn drop_index(fresh: &Fresh, index: &str) {
    let delete = aws_sdk_dynamodb::types::DeleteGlobalSecondaryIndexAction::builder()
        .index_name(index)
        .build()
        .expect("an index name is all a delete needs");
    aws_sdk_dynamodb::Client::new(&fresh.sdk)
        .update_table()
        .table_name(&fresh.table)
        .global_secondary_index_updates(
            aws_sdk_dynamodb::types::GlobalSecondaryIndexUpdate::builder()
                .delete(delete)
                .build(),
        )
        .send()
        .await
        .unwrap_or_else(|error| panic!("cannot drop index {index}: {error:?}"));
}

/// Makes the table look as an earlier version left it: no status counts
/// folded from its stream yet, and, for each of `counters`, the counter item
/// that version kept in its transactions (none: a version before counters).
pub async fn as_an_earlier_version_left_it(fresh: &Fresh, counters: &[(&str, u64)]) {
    let client = aws_sdk_dynamodb::Client::new(&fresh.sdk);
    let s = aws_sdk_dynamodb::types::AttributeValue::S;
    let scanned = client
        .scan()
        .table_name(&fresh.table)
        .filter_expression("begins_with(id, :counter)")
        .expression_attribute_values(":counter", s("status-count".to_owned()))
        .send()
        .await
        .unwrap_or_else(|error| panic!("cannot scan for counts: {error:?}"));
    for item in scanned.items.unwrap_or_default() {
        let id = item.get("id").cloned().expect("an item has its key");
        client
            .delete_item()
            .table_name(&fresh.table)
            .key("id", id)
            .send()
            .await
            .unwrap_or_else(|error| panic!("cannot delete the counts: {error:?}"));
    }
    for (status, count) in counters {
        client
            .put_item()
            .table_name(&fresh.table)
            .item("id", s(format!("status-count#{status}#00")))
            .item(
                "count",
                aws_sdk_dynamodb::types::AttributeValue::N(count.to_string()),
            )
            .send()
            .await
            .unwrap_or_else(|error| panic!("cannot write an old counter: {error:?}"));
    }
}

/// The checkpoints the status counts' item holds (each stream shard's last
/// record folded), as a consistent read finds them: where the folds stand.
pub async fn counts_checkpoints(fresh: &Fresh) -> String {
    let item = aws_sdk_dynamodb::Client::new(&fresh.sdk)
        .get_item()
        .table_name(&fresh.table)
        .key(
            "id",
            aws_sdk_dynamodb::types::AttributeValue::S("status-counts".to_owned()),
        )
        .consistent_read(true)
        .send()
        .await
        .unwrap_or_else(|error| panic!("cannot read the counts item: {error:?}"))
        .item
        .unwrap_or_else(|| panic!("no counts item in {}", fresh.table));
    format!("{:?}", item.get("checkpoints"))
}
