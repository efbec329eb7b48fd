"""What the IAM tests derive permissions from: the AWS resource provider
schemas that cfn-lint ships (each resource type's handlers and the IAM
permissions each one calls), AWS's managed policies as moto ships them, and
IAM's matching of actions against a policy's `Action` patterns.

moto does not enforce IAM, so a missing permission would only show on a real
account. Instead of listing permissions by hand, the tests take them from the
handlers of each resource type the guide creates, and excuse a permission only
while the property that needs it is unused (`FEATURES`)."""

from __future__ import annotations

import fnmatch
import json
from dataclasses import dataclass
from functools import cache

from ebspec import DEPLOY

# CloudFormation invokes create, read, update and delete for a stack's
# resources; `list` only "when summary information about multiple resources of
# this resource type is required" (CloudFormation CLI, "Developing resource
# types": resource discovery, never a stack operation), so its permissions
# are not a stack's.
STACK_HANDLERS = ("create", "read", "update", "delete")


@cache
def provider_schema(resource_type: str) -> dict:
    from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

    return PROVIDER_SCHEMA_MANAGER.get_resource_schema("us-east-1", resource_type).schema


def handler_permissions(resource_type: str, handlers: tuple[str, ...], tagged: bool) -> set[str]:
    """What the given handlers of `resource_type` call, and its tagging
    permissions when the resource is tagged."""
    schema = provider_schema(resource_type)
    needed = {p for h in handlers for p in schema.get("handlers", {}).get(h, {}).get("permissions", [])}
    if tagged:
        needed |= set(schema.get("tagging", {}).get("permissions", []))
    return needed


@dataclass(frozen=True)
class Feature:
    """Permissions a resource type's handlers list that are called only for a
    property: needed as soon as a resource sets it, excused while none does."""

    resource_type: str  # whose handlers list the permissions
    property: str  # dotted path under Properties
    permissions: frozenset[str]
    why: str  # the documented behaviour that ties them to the property
    property_of: str | None = None  # the type the property belongs to, when it is another one

    @property
    def owner(self) -> str:
        return self.property_of or self.resource_type


def _feature(resource_type, prop, permissions, why, property_of=None) -> Feature:
    return Feature(resource_type, prop, frozenset(permissions), why, property_of)


# Every exclusion, with the property that would need it. Nothing else is
# excused: a permission of a handler the stack calls is needed unless it is
# here and no resource of the owner type sets the property.
FEATURES = (
    _feature(
        "AWS::DynamoDB::Table", "TimeToLiveSpecification", {"dynamodb:UpdateTimeToLive"},
        "UpdateTimeToLive turns a table's time to live on and off (DynamoDB API Reference, UpdateTimeToLive)",
    ),
    _feature(
        "AWS::DynamoDB::Table", "PointInTimeRecoverySpecification", {"dynamodb:UpdateContinuousBackups"},
        "UpdateContinuousBackups enables point-in-time recovery (DynamoDB API Reference)",
    ),
    _feature(
        "AWS::DynamoDB::Table", "ContributorInsightsSpecification", {"dynamodb:UpdateContributorInsights"},
        "UpdateContributorInsights turns CloudWatch Contributor Insights on (DynamoDB API Reference)",
    ),
    _feature(
        "AWS::DynamoDB::Table", "KinesisStreamSpecification",
        {
            "dynamodb:EnableKinesisStreamingDestination",
            "dynamodb:DisableKinesisStreamingDestination",
            "dynamodb:UpdateKinesisStreamingDestination",
            "kinesis:DescribeStream",
            "kinesis:PutRecords",
        },
        "change data capture to a Kinesis data stream (DynamoDB Developer Guide, 'Using Kinesis Data Streams')",
    ),
    _feature(
        "AWS::DynamoDB::Table", "SSESpecification",
        {"kms:CreateGrant", "kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:ListAliases", "kms:RevokeGrant"},
        "encryption with a KMS key instead of the AWS owned key DynamoDB uses by default",
    ),
    _feature(
        "AWS::DynamoDB::Table", "ResourcePolicy", {"dynamodb:PutResourcePolicy", "dynamodb:DeleteResourcePolicy"},
        "a resource-based policy on the table (DynamoDB Developer Guide, 'Using resource-based policies')",
    ),
    _feature(
        "AWS::DynamoDB::Table", "StreamSpecification.ResourcePolicy",
        {"dynamodb:PutResourcePolicy", "dynamodb:DeleteResourcePolicy"},
        "a resource-based policy on the table's stream",
    ),
    _feature(
        "AWS::DynamoDB::Table", "ImportSourceSpecification",
        {
            "dynamodb:ImportTable",
            "dynamodb:DescribeImport",
            "s3:GetObject",
            "s3:GetObjectMetadata",
            "s3:ListBucket",
            "logs:CreateLogGroup",
            "logs:CreateLogStream",
            "logs:DescribeLogGroups",
            "logs:DescribeLogStreams",
            "logs:PutLogEvents",
            "logs:PutRetentionPolicy",
        },
        "a table created from an import from S3, which reads the objects and logs its errors to CloudWatch Logs "
        "(DynamoDB API Reference, ImportTable)",
    ),
    _feature(
        "AWS::DynamoDB::Table", "Replicas",
        {
            "dynamodb:CreateTableReplica",
            "dynamodb:AssociateTableReplica",
            "dynamodb:Scan",
            "dynamodb:Query",
            "dynamodb:UpdateItem",
            "dynamodb:PutItem",
            "dynamodb:GetItem",
            "dynamodb:DeleteItem",
            "dynamodb:BatchWriteItem",
            "iam:CreateServiceLinkedRole",
        },
        "creating a replica in another Region, which copies the items and creates the replication "
        "service-linked role (DynamoDB Developer Guide, 'DynamoDB global tables security'); a table has "
        "replicas only as an AWS::DynamoDB::GlobalTable",
        property_of="AWS::DynamoDB::GlobalTable",
    ),
    _feature(
        "AWS::SNS::Topic", "DeliveryStatusLogging", {"iam:GetRole", "iam:PassRole"},
        "the role SNS assumes to log delivery status to CloudWatch Logs",
    ),
    _feature(
        "AWS::SNS::Topic", "DataProtectionPolicy", {"sns:PutDataProtectionPolicy"},
        "a message data protection policy (SNS API Reference, PutDataProtectionPolicy)",
    ),
    _feature("AWS::SNS::Topic", "Tags", {"sns:TagResource"}, "tags on the topic"),
    _feature(
        "AWS::CertificateManager::Certificate", "CertificateAuthorityArn",
        {"acm-pca:IssueCertificate", "acm-pca:GetCertificate"},
        "a private certificate issued by AWS Private CA instead of a public one (ACM User Guide)",
    ),
    _feature(
        "AWS::CertificateManager::Certificate", "DomainValidationOptions",
        {"route53:ChangeResourceRecordSets"},
        "the validation record written into a Route 53 hosted zone for you (HostedZoneId)",
    ),
    _feature(
        "AWS::CertificateManager::Certificate", "Tags",
        {"acm:AddTagsToCertificate", "acm:RemoveTagsFromCertificate"},
        "tags on the certificate",
    ),
    _feature(
        "AWS::SNS::Topic", "Subscription", {"sns:Subscribe", "sns:Unsubscribe"},
        "subscriptions declared in the template (the guide subscribes by hand, step 1)",
    ),
    _feature(
        "AWS::ECR::Repository", "EncryptionConfiguration",
        {"kms:CreateGrant", "kms:DescribeKey", "kms:RetireGrant"},
        "encryption with a KMS key instead of AES-256 (ECR User Guide, 'Encryption at rest')",
    ),
    _feature("AWS::ECR::Repository", "LifecyclePolicy", {"ecr:PutLifecyclePolicy"}, "a lifecycle policy"),
    _feature("AWS::ECR::Repository", "RepositoryPolicyText", {"ecr:SetRepositoryPolicy"}, "a repository policy"),
    _feature("AWS::ECR::Repository", "Tags", {"ecr:TagResource"}, "tags on the repository"),
    _feature("AWS::IAM::Role", "Tags", {"iam:TagRole", "iam:UntagRole"}, "tags on the role"),
    _feature("AWS::SSM::Parameter", "Tags", {"ssm:AddTagsToResource"}, "tags on the parameter"),
)


def property_value(properties: dict, path: str):
    value = properties
    for key in path.split("."):
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


def uses(resources: dict, resource_type: str, path: str, tagged: bool = False) -> bool:
    """Whether any resource of `resource_type` sets the property (a condition
    that may leave it out still counts), or, for Tags, is tagged by the stack."""
    if path == "Tags" and tagged:
        return any(r["Type"] == resource_type for r in resources.values())
    return any(
        r["Type"] == resource_type and property_value(r.get("Properties") or {}, path) is not None
        for r in resources.values()
    )


def required_permissions(
    resources: dict, handlers: tuple[str, ...] = STACK_HANDLERS, tagged: bool = False
) -> dict[str, set[str]]:
    """permission -> the resource types that need it, for `resources` (a
    template's Resources, or what the guide makes, in that form)."""
    needed: dict[str, set[str]] = {}
    for resource_type in {r["Type"] for r in resources.values()}:
        features = [f for f in FEATURES if f.resource_type == resource_type]
        in_use = [f for f in features if uses(resources, f.owner, f.property, tagged)]
        # A permission two features list is excused only while neither is used.
        excused = set().union(*(f.permissions for f in features if f not in in_use))
        excused -= set().union(*(f.permissions for f in in_use))
        for permission in handler_permissions(resource_type, handlers, tagged) - excused:
            needed.setdefault(permission, set()).add(resource_type)
    return needed


def policy(name: str) -> dict:
    return json.loads((DEPLOY / "iam" / f"{name}-policy.json").read_text(encoding="utf-8"))


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]


@cache
def _managed_policies() -> dict:
    from moto.iam.aws_managed_policies import aws_managed_policies_data

    return json.loads(aws_managed_policies_data)


def managed_policy(name: str) -> dict:
    """The default version of the AWS managed policy `name`, as AWS publishes it
    (moto ships a copy of every one)."""
    return _managed_policies()[name]["Document"]


def granted_actions(document: dict) -> list[str]:
    """The action patterns of a policy's Allow statements."""
    return [a for s in as_list(document["Statement"]) if s["Effect"] == "Allow" for a in as_list(s["Action"])]


def matches(pattern: str, action: str) -> bool:
    """IAM's matching of an action against an Action pattern: case-insensitive,
    `*` and `?` as wildcards."""
    return fnmatch.fnmatchcase(action.lower(), pattern.lower())


def allowed(patterns, action: str) -> bool:
    return any(matches(p, action) for p in patterns)
