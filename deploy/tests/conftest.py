"""Fixtures of the deploy tests.

    DIST_DIR       where scripts/bundle wrote web.zip and worker.zip (default: dist)
    MOTO_ENDPOINT  moto's server, e.g. http://127.0.0.1:5000, for the tests that
                   run the bundles against SQS and DynamoDB

A missing bundle or endpoint fails the tests that need it, with what to do:
these tests never skip.
"""

from __future__ import annotations

import os

import pytest

from ebspec import BUNDLES, Bundle, bundle_zip, load_yaml, unzip


@pytest.fixture(scope="session")
def bundles(tmp_path_factory) -> dict[str, Bundle]:
    """Both bundles, unzipped with their file modes, and their configs parsed."""
    found = {}
    for name in BUNDLES:
        root = unzip(bundle_zip(name), tmp_path_factory.mktemp(f"{name}-bundle"))
        bundle = Bundle(name, root)
        for config in sorted((root / ".ebextensions").glob("*.config")):
            parsed = load_yaml(config)
            assert isinstance(parsed, dict), f"{name}: {config.name} is not a YAML mapping"
            bundle.configs[config.name] = parsed
        found[name] = bundle
    return found


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
            "(`moto_server -H 127.0.0.1 -p 5000`, from `pip install -r deploy/tests/requirements.txt`) "
            "and run with MOTO_ENDPOINT=http://127.0.0.1:5000",
            pytrace=False,
        )
    return endpoint
