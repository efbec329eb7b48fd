"""The instance-role policies in deploy/iam: valid policy documents that grant
each binary the API actions it calls, on its own queue and table only."""

from __future__ import annotations

import json

import pytest

from ebspec import DEPLOY

QUEUE = "arn:aws:sqs:REGION:ACCOUNT_ID:QUEUE_NAME"
TABLE = "arn:aws:dynamodb:REGION:ACCOUNT_ID:table/TABLE_NAME"
INDEXES = TABLE + "/index/*"

# What each binary calls (crates/messages-aws/src). SendMessageBatch and
# DeleteMessageBatch are authorised by SendMessage and DeleteMessage.
EXPECTED = {
    "web": {
        "sqs:SendMessage",
        "dynamodb:PutItem",
        "dynamodb:GetItem",
        "dynamodb:UpdateItem",
        "dynamodb:Query",
        "dynamodb:BatchWriteItem",
        "dynamodb:BatchGetItem",
    },
    "worker": {
        # sqsd reading the queue
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:ChangeMessageVisibility",
        "sqs:GetQueueAttributes",
        "sqs:GetQueueUrl",
        # the sweeper re-sending jobs
        "sqs:SendMessage",
        "dynamodb:GetItem",
        "dynamodb:UpdateItem",
        "dynamodb:Query",
    },
}

# Provisioning is an operator's action (`web provision`, or the worker's
# CloudFormation stack), never the instances'.
NEVER = {
    "sqs:CreateQueue",
    "sqs:DeleteQueue",
    "sqs:SetQueueAttributes",
    "sqs:PurgeQueue",
    "dynamodb:CreateTable",
    "dynamodb:DeleteTable",
    "dynamodb:UpdateTable",
    "dynamodb:Scan",
}


def policy(name: str) -> dict:
    return json.loads((DEPLOY / "iam" / f"{name}-policy.json").read_text(encoding="utf-8"))


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_the_policy_grants_what_the_binary_calls_and_nothing_more(name):
    document = policy(name)
    assert document["Version"] == "2012-10-17"
    granted = set()
    for statement in document["Statement"]:
        assert statement["Effect"] == "Allow"
        assert set(statement) <= {"Sid", "Effect", "Action", "Resource"}, statement
        actions = as_list(statement["Action"])
        assert all("*" not in action for action in actions), f"{name}: wildcard action in {actions}"
        resources = as_list(statement["Resource"])
        for action in actions:
            service = action.split(":", 1)[0]
            if service == "sqs":
                assert resources == [QUEUE], f"{name}: {action} must be on {QUEUE} only, not {resources}"
            elif service == "dynamodb":
                assert set(resources) == {TABLE, INDEXES}, f"{name}: {action} on {resources}"
            else:
                raise AssertionError(f"{name}: {action} is not an SQS or DynamoDB action")
        granted.update(actions)
    assert granted == EXPECTED[name], (
        f"{name}: missing {sorted(EXPECTED[name] - granted)}, extra {sorted(granted - EXPECTED[name])}"
    )
    assert not granted & NEVER


def test_the_ec2_trust_policy_lets_instances_assume_the_role():
    trust = json.loads((DEPLOY / "iam" / "ec2-trust-policy.json").read_text(encoding="utf-8"))
    (statement,) = trust["Statement"]
    assert statement["Effect"] == "Allow"
    assert statement["Principal"] == {"Service": "ec2.amazonaws.com"}
    assert statement["Action"] == "sts:AssumeRole"
