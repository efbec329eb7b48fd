//! The bench's own requests to moto, beside the binaries' (neither counted
//! nor modelled): the table's description, and emptying the queue while the
//! large table is seeded.

use serde_json::{Value, json};

/// Sends one JSON-protocol request for `service` to moto. moto routes it by
/// the service and region of the `Authorization` header's credential scope,
/// and checks no signature.
async fn request(
    client: &reqwest::Client,
    moto: &str,
    service: &str,
    target: &str,
    body: Value,
) -> anyhow::Result<Value> {
    let answer = client
        .post(format!("{}/", moto.trim_end_matches('/')))
        .header("x-amz-target", target)
        .header("content-type", "application/x-amz-json-1.0")
        .header(
            "authorization",
            format!(
                "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/{service}/aws4_request, SignedHeaders=host, Signature=0"
            ),
        )
        .body(body.to_string())
        .send()
        .await?;
    let status = answer.status();
    let text = answer.text().await?;
    anyhow::ensure!(
        status.is_success(),
        "moto answered {target} with {status}: {text}"
    );
    // Some answers (DeleteQueue's) have no body.
    Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// The table's description (`DescribeTable`).
pub async fn describe_table(
    client: &reqwest::Client,
    moto: &str,
    table: &str,
) -> anyhow::Result<Value> {
    request(
        client,
        moto,
        "dynamodb",
        "DynamoDB_20120810.DescribeTable",
        json!({ "TableName": table }),
    )
    .await
}

/// Empties the queue: deletes it and creates it again under the same name,
/// so its URL stays the one the web sends to. moto's SQS counts the whole
/// queue on every send (a queue's attributes include its depth), so a send
/// costs in proportion to the queue's depth, and seeding 100,000 messages
/// into one queue that no worker drains would take hours. (`PurgeQueue`
/// would do, but moto allows one a minute.) Call it with no send in flight.
pub async fn empty_queue(
    client: &reqwest::Client,
    moto: &str,
    queue_url: &str,
) -> anyhow::Result<()> {
    let name = queue_url
        .rsplit('/')
        .next()
        .filter(|name| !name.is_empty())
        .ok_or_else(|| anyhow::anyhow!("queue URL {queue_url} does not end in a name"))?;
    request(
        client,
        moto,
        "sqs",
        "AmazonSQS.DeleteQueue",
        json!({ "QueueUrl": queue_url }),
    )
    .await?;
    request(
        client,
        moto,
        "sqs",
        "AmazonSQS.CreateQueue",
        json!({ "QueueName": name }),
    )
    .await
    .map(|_| ())
}
