"""The application stack (deploy/stack/messages.yaml) on moto's CloudFormation,
and bundles made from its outputs by scripts/bundle, as the guide makes them."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import boto3
import pytest

from ebspec import BUNDLES, DEPLOY, REPO, Bundle, load_yaml, open_bundle

TEMPLATE = DEPLOY / "stack" / "messages.yaml"
BUNDLE_SCRIPT = REPO / "scripts" / "bundle"

# moto's fixed account, and the region every test uses.
ACCOUNT = "123456789012"
REGION = "us-east-1"

# What the guide and scripts/bundle read from the stack.
OUTPUTS = (
    "QueueURL",
    "QueueName",
    "DeadLetterQueueURL",
    "DeadLetterQueueArn",
    "TableName",
    "DeadLetterAlarmName",
    "NotificationTopicArn",
)


def template() -> dict:
    return load_yaml(TEMPLATE)


def client(endpoint: str, service: str):
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def aws_environment(endpoint: str) -> dict[str, str]:
    """What a process needs to reach moto instead of AWS (on Elastic Beanstalk
    the instance role gives the credentials, and there is no endpoint)."""
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
    }


def wait_for_stack(endpoint: str, name: str, seconds: float = 60) -> dict:
    """The stack once no operation is in progress on it."""
    cloudformation = client(endpoint, "cloudformation")
    deadline = time.monotonic() + seconds
    while True:
        stack = cloudformation.describe_stacks(StackName=name)["Stacks"][0]
        if not stack["StackStatus"].endswith("_IN_PROGRESS"):
            return stack
        if time.monotonic() > deadline:
            pytest.fail(f"stack {name} still {stack['StackStatus']} after {seconds} s", pytrace=False)
        time.sleep(0.2)


def create_stack(endpoint: str, name: str, parameters: dict[str, str] | None = None) -> dict[str, str]:
    """Creates the application stack as `aws cloudformation deploy` would, waits
    for CREATE_COMPLETE and returns its outputs."""
    cloudformation = client(endpoint, "cloudformation")
    cloudformation.create_stack(
        StackName=name,
        TemplateBody=TEMPLATE.read_text(encoding="utf-8"),
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in (parameters or {}).items()],
    )
    stack = wait_for_stack(endpoint, name)
    if stack["StackStatus"] != "CREATE_COMPLETE":
        events = cloudformation.describe_stack_events(StackName=name)["StackEvents"]
        reasons = [f"{e['LogicalResourceId']}: {e.get('ResourceStatusReason')}" for e in events if e.get("ResourceStatusReason")]
        pytest.fail(
            f"deploy/stack/messages.yaml ended {stack['StackStatus']} on moto: {stack.get('StackStatusReason')}\n"
            + "\n".join(reasons),
            pytrace=False,
        )
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def delete_stack(endpoint: str, name: str, seconds: float = 60) -> None:
    """Deletes the stack and waits until CloudFormation no longer lists it."""
    cloudformation = client(endpoint, "cloudformation")
    cloudformation.delete_stack(StackName=name)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            status = cloudformation.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"]
        except cloudformation.exceptions.ClientError as error:
            if "does not exist" in str(error):
                return
            raise
        if status == "DELETE_COMPLETE":
            return
        assert not status.endswith("_FAILED"), f"deleting stack {name} ended {status}"
        time.sleep(0.2)
    pytest.fail(f"stack {name} was not deleted within {seconds} s", pytrace=False)


def remove_retained_table(endpoint: str, table: str) -> None:
    """The last step of the guide's tear-down, for the tests' own stacks."""
    dynamodb = client(endpoint, "dynamodb")
    try:
        dynamodb.delete_table(TableName=table)
    except dynamodb.exceptions.ResourceNotFoundException:
        pass


def outputs_file(outputs: dict[str, str], path: Path) -> Path:
    """What `aws cloudformation describe-stacks --query 'Stacks[0].Outputs'` prints."""
    listed = [{"OutputKey": key, "OutputValue": value, "Description": key} for key, value in outputs.items()]
    path.write_text(json.dumps(listed, indent=2), encoding="utf-8")
    return path


def real_binaries(bundles: dict[str, Bundle], folder: Path) -> Path:
    """The binaries of the test command's bundles (DIST_DIR), in one folder as
    scripts/bundle's TARGET_DIR expects them."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, bundle in bundles.items():
        binary = BUNDLES[name]["binary"]
        shutil.copy2(bundle.root / binary, folder / binary)
    return folder


def run_bundle_script(target_dir: Path, dist_dir: Path, **settings: str) -> subprocess.CompletedProcess:
    """`SKIP_BUILD=1 scripts/bundle` with TARGET_DIR, DIST_DIR and `settings`,
    on a clean environment (no stack variables of this machine leak in)."""
    env = {key: os.environ[key] for key in ("PATH", "HOME", "LANG", "TMPDIR") if key in os.environ}
    env.update(SKIP_BUILD="1", TARGET_DIR=str(target_dir), DIST_DIR=str(dist_dir), **settings)
    return subprocess.run(
        ["bash", str(BUNDLE_SCRIPT)], cwd=REPO, env=env, capture_output=True, text=True, timeout=300
    )


def bundle_with_outputs(outputs: dict[str, str], target_dir: Path, work: Path) -> dict[str, Bundle]:
    """Both bundles made by scripts/bundle from the stack's outputs, unzipped."""
    dist = work / "dist"
    result = run_bundle_script(target_dir, dist, STACK_OUTPUTS=str(outputs_file(outputs, work / "outputs.json")))
    assert result.returncode == 0, f"scripts/bundle with the stack's outputs failed:\n{result.stdout}{result.stderr}"
    return {name: open_bundle(name, dist / f"{name}.zip", work / f"{name}-bundle") for name in BUNDLES}
