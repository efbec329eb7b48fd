"""Each environment's scaling (.ebextensions/03-scaling.config). The worker's:
a target tracking policy on the queue's backlog per instance, as the Amazon
EC2 Auto Scaling User Guide builds it with metric math. The web's: a target
tracking policy on its instances' average CPU. In both, nothing else scales
the group."""

from __future__ import annotations

import pytest

from ebspec import BUNDLES, TRIGGER_THRESHOLD_RANGE

ASG = "aws:autoscaling:asg"
TRIGGER = "aws:autoscaling:trigger"
SQSD = "aws:elasticbeanstalk:sqsd"
ENVIRONMENT = "aws:elasticbeanstalk:application:environment"

# The numbers the target is computed from (03-scaling.config says why).
ACCEPTABLE_LATENCY_SECONDS = 60
AVERAGE_JOB_SECONDS = 0.5


def policy(bundle) -> dict:
    policies = [r for r in bundle.section("Resources").values() if r.get("Type") == "AWS::AutoScaling::ScalingPolicy"]
    assert len(policies) == 1, f"the {bundle.name}'s .ebextensions declare {len(policies)} scaling policies, not one"
    return policies[0]["Properties"]


def metrics(worker) -> dict[str, dict]:
    specification = policy(worker)["TargetTrackingConfiguration"]["CustomizedMetricSpecification"]
    assert set(specification) == {"Metrics"}, (
        f"the customized metric is {sorted(specification)}: use metric math (Metrics) only"
    )
    return {query["Id"]: query for query in specification["Metrics"]}


def test_the_policy_tracks_a_target_on_the_environments_auto_scaling_group(worker):
    properties = policy(worker)
    assert properties["AutoScalingGroupName"] == {"Ref": "AWSEBAutoScalingGroup"}, (
        f"the policy is attached to {properties['AutoScalingGroupName']!r}, not Elastic Beanstalk's AWSEBAutoScalingGroup"
    )
    assert properties["PolicyType"] == "TargetTrackingScaling", f"PolicyType is {properties['PolicyType']!r}"


def test_the_metric_is_visible_messages_divided_by_instances_in_service(worker):
    queries = metrics(worker)
    assert set(queries) == {"m1", "m2", "e1"}, f"metric ids {sorted(queries)}, not m1, m2 and e1"
    m1, m2, e1 = queries["m1"], queries["m2"], queries["e1"]
    assert m1["MetricStat"]["Metric"]["Namespace"] == "AWS/SQS", "m1 must be an SQS metric"
    assert m1["MetricStat"]["Metric"]["MetricName"] == "ApproximateNumberOfMessagesVisible", (
        "m1 must be ApproximateNumberOfMessagesVisible (the jobs waiting)"
    )
    assert m1["MetricStat"]["Stat"] == "Sum", "m1's statistic is Sum, as in the guide's example"
    assert [d["Name"] for d in m1["MetricStat"]["Metric"]["Dimensions"]] == ["QueueName"], "m1 is per QueueName"
    assert m2["MetricStat"]["Metric"]["Namespace"] == "AWS/AutoScaling", "m2 must be an Auto Scaling metric"
    assert m2["MetricStat"]["Metric"]["MetricName"] == "GroupInServiceInstances", "m2 must be GroupInServiceInstances"
    assert m2["MetricStat"]["Stat"] == "Average", "m2's statistic is Average, as in the guide's example"
    assert m2["MetricStat"]["Metric"]["Dimensions"] == [
        {"Name": "AutoScalingGroupName", "Value": {"Ref": "AWSEBAutoScalingGroup"}}
    ], "m2 must count the instances of this environment's group"
    assert e1.get("Expression", "").replace(" ", "") == "m1/m2", f"e1 is {e1.get('Expression')!r}, not m1 / m2"
    returned = sorted(query_id for query_id, query in queries.items() if query.get("ReturnData", True))
    assert returned == ["e1"], f"queries returning data: {returned}; only the expression e1 may"


def test_the_queue_name_is_the_literal_the_bundle_script_writes(worker):
    value = metrics(worker)["m1"]["MetricStat"]["Metric"]["Dimensions"][0]["Value"]
    assert value == {"Fn::GetOptionSetting": {"Namespace": ENVIRONMENT, "OptionName": "QUEUE_NAME"}}, (
        f"m1's QueueName is {value!r}: read the QUEUE_NAME environment property (a literal in the generated "
        "00-stack.config), not a resource of the environment"
    )


def test_the_target_is_acceptable_latency_over_time_per_job_per_instance(worker):
    connections = int(worker.option(SQSD, "HttpConnections"))
    seconds_per_job = AVERAGE_JOB_SECONDS / connections
    expected = ACCEPTABLE_LATENCY_SECONDS / seconds_per_job
    target = float(policy(worker)["TargetTrackingConfiguration"]["TargetValue"])
    assert target == expected, (
        f"TargetValue is {target}, but {ACCEPTABLE_LATENCY_SECONDS} s / ({AVERAGE_JOB_SECONDS} s / {connections} "
        f"connections) = {expected}: recompute the target (and 03-scaling.config's explanation)"
    )


def test_group_metrics_are_collected_so_instances_in_service_has_data(worker):
    group = worker.section("Resources").get("AWSEBAutoScalingGroup")
    assert group, "the worker must enable metrics collection on AWSEBAutoScalingGroup (GroupInServiceInstances)"
    assert group.get("Type") == "AWS::AutoScaling::AutoScalingGroup", f"AWSEBAutoScalingGroup's Type is {group.get('Type')}"
    assert set(group) <= {"Type", "Properties"} and set(group["Properties"]) == {"MetricsCollection"}, (
        f"the worker may only add MetricsCollection to Elastic Beanstalk's group, not {sorted(group['Properties'])}"
    )
    collected = [
        metric
        for collection in group["Properties"]["MetricsCollection"]
        if collection.get("Granularity") == "1Minute"
        for metric in collection.get("Metrics", [])
    ]
    assert "GroupInServiceInstances" in collected, (
        f"GroupInServiceInstances is not collected at 1Minute granularity: {group['Properties']['MetricsCollection']}"
    )


def test_the_group_has_room_to_scale(worker):
    minimum, maximum = int(worker.option(ASG, "MinSize")), int(worker.option(ASG, "MaxSize"))
    assert 1 <= minimum < maximum, f"MinSize {minimum} and MaxSize {maximum}: at least one instance, and room to grow"


@pytest.mark.parametrize("name", sorted(BUNDLES))
def test_elastic_beanstalks_own_trigger_can_never_fire(bundles, name):
    # Elastic Beanstalk attaches two simple scaling policies on its trigger to
    # every environment's group (by default on NetworkOut); with thresholds
    # average CPU cannot cross they never act against the target tracking.
    bundle = bundles[name]
    low, high = TRIGGER_THRESHOLD_RANGE
    assert bundle.option(TRIGGER, "MeasureName") == "CPUUtilization", "the trigger must measure CPUUtilization"
    assert bundle.option(TRIGGER, "Unit") == "Percent", "CPUUtilization is in Percent"
    assert bundle.option(TRIGGER, "Statistic") == "Average", "the trigger's statistic must be Average (at most 100 %)"
    upper, lower = int(bundle.option(TRIGGER, "UpperThreshold")), int(bundle.option(TRIGGER, "LowerThreshold"))
    assert 100 <= upper <= high, f"UpperThreshold {upper}: CPU must never be above it (>= 100, <= {high})"
    assert low <= lower <= 0, f"LowerThreshold {lower}: CPU must never be below it (<= 0, >= {low})"


# --- the web ------------------------------------------------------------------------


def test_the_web_tracks_its_average_cpu_on_its_own_group(web):
    # Target tracking on the predefined metric ASGAverageCPUUtilization
    # ("Target tracking scaling policies"), attached to the group Elastic
    # Beanstalk creates: it needs no load balancer, so the one web bundle
    # scales behind one and runs without (`--single`).
    properties = policy(web)
    assert properties["AutoScalingGroupName"] == {"Ref": "AWSEBAutoScalingGroup"}, properties["AutoScalingGroupName"]
    assert properties["PolicyType"] == "TargetTrackingScaling", f"PolicyType is {properties['PolicyType']!r}"
    tracking = properties["TargetTrackingConfiguration"]
    assert tracking["PredefinedMetricSpecification"] == {"PredefinedMetricType": "ASGAverageCPUUtilization"}, tracking
    assert 0 < float(tracking["TargetValue"]) < 100, f"a CPU target of {tracking['TargetValue']} % can never be tracked"
    assert "AWSEBV2LoadBalancer" not in str(properties), "the web's policy must not need the load balancer"


def test_the_web_keeps_elastic_beanstalks_default_group_size(web):
    # aws:autoscaling:asg MinSize 1 and MaxSize 4 by default: room to scale,
    # and nothing set that a single-instance environment would contradict.
    assert not [o for o in web.options if o.namespace == ASG], "the web sets its group's size: leave the defaults 1..4"
