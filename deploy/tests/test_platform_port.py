"""The platform's port: on Amazon Linux 2023 nginx forwards port 80 to port 5000
when the environment sets no PORT property, so each bundle, started from its
Procfile with only the environment properties of its .ebextensions (made with
the application stack's outputs), must answer there, and only on loopback
(HOST=127.0.0.1), where nginx on the same instance reaches it and nothing on
the network does. One bundle at a time: both default to the same port."""

from __future__ import annotations

import socket

import pytest
import requests

import stackkit
from ebspec import BUNDLES
from processes import PLATFORM_PORT, Process, platform_environment, port_is_free


@pytest.mark.parametrize("name", sorted(BUNDLES))
def test_the_bundle_answers_health_on_port_5000_without_a_port_property(name, stack_bundles, moto_endpoint, tmp_path):
    bundle = stack_bundles[name]
    # Only what reaching moto needs is added: on Elastic Beanstalk the instance
    # role gives the credentials and the SDK finds the real endpoints.
    env = platform_environment(bundle, stackkit.aws_environment(moto_endpoint))
    assert "PORT" not in env, f"{name}'s .ebextensions set PORT={env.get('PORT')}: the platform's default is the point here"
    assert port_is_free(PLATFORM_PORT), (
        f"port {PLATFORM_PORT} is already taken on this machine (another server, or moto started on it): "
        f"stop it, or start moto on another port, to check that the {name} bundle listens on {PLATFORM_PORT}"
    )
    process = Process(bundle, env, tmp_path / f"{name}.log")
    try:
        process.wait_healthy()
        response = requests.get(f"http://127.0.0.1:{PLATFORM_PORT}/health", timeout=5)
        assert response.status_code == 200 and response.json().get("status") == "ok", (
            f"{name} on port {PLATFORM_PORT} answered /health with {response.status_code}: {response.text}"
        )
        # Another address of this machine: a server on every interface would
        # accept it (127.0.0.2 is as local as any, without needing a network
        # interface); one on 127.0.0.1 alone refuses it, as it refuses the
        # instance's network address.
        try:
            socket.create_connection(("127.0.0.2", PLATFORM_PORT), timeout=5).close()
        except ConnectionRefusedError:
            pass
        else:
            raise AssertionError(
                f"{name} accepts connections on 127.0.0.2:{PLATFORM_PORT}: it listens beyond loopback, so "
                "port 5000 would be reachable from the network (HOST=127.0.0.1 in its .ebextensions)"
            )
    finally:
        process.stop()
