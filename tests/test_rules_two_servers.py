"""Two real server processes on one database: a write through one reaches the other's cache
(SPEC §3 Cache: LISTEN/NOTIFY), without a restart."""
from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import time

import pytest

from tests.conftest import ROOT, TEST_SECRET
from tests.rules_data import ORDER, eventually, key, order_rules, rule


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`crux serve` in its own process."""

    def __init__(self, database_url: str, tmp_path):
        self.port = _free_port()
        env = {**os.environ, "CRUX_DATABASE_URL": database_url, "CRUX_JWT_SECRET": TEST_SECRET,
               "CRUX_HOST": "127.0.0.1", "CRUX_DATA_DIR": str(tmp_path), "CRUX_LOG_LEVEL": "warn"}
        self.log = open(tmp_path / f"server-{self.port}.log", "wb")
        self.proc = subprocess.Popen([sys.executable, "-m", "crux.cli", "serve", "--port", str(self.port), "--workers", "1"],
                                     cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT)

    def request(self, method: str, path: str, body=None, token: str | None = None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            headers = {"Content-Type": "application/json"}
            if token:
                headers["Authorization"] = f"Bearer {token}"
            conn.request(method, path, body=None if body is None else json.dumps(body), headers=headers)
            resp = conn.getresponse()
            return resp.status, json.loads(resp.read() or b"null")
        finally:
            conn.close()

    def ready(self) -> bool:
        assert self.proc.poll() is None, "the server exited"
        try:
            return self.request("GET", "/readyz")[0] == 200
        except OSError:
            return False

    def call(self, name: str, payload: dict, token: str):
        return self.request("POST", f"/api/v1/{name}", {"data": payload}, token)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


@pytest.fixture
def servers(database_url, tmp_path):
    pair = [Server(database_url, tmp_path), Server(database_url, tmp_path)]
    try:
        for server in pair:
            eventually(server.ready, timeout=60, interval=0.1)
        yield pair
    finally:
        for server in pair:
            server.stop()


def test_a_write_through_one_server_reaches_the_other(realm, servers, conn):
    one, two = servers
    token = realm.token()
    order_rules(realm)
    payload = {"slice": 1, "app": "retail", "ruleset": "main", "entity": ORDER}

    def discount_on_two():
        status, body = two.call("breapplyrules", payload, token)
        return body["data"]["properties"].get("discount") if status == 200 else status

    assert discount_on_two() == "15"
    # a change behind the cache's back (no notification) is not seen: server two answers from RAM
    conn.execute("""UPDATE ruleset SET ruleset = jsonb_set(ruleset, '{0,ruleactions,properties,discount}', '"99"')
                    WHERE realm = %s AND setname = 'loyalty'""", (realm.name,))
    assert [discount_on_two() for _ in range(5)] == ["15"] * 5
    # the same change through server one's API reaches server two without a restart
    for name, payload_one in (("brerulesetdeactivate", key(name="main")), ("brerulesetdeactivate", key(name="loyalty")),
                              ("brerulesetupdate", key(name="loyalty", ruleset=[rule([("member", "eq", True)], [], {"discount": "30"})])),
                              ("brerulesetactivate", key(name="main"))):
        status, body = one.call(name, payload_one, token)
        assert status == 200, body
    eventually(lambda: discount_on_two() == "30")
    # a slice write through one: two refuses the deactivated slice, then serves it again
    assert one.call("realmslicedeactivate", {"id": 1}, token)[0] == 200
    eventually(lambda: discount_on_two() == 400)
    assert one.call("realmsliceactivate", {"id": 1}, token)[0] == 200
    eventually(lambda: discount_on_two() == "30")
