"""scripts/bundle and the application stack's outputs: what it writes into
each zip's generated .ebextensions/00-stack.config, where it reads the outputs
from (STACK_NAME through the AWS CLI, or STACK_OUTPUTS), what it refuses, and
what it leaves out of the worker's zip for a FIFO queue (cron.yaml).
The binaries here are stand-ins: these checks are about the zips' configuration."""

from __future__ import annotations

import json
import os
import shutil
import zipfile
from pathlib import Path

import pytest

import ebtemplate
import stackkit
from ebspec import BUNDLES, GENERATED_CONFIG, REPO, load_yaml, open_bundle

ENVIRONMENT = "aws:elasticbeanstalk:application:environment"
SQSD = "aws:elasticbeanstalk:sqsd"

# What each environment is told by the generated file (namespace, name) ->
# the stack output whose value it holds.
TOLD = {
    "web": {
        (ENVIRONMENT, "QUEUE_URL"): "QueueURL",
        (ENVIRONMENT, "TABLE_NAME"): "TableName",
    },
    "worker": {
        (ENVIRONMENT, "QUEUE_URL"): "QueueURL",
        (ENVIRONMENT, "TABLE_NAME"): "TableName",
        (ENVIRONMENT, "QUEUE_NAME"): "QueueName",
        (SQSD, "WorkerQueueURL"): "QueueURL",
    },
}


def generated_options(bundle) -> dict[tuple[str, str], object]:
    return {(o.namespace, o.name): o.value for o in bundle.options if o.file == GENERATED_CONFIG}


def zips_in(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.glob("*.zip")) if folder.exists() else []


def test_the_bundles_carry_the_stacks_outputs_as_literal_options(app_stack, tmp_path):
    outputs = app_stack["outputs"]
    bundles = stackkit.bundle_with_outputs(outputs, stackkit.fake_binaries(tmp_path / "release"), tmp_path)
    for name, bundle in bundles.items():
        assert GENERATED_CONFIG in bundle.configs, f"{name}.zip has no .ebextensions/{GENERATED_CONFIG}"
        found = generated_options(bundle)
        expected = {key: outputs[output] for key, output in TOLD[name].items()}
        assert found == expected, (
            f"{name}'s {GENERATED_CONFIG} sets {found}, not the stack's outputs {expected}"
        )
        lines = (bundle.root / ".ebextensions" / GENERATED_CONFIG).read_text(encoding="utf-8").splitlines()
        text = "\n".join(line for line in lines if not line.lstrip().startswith("#"))
        assert "`" not in text and "Fn::" not in text and "Ref" not in text, (
            f"{name}'s {GENERATED_CONFIG} holds a CloudFormation function; its values must be literal:\n{text}"
        )
        for option in bundle.options:
            if option.namespace == SQSD:
                assert "`" not in str(option.value), (
                    f"{name}: sqsd {option.name} = {option.value!r} in {option.file} is a CloudFormation function"
                )


def sqs_dimensions(worker) -> list:
    """The dimensions of the SQS metrics the worker's scaling policy measures,
    with Fn::GetOptionSetting resolved as Elastic Beanstalk resolves it."""
    template = ebtemplate.eb_template(worker)
    return [
        query["MetricStat"]["Metric"]["Dimensions"]
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::AutoScaling::ScalingPolicy"
        for query in resource["Properties"]["TargetTrackingConfiguration"]["CustomizedMetricSpecification"]["Metrics"]
        if "MetricStat" in query and query["MetricStat"]["Metric"]["Namespace"] == "AWS/SQS"
    ]


def test_cfn_lint_finds_no_error_in_the_worker_resources_with_the_stacks_queue_name(app_stack, tmp_path):
    # With 00-stack.config, Fn::GetOptionSetting resolves to the literal queue
    # name, as Elastic Beanstalk resolves it before CloudFormation sees it.
    bundles = stackkit.bundle_with_outputs(app_stack["outputs"], stackkit.fake_binaries(tmp_path / "release"), tmp_path)
    dimensions = sqs_dimensions(bundles["worker"])
    assert dimensions == [[{"Name": "QueueName", "Value": app_stack["outputs"]["QueueName"]}]], (
        f"the scaling policy measures {dimensions}, not the stack's queue {app_stack['outputs']['QueueName']}"
    )
    ebtemplate.lint_bundle(bundles["worker"], tmp_path)


def test_without_stack_outputs_the_bundles_have_no_generated_config_and_say_so(tmp_path):
    dist = tmp_path / "dist"
    result = stackkit.run_bundle_script(stackkit.fake_binaries(tmp_path / "release"), dist)
    assert result.returncode == 0, f"scripts/bundle without a stack failed:\n{result.stdout}{result.stderr}"
    for name in BUNDLES:
        with zipfile.ZipFile(dist / f"{name}.zip") as archive:
            names = archive.namelist()
        assert f".ebextensions/{GENERATED_CONFIG}" not in names, (
            f"{name}.zip has a {GENERATED_CONFIG} although no stack was given: {names}"
        )
    assert "no STACK_NAME" in result.stderr, (
        f"scripts/bundle without a stack must say the bundles are not for a deploy; it printed:\n{result.stderr}"
    )


def fake_aws(folder: Path, outputs: dict[str, str]) -> Path:
    """An `aws` command that records its arguments and prints the outputs the
    way `aws cloudformation describe-stacks ... --output json` does."""
    folder.mkdir(parents=True, exist_ok=True)
    answer = stackkit.outputs_file(outputs, folder / "answer.json")
    script = folder / "aws"
    script.write_text(
        "#!/bin/sh\n"
        f'printf "%s\\n" "$@" > "{folder}/arguments"\n'
        f'cat "{answer}"\n',
        encoding="utf-8",
    )
    script.chmod(0o755)
    return folder


def test_stack_name_reads_the_outputs_with_the_aws_cli(app_stack, tmp_path):
    aws = fake_aws(tmp_path / "aws-cli", app_stack["outputs"])
    dist = tmp_path / "dist"
    result = stackkit.run_bundle_script(
        stackkit.fake_binaries(tmp_path / "release"),
        dist,
        STACK_NAME=app_stack["name"],
        PATH=f"{aws}{os.pathsep}{os.environ['PATH']}",
    )
    assert result.returncode == 0, f"STACK_NAME=... scripts/bundle failed:\n{result.stdout}{result.stderr}"
    arguments = (aws / "arguments").read_text(encoding="utf-8").splitlines()
    expected = ["cloudformation", "describe-stacks", "--stack-name", app_stack["name"],
                "--query", "Stacks[0].Outputs", "--output", "json"]
    assert arguments == expected, f"scripts/bundle ran `aws {' '.join(arguments)}`, not `aws {' '.join(expected)}`"
    worker = open_bundle("worker", dist / "worker.zip", tmp_path / "worker")
    assert generated_options(worker)[(SQSD, "WorkerQueueURL")] == app_stack["outputs"]["QueueURL"], (
        "the worker's WorkerQueueURL is not the QueueURL the AWS CLI returned"
    )


def path_without_aws(folder: Path) -> str:
    """A PATH with only the commands scripts/bundle uses, and no `aws`."""
    folder.mkdir(parents=True, exist_ok=True)
    for command in ("bash", "python3", "dirname", "basename", "mkdir", "mktemp", "rm", "cat"):
        found = shutil.which(command)
        assert found, f"{command} is not installed"
        (folder / command).symlink_to(found)
    return str(folder)


def test_stack_name_without_the_aws_cli_says_how_to_give_the_outputs_instead(tmp_path):
    dist = tmp_path / "dist"
    result = stackkit.run_bundle_script(
        stackkit.fake_binaries(tmp_path / "release"), dist, STACK_NAME="messages", PATH=path_without_aws(tmp_path / "bin")
    )
    assert result.returncode != 0, "STACK_NAME without the AWS CLI must fail, not bundle without the stack"
    assert "STACK_OUTPUTS" in result.stderr, f"the refusal must say how to give the outputs instead:\n{result.stderr}"
    assert zips_in(dist) == [], f"a refused run wrote {zips_in(dist)}"


def test_stack_name_and_stack_outputs_together_are_refused(tmp_path):
    outputs = stackkit.outputs_file({"QueueURL": "x"}, tmp_path / "outputs.json")
    dist = tmp_path / "dist"
    result = stackkit.run_bundle_script(
        stackkit.fake_binaries(tmp_path / "release"), dist, STACK_NAME="messages", STACK_OUTPUTS=str(outputs)
    )
    assert result.returncode != 0 and "not both" in result.stderr, (
        f"STACK_NAME with STACK_OUTPUTS must be refused as ambiguous:\n{result.stderr}"
    )
    assert zips_in(dist) == [], f"a refused run wrote {zips_in(dist)}"


GOOD = {
    "QueueURL": "https://sqs.us-east-1.amazonaws.com/123456789012/messages-queue",
    "QueueName": "messages-queue",
    "TableName": "messages-table",
}


@pytest.mark.parametrize(
    "outputs, why",
    [
        ({k: v for k, v in GOOD.items() if k != "TableName"}, "no TableName output"),
        ({**GOOD, "QueueURL": "https://sqs.us-east-1.amazonaws.com/123456789012/other"}, "is not the URL of the queue"),
        ({**GOOD, "TableName": '`{"Ref" : "MessagesTable"}`'}, "backtick"),
        # SQS allows a dot in a queue's name only in a FIFO queue's .fifo suffix.
        (
            {**GOOD, "QueueName": "messages.queue", "QueueURL": "https://sqs.us-east-1.amazonaws.com/1/messages.queue"},
            "is not an SQS queue name",
        ),
    ],
    ids=["missing-table", "url-of-another-queue", "cloudformation-function", "dot-outside-fifo-suffix"],
)
def test_outputs_that_are_not_the_stacks_are_refused_before_any_zip(outputs, why, tmp_path):
    dist = tmp_path / "dist"
    result = stackkit.run_bundle_script(
        stackkit.fake_binaries(tmp_path / "release"),
        dist,
        STACK_OUTPUTS=str(stackkit.outputs_file(outputs, tmp_path / "outputs.json")),
    )
    assert result.returncode != 0, f"scripts/bundle accepted outputs with {why}:\n{result.stdout}"
    assert why in result.stderr, f"the refusal must say {why!r}; it said:\n{result.stderr}"
    assert zips_in(dist) == [], f"a refused run wrote {zips_in(dist)}"


def test_the_generated_config_parses_as_elastic_beanstalk_reads_it(tmp_path):
    # Values with YAML's special characters (':' in a URL) must stay strings.
    outputs = stackkit.outputs_file(GOOD, tmp_path / "outputs.json")
    dist = tmp_path / "dist"
    result = stackkit.run_bundle_script(stackkit.fake_binaries(tmp_path / "release"), dist, STACK_OUTPUTS=str(outputs))
    assert result.returncode == 0, f"scripts/bundle failed:\n{result.stdout}{result.stderr}"
    with zipfile.ZipFile(dist / "worker.zip") as archive:
        (tmp_path / GENERATED_CONFIG).write_bytes(archive.read(f".ebextensions/{GENERATED_CONFIG}"))
    parsed = load_yaml(tmp_path / GENERATED_CONFIG)
    assert parsed["option_settings"][ENVIRONMENT]["QUEUE_URL"] == GOOD["QueueURL"], (
        f"QUEUE_URL reads back as {parsed['option_settings'][ENVIRONMENT]['QUEUE_URL']!r}"
    )
    assert set(parsed) == {"option_settings"}, f"{GENERATED_CONFIG} has more than option_settings: {sorted(parsed)}"
    assert json.dumps(parsed).count(GOOD["QueueURL"]) == 2, "the worker's QUEUE_URL and WorkerQueueURL are the queue's URL"


# --- a FIFO queue -------------------------------------------------------------

FIFO_NOTE = "is a FIFO queue"


def bundle_entries(dist: Path) -> dict[str, list[str]]:
    entries = {}
    for name in BUNDLES:
        with zipfile.ZipFile(dist / f"{name}.zip") as archive:
            entries[name] = sorted(archive.namelist())
    return entries


def test_a_fifo_stacks_worker_bundle_has_no_cron_yaml_and_says_how_to_sweep(fifo_stack, app_stack, tmp_path):
    # Elastic Beanstalk supports FIFO queues in worker environments but runs no
    # periodic task (cron.yaml) on one: for the FIFO stack's outputs the worker's
    # zip has no cron.yaml, and scripts/bundle says in one line that the sweep
    # then runs only when POSTed to by hand, at the path cron.yaml schedules.
    binaries = stackkit.fake_binaries(tmp_path / "release")
    runs = {}
    for kind, outputs in (("fifo", fifo_stack["outputs"]), ("standard", app_stack["outputs"])):
        dist = tmp_path / kind / "dist"
        result = stackkit.run_bundle_script(
            binaries, dist, STACK_OUTPUTS=str(stackkit.outputs_file(outputs, tmp_path / f"{kind}-outputs.json"))
        )
        assert result.returncode == 0, f"scripts/bundle with the {kind} stack's outputs failed:\n{result.stdout}{result.stderr}"
        runs[kind] = (result, bundle_entries(dist))

    fifo_result, fifo_entries = runs["fifo"]
    standard_result, standard_entries = runs["standard"]
    assert "cron.yaml" in standard_entries["worker"], f"the standard stack's worker.zip lost cron.yaml: {standard_entries['worker']}"
    assert "cron.yaml" not in fifo_entries["worker"], (
        f"the FIFO stack's worker.zip has a cron.yaml, which Elastic Beanstalk will not run on a FIFO queue: {fifo_entries['worker']}"
    )
    expected = {**standard_entries, "worker": [entry for entry in standard_entries["worker"] if entry != "cron.yaml"]}
    assert fifo_entries == expected, f"for a FIFO queue the zips hold {fifo_entries}, not the standard ones less cron.yaml {expected}"

    notes = [line for line in fifo_result.stderr.splitlines() if FIFO_NOTE in line]
    assert len(notes) == 1, f"scripts/bundle must say once that the queue is FIFO; it printed:\n{fifo_result.stderr}"
    sweep = next(entry for entry in load_yaml(REPO / "deploy" / "worker" / "cron.yaml")["cron"] if entry["name"] == "sweep-pending")
    # The worker refuses a task without sqsd's header, so the command sends it.
    command = f"-X POST -H 'X-Aws-Sqsd-Taskname: sweep' http://localhost{sweep['url']}"
    for part in (fifo_stack["outputs"]["QueueName"], "cron.yaml", "sweep", command):
        assert part in notes[0], f"the FIFO note must mention {part!r}: {notes[0]}"
    assert FIFO_NOTE not in standard_result.stderr, (
        f"scripts/bundle printed the FIFO note for a standard queue:\n{standard_result.stderr}"
    )


def test_a_fifo_stacks_bundles_carry_its_outputs_and_lint_clean(fifo_stack, tmp_path):
    # The same literal options as for a standard queue, the .fifo name included:
    # CloudWatch's SQS metrics name a FIFO queue by its whole name, so the
    # worker's scaling policy measures QUEUE_NAME as it is.
    outputs = fifo_stack["outputs"]
    bundles = stackkit.bundle_with_outputs(outputs, stackkit.fake_binaries(tmp_path / "release"), tmp_path)
    for name, bundle in bundles.items():
        found = generated_options(bundle)
        expected = {key: outputs[output] for key, output in TOLD[name].items()}
        assert found == expected, f"{name}'s {GENERATED_CONFIG} sets {found}, not the FIFO stack's outputs {expected}"
    assert not (bundles["worker"].root / "cron.yaml").exists(), "the FIFO stack's worker bundle has a cron.yaml"
    dimensions = sqs_dimensions(bundles["worker"])
    assert dimensions == [[{"Name": "QueueName", "Value": outputs["QueueName"]}]], (
        f"the scaling policy measures {dimensions}, not the FIFO stack's queue {outputs['QueueName']}"
    )
    ebtemplate.lint_bundle(bundles["worker"], tmp_path)
