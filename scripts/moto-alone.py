"""How fast moto's server is by itself, for reading BENCHMARKS.md: the same
table and queue shape as the app, then PutItem + SendMessage pairs from boto3,
one after another, with no app in between.

    .venv-test/bin/python scripts/moto-alone.py http://127.0.0.1:PORT [ITERATIONS]
"""

import sys
import time
import uuid

import boto3

endpoint = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:5000"
iterations = int(sys.argv[2]) if len(sys.argv) > 2 else 300
settings = dict(
    endpoint_url=endpoint,
    region_name="us-east-1",
    aws_access_key_id="test",
    aws_secret_access_key="test",
)
dynamodb = boto3.client("dynamodb", **settings)
sqs = boto3.client("sqs", **settings)
name = "moto-alone-" + uuid.uuid4().hex[:8]
dynamodb.create_table(
    TableName=name,
    BillingMode="PAY_PER_REQUEST",
    AttributeDefinitions=[
        {"AttributeName": attribute, "AttributeType": "S"}
        for attribute in ("shard", "id", "status_shard")
    ],
    KeySchema=[{"AttributeName": "shard", "KeyType": "HASH"}, {"AttributeName": "id", "KeyType": "RANGE"}],
    GlobalSecondaryIndexes=[
        {
            "IndexName": index,
            "KeySchema": [
                {"AttributeName": partition, "KeyType": "HASH"},
                {"AttributeName": "id", "KeyType": "RANGE"},
            ],
            "Projection": {"ProjectionType": "KEYS_ONLY"},
        }
        for index, partition in (("status_by_shard", "status_shard"),)
    ],
)
queue_url = sqs.create_queue(QueueName=name)["QueueUrl"]
started = time.monotonic()
for _ in range(iterations):
    item = {"id": {"S": str(uuid.uuid4())}, "shard": {"S": "07"}, "status_shard": {"S": "pending#07"}}
    dynamodb.put_item(TableName=name, Item=item)
    sqs.send_message(QueueUrl=queue_url, MessageBody="x")
rate = iterations / (time.monotonic() - started)
print(f"moto alone: {rate:.0f} PutItem + SendMessage pairs per second ({iterations}, sequential)")
