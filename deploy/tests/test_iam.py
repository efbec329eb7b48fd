"""The policies in deploy/iam.

- The instance roles': what each binary calls, on its own queue and table only
  (web-policy.json, worker-policy.json); what sqsd calls for the worker
  (sqsd-policy.json); what the platform on each instance calls, on its own
  environment's logs and its application's bundles (platform-policy.json).
  Together they replace AWS's AWSElasticBeanstalkWebTier and
  AWSElasticBeanstalkWorkerTier, which grant SQS on every queue of the account
  and every elasticbeanstalk-* bucket: nothing those two grant the platform is
  lost, and nothing is granted more widely than they do.
- The deployer's (stack-deployer-policy.json): every permission CloudFormation's
  handlers call for the stack's resources, derived from the AWS resource
  provider schemas that cfn-lint ships, with an exclusion only for a feature
  the template does not use.
- The environment operator's (environment-operator-policy.json): what the
  guide has a person without IAM administrator rights do beyond
  AdministratorAccess-AWSElasticBeanstalk, derived the same way.
"""

from __future__ import annotations

import copy
import json

import pytest

from ebspec import DEPLOY, load_yaml
from iamkit import (
    FEATURES,
    STACK_HANDLERS,
    allowed,
    as_list,
    granted_actions,
    managed_policy,
    matches,
    policy,
    provider_schema,
    required_permissions,
)

QUEUE = "arn:aws:sqs:REGION:ACCOUNT_ID:QUEUE_NAME"
DEAD_LETTERS = "arn:aws:sqs:REGION:ACCOUNT_ID:DEAD_LETTER_QUEUE_NAME"
TABLE = "arn:aws:dynamodb:REGION:ACCOUNT_ID:table/TABLE_NAME"
INDEXES = TABLE + "/index/*"
# The table's stream, which every process folds the status counts from
# (crates/messages-aws/src/dynamodb/stream_counts.rs). Its label changes when
# a stream is turned off and on again, hence the wildcard after stream/.
STREAM = TABLE + "/stream/*"
STREAM_ACTIONS = {"dynamodb:DescribeStream", "dynamodb:GetShardIterator", "dynamodb:GetRecords"}
# The stream's ARN, read from the table, and the reading of it; the first
# fold on a table starts its counts (one conditional PutItem) from what the
# table holds (the earlier version's counters, one BatchGetItem, or its
# status index, a Query per shard).
FOLDING = {"dynamodb:DescribeTable", "dynamodb:PutItem", "dynamodb:BatchGetItem", "dynamodb:Query"} | STREAM_ACTIONS
# The web's OPERATOR_TOKEN, an Elastic Beanstalk environment secret: a
# SecureString parameter that Elastic Beanstalk reads with the instance
# profile's credentials ("Required IAM permissions for Elastic Beanstalk to
# access secrets and parameters": ssm:GetParameter; kms:Decrypt only for a
# customer managed key). The guide names it after the stack (deploy/README.md,
# step 6), and the policy grants that one parameter, nothing around it.
OPERATOR_TOKEN = "arn:aws:ssm:REGION:ACCOUNT_ID:parameter/STACK_NAME/operator-token"

# What each binary calls (crates/messages-aws/src). SendMessageBatch is
# authorised by SendMessage; several messages sent at once are a conditional
# PutItem each (nothing calls BatchWriteItem).
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
        "dynamodb:BatchGetItem",
        # Elastic Beanstalk fetching OPERATOR_TOKEN for the web's environment
        "ssm:GetParameter",
    }
    | FOLDING,
    # The worker binary alone (sqsd's calls are in sqsd-policy.json): the
    # sweeper re-sends stuck jobs and reads the queue's depth to tell an idle
    # queue from a busy one.
    "worker": {
        "sqs:SendMessage",
        "sqs:GetQueueAttributes",
        "dynamodb:GetItem",
        "dynamodb:UpdateItem",
        "dynamodb:Query",
    }
    | FOLDING,
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
    "dynamodb:BatchWriteItem",
    # Reading parameters by path or in bulk would reach beyond the one token.
    "ssm:GetParametersByPath",
    "ssm:GetParameters",
    "ssm:PutParameter",
}


def statements(document: dict) -> list[dict]:
    assert document["Version"] == "2012-10-17", "the policy language version must be 2012-10-17"
    for statement in document["Statement"]:
        assert statement["Effect"] == "Allow", f"{statement.get('Sid')}: only Allow statements"
        assert all("*" not in action for action in as_list(statement["Action"])), (
            f"{statement.get('Sid')}: wildcard action in {statement['Action']}"
        )
    return document["Statement"]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_the_policy_grants_what_the_binary_calls_and_nothing_more(name):
    granted = set()
    for statement in statements(policy(name)):
        assert set(statement) <= {"Sid", "Effect", "Action", "Resource"}, statement
        actions = as_list(statement["Action"])
        resources = as_list(statement["Resource"])
        for action in actions:
            service = action.split(":", 1)[0]
            if service == "sqs":
                # The dead-letter queue is the web's alone: it reads and
                # redrives it, and nothing else touches it.
                allowed_sets = [[QUEUE], [DEAD_LETTERS]] if name == "web" else [[QUEUE]]
                assert resources in allowed_sets, f"{name}: {action} must be on {allowed_sets}, not {resources}"
            elif action in STREAM_ACTIONS:
                assert resources == [STREAM], f"{name}: {action} must be on the table's stream, not {resources}"
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


# --- what Elastic Beanstalk's own software on the instances calls ---------------

# Each role's inline policies (deploy/README.md, step 3), and the AWS managed
# policy they replace.
ROLE_POLICIES = {"web": ("web", "platform"), "worker": ("worker", "sqsd", "platform")}
TIER_POLICY = {"web": "AWSElasticBeanstalkWebTier", "worker": "AWSElasticBeanstalkWorkerTier"}
# AWS's own instance policy for Session Manager alone (its user guide's
# "Create a custom IAM role for Session Manager" grants the same five
# actions): not AmazonSSMManagedInstanceCore, whose ssm:GetParameter and
# ssm:GetParameters on "*" would let the instances read every parameter of
# the account, the other environments' secrets included.
SESSION_MANAGER_POLICY = "AWSCloud9SSMInstanceProfile"
# AWS's policy for the CloudWatch agent, which the bundles configure
# (.ebextensions/05-observability.config; test_observability.py).
AGENT_POLICY = "CloudWatchAgentServerPolicy"

BUCKET = "arn:aws:s3:::elasticbeanstalk-REGION-ACCOUNT_ID"
# Where each action of sqsd-policy.json and platform-policy.json may apply.
SCOPES = {
    # sqsd: the stack's queue, no other (WorkerQueueURL); the dead-letter
    # queue is SQS's redrive, which needs no caller's permission, and sqsd
    # reads no queue but its WorkerQueueURL.
    "sqs:ReceiveMessage": {QUEUE},
    "sqs:DeleteMessage": {QUEUE},
    "sqs:ChangeMessageVisibility": {QUEUE},
    "sqs:SendMessage": {QUEUE},
    # The leader election of periodic tasks: the table Elastic Beanstalk
    # creates in the environment's stack (awseb-e-...-stack-AWSEBWorkerCronLeaderRegistry-...),
    # the resource AWSElasticBeanstalkWorkerTier names for it, in this
    # account and Region.
    **{
        f"dynamodb:{a}": {"arn:aws:dynamodb:REGION:ACCOUNT_ID:table/*-stack-AWSEBWorkerCronLeaderRegistry*"}
        for a in ("BatchGetItem", "BatchWriteItem", "DeleteItem", "GetItem", "PutItem", "Query", "Scan", "UpdateItem")
    },
    # The platform downloads the version manifest Elastic Beanstalk writes
    # for the environment, then the application's version it names, from
    # resources/environments/<environment id>/_runtime/ of the region's bucket
    # (the platform engine's log, eb-engine.log: "Download app version
    # manifest"); the environment's id is not known before it exists, the
    # application's name is.
    "s3:GetObject": {
        BUCKET + "/resources/environments/*/_runtime/versions/*",
        BUCKET + "/resources/environments/*/_runtime/_versions/APPLICATION_NAME/*",
    },
    # Logs the instances upload when asked (eb logs) or rotate: under
    # resources/environments/logs/ (write only; Elastic Beanstalk's own bucket
    # policy grants instance roles the same prefix).
    "s3:PutObject": {BUCKET + "/resources/environments/logs/*"},
    # Log streaming: the environment's own log groups (/aws/elasticbeanstalk/<environment>/...);
    # the CloudWatch agent also makes the group of the app's metrics there
    # (.ebextensions/05-observability.config).
    **{
        f"logs:{a}": {"arn:aws:logs:REGION:ACCOUNT_ID:log-group:/aws/elasticbeanstalk/ENVIRONMENT_NAME/*"}
        for a in ("CreateLogStream", "PutLogEvents", "CreateLogGroup")
    },
    # Enhanced health: the health agent reports for its own environment.
    "elasticbeanstalk:PutInstanceStatistics": {
        "arn:aws:elasticbeanstalk:REGION:ACCOUNT_ID:application/APPLICATION_NAME",
        "arn:aws:elasticbeanstalk:REGION:ACCOUNT_ID:environment/APPLICATION_NAME/ENVIRONMENT_NAME",
    },
}
# Actions for which the Service Authorization Reference lists no resource type,
# so that "*" is the only resource a policy can give them, and why no condition
# narrows them.
NO_RESOURCE_LEVEL = {
    # CloudWatch PutMetricData has no resource types; the cloudwatch:namespace
    # condition key could narrow it, but AWS documents no namespace for the
    # metrics sqsd publishes, and AWSElasticBeanstalkWorkerTier grants it
    # unconditioned. Publishing metrics reads no data.
    "cloudwatch:PutMetricData",
    # Session Manager's agent channel: AWS's instance policy for it
    # (AWSCloud9SSMInstanceProfile) grants these on "*"; they open the
    # instance's own channel and read no parameter, document or data.
    "ssm:UpdateInstanceInformation",
    "ssmmessages:CreateControlChannel",
    "ssmmessages:CreateDataChannel",
    "ssmmessages:OpenControlChannel",
    "ssmmessages:OpenDataChannel",
    # The CloudWatch agent sends the app's traces to X-Ray
    # (.ebextensions/05-observability.config): X-Ray's PutTraceSegments and
    # PutTelemetryRecords have no resource types, and the tier policies
    # grant them on "*".
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
}

# What the tier policies grant that no instance here needs, and why.
NOT_NEEDED = {
    # X-Ray's sampling rules are for its daemon and SDKs, which sample by
    # the rules X-Ray hands out; the daemon runs only with the
    # aws:elasticbeanstalk:xray option XRayEnabled, which no bundle sets
    # (checked below). Here the app samples by trace id itself
    # (OTEL_TRACES_SAMPLER_ARG) and the agent passes on what it is sent.
    "xray:GetSampling*": "XRayEnabled",
    # The statements AWS added for its AI environment analysis
    # (AIEnvironmentAnalysis*, MarketplaceOperationsFromBedrock): models
    # invoked with the instances' credentials; nothing here asks for an
    # analysis.
    "bedrock:*": "the AI environment analysis",
    "aws-marketplace:*": "the AI environment analysis",
    "elasticbeanstalk:DescribeEvents": "the AI environment analysis",
    "elasticbeanstalk:DescribeEnvironmentHealth": "the AI environment analysis",
    # The platform reads its manifest and version by key, and writes logs by
    # key: it lists nothing, and reads nothing else of the bucket.
    "s3:List*": "objects are read by key",
    # The worker tier, whose instances stream their logs the same way, grants
    # neither: streaming does not need them.
    "logs:DescribeLogGroups": "not in AWSElasticBeanstalkWorkerTier",
    "logs:DescribeLogStreams": "not in AWSElasticBeanstalkWorkerTier",
}


def bundle_configs() -> list:
    """Every configuration file a bundle carries: each environment's
    .ebextensions, and the Docker platform's addition (README, "The Docker
    platform")."""
    return sorted([*DEPLOY.glob("*/.ebextensions/*.config"), *DEPLOY.glob("docker/*.config")])


def platform_documents(role: str) -> list[dict]:
    return [policy(name) for name in ROLE_POLICIES[role] if name not in EXPECTED]


def role_statements(role: str) -> list[dict]:
    return [s for document in platform_documents(role) for s in statements(document)]


@pytest.mark.parametrize("role", sorted(ROLE_POLICIES))
def test_the_platforms_permissions_are_on_its_own_environment_and_application(role):
    for statement in role_statements(role):
        assert set(statement) <= {"Sid", "Effect", "Action", "Resource"}, statement
        resources = set(as_list(statement["Resource"]))
        for action in as_list(statement["Action"]):
            if action in NO_RESOURCE_LEVEL:
                assert resources == {"*"}, f"{action} has no resource-level permission: give it '*', not {resources}"
                continue
            assert action in SCOPES, f"{role}: {action} is granted, and no scope is known for it"
            assert resources <= SCOPES[action], f"{role}: {action} on {sorted(resources - SCOPES[action])}"
            assert "*" not in resources


@pytest.mark.parametrize("role", sorted(ROLE_POLICIES))
def test_nothing_the_tier_policy_grants_the_platform_is_lost(role):
    """Every action of AWSElasticBeanstalkWebTier or ...WorkerTier (as AWS
    publishes it, moto's copy) is granted by the role's own policies, on its
    own resources, or named in NOT_NEEDED with the reason."""
    ours = [a for s in role_statements(role) + statements(policy(role)) for a in as_list(s["Action"])]
    for pattern in granted_actions(managed_policy(TIER_POLICY[role])):
        kept = any(matches(pattern, action) for action in ours)
        excused = [reason for name, reason in NOT_NEEDED.items() if matches(name, pattern)]
        assert kept or excused, (
            f"{TIER_POLICY[role]} grants {pattern}, which the {role} role's policies "
            f"({', '.join(ROLE_POLICIES[role])}) do not: grant it, scoped, or say in NOT_NEEDED why it is not needed"
        )


def test_no_bundle_turns_on_the_x_ray_daemon():
    # The reason X-Ray's sampling rules are not needed (NOT_NEEDED): the
    # daemon, which asks for them, runs only with XRayEnabled in
    # aws:elasticbeanstalk:xray; the traces go to X-Ray through the
    # CloudWatch agent instead.
    for config in bundle_configs():
        settings = (load_yaml(config) or {}).get("option_settings") or {}
        namespaces = settings if isinstance(settings, dict) else {s.get("namespace"): s for s in settings}
        assert "aws:elasticbeanstalk:xray" not in namespaces, (
            f"{config.relative_to(DEPLOY)} configures X-Ray's daemon: grant the xray sampling actions of the "
            "tier policies in deploy/iam/platform-policy.json and drop xray:GetSampling* from NOT_NEEDED"
        )


def fill_example(document: dict) -> dict:
    """The policy with the guide's example names in its placeholders."""
    text = json.dumps(document)
    for placeholder, value in EXAMPLE.items():
        text = text.replace(placeholder, value)
    return json.loads(text)


EXAMPLE = {
    "REGION": "us-east-1",
    "ACCOUNT_ID": "123456789012",
    "STACK_NAME": "messages",
    "APPLICATION_NAME": "messages",
    "ENVIRONMENT_NAME": "messages-worker",
    "DEAD_LETTER_QUEUE_NAME": "messages-queue-dlq",
    "QUEUE_NAME": "messages-queue",
    "TABLE_NAME": "messages-store",
}


def statement_allows(statement: dict, action: str, resource: str) -> bool:
    """Whether an Allow statement names the action and a resource pattern that
    matches `resource` (conditions are not evaluated: they only narrow)."""
    return (
        statement["Effect"] == "Allow"
        and allowed(as_list(statement["Action"]), action)
        and any(matches(pattern, resource) for pattern in as_list(statement.get("Resource", [])))
    )


@pytest.mark.parametrize("role", sorted(ROLE_POLICIES))
def test_the_platforms_permissions_are_never_wider_than_aws_grants_them(role):
    """Each action the role's platform policies grant, on each resource, is
    one AWS's own policy for it grants too: the tier policy, Session
    Manager's instance policy, or the CloudWatch agent's."""
    theirs = [
        s
        for name in (TIER_POLICY[role], SESSION_MANAGER_POLICY, AGENT_POLICY)
        for s in managed_policy(name)["Statement"]
    ]
    for statement in fill_example({"Statement": role_statements(role)})["Statement"]:
        for action in as_list(statement["Action"]):
            for resource in as_list(statement["Resource"]):
                assert any(statement_allows(s, action, resource) for s in theirs), (
                    f"{role}: {action} on {resource} is granted by no statement of {TIER_POLICY[role]} "
                    f"or {SESSION_MANAGER_POLICY}"
                )


# --- the person who deploys the application stack ------------------------------

STACK = "arn:aws:cloudformation:REGION:ACCOUNT_ID:stack/STACK_NAME/*"
STACK_RESOURCES = {
    "sqs": {"arn:aws:sqs:REGION:ACCOUNT_ID:STACK_NAME-queue*"},
    "dynamodb": {"arn:aws:dynamodb:REGION:ACCOUNT_ID:table/STACK_NAME-store"},
    "cloudwatch": {"arn:aws:cloudwatch:REGION:ACCOUNT_ID:alarm:STACK_NAME-*"},
    "sns": {"arn:aws:sns:REGION:ACCOUNT_ID:STACK_NAME-alarms"},
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

# Deleting the stack leaves the table (DeletionPolicy: Retain): the guide's last
# step deletes it by hand.
BY_HAND = {"dynamodb:DeleteTable"}


def stack_resources(template: dict | None = None) -> dict:
    from stackkit import template as stack_template

    return (template or stack_template())["Resources"]


def stack_needs(resources: dict) -> set[str]:
    # `aws cloudformation deploy --tags` (step 1) tags the stack and every
    # resource in it, so the tagging permissions are needed too.
    return set(required_permissions(resources, STACK_HANDLERS, tagged=True))


def test_the_deployer_may_create_read_update_tag_and_delete_every_resource_of_the_stack():
    granted: dict[str, set[str]] = {}
    for statement in statements(policy("stack-deployer")):
        assert set(statement) <= {"Sid", "Effect", "Action", "Resource"}, f"{statement.get('Sid')}: {sorted(statement)}"
        for action in as_list(statement["Action"]):
            service = action.split(":", 1)[0]
            resources = set(as_list(statement["Resource"]))
            assert resources == STACK_RESOURCES.get(service), (
                f"{action} must be on the stack's own {service} resources {STACK_RESOURCES.get(service)}, not {resources}"
            )
            granted.setdefault(action, set()).update(resources)

    resources = stack_resources()
    needed = stack_needs(resources) | CLOUDFORMATION | BY_HAND
    missing, extra = needed - set(granted), set(granted) - needed
    types = sorted({r["Type"] for r in resources.values()})
    assert not missing, (
        f"deploy/iam/stack-deployer-policy.json lacks {sorted(missing)}, which CloudFormation's handlers call for "
        f"the stack's resources ({types}) and the properties the template sets: add them (or, if a property "
        "needs them that the template does not set, name it in iamkit.FEATURES)"
    )
    assert not extra, f"deploy/iam/stack-deployer-policy.json grants {sorted(extra)}, which the stack does not need"


def test_the_tables_time_to_live_needs_its_permission():
    # The table enables a time to live (TimeToLiveSpecification): CloudFormation
    # calls UpdateTimeToLive, and the deployer must be allowed to.
    resources = stack_resources()
    assert "dynamodb:UpdateTimeToLive" in stack_needs(resources)
    without = copy.deepcopy(resources)
    for resource in without.values():
        (resource.get("Properties") or {}).pop("TimeToLiveSpecification", None)
    assert "dynamodb:UpdateTimeToLive" not in stack_needs(without), (
        "UpdateTimeToLive is needed even without a time to live: the exclusion table no longer applies"
    )
    assert "dynamodb:UpdateTimeToLive" in granted_actions(policy("stack-deployer"))


@pytest.mark.parametrize("feature", FEATURES, ids=lambda f: f"{f.resource_type}.{f.property}")
def test_an_exclusion_names_a_real_property_and_permissions_its_handlers_list(feature):
    """An exclusion can only excuse what the schema lists, for a property the
    schema has, so that it cannot hide a permission behind a made-up feature."""
    top = feature.property.split(".", 1)[0]
    assert top in provider_schema(feature.owner)["properties"], (
        f"{feature.owner} has no property {top}: the exclusion of {sorted(feature.permissions)} names nothing"
    )
    schema = provider_schema(feature.resource_type)
    listed = {
        p
        for handler in schema.get("handlers", {}).values()
        for p in handler.get("permissions", [])
    } | set(schema.get("tagging", {}).get("permissions", []))
    assert feature.permissions <= listed, (
        f"{sorted(feature.permissions - listed)} are not in {feature.resource_type}'s handlers any more: "
        "drop them from the exclusion"
    )


@pytest.mark.parametrize(
    "feature",
    [f for f in FEATURES if f.resource_type in {r["Type"] for r in stack_resources().values()}],
    ids=lambda f: f"{f.resource_type}.{f.property}",
)
def test_a_property_the_template_starts_to_use_makes_its_permissions_needed(feature):
    """Setting an excluded property on the stack's resource makes the
    deployer's test demand its permissions: an exclusion holds only while the
    template does not use the feature."""
    resources = copy.deepcopy(stack_resources())
    if feature.property_of:
        resources["Added"] = {"Type": feature.property_of, "Properties": {feature.property: [{}]}}
    else:
        target = next(r for r in resources.values() if r["Type"] == feature.resource_type)
        properties = target.setdefault("Properties", {})
        *parents, last = feature.property.split(".")
        for key in parents:
            properties = properties.setdefault(key, {})
        properties[last] = {"set": True}
    needed = stack_needs(resources)
    assert feature.permissions <= needed, (
        f"with {feature.property} set, {sorted(feature.permissions - needed)} are still excused"
    )


# --- the person who creates and tears down the environments ---------------------

# What AdministratorAccess-AWSElasticBeanstalk grants (the policy step 0 names):
# the environments, their Auto Scaling groups, load balancers, security groups,
# alarms and CloudFormation stacks (awseb-*), Elastic Beanstalk's bucket, and
# passing a role to EC2 and Elastic Beanstalk. environment-operator-policy.json
# adds what the guide does beyond it, on the guide's own names.
EB_ADMIN = "AdministratorAccess-AWSElasticBeanstalk"

EXAMPLE_REGION, EXAMPLE_ACCOUNT = EXAMPLE["REGION"], EXAMPLE["ACCOUNT_ID"]
EB_BUCKET = f"arn:aws:s3:::elasticbeanstalk-{EXAMPLE_REGION}-{EXAMPLE_ACCOUNT}"


def _role(name: str) -> str:
    return f"arn:aws:iam::{EXAMPLE_ACCOUNT}:role/{name}"


# What the guide makes or removes besides the stack and the environments, in
# the provider schemas' terms: its type, the properties the guide's commands
# set, the handlers that correspond to what it does (create: it is made;
# delete: it is removed), and its ARN for the example names.
OPERATOR_RESOURCES = {
    # The stack makes the topic (stack-deployer-policy.json); the guide only
    # subscribes to it (step 1), and Elastic Beanstalk sends a test
    # notification to it with your credentials when an environment is
    # created or updated with it (step 6, "Health notifications").
    "AlarmTopic": (
        "AWS::SNS::Topic",
        {"TopicName": "messages-alarms"},
        (),
        f"arn:aws:sns:{EXAMPLE_REGION}:{EXAMPLE_ACCOUNT}:messages-alarms",
    ),
    # step 6, "HTTPS for the operator": aws acm request-certificate; step 10:
    # aws acm delete-certificate
    "Certificate": (
        "AWS::CertificateManager::Certificate",
        {"DomainName": "messages.example.com", "ValidationMethod": "DNS"},
        ("create", "delete"),
        f"arn:aws:acm:{EXAMPLE_REGION}:{EXAMPLE_ACCOUNT}:certificate/*",
    ),
    # step 5: aws ec2 create-security-group; step 10: delete-security-group
    "WorkerSecurityGroup": (
        "AWS::EC2::SecurityGroup",
        {"GroupName": "messages-worker-instances", "GroupDescription": "x", "VpcId": "vpc-1"},
        ("create", "delete"),
        f"arn:aws:ec2:{EXAMPLE_REGION}:{EXAMPLE_ACCOUNT}:security-group/sg-0123456789abcdef0",
    ),
    # step 6: aws ssm put-parameter; step 10: delete-parameter
    "OperatorToken": (
        "AWS::SSM::Parameter",
        {"Name": "/messages/operator-token", "Type": "SecureString", "Value": "x"},
        ("create", "delete"),
        f"arn:aws:ssm:{EXAMPLE_REGION}:{EXAMPLE_ACCOUNT}:parameter/messages/operator-token",
    ),
    # the Docker platform: aws ecr create-repository; delete-repository --force
    "ImagesRepository": (
        "AWS::ECR::Repository",
        {"RepositoryName": "messages"},
        ("create", "delete"),
        f"arn:aws:ecr:{EXAMPLE_REGION}:{EXAMPLE_ACCOUNT}:repository/messages",
    ),
    # step 10: the instance roles and their profiles, made by an IAM
    # administrator in step 3, removed with their policies
    **{
        f"{role.capitalize()}Role": (
            "AWS::IAM::Role",
            {"RoleName": f"messages-{role}", "AssumeRolePolicyDocument": {}, "Policies": [{}], "ManagedPolicyArns": []},
            ("delete",),
            _role(f"messages-{role}"),
        )
        for role in ("web", "worker")
    },
    **{
        f"{role.capitalize()}Profile": (
            "AWS::IAM::InstanceProfile",
            {"InstanceProfileName": f"messages-{role}", "Roles": [f"messages-{role}"]},
            ("delete",),
            f"arn:aws:iam::{EXAMPLE_ACCOUNT}:instance-profile/messages-{role}",
        )
        for role in ("web", "worker")
    },
    # step 10: Elastic Beanstalk's bucket, its policy first (it denies DeleteBucket)
    "BucketPolicy": ("AWS::S3::BucketPolicy", {"Bucket": "x", "PolicyDocument": {}}, ("delete",), EB_BUCKET),
    "Bucket": ("AWS::S3::Bucket", {"BucketName": "x"}, ("delete",), EB_BUCKET),
}

# What the guide's commands call beyond the handlers of what they make: the
# token read back (aws ssm get-parameter), and docker push to the repository
# ("IAM permissions for pushing an image to an Amazon ECR private repository").
CLI_CALLS = {
    "AlarmTopic": {"sns:Subscribe", "sns:Publish"},
    # aws acm list-certificates, to find the ARN (no resource-level permission)
    "Certificate": {"acm:ListCertificates"},
    "OperatorToken": {"ssm:GetParameter"},
    "ImagesRepository": {
        "ecr:GetAuthorizationToken",
        "ecr:BatchCheckLayerAvailability",
        "ecr:InitiateLayerUpload",
        "ecr:UploadLayerPart",
        "ecr:CompleteLayerUpload",
        "ecr:PutImage",
        "ecr:BatchGetImage",
    },
}

# Actions with no resource type in the Service Authorization Reference: "*".
OPERATOR_NO_RESOURCE_LEVEL = {
    "cloudwatch:GetMetricData",
    "ecr:GetAuthorizationToken",
    "acm:ListCertificates",
    "acm:RequestCertificate",
}


def bundle_resources() -> dict:
    """The Resources the bundles add to their environments' stacks
    (.ebextensions), which Elastic Beanstalk creates with the caller's
    permissions."""
    resources = {}
    for config in bundle_configs():
        for name, resource in ((load_yaml(config) or {}).get("Resources") or {}).items():
            resources[f"{config.parent.parent.name}/{name}"] = resource
    return resources


def operator_needs() -> dict[str, set[str]]:
    """action -> the ARNs it is needed on ("*" where it applies to none)."""
    needs: dict[str, set[str]] = {}
    for name, (resource_type, properties, handlers, arn) in OPERATOR_RESOURCES.items():
        resource = {name: {"Type": resource_type, "Properties": properties}}
        for action in set(required_permissions(resource, handlers)) | CLI_CALLS.get(name, set()):
            needs.setdefault(action, set()).add("*" if action in OPERATOR_NO_RESOURCE_LEVEL else arn)
    for name, resource in bundle_resources().items():
        resource_type = resource["Type"]
        if name.split("/", 1)[1].startswith("AWSEB"):
            # A resource of Elastic Beanstalk's own that a bundle adds
            # properties to: AdministratorAccess-AWSElasticBeanstalk is made
            # for those (autoscaling:* on awseb-* groups); only its own
            # service's update calls are ours to check.
            service = resource_type.split("::")[1].lower()
            actions = {a for a in required_permissions({name: resource}, ("update",)) if a.startswith(service + ":")}
        else:
            actions = set(required_permissions({name: resource}))
        for action in actions:
            needs.setdefault(action, set()).add("*")
    return needs


def test_the_environment_operator_needs_no_more_than_eb_admin_and_the_operator_policy():
    """Every permission the guide's non-IAM steps need (from the provider
    schemas of what they make and remove, and of the bundles' resources) is
    granted by AdministratorAccess-AWSElasticBeanstalk or by
    environment-operator-policy.json, on the guide's own names."""
    eb_admin = managed_policy(EB_ADMIN)["Statement"]
    operator = fill_example(policy("environment-operator"))["Statement"]
    missing = []
    for action, arns in sorted(operator_needs().items()):
        for arn in sorted(arns):
            if arn == "*":
                # A bundle resource's permissions, or one without resource
                # types: the action must be granted at all.
                ok = allowed([a for s in eb_admin + operator for a in as_list(s["Action"])], action)
            else:
                ok = any(statement_allows(s, action, arn) for s in eb_admin + operator)
            if not ok:
                missing.append(f"{action} on {arn}")
    assert not missing, (
        f"neither {EB_ADMIN} nor deploy/iam/environment-operator-policy.json grants: {missing}"
    )


def test_the_environment_operator_policy_grants_only_what_eb_admin_lacks_on_the_guides_names():
    eb_admin = managed_policy(EB_ADMIN)["Statement"]
    needs = operator_needs()
    for statement in statements(fill_example(policy("environment-operator"))):
        assert set(statement) <= {"Sid", "Effect", "Action", "Resource"}, statement
        resources = as_list(statement["Resource"])
        for action in as_list(statement["Action"]):
            assert action in needs, f"environment-operator-policy.json grants {action}, which nothing in the guide needs"
            if action in OPERATOR_NO_RESOURCE_LEVEL:
                assert resources == ["*"], f"{action} has no resource-level permission: '*', not {resources}"
                assert not any(statement_allows(s, action, "*") for s in eb_admin), (
                    f"{EB_ADMIN} already grants {action}: drop it from environment-operator-policy.json"
                )
                continue
            for resource in resources:
                assert resource in needs[action], (
                    f"{action} is granted on {resource}, not one of what the guide makes: {sorted(needs[action])}"
                )
                assert not any(statement_allows(s, action, resource) for s in eb_admin), (
                    f"{EB_ADMIN} already grants {action} on {resource}: drop it from environment-operator-policy.json"
                )


def test_the_docker_instances_pull_the_applications_images_alone():
    """docker-ecr-policy.json: what the instances need to pull the image
    (a subset of AmazonEC2ContainerRegistryReadOnly's actions), on the
    application's repository instead of every repository of the account."""
    read_only = granted_actions(managed_policy("AmazonEC2ContainerRegistryReadOnly"))
    granted = set()
    for statement in statements(policy("docker-ecr")):
        resources = as_list(statement["Resource"])
        for action in as_list(statement["Action"]):
            assert action in read_only, f"{action} is more than AmazonEC2ContainerRegistryReadOnly grants"
            expected = ["*"] if action == "ecr:GetAuthorizationToken" else [
                "arn:aws:ecr:REGION:ACCOUNT_ID:repository/APPLICATION_NAME"
            ]
            assert resources == expected, f"{action} on {resources}, not {expected}"
            granted.add(action)
    # ECR User Guide, "Private registry authentication" and the pull of an
    # image: the token, the manifest, the layers.
    assert granted >= {"ecr:GetAuthorizationToken", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"}
