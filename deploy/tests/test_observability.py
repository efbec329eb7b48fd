"""Traces and metrics on Elastic Beanstalk: .ebextensions/05-observability.config.

Both bundles set the app's trace and metrics settings and add to the
CloudWatch agent on their instances, the way AWS's own example does for the
platforms based on Amazon Linux 2 and later ("Example: Using custom Amazon
CloudWatch metrics": `files` and `amazon-cloudwatch-agent-ctl -a
append-config`): its OTLP receiver takes the app's spans to X-Ray, and its
Prometheus scrape takes the app's counters and gauges to CloudWatch.

Checked here, without an agent (none runs off an instance):
- each piece names the others: the app's OTLP endpoint is the agent's
  receiver, the scrape target is the app's METRICS_ADDR, the metrics' log
  group is under the environment's own prefix, the command appends to what
  the agent runs and restarts it;
- every metric the agent is told to keep is one the bundled binaries expose,
  of a type it keeps (it drops histograms), with the labels it is told to
  use as dimensions: read from the binaries' own /metrics after a message
  went through them;
- the binaries, run with the bundles' settings, send their spans over
  OTLP/HTTP to the address given (here a receiver inside the test);
- the instance role lets the agent do what AWS's own policy for it
  (CloudWatchAgentServerPolicy, moto's copy) grants for traces and logs, on
  the environment's log groups only, or it is said why not.
"""

from __future__ import annotations

import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest
import requests
import yaml

import stackkit
from ebspec import BUNDLES
from iamkit import as_list, granted_actions, managed_policy, matches, policy
from processes import Process, free_port, platform_environment
from test_bundles import deliver, receive_job, run_sweep, send
from test_iam import AGENT_POLICY, NOT_NEEDED, fill_example, statement_allows

CONFIG = "05-observability.config"
AGENT_CONFIG = "/opt/aws/amazon-cloudwatch-agent/etc/messages-observability.json"
AGENT_CTL = "/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl"
# What AWS's managed policy for the agent grants, and what of it this
# configuration needs: X-Ray for the traces, CloudWatch Logs for the metrics
# (the embedded metric format is log events; no cloudwatch:PutMetricData).
SERVICES_USED = {"xray", "logs"}
# What of those the instances do without, and why.
AGENT_NOT_NEEDED = {
    # No retention is set in the agent's configuration, so it sets none.
    "logs:PutRetentionPolicy": "no retention_in_days",
}


def observability(bundle) -> dict:
    config = bundle.configs.get(CONFIG)
    assert config is not None, f"{bundle.name}.zip has no .ebextensions/{CONFIG}"
    return config


def function_free(text: str) -> str:
    """A file's content with each '`{...}`' CloudFormation function written
    as the placeholder Elastic Beanstalk replaces it with (its JSON, quoted
    safe)."""
    return re.sub(r"`(\{.*?\})`", lambda found: "FUNCTION" + json.dumps(json.loads(found.group(1))).replace('"', "'"), text)


def agent_config(bundle) -> dict:
    files = observability(bundle)["files"]
    assert AGENT_CONFIG in files, f"{CONFIG} writes no {AGENT_CONFIG}"
    return json.loads(function_free(files[AGENT_CONFIG]["content"]))


def prometheus(bundle) -> dict:
    return agent_config(bundle)["logs"]["metrics_collected"]["prometheus"]


def scrape_config(bundle) -> dict:
    path = prometheus(bundle)["prometheus_config_path"]
    files = observability(bundle)["files"]
    assert path in files, f"the agent reads its scrape configuration from {path}, which {CONFIG} does not write"
    return yaml.safe_load(files[path]["content"])


def test_both_bundles_carry_the_same_file(web, worker):
    assert (web.root / ".ebextensions" / CONFIG).read_bytes() == (worker.root / ".ebextensions" / CONFIG).read_bytes()


@pytest.mark.parametrize("name", sorted(BUNDLES))
def test_the_app_sends_its_spans_to_the_agents_receiver_on_this_instance(bundles, name):
    bundle = bundles[name]
    environment = bundle.environment()
    endpoint = urlsplit(str(environment["OTEL_EXPORTER_OTLP_ENDPOINT"]))
    # Plain HTTP only to this machine: the app refuses anything else.
    assert endpoint.scheme == "http" and endpoint.hostname == "127.0.0.1", endpoint
    receiver = agent_config(bundle)["traces"]["traces_collected"]["otlp"]["http_endpoint"]
    assert receiver == f"{endpoint.hostname}:{endpoint.port}", (
        f"the app sends to {endpoint.netloc}, the agent listens on {receiver}"
    )
    share = float(environment["OTEL_TRACES_SAMPLER_ARG"])
    assert 0 < share <= 0.1, f"keeping {share} of the traces: deploy/README.md, 'Traces', prices it at 0.05"


@pytest.mark.parametrize("name", sorted(BUNDLES))
def test_the_agent_scrapes_the_apps_metrics_listener(bundles, name):
    bundle = bundles[name]
    address = str(bundle.environment()["METRICS_ADDR"])
    assert address.startswith("127.0.0.1:"), f"METRICS_ADDR {address} must stay on loopback"
    jobs = scrape_config(bundle)["scrape_configs"]
    assert [target for job in jobs for group in job["static_configs"] for target in group["targets"]] == [address]
    # Each declaration picks the scrape's series by its job name.
    for declaration in prometheus(bundle)["emf_processor"]["metric_declaration"]:
        assert declaration["source_labels"] == ["job"], declaration
        assert re.search(declaration["label_matcher"], jobs[0]["job_name"]), declaration


@pytest.mark.parametrize("name", sorted(BUNDLES))
def test_the_metrics_go_to_a_log_group_of_the_environment(bundles, name):
    written = prometheus(bundles[name])["log_group_name"]
    assert written.startswith("FUNCTION"), f"log_group_name {written!r} is not the environment's log group"
    joined = json.loads(written.removeprefix("FUNCTION").replace("'", '"'))["Fn::Join"]
    assert joined[0] == "/" and joined[1][:2] == ["/aws/elasticbeanstalk", {"Ref": "AWSEBEnvironmentName"}], (
        "the group must be under /aws/elasticbeanstalk/<environment>/, where the instance role may make and write it"
    )


@pytest.mark.parametrize("name", sorted(BUNDLES))
def test_the_command_appends_to_what_the_agent_runs_and_restarts_it(bundles, name):
    commands = observability(bundles[name])["container_commands"]
    (command,) = [c["command"].split() for c in commands.values()]
    assert command[0] == AGENT_CTL
    # fetch-config would replace the log streaming's configuration.
    assert command[command.index("-a") + 1] == "append-config", command
    assert command[command.index("-m") + 1] == "ec2" and "-s" in command, command
    assert command[command.index("-c") + 1] == f"file:{AGENT_CONFIG}", command


@pytest.mark.parametrize("role", ["web", "worker"])
def test_the_instance_role_lets_the_agent_send_what_aws_grants_it_for_traces_and_logs(role):
    """Each action of CloudWatchAgentServerPolicy (as AWS publishes it,
    moto's copy) of the services this configuration uses is granted to the
    role on the environment's log groups, or excused with the reason."""
    ours = fill_example({"Statement": as_list(policy("platform")["Statement"])})
    log_group = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/elasticbeanstalk/messages-worker/app-metrics:log-stream:i-0"
    for action in granted_actions(managed_policy(AGENT_POLICY)):
        if action.split(":")[0] not in SERVICES_USED:
            continue
        resource = log_group if action.startswith("logs:") else "*"
        granted = any(statement_allows(s, action, resource) for s in as_list(ours["Statement"]))
        excused = AGENT_NOT_NEEDED.get(action) or next(
            (reason for pattern, reason in NOT_NEEDED.items() if matches(pattern, action)), None
        )
        assert granted or excused, (
            f"{AGENT_POLICY} grants the agent {action}, which deploy/iam/platform-policy.json does not grant on "
            f"{resource}: grant it, or say in AGENT_NOT_NEEDED why it is not needed"
        )


# --- the bundled binaries, run with these settings ---------------------------


class Receiver(ThreadingHTTPServer):
    """An OTLP/HTTP receiver that keeps each request's body."""

    def __init__(self):
        self.bodies: list[bytes] = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(handler):  # noqa: N805 (the handler's own self)
                body = handler.rfile.read(int(handler.headers.get("Content-Length", 0)))
                if handler.path == "/v1/traces" and handler.headers.get("Content-Type") == "application/x-protobuf":
                    self.bodies.append(body)
                handler.send_response(200)
                handler.send_header("Content-Length", "0")
                handler.end_headers()

            def log_message(handler, *args):  # noqa: N805
                pass

        super().__init__(("127.0.0.1", 0), Handler)


@pytest.fixture(scope="module")
def traced(stack_bundles, app_stack, moto_endpoint, worker, tmp_path_factory):
    """Both bundles on moto, each with its own ports on this one machine and
    its traces sent to a receiver here instead of the agent, every trace kept."""
    receiver = Receiver()
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    outputs = app_stack["outputs"]
    logs = tmp_path_factory.mktemp("traced-logs")
    started = []
    try:
        for name in ("web", "worker"):
            extra = {
                **stackkit.aws_environment(moto_endpoint),
                "PORT": str(free_port()),
                "METRICS_ADDR": f"127.0.0.1:{free_port()}",
                "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{receiver.server_port}",
                "OTEL_TRACES_SAMPLER_ARG": "1",
            }
            started.append(Process(stack_bundles[name], platform_environment(stack_bundles[name], extra), logs / f"{name}.log"))
            started[-1].metrics = extra["METRICS_ADDR"]
        for process in started:
            process.wait_healthy()
        stack = {
            "web": started[0],
            "worker": started[1],
            "sqs": stackkit.client(moto_endpoint, "sqs"),
            "queue_url": outputs["QueueURL"],
            "queue_name": outputs["QueueName"],
            "receiver": receiver,
        }
        # One message through both, as sqsd would deliver it, and a sweep.
        created = send(stack, "ok")
        assert deliver(stack, receive_job(stack, created["id"])).status_code == 200
        assert run_sweep(stack, worker)[0].status_code == 200
        yield stack
    finally:
        for process in started:
            process.stop()
        receiver.shutdown()


def families(text: str) -> dict[str, dict]:
    """Prometheus text as {family: {"type", "labels": [set of label names per series]}}."""
    found: dict[str, dict] = {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, family, kind = line.split()
            found[family] = {"type": kind, "labels": []}
        elif line and not line.startswith("#"):
            series = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s", line)
            assert series, f"not a Prometheus sample: {line!r}"
            family = series.group(1)
            labels = set(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="', series.group(3) or ""))
            if family in found:
                found[family]["labels"].append(labels)
    return found


def test_every_metric_the_agent_keeps_is_a_counter_or_gauge_the_binaries_expose_with_its_dimensions(traced, web):
    exposed: dict[str, dict] = {}
    for name in ("web", "worker"):
        text = requests.get(f"http://{traced[name].metrics}/metrics", timeout=5).text
        for family, seen in families(text).items():
            exposed.setdefault(family, {"type": seen["type"], "labels": []})["labels"] += seen["labels"]
    declarations = prometheus(web)["emf_processor"]["metric_declaration"]
    for declaration in declarations:
        for selector in declaration["metric_selectors"]:
            matched = [family for family in exposed if re.search(selector, family)]
            assert matched, f"{selector} matches nothing the binaries expose: {sorted(exposed)}"
            for family in matched:
                assert exposed[family]["type"] in {"counter", "gauge"}, (
                    f"{family} is a {exposed[family]['type']}: the agent drops histograms"
                )
                # `job` is the scrape's own label, on every series it reads.
                wanted = {label for labels in declaration["dimensions"] for label in labels} - {"job"}
                for labels in exposed[family]["labels"]:
                    assert wanted <= labels, f"{family}{sorted(labels)} lacks the dimensions {sorted(wanted - labels)}"


def service_names(body: bytes) -> set[str]:
    """The `service.name` of each resource in an OTLP export request: the
    KeyValue whose key (field 1) is "service.name" and whose value (field 2)
    is an AnyValue holding a string (field 1)."""
    found = set()
    for match in re.finditer(rb"\x0a\x0cservice\.name\x12.\x0a(.)", body, re.S):
        start = match.end()
        found.add(body[start : start + match.group(1)[0]].decode())
    return found


def test_both_binaries_send_their_spans_over_otlp_http_to_the_address_given(traced):
    def senders() -> set[str]:
        return {name for body in traced["receiver"].bodies for name in service_names(body)}

    # The batch exporter sends every few seconds.
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not {"web", "worker"} <= senders():
        time.sleep(0.2)
    for name in ("web", "worker"):
        assert name in senders(), f"no span from {name} reached the receiver ({senders()}): {traced[name].output()}"
