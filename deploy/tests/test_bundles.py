"""The Elastic Beanstalk bundles (dist/web.zip, dist/worker.zip) as the platform
sees them: their layout, their configuration files, the CloudFormation they add,
and both binaries started from their Procfiles, with the queue and the table of
the application stack (created on moto's CloudFormation) as scripts/bundle
writes them into the bundles.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import shlex
import time
import uuid
from datetime import datetime, timezone

import pytest
import requests

import ebtemplate
import stackkit
from ebspec import (
    BUNDLES,
    CONFIG_KEYS,
    DOCUMENTED_OPTIONS,
    GENERATED_CONFIG,
    LOG_RETENTION_DAYS,
    REPO,
    GENERATED_OPTIONS,
    SQSD_RANGES,
    bundle_zip,
    documented_value,
    function_value,
    is_executable_file,
    load_yaml,
    zip_modes,
)
from processes import Process, free_port, platform_environment

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
        assert documented_value(option.namespace, option.name, option.value), (
            f"{where}: {option.namespace} {option.name} = {option.value!r} is not one of its documented values"
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


@pytest.mark.parametrize("name", sorted(BUNDLES))
def test_only_the_generated_config_names_the_queue_and_the_table(bundles, name):
    # The queue and the table belong to the application stack: scripts/bundle
    # writes their literal names into the generated 00-stack.config, and no
    # configuration file of deploy/ may set them (a later file would win).
    # The same for what is given when bundling: the certificate, the topic.
    for option in bundles[name].options:
        if (option.namespace, option.name) in GENERATED_OPTIONS:
            assert option.file == GENERATED_CONFIG, (
                f"{name}/.ebextensions/{option.file} sets {option.namespace} {option.name}: "
                f"leave it to the {GENERATED_CONFIG} that scripts/bundle generates from the stack's outputs"
            )


@pytest.mark.parametrize("name", sorted(BUNDLES))
def test_no_environment_creates_the_shared_queue_or_table(bundles, name):
    # Created in an environment's stack, they would go with `eb terminate` of
    # that environment while the other one still uses them.
    for resource, declared in bundles[name].section("Resources").items():
        assert declared.get("Type") not in {"AWS::SQS::Queue", "AWS::DynamoDB::Table"}, (
            f"{name}'s .ebextensions declare {resource} ({declared.get('Type')}): the queue and the table "
            "belong to deploy/stack/messages.yaml"
        )


@pytest.mark.parametrize("name", sorted(BUNDLES))
def test_no_sqsd_option_holds_a_cloudformation_function(bundles, name):
    # Elastic Beanstalk documents CloudFormation functions in option values for
    # environment properties only; sqsd's options get literal values.
    for option in bundles[name].options:
        if option.namespace == SQSD:
            assert "`" not in str(option.value) and function_value(option.value) is None, (
                f"{name}/.ebextensions/{option.file}: sqsd {option.name} = {option.value!r} holds a "
                "CloudFormation function; give it a literal value (scripts/bundle writes WorkerQueueURL)"
            )


def test_sqsd_posts_to_process_with_documented_values(worker):
    assert worker.option(SQSD, "HttpPath") == "/process"
    assert worker.option(SQSD, "MimeType") == "application/json"
    for name, (low, high) in SQSD_RANGES.items():
        value = int(worker.option(SQSD, name))
        assert low <= value <= high, f"sqsd {name} = {value}, documented range {low}..{high}"
    assert int(worker.option(SQSD, "InactivityTimeout")) == 299
    assert int(worker.option(SQSD, "VisibilityTimeout")) == 300
    assert int(worker.option(SQSD, "RetentionPeriod")) == 345600
    # A job must answer (or time out) before it becomes visible to another instance.
    assert int(worker.option(SQSD, "InactivityTimeout")) < int(worker.option(SQSD, "VisibilityTimeout"))


def test_a_minute_of_backend_outage_uses_at_most_half_of_a_jobs_receives(worker):
    """sqsd makes a message visible again ErrorVisibilityTimeout seconds after
    any answer but 200, with no backoff of its own, and SQS dead-letters it
    after the queue's maxReceiveCount receives (Elastic Beanstalk, "Worker
    environments"; the aws:elasticbeanstalk:sqsd namespace). While the store
    is down every delivery answers 503: a job must survive a minute of that
    with receives to spare, or an outage dead-letters the work in flight."""
    spacing = int(worker.option(SQSD, "ErrorVisibilityTimeout"))
    receive_count = int(stackkit.template()["Resources"]["JobQueue"]["Properties"]["RedrivePolicy"]["maxReceiveCount"])
    # The first delivery, then one every `spacing` seconds (at least; sqsd's
    # receive and the answer add to it).
    used_in_a_minute = 1 + 60 // max(spacing, 1)
    assert used_in_a_minute <= receive_count // 2, (
        f"ErrorVisibilityTimeout {spacing} s spends {used_in_a_minute} of the {receive_count} receives "
        "in a minute of outage: raise it (02-worker.config) so a minute uses at most half"
    )


def test_health_ignores_the_4xx_the_worker_answers_an_expected_retry_with(web, worker):
    """Enhanced health counts every application 4xx unless a rule says not to,
    and ignoring 4xx is the one rule that can be changed ("Configuring
    enhanced health rules for an environment": ConfigDocument, Version 1,
    Rules.Environment.Application.ApplicationRequests4xx and, behind a load
    balancer, Rules.Environment.ELB.ELBRequests4xx). The worker answers a job
    that asked to be retried with RETRY_ANSWER: it must be a 4xx, and both
    bundles must ignore application 4xx, or every `flaky` job turns the
    environment red."""
    source = (REPO / "worker" / "src" / "process.rs").read_text(encoding="utf-8")
    retry_answer = int(re.search(r"pub const RETRY_ANSWER: u16 = (\d+);", source).group(1))
    assert 400 <= retry_answer < 500, f"RETRY_ANSWER {retry_answer} is not a 4xx: health would count it"
    health = "aws:elasticbeanstalk:healthreporting:system"
    for bundle in (web, worker):
        assert bundle.option(health, "SystemType") == "enhanced", bundle.name
        document = json.loads(bundle.option(health, "ConfigDocument"))
        assert document["Version"] == 1, bundle.name
        rules = document["Rules"]["Environment"]
        assert set(rules) <= {"Application", "ELB"}, f"{bundle.name}: undocumented rules {sorted(rules)}"
        assert rules["Application"] == {"ApplicationRequests4xx": {"Enabled": False}}, bundle.name
        if "ELB" in rules:
            assert rules["ELB"] == {"ELBRequests4xx": {"Enabled": False}}, bundle.name


def test_the_bundles_publish_what_the_stacks_alarms_read(web, worker):
    """Enhanced health publishes to CloudWatch only the metrics its
    ConfigDocument's CloudWatchMetrics names ("Publishing Amazon CloudWatch
    custom metrics for an environment"): every AWS/ElasticBeanstalk metric an
    alarm of the application stack reads must be published, every minute, by
    the bundle of the environment it watches; and the queue-age alarm's
    threshold is the worker's SWEEP_AFTER_SECONDS."""
    template = stackkit.template()
    watched = {"WebEnvironmentName": web, "WorkerEnvironmentName": worker}
    health = "aws:elasticbeanstalk:healthreporting:system"
    read = []
    for resource in template["Resources"].values():
        if resource["Type"] != "AWS::CloudWatch::Alarm":
            continue
        properties = resource["Properties"]
        stats = [metric["MetricStat"]["Metric"] for metric in properties.get("Metrics", []) if "MetricStat" in metric]
        for metric in stats or [properties]:
            if metric["Namespace"] == "AWS/ElasticBeanstalk":
                environment = metric["Dimensions"][0]["Value"]["Ref"]
                read.append((watched[environment], metric["MetricName"]))
    assert read, "the stack has alarms on the environments"
    for bundle, metric in read:
        document = json.loads(bundle.option(health, "ConfigDocument"))
        published = document.get("CloudWatchMetrics", {}).get("Environment", {})
        assert published.get(metric) == 60, f"{bundle.name} does not publish {metric} every minute, which an alarm reads"
    sweep_after = int(worker.environment()["SWEEP_AFTER_SECONDS"])
    assert template["Parameters"]["SweepAfterSeconds"]["Default"] == sweep_after, (
        "the stack's SweepAfterSeconds is not the worker's SWEEP_AFTER_SECONDS: change both together"
    )


def test_max_retries_max_attempts_and_max_receive_count_are_one_number(web, worker):
    queue = stackkit.template()["Resources"]["JobQueue"]["Properties"]
    receive_count = int(queue["RedrivePolicy"]["maxReceiveCount"])
    for bundle in (web, worker):
        assert int(bundle.environment()["MAX_ATTEMPTS"]) == receive_count, (
            f"{bundle.name}'s MAX_ATTEMPTS is not the queue's maxReceiveCount ({receive_count}) "
            "in deploy/stack/messages.yaml: change both together"
        )
    # Inert with our own queue, but kept equal so that no reader is misled.
    assert int(worker.option(SQSD, "MaxRetries")) == receive_count, (
        f"sqsd's MaxRetries differs from the queue's maxReceiveCount ({receive_count}): keep them one number"
    )
    assert int(queue["VisibilityTimeout"]) == int(worker.option(SQSD, "VisibilityTimeout")), (
        "the queue's VisibilityTimeout (deploy/stack/messages.yaml) and sqsd's must agree"
    )
    assert int(queue["MessageRetentionPeriod"]) == int(worker.option(SQSD, "RetentionPeriod")), (
        "the queue's MessageRetentionPeriod (deploy/stack/messages.yaml) and sqsd's RetentionPeriod must agree"
    )


# --- deployments and platform updates ------------------------------------------


@pytest.mark.parametrize("name", sorted(BUNDLES))
def test_each_version_is_deployed_on_new_instances(bundles, name):
    # Immutable ("Deployment policies and settings"): the old instances serve
    # until a full set of new ones pass their health checks, and a failed
    # deployment only terminates the new ones; also supported in a
    # single-instance environment, unlike the rolling policies.
    assert bundles[name].option("aws:elasticbeanstalk:command", "DeploymentPolicy") == "Immutable"


@pytest.mark.parametrize("name", sorted(BUNDLES))
def test_managed_platform_updates_are_on_with_the_enhanced_health_they_need(bundles, name):
    # "Managed platform updates": ManagedActionsEnabled needs a
    # PreferredStartTime and an UpdateLevel, and enhanced health, which an
    # environment made through the API or CloudFormation does not get by default.
    bundle = bundles[name]
    assert str(bundle.option("aws:elasticbeanstalk:managedactions", "ManagedActionsEnabled")).lower() == "true"
    assert bundle.option("aws:elasticbeanstalk:managedactions", "PreferredStartTime")
    assert bundle.option("aws:elasticbeanstalk:managedactions:platformupdate", "UpdateLevel") in {"patch", "minor"}
    assert bundle.option("aws:elasticbeanstalk:healthreporting:system", "SystemType") == "enhanced", (
        f"{name}: managed updates and immutable deployments need enhanced health"
    )


def test_the_two_environments_are_not_updated_in_the_same_window(web, worker):
    # A maintenance window is two hours long ("Managed platform updates"):
    # the two start at least that far apart, so the web and the worker are
    # not replaced at once.
    days = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]

    def minute_of_week(bundle) -> int:
        day, hour, minute = str(bundle.option("aws:elasticbeanstalk:managedactions", "PreferredStartTime")).split(":")
        return days.index(day) * 1440 + int(hour) * 60 + int(minute)

    apart = abs(minute_of_week(web) - minute_of_week(worker))
    assert min(apart, 7 * 1440 - apart) >= 120, f"the windows start {apart} minutes apart, less than a window's two hours"


def test_the_worker_waits_for_sqsd(worker):
    environment = worker.environment()
    assert str(environment.get("WORKER_POLL")).lower() == "false", (
        "sqsd delivers the jobs: the worker's WORKER_POLL must be false"
    )


# --- what the network can reach ----------------------------------------------


@pytest.mark.parametrize("name", sorted(BUNDLES))
def test_both_apps_listen_on_loopback_behind_nginx(bundles, name):
    # nginx on the instance is the only thing that should reach the app: on
    # 127.0.0.1, port 5000 answers nobody on the network, whatever the
    # security groups say (test_platform_port.py checks the running binary).
    host = bundles[name].environment().get("HOST")
    assert host == "127.0.0.1", (
        f"{name}'s HOST is {host!r}: the Elastic Beanstalk bundles listen on 127.0.0.1, behind the "
        "instance's nginx (the Docker platform's bundles rewrite it: deploy/README.md)"
    )


@pytest.mark.parametrize("name", sorted(BUNDLES))
def test_no_bundle_runs_the_worker_in_its_local_manual_mode(bundles, name):
    # WORKER_POLL=manual is a local mode that adds POST /process-batch.
    value = str(bundles[name].environment().get("WORKER_POLL", "")).strip().lower()
    assert value != "manual", f"{name} sets WORKER_POLL=manual, a local mode: on Elastic Beanstalk sqsd delivers"


def test_the_web_refuses_the_operators_credentials_over_plain_http(web):
    value = str(web.environment().get("REQUIRE_HTTPS")).strip().lower()
    assert value == "true", f"the web's REQUIRE_HTTPS is {value!r}: the token and the cookie are credentials"


def trusted_proxies(web) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    value = web.environment().get("TRUSTED_PROXIES")
    assert isinstance(value, str) and value.strip(), (
        f"the web sets no TRUSTED_PROXIES ({value!r}): nginx, the load balancer and the Docker bridge must be named"
    )
    ranges = []
    for entry in (part.strip() for part in value.split(",")):
        assert "/" in entry, f"TRUSTED_PROXIES entry {entry!r} is not an address range (CIDR, e.g. 10.0.0.0/8)"
        try:
            ranges.append(ipaddress.ip_network(entry, strict=True))
        except ValueError as error:
            raise AssertionError(f"TRUSTED_PROXIES entry {entry!r} is not a CIDR range: {error}") from None
    return ranges


def test_the_web_trusts_its_proxies_and_nothing_on_the_internet(web):
    ranges = trusted_proxies(web)
    for network in ranges:
        assert network.prefixlen > 0, f"TRUSTED_PROXIES has {network}: every client could then name any address"
        # A range on the internet would let a client there write its own address.
        assert network.is_private, f"TRUSTED_PROXIES has {network}, which is not private address space"
    assert "TRUSTED_PROXY_HOPS" not in web.environment(), (
        "the web still sets TRUSTED_PROXY_HOPS, which TRUSTED_PROXIES replaced: remove it"
    )


def client_of(peer: str, forwarded_for: list[str], ranges) -> str:
    """Who the web takes for the client (web/src/edge/client.rs): from the peer,
    walk X-Forwarded-For from the right while the hop is a trusted proxy."""

    def trusted(address: str) -> bool:
        return any(ipaddress.ip_address(address) in network for network in ranges)

    client = peer
    for entry in reversed(forwarded_for):
        if not trusted(client):
            break
        client = entry
    return client


# An Application Load Balancer's address in the default VPC, the Docker
# bridge's gateway (nginx, seen from the container), and clients.
LOAD_BALANCER = "172.31.20.7"
DOCKER_GATEWAY = "172.17.0.1"
CLIENTS = ["203.0.113.7", "2001:db8::5"]
# What a client may write in its own X-Forwarded-For: anything, trusted
# addresses included.
FORGED = [[], ["198.51.100.1"], ["127.0.0.1"], ["172.31.0.9"], ["172.17.0.1", "10.0.0.1"], ["::1"]]


@pytest.mark.parametrize(
    ("shape", "peer", "after_client"),
    [
        # The load balancer appends the client; nginx appends the load balancer.
        ("load balancer, nginx", "127.0.0.1", [LOAD_BALANCER]),
        # `eb create --single`: nginx alone appends the client.
        ("nginx alone (--single)", "127.0.0.1", []),
        # The Docker platform: nginx on the instance reaches the container from the bridge.
        ("Docker: load balancer, nginx", DOCKER_GATEWAY, [LOAD_BALANCER]),
        ("Docker: nginx alone", DOCKER_GATEWAY, []),
    ],
)
def test_the_web_keys_on_the_real_client_whatever_the_client_writes(web, shape, peer, after_client):
    ranges = trusted_proxies(web)
    for client in CLIENTS:
        for forged in FORGED:
            found = client_of(peer, [*forged, client, *after_client], ranges)
            assert found == client, (
                f"{shape}: a client at {client} that wrote X-Forwarded-For {forged} is taken for {found} "
                f"with TRUSTED_PROXIES {[str(r) for r in ranges]}"
            )


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


@pytest.mark.parametrize("name", sorted(BUNDLES))
def test_cfn_lint_finds_no_error_in_the_resources(bundles, name, tmp_path):
    ebtemplate.lint_bundle(bundles[name], tmp_path)


# --- running the bundles as the platform does --------------------------------

ACCOUNT = stackkit.ACCOUNT


@pytest.fixture(scope="module")
def stack(stack_bundles, app_stack, moto_endpoint, tmp_path_factory):
    """Both bundles made by scripts/bundle from the application stack's outputs,
    running side by side on moto: each with the environment properties of its
    .ebextensions, so QUEUE_URL and TABLE_NAME are the stack's, read from the
    generated 00-stack.config. Each gets a PORT of its own (an environment
    property the platform allows) because both run on this one machine; the
    platform's default port is checked in test_platform_port.py. Stopped at the
    end, whatever happens. The traces they send go nowhere here
    (test_observability.py follows them)."""
    outputs = app_stack["outputs"]
    logs = tmp_path_factory.mktemp("bundle-logs")
    started = []
    try:
        for name in ("web", "worker"):
            bundle = stack_bundles[name]
            # Its own metrics listener too: the bundles' METRICS_ADDR is one
            # port, each on an instance of its own.
            own_ports = {"PORT": str(free_port()), "METRICS_ADDR": f"127.0.0.1:{free_port()}"}
            env = platform_environment(bundle, {**stackkit.aws_environment(moto_endpoint), **own_ports})
            started.append(Process(bundle, env, logs / f"{name}.log"))
        for process in started:
            process.wait_healthy()
        yield {
            "web": started[0],
            "worker": started[1],
            "sqs": stackkit.client(moto_endpoint, "sqs"),
            "queue_url": outputs["QueueURL"],
            "queue_name": outputs["QueueName"],
            "table_name": outputs["TableName"],
        }
    finally:
        for process in started:
            process.stop()


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


def test_both_bundles_run_on_the_stacks_queue_and_table(stack_bundles, app_stack):
    outputs = app_stack["outputs"]
    for name, bundle in stack_bundles.items():
        environment = bundle.environment()
        assert environment.get("QUEUE_URL") == outputs["QueueURL"], (
            f"{name}'s QUEUE_URL is {environment.get('QUEUE_URL')!r}, not the stack's QueueURL output"
        )
        assert environment.get("TABLE_NAME") == outputs["TableName"], (
            f"{name}'s TABLE_NAME is {environment.get('TABLE_NAME')!r}, not the stack's TableName output"
        )


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


def run_sweep(stack, worker) -> tuple[requests.Response, dict]:
    """What sqsd's leader does for cron.yaml's sweep: the task's POST, as
    sqsd makes it; with the task."""
    task = next(entry for entry in load_yaml(worker.root / "cron.yaml")["cron"] if entry["name"] == "sweep-pending")
    return requests.post(
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
    ), task


def test_the_periodic_sweep_answers_as_cron_yaml_expects(stack, worker):
    response, task = run_sweep(stack, worker)
    assert response.status_code == 200, f"{task['url']} answered {response.status_code}: {response.text}"
    report = response.json()
    for key in ("checked", "requeued", "failed"):
        assert isinstance(report.get(key), int), f"{task['url']} answered {report}: no integer {key!r}"
