"""Fixtures of the deploy tests.

    DIST_DIR       where scripts/bundle wrote web.zip and worker.zip (default: dist)
    MOTO_ENDPOINT  moto's server, e.g. http://127.0.0.1:5050, for the tests that
                   create the application stack on its CloudFormation and run
                   the bundles against its SQS and DynamoDB

A missing bundle or endpoint fails the tests that need it, with what to do:
these tests never skip.
"""

from __future__ import annotations

import os
import uuid

import pytest

import stackkit
from ebspec import BUNDLES, Bundle, bundle_zip, open_bundle


@pytest.fixture(scope="session")
def bundles(tmp_path_factory) -> dict[str, Bundle]:
    """Both bundles, unzipped with their file modes, and their configs parsed."""
    return {
        name: open_bundle(name, bundle_zip(name), tmp_path_factory.mktemp(f"{name}-bundle"))
        for name in BUNDLES
    }


@pytest.fixture(scope="session")
def web(bundles) -> Bundle:
    return bundles["web"]


@pytest.fixture(scope="session")
def worker(bundles) -> Bundle:
    return bundles["worker"]


@pytest.fixture(scope="session")
def moto_endpoint() -> str:
    endpoint = (os.environ.get("MOTO_ENDPOINT") or "").rstrip("/")
    if not endpoint:
        pytest.fail(
            "MOTO_ENDPOINT is not set: start moto's server "
            "(`python scripts/moto-server -H 127.0.0.1 -p 5050`, from `pip install -r deploy/tests/requirements.txt`; "
            "not on port 5000, where the bundles listen) and run with MOTO_ENDPOINT=http://127.0.0.1:5050",
            pytrace=False,
        )
    return endpoint


def _created_stack(moto_endpoint: str, prefix: str, parameters: dict[str, str] | None = None):
    name = f"{prefix}-{uuid.uuid4().hex[:10]}"
    outputs = stackkit.create_stack(moto_endpoint, name, parameters)
    try:
        yield {"name": name, "outputs": outputs}
    finally:
        stackkit.delete_stack(moto_endpoint, name)
        stackkit.remove_retained_table(moto_endpoint, outputs["TableName"])


@pytest.fixture(scope="session")
def app_stack(moto_endpoint):
    """The application stack, created from deploy/stack/messages.yaml on moto's
    CloudFormation: its name and outputs. Deleted at the end, with the table
    it retains."""
    yield from _created_stack(moto_endpoint, "deploy-test")


@pytest.fixture(scope="session")
def fifo_stack(moto_endpoint):
    """The same stack with QueueType=fifo, as `aws cloudformation deploy
    --parameter-overrides QueueType=fifo` creates it."""
    yield from _created_stack(moto_endpoint, "deploy-test-fifo", {"QueueType": "fifo"})


@pytest.fixture(scope="session")
def stack_bundles(bundles, app_stack, tmp_path_factory) -> dict[str, Bundle]:
    """Both bundles as the guide makes them for a deploy: scripts/bundle given
    the application stack's outputs, with the test command's binaries."""
    work = tmp_path_factory.mktemp("stack-bundles")
    binaries = stackkit.real_binaries(bundles, work / "release")
    return stackkit.bundle_with_outputs(app_stack["outputs"], binaries, work)
