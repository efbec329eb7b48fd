"""The guide's instance-role commands, run as written with the AWS CLI against
moto's IAM: step 3 gives each role exactly its inline policies, filled in,
with no placeholder left and no managed policy; the Docker platform adds its
own; step 10's loop then deletes both roles and their instance profiles. IAM
refuses DeleteRole while the role still has an inline policy, an attached
managed policy or an instance profile (IAM API Reference, DeleteRole), and so
does moto, so a tear-down that forgets one fails here as it would on AWS."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from ebspec import REPO
from guidekit import block_with, fill_function, section
from iamkit import as_list, managed_policy
from stackkit import ACCOUNT, REGION, client

# IAM and AWS STS quotas: a role's inline policies together, whitespace not
# counted.
ROLE_INLINE_POLICY_QUOTA = 10_240
READ_ONLY = "AmazonEC2ContainerRegistryReadOnly"


def run_guide(script: str, endpoint: str, names: dict[str, str]) -> subprocess.CompletedProcess:
    """Runs shell code from the guide with its variables set, the AWS CLI
    pointed at moto."""
    env = {
        **os.environ,
        # The CLI of the test command's virtualenv first.
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_PAGER": "",
        **names,
    }
    return subprocess.run(
        ["bash", "-c", "set -euo pipefail\n" + fill_function() + script],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def filled(document: str, names: dict[str, str], environment: str | None = None) -> dict:
    """What the guide's fill (and the per-environment sed) should make of a
    policy of deploy/iam."""
    text = (REPO / "deploy" / "iam" / document).read_text(encoding="utf-8")
    for placeholder, variable in (
        ("REGION", "REGION"),
        ("ACCOUNT_ID", "ACCOUNT_ID"),
        ("STACK_NAME", "STACK"),
        ("APPLICATION_NAME", "APP"),
        ("DEAD_LETTER_QUEUE_NAME", "DEAD_LETTER_QUEUE_NAME"),
        ("QUEUE_NAME", "QUEUE_NAME"),
        ("TABLE_NAME", "TABLE_NAME"),
    ):
        text = text.replace(placeholder, names[variable])
    if environment:
        text = text.replace("ENVIRONMENT_NAME", environment)
    return json.loads(text)


def placeholders_left(document: dict) -> set[str]:
    """Upper-case words of two parts or more (QUEUE_NAME, ...) left in the
    ARNs of a filled-in policy."""
    arns = [r for s in document["Statement"] for r in as_list(s.get("Resource", []))]
    return {word for arn in arns for word in re.findall(r"\b[A-Z]+(?:_[A-Z]+)+\b", arn)}


@pytest.fixture
def names() -> dict[str, str]:
    # Names of their own, so that runs sharing one moto server do not meet.
    app = f"guide-{uuid.uuid4().hex[:8]}"
    return {
        "REGION": REGION,
        "ACCOUNT_ID": ACCOUNT,
        "APP": app,
        "STACK": app,
        "WEB_ENV": f"{app}-web",
        "WORKER_ENV": f"{app}-worker",
        "QUEUE_NAME": f"{app}-queue",
        "DEAD_LETTER_QUEUE_NAME": f"{app}-queue-dlq",
        "TABLE_NAME": f"{app}-store",
    }


def test_the_guides_roles_get_their_scoped_policies_and_its_tear_down_removes_them(moto_endpoint, names):
    iam = client(moto_endpoint, "iam")
    app = names["APP"]
    step3 = block_with("create-role", section("3. Give each environment its instance role"))
    docker = section("The Docker platform")
    imds = block_with("docker-imds-policy.json", docker)
    ecr = block_with("docker-ecr-policy.json", docker)
    # A role that someone attached a managed policy to (earlier versions of
    # this guide attached the Web and Worker tier policies): the tear-down
    # must detach it too. moto's server holds AWS's own managed policies only
    # when asked to, so one with AmazonEC2ContainerRegistryReadOnly's
    # document stands in for it.
    read_only = json.dumps(managed_policy(READ_ONLY))
    attached_by_hand = (
        f"aws iam create-policy --policy-name \"$APP-{READ_ONLY}\" --policy-document '{read_only}' >/dev/null\n"
        + "".join(
            f'aws iam attach-role-policy --role-name "$APP-{role}" '
            f'--policy-arn "arn:aws:iam::$ACCOUNT_ID:policy/$APP-{READ_ONLY}"\n'
            for role in ("web", "worker")
        )
    )
    made = run_guide(step3 + imds + ecr + attached_by_hand, moto_endpoint, names)
    assert made.returncode == 0, f"step 3 and the Docker additions fail:\n{made.stderr}"

    expected = {
        "web": {
            f"{app}-web": filled("web-policy.json", names),
            f"{app}-web-platform": filled("platform-policy.json", names, names["WEB_ENV"]),
            f"{app}-web-imds": filled("docker-imds-policy.json", names, names["WEB_ENV"]),
            f"{app}-web-ecr": filled("docker-ecr-policy.json", names),
        },
        "worker": {
            f"{app}-worker": filled("worker-policy.json", names),
            f"{app}-worker-platform": filled("platform-policy.json", names, names["WORKER_ENV"]),
            f"{app}-worker-sqsd": filled("sqsd-policy.json", names),
            f"{app}-worker-imds": filled("docker-imds-policy.json", names, names["WORKER_ENV"]),
            f"{app}-worker-ecr": filled("docker-ecr-policy.json", names),
        },
    }
    for role, policies in expected.items():
        role_name = f"{app}-{role}"
        listed = set(iam.list_role_policies(RoleName=role_name)["PolicyNames"])
        assert listed == set(policies), f"{role_name} has the inline policies {sorted(listed)}, not {sorted(policies)}"
        size = 0
        for policy_name, document in policies.items():
            got = iam.get_role_policy(RoleName=role_name, PolicyName=policy_name)["PolicyDocument"]
            got = json.loads(got) if isinstance(got, str) else got
            assert got == document, f"{policy_name} is not deploy/iam's policy filled in: {got}"
            assert not placeholders_left(got), f"{policy_name} keeps placeholders {placeholders_left(got)}"
            size += len(re.sub(r"\s", "", json.dumps(got)))
        assert size <= ROLE_INLINE_POLICY_QUOTA, (
            f"{role_name}'s inline policies hold {size} characters, more than IAM allows a role "
            f"({ROLE_INLINE_POLICY_QUOTA})"
        )
        attached = [p["PolicyName"] for p in iam.list_attached_role_policies(RoleName=role_name)["AttachedPolicies"]]
        assert attached == [f"{app}-{READ_ONLY}"], f"{role_name} has managed policies {attached}"
        (profile,) = iam.list_instance_profiles_for_role(RoleName=role_name)["InstanceProfiles"]
        assert profile["InstanceProfileName"] == role_name

    tear_down = block_with("aws iam delete-role --", section("10. Tear it all down"))
    removed = run_guide(tear_down, moto_endpoint, names)
    assert removed.returncode == 0, f"step 10's role tear-down fails:\n{removed.stderr}"
    left = [r["RoleName"] for r in iam.list_roles()["Roles"] if r["RoleName"].startswith(f"{app}-")]
    assert not left, f"step 10 leaves the roles {left}"
    profiles = [p["InstanceProfileName"] for p in iam.list_instance_profiles()["InstanceProfiles"]]
    assert not [p for p in profiles if p.startswith(f"{app}-")], f"step 10 leaves instance profiles: {profiles}"
    iam.delete_policy(PolicyArn=f"arn:aws:iam::{ACCOUNT}:policy/{app}-{READ_ONLY}")


def test_the_users_policies_need_only_names_known_before_the_stack():
    """Step 0 has an IAM administrator fill in the deployer's and the
    operator's policies before step 1 makes the stack, so they may use only
    the names the guide sets first; and each must fit a customer managed
    policy (6,144 characters, IAM and AWS STS quotas)."""
    before_the_stack = {"REGION", "ACCOUNT_ID", "STACK_NAME", "APPLICATION_NAME"}
    for name in ("stack-deployer-policy.json", "environment-operator-policy.json"):
        text = (REPO / "deploy" / "iam" / name).read_text(encoding="utf-8")
        document = json.loads(text)
        used = {
            word
            for s in document["Statement"]
            for arn in as_list(s["Resource"])
            for word in re.findall(r"\b[A-Z]+(?:_[A-Z]+)*\b", arn)
        }
        assert used <= before_the_stack, f"{name} uses {sorted(used - before_the_stack)}, known only after step 1"
        assert len(re.sub(r"\s", "", text)) <= 6_144, f"{name} is longer than a managed policy may be"
