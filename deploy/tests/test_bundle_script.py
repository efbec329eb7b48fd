"""scripts/bundle and the application stack's outputs: what it writes into
each zip's generated .ebextensions/00-stack.config, where it reads the outputs
from (STACK_NAME through the AWS CLI, or STACK_OUTPUTS), what it refuses, and
what it leaves out of the worker's zip for a FIFO queue (cron.yaml).
It also refuses, writing nothing, what cannot run: a binary that is not a
Linux one, one for another CPU than the instance type's, one that needs a
newer glibc than Amazon Linux 2023's, and bundles without the stack's outputs
unless the caller opts in. And it writes what is only known when bundling:
the web's HTTPS listener and both environments' notification topic.
The binaries here are small synthetic ELF files (elfkit.py), read by the
script as it reads real ones."""

from __future__ import annotations

import json
import os
import re
import shutil
import zipfile
from pathlib import Path

import pytest

import elfkit
import ebtemplate
import stackkit
from ebspec import (
    BUNDLES,
    DOCUMENTED_OPTIONS,
    GENERATED_CONFIG,
    REPO,
    documented_value,
    load_yaml,
    open_bundle,
)

ENVIRONMENT = "aws:elasticbeanstalk:application:environment"
SQSD = "aws:elasticbeanstalk:sqsd"

# What each environment is told by the generated file (namespace, name) ->
# the stack output whose value it holds.
TOPIC = ("aws:elasticbeanstalk:sns:topics", "Notification Topic ARN")
TOLD = {
    "web": {
        (ENVIRONMENT, "QUEUE_URL"): "QueueURL",
        (ENVIRONMENT, "TABLE_NAME"): "TableName",
        TOPIC: "NotificationTopicArn",
    },
    "worker": {
        (ENVIRONMENT, "QUEUE_URL"): "QueueURL",
        (ENVIRONMENT, "TABLE_NAME"): "TableName",
        (ENVIRONMENT, "QUEUE_NAME"): "QueueName",
        (SQSD, "WorkerQueueURL"): "QueueURL",
        TOPIC: "NotificationTopicArn",
    },
}


def generated_options(bundle) -> dict[tuple[str, str], object]:
    return {(o.namespace, o.name): o.value for o in bundle.options if o.file == GENERATED_CONFIG}


def zips_in(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.glob("*.zip")) if folder.exists() else []


def test_the_bundles_carry_the_stacks_outputs_as_literal_options(app_stack, tmp_path):
    outputs = app_stack["outputs"]
    bundles = stackkit.bundle_with_outputs(outputs, elfkit.binaries(tmp_path / "release"), tmp_path)
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
    bundles = stackkit.bundle_with_outputs(app_stack["outputs"], elfkit.binaries(tmp_path / "release"), tmp_path)
    dimensions = sqs_dimensions(bundles["worker"])
    assert dimensions == [[{"Name": "QueueName", "Value": app_stack["outputs"]["QueueName"]}]], (
        f"the scaling policy measures {dimensions}, not the stack's queue {app_stack['outputs']['QueueName']}"
    )
    ebtemplate.lint_bundle(bundles["worker"], tmp_path)


def test_without_stack_outputs_the_bundles_have_no_generated_config_and_say_so(tmp_path):
    # ALLOW_NO_STACK=1, the caller's explicit opt-in (the test command's own
    # bundles): zips without the stack's outputs, and a note that they are not
    # for a deploy.
    dist = tmp_path / "dist"
    result = stackkit.run_bundle_script(elfkit.binaries(tmp_path / "release"), dist, ALLOW_NO_STACK="1")
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
        elfkit.binaries(tmp_path / "release"),
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
        elfkit.binaries(tmp_path / "release"), dist, STACK_NAME="messages", PATH=path_without_aws(tmp_path / "bin")
    )
    assert result.returncode != 0, "STACK_NAME without the AWS CLI must fail, not bundle without the stack"
    assert "STACK_OUTPUTS" in result.stderr, f"the refusal must say how to give the outputs instead:\n{result.stderr}"
    assert zips_in(dist) == [], f"a refused run wrote {zips_in(dist)}"


def test_stack_name_and_stack_outputs_together_are_refused(tmp_path):
    outputs = stackkit.outputs_file({"QueueURL": "x"}, tmp_path / "outputs.json")
    dist = tmp_path / "dist"
    result = stackkit.run_bundle_script(
        elfkit.binaries(tmp_path / "release"), dist, STACK_NAME="messages", STACK_OUTPUTS=str(outputs)
    )
    assert result.returncode != 0 and "not both" in result.stderr, (
        f"STACK_NAME with STACK_OUTPUTS must be refused as ambiguous:\n{result.stderr}"
    )
    assert zips_in(dist) == [], f"a refused run wrote {zips_in(dist)}"


GOOD = {
    "QueueURL": "https://sqs.us-east-1.amazonaws.com/123456789012/messages-queue",
    "QueueName": "messages-queue",
    "TableName": "messages-store",
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
        elfkit.binaries(tmp_path / "release"),
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
    result = stackkit.run_bundle_script(elfkit.binaries(tmp_path / "release"), dist, STACK_OUTPUTS=str(outputs))
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
    binaries = elfkit.binaries(tmp_path / "release")
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
    bundles = stackkit.bundle_with_outputs(outputs, elfkit.binaries(tmp_path / "release"), tmp_path)
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


# --- what cannot run is refused, and nothing is written ---------------------------


def nothing_written(dist: Path) -> list[str]:
    """Everything a run left in DIST_DIR (a partial zip counts)."""
    return sorted(str(path.relative_to(dist)) for path in dist.rglob("*")) if dist.exists() else []


def refusal(result) -> str:
    lines = [line for line in result.stderr.splitlines() if line.startswith("refused: ")]
    assert len(lines) == 1, f"a refusal is one sentence on one line; scripts/bundle printed:\n{result.stderr}"
    return lines[0]


def run_with(tmp_path: Path, settings: dict[str, str] | None = None, **binaries: bytes):
    tmp_path.mkdir(parents=True, exist_ok=True)
    dist = tmp_path / "dist"
    outputs = stackkit.outputs_file(GOOD, tmp_path / "outputs.json")
    result = stackkit.run_bundle_script(
        elfkit.binaries(tmp_path / "release", **binaries), dist, STACK_OUTPUTS=str(outputs), **(settings or {})
    )
    return result, dist


AARCH64 = elfkit.elf(elfkit.AARCH64, ["2.17", "2.34"])


@pytest.mark.parametrize(
    "binaries, settings, says",
    [
        # `cargo build` on a Mac writes a Mach-O file: the Linux platforms
        # cannot run it.
        (
            {"web": elfkit.mach_o()},
            {},
            ["not a Linux (ELF) binary", "Mach-O", "cargo zigbuild --release --target x86_64-unknown-linux-gnu.2.34", "amazonlinux:2023"],
        ),
        # Apple Silicon with the guide's amazonlinux:2023 container builds for
        # aarch64; t3.micro, the guide's instance type and the default, is
        # x86_64 (only the Graviton families are arm64).
        (
            {"web": AARCH64, "worker": AARCH64},
            {},
            ["arm64 binary", "t3.micro runs x86_64", "--platform linux/amd64", "Graviton", "t4g.micro"],
        ),
        (
            {"worker": AARCH64},
            {"INSTANCE_TYPE": "t3.micro"},
            ["worker is an arm64 binary", "t3.micro runs x86_64", "--platform linux/amd64"],
        ),
        # Amazon Linux 2023 has glibc 2.34: a binary needing 2.35 does not
        # start ("version 'GLIBC_2.35' not found"). Only the worker here, so
        # a good web.zip must not be written either.
        (
            {"worker": elfkit.elf(elfkit.X86_64, ["2.2.5", "2.34", "2.35"])},
            {},
            ["worker needs glibc 2.35", "2.34", "cargo zigbuild --release --target x86_64-unknown-linux-gnu.2.34"],
        ),
        # An x86_64 build for a Graviton instance type is refused the other way round.
        (
            {},
            {"INSTANCE_TYPE": "t4g.small"},
            ["x86_64 binary", "t4g.small runs arm64", "aarch64-unknown-linux-gnu.2.34"],
        ),
    ],
    ids=["mach-o", "aarch64-for-the-default-t3", "aarch64-worker-for-t3.micro", "glibc-2.35", "x86_64-for-t4g"],
)
def test_a_binary_the_platform_cannot_run_is_refused_and_nothing_is_written(binaries, settings, says, tmp_path):
    result, dist = run_with(tmp_path, settings, **binaries)
    assert result.returncode != 0, f"scripts/bundle accepted a binary the platform cannot run:\n{result.stdout}"
    sentence = refusal(result)
    for part in says:
        assert part in sentence, f"the refusal must say {part!r}: {sentence}"
    assert nothing_written(dist) == [], f"a refused run wrote {nothing_written(dist)}"


def test_without_stack_outputs_and_without_the_opt_in_nothing_is_written(tmp_path):
    # Bundles without 00-stack.config deploy "successfully", then run the web
    # on its embedded SQLite file while sqsd reads a queue Elastic Beanstalk
    # creates and nothing sends to: refused unless ALLOW_NO_STACK=1.
    dist = tmp_path / "dist"
    result = stackkit.run_bundle_script(elfkit.binaries(tmp_path / "release"), dist)
    assert result.returncode != 0, f"scripts/bundle without the stack's outputs must refuse:\n{result.stdout}"
    for part in ("STACK_NAME", "ALLOW_NO_STACK=1", "SQLite"):
        assert part in result.stderr, f"the refusal must say {part!r}:\n{result.stderr}"
    assert len(result.stderr.strip().splitlines()) == 1, f"the refusal is one sentence:\n{result.stderr}"
    assert nothing_written(dist) == [], f"a refused run wrote {nothing_written(dist)}"


@pytest.mark.parametrize(
    "instance_type, architecture",
    [
        ("t3.micro", "x86_64"),
        ("m5.large", "x86_64"),
        ("c7a.large", "x86_64"),
        ("m7i-flex.large", "x86_64"),
        # A GPU family whose series letter is g, with no g after the generation.
        ("g4dn.xlarge", "x86_64"),
        ("t4g.micro", "arm64"),
        ("m7g.large", "arm64"),
        ("c7gn.large", "arm64"),
        ("r8g.large", "arm64"),
        ("x2gd.large", "arm64"),
        ("im4gn.large", "arm64"),
        ("g5g.xlarge", "arm64"),
        # The first Graviton generation, named before the convention.
        ("a1.medium", "arm64"),
    ],
)
def test_the_cpu_is_taken_from_the_instance_family(instance_type, architecture, tmp_path):
    # EC2's naming conventions: a `g` right after the generation digit is
    # "AWS Graviton processors"; AWS lists C6g, M6g, R6g, T4g, X2gd, C6gn,
    # I4g, Im4gn, Is4gen, G5g, C7g, M7g, R7g, R8g and A1 as Graviton (arm64).
    binary = AARCH64 if architecture == "arm64" else elfkit.elf(elfkit.X86_64, ["2.34"])
    other = elfkit.elf(elfkit.X86_64, ["2.34"]) if architecture == "arm64" else AARCH64
    accepted, dist = run_with(tmp_path / "same", {"INSTANCE_TYPE": instance_type}, web=binary, worker=binary)
    assert accepted.returncode == 0, f"an {architecture} binary for {instance_type} was refused:\n{accepted.stderr}"
    assert f"web  ({architecture}, needs glibc 2.34; for {instance_type})" in accepted.stdout, accepted.stdout
    refused, dist = run_with(tmp_path / "other", {"INSTANCE_TYPE": instance_type}, web=other, worker=other)
    assert refused.returncode != 0, f"a binary of the other CPU was accepted for {instance_type}:\n{refused.stdout}"
    assert f"{instance_type} runs {architecture}" in refusal(refused)


def test_instance_types_of_two_cpus_are_refused(tmp_path):
    # An environment runs one AMI, of one architecture, for all its instances.
    result, dist = run_with(tmp_path, {"INSTANCE_TYPES": "t3.micro,t4g.micro"})
    assert result.returncode != 0 and "mixes CPUs" in refusal(result), result.stderr
    assert nothing_written(dist) == []


def test_the_glibc_check_reads_the_version_needs_not_any_string(tmp_path):
    # The loader checks the versions DT_VERNEED names; a "GLIBC_2.99" that is
    # only text in the program must not refuse it, and a static binary (no
    # dynamic segment) needs no glibc at all.
    text = b"a message that mentions GLIBC_2.99\0"
    result, dist = run_with(
        tmp_path,
        web=elfkit.elf(elfkit.X86_64, ["2.2.5", "2.28"], filler=text),
        worker=elfkit.elf(elfkit.X86_64, None, filler=text),
    )
    assert result.returncode == 0, f"scripts/bundle refused binaries that run on glibc 2.34:\n{result.stderr}"
    assert "web  (x86_64, needs glibc 2.28; for t3.micro)" in result.stdout, result.stdout
    assert "worker  (x86_64, static, no glibc; for t3.micro)" in result.stdout, result.stdout
    assert sorted(path.name for path in dist.iterdir()) == ["web.zip", "worker.zip"]


def glibc_strings(binary: Path) -> tuple[int, ...]:
    """The newest GLIBC_2.x string anywhere in a real binary: in a binary the
    linker wrote, these strings are the version needs' names, so this reading,
    independent of the script's, must agree with it."""
    found = re.findall(rb"GLIBC_(2\.[0-9]+(?:\.[0-9]+)?)\x00", binary.read_bytes())
    return max(tuple(int(part) for part in version.split(b".")) for version in found)


def test_the_release_binaries_pass_and_are_read_as_the_loader_reads_them(bundles, tmp_path):
    # The happy path with the binaries the test command built (DIST_DIR's
    # bundles): accepted, with the CPU of their ELF header and the newest
    # glibc version they need.
    release = stackkit.real_binaries(bundles, tmp_path / "release")
    dist = tmp_path / "dist"
    result = stackkit.run_bundle_script(
        release, dist, STACK_OUTPUTS=str(stackkit.outputs_file(GOOD, tmp_path / "outputs.json"))
    )
    assert result.returncode == 0, f"scripts/bundle refused the release binaries:\n{result.stderr}"
    for name in BUNDLES:
        newest = ".".join(map(str, glibc_strings(release / name)))
        machine = {0x3E: "x86_64", 0xB7: "arm64"}[int.from_bytes((release / name).read_bytes()[18:20], "little")]
        assert f"{name}  ({machine}, needs glibc {newest}; for t3.micro)" in result.stdout, (
            f"scripts/bundle read {name} as something other than {machine} needing glibc {newest}:\n{result.stdout}"
        )


# --- HTTPS and notifications, given when bundling -----------------------------------

CERTIFICATE = "arn:aws:acm:us-east-1:123456789012:certificate/0f3c5c2e-1111-2222-3333-444455556666"
TOPIC = "arn:aws:sns:us-east-1:123456789012:messages-alarms"


def bundled(tmp_path: Path, outputs: dict[str, str] = GOOD, **settings: str) -> dict:
    tmp_path.mkdir(parents=True, exist_ok=True)
    dist = tmp_path / "dist"
    result = stackkit.run_bundle_script(
        elfkit.binaries(tmp_path / "release"),
        dist,
        STACK_OUTPUTS=str(stackkit.outputs_file(outputs, tmp_path / "outputs.json")),
        **settings,
    )
    assert result.returncode == 0, f"scripts/bundle failed:\n{result.stdout}{result.stderr}"
    return {
        "result": result,
        **{name: open_bundle(name, dist / f"{name}.zip", tmp_path / name) for name in BUNDLES},
    }


def test_a_certificate_gives_the_web_an_https_listener_and_redirects_http(tmp_path):
    # "Configuring HTTPS for your Elastic Beanstalk environment": a listener
    # on port 443 (aws:elbv2:listener:443, Protocol HTTPS, SSLCertificateArns);
    # "Configuring HTTP to HTTPS redirection": the default listener
    # (AWSEBV2LoadBalancerListener) modified to redirect, as AWS's sample
    # alb-http-to-https-redirection.config does.
    made = bundled(tmp_path, CERTIFICATE_ARN=CERTIFICATE)
    web, worker = made["web"], made["worker"]
    assert web.option("aws:elbv2:listener:443", "Protocol") == "HTTPS"
    assert web.option("aws:elbv2:listener:443", "SSLCertificateArns") == CERTIFICATE
    assert web.option("aws:elbv2:listener:443", "SSLPolicy").startswith("ELBSecurityPolicy-TLS13-1-2-")
    listener = web.section("Resources")["AWSEBV2LoadBalancerListener"]
    assert listener["Type"] == "AWS::ElasticLoadBalancingV2::Listener"
    properties = listener["Properties"]
    assert (properties["Port"], properties["Protocol"]) == (80, "HTTP"), properties
    assert properties["LoadBalancerArn"] == {"Ref": "AWSEBV2LoadBalancer"}, properties
    assert properties["DefaultActions"] == [
        {
            "Type": "redirect",
            "RedirectConfig": {
                "Host": "#{host}",
                "Path": "/#{path}",
                "Port": "443",
                "Protocol": "HTTPS",
                "Query": "#{query}",
                "StatusCode": "HTTP_301",
            },
        }
    ], f"port 80 does not redirect every request to the same URL over HTTPS: {properties['DefaultActions']}"
    for bundle in (web, worker):
        for option in bundle.options:
            assert option.namespace in DOCUMENTED_OPTIONS, f"{bundle.name}: undocumented namespace {option.namespace}"
            names = DOCUMENTED_OPTIONS[option.namespace]
            assert names is None or option.name in names, f"{bundle.name}: {option.namespace} has no {option.name}"
            assert documented_value(option.namespace, option.name, option.value), (
                f"{bundle.name}: {option.namespace} {option.name} = {option.value!r} is not a documented value"
            )
    # The worker has no load balancer: nothing of the listener reaches it.
    assert not [o for o in worker.options if o.namespace.startswith("aws:elbv2")], worker.options
    assert "AWSEBV2LoadBalancerListener" not in worker.section("Resources")
    assert "no CERTIFICATE_ARN" not in made["result"].stderr
    ebtemplate.lint_bundle(web, tmp_path)


def test_without_a_certificate_the_bundle_says_sign_in_stays_refused(tmp_path):
    # The web refuses the operator's credentials over plain HTTP
    # (REQUIRE_HTTPS=true): without a certificate it still bundles (reading
    # and sending work over HTTP), and says so.
    made = bundled(tmp_path)
    notes = [line for line in made["result"].stderr.splitlines() if "no CERTIFICATE_ARN" in line]
    assert len(notes) == 1, f"scripts/bundle must say once that there is no HTTPS:\n{made['result'].stderr}"
    for part in ("sign-in", "REQUIRE_HTTPS=true", "CERTIFICATE_ARN=arn:aws:acm:"):
        assert part in notes[0], f"the note must mention {part!r}: {notes[0]}"
    assert not [o for o in made["web"].options if o.namespace.startswith("aws:elbv2")]
    assert "Resources" not in made["web"].configs[GENERATED_CONFIG]


@pytest.mark.parametrize(
    "settings, says",
    [
        ({"CERTIFICATE_ARN": "arn:aws:iam::123456789012:server-certificate/site"}, "not an AWS Certificate Manager certificate ARN"),
        # Elastic Load Balancing takes ACM certificates of its own region only.
        ({"CERTIFICATE_ARN": CERTIFICATE.replace("us-east-1", "eu-west-1")}, "a load balancer uses a certificate of its own region"),
        ({"NOTIFICATION_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:alarms.fifo"}, "not the ARN of a standard SNS topic"),
    ],
    ids=["not-acm", "other-region", "fifo-topic"],
)
def test_a_certificate_or_topic_that_cannot_work_is_refused(settings, says, tmp_path):
    result, dist = run_with(tmp_path, settings)
    assert result.returncode != 0 and says in refusal(result), result.stderr
    assert nothing_written(dist) == [], f"a refused run wrote {nothing_written(dist)}"


def test_both_environments_notify_the_topic_given_or_the_stacks(tmp_path):
    # aws:elasticbeanstalk:sns:topics "Notification Topic ARN": an existing
    # topic, which Elastic Beanstalk does not delete with the environment.
    given = bundled(tmp_path / "given", NOTIFICATION_TOPIC_ARN=TOPIC)
    from_stack = bundled(tmp_path / "stack", {**GOOD, "NotificationTopicArn": TOPIC + "-stack"})
    for name in BUNDLES:
        assert given[name].option("aws:elasticbeanstalk:sns:topics", "Notification Topic ARN") == TOPIC
        assert from_stack[name].option("aws:elasticbeanstalk:sns:topics", "Notification Topic ARN") == TOPIC + "-stack"
    assert "no NOTIFICATION_TOPIC_ARN" not in given["result"].stderr
    without = bundled(tmp_path / "without")
    assert "no NOTIFICATION_TOPIC_ARN" in without["result"].stderr, without["result"].stderr
    for name in BUNDLES:
        assert not [o for o in without[name].options if o.namespace == "aws:elasticbeanstalk:sns:topics"]
