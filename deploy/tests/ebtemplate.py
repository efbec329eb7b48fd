"""cfn-lint on CloudFormation: the application stack's template as it is, and a
bundle's .ebextensions as the stand-alone template Elastic Beanstalk would merge
them into."""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ebspec import Bundle, function_value

ASG = "AWS::AutoScaling::AutoScalingGroup"

# Stand-ins for the resources Elastic Beanstalk itself declares in an
# environment's stack, with the properties it gives them: a bundle may only
# add properties to these ("Modifying the resources that Elastic Beanstalk
# creates for your environment").
def _stand_ins(min_size: str, max_size: str) -> dict:
    return {
        "AWSEBEC2LaunchTemplate": {
            "Type": "AWS::EC2::LaunchTemplate",
            "Properties": {
                "LaunchTemplateData": {"ImageId": {"Ref": "PlatformImageId"}, "InstanceType": "t3.micro"}
            },
        },
        # An Application Load Balancer's resources ("Modifying the resources
        # that Elastic Beanstalk creates for your environment": load-balanced
        # environments), as Elastic Beanstalk makes them: the default
        # listener on port 80 forwards to the default process's target group.
        "AWSEBV2LoadBalancer": {
            "Type": "AWS::ElasticLoadBalancingV2::LoadBalancer",
            "Properties": {"Type": "application", "Subnets": {"Ref": "Subnets"}},
        },
        "AWSEBV2LoadBalancerTargetGroup": {
            "Type": "AWS::ElasticLoadBalancingV2::TargetGroup",
            "Properties": {"Port": 80, "Protocol": "HTTP", "VpcId": {"Ref": "VpcId"}, "HealthCheckPath": "/health"},
        },
        "AWSEBV2LoadBalancerListener": {
            "Type": "AWS::ElasticLoadBalancingV2::Listener",
            "Properties": {
                "LoadBalancerArn": {"Ref": "AWSEBV2LoadBalancer"},
                "Port": 80,
                "Protocol": "HTTP",
                "DefaultActions": [{"Type": "forward", "TargetGroupArn": {"Ref": "AWSEBV2LoadBalancerTargetGroup"}}],
            },
        },
        "AWSEBAutoScalingGroup": {
            "Type": ASG,
            "Properties": {
                "MinSize": min_size,
                "MaxSize": max_size,
                "AvailabilityZones": {"Fn::GetAZs": ""},
                "LaunchTemplate": {
                    "LaunchTemplateId": {"Ref": "AWSEBEC2LaunchTemplate"},
                    "Version": {"Fn::GetAtt": ["AWSEBEC2LaunchTemplate", "LatestVersionNumber"]},
                },
            },
        },
    }


# The stand-ins each stand-in refers to.
NEEDS = {
    "AWSEBAutoScalingGroup": ("AWSEBEC2LaunchTemplate",),
    "AWSEBV2LoadBalancerListener": ("AWSEBV2LoadBalancer", "AWSEBV2LoadBalancerTargetGroup"),
}


def option_settings_of(bundle: Bundle) -> dict[tuple[str, str], object]:
    return {(o.namespace, o.name): o.value for o in bundle.options}


def substitute_option_settings(value, options: dict, parameters: dict):
    """Fn::GetOptionSetting replaced as Elastic Beanstalk does before
    CloudFormation sees the template: by the option's value, else its
    DefaultValue, else (not set in the bundle) a template parameter."""
    if isinstance(value, list):
        return [substitute_option_settings(item, options, parameters) for item in value]
    if not isinstance(value, dict):
        return value
    if set(value) == {"Fn::GetOptionSetting"}:
        spec = value["Fn::GetOptionSetting"]
        assert set(spec) <= {"Namespace", "OptionName", "DefaultValue"} and {"Namespace", "OptionName"} <= set(spec), (
            f"Fn::GetOptionSetting takes Namespace, OptionName and an optional DefaultValue, not {sorted(spec)}"
        )
        key = (spec["Namespace"], spec["OptionName"])
        if key in options:
            return str(options[key])
        if "DefaultValue" in spec:
            return spec["DefaultValue"]
        parameter = "Option" + re.sub(r"[^A-Za-z0-9]", "", spec["OptionName"])
        parameters[parameter] = {"Type": "String", "Description": f"{key[0]} {key[1]}, set by Elastic Beanstalk"}
        return {"Ref": parameter}
    return {key: substitute_option_settings(item, options, parameters) for key, item in value.items()}


def eb_template(bundle: Bundle) -> dict:
    """The bundle's Resources and Outputs as the stand-alone template Elastic
    Beanstalk would merge them into: its own resources stand in where the
    bundle modifies or refers to them, the names it provides (AWSEBEnvironmentName,
    ...) become parameters, and every '`{...}`' option value becomes an output,
    so cfn-lint checks what it refers to as well."""
    options = option_settings_of(bundle)
    parameters: dict = {}
    resources = substitute_option_settings(copy.deepcopy(bundle.section("Resources")), options, parameters)
    outputs = dict(bundle.section("Outputs"))
    for index, option in enumerate(bundle.options):
        function = function_value(option.value)
        if function is not None:
            key = "Option" + re.sub(r"[^A-Za-z0-9]", "", option.name) + str(index)
            outputs[key] = {"Description": f"{option.namespace} {option.name}", "Value": function}

    stand_ins = _stand_ins(
        str(options.get(("aws:autoscaling:asg", "MinSize"), 1)),
        str(options.get(("aws:autoscaling:asg", "MaxSize"), 4)),
    )
    referenced = set(re.findall(r'"(AWSEB[A-Za-z0-9]+)"', json.dumps([resources, outputs])))
    for name, needs in NEEDS.items():
        if name in referenced:
            referenced.update(needs)
    for name in sorted(referenced & set(stand_ins)):
        merged = copy.deepcopy(stand_ins[name])
        if name in resources:
            override = resources[name]
            assert override.get("Type", merged["Type"]) == merged["Type"], (
                f"{bundle.name}: {name} is Elastic Beanstalk's {merged['Type']}, not {override.get('Type')}"
            )
            merged["Properties"].update(override.get("Properties") or {})
            merged.update({k: v for k, v in override.items() if k not in {"Type", "Properties"}})
        resources[name] = merged
    if "AWSEBEC2LaunchTemplate" in resources:
        parameters["PlatformImageId"] = {"Type": "AWS::EC2::Image::Id", "Description": "the platform's AMI"}
    if "AWSEBV2LoadBalancer" in resources:
        parameters["Subnets"] = {"Type": "List<AWS::EC2::Subnet::Id>", "Description": "the environment's subnets"}
    if "AWSEBV2LoadBalancerTargetGroup" in resources:
        parameters["VpcId"] = {"Type": "AWS::EC2::VPC::Id", "Description": "the environment's VPC"}
    for name in sorted(referenced - set(resources)):
        parameters[name] = {"Type": "String", "Description": "provided by Elastic Beanstalk"}

    template = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": f"The resources of the {bundle.name} bundle's .ebextensions",
        "Resources": resources or {"Nothing": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
    }
    if parameters:
        template["Parameters"] = parameters
    if outputs:
        template["Outputs"] = outputs
    return template


def _cfn_lint() -> list[str]:
    beside = Path(sys.executable).with_name("cfn-lint")
    if beside.exists():
        return [str(beside)]
    return [sys.executable, "-m", "cfnlint"]


def lint(path: Path, what: str) -> None:
    """cfn-lint with no error and no warning (informational findings pass)."""
    try:
        result = subprocess.run(
            [*_cfn_lint(), "--regions", "us-east-1", "--", str(path)],
            capture_output=True,
            text=True,
            timeout=300,
        )
    except FileNotFoundError:
        pytest.fail("cfn-lint is not installed: pip install -r deploy/tests/requirements.txt", pytrace=False)
    report = (result.stdout + result.stderr).strip()
    # cfn-lint's exit code is a bit mask: 2 errors, 4 warnings, 8 informational.
    assert result.returncode & 2 == 0, f"cfn-lint found errors in {what}:\n{report}"
    assert result.returncode & 4 == 0, f"cfn-lint warns about {what}:\n{report}"
    assert result.returncode in (0, 8), f"cfn-lint failed ({result.returncode}) on {what}:\n{report}"


def lint_bundle(bundle: Bundle, folder: Path) -> None:
    path = folder / f"{bundle.name}-ebextensions.yaml"
    path.write_text(yaml.safe_dump(eb_template(bundle), sort_keys=False), encoding="utf-8")
    lint(path, f"{bundle.name}'s .ebextensions resources")
