"""The worker bundle's nginx rule: POST /process and /tasks/* answered only for
requests from the instance itself (sqsd posts to http://localhost:80/...),
/health and everything else left as the platform proxies it.

Read from the worker bundle as the platform would install it, then run in a
real nginx (Debian's), included in a server block like the platform's default
one, in front of a stub: a request from 127.0.0.1 reaches the stub, one from
another address (127.0.0.2, the client socket bound to it) gets 403 and never
reaches it.
"""

from __future__ import annotations

import http.client
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from processes import free_port

# Where the platform includes a file: conf.d/ in nginx's http block,
# conf.d/elasticbeanstalk/ in its default server block (Elastic Beanstalk
# Developer Guide, "Reverse proxy configuration").
HTTP_LEVEL = ".platform/nginx/conf.d"
SERVER_LEVEL = ".platform/nginx/conf.d/elasticbeanstalk"

# Paths of the worker's that only sqsd may post to, and paths anyone may ask.
SQSD_PATHS = ["/process", "/tasks/sweep", "/process-batch"]
OPEN_PATHS = ["/health", "/", "/api/messages", "/healthz", "/tasksweep"]
# The same sqsd paths as a client could spell them: nginx normalises the path
# before matching (percent-decoding, merged slashes, dot segments), and case
# is ignored.
SPELLINGS = ["/process", "//process", "/%70rocess", "/./process", "/x/../process", "/PROCESS", "/tasks/sweep"]


def server_rules(worker) -> str:
    """The server-level nginx files of the worker bundle, comments dropped."""
    folder = worker.root / SERVER_LEVEL
    files = sorted(folder.glob("*.conf"))
    assert files, f"worker.zip has no {SERVER_LEVEL}/*.conf: the rule for /process and /tasks/ must be there"
    return "\n".join(re.sub(r"#.*", "", file.read_text(encoding="utf-8")) for file in files)


def rule_patterns(worker) -> tuple[re.Pattern, re.Pattern]:
    """The rule's two regular expressions: the paths it guards, and the
    addresses it lets through."""
    text = server_rules(worker)
    assert re.search(r"\breturn\s+403\s*;", text), f"{SERVER_LEVEL}: no `return 403;` for a request from elsewhere"
    paths = re.findall(r'if\s*\(\s*\$uri\s+(~\*?)\s+"([^"]+)"\s*\)', text)
    addresses = re.findall(r'if\s*\(\s*\$remote_addr\s+~\s+"([^"]+)"\s*\)', text)
    assert len(paths) == 1 and len(addresses) == 1, (
        f"{SERVER_LEVEL}: expected one `if ($uri ~ ...)` and one `if ($remote_addr ~ ...)`, found {paths} and {addresses}"
    )
    ((operator, path_pattern),), (address_pattern,) = paths, addresses
    flags = re.IGNORECASE if operator == "~*" else 0
    return re.compile(path_pattern, flags), re.compile(address_pattern)


# --- the rule as written --------------------------------------------------------


def test_the_rule_sits_where_the_platform_includes_it_in_the_server_block(worker):
    # A location-level rule in conf.d/ (the http block) would be a
    # configuration error on the instance; nothing guards a path there.
    rules = server_rules(worker)
    assert "$uri" in rules and "$remote_addr" in rules, f"{SERVER_LEVEL}/*.conf guards no path by address"
    for file in (worker.root / HTTP_LEVEL).glob("*.conf"):
        text = re.sub(r"#.*", "", file.read_text(encoding="utf-8"))
        assert not re.search(r"\b(if|location|return|allow|deny)\b", text), (
            f"{HTTP_LEVEL}/{file.name} is included in the http block: server rules belong in {SERVER_LEVEL}/"
        )


def test_the_rule_guards_the_sqsd_paths_and_leaves_health_open(worker):
    paths, _ = rule_patterns(worker)
    for path in SQSD_PATHS:
        assert paths.search(path), f"the worker's nginx rule does not guard {path}"
    for path in OPEN_PATHS:
        assert not paths.search(path), f"the worker's nginx rule guards {path}, which stays open"


def test_the_rule_lets_through_only_the_instance_itself(worker):
    _, addresses = rule_patterns(worker)
    for address in ("127.0.0.1", "::1"):
        assert addresses.search(address), f"the worker's nginx rule refuses {address}, where sqsd posts from"
    for address in ("127.0.0.2", "10.0.0.1", "172.31.5.9", "203.0.113.7", "::ffff:127.0.0.1", "127.0.0.10",
                    "1127.0.0.1", "::1:2", "fe80::1"):
        assert not addresses.search(address), f"the worker's nginx rule lets {address} through"


# --- the rule in a real nginx -----------------------------------------------------


def nginx_binary() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if not found:
        pytest.fail(
            "nginx is not installed: `apt-get install nginx` (scripts/test installs it) to run the worker "
            "bundle's nginx rule for real",
            pytrace=False,
        )
    return found


class Stub(BaseHTTPRequestHandler):
    """The worker's stand-in: answers 200 to anything and remembers the path."""

    def answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        self.server.seen.append(self.path)  # type: ignore[attr-defined]
        body = b"stub"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = answer

    def log_message(self, *args) -> None:
        pass


def ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as sock:
            sock.bind(("::1", 0))
    except OSError:
        return False
    return True


# The platform's default server block (its nginx.conf: `listen 80
# default_server`, then `include conf.d/elasticbeanstalk/*.conf`) and, in
# place of its generated 00_application.conf, the same `location /`
# proxying to the stub. The bundle's conf.d/*.conf go in the http block, as
# on the instance.
NGINX_CONF = """
worker_processes 1;
pid {work}/nginx.pid;
error_log {work}/error.log warn;
daemon off;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {work}/body;
    proxy_temp_path {work}/proxy;
    fastcgi_temp_path {work}/fastcgi;
    uwsgi_temp_path {work}/uwsgi;
    scgi_temp_path {work}/scgi;
    include {bundle}/{http_level}/*.conf;
    map $http_upgrade $connection_upgrade {{
        default "upgrade";
    }}
    server {{
        listen 127.0.0.1:{port} default_server;
        {listen_ipv6}
        include {work}/application.conf;
        include {bundle}/{server_level}/*.conf;
    }}
}}
"""

APPLICATION_CONF = """
location / {{
    proxy_pass          http://127.0.0.1:{stub};
    proxy_http_version  1.1;
    proxy_set_header    Connection          $connection_upgrade;
    proxy_set_header    Upgrade             $http_upgrade;
    proxy_set_header    Host                $host;
    proxy_set_header    X-Real-IP           $remote_addr;
    proxy_set_header    X-Forwarded-For     $proxy_add_x_forwarded_for;
}}
"""


@pytest.fixture(scope="module")
def nginx(worker, tmp_path_factory):
    """nginx with the worker bundle's configuration in front of a stub; its
    port, whether it also listens on ::1, and the paths the stub saw."""
    binary = nginx_binary()
    work = tmp_path_factory.mktemp("nginx")
    stub = ThreadingHTTPServer(("127.0.0.1", 0), Stub)
    stub.seen = []  # type: ignore[attr-defined]
    threading.Thread(target=stub.serve_forever, daemon=True).start()
    port, ipv6 = free_port(), ipv6_loopback()
    (work / "application.conf").write_text(APPLICATION_CONF.format(stub=stub.server_address[1]))
    conf = work / "nginx.conf"
    conf.write_text(
        NGINX_CONF.format(
            work=work,
            bundle=worker.root,
            http_level=HTTP_LEVEL,
            server_level=SERVER_LEVEL,
            port=port,
            listen_ipv6=f"listen [::1]:{port};" if ipv6 else "",
        )
    )
    command = [binary, "-p", str(work), "-e", str(work / "error.log"), "-c", str(conf)]
    check = subprocess.run([*command, "-t"], capture_output=True, text=True, timeout=30)
    assert check.returncode == 0, f"nginx refuses the worker bundle's configuration:\n{check.stderr}"
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"nginx did not start:\n{(work / 'error.log').read_text(errors='replace')}")
                time.sleep(0.1)
        yield {"port": port, "ipv6": ipv6, "seen": stub.seen}
    finally:
        process.send_signal(signal.SIGQUIT)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        stub.shutdown()
        stub.server_close()


def request(nginx, method: str, path: str, source: str = "127.0.0.1", host: str = "127.0.0.1") -> int:
    """One request to nginx from `source` (the client socket bound to it); its status."""
    connection = http.client.HTTPConnection(host, nginx["port"], timeout=10, source_address=(source, 0))
    try:
        body = b"{}" if method == "POST" else None
        connection.request(method, path, body=body, headers={"Content-Type": "application/json"})
        return connection.getresponse().status
    finally:
        connection.close()


def test_sqsd_on_the_instance_reaches_process_and_the_tasks(nginx):
    # sqsd posts to localhost, which is 127.0.0.1 or ::1 (the latter where
    # this machine has IPv6 loopback at all).
    sources = [("127.0.0.1", "127.0.0.1"), *([("::1", "::1")] if nginx["ipv6"] else [])]
    for source, host in sources:
        for path in ("/process", "/tasks/sweep"):
            status = request(nginx, "POST", path, source=source, host=host)
            assert status == 200, f"POST {path} from {source} answered {status}: it did not reach the worker"
            assert nginx["seen"][-1] == path


def test_any_other_address_gets_403_for_the_sqsd_paths_and_reaches_nothing(nginx):
    for path in [*SPELLINGS, "/process-batch"]:
        before = list(nginx["seen"])
        status = request(nginx, "POST", path, source="127.0.0.2")
        assert status == 403, f"POST {path} from 127.0.0.2 answered {status}, not 403"
        assert nginx["seen"] == before, f"POST {path} from 127.0.0.2 reached the worker: {nginx['seen'][len(before):]}"


def test_health_and_other_paths_stay_open_to_any_address(nginx):
    for path in ("/health", "/"):
        assert request(nginx, "GET", path, source="127.0.0.2") == 200, f"GET {path} from 127.0.0.2 was refused"
        assert nginx["seen"][-1] == path
