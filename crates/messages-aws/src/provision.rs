//! `web provision` on AWS: creates the queue, its dead-letter queue and the
//! table with its indexes, or finds them. Safe to run again and again.

use std::time::Duration;

use aws_config::SdkConfig;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, StreamSpecification, StreamViewType, TableStatus,
    TimeToLiveSpecification, TimeToLiveStatus,
};
use aws_sdk_sqs::types::QueueAttributeName;

use super::dynamodb::{
    EXPIRES_AT, GROUP_SHARD, INDEX_BY_GROUP, INDEX_BY_STATUS, SHARD, STATUS_INDEX_COPIES,
    STATUS_SHARD,
};
use super::queue_name_from_url;
use crate::DynamoStore;
use messages::{BackendError, QueueKind};

/// sqsd's defaults (the documented `aws:elasticbeanstalk:sqsd` options), so
/// the queue behaves the same whether sqsd or the local poller reads it.
const VISIBILITY_TIMEOUT_SECONDS: &str = "300";
const RETENTION_SECONDS: &str = "345600";
/// The dead-letter queue keeps what it holds as long as SQS allows (14 days).
const DLQ_RETENTION_SECONDS: &str = "1209600";

/// Creates or finds everything, and returns one line per resource saying which.
pub async fn provision(
    config: &SdkConfig,
    queue_url: &str,
    table: &str,
    max_attempts: u32,
) -> Result<Vec<String>, BackendError> {
    let queue_name = queue_name_from_url(queue_url).ok_or_else(|| {
        BackendError::new(
            "provisioning",
            format!("QUEUE_URL {queue_url:?} does not end in a queue name, like https://sqs.us-east-1.amazonaws.com/123456789012/messages"),
        )
    })?;
    let sqs = aws_sdk_sqs::Client::new(config);
    let mut report = Vec::new();

    // A FIFO queue's dead-letter queue must be FIFO too, and a FIFO queue's
    // name must end in `.fifo`. The app gives every message a deduplication
    // id, so content-based deduplication stays off.
    let fifo = QueueKind::of_queue_name(queue_name) == QueueKind::Fifo;
    let dlq_name = match queue_name.strip_suffix(".fifo") {
        Some(stem) => format!("{stem}-dlq.fifo"),
        None => format!("{queue_name}-dlq"),
    };
    let kind: &[(QueueAttributeName, String)] = if fifo {
        &[(QueueAttributeName::FifoQueue, String::from("true"))]
    } else {
        &[]
    };
    let mut dlq_attributes = vec![(
        QueueAttributeName::MessageRetentionPeriod,
        DLQ_RETENTION_SECONDS.to_owned(),
    )];
    dlq_attributes.extend_from_slice(kind);
    let (dlq_url, line) = create_queue(&sqs, &dlq_name, &dlq_attributes).await?;
    report.push(format!("dead-letter queue {dlq_name}: {line} ({dlq_url})"));

    let dlq_arn = sqs
        .get_queue_attributes()
        .queue_url(&dlq_url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(|error| BackendError::new("SQS GetQueueAttributes", error))?
        .attributes
        .and_then(|attributes| attributes.get(&QueueAttributeName::QueueArn).cloned())
        .ok_or_else(|| {
            BackendError::new("SQS GetQueueAttributes", "the dead-letter queue has no ARN")
        })?;
    // After `max_attempts` receives, SQS moves the message to the dead-letter
    // queue: the same count at which the worker records it as `fail`.
    let redrive =
        format!(r#"{{"deadLetterTargetArn":"{dlq_arn}","maxReceiveCount":"{max_attempts}"}}"#);
    let mut attributes = vec![
        (
            QueueAttributeName::VisibilityTimeout,
            VISIBILITY_TIMEOUT_SECONDS.to_owned(),
        ),
        (
            QueueAttributeName::MessageRetentionPeriod,
            RETENTION_SECONDS.to_owned(),
        ),
        (QueueAttributeName::RedrivePolicy, redrive),
    ];
    attributes.extend_from_slice(kind);
    let (url, line) = create_queue(&sqs, queue_name, &attributes).await?;
    let kind = if fifo { "FIFO queue" } else { "queue" };
    report.push(format!(
        "{kind} {queue_name}: {line}, redrive to {dlq_name} after {max_attempts} receives ({url})"
    ));
    if url.trim_end_matches('/') != queue_url.trim_end_matches('/') {
        report.push(format!("note: the queue's URL is {url}, but QUEUE_URL is {queue_url}: set QUEUE_URL to the queue's URL"));
    }

    let dynamodb = aws_sdk_dynamodb::Client::new(config);
    report.push(create_table(&dynamodb, table).await?);
    report.push(stream_changes(&dynamodb, table).await?);
    report.push(expire_old_keys(&dynamodb, table).await?);
    // The status counts, folded from the stream: started with what the table
    // holds now, once.
    if let Some(counts) = DynamoStore::new(config, table)
        .start_stream_counts()
        .await?
    {
        let counts: Vec<String> = messages::Status::ALL
            .iter()
            .map(|status| {
                format!(
                    "{} {}",
                    counts.get(status).copied().unwrap_or(0),
                    status.as_str()
                )
            })
            .collect();
        report.push(format!("status counts: started at {}", counts.join(", ")));
    }
    Ok(report)
}

/// Finds the queue, or creates it; either way its attributes end as given.
async fn create_queue(
    sqs: &aws_sdk_sqs::Client,
    name: &str,
    attributes: &[(QueueAttributeName, String)],
) -> Result<(String, &'static str), BackendError> {
    match sqs.get_queue_url().queue_name(name).send().await {
        Ok(found) => {
            let url = found.queue_url.ok_or_else(|| {
                BackendError::new(
                    "SQS GetQueueUrl",
                    format!("queue {name} was found without a URL"),
                )
            })?;
            let mut request = sqs.set_queue_attributes().queue_url(&url);
            // Whether a queue is FIFO is fixed when it is made (and in its
            // name): SQS refuses to set it again.
            for (key, value) in attributes
                .iter()
                .filter(|(key, _)| *key != QueueAttributeName::FifoQueue)
            {
                request = request.attributes(key.clone(), value);
            }
            request
                .send()
                .await
                .map_err(|error| BackendError::new("SQS SetQueueAttributes", error))?;
            Ok((url, "found, attributes updated"))
        }
        Err(error)
            if error
                .as_service_error()
                .is_some_and(|e| e.is_queue_does_not_exist()) =>
        {
            let mut request = sqs.create_queue().queue_name(name);
            for (key, value) in attributes {
                request = request.attributes(key.clone(), value);
            }
            let created = request
                .send()
                .await
                .map_err(|error| BackendError::new("SQS CreateQueue", error))?;
            let url = created.queue_url.ok_or_else(|| {
                BackendError::new(
                    "SQS CreateQueue",
                    format!("queue {name} was created without a URL"),
                )
            })?;
            Ok((url, "created"))
        }
        Err(error) => Err(BackendError::new("SQS GetQueueUrl", error)),
    }
}

fn key(name: &str, key_type: KeyType) -> Result<KeySchemaElement, BackendError> {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(key_type)
        .build()
        .map_err(|error| BackendError::new("building a DynamoDB key schema", error))
}

fn string_attribute(name: &str) -> Result<AttributeDefinition, BackendError> {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ScalarAttributeType::S)
        .build()
        .map_err(|error| BackendError::new("building a DynamoDB attribute", error))
}

/// An index keyed by `partition` and `id`, copying `copies` besides its keys
/// (none: keys only). The layout and its reasons: `dynamodb/layout.rs`.
fn index(
    name: &str,
    partition: &str,
    copies: &[&str],
) -> Result<GlobalSecondaryIndex, BackendError> {
    let projection = match copies {
        [] => Projection::builder().projection_type(ProjectionType::KeysOnly),
        _ => copies.iter().fold(
            Projection::builder().projection_type(ProjectionType::Include),
            |projection, attribute| projection.non_key_attributes(*attribute),
        ),
    };
    GlobalSecondaryIndex::builder()
        .index_name(name)
        .key_schema(key(partition, KeyType::Hash)?)
        .key_schema(key("id", KeyType::Range)?)
        .projection(projection.build())
        .build()
        .map_err(|error| BackendError::new("building a DynamoDB index", error))
}

/// Finds the table, or creates it and waits until it is active. A table
/// whose keys or indexes are not this version's is refused, unchanged:
/// DynamoDB cannot change a table's key.
async fn create_table(
    dynamodb: &aws_sdk_dynamodb::Client,
    table: &str,
) -> Result<String, BackendError> {
    let layout =
        format!("keyed by {SHARD} and id, with indexes {INDEX_BY_STATUS} and {INDEX_BY_GROUP}");
    match dynamodb.describe_table().table_name(table).send().await {
        Ok(found) => {
            let description = found.table.ok_or_else(|| {
                BackendError::new(
                    "DynamoDB DescribeTable",
                    format!("table {table} was found without a description"),
                )
            })?;
            let keys: Vec<(&str, &KeyType)> = description
                .key_schema()
                .iter()
                .map(|key| (key.attribute_name(), key.key_type()))
                .collect();
            let indexes: Vec<&str> = description
                .global_secondary_indexes()
                .iter()
                .filter_map(|index| index.index_name())
                .collect();
            let this_version = keys == [(SHARD, &KeyType::Hash), ("id", &KeyType::Range)]
                && [INDEX_BY_STATUS, INDEX_BY_GROUP]
                    .iter()
                    .all(|name| indexes.contains(name));
            if this_version {
                return Ok(format!("table {table}: found, {layout}"));
            }
            let keys: Vec<&str> = keys.iter().map(|(name, _)| *name).collect();
            Err(BackendError::new(
                "provisioning",
                format!(
                    "table {table} is keyed by {keys:?} with indexes {indexes:?}, an earlier version's layout; this version needs a table {layout}, and DynamoDB cannot change a table's key. Set TABLE_NAME to a new table's name and run this again, then `web copy-messages` with COPY_FROM_TABLE={table} to bring its messages over (deploy/README.md, \"Coming from the previous layout\"); the earlier table is left as it is"
                ),
            ))
        }
        Err(error)
            if error
                .as_service_error()
                .is_some_and(|e| e.is_resource_not_found_exception()) =>
        {
            dynamodb
                .create_table()
                .table_name(table)
                .billing_mode(BillingMode::PayPerRequest)
                .attribute_definitions(string_attribute("id")?)
                .attribute_definitions(string_attribute(SHARD)?)
                .attribute_definitions(string_attribute(STATUS_SHARD)?)
                .attribute_definitions(string_attribute(GROUP_SHARD)?)
                .key_schema(key(SHARD, KeyType::Hash)?)
                .key_schema(key("id", KeyType::Range)?)
                .global_secondary_indexes(index(
                    INDEX_BY_STATUS,
                    STATUS_SHARD,
                    &STATUS_INDEX_COPIES,
                )?)
                .global_secondary_indexes(index(INDEX_BY_GROUP, GROUP_SHARD, &[])?)
                .stream_specification(stream_specification()?)
                .send()
                .await
                .map_err(|error| BackendError::new("DynamoDB CreateTable", error))?;
            wait_until_active(dynamodb, table).await?;
            Ok(format!("table {table}: created, {layout}"))
        }
        Err(error) => Err(BackendError::new("DynamoDB DescribeTable", error)),
    }
}

/// The stream every write of the table goes to, with the item before and
/// after (`NEW_AND_OLD_IMAGES`): the status counts are folded from it
/// (`dynamodb/stream_counts.rs`). Turned on for a table made without it.
fn stream_specification() -> Result<StreamSpecification, BackendError> {
    StreamSpecification::builder()
        .stream_enabled(true)
        .stream_view_type(StreamViewType::NewAndOldImages)
        .build()
        .map_err(|error| BackendError::new("building a DynamoDB stream", error))
}

async fn stream_changes(
    dynamodb: &aws_sdk_dynamodb::Client,
    table: &str,
) -> Result<String, BackendError> {
    let current = dynamodb
        .describe_table()
        .table_name(table)
        .send()
        .await
        .map_err(|error| BackendError::new("DynamoDB DescribeTable", error))?
        .table
        .and_then(|description| description.stream_specification);
    match current {
        Some(stream) if stream.stream_enabled => {
            if stream.stream_view_type == Some(StreamViewType::NewAndOldImages) {
                Ok("stream of changes: on".to_owned())
            } else {
                Err(BackendError::new(
                    "provisioning",
                    format!(
                        "table {table} has a stream that does not carry the items before and after each write (NEW_AND_OLD_IMAGES), which the status counts are folded from: turn it off, then run this again"
                    ),
                ))
            }
        }
        _ => {
            wait_until_active(dynamodb, table).await?;
            dynamodb
                .update_table()
                .table_name(table)
                .stream_specification(stream_specification()?)
                .send()
                .await
                .map_err(|error| BackendError::new("DynamoDB UpdateTable", error))?;
            wait_until_active(dynamodb, table).await?;
            Ok("stream of changes: turned on (the status counts are folded from it)".to_owned())
        }
    }
}

/// Turns on the table's time to live on [`EXPIRES_AT`], so that idempotency
/// keys are deleted once their window is over (`dynamodb/keys.rs`), and the
/// operator's sessions once idle (`dynamodb/sessions.rs`).
async fn expire_old_keys(
    dynamodb: &aws_sdk_dynamodb::Client,
    table: &str,
) -> Result<String, BackendError> {
    let current = dynamodb
        .describe_time_to_live()
        .table_name(table)
        .send()
        .await
        .map_err(|error| BackendError::new("DynamoDB DescribeTimeToLive", error))?
        .time_to_live_description;
    let enabled = current.as_ref().is_some_and(|ttl| {
        ttl.attribute_name.as_deref() == Some(EXPIRES_AT)
            && matches!(
                ttl.time_to_live_status,
                Some(TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling)
            )
    });
    if enabled {
        return Ok(format!("time to live on {EXPIRES_AT}: found"));
    }
    dynamodb
        .update_time_to_live()
        .table_name(table)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .attribute_name(EXPIRES_AT)
                .enabled(true)
                .build()
                .map_err(|error| BackendError::new("building a DynamoDB time to live", error))?,
        )
        .send()
        .await
        .map_err(|error| BackendError::new("DynamoDB UpdateTimeToLive", error))?;
    Ok(format!(
        "time to live on {EXPIRES_AT}: created (idempotency keys are deleted after their window, operator sessions once idle)"
    ))
}

async fn wait_until_active(
    dynamodb: &aws_sdk_dynamodb::Client,
    table: &str,
) -> Result<(), BackendError> {
    // New tables take seconds to a minute on AWS; two minutes means something is wrong.
    for _ in 0..120 {
        let status = dynamodb
            .describe_table()
            .table_name(table)
            .send()
            .await
            .map_err(|error| BackendError::new("DynamoDB DescribeTable", error))?
            .table
            .and_then(|description| description.table_status);
        if status == Some(TableStatus::Active) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    Err(BackendError::new(
        "provisioning",
        format!("table {table} did not become active within two minutes"),
    ))
}
