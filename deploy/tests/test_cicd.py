"""CI/CD: the GitHub Actions workflows (.github/workflows/), the role they
assume (deploy/cicd/github-deploy-role.yaml), and the CodeBuild + CodePipeline
alternative (buildspec.yml, deploy/cicd/codepipeline.yaml).

actionlint on every workflow (with shellcheck on their `run:` scripts),
shellcheck on deploy/cicd/deploy-version, cfn-lint on every template under
deploy/cicd/, then what matters for a deploy: the role trusts one branch of one
repository, grants no wildcard action and exactly the permissions derived from
what the workflow calls and the resource provider schemas, the workflows test
before they deploy, deploy the worker before the web with a unique version
label, and the buildspec has the shape CodeBuild and the pipeline read.
Last, the role stack created on moto's CloudFormation (MOTO_ENDPOINT), its
trust policy read back as IAM holds it."""

from __future__ import annotations

import fnmatch
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import ebtemplate
from ebspec import DEPLOY, REPO, load_yaml

WORKFLOWS = REPO / ".github" / "workflows"
CICD = DEPLOY / "cicd"
ROLE_TEMPLATE = CICD / "github-deploy-role.yaml"
PIPELINE_TEMPLATE = CICD / "codepipeline.yaml"
DEPLOY_SCRIPT = CICD / "deploy-version"
BUILDSPEC = REPO / "buildspec.yml"
GUIDE = DEPLOY / "README.md"
BIN = Path(sys.executable).parent


def tool(name: str) -> str:
    path = BIN / name
    if not path.exists():
        pytest.fail(f"{name} is not installed beside pytest: pip install -r deploy/tests/requirements.txt", pytrace=False)
    return str(path)


def workflow(name: str) -> dict:
    data = yaml.safe_load((WORKFLOWS / name).read_text(encoding="utf-8"))
    # YAML 1.1 reads the key `on` as true; GitHub reads it as "on".
    if True in data:
        data["on"] = data.pop(True)
    return data


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]


# --- linters ------------------------------------------------------------------


def workflow_files() -> list[Path]:
    return sorted(p for p in WORKFLOWS.iterdir() if p.suffix in {".yml", ".yaml"})


def test_there_is_a_test_workflow_and_a_deploy_workflow():
    assert {p.name for p in workflow_files()} >= {"test.yml", "deploy.yml"}


@pytest.mark.parametrize("path", workflow_files(), ids=lambda p: p.name)
def test_actionlint_finds_nothing_in_the_workflow(path):
    """actionlint: the workflow syntax, expressions, the inputs of known actions
    (role-to-assume, aws-region, ...), deprecated action runtimes, and, through
    shellcheck, every `run:` script. Any finding fails."""
    result = subprocess.run(
        [tool("actionlint"), "-shellcheck", tool("shellcheck"), "-no-color", str(path)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    report = (result.stdout + result.stderr).strip()
    assert result.returncode == 0 and not report, f"actionlint on {path.name}:\n{report}"


def test_shellcheck_finds_nothing_in_the_deploy_script():
    result = subprocess.run([tool("shellcheck"), str(DEPLOY_SCRIPT)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, f"shellcheck on deploy/cicd/deploy-version:\n{result.stdout}{result.stderr}"


def cicd_templates() -> list[Path]:
    return sorted(CICD.glob("*.yaml"))


def test_both_cicd_templates_are_linted():
    assert {p.name for p in cicd_templates()} >= {"github-deploy-role.yaml", "codepipeline.yaml"}


@pytest.mark.parametrize("path", cicd_templates(), ids=lambda p: p.name)
def test_cfn_lint_finds_nothing_in_the_template(path):
    ebtemplate.lint(path, f"deploy/cicd/{path.name}")


# --- the role's trust policy --------------------------------------------------

GITHUB_ISSUER = "token.actions.githubusercontent.com"


def trust_problems(statement: dict) -> list[str]:
    """What lets more than one branch of one repository assume the role
    (GitHub: "Configuring OpenID Connect in Amazon Web Services"; IAM's advice
    to evaluate the `sub` key): empty when the statement is right."""
    problems = []
    if statement.get("Effect") != "Allow" or as_list(statement.get("Action")) != ["sts:AssumeRoleWithWebIdentity"]:
        problems.append("the statement must allow sts:AssumeRoleWithWebIdentity alone")
    condition = statement.get("Condition") or {}
    if set(condition) != {"StringEquals"}:
        problems.append(f"the condition must be StringEquals alone (no StringLike, no wildcard), not {sorted(condition)}")
    equals = condition.get("StringEquals") or {}
    if equals.get(f"{GITHUB_ISSUER}:aud") != "sts.amazonaws.com":
        problems.append(f"{GITHUB_ISSUER}:aud must be sts.amazonaws.com")
    sub = equals.get(f"{GITHUB_ISSUER}:sub")
    wanted = {"Fn::Sub": "repo:${GitHubOwner}/${GitHubRepository}:ref:refs/heads/${Branch}"}
    if sub != wanted:
        problems.append(f"{GITHUB_ISSUER}:sub must be {wanted}, not {sub}")
    if "*" in str(condition):
        problems.append("a wildcard in the condition")
    return problems


def role_template() -> dict:
    return load_yaml(ROLE_TEMPLATE)


def test_the_role_trusts_one_branch_of_one_repository_through_githubs_oidc():
    statements = role_template()["Resources"]["DeployRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert len(statements) == 1, "one trust statement: GitHub's workflow runs on the one branch"
    assert trust_problems(statements[0]) == []


@pytest.mark.parametrize(
    "broken",
    [
        {"StringLike": {f"{GITHUB_ISSUER}:aud": "sts.amazonaws.com", f"{GITHUB_ISSUER}:sub": "repo:*"}},
        {"StringEquals": {f"{GITHUB_ISSUER}:aud": "sts.amazonaws.com"}},
        {"StringEquals": {f"{GITHUB_ISSUER}:sub": {"Fn::Sub": "repo:${GitHubOwner}/${GitHubRepository}:ref:refs/heads/${Branch}"}}},
        {
            "StringEquals": {f"{GITHUB_ISSUER}:aud": "sts.amazonaws.com"},
            "StringLike": {f"{GITHUB_ISSUER}:sub": {"Fn::Sub": "repo:${GitHubOwner}/*"}},
        },
    ],
    ids=["string-like-any-repo", "no-sub", "no-aud", "any-repo-of-the-owner"],
)
def test_the_trust_check_refuses_a_condition_that_admits_other_repositories(broken):
    """The check above can fail: each of these admits workflows it must not."""
    statement = {
        "Effect": "Allow",
        "Principal": {"Federated": "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": broken,
    }
    assert trust_problems(statement)


def test_the_repository_and_branch_parameters_admit_no_wildcard():
    """StringEquals takes a `*` literally, so it cannot widen the match, but a
    `*` (or a `:`) is never a GitHub name: CloudFormation refuses it up front,
    before a role is made that no workflow can assume."""
    parameters = role_template()["Parameters"]
    for name, good in {"GitHubOwner": "octo-org", "GitHubRepository": "messages", "Branch": "main"}.items():
        pattern = parameters[name]["AllowedPattern"]
        assert re.fullmatch(pattern, good), f"{name} must accept {good!r}"
        for bad in ("*", f"{good}*", "a:b"):
            assert not re.fullmatch(pattern, bad), f"{name}'s AllowedPattern accepts {bad!r}"


def test_the_oidc_provider_is_githubs_for_sts_or_an_existing_one():
    """IAM allows one provider per URL in an account: the template creates
    GitHub's (audience sts.amazonaws.com, what configure-aws-credentials asks
    for) unless the ARN of an existing one is given."""
    template = role_template()
    provider = template["Resources"]["GitHubOidcProvider"]
    assert provider["Type"] == "AWS::IAM::OIDCProvider"
    assert provider["Properties"]["Url"] == f"https://{GITHUB_ISSUER}"
    assert provider["Properties"]["ClientIdList"] == ["sts.amazonaws.com"]
    assert provider["Condition"] == "CreateOidcProvider"
    assert template["Conditions"]["CreateOidcProvider"] == {"Fn::Equals": [{"Ref": "ExistingOidcProviderArn"}, ""]}


# --- least privilege ------------------------------------------------------------

# The resource types of an environment's CloudFormation stack (awseb-e-...),
# whose handlers Elastic Beanstalk's UpdateEnvironment runs with the caller's
# credentials: its own (the group, its launch template, the security groups,
# the web's Application Load Balancer with its listeners, rules and target
# group, the trigger's alarms and scaling policies) and what the bundles'
# .ebextensions add (a scaling policy each, the worker's group metrics).
# WaitCondition(Handle)s need no permission.
EB_STACK_TYPES = (
    "AWS::AutoScaling::AutoScalingGroup",
    "AWS::AutoScaling::ScalingPolicy",
    "AWS::EC2::LaunchTemplate",
    "AWS::EC2::SecurityGroup",
    "AWS::ElasticLoadBalancingV2::LoadBalancer",
    "AWS::ElasticLoadBalancingV2::Listener",
    "AWS::ElasticLoadBalancingV2::ListenerRule",
    "AWS::ElasticLoadBalancingV2::TargetGroup",
    "AWS::CloudWatch::Alarm",
)

# Handler permissions for features the environments do not use, left out.
UNUSED = {
    # The Auto Scaling service-linked role exists since the environments were created.
    "iam:CreateServiceLinkedRole",
    # A launch template AMI from a Parameter Store parameter (Elastic Beanstalk
    # names the AMI itself); ssm:Get* would also reach the operator token.
    "ssm:Get*",
    # ec2:Get* serves instance requirements and Spot mixes, which the groups do
    # not use (and includes GetPasswordData); the reads are ec2:Describe*.
    "ec2:Get*",
    # Listener rules authenticating with Cognito.
    "cognito-idp:DescribeUserPoolClient",
    # Load balancer capacity reservations and IPAM pools.
    "elasticloadbalancing:ModifyCapacityReservation",
    "elasticloadbalancing:ModifyIpPools",
    # The environment's tags and operations role are set when it is created.
    "elasticbeanstalk:AddTags",
    "elasticbeanstalk:RemoveTags",
    "elasticbeanstalk:ListTagsForResource",
    "elasticbeanstalk:AssociateEnvironmentOperationsRole",
    "elasticbeanstalk:DisassociateEnvironmentOperationsRole",
}
UNUSED_SERVICES = {"managed-fleets", "vpc-lattice"}

# Calls no schema lists: Elastic Beanstalk's own on the environment's stack
# (AWSElasticBeanstalkManagedUpdatesCustomerRolePolicy grants cloudformation:*
# on awseb-* stacks; these are the calls a deploy makes), and the events the
# deploy shows when it fails.
EB_STACK_CALLS = {
    "cloudformation:DescribeStackEvents",
    "cloudformation:DescribeStackResource",
    "cloudformation:DescribeStackResources",
    "cloudformation:DescribeStacks",
    "cloudformation:GetTemplate",
    "cloudformation:UpdateStack",
    "elasticbeanstalk:DescribeEvents",
}

# What each role's own work calls besides the deploy.
OWN_CALLS = {
    # scripts/bundle's describe-stacks on the application stack.
    "DeployRole": {"cloudformation:DescribeStacks"},
    # The source action's connection, the build action's project, the artifacts.
    "PipelineRole": {
        "codestar-connections:UseConnection",
        "codebuild:StartBuild",
        "codebuild:BatchGetBuilds",
        "s3:GetObjectVersion",
        "s3:GetBucketVersioning",
    },
}


def handler_permissions(resource_type: str, handlers=("create", "read", "update", "delete")) -> set[str]:
    from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

    schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema("us-east-1", resource_type).schema
    found = set(schema.get("tagging", {}).get("permissions", []))
    for handler in handlers:
        found.update(schema.get("handlers", {}).get(handler, {}).get("permissions", []))
    return found


def needed_for_a_deploy() -> set[str]:
    """A version created from an uploaded bundle (ApplicationVersion's create
    handler), an environment updated to it (Environment's update handler), and
    everything the environment's stack update runs with the caller's
    credentials (EB_STACK_TYPES' handlers)."""
    needed = handler_permissions("AWS::ElasticBeanstalk::ApplicationVersion", ("create",))
    needed |= handler_permissions("AWS::ElasticBeanstalk::Environment", ("update",))
    for resource_type in EB_STACK_TYPES:
        needed |= handler_permissions(resource_type)
    needed = {a for a in needed if a not in UNUSED and a.split(":", 1)[0] not in UNUSED_SERVICES}
    return needed | EB_STACK_CALLS


def covers(granted: set[str], action: str) -> bool:
    return any(fnmatch.fnmatchcase(action, pattern) for pattern in granted)


def policy_statements(template: dict, role: str) -> list[dict]:
    statements = []
    for policy in template["Resources"][role]["Properties"].get("Policies", []):
        statements.extend(policy["PolicyDocument"]["Statement"])
    return statements


ROLES = [
    (ROLE_TEMPLATE, "DeployRole"),
    (PIPELINE_TEMPLATE, "PipelineRole"),
    (PIPELINE_TEMPLATE, "BuildRole"),
]


def schema_wildcards() -> set[str]:
    """The wildcard actions the provider schemas themselves list."""
    found = set()
    for resource_type in EB_STACK_TYPES:
        found |= {a for a in handler_permissions(resource_type) if "*" in a}
    return found


def wildcard_problems(statements: list[dict]) -> list[str]:
    problems = []
    allowed = {a for a in schema_wildcards() if a.endswith(":Describe*")}
    for statement in statements:
        if statement.get("Effect") != "Allow" or "NotAction" in statement or "NotResource" in statement:
            problems.append(f"{statement.get('Sid')}: Allow with Action and Resource only")
        for action in as_list(statement.get("Action", [])):
            if "*" in action and action not in allowed:
                problems.append(f"{statement.get('Sid')}: wildcard action {action}")
    return problems


@pytest.mark.parametrize("path,role", ROLES, ids=[r for _, r in ROLES])
def test_no_role_grants_a_wildcard_action(path, role):
    """No `*`, no `service:*`, no mutating wildcard: the only wildcards are the
    read-only Describe* the resource provider schemas list verbatim."""
    assert wildcard_problems(policy_statements(load_yaml(path), role)) == []


def test_the_wildcard_check_can_fail():
    assert wildcard_problems([{"Sid": "x", "Effect": "Allow", "Action": "s3:*", "Resource": "*"}])
    assert wildcard_problems([{"Sid": "x", "Effect": "Allow", "Action": "*", "Resource": "*"}])
    assert wildcard_problems([{"Sid": "x", "Effect": "Allow", "Action": "ec2:Create*", "Resource": "*"}])


@pytest.mark.parametrize("path,role", ROLES[:2], ids=[r for _, r in ROLES[:2]])
def test_the_deploying_roles_hold_what_a_deploy_needs_and_nothing_more(path, role):
    """Derived, not listed by hand: the handlers' permissions (resource
    provider schemas) of the version, the environment and the environment
    stack's resource types, less the unused features, plus the calls no
    schema lists (EB_STACK_CALLS) and the role's own work (OWN_CALLS). Adding
    a resource type to EB_STACK_TYPES without its permissions fails here."""
    granted = {a for s in policy_statements(load_yaml(path), role) for a in as_list(s["Action"])}
    needed = needed_for_a_deploy() | OWN_CALLS[role]
    missing = sorted(a for a in needed if not covers(granted, a))
    extra = sorted(a for a in granted if a not in needed)
    assert not missing, f"{path.name} {role} lacks {missing}"
    assert not extra, f"{path.name} {role} grants {extra}, which no deploy needs"


@pytest.mark.parametrize("path,role", ROLES, ids=[r for _, r in ROLES])
def test_only_reads_and_new_ec2_resources_are_granted_on_every_resource(path, role):
    """Everything else is scoped to the stack, the application, its
    environments, Elastic Beanstalk's awseb-* resources or the two instance
    roles; EC2's launch templates, security groups and instances get their IDs
    when created, so no ARN can name them beforehand."""
    for statement in policy_statements(load_yaml(path), role):
        if "*" not in as_list(statement["Resource"]):
            continue
        for action in as_list(statement["Action"]):
            service, name = action.split(":", 1)
            assert service == "ec2" or name.startswith(("Describe", "Get", "List")), (
                f"{role} {statement.get('Sid')}: {action} on every resource"
            )


@pytest.mark.parametrize("path,role", ROLES[:2], ids=[r for _, r in ROLES[:2]])
def test_the_roles_pass_only_the_two_instance_roles(path, role):
    for statement in policy_statements(load_yaml(path), role):
        if "iam:PassRole" in as_list(statement["Action"]):
            assert statement["Resource"] == [
                {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/${WebInstanceRole}"},
                {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/${WorkerInstanceRole}"},
            ]


# --- the workflows -----------------------------------------------------------------


def steps(job: dict) -> list[dict]:
    return job.get("steps", [])


def all_uses(data: dict) -> list[str]:
    found = []
    for job in data["jobs"].values():
        if "uses" in job:
            found.append(job["uses"])
        found.extend(step["uses"] for step in steps(job) if "uses" in step)
    return found


@pytest.mark.parametrize("name", ["test.yml", "deploy.yml"])
def test_every_action_is_pinned_to_a_major_version_or_a_commit(name):
    """A branch (`@main`) can change under the workflow; a major tag only
    takes fixes, a commit nothing."""
    for uses in all_uses(workflow(name)):
        if uses.startswith("./"):
            continue
        ref = uses.rsplit("@", 1)[-1]
        assert re.fullmatch(r"v\d+(\.\d+){0,2}|[0-9a-f]{40}", ref), f"{name}: {uses} is not pinned"


def test_the_test_workflow_runs_the_readmes_test_command_on_pull_requests():
    data = workflow("test.yml")
    assert "pull_request" in data["on"] and "workflow_call" in data["on"]
    assert data["permissions"] == {"contents": "read"}
    runs = [step.get("run", "") for job in data["jobs"].values() for step in steps(job)]
    assert any(run.strip() == "scripts/test" for run in runs), "a step must run scripts/test as it is"
    assert "scripts/test" in (REPO / "README.md").read_text(encoding="utf-8")
    uses = all_uses(data)
    assert any(u.startswith(("Swatinem/rust-cache@", "actions/cache@")) for u in uses), "a cargo cache"


def deploy_steps() -> list[dict]:
    return steps(workflow("deploy.yml")["jobs"]["deploy"])


def index_of(predicate, what: str) -> int:
    for index, step in enumerate(deploy_steps()):
        if predicate(step):
            return index
    pytest.fail(f"deploy.yml has no step that {what}", pytrace=False)


def test_the_deploy_workflow_tests_first_on_pushes_to_main():
    data = workflow("deploy.yml")
    assert data["on"]["push"]["branches"] == ["main"]
    assert "workflow_dispatch" in data["on"]
    assert data["jobs"]["test"]["uses"] == "./.github/workflows/test.yml"
    assert data["jobs"]["deploy"]["needs"] in ("test", ["test"])


def test_the_deploy_job_assumes_the_role_through_oidc_with_no_secret():
    data = workflow("deploy.yml")
    job = data["jobs"]["deploy"]
    assert job["permissions"] == {"id-token": "write", "contents": "read"}
    credentials = [s for s in steps(job) if s.get("uses", "").startswith("aws-actions/configure-aws-credentials@")]
    assert len(credentials) == 1
    inputs = credentials[0]["with"]
    assert inputs["role-to-assume"] == "${{ vars.DEPLOY_ROLE_ARN }}"
    assert inputs["aws-region"] == "${{ vars.AWS_REGION }}"
    assert "aws-access-key-id" not in inputs
    assert "secrets." not in (WORKFLOWS / "deploy.yml").read_text(encoding="utf-8")
    # A job with a GitHub environment gets the OIDC subject
    # repo:O/R:environment:NAME, which the role's trust policy does not admit.
    assert "environment" not in job


def test_two_deploys_never_overlap():
    concurrency = workflow("deploy.yml")["jobs"]["deploy"]["concurrency"]
    assert concurrency["group"] and concurrency["cancel-in-progress"] is False


def test_the_deploy_builds_for_glibc_2_34_then_bundles_with_the_stacks_outputs():
    build = index_of(lambda s: "cargo zigbuild" in s.get("run", ""), "runs cargo zigbuild")
    command = deploy_steps()[build]["run"]
    assert "--release" in command and "--locked" in command and '.2.34"' in command
    assert "-p web" in command and "-p worker" in command
    bundle = index_of(lambda s: "scripts/bundle" in s.get("run", ""), "runs scripts/bundle")
    run = deploy_steps()[bundle]["run"]
    assert "SKIP_BUILD=1" in run and 'TARGET_DIR="target/$RUST_TARGET/release"' in run
    assert workflow("deploy.yml")["jobs"]["deploy"]["env"]["STACK_NAME"] == "${{ vars.STACK_NAME }}"
    assert build < bundle


def bundle_settings() -> set[str]:
    """The settings scripts/bundle documents in its header."""
    header = (REPO / "scripts" / "bundle").read_text(encoding="utf-8").split("\nset -", 1)[0]
    section = header.split("# Settings (environment variables):", 1)[1]
    return set(re.findall(r"^#\s{1,3}([A-Z][A-Z0-9_]+)", section, re.M))


def test_the_deploy_passes_scripts_bundle_only_settings_it_documents():
    """scripts/bundle's settings are the contract: a setting it does not read
    would be silently ignored."""
    documented = bundle_settings()
    assert {"SKIP_BUILD", "TARGET_DIR", "STACK_NAME", "INSTANCE_TYPE"} <= documented
    step = deploy_steps()[index_of(lambda s: "scripts/bundle" in s.get("run", ""), "runs scripts/bundle")]
    given = set(step.get("env", {})) | set(re.findall(r"\b([A-Z][A-Z0-9_]+)=", step["run"]))
    assert given <= documented, f"deploy.yml gives scripts/bundle {sorted(given - documented)}, which it does not document"
    (command,) = [c for c in buildspec()["phases"]["build"]["commands"] if "scripts/bundle" in c]
    assert set(re.findall(r"\b([A-Z][A-Z0-9_]+)=", command)) <= documented
    # The pipeline's build gets the same settings as the workflow's bundle step.
    project = load_yaml(PIPELINE_TEMPLATE)["Resources"]["BuildProject"]["Properties"]
    project_settings = {v["Name"] for v in project["Environment"]["EnvironmentVariables"]}
    assert project_settings <= documented
    assert project_settings - {"STACK_NAME"} == set(step.get("env", {}))


def test_cargo_zigbuild_is_given_the_python_that_holds_its_zig():
    """cargo-zigbuild runs zig as `python3 -m ziglang` with the python3 that
    CARGO_ZIGBUILD_PYTHON_PATH names, else the first on PATH, else a `zig` on
    PATH (its src/zig.rs): installed apart from the system's python3 (pipx, a
    virtualenv), it finds no zig unless told which python3 has ziglang."""
    install = deploy_steps()[index_of(lambda s: "cargo-zigbuild" in s.get("run", ""), "installs cargo-zigbuild")]["run"]
    assert 'CARGO_ZIGBUILD_PYTHON_PATH=$RUNNER_TEMP/zigbuild/bin/python3' in install
    assert '"$RUNNER_TEMP/zigbuild/bin/pip" install' in install
    commands = " ".join(buildspec()["phases"]["install"]["commands"])
    assert "CARGO_ZIGBUILD_PYTHON_PATH=/tmp/zigbuild/bin/python3" in commands
    assert "/tmp/zigbuild/bin/pip install" in commands


def test_the_deploy_uploads_versions_with_a_unique_label_then_deploys_the_worker_before_the_web():
    """A label no other run can have (eb deploy's note in the guide: a reused
    label finds the old version and deploys it again); the worker first, so
    that it understands what the new web sends (deploy/README.md, step 7)."""
    versions = deploy_steps()[index_of(lambda s: "create-application-version" in s.get("run", ""), "creates versions")]
    label = re.search(r'label="([^"]+)"', versions["run"]).group(1)
    for part in ("GITHUB_SHA", "GITHUB_RUN_ID", "GITHUB_RUN_ATTEMPT"):
        assert part in label, f"the version label {label} lacks {part}"
    worker = index_of(lambda s: "deploy-version \"$WORKER_ENVIRONMENT\"" in s.get("run", ""), "deploys the worker")
    web = index_of(lambda s: "deploy-version \"$WEB_ENVIRONMENT\"" in s.get("run", ""), "deploys the web")
    credentials = index_of(lambda s: "configure-aws-credentials" in s.get("uses", ""), "assumes the role")
    assert credentials < deploy_steps().index(versions) < worker < web


def test_the_deploy_script_waits_and_fails_on_red_health_or_a_kept_old_version():
    script = DEPLOY_SCRIPT.read_text(encoding="utf-8")
    assert "aws elasticbeanstalk update-environment" in script
    assert "aws elasticbeanstalk wait environment-updated" in script
    assert '"$health" = Red' in script and '"$version" != "$label"' in script
    assert DEPLOY_SCRIPT.stat().st_mode & 0o111, "deploy/cicd/deploy-version must be executable"


def test_the_guide_names_every_repository_variable_the_deploy_reads():
    text = (WORKFLOWS / "deploy.yml").read_text(encoding="utf-8")
    variables = set(re.findall(r"vars\.([A-Z_]+)", text))
    guide = GUIDE.read_text(encoding="utf-8")
    section = guide.split("## Ship on every push", 1)[1].split("\n## ", 1)[0]
    assert {"AWS_REGION", "DEPLOY_ROLE_ARN", "STACK_NAME"} <= variables
    missing = sorted(v for v in variables if f"`{v}`" not in section)
    assert not missing, f"deploy/README.md's \"Ship on every push\" does not name {missing}"


# --- CodeBuild and CodePipeline ------------------------------------------------------


def buildspec() -> dict:
    return load_yaml(BUILDSPEC)


def test_the_buildspec_has_the_shape_codebuild_reads():
    """Version 0.2 ("Build specification reference for CodeBuild"), phases
    among install, pre_build, build, post_build with their commands, and
    artifacts with one secondary artifact per bundle."""
    spec = buildspec()
    assert str(spec["version"]) == "0.2"
    assert set(spec) <= {"version", "run-as", "env", "proxy", "batch", "phases", "reports", "artifacts", "cache"}
    assert set(spec["phases"]) <= {"install", "pre_build", "build", "post_build"}
    for name, phase in spec["phases"].items():
        assert set(phase) <= {"run-as", "on-failure", "runtime-versions", "commands", "finally"}, name
        assert phase["commands"] and all(isinstance(c, str) for c in phase["commands"]), name
    build = " ".join(spec["phases"]["build"]["commands"])
    assert re.search(r"cargo zigbuild --release --locked --target \"\$RUST_TARGET\.2\.34\" -p web -p worker", build)
    assert "SKIP_BUILD=1" in build and "scripts/bundle" in build
    secondary = spec["artifacts"]["secondary-artifacts"]
    assert set(secondary) == {"WebBundle", "WorkerBundle"}
    for name, artifact in secondary.items():
        assert artifact["base-directory"] in ("dist/web", "dist/worker") and artifact["files"] == ["**/*"], name


def pipeline_stages() -> list[dict]:
    return load_yaml(PIPELINE_TEMPLATE)["Resources"]["Pipeline"]["Properties"]["Stages"]


def test_the_pipeline_builds_then_deploys_the_worker_then_the_web():
    """Elastic Beanstalk deploy actions (category Deploy, provider
    ElasticBeanstalk, version 1, ApplicationName and EnvironmentName, one input
    artifact: "Elastic Beanstalk deploy action reference"), the worker's stage
    before the web's, each fed the bundle of its environment."""
    stages = pipeline_stages()
    assert [s["Name"] for s in stages] == ["Source", "Build", "DeployWorker", "DeployWeb"]
    build = stages[1]["Actions"][0]
    assert {a["Name"] for a in build["OutputArtifacts"]} == set(buildspec()["artifacts"]["secondary-artifacts"])
    for stage, environment, artifact in ((stages[2], "WorkerEnvironment", "WorkerBundle"), (stages[3], "WebEnvironment", "WebBundle")):
        (action,) = stage["Actions"]
        assert action["ActionTypeId"] == {"Category": "Deploy", "Owner": "AWS", "Provider": "ElasticBeanstalk", "Version": "1"}
        assert action["Configuration"] == {"ApplicationName": {"Ref": "ApplicationName"}, "EnvironmentName": {"Ref": environment}}
        assert action["InputArtifacts"] == [{"Name": artifact}]
    secondary = buildspec()["artifacts"]["secondary-artifacts"]
    assert secondary["WorkerBundle"]["base-directory"] == "dist/worker"
    assert secondary["WebBundle"]["base-directory"] == "dist/web"


def test_the_pipeline_runs_one_execution_at_a_time():
    properties = load_yaml(PIPELINE_TEMPLATE)["Resources"]["Pipeline"]["Properties"]
    assert properties["PipelineType"] == "V2" and properties["ExecutionMode"] == "QUEUED"


def test_the_role_lets_the_credentials_last_as_long_as_the_deploy_asks():
    """AssumeRoleWithWebIdentity refuses a duration above the role's
    MaxSessionDuration; the deploy asks for enough to wait for both environments."""
    role = role_template()["Resources"]["DeployRole"]["Properties"]
    step = deploy_steps()[index_of(lambda s: "configure-aws-credentials" in s.get("uses", ""), "assumes the role")]
    asked = int(step["with"]["role-duration-seconds"])
    assert asked <= role["MaxSessionDuration"]
    assert asked >= 60 * (2 * 42), "two environments, each waited for up to 42 minutes"


def test_the_role_stack_creates_the_trust_policy_for_the_repository_given(moto_endpoint):
    """The template as CloudFormation resolves it (moto's): the `sub` names the
    repository and branch given, the principal the provider given. (moto's
    CloudFormation does not create AWS::IAM::OIDCProvider, so the existing
    provider's ARN is passed, as an account that has one does.)"""
    import json
    import time
    import uuid

    import stackkit

    cloudformation = stackkit.client(moto_endpoint, "cloudformation")
    iam = stackkit.client(moto_endpoint, "iam")
    name = f"github-deploy-{uuid.uuid4().hex[:10]}"
    provider = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
    cloudformation.create_stack(
        StackName=name,
        TemplateBody=ROLE_TEMPLATE.read_text(encoding="utf-8"),
        Capabilities=["CAPABILITY_IAM"],
        Parameters=[
            {"ParameterKey": "GitHubOwner", "ParameterValue": "octo-org"},
            {"ParameterKey": "GitHubRepository", "ParameterValue": "messages"},
            {"ParameterKey": "ExistingOidcProviderArn", "ParameterValue": provider},
        ],
    )
    try:
        for _ in range(60):
            stack = cloudformation.describe_stacks(StackName=name)["Stacks"][0]
            if not stack["StackStatus"].endswith("IN_PROGRESS"):
                break
            time.sleep(0.5)
        assert stack["StackStatus"] == "CREATE_COMPLETE", stack.get("StackStatusReason")
        role_arn = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}["RoleArn"]
        role = iam.get_role(RoleName=role_arn.rsplit("/", 1)[1])["Role"]
        trust = role["AssumeRolePolicyDocument"]
        if isinstance(trust, str):
            trust = json.loads(trust)
        (statement,) = trust["Statement"]
        assert statement["Principal"] == {"Federated": provider}
        assert statement["Condition"] == {
            "StringEquals": {
                f"{GITHUB_ISSUER}:aud": "sts.amazonaws.com",
                f"{GITHUB_ISSUER}:sub": "repo:octo-org/messages:ref:refs/heads/main",
            }
        }
        assert role["MaxSessionDuration"] == 7200
    finally:
        cloudformation.delete_stack(StackName=name)
