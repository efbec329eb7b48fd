"""The Elastic Beanstalk bundles (dist/web.zip, dist/worker.zip) as the platform
sees them: their layout, their configuration files, the CloudFormation they add,
and both binaries started from their Procfiles against SQS and DynamoDB (moto).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import boto3
import pytest
import requests
import yaml

from ebspec import (
    BUNDLES,
    CONFIG_KEYS,
    DOCUMENTED_OPTIONS,
    LOG_RETENTION_DAYS,
    SQSD_RANGES,
    Bundle,
    bundle_zip,
    function_value,
    is_executable_file,
    load_yaml,
    zip_modes,
)

SQSD = "aws:elasticbeanstalk:sqsd"
ENVIRONMENT = "aws:elasticbeanstalk:application:environment"
SQSD_USER_AGENT = "aws-sqsd/3.0.4"


# --- layout -----------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(BUNDLES))
def test_the_binary_sits_executable_at_the_root_of_its_bundle(name):
    modes = zip_modes(bundle_zip(name))
    binary = BUNDLES[name]["binary"]
    assert binary in modes, f"{name}.zip has no {binary} at its root: {sorted(modes)}"
    assert is_executable_file(modes[binary]), (
        f"{name}.zip stores {binary} with mode {oct(modes[binary])}: the platform would "
        "not be allowed to run it (write the zip with Unix modes, as scripts/bundle does)"
    )


@pytest.mark.parametrize("name", sorted(BUNDLES))
def test_each_bundle_has_the_files_the_platform_reads_at_its_root(bundles, name):
    bundle = bundles[name]
    binary = bundle.root / BUNDLES[name]["binary"]
    assert binary.is_file() and os.access(binary, os.X_OK), f"{binary} is not executable once unzipped"
    for file in BUNDLES[name]["files"]:
        assert (bundle.root / file).is_file(), f"{name}.zip has no {file} at its root"
    for folder in BUNDLES[name]["folders"]:
        assert (bundle.root / folder).is_dir(), f"{name}.zip has no {folder}/"
    assert bundle.configs, f"{name}.zip has no .ebextensions/*.config"
    if name == "worker":
        assert list((bundle.root / ".platform/nginx/conf.d").glob("*.conf")), (
            "worker.zip has no .platform/nginx/conf.d/*.conf"
        )
    else:
        assert not (bundle.root / "cron.yaml").exists(), (
            "web.zip has a cron.yaml: periodic tasks belong to the worker environment"
        )


@pytest.mark.parametrize("name", sorted(BUNDLES))
def test_the_procfile_runs_the_bundled_binary_as_the_web_process(bundles, name):
    processes = bundles[name].procfile
    assert processes, f"{name}: the Procfile is empty"
    first, command = processes[0]
    # nginx forwards port 80 to the process named `web`, which must come first;
    # in a worker environment sqsd posts to port 80 too, so the worker is `web`.
    assert first == "web", f"{name}: the Procfile's first process is {first!r}, not web"
    assert shlex.split(command) == [f"./{BUNDLES[name]['binary']}"], (
        f"{name}: the web process runs {command!r}"
    )


# --- configuration files ----------------------------------------------------


@pytest.mark.parametrize("name", sorted(BUNDLES))
def test_every_config_uses_only_configuration_file_keys(bundles, name):
    for file, config in bundles[name].configs.items():
        unknown = set(config) - CONFIG_KEYS
        assert not unknown, f"{name}/.ebextensions/{file}: unknown top-level keys {sorted(unknown)}"


@pytest.mark.parametrize("name", sorted(BUNDLES))
def test_every_option_is_a_documented_namespace_and_name(bundles, name):
    options = bundles[name].options
    assert options, f"{name}: no option_settings at all"
    for option in options:
        where = f"{name}/.ebextensions/{option.file}"
        assert option.namespace in DOCUMENTED_OPTIONS, (
            f"{where}: namespace {option.namespace!r} is not one of {sorted(DOCUMENTED_OPTIONS)}"
        )
        names = DOCUMENTED_OPTIONS[option.namespace]
        if names is None:
            assert re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", option.name), (
                f"{where}: {option.name!r} is not a usable environment variable name"
            )
        else:
            assert option.name in names, (
                f"{where}: {option.namespace} has no option {option.name!r} (documented: {sorted(names)})"
            )
        assert option.value is not None and not isinstance(option.value, (dict, list)), (
            f"{where}: {option.namespace} {option.name} must be a single value, not {option.value!r}"
        )


@pytest.mark.parametrize("name", sorted(BUNDLES))
def test_both_environments_log_json_and_agree_on_max_attempts(bundles, name):
    environment = bundles[name].environment()
    assert environment.get("LOG_FORMAT") == "json"
    assert int(environment["MAX_ATTEMPTS"]) == 10
    for option in bundles[name].options:
        if option.namespace == "aws:elasticbeanstalk:cloudwatch:logs" and option.name == "RetentionInDays":
            assert int(option.value) in LOG_RETENTION_DAYS, f"{name}: RetentionInDays {option.value}"


def test_the_web_environment_checks_health_on_health(web):
    assert web.option("aws:elasticbeanstalk:application", "Application Healthcheck URL") == "/health"
    assert web.option("aws:elasticbeanstalk:environment:process:default", "HealthCheckPath") == "/health"


def test_the_web_environment_leaves_queue_and_table_to_eb_setenv(web):
    # Set in a config file, they would override nothing and point nowhere: the
    # worker environment owns the resources (deploy/README.md).
    environment = web.environment()
    assert "QUEUE_URL" not in environment and "TABLE_NAME" not in environment
    assert not web.section("Resources"), "the web bundle must not create the shared resources"


def test_sqsd_posts_to_process_with_documented_values(worker):
    assert worker.option(SQSD, "HttpPath") == "/process"
    assert worker.option(SQSD, "MimeType") == "application/json"
    for name, (low, high) in SQSD_RANGES.items():
        value = int(worker.option(SQSD, name))
        assert low <= value <= high, f"sqsd {name} = {value}, documented range {low}..{high}"
    assert int(worker.option(SQSD, "InactivityTimeout")) == 299
    assert int(worker.option(SQSD, "VisibilityTimeout")) == 300
    assert int(worker.option(SQSD, "ErrorVisibilityTimeout")) == 2
    assert int(worker.option(SQSD, "RetentionPeriod")) == 345600
    # A job must answer (or time out) before it becomes visible to another instance.
    assert int(worker.option(SQSD, "InactivityTimeout")) < int(worker.option(SQSD, "VisibilityTimeout"))


def test_max_retries_max_attempts_and_max_receive_count_are_one_number(web, worker):
    max_retries = int(worker.option(SQSD, "MaxRetries"))
    queue = worker.section("Resources")["MessagesQueue"]["Properties"]
    assert max_retries == int(worker.environment()["MAX_ATTEMPTS"])
    assert max_retries == int(web.environment()["MAX_ATTEMPTS"])
    assert max_retries == int(queue["RedrivePolicy"]["maxReceiveCount"])
    assert int(queue["VisibilityTimeout"]) == int(worker.option(SQSD, "VisibilityTimeout"))
    assert int(queue["MessageRetentionPeriod"]) == int(worker.option(SQSD, "RetentionPeriod"))


def test_the_worker_waits_for_sqsd_and_reads_the_queue_sqsd_reads(worker):
    environment = worker.environment()
    assert str(environment.get("WORKER_POLL")).lower() == "false", "sqsd delivers: the worker must not poll"
    queue_ref = function_value(environment["QUEUE_URL"])
    assert queue_ref == {"Ref": "MessagesQueue"}, f"QUEUE_URL is {environment['QUEUE_URL']!r}"
    assert function_value(worker.option(SQSD, "WorkerQueueURL")) == queue_ref
    assert function_value(environment["TABLE_NAME"]) == {"Ref": "MessagesTable"}


def test_every_function_in_an_option_value_names_a_declared_resource(bundles):
    for bundle in bundles.values():
        resources = bundle.section("Resources")
        for option in bundle.options:
            function = function_value(option.value)
            if isinstance(option.value, str) and "`" in option.value:
                assert function is not None, (
                    f"{bundle.name}: {option.name} = {option.value!r} is not '`{{...JSON...}}`'"
                )
            if function and "Ref" in function:
                target = function["Ref"]
                assert target.startswith("AWS::") or target in resources, (
                    f"{bundle.name}: {option.name} refers to {target}, which no config declares"
                )


def test_the_worker_creates_the_queue_its_dead_letter_queue_and_the_table(worker):
    resources = worker.section("Resources")
    queue, dlq, table = (resources[n] for n in ("MessagesQueue", "MessagesDeadLetterQueue", "MessagesTable"))
    assert queue["Type"] == dlq["Type"] == "AWS::SQS::Queue"
    redrive = queue["Properties"]["RedrivePolicy"]
    assert redrive["deadLetterTargetArn"] == {"Fn::GetAtt": ["MessagesDeadLetterQueue", "Arn"]}
    # `web provision` names the dead-letter queue <queue>-dlq: the same here.
    queue_name = queue["Properties"]["QueueName"]["Fn::Join"]
    dlq_name = dlq["Properties"]["QueueName"]["Fn::Join"]
    assert dlq_name[1][:-1] == queue_name[1][:-1] and dlq_name[1][-1] == queue_name[1][-1] + "-dlq"
    # Messages keep their first enqueue time in the dead-letter queue: it must
    # keep them longer than the queue does.
    assert int(dlq["Properties"]["MessageRetentionPeriod"]) > int(queue["Properties"]["MessageRetentionPeriod"])

    assert table["Type"] == "AWS::DynamoDB::Table"
    properties = table["Properties"]
    assert properties["BillingMode"] == "PAY_PER_REQUEST"
    assert properties["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    attributes = {a["AttributeName"]: a["AttributeType"] for a in properties["AttributeDefinitions"]}
    assert attributes == {"id": "S", "listing": "S", "status": "S"}
    indexes = {index["IndexName"]: index for index in properties["GlobalSecondaryIndexes"]}
    for index, partition in (("newest", "listing"), ("by_status", "status")):
        assert indexes[index]["KeySchema"] == [
            {"AttributeName": partition, "KeyType": "HASH"},
            {"AttributeName": "id", "KeyType": "RANGE"},
        ], index
        assert indexes[index]["Projection"] == {"ProjectionType": "ALL"}, index
    assert set(indexes) == {"newest", "by_status"}
    # Terminating the environment must not delete the messages by accident.
    assert table.get("DeletionPolicy") == "Retain"


def test_the_worker_outputs_what_eb_setenv_gives_the_web(worker):
    outputs = worker.section("Outputs")
    assert outputs["QueueURL"]["Value"] == {"Ref": "MessagesQueue"}
    assert outputs["TableName"]["Value"] == {"Ref": "MessagesTable"}
    assert outputs["DeadLetterQueueURL"]["Value"] == {"Ref": "MessagesDeadLetterQueue"}


def test_cron_yaml_schedules_the_sweep(worker):
    cron = load_yaml(worker.root / "cron.yaml")
    assert cron.get("version") == 1
    entries = cron.get("cron")
    assert isinstance(entries, list) and entries, "cron.yaml has no cron: entries"
    names = [entry["name"] for entry in entries]
    assert len(names) == len(set(names)), "cron.yaml task names must be unique"
    for entry in entries:
        assert set(entry) == {"name", "url", "schedule"}, entry
        assert entry["url"].startswith("/"), entry
        assert len(entry["schedule"].split()) == 5, f"{entry['schedule']!r} is not a five-field cron expression"
    sweep = next(entry for entry in entries if entry["name"] == "sweep-pending")
    assert sweep == {"name": "sweep-pending", "url": "/tasks/sweep", "schedule": "*/5 * * * *"}


def test_nginx_waits_for_the_worker_at_least_as_long_as_sqsd(worker):
    timeouts = {}
    for conf in (worker.root / ".platform/nginx/conf.d").glob("*.conf"):
        text = re.sub(r"#.*", "", conf.read_text(encoding="utf-8"))
        for directive, value in re.findall(r"\b(proxy_read_timeout|proxy_send_timeout)\s+(\d+)s?\s*;", text):
            timeouts[directive] = int(value)
    inactivity = int(worker.option(SQSD, "InactivityTimeout"))
    for directive in ("proxy_read_timeout", "proxy_send_timeout"):
        assert timeouts.get(directive, 60) >= inactivity, (
            f"nginx's {directive} is {timeouts.get(directive, 60)} s, below sqsd's InactivityTimeout "
            f"({inactivity} s): nginx would answer 504 to a job still running"
        )


# --- CloudFormation ---------------------------------------------------------


def eb_template(bundle: Bundle) -> dict:
    """The bundle's Resources and Outputs as the stand-alone template
    Elastic Beanstalk would merge them into. Names Elastic Beanstalk provides
    (AWSEBEnvironmentName, ...) become parameters, and every '`{...}`' option
    value becomes an output, so cfn-lint checks what it refers to as well."""
    resources = bundle.section("Resources")
    outputs = dict(bundle.section("Outputs"))
    for index, option in enumerate(bundle.options):
        function = function_value(option.value)
        if function is not None:
            key = "Option" + re.sub(r"[^A-Za-z0-9]", "", option.name) + str(index)
            outputs[key] = {"Description": f"{option.namespace} {option.name}", "Value": function}
    referenced = set(re.findall(r'"Ref":\s*"(AWSEB[A-Za-z]+)"', json.dumps([resources, outputs])))
    template = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": f"The resources of the {bundle.name} bundle's .ebextensions",
        "Parameters": {
            name: {"Type": "String", "Description": "provided by Elastic Beanstalk"}
            for name in sorted(referenced - set(resources))
        },
        "Resources": resources
        or {"Nothing": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
    }
    if not template["Parameters"]:
        del template["Parameters"]
    if outputs:
        template["Outputs"] = outputs
    return template


def cfn_lint() -> list[str]:
    beside = Path(sys.executable).with_name("cfn-lint")
    if beside.exists():
        return [str(beside)]
    return [sys.executable, "-m", "cfnlint"]


@pytest.mark.parametrize("name", sorted(BUNDLES))
def test_cfn_lint_finds_no_error_in_the_resources(bundles, name, tmp_path):
    template = eb_template(bundles[name])
    path = tmp_path / f"{name}-ebextensions.yaml"
    path.write_text(yaml.safe_dump(template, sort_keys=False), encoding="utf-8")
    try:
        result = subprocess.run(
            [*cfn_lint(), "--regions", "us-east-1", "--", str(path)],
            capture_output=True,
            text=True,
            timeout=300,
        )
    except FileNotFoundError:
        pytest.fail("cfn-lint is not installed: pip install -r deploy/tests/requirements.txt", pytrace=False)
    report = (result.stdout + result.stderr).strip()
    # cfn-lint's exit code is a bit mask: 2 errors, 4 warnings, 8 informational.
    assert result.returncode & 2 == 0, f"cfn-lint found errors in {name}'s resources:\n{report}"
    assert result.returncode & 4 == 0, f"cfn-lint warns about {name}'s resources:\n{report}"
    assert result.returncode in (0, 8), f"cfn-lint failed ({result.returncode}):\n{report}"


# --- running the bundles as the platform does --------------------------------

ACCOUNT = "123456789012"
REGION = "us-east-1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Process:
    """A bundle's `web` process, started from its folder like the platform does."""

    def __init__(self, bundle: Bundle, env: dict[str, str], log: Path):
        self.bundle = bundle
        self.port = int(env["PORT"])
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        _, command = bundle.procfile[0]
        self.handle = open(log, "wb")
        self.process = subprocess.Popen(
            shlex.split(command),
            cwd=bundle.root,
            env=env,
            stdout=self.handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def output(self) -> str:
        self.handle.flush()
        return self.log.read_text(encoding="utf-8", errors="replace")[-4000:]

    def wait_healthy(self, seconds: float = 20) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(
                    f"{self.bundle.name} exited with {self.process.returncode} before answering /health:\n"
                    f"{self.output()}",
                    pytrace=False,
                )
            try:
                if requests.get(f"{self.url}/health", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        pytest.fail(f"{self.bundle.name} did not answer /health within {seconds} s:\n{self.output()}", pytrace=False)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)
        self.handle.close()


def platform_environment(bundle: Bundle, overrides: dict[str, str]) -> dict[str, str]:
    """The environment the platform gives the process: the bundle's environment
    properties (those CloudFormation would resolve come from `overrides`), on a
    clean base so nothing of this machine's environment leaks in."""
    env = {key: os.environ[key] for key in ("PATH", "HOME", "LANG", "TMPDIR") if key in os.environ}
    for name, value in bundle.environment().items():
        if function_value(value) is None:
            env[name] = str(value).lower() if isinstance(value, bool) else str(value)
    env.update(overrides)
    return env


@pytest.fixture(scope="module")
def stack(web, worker, moto_endpoint, tmp_path_factory):
    """Fresh queue and table on moto, made by the web bundle's `web provision`,
    then both bundles running. Stopped at the end, whatever happens."""
    suffix = uuid.uuid4().hex[:10]
    queue_name = f"deploy-test-{suffix}"
    table_name = f"deploy-test-{suffix}"
    queue_url = f"{moto_endpoint}/{ACCOUNT}/{queue_name}"
    aws = {
        "QUEUE_URL": queue_url,
        "TABLE_NAME": table_name,
        "AWS_ENDPOINT_URL": moto_endpoint,
        "AWS_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "RUST_LOG": "info",
    }
    logs = tmp_path_factory.mktemp("bundle-logs")

    provision = subprocess.run(
        [f"./{BUNDLES['web']['binary']}", "provision"],
        cwd=web.root,
        env=platform_environment(web, {**aws, "PORT": str(free_port())}),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert provision.returncode == 0, f"web provision failed:\n{provision.stdout}\n{provision.stderr}"

    started = []
    try:
        for bundle in (web, worker):
            env = platform_environment(bundle, {**aws, "PORT": str(free_port())})
            started.append(Process(bundle, env, logs / f"{bundle.name}.log"))
        for process in started:
            process.wait_healthy()
        sqs = boto3.client(
            "sqs",
            endpoint_url=moto_endpoint,
            region_name=REGION,
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )
        yield {
            "web": started[0],
            "worker": started[1],
            "sqs": sqs,
            "queue_url": queue_url,
            "queue_name": queue_name,
            "provision": provision.stdout,
        }
    finally:
        for process in started:
            process.stop()
        try:
            clients = {
                service: boto3.client(
                    service,
                    endpoint_url=moto_endpoint,
                    region_name=REGION,
                    aws_access_key_id="test",
                    aws_secret_access_key="test",
                )
                for service in ("sqs", "dynamodb")
            }
            clients["dynamodb"].delete_table(TableName=table_name)
            for name in (queue_name, f"{queue_name}-dlq"):
                clients["sqs"].delete_queue(QueueUrl=f"{moto_endpoint}/{ACCOUNT}/{name}")
        except Exception:  # noqa: BLE001 - tidying the emulator is best effort
            pass


def iso8601(milliseconds: str) -> str:
    moment = datetime.fromtimestamp(int(milliseconds) / 1000, tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def receive_job(stack, message_id: str, seconds: float = 20) -> dict:
    """Receives from the queue, as sqsd does, the job for `message_id`; other
    jobs are made visible again at once."""
    sqs = stack["sqs"]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        answer = sqs.receive_message(
            QueueUrl=stack["queue_url"],
            MaxNumberOfMessages=10,
            WaitTimeSeconds=1,
            VisibilityTimeout=30,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        for message in answer.get("Messages", []):
            try:
                job = json.loads(message["Body"])
            except ValueError:
                job = {}
            if isinstance(job, dict) and job.get("id") == message_id:
                return message
            sqs.change_message_visibility(
                QueueUrl=stack["queue_url"], ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
            )
    pytest.fail(f"the job for message {message_id} did not reach the queue within {seconds} s", pytrace=False)


def sqsd_headers(stack, message: dict) -> dict[str, str]:
    """Exactly the headers sqsd sends with a queue message."""
    attributes = message.get("Attributes", {})
    headers = {
        "User-Agent": SQSD_USER_AGENT,
        "Content-Type": "application/json",
        "X-Aws-Sqsd-Msgid": message["MessageId"],
        "X-Aws-Sqsd-Receive-Count": attributes.get("ApproximateReceiveCount", "1"),
        "X-Aws-Sqsd-Queue": stack["queue_name"],
        "X-Aws-Sqsd-First-Received-At": iso8601(
            attributes.get("ApproximateFirstReceiveTimestamp", str(int(time.time() * 1000)))
        ),
        "X-Aws-Sqsd-Sent-At": iso8601(attributes.get("SentTimestamp", str(int(time.time() * 1000)))),
        "X-Aws-Sqsd-Sender-Id": attributes.get("SenderId", ACCOUNT),
    }
    for name, attribute in message.get("MessageAttributes", {}).items():
        if "StringValue" in attribute:  # sqsd drops binary attributes
            headers[f"X-Aws-Sqsd-Attr-{name}"] = attribute["StringValue"]
    return headers


def deliver(stack, message: dict) -> requests.Response:
    """What sqsd does with one message: POST it to HttpPath, delete it on 200."""
    response = requests.post(
        f"{stack['worker'].url}/process",
        data=message["Body"].encode("utf-8"),
        headers=sqsd_headers(stack, message),
        timeout=30,
    )
    if response.status_code == 200:
        stack["sqs"].delete_message(QueueUrl=stack["queue_url"], ReceiptHandle=message["ReceiptHandle"])
    return response


def send(stack, simulate: str) -> dict:
    response = requests.post(
        f"{stack['web'].url}/api/messages",
        json={"body": "hi", "simulate": simulate},
        timeout=10,
    )
    assert response.status_code == 202, f"POST /api/messages: {response.status_code} {response.text}"
    created = response.json()
    assert created.get("id"), created
    assert created.get("status") == "pending", created
    return created


def status_of(stack, message_id: str) -> dict:
    response = requests.get(f"{stack['web'].url}/api/messages/{message_id}", timeout=10)
    assert response.status_code == 200, f"GET /api/messages/{message_id}: {response.status_code} {response.text}"
    return response.json()


def test_web_provision_created_the_queue_and_the_table(stack):
    queues = stack["sqs"].list_queues(QueueNamePrefix=stack["queue_name"]).get("QueueUrls", [])
    names = sorted(url.rsplit("/", 1)[-1] for url in queues)
    assert names == [stack["queue_name"], f"{stack['queue_name']}-dlq"], stack["provision"]


def test_both_bundles_answer_health(stack):
    for process in (stack["web"], stack["worker"]):
        response = requests.get(f"{process.url}/health", timeout=5)
        assert response.status_code == 200, f"{process.bundle.name} /health: {response.status_code}"
        assert response.json().get("status") == "ok", response.text


def test_a_message_goes_from_the_web_bundle_through_sqs_to_the_worker_bundle(stack):
    created = send(stack, "ok")
    message = receive_job(stack, created["id"])
    response = deliver(stack, message)
    assert response.status_code == 200, f"/process answered {response.status_code}: {response.text}"
    assert status_of(stack, created["id"])["status"] == "complete"


def test_a_failing_job_ends_fail(stack):
    created = send(stack, "fail")
    message = receive_job(stack, created["id"])
    response = deliver(stack, message)
    assert response.status_code == 200, f"/process answered {response.status_code}: {response.text}"
    final = status_of(stack, created["id"])
    assert final["status"] == "fail", final


def test_the_periodic_sweep_answers_as_cron_yaml_expects(stack, worker):
    task = next(entry for entry in load_yaml(worker.root / "cron.yaml")["cron"] if entry["name"] == "sweep-pending")
    response = requests.post(
        f"{stack['worker'].url}{task['url']}",
        data=b"",
        headers={
            "User-Agent": SQSD_USER_AGENT,
            "Content-Type": "application/json",
            "X-Aws-Sqsd-Msgid": str(uuid.uuid4()),
            "X-Aws-Sqsd-Receive-Count": "1",
            "X-Aws-Sqsd-Queue": stack["queue_name"],
            "X-Aws-Sqsd-First-Received-At": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "X-Aws-Sqsd-Sent-At": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "X-Aws-Sqsd-Sender-Id": ACCOUNT,
            "X-Aws-Sqsd-Taskname": task["name"],
            "X-Aws-Sqsd-Scheduled-At": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "X-Aws-Sqsd-Path": task["url"],
        },
        timeout=30,
    )
    assert response.status_code == 200, f"{task['url']} answered {response.status_code}: {response.text}"
    report = response.json()
    for key in ("checked", "requeued", "failed"):
        assert isinstance(report.get(key), int), f"{task['url']} answered {report}: no integer {key!r}"
