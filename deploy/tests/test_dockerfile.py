"""The Dockerfile, checked without a Docker engine: hadolint, and what the
image must be (multi-stage, cargo-chef, BIN=web|worker, non-root, PORT 8080
on every interface, a health check), a .dockerignore that keeps the workspace buildable, and what
the Docker platform needs besides the image: the instance metadata hop limit."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from ebspec import REPO

DOCKERFILE = REPO / "Dockerfile"
DOCKERIGNORE = REPO / ".dockerignore"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    found, current = [], ""
    for line in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if current and stripped.startswith("#"):
            continue
        current += " " + stripped.rstrip("\\").strip() if current else stripped.rstrip("\\").strip()
        if not stripped.endswith("\\"):
            keyword, _, rest = current.partition(" ")
            found.append((keyword.upper(), rest.strip()))
            current = ""
    return found


def stages() -> list[list[tuple[str, str]]]:
    result: list[list[tuple[str, str]]] = []
    for keyword, rest in instructions():
        if keyword == "FROM":
            result.append([])
        if result:
            result[-1].append((keyword, rest))
    return result


def hadolint() -> str:
    beside = Path(sys.executable).with_name("hadolint")
    if beside.exists():
        return str(beside)
    found = shutil.which("hadolint")
    if not found:
        pytest.fail("hadolint is not installed: pip install -r deploy/tests/requirements.txt", pytrace=False)
    return found


def test_hadolint_passes_with_no_finding():
    result = subprocess.run(
        [hadolint(), "--no-color", str(DOCKERFILE)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, f"hadolint:\n{result.stdout}{result.stderr}"


def test_every_hadolint_ignore_says_why():
    lines = DOCKERFILE.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines):
        if "hadolint ignore=" in line:
            reason = lines[number - 1].strip() if number else ""
            assert reason.startswith("#") and "hadolint" not in reason and len(reason) > 20, (
                f"Dockerfile line {number + 1}: an ignored hadolint rule needs a comment line above it saying why"
            )


def test_dependencies_are_cooked_before_the_sources_are_copied():
    builder = next(stage for stage in stages() if " AS builder" in stage[0][1])
    steps = [f"{keyword} {rest}" for keyword, rest in builder]
    cook = next(i for i, step in enumerate(steps) if "cargo chef cook" in step)
    copy_all = next(i for i, step in enumerate(steps) if step.startswith("COPY . "))
    build = next(i for i, step in enumerate(steps) if "cargo build" in step)
    assert cook < copy_all < build, steps
    assert any("cargo chef prepare" in f"{k} {r}" for stage in stages() for k, r in stage)
    assert "--release" in steps[cook] and '"$BIN"' in steps[cook]


def test_the_rust_stages_use_one_rust_image_and_the_runtime_is_small():
    froms = [stage[0][1].split()[0] for stage in stages()]
    rust = [image for image in froms if image.startswith("rust:")]
    assert rust == ["rust:1.95-bookworm"], froms
    assert froms[-1] in {"debian:bookworm-slim", "gcr.io/distroless/cc-debian12"}, froms[-1]


def test_bin_selects_the_web_or_the_worker():
    args = [rest for keyword, rest in instructions() if keyword == "ARG"]
    assert "BIN=web" in args, args
    text = DOCKERFILE.read_text(encoding="utf-8")
    assert re.search(r"web\|worker\)", text), "the build must refuse a BIN other than web or worker"
    for package in ("web", "worker"):
        manifest = tomllib.loads((REPO / package / "Cargo.toml").read_text(encoding="utf-8"))
        assert manifest["package"]["name"] == package


def test_the_runtime_runs_as_a_user_on_port_8080_with_a_health_check():
    runtime = stages()[-1]
    users = [rest for keyword, rest in runtime if keyword == "USER"]
    assert users and users[-1].split(":")[0] not in {"root", "0"}, users
    assert ("EXPOSE", "8080") in runtime
    env = " ".join(rest for keyword, rest in runtime if keyword == "ENV")
    assert re.search(r"\bPORT=8080\b", env), env
    health = [rest for keyword, rest in runtime if keyword == "HEALTHCHECK"]
    assert health and "/health" in health[0], health
    entrypoint = [rest for keyword, rest in runtime if keyword == "ENTRYPOINT"]
    assert entrypoint and entrypoint[-1].startswith("["), "ENTRYPOINT in exec form receives SIGTERM"


def test_the_runtime_listens_on_every_interface_of_the_container():
    # Whatever is in front (nginx on the Docker platform's instance, `docker
    # run -p`) reaches the app across Docker's bridge, never on the
    # container's loopback: HOST=0.0.0.0, said in the image, not left to the
    # binaries' default.
    env = " ".join(rest for keyword, rest in stages()[-1] if keyword == "ENV")
    assert re.search(r"(^|\s)HOST=0\.0\.0\.0(\s|$)", env), f"the runtime stage does not set HOST=0.0.0.0: {env}"


def test_dockerignore_keeps_every_workspace_member_in_the_context():
    patterns = [
        line.strip()
        for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    workspace = tomllib.loads((REPO / "Cargo.toml").read_text(encoding="utf-8"))["workspace"]
    needed = ["Cargo.toml", "Cargo.lock", *(f"{member}/Cargo.toml" for member in workspace["members"])]

    def regex(pattern: str) -> re.Pattern:
        # Docker's syntax: `**` matches any number of folders (also none).
        out, rest = "", pattern.strip("/")
        while rest:
            if rest.startswith("**/"):
                out, rest = out + "(?:.*/)?", rest[3:]
            elif rest.startswith("**"):
                out, rest = out + ".*", rest[2:]
            elif rest[0] == "*":
                out, rest = out + "[^/]*", rest[1:]
            elif rest[0] == "?":
                out, rest = out + "[^/]", rest[1:]
            else:
                out, rest = out + re.escape(rest[0]), rest[1:]
        return re.compile(out + r"\Z")

    excluded = [regex(pattern) for pattern in patterns if not pattern.startswith("!")]

    def ignored(path: str) -> bool:
        parts = path.split("/")
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        return any(rule.match(prefix) for rule in excluded for prefix in prefixes)

    for path in needed:
        assert (REPO / path).exists(), f"{path} is missing"
        assert not ignored(path), f".dockerignore leaves {path} out of the build context"
    assert ignored("target/release/web") and ignored(".git/HEAD"), "target/ and .git/ must stay out"


# --- the Docker platform's instance metadata hop limit -------------------------

HOP_LIMIT_CONFIG = REPO / "deploy" / "docker" / "imds-hop-limit.config"


def test_the_docker_bundles_raise_the_imds_hop_limit_to_2_with_imdsv2():
    from ebspec import CONFIG_KEYS, load_yaml

    config = load_yaml(HOP_LIMIT_CONFIG)
    assert set(config) == {"commands"} and set(config) <= CONFIG_KEYS, (
        f"{HOP_LIMIT_CONFIG.name} must hold only `commands`, not {sorted(config)}"
    )
    (command,) = [entry["command"] for entry in config["commands"].values()]
    assert "modify-instance-metadata-options" in command and "--http-put-response-hop-limit 2" in command, (
        f"{HOP_LIMIT_CONFIG.name} must set the instance's hop limit to 2:\n{command}"
    )
    # A token on every metadata read, so that it works with IMDSv1 disabled.
    assert command.count("X-aws-ec2-metadata-token:") == command.count("/latest/meta-data/") >= 1, (
        f"every instance metadata read in {HOP_LIMIT_CONFIG.name} must send the IMDSv2 token:\n{command}"
    )
    syntax = subprocess.run(["bash", "-n", "-c", command], capture_output=True, text=True, timeout=30)
    assert syntax.returncode == 0, f"{HOP_LIMIT_CONFIG.name}'s command is not valid shell: {syntax.stderr}"


def test_the_docker_instances_may_change_only_their_own_metadata_options():
    import json

    document = json.loads((REPO / "deploy" / "iam" / "docker-imds-policy.json").read_text(encoding="utf-8"))
    (statement,) = document["Statement"]
    assert statement["Effect"] == "Allow" and statement["Action"] == ["ec2:ModifyInstanceMetadataOptions"], (
        f"the Docker instances' extra policy must allow ec2:ModifyInstanceMetadataOptions only: {statement}"
    )
    assert statement["Resource"] == "arn:aws:ec2:REGION:ACCOUNT_ID:instance/*", f"resource {statement['Resource']}"
    assert statement["Condition"] == {
        "StringEquals": {"aws:ResourceTag/elasticbeanstalk:environment-name": "ENVIRONMENT_NAME"}
    }, f"the policy must be limited to the environment's own instances (by tag): {statement.get('Condition')}"
