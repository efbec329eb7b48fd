"""The deploy guide (deploy/README.md), where what it tells you to type decides
how safe the deployment is: the operator token as an environment secret in
the one parameter the web may read, the worker's security group, the options
it sets, the Docker bundles' HOST, and the web's own words for a credential
refused over plain HTTP."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

from ebspec import ANY_NAME, DEPLOY, DOCUMENTED_OPTIONS, REPO, load_yaml, option_settings

GUIDE = DEPLOY / "README.md"
SECRETS = "aws:elasticbeanstalk:application:environmentsecrets"
ENVIRONMENT = "aws:elasticbeanstalk:application:environment"
# The operator token's minimum length (README, "Configuration").
TOKEN_MIN_CHARS = 32


def guide() -> str:
    return GUIDE.read_text(encoding="utf-8")


def option_settings_in_guide() -> list[tuple[str, str, str | None]]:
    """(namespace, option, value) of every `Namespace=...,OptionName=...` the
    guide gives the AWS CLI, to set (with a value) or to remove."""
    pattern = r'Namespace=([\w:.-]+),OptionName=([\w-]+)(?:,Value=("[^"]*"|[^\s"\\]+))?'
    return [
        (match.group(1), match.group(2), match.group(3).strip('"') if match.group(3) else None)
        for match in re.finditer(pattern, guide())
    ]


def test_every_option_the_guide_sets_is_a_documented_namespace_and_name():
    settings = option_settings_in_guide()
    assert settings, "the guide sets no option with the AWS CLI"
    for namespace, name, _ in settings:
        assert namespace in DOCUMENTED_OPTIONS, f"the guide uses namespace {namespace!r}, which is not documented"
        names = DOCUMENTED_OPTIONS[namespace]
        assert names is ANY_NAME or name in names, f"the guide sets {namespace} {name!r}, which is not documented"


def test_the_operator_token_is_an_environment_secret_never_a_plain_property():
    text = guide()
    secrets = [value for namespace, name, value in option_settings_in_guide() if (namespace, name) == (SECRETS, "OPERATOR_TOKEN")]
    assert secrets and all(value for value in secrets), (
        f"the guide does not give the web OPERATOR_TOKEN as an environment secret ({SECRETS})"
    )
    # A plain environment property is shown to anyone who may read the
    # environment's configuration (eb printenv, the console).
    plain = [value for namespace, name, value in option_settings_in_guide() if (namespace, name) == (ENVIRONMENT, "OPERATOR_TOKEN") and value]
    assert not plain, f"the guide sets OPERATOR_TOKEN as a plain environment property: {plain}"
    for pattern in (r"eb setenv[^\n]*OPERATOR_TOKEN", r"--envvars[^\n]*OPERATOR_TOKEN"):
        assert not re.search(pattern, text), f"the guide sets OPERATOR_TOKEN as a plain environment property ({pattern})"
    # Long enough for the web, which refuses a shorter token.
    lengths = [int(n) * 2 for n in re.findall(r"openssl rand -hex (\d+)", text)]
    assert lengths and min(lengths) >= TOKEN_MIN_CHARS, (
        f"the guide makes tokens of {lengths} characters: the web needs at least {TOKEN_MIN_CHARS}"
    )
    assert "openssl rand -hex 32" in text


def as_policy_placeholders(text: str) -> str:
    """The guide's shell variables as the IAM policies' placeholders (step 3's `fill`)."""
    for variable, placeholder in (("$REGION", "REGION"), ("$ACCOUNT_ID", "ACCOUNT_ID"), ("$STACK", "STACK_NAME")):
        text = text.replace(variable, placeholder)
    return text


def test_the_guide_stores_the_token_in_the_one_parameter_the_web_may_read():
    text = guide()
    policy = json.loads((DEPLOY / "iam" / "web-policy.json").read_text(encoding="utf-8"))
    granted = [s["Resource"] for s in policy["Statement"] if any(a.startswith("ssm:") for a in s["Action"])]
    assert len(granted) == 1 and isinstance(granted[0], str), f"the web's policy grants SSM on {granted}"
    (parameter_arn,) = granted
    (value,) = {value for namespace, name, value in option_settings_in_guide() if (namespace, name) == (SECRETS, "OPERATOR_TOKEN")}
    assert as_policy_placeholders(value) == parameter_arn, (
        f"the guide's secret {value} is not the parameter the web's policy grants, {parameter_arn}"
    )
    names = re.findall(r'aws ssm put-parameter[^\n]*--name "([^"]+)"', text)
    assert names, "the guide does not say how to store the token (aws ssm put-parameter)"
    for name in names:
        assert parameter_arn.endswith(":parameter" + as_policy_placeholders(name)), (
            f"the guide stores the token as {name}, not as the parameter its policy grants ({parameter_arn})"
        )
    assert re.search(r"aws ssm put-parameter[^\n]*\\\n[^\n]*--type SecureString", text), (
        "the guide must store the token as a SecureString"
    )


def test_the_worker_environment_gets_a_security_group_with_no_inbound_rule():
    text = guide()
    settings = {(namespace, name): value for namespace, name, value in option_settings_in_guide()}
    launch = "aws:autoscaling:launchconfiguration"
    assert settings.get((launch, "DisableDefaultEC2SecurityGroup")) == "true", (
        "the guide does not drop Elastic Beanstalk's default security group (open to the internet on port 80) "
        "from the worker environment"
    )
    assert settings.get((launch, "SecurityGroups")) == "$WORKER_SG", (
        "the guide does not give the worker environment its own security group"
    )
    assert re.search(r'WORKER_SG=\$\(aws ec2 create-security-group', text), "the guide does not create $WORKER_SG"
    assert "authorize-security-group-ingress" not in text, "the guide opens an inbound rule somewhere"


def docker_host_rewrite() -> list[str]:
    """The commands of the guide's Docker loop that rewrite HOST."""
    lines = [line.strip() for line in guide().splitlines()]
    start = next(i for i, line in enumerate(lines) if line.startswith("sed -i.orig") and "HOST" in line)
    assert lines[start + 1].startswith("rm "), f"the guide's HOST rewrite is not followed by its clean-up: {lines[start + 1]}"
    return lines[start : start + 2]


def test_the_docker_bundles_listen_on_every_interface_of_the_container(bundles, tmp_path):
    # Elastic Beanstalk passes environment properties to the container, so the
    # bundles' HOST=127.0.0.1 would shut nginx (across Docker's bridge) out.
    commands = docker_host_rewrite()
    for name, bundle in bundles.items():
        folder = tmp_path / "dist" / f"docker-{name}" / ".ebextensions"
        shutil.copytree(bundle.root / ".ebextensions", folder)
        script = "\n".join(["set -eu", f"bin={name}", *commands])
        result = subprocess.run(["bash", "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=30)
        assert result.returncode == 0, f"the guide's HOST rewrite fails on the {name} bundle: {result.stderr}"
        assert not list(folder.glob("*.orig")), f"the guide's HOST rewrite leaves files behind: {list(folder.iterdir())}"
        before = {(o.file, o.namespace, o.name): o.value for o in bundle.options}
        after = {
            (file.name, o.namespace, o.name): o.value
            for file in sorted(folder.glob("*.config"))
            for o in option_settings(file.name, load_yaml(file).get("option_settings"))
        }
        changed = {key: (before.get(key), after.get(key)) for key in before.keys() | after.keys() if before.get(key) != after.get(key)}
        assert [key[1:] for key in changed] == [(ENVIRONMENT, "HOST")], (
            f"the guide's HOST rewrite changes {changed} in the {name} bundle, not HOST alone"
        )
        assert next(iter(changed.values()))[1] == "0.0.0.0", f"the {name} Docker bundle's HOST is {changed}"


def test_the_guide_quotes_the_sentence_the_web_refuses_plain_http_with():
    # What the operator sees until the environment has HTTPS: the guide must
    # quote the web's own words, so that a reader recognises them.
    section = guide().split("### HTTPS for the operator", 1)[1].split("\n## ", 1)[0]
    quoted = [line[2:].strip() for line in section.splitlines() if line.startswith("> ")]
    assert len(quoted) == 1, f"the guide's 'HTTPS for the operator' quotes {quoted}, not the web's one sentence"
    literals = {
        literal
        for source in (REPO / "web" / "src").rglob("*.rs")
        for literal in re.findall(r'"((?:[^"\\]|\\.)*)"', source.read_text(encoding="utf-8"))
    }
    assert quoted[0] in literals, (
        f"the guide quotes {quoted[0]!r}, which is not a sentence of the web's (web/src): quote the refusal "
        "the web gives a credential over plain HTTP under REQUIRE_HTTPS"
    )


def test_the_guide_attaches_no_account_wide_managed_policy_to_an_instance_role():
    """An AWS managed policy is written for every account, not for this
    application's resources: AWSElasticBeanstalkWorkerTier lets an instance
    receive and delete the messages of every queue in the account,
    AWSElasticBeanstalkWebTier read every elasticbeanstalk-* bucket,
    AmazonSSMManagedInstanceCore read every parameter. The instance roles get
    the scoped inline policies of deploy/iam instead (README, step 3), so no
    command of the guide attaches an AWS managed policy to a role, and step 3
    puts the platform's and sqsd's own policies."""
    from guidekit import commands, section

    attaches = [c for c in commands(guide()) if "attach-role-policy" in c]
    managed = [c for c in attaches if "arn:aws:iam::aws:policy/" in c]
    assert not managed, f"the guide attaches AWS managed policies to a role: {managed}"
    puts = [c for c in commands(section("3. Give each environment its instance role")) if "put-role-policy" in c]
    for document in ("$role-policy.json", "platform-policy.json", "sqsd-policy.json"):
        assert any(f"deploy/iam/{document}" in c for c in puts), (
            f"step 3 does not put deploy/iam/{document} on the instance roles: {puts}"
        )
