"""The programs of examples/events, run as a user runs them: the consumer against a real server,
the webhook receiver receiving real deliveries."""
from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import os
import socket
import subprocess
import sys
import time

import pytest

from crux.background.webhooks import WebhookDelivery
from tests.conftest import ROOT
from tests.http_server import Server
from tests.rules_data import eventually

EXAMPLES = ROOT / "examples" / "events"


@pytest.fixture
def server(database_url, tmp_path):
    srv = Server(database_url, tmp_path)
    try:
        eventually(srv.ready, timeout=60, interval=0.1)
        yield srv
    finally:
        srv.stop()


def test_the_consumer_keeps_its_cursor(realm, server, tmp_path):
    env = {**os.environ, "TOKEN": realm.token(), "CRUX_URL": f"http://127.0.0.1:{server.port}",
           "CURSOR_FILE": str(tmp_path / "cursor"), "ONCE": "1", "WAIT": "0"}

    def run() -> list[str]:
        done = subprocess.run([sys.executable, str(EXAMPLES / "consumer.py")], env=env, capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return done.stdout.splitlines()

    realm.app_new("shop")
    first = run()
    assert first == ["changed realm " + realm.name, f"changed app {realm.name}/shop"]
    realm.ok("configset", {"slice": 1, "name": "limit", "val": "5"})
    assert run() == [f"changed config {realm.name}/1/LIMIT"]        # only what came since
    assert run() == []


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_webhook_receiver_checks_signatures(realm, tmp_path):
    port = _free_port()
    env = {**os.environ, "WEBHOOK_SECRET": "t0ps3cret"}
    with subprocess.Popen([sys.executable, str(EXAMPLES / "webhook_receiver.py"), str(port)], env=env,
                          stdout=subprocess.PIPE, text=True) as proc:
        try:
            def post(body: bytes, signature: str) -> int:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                try:
                    conn.request("POST", "/", body, {"X-Crux-Signature": signature, "X-Crux-Delivery": "d1"})
                    return conn.getresponse().status
                finally:
                    conn.close()

            eventually(lambda: _answers(port), timeout=20, interval=0.1)
            forged = json.dumps({"webhook": "x", "events": []}).encode()
            assert post(forged, "sha256=" + hmac.new(b"wrong", forged, hashlib.sha256).hexdigest()) == 401
            realm.ok("webhooknew", {"name": "printer", "url": f"http://127.0.0.1:{port}/", "secret": "t0ps3cret"})
            realm.ok("configset", {"slice": 1, "name": "limit", "val": "5"})
            job = WebhookDelivery(realm.crux.db, realm.crux.events, [])
            deadline = time.monotonic() + 20
            lines: list[str] = []
            while len(lines) < 2 and time.monotonic() < deadline:
                if not job.run_once():
                    time.sleep(0.05)
                if realm.ok("webhooklist", {})["webhooks"][0]["pending"] == 0:
                    lines.append(proc.stdout.readline().strip())
            assert [line.split(" ", 1)[1] for line in lines] == [f"changed webhook {realm.name}/printer",
                                                                 f"changed config {realm.name}/1/LIMIT"]
            assert realm.ok("webhooklist", {})["webhooks"][0]["lasterror"] is None
        finally:
            proc.terminate()
            proc.wait(10)


def _answers(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False
