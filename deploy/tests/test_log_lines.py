"""Log lines reach CloudWatch Logs as the app wrote them: one JSON object per
line with LOG_FORMAT=json.

On Amazon Linux 2023 the platform runs the Procfile's `web` process under
systemd, and rsyslog writes its output to /var/log/web.stdout.log and
web.stderr.log, the files it streams to CloudWatch Logs, by the rules of
/etc/rsyslog.d/web.conf, which it writes at every deployment and change of
configuration ("Extending Elastic Beanstalk Linux platforms", "Platform
hooks"; Buildfile and Procfile). rsyslog's default format puts the date, the
host and the tag before each line, which no longer parses as JSON. Both
bundles put their own rules in its place from a predeploy hook, in hooks/ for
a deployment and in confighooks/ for a change of configuration.

Checked here: the hook is in both places of both bundles, executable, and
installs the bundle's rules where rsyslog reads them and restarts it (run
with `install` and `systemctl` standing in); and the rules, read by a real
rsyslogd (Debian's) with messages sent the way journald hands them on, write
each line of `web` exactly as it was written, by priority to the two files,
and nothing of another program.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from ebspec import BUNDLES

HOOK = "10-log-lines-as-written.sh"
HOOK_PLACES = [".platform/hooks/predeploy", ".platform/confighooks/predeploy"]
RULES = ".platform/rsyslog/web.conf"
# Where the platform's own rules for the `web` process are.
PLATFORM_RULES = "/etc/rsyslog.d/web.conf"


def rsyslogd() -> str:
    found = shutil.which("rsyslogd") or ("/usr/sbin/rsyslogd" if Path("/usr/sbin/rsyslogd").exists() else None)
    assert found, "rsyslogd is not installed: scripts/test installs Debian's rsyslog"
    return found


@pytest.mark.parametrize("name", sorted(BUNDLES))
@pytest.mark.parametrize("place", HOOK_PLACES)
def test_the_hook_installs_the_rules_and_restarts_rsyslog(bundles, name, place, tmp_path):
    bundle = bundles[name]
    hook = bundle.root / place / HOOK
    assert hook.is_file(), f"{name}.zip has no {place}/{HOOK}"
    assert os.access(hook, os.X_OK), f"{name}.zip stores {place}/{HOOK} without its executable bit"
    # `install` and `systemctl` stand in, writing down how they were called.
    shims = tmp_path / "bin"
    shims.mkdir()
    calls = tmp_path / "calls"
    for command in ("install", "systemctl"):
        shim = shims / command
        shim.write_text(f'#!/bin/sh\necho "{command} $*" >> "{calls}"\n', encoding="utf-8")
        shim.chmod(0o755)
    # The platform runs a hook from wherever it likes: the hook finds the
    # rules beside itself.
    subprocess.run(
        [str(hook)],
        cwd=tmp_path,
        env={**os.environ, "PATH": f"{shims}:{os.environ['PATH']}"},
        check=True,
        timeout=30,
    )
    made = calls.read_text(encoding="utf-8").splitlines()
    assert len(made) == 2 and made[1] == "systemctl restart rsyslog", made
    words = made[0].split()
    assert words[:3] == ["install", "-m", "0644"] and words[-1] == PLATFORM_RULES, made
    source = Path(words[3])
    assert source.resolve() == (bundle.root / RULES).resolve(), f"{place}/{HOOK} installs {source}, not {RULES}"


def test_both_bundles_write_the_same_rules(web, worker):
    assert (web.root / RULES).read_bytes() == (worker.root / RULES).read_bytes()


def test_rsyslog_writes_each_line_of_web_as_it_was_written(web, tmp_path):
    # The bundle's rules, their files moved under this test's folder.
    rules = (web.root / RULES).read_text(encoding="utf-8").replace("/var/log/", f"{tmp_path}/")
    (tmp_path / "web.conf").write_text(rules, encoding="utf-8")
    socket = tmp_path / "log.sock"
    (tmp_path / "rsyslog.conf").write_text(
        f'global(workDirectory="{tmp_path}")\n'
        'module(load="imuxsock" SysSock.Use="off")\n'
        f'input(type="imuxsock" Socket="{socket}")\n'
        f'include(file="{tmp_path}/web.conf")\n',
        encoding="utf-8",
    )
    daemon = rsyslogd()
    checked = subprocess.run(
        [daemon, "-N1", "-f", str(tmp_path / "rsyslog.conf")], capture_output=True, text=True, timeout=30
    )
    assert checked.returncode == 0, checked.stderr
    running = subprocess.Popen(
        [daemon, "-n", "-f", str(tmp_path / "rsyslog.conf"), "-i", str(tmp_path / "rsyslogd.pid")],
        stderr=subprocess.PIPE,
    )
    try:
        for _ in range(100):
            if socket.exists():
                break
            time.sleep(0.05)
        assert socket.exists(), "rsyslogd did not open its socket"
        info = json.dumps({"timestamp": "2026-12-05T01:00:00Z", "level": "INFO", "fields": {"message": "a message sent"}, "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736"})
        error = json.dumps({"level": "ERROR", "fields": {"message": "the status store is unavailable: it said \"no\""}})
        for tag, priority, line in [("web", "user.info", info), ("web", "user.err", error), ("sshd", "user.info", "not the app's")]:
            subprocess.run(["logger", "--socket", str(socket), "-t", tag, "-p", priority, line], check=True, timeout=10)
        stdout, stderr = tmp_path / "web.stdout.log", tmp_path / "web.stderr.log"
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not (stdout.exists() and stderr.exists()):
            time.sleep(0.05)
    finally:
        running.send_signal(signal.SIGTERM)
        running.wait(timeout=10)
    assert stdout.read_text(encoding="utf-8").splitlines() == [info], "web.stdout.log holds the info line as written"
    assert stderr.read_text(encoding="utf-8").splitlines() == [error], "web.stderr.log holds the error line as written"
    for line in stdout.read_text(encoding="utf-8").splitlines() + stderr.read_text(encoding="utf-8").splitlines():
        json.loads(line)
