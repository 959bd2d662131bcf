"""`crux serve` in a process of its own, for the tests that need a real HTTP server."""
from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys

from tests.conftest import ROOT, TEST_SECRET


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`crux serve` (or `crux demo`) in its own process, with its engine only when asked: engines
    sweep every realm of the database, and most tests want to control when expiries happen."""

    def __init__(self, database_url: str, tmp_path, workers: int = 1, command: str = "serve", engine: bool = False,
                 env: dict | None = None):
        self.port = _free_port()
        env = {**os.environ, "CRUX_DATABASE_URL": database_url, "CRUX_JWT_SECRET": TEST_SECRET,
               "CRUX_HOST": "127.0.0.1", "CRUX_DATA_DIR": str(tmp_path), "CRUX_LOG_LEVEL": "warn", **(env or {})}
        self.log = open(tmp_path / f"server-{self.port}.log", "wb")
        args = [command, "--port", str(self.port), "--workers", str(workers)] + ([] if engine else ["--no-engine"])
        self.proc = subprocess.Popen([sys.executable, "-m", "crux.cli", *args],
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
