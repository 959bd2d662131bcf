"""nginx in front of the web hosts (deploy/nginx): slow clients never reach a web worker, and the
errors nginx answers itself carry Crux's envelope (SPEC §4.1, §11)."""
from __future__ import annotations

import json
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from crux.errors import CATALOG
from tests.deploy.rig_support import ROOT, Http
from tests.rules_data import ORDER, order_rules

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
CORS = {"access-control-allow-origin": "*", "access-control-allow-headers": "Content-Type, Authorization"}


def raw_exchange(port: int, data: bytes, timeout: float = 10.0) -> tuple[int, dict, dict]:
    """Send raw bytes to 127.0.0.1:port; (status, headers, JSON body) of the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        answer = b""
        while b"\r\n\r\n" not in answer or len(answer.split(b"\r\n\r\n", 1)[1]) < _length(answer):
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
    head, body = answer.split(b"\r\n\r\n", 1)
    lines = head.decode().split("\r\n")
    headers = {k.lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
    return int(lines[0].split()[1]), headers, json.loads(body)


def _length(answer: bytes) -> int:
    for line in answer.split(b"\r\n\r\n", 1)[0].split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    return 0


def assert_envelope(status, headers, body, expected_status, errcode):
    assert status == expected_status, (status, body)
    assert headers["content-type"] == "application/json"
    assert {k: headers.get(k) for k in CORS} == CORS
    assert body["status"] == "error" and body["data"] is None
    [message] = body["messages"]
    assert message["errcode"] == errcode and message["msgid"] == CATALOG[errcode].msgid, message
    assert set(message) == {"msgid", "errcode", "field", "vals", "msg"}


def test_the_errors_nginx_answers_are_envelopes(rig):
    port = rig.nginx_port
    too_big = b"{" + b" " * (1024 * 1024 + 10) + b"}"
    request = (b"POST /api/v1/breapplyrules HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
               b"Content-Length: %d\r\n\r\n" % len(too_big))
    status, headers, body = raw_exchange(port, request + too_big)
    assert_envelope(status, headers, body, 413, "toobig")
    # the very envelope Crux answers for a body over CRUX_MAX_BODY (from the Content-Length: it
    # answers and closes without reading the body, so none is sent)
    host, web_port = rig.web("web1")
    with socket.create_connection((host, web_port)) as sock:
        sock.sendall(request)
        answer = b""
        while b"\r\n\r\n" not in answer or len(answer.split(b"\r\n\r\n", 1)[1]) < _length(answer):
            answer += sock.recv(65536)
        own = answer.split(b"\r\n\r\n", 1)[1]
    assert json.loads(own) == body

    status, headers, body = raw_exchange(port, b"GET /api/v1/" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    assert_envelope(status, headers, body, 414, "invalid_request")
    big_header = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n"
    status, headers, body = raw_exchange(port, big_header)
    assert_envelope(status, headers, body, 431, "invalid_request")
    status, headers, body = raw_exchange(port, b"NOT HTTP AT ALL\r\n\r\n")
    assert_envelope(status, headers, body, 400, "invalid_request")
    status, headers, body = raw_exchange(port, b"GET /_crux_nginx/502 HTTP/1.1\r\nHost: x\r\n\r\n")
    assert_envelope(status, headers, body, 404, "not_found")
    # Crux's own errors pass through untouched
    no_token = b"POST /api/v1/applist HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}"
    status, headers, body = raw_exchange(port, no_token)
    assert status == 401 and body["messages"][0]["errcode"] == "authn"


@pytest.fixture
def lone_nginx(tmp_path):
    """nginx with deploy/nginx's files in front of (a) a port nobody listens on and (b) a server that
    accepts connections and never answers, with a 1 s read timeout -> (port a, port b)."""
    if not Path(NGINX).exists():
        pytest.skip("nginx is not installed")
    for conf in (ROOT / "deploy" / "nginx").glob("crux-*.conf"):
        shutil.copy(conf, tmp_path / conf.name)
    ports = []
    for _ in range(3):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            ports.append(s.getsockname()[1])
    refused, silent, nobody = ports  # nobody listens on the last one
    mute = socket.socket()
    mute.bind(("127.0.0.1", 0))
    mute.listen(16)  # accepts into the backlog, never reads or answers
    servers = ""
    for listen, upstream, extra in ((refused, nobody, ""), (silent, mute.getsockname()[1], "proxy_read_timeout 1s;")):
        servers += (f"upstream up{listen} {{ server 127.0.0.1:{upstream}; include crux-upstream.conf; }}\n"
                    f"server {{ listen 127.0.0.1:{listen}; {extra} set $up up{listen};\n"
                    "  include crux-server.conf; }\n")
    # crux-server.conf passes to the upstream crux_web: each server here gets its own
    (tmp_path / "crux-server.conf").write_text(
        (tmp_path / "crux-server.conf").read_text().replace("proxy_pass http://crux_web;", "proxy_pass http://$up;"))
    temp = "".join(f"{k}_temp_path {tmp_path / k};\n" for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path / 'nginx.pid'};\nerror_log {tmp_path / 'error.log'};\nevents {{}}\n"
        f"http {{\ninclude crux-http.conf;\naccess_log off;\n{temp}{servers}}}\n")
    cmd = [NGINX, "-p", f"{tmp_path}/", "-c", str(tmp_path / "nginx.conf"), "-e", str(tmp_path / "error.log")]
    subprocess.run(cmd, check=True, capture_output=True)
    try:
        yield refused, silent
    finally:
        subprocess.run([*cmd, "-s", "stop"], capture_output=True)
        mute.close()


def test_no_web_host_is_502_and_a_silent_one_504_in_the_envelope(lone_nginx):
    refused, silent = lone_nginx
    call = b"POST /api/v1/applist HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}"
    status, headers, body = raw_exchange(refused, call)
    assert_envelope(status, headers, body, 502, "trylater")
    started = time.monotonic()
    status, headers, body = raw_exchange(silent, call)
    assert_envelope(status, headers, body, 504, "trylater")
    assert 0.9 < time.monotonic() - started < 5


class SlowClients:
    """Connections to nginx that send a request head one header line every `pace` seconds."""

    def __init__(self, port: int, count: int, pace: float):
        self.socks = [socket.create_connection(("127.0.0.1", port)) for _ in range(count)]
        self.closed_at: dict[int, float] = {}
        self.started = time.monotonic()
        self._stop = threading.Event()
        for sock in self.socks:
            sock.sendall(b"POST /api/v1/breapplyrules HTTP/1.1\r\nHost: x\r\n")
            sock.setblocking(False)
        self._thread = threading.Thread(target=self._run, args=(pace,), daemon=True)
        self._thread.start()

    def _run(self, pace):
        line = 0
        while not self._stop.wait(pace):
            line += 1
            for i, sock in enumerate(self.socks):
                if i in self.closed_at:
                    continue
                try:
                    if sock.recv(1) == b"":
                        raise ConnectionError
                except BlockingIOError:
                    try:
                        sock.sendall(b"X-Slow-%d: x\r\n" % line)
                        continue
                    except OSError:
                        pass
                except OSError:
                    pass
                self.closed_at[i] = time.monotonic() - self.started

    def stop(self):
        self._stop.set()
        self._thread.join()
        for sock in self.socks:
            sock.close()


def test_fifty_slow_clients_do_not_hold_up_normal_calls(rig):
    realm = rig.new_realm()
    order_rules(realm)
    payload = {"slice": 1, "app": "retail", "ruleset": "main", "entity": ORDER}
    health_statuses: list[int | None] = []
    stop = threading.Event()

    def poll_health():
        http = Http("127.0.0.1", rig.nginx_port, timeout=5)
        while not stop.wait(0.1):
            try:
                health_statuses.append(http.request("GET", "/healthz")[0])
            except OSError:
                health_statuses.append(None)
        http.close_all()

    slow = SlowClients(rig.nginx_port, 50, pace=2.0)
    poller = threading.Thread(target=poll_health)
    poller.start()
    latencies = []
    http = rig.nginx()
    try:
        while time.monotonic() - slow.started < 12.5:  # past nginx's 10 s client_header_timeout
            began = time.monotonic()
            status, body = http.call("breapplyrules", payload, realm.token)
            latencies.append(time.monotonic() - began)
            assert status == 200 and body["data"]["properties"]["discount"] == "15", body
    finally:
        stop.set()
        poller.join()
        slow.stop()
    latencies.sort()
    p99 = latencies[int(0.99 * (len(latencies) - 1))]
    assert len(latencies) > 200 and p99 < 0.100, (len(latencies), p99)
    assert len(health_statuses) > 80 and set(health_statuses) == {200}, health_statuses
    # nginx dropped every slow client once its header timeout passed, and none before it
    assert len(slow.closed_at) == 50 and min(slow.closed_at.values()) > 9, slow.closed_at
