"""The application stack (deploy/stack/messages.yaml): the queue, its
dead-letter queue, the table and the dead-letter alarm both environments share.
cfn-lint on the template, then the stack created on moto's CloudFormation and
read back through SQS and DynamoDB, then deleted; the same with QueueType=fifo."""

from __future__ import annotations

import json
import uuid

import pytest

import ebtemplate
import stackkit

# moto's CloudFormation (5.x) creates no AWS::CloudWatch::Alarm: it skips the
# resource with a warning, and so drops the DeadLetterAlarmName output. The
# alarm is checked in the template itself (and by cfn-lint).
MOTO_OUTPUTS = set(stackkit.OUTPUTS) - {"DeadLetterAlarmName"}

# The attributes a queue of either type must have alike: sqsd's defaults, the
# redrive after 10 receives (= MAX_ATTEMPTS), and SQS's defaults for the rest.
SHARED_ATTRIBUTES = (
    "VisibilityTimeout",
    "MessageRetentionPeriod",
    "DelaySeconds",
    "MaximumMessageSize",
    "ReceiveMessageWaitTimeSeconds",
)


def resources() -> dict:
    return stackkit.template()["Resources"]


# --- the template -------------------------------------------------------------


def test_cfn_lint_finds_nothing_in_the_application_stack():
    ebtemplate.lint(stackkit.TEMPLATE, "deploy/stack/messages.yaml")


def test_the_template_outputs_what_scripts_bundle_and_the_guide_read():
    outputs = stackkit.template()["Outputs"]
    assert set(outputs) == set(stackkit.OUTPUTS), (
        f"deploy/stack/messages.yaml outputs {sorted(outputs)}; scripts/bundle and deploy/README.md read "
        f"{sorted(stackkit.OUTPUTS)}"
    )
    for name, output in outputs.items():
        assert "Export" not in output, (
            f"output {name} is exported: an export ties other stacks to this one and needs a name unique in the region"
        )


def test_every_name_derives_from_the_stack_name():
    for logical, name_property in (
        ("JobQueue", "QueueName"),
        ("DeadLetterQueue", "QueueName"),
        ("MessagesTable", "TableName"),
        ("DeadLetterAlarm", "AlarmName"),
        ("QueueAgeAlarm", "AlarmName"),
        ("WebHealthAlarm", "AlarmName"),
        ("WorkerHealthAlarm", "AlarmName"),
        ("WebErrorRateAlarm", "AlarmName"),
        ("AlarmTopic", "TopicName"),
    ):
        name = resources()[logical]["Properties"][name_property]
        assert isinstance(name, dict) and "${AWS::StackName}" in json.dumps(name), (
            f"{logical}'s {name_property} is {name!r}: derive it from the stack's name, so that two stacks never collide"
        )


def test_the_table_outlives_the_stack_by_declaration():
    table = resources()["MessagesTable"]
    assert table.get("DeletionPolicy") == "Retain", "MessagesTable needs DeletionPolicy: Retain (the data outlives the stack)"
    assert table.get("UpdateReplacePolicy") == "Retain", (
        "MessagesTable needs UpdateReplacePolicy: Retain (a change that replaces the table must keep the old one)"
    )


def test_the_queues_use_sqsds_defaults_and_the_dead_letter_queue_keeps_messages_longest():
    queue = resources()["JobQueue"]["Properties"]
    dlq = resources()["DeadLetterQueue"]["Properties"]
    assert int(queue["VisibilityTimeout"]) == 300, "the queue's VisibilityTimeout must be sqsd's default, 300"
    assert int(queue["MessageRetentionPeriod"]) == 345600, "the queue's retention must be sqsd's default, 345600"
    assert int(dlq["MessageRetentionPeriod"]) == 1209600, (
        "the dead-letter queue keeps messages 14 days (1209600 s), the most SQS allows"
    )
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}, (
        "the queue's redrive must point at DeadLetterQueue's ARN"
    )


def assert_alarm(name: str, expected: dict, dimensions: list) -> None:
    """The alarm `name` is an AWS::CloudWatch::Alarm with each of `expected`'s
    properties and exactly `dimensions`."""
    alarm = resources()[name]
    assert alarm["Type"] == "AWS::CloudWatch::Alarm", f"{name} must be an AWS::CloudWatch::Alarm"
    properties = alarm["Properties"]
    for key, value in expected.items():
        assert properties.get(key) == value, f"{name}'s {key} is {properties.get(key)!r}, not {value!r}"
    assert properties["Dimensions"] == dimensions, f"{name} watches {properties['Dimensions']!r}, not {dimensions!r}"


def test_the_alarm_fires_on_the_first_message_in_the_dead_letter_queue():
    expected = {
        "Namespace": "AWS/SQS",
        "MetricName": "ApproximateNumberOfMessagesVisible",
        "Threshold": 0,
        "ComparisonOperator": "GreaterThanThreshold",
        "EvaluationPeriods": 1,
        "TreatMissingData": "notBreaching",
    }
    # The dead-letter queue, by its QueueName.
    dimensions = [{"Name": "QueueName", "Value": {"Fn::GetAtt": ["DeadLetterQueue", "QueueName"]}}]
    assert_alarm("DeadLetterAlarm", expected, dimensions)


ALARMS = ("DeadLetterAlarm", "QueueAgeAlarm", "WebHealthAlarm", "WorkerHealthAlarm", "WebErrorRateAlarm")


def test_the_queue_age_alarm_fires_past_the_sweepers_threshold():
    """SQS's ApproximateAgeOfOldestMessage on the job queue above
    SweepAfterSeconds (the worker's SWEEP_AFTER_SECONDS: test_bundles holds
    the two to one number): jobs wait longer than the sweeper lets a pending
    message sit before it enqueues it again."""
    expected = {
        "Namespace": "AWS/SQS",
        "MetricName": "ApproximateAgeOfOldestMessage",
        "Statistic": "Maximum",
        "Threshold": {"Ref": "SweepAfterSeconds"},
        "ComparisonOperator": "GreaterThanThreshold",
        "TreatMissingData": "notBreaching",
    }
    dimensions = [{"Name": "QueueName", "Value": {"Fn::GetAtt": ["JobQueue", "QueueName"]}}]
    assert_alarm("QueueAgeAlarm", expected, dimensions)


@pytest.mark.parametrize(("alarm", "environment"), [("WebHealthAlarm", "WebEnvironmentName"), ("WorkerHealthAlarm", "WorkerEnvironmentName")])
def test_each_environments_health_alarm_fires_when_degraded_for_five_minutes(alarm, environment):
    """EnvironmentHealth is 20 when degraded and 25 when severe (Elastic
    Beanstalk's enhanced health metrics); warning (15) is left to the
    environment's own notifications."""
    expected = {
        "Namespace": "AWS/ElasticBeanstalk",
        "MetricName": "EnvironmentHealth",
        "Threshold": 20,
        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        "EvaluationPeriods": 5,
        "TreatMissingData": "notBreaching",
    }
    assert_alarm(alarm, expected, [{"Name": "EnvironmentName", "Value": {"Ref": environment}}])


def test_the_web_error_rate_alarm_divides_its_5xx_by_its_answers():
    properties = resources()["WebErrorRateAlarm"]["Properties"]
    metrics = {metric["Id"]: metric for metric in properties["Metrics"]}
    for name, metric in (("errors", "ApplicationRequests5xx"), ("total", "ApplicationRequestsTotal")):
        stat = metrics[name]["MetricStat"]
        assert stat["Metric"]["MetricName"] == metric and stat["Stat"] == "Sum", metrics[name]
        assert stat["Metric"]["Dimensions"] == [{"Name": "EnvironmentName", "Value": {"Ref": "WebEnvironmentName"}}]
        assert metrics[name]["ReturnData"] is False, f"{name} is an input of the expression, not the alarm's line"
    rate = metrics["rate"]
    assert rate["ReturnData"] is True and "errors / total" in rate["Expression"], rate
    assert "total > 0" in rate["Expression"], "a minute without requests must read 0 %, not a division by zero"
    assert properties["Threshold"] == 5 and properties["ComparisonOperator"] == "GreaterThanThreshold"


def test_the_environment_names_are_the_guides():
    """The alarms watch the environments the guide creates (WEB_ENV and
    WORKER_ENV in deploy/README.md) unless told otherwise."""
    guide = (stackkit.REPO / "deploy" / "README.md").read_text(encoding="utf-8")
    parameters = stackkit.template()["Parameters"]
    for parameter, variable in (("WebEnvironmentName", "WEB_ENV"), ("WorkerEnvironmentName", "WORKER_ENV")):
        default = parameters[parameter]["Default"]
        assert f"{variable}={default}" in guide, f"{parameter}'s default {default!r} is not the guide's {variable}"


def test_the_alarm_and_the_health_notifications_go_to_the_stacks_topic_or_the_one_given():
    """The stack makes `<stack>-alarms` unless AlarmTopicArn names an existing
    topic; the dead-letter alarm notifies that topic, and the
    NotificationTopicArn output (which scripts/bundle writes into both
    environments' `aws:elasticbeanstalk:sns:topics`) names the same one."""
    template = stackkit.template()
    parameter = template["Parameters"]["AlarmTopicArn"]
    assert parameter.get("Default") == "", "AlarmTopicArn must be optional (Default: empty)"
    assert template["Conditions"]["OwnTopic"] == {"Fn::Equals": [{"Ref": "AlarmTopicArn"}, ""]}, (
        "OwnTopic must hold exactly when no AlarmTopicArn is given"
    )
    topic = resources()["AlarmTopic"]
    assert topic["Type"] == "AWS::SNS::Topic" and topic.get("Condition") == "OwnTopic", topic
    assert topic["Properties"]["TopicName"] == {"Fn::Sub": "${AWS::StackName}-alarms"}, topic
    the_topic = {"Fn::If": ["OwnTopic", {"Ref": "AlarmTopic"}, {"Ref": "AlarmTopicArn"}]}
    for alarm in ALARMS:
        actions = resources()[alarm]["Properties"]["AlarmActions"]
        assert actions == [the_topic], f"{alarm}'s AlarmActions are {actions!r}: the topic, made or given"
    assert template["Outputs"]["NotificationTopicArn"]["Value"] == the_topic


def test_the_queues_are_standard_unless_queue_type_is_fifo():
    # SQS: a queue is FIFO only when created with FifoQueue true (without the
    # property, a standard queue), its name must then end in .fifo, and a FIFO
    # queue's dead-letter queue must be a FIFO queue too. The app sends its own
    # deduplication ids, so no queue asks for ContentBasedDeduplication.
    template = stackkit.template()
    parameter = template["Parameters"]["QueueType"]
    assert parameter.get("Default") == "standard", "QueueType must default to standard (the periodic sweep needs it)"
    assert parameter.get("AllowedValues") == ["standard", "fifo"], (
        f"QueueType allows {parameter.get('AllowedValues')}, not standard and fifo"
    )
    assert template["Conditions"]["Fifo"] == {"Fn::Equals": [{"Ref": "QueueType"}, "fifo"]}, (
        "the Fifo condition must hold exactly when QueueType is fifo"
    )
    for logical, name in (("JobQueue", "${AWS::StackName}-queue"), ("DeadLetterQueue", "${AWS::StackName}-queue-dlq")):
        properties = resources()[logical]["Properties"]
        assert properties["QueueName"] == {"Fn::If": ["Fifo", {"Fn::Sub": f"{name}.fifo"}, {"Fn::Sub": name}]}, (
            f"{logical}'s QueueName is {properties['QueueName']!r}: {name} for a standard queue, {name}.fifo for a FIFO one"
        )
        assert properties.get("FifoQueue") == {"Fn::If": ["Fifo", True, {"Ref": "AWS::NoValue"}]}, (
            f"{logical}'s FifoQueue is {properties.get('FifoQueue')!r}: true with QueueType=fifo, absent otherwise"
        )
        assert "ContentBasedDeduplication" not in properties, (
            f"{logical} sets ContentBasedDeduplication: the web sends a MessageDeduplicationId with every job"
        )


# --- the stack on moto ----------------------------------------------------------


@pytest.mark.parametrize(("stack", "suffix"), [("app_stack", ""), ("fifo_stack", ".fifo")], ids=["standard", "fifo"])
def test_the_stack_outputs_the_queue_and_the_table(stack, suffix, request):
    # SQS: a FIFO queue's name ends in .fifo (CreateQueue refuses it otherwise).
    made = request.getfixturevalue(stack)
    outputs = made["outputs"]
    missing = MOTO_OUTPUTS - set(outputs)
    assert not missing, f"the stack on moto has no {sorted(missing)} output: {outputs}"
    name = made["name"]
    assert outputs["QueueName"] == f"{name}-queue{suffix}", (
        f"QueueName {outputs['QueueName']!r} is not <stack>-queue{suffix}"
    )
    assert outputs["QueueURL"].rsplit("/", 1)[-1] == outputs["QueueName"], (
        f"QueueURL {outputs['QueueURL']!r} does not end in the queue's name"
    )
    assert outputs["DeadLetterQueueURL"].rsplit("/", 1)[-1] == f"{name}-queue-dlq{suffix}", (
        f"DeadLetterQueueURL {outputs['DeadLetterQueueURL']!r} does not end in <stack>-queue-dlq{suffix}"
    )
    assert outputs["TableName"] == f"{name}-store", f"TableName {outputs['TableName']!r} is not <stack>-store"


def test_the_queue_redrives_to_the_dead_letter_queue_after_10_receives(app_stack, moto_endpoint):
    sqs = stackkit.client(moto_endpoint, "sqs")
    outputs = app_stack["outputs"]
    attributes = sqs.get_queue_attributes(QueueUrl=outputs["QueueURL"], AttributeNames=["All"])["Attributes"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=outputs["DeadLetterQueueURL"], AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    redrive = json.loads(attributes.get("RedrivePolicy", "{}"))
    assert redrive.get("deadLetterTargetArn") == dlq_arn, f"the queue redrives to {redrive}, not to {dlq_arn}"
    assert int(redrive.get("maxReceiveCount", 0)) == 10, (
        f"maxReceiveCount is {redrive.get('maxReceiveCount')}, not 10 (= MAX_ATTEMPTS)"
    )
    assert attributes["VisibilityTimeout"] == "300", f"VisibilityTimeout is {attributes['VisibilityTimeout']}"
    assert attributes["MessageRetentionPeriod"] == "345600", (
        f"MessageRetentionPeriod is {attributes['MessageRetentionPeriod']}"
    )
    assert outputs["DeadLetterQueueArn"] == dlq_arn, (
        f"DeadLetterQueueArn output {outputs['DeadLetterQueueArn']!r} is not the dead-letter queue's ARN {dlq_arn}"
    )


def test_the_standard_stacks_queues_are_not_fifo(app_stack, moto_endpoint):
    # SQS returns FifoQueue only for a FIFO queue; cron.yaml's periodic sweep
    # needs a standard queue (Elastic Beanstalk runs no periodic task on a FIFO one).
    sqs = stackkit.client(moto_endpoint, "sqs")
    for output in ("QueueURL", "DeadLetterQueueURL"):
        url = app_stack["outputs"][output]
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        assert attributes.get("FifoQueue", "false") == "false", f"{url} is a FIFO queue in the default (standard) stack"


def test_the_fifo_queue_redrives_to_a_fifo_dead_letter_queue_after_10_receives(fifo_stack, app_stack, moto_endpoint):
    # SQS: the dead-letter queue of a FIFO queue must also be a FIFO queue
    # (moto, like SQS, refuses a FIFO queue's redrive to a standard one). The
    # app supplies MessageDeduplicationId, so ContentBasedDeduplication stays off.
    sqs = stackkit.client(moto_endpoint, "sqs")

    def attributes(url: str) -> dict[str, str]:
        return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]

    outputs = fifo_stack["outputs"]
    queue, dlq = attributes(outputs["QueueURL"]), attributes(outputs["DeadLetterQueueURL"])
    for which, found in (("queue", queue), ("dead-letter queue", dlq)):
        assert found.get("FifoQueue") == "true", f"the FIFO stack's {which} is not a FIFO queue: {found}"
        assert found.get("ContentBasedDeduplication") == "false", (
            f"the FIFO stack's {which} has ContentBasedDeduplication {found.get('ContentBasedDeduplication')}"
        )
    redrive = json.loads(queue.get("RedrivePolicy", "{}"))
    assert redrive.get("deadLetterTargetArn") == dlq["QueueArn"], (
        f"the FIFO queue redrives to {redrive}, not to its FIFO dead-letter queue {dlq['QueueArn']}"
    )
    assert int(redrive.get("maxReceiveCount", 0)) == 10, (
        f"maxReceiveCount is {redrive.get('maxReceiveCount')}, not 10 (= MAX_ATTEMPTS)"
    )
    assert outputs["DeadLetterQueueArn"] == dlq["QueueArn"], (
        f"DeadLetterQueueArn output {outputs['DeadLetterQueueArn']!r} is not the dead-letter queue's ARN {dlq['QueueArn']}"
    )
    # Everything else as in the standard stack.
    standard = attributes(app_stack["outputs"]["QueueURL"])
    standard_dlq = attributes(app_stack["outputs"]["DeadLetterQueueURL"])
    standard_redrive = json.loads(standard["RedrivePolicy"])
    assert redrive["maxReceiveCount"] == standard_redrive["maxReceiveCount"], (
        f"the FIFO queue's maxReceiveCount {redrive['maxReceiveCount']} differs from the standard queue's "
        f"{standard_redrive['maxReceiveCount']}"
    )
    for which, fifo_found, standard_found in (("queue", queue, standard), ("dead-letter queue", dlq, standard_dlq)):
        differences = {
            key: (fifo_found.get(key), standard_found.get(key))
            for key in SHARED_ATTRIBUTES
            if fifo_found.get(key) != standard_found.get(key)
        }
        assert not differences, f"the FIFO {which} differs from the standard one (FIFO, standard): {differences}"
    assert dlq["MessageRetentionPeriod"] == "1209600", (
        f"the FIFO dead-letter queue keeps messages {dlq['MessageRetentionPeriod']} s, not 14 days (1209600 s)"
    )


def test_the_table_has_the_keys_and_indexes_the_apps_query(app_stack, moto_endpoint):
    table = stackkit.client(moto_endpoint, "dynamodb").describe_table(TableName=app_stack["outputs"]["TableName"])[
        "Table"
    ]
    # Messages are keyed by shard and id: the newest are listed from the table itself.
    assert table["KeySchema"] == [
        {"AttributeName": "shard", "KeyType": "HASH"},
        {"AttributeName": "id", "KeyType": "RANGE"},
    ], f"key schema {table['KeySchema']}"
    attributes = {a["AttributeName"]: a["AttributeType"] for a in table["AttributeDefinitions"]}
    assert attributes == {"id": "S", "shard": "S", "status_shard": "S", "group_shard": "S"}, f"attributes {attributes}"
    assert table.get("BillingModeSummary", {}).get("BillingMode") == "PAY_PER_REQUEST", (
        f"billing {table.get('BillingModeSummary')}: the table is on demand"
    )
    # moto's CloudFormation does not apply a table's TimeToLiveSpecification,
    # so the template itself is checked (cfn-lint checks its shape).
    ttl = stackkit.template()["Resources"]["MessagesTable"]["Properties"].get("TimeToLiveSpecification")
    assert ttl == {"AttributeName": "expires_at", "Enabled": True}, (
        f"time to live {ttl}: idempotency keys expire on expires_at (crates/messages-aws/src/dynamodb/keys.rs)"
    )
    # The layout of crates/messages-aws/src/dynamodb/layout.rs: lists spread
    # over shards, and no index copies a message's body.
    expected = {
        "status_by_shard": (
            "status_shard",
            {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["updated_at", "requeues"]},
        ),
        "group_by_shard": ("group_shard", {"ProjectionType": "KEYS_ONLY"}),
    }
    indexes = {index["IndexName"]: index for index in table.get("GlobalSecondaryIndexes", [])}
    assert set(indexes) == set(expected), f"indexes {sorted(indexes)}, not {sorted(expected)}"
    for name, (partition, projection) in expected.items():
        assert indexes[name]["KeySchema"] == [
            {"AttributeName": partition, "KeyType": "HASH"},
            {"AttributeName": "id", "KeyType": "RANGE"},
        ], f"index {name}'s keys are {indexes[name]['KeySchema']}, not {partition} + id"
        assert indexes[name]["Projection"] == projection, (
            f"index {name} projects {indexes[name]['Projection']}, not {projection}"
        )


def test_deleting_the_stack_removes_the_queues_and_keeps_the_table(moto_endpoint):
    name = f"deploy-test-delete-{uuid.uuid4().hex[:8]}"
    outputs = stackkit.create_stack(moto_endpoint, name)
    try:
        stackkit.delete_stack(moto_endpoint, name)
        # Asked by name: a listing is paged, and the emulator holds the tables
        # of every other test too.
        dynamodb = stackkit.client(moto_endpoint, "dynamodb")
        try:
            status = dynamodb.describe_table(TableName=outputs["TableName"])["Table"]["TableStatus"]
        except dynamodb.exceptions.ResourceNotFoundException:
            status = None
        assert status == "ACTIVE", (
            f"deleting the stack deleted the table {outputs['TableName']}: it must be retained (DeletionPolicy: Retain)"
        )
        queues = stackkit.client(moto_endpoint, "sqs").list_queues(QueueNamePrefix=name).get("QueueUrls", [])
        assert queues == [], f"deleting the stack left its queues behind: {queues}"
    finally:
        stackkit.remove_retained_table(moto_endpoint, outputs["TableName"])
