"""The policies in deploy/iam: the instance roles' (each binary's API actions,
on its own queue and table only, and for the web the one parameter that holds
its operator token), and the deployer's (what CloudFormation
needs to create, tag, read back, update and delete the application stack,
checked against the AWS resource provider schemas that cfn-lint ships)."""

from __future__ import annotations

import json

import pytest

from ebspec import DEPLOY

QUEUE = "arn:aws:sqs:REGION:ACCOUNT_ID:QUEUE_NAME"
DEAD_LETTERS = "arn:aws:sqs:REGION:ACCOUNT_ID:DEAD_LETTER_QUEUE_NAME"
TABLE = "arn:aws:dynamodb:REGION:ACCOUNT_ID:table/TABLE_NAME"
INDEXES = TABLE + "/index/*"
# The web's OPERATOR_TOKEN, an Elastic Beanstalk environment secret: a
# SecureString parameter that Elastic Beanstalk reads with the instance
# profile's credentials ("Required IAM permissions for Elastic Beanstalk to
# access secrets and parameters": ssm:GetParameter; kms:Decrypt only for a
# customer managed key). The guide names it after the stack (deploy/README.md,
# step 6), and the policy grants that one parameter, nothing around it.
OPERATOR_TOKEN = "arn:aws:ssm:REGION:ACCOUNT_ID:parameter/STACK_NAME/operator-token"

# What each binary calls (crates/messages-aws/src). SendMessageBatch and
# DeleteMessageBatch are authorised by SendMessage and DeleteMessage.
EXPECTED = {
    "web": {
        "sqs:SendMessage",
        # the pipeline strip: the queue's depth, its redrive policy, and the
        # dead-letter queue's depth
        "sqs:GetQueueAttributes",
        # the dead-letter queue: found by name, looked at, redriven
        "sqs:GetQueueUrl",
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "dynamodb:PutItem",
        "dynamodb:GetItem",
        "dynamodb:UpdateItem",
        # an operator's delete of a failed message
        "dynamodb:DeleteItem",
        "dynamodb:Query",
        "dynamodb:BatchWriteItem",
        "dynamodb:BatchGetItem",
        # Elastic Beanstalk fetching OPERATOR_TOKEN for the web's environment
        "ssm:GetParameter",
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

# Provisioning is an operator's action (`web provision`, or the application
# stack), never the instances'.
NEVER = {
    "sqs:CreateQueue",
    "sqs:DeleteQueue",
    "sqs:SetQueueAttributes",
    "sqs:PurgeQueue",
    "dynamodb:CreateTable",
    "dynamodb:DeleteTable",
    "dynamodb:UpdateTable",
    "dynamodb:Scan",
    # Reading parameters by path or in bulk would reach beyond the one token.
    "ssm:GetParametersByPath",
    "ssm:GetParameters",
    "ssm:PutParameter",
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
                # The dead-letter queue is the web's alone: it reads and
                # redrives it, and nothing else touches it.
                allowed = [[QUEUE], [DEAD_LETTERS]] if name == "web" else [[QUEUE]]
                assert resources in allowed, f"{name}: {action} must be on {allowed}, not {resources}"
            elif service == "dynamodb":
                assert set(resources) == {TABLE, INDEXES}, f"{name}: {action} on {resources}"
            elif service == "ssm" and name == "web":
                assert resources == [OPERATOR_TOKEN], (
                    f"{name}: {action} must be on the operator token's parameter alone, {OPERATOR_TOKEN}, "
                    f"not {resources}"
                )
            else:
                raise AssertionError(f"{name}: {action} is not an SQS or DynamoDB action (nor the web's token)")
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


# --- the person who deploys the application stack ------------------------------

STACK = "arn:aws:cloudformation:REGION:ACCOUNT_ID:stack/STACK_NAME/*"
STACK_RESOURCES = {
    "sqs": {"arn:aws:sqs:REGION:ACCOUNT_ID:STACK_NAME-queue*"},
    "dynamodb": {"arn:aws:dynamodb:REGION:ACCOUNT_ID:table/STACK_NAME-table"},
    "cloudwatch": {"arn:aws:cloudwatch:REGION:ACCOUNT_ID:alarm:STACK_NAME-*"},
    "cloudformation": {STACK},
}

# What `aws cloudformation deploy` (a change set), `describe-stacks --query`
# and `delete-stack` call, and the stack's own tags.
CLOUDFORMATION = {
    "cloudformation:CreateChangeSet",
    "cloudformation:DescribeChangeSet",
    "cloudformation:ExecuteChangeSet",
    "cloudformation:DescribeStacks",
    "cloudformation:DescribeStackEvents",
    "cloudformation:DeleteStack",
    "cloudformation:TagResource",
    "cloudformation:UntagResource",
}

# Permissions the resource provider schemas list for features the template
# does not use (streams to Kinesis, a customer KMS key, import from S3,
# replicas, resource policies, item writes for imports, contributor insights
# and TTL changes, the service-linked role of global tables): granting them
# would be more than the stack needs.
UNUSED_FEATURES = {
    "dynamodb:AssociateTableReplica",
    "dynamodb:BatchWriteItem",
    "dynamodb:CreateTableReplica",
    "dynamodb:DeleteItem",
    "dynamodb:DeleteResourcePolicy",
    "dynamodb:DescribeImport",
    "dynamodb:DisableKinesisStreamingDestination",
    "dynamodb:EnableKinesisStreamingDestination",
    "dynamodb:GetItem",
    "dynamodb:ImportTable",
    "dynamodb:PutItem",
    "dynamodb:PutResourcePolicy",
    "dynamodb:Query",
    "dynamodb:Scan",
    "dynamodb:UpdateContinuousBackups",
    "dynamodb:UpdateContributorInsights",
    "dynamodb:UpdateItem",
    "dynamodb:UpdateKinesisStreamingDestination",
    "dynamodb:UpdateTimeToLive",
    "iam:CreateServiceLinkedRole",
}
UNUSED_SERVICES = {"kinesis", "kms", "logs", "s3"}

# Deleting the stack leaves the table (DeletionPolicy: Retain): the guide's last
# step deletes it by hand.
BY_HAND = {"dynamodb:DeleteTable"}


def schema_permissions(resource_type: str) -> set[str]:
    """What CloudFormation's handlers for `resource_type` call to create, read
    back, update, delete and tag it (the AWS resource provider schema)."""
    from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

    schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema("us-east-1", resource_type).schema
    needed = set(schema.get("tagging", {}).get("permissions", []))
    for handler in ("create", "read", "update", "delete"):
        needed.update(schema.get("handlers", {}).get(handler, {}).get("permissions", []))
    return needed


def test_the_deployer_may_create_read_update_tag_and_delete_every_resource_of_the_stack():
    from stackkit import template

    document = policy("stack-deployer")
    assert document["Version"] == "2012-10-17", "the policy language version must be 2012-10-17"
    granted: dict[str, set[str]] = {}
    for statement in document["Statement"]:
        assert statement["Effect"] == "Allow", f"{statement.get('Sid')}: only Allow statements"
        assert set(statement) <= {"Sid", "Effect", "Action", "Resource"}, f"{statement.get('Sid')}: {sorted(statement)}"
        for action in as_list(statement["Action"]):
            assert "*" not in action, f"{statement.get('Sid')}: wildcard action {action}"
            service = action.split(":", 1)[0]
            resources = set(as_list(statement["Resource"]))
            assert resources == STACK_RESOURCES.get(service), (
                f"{action} must be on the stack's own {service} resources {STACK_RESOURCES.get(service)}, not {resources}"
            )
            granted.setdefault(action, set()).update(resources)

    types = {resource["Type"] for resource in template()["Resources"].values()}
    needed = set().union(*(schema_permissions(t) for t in types)) - UNUSED_FEATURES
    needed = {action for action in needed if action.split(":", 1)[0] not in UNUSED_SERVICES}
    needed |= CLOUDFORMATION | BY_HAND
    missing, extra = needed - set(granted), set(granted) - needed
    assert not missing, (
        f"deploy/iam/stack-deployer-policy.json lacks {sorted(missing)}, which CloudFormation needs for the "
        f"stack's resources ({sorted(types)}): add them, or list them in UNUSED_FEATURES with the reason"
    )
    assert not extra, f"deploy/iam/stack-deployer-policy.json grants {sorted(extra)}, which the stack does not need"
