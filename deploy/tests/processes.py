"""A bundle's `web` process started the way the platform starts it: from the
Procfile, in the unzipped bundle, with the environment properties of its
.ebextensions and nothing of this machine's environment."""

from __future__ import annotations

import os
import shlex
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
import requests

from ebspec import Bundle, function_value
from stackkit import REGION

# Where nginx forwards port 80 on the Amazon Linux 2023 platforms when the
# environment sets no PORT property.
PLATFORM_PORT = 5000


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_is_free(port: int) -> bool:
    """Whether a server could listen on `port` on every interface, so on
    loopback too, where the bundles listen (a port only in TIME_WAIT counts
    as free)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("0.0.0.0", port))
        except OSError:
            return False
    return True


def resolved(name: str, value) -> str:
    """An option value as Elastic Beanstalk hands it to the process: literal
    values as they are, and the one CloudFormation function the bundles use."""
    function = function_value(value)
    if function is None:
        return str(value).lower() if isinstance(value, bool) else str(value)
    if function == {"Ref": "AWS::Region"}:
        return REGION
    raise AssertionError(
        f"{name} = {value!r}: the tests resolve only '`{{\"Ref\" : \"AWS::Region\"}}`'; "
        "resolve this function in processes.resolved, or give a literal value"
    )


def platform_environment(bundle: Bundle, extra: dict[str, str]) -> dict[str, str]:
    """The bundle's environment properties, resolved, on a clean base, plus
    `extra` (what reaching moto needs, or a PORT)."""
    env = {key: os.environ[key] for key in ("PATH", "HOME", "LANG", "TMPDIR") if key in os.environ}
    for name, value in bundle.environment().items():
        env[name] = resolved(name, value)
    env.update(extra)
    return env


class Process:
    """A bundle's `web` process, started from its folder like the platform does."""

    def __init__(self, bundle: Bundle, env: dict[str, str], log: Path):
        self.bundle = bundle
        self.port = int(env.get("PORT") or PLATFORM_PORT)
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        name, command = bundle.procfile[0]
        assert name == "web", f"{bundle.name}: the Procfile's first process is {name!r}, not web"
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
                    f"{self.bundle.name} exited with {self.process.returncode} before answering "
                    f"{self.url}/health:\n{self.output()}",
                    pytrace=False,
                )
            try:
                if requests.get(f"{self.url}/health", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        pytest.fail(
            f"{self.bundle.name} did not answer {self.url}/health within {seconds} s:\n{self.output()}",
            pytrace=False,
        )

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)
        self.handle.close()
