"""A served demo and a real Chromium for the console: used by the browser tests and by the
command that regenerates the screenshots of docs/console.md (tests/console/screenshots.py).

`Demo` runs `crux demo` in a process of its own on a free port, against a database of its own,
and reads the console link it prints. `launch` starts Debian's Chromium through Playwright (its
own browser download is not used). Pages are driven like a user drives them; waits poll for a
state with a deadline (`wait_ready`), never sleep.
"""
from __future__ import annotations

import datetime as dt
import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import jwt
import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parents[2]
SECRET = "crux-console-test-secret-0123456789abcdef"
BROWSER = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
BROWSER_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                "--no-first-run", "--disable-sync", "--disable-quic"]
VIEWPORT = {"width": 1280, "height": 800}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _with_database(url: str, name: str) -> str:
    info = psycopg.conninfo.conninfo_to_dict(url)
    info["dbname"] = name
    return psycopg.conninfo.make_conninfo(**info)


class Database:
    """A fresh database on the server of `server_url`, dropped by `drop()`."""

    def __init__(self, server_url: str):
        self.server_url = server_url
        self.name = f"crux_console_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.name)))
        self.url = _with_database(server_url, self.name)

    def drop(self) -> None:
        with psycopg.connect(self.server_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(self.name)))


class Demo:
    """`crux demo` serving on a free port: the demo realm, its examples, and the console link."""

    REALM = "demo"

    def __init__(self, database_url: str, workdir: Path, timeout: float = 120.0):
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / f"demo-{self.port}.log"
        env = {**os.environ, "CRUX_DATABASE_URL": database_url, "CRUX_JWT_SECRET": SECRET, "CRUX_HOST": "127.0.0.1",
               "CRUX_DATA_DIR": str(workdir), "CRUX_LOG_LEVEL": "warn", "PYTHONUNBUFFERED": "1"}
        crux = Path(sys.executable).with_name("crux")
        command = [str(crux)] if crux.exists() else [sys.executable, "-m", "crux.cli"]
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([*command, "demo", "--port", str(self.port), "--workers", "1"],
                                     cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        try:
            self.link = self._wait_link(timeout)
            self._wait_ready(timeout)
        except BaseException:
            self.stop()
            raise
        self.token = self.link.split("#token=", 1)[1]

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def _wait_link(self, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = re.search(r"(http://\S+/console/#token=\S+)", self.output())
            if m:
                return m.group(1).replace(f"localhost:{self.port}", f"127.0.0.1:{self.port}")
            if self.proc.poll() is not None:
                raise RuntimeError(f"crux demo exited:\n{self.output()[-3000:]}")
            time.sleep(0.1)
        raise RuntimeError(f"crux demo printed no console link within {timeout} s:\n{self.output()[-3000:]}")

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"crux demo exited:\n{self.output()[-3000:]}")
            try:
                if self.request("GET", "/readyz")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"crux demo did not get ready within {timeout} s:\n{self.output()[-3000:]}")

    def request(self, method: str, path: str, body=None, token: str | None = None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            headers = {"Content-Type": "application/json"}
            if token:
                headers["Authorization"] = f"Bearer {token}"
            conn.request(method, path, body=None if body is None else json.dumps(body), headers=headers)
            resp = conn.getresponse()
            raw = resp.read()
            try:
                return resp.status, json.loads(raw or b"null"), dict(resp.getheaders())
            except ValueError:
                return resp.status, raw.decode(errors="replace"), dict(resp.getheaders())
        finally:
            conn.close()

    def call(self, name: str, payload: dict, token: str | None = None):
        """A call of the public API -> (HTTP status, envelope)."""
        status, body, _ = self.request("POST", f"/api/v1/{name}", {"data": payload}, token or self.token)
        return status, body

    def ok(self, name: str, payload: dict, token: str | None = None):
        status, body = self.call(name, payload, token)
        assert status == 200, (name, payload, body)
        return body["data"]

    def mint(self, user: str, ttl: int = 3600) -> str:
        """A token of `user` in the demo realm (signed with the demo's secret)."""
        now = int(dt.datetime.now(dt.timezone.utc).timestamp())
        return jwt.encode({"sub": user, "preferred_username": user, "realm": self.REALM, "iat": now - 5,
                           "exp": now + ttl}, SECRET, algorithm="HS256")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def launch(playwright):
    """Debian's Chromium, headless, through Playwright, in a fresh profile."""
    if BROWSER is None:
        raise RuntimeError("no Chromium installed (Debian: apt-get install chromium)")
    return playwright.chromium.launch(executable_path=BROWSER, args=BROWSER_ARGS, headless=True)


def wait_ready(page, name: str, timeout: float = 30_000) -> None:
    """Until the console has drawn page `name` (main.js sets body[data-ready] when a page is done)."""
    page.wait_for_selector(f"body[data-ready='{name}']", state="attached", timeout=timeout)


def visit(page, url: str, ready: str) -> None:
    """Load `url` and wait until page `ready` is drawn. A load cut by a network change of the
    machine (Chromium fails requests in flight with ERR_NETWORK_CHANGED when interfaces come and
    go, as other tests' namespaces do) is loaded again, once."""
    cut = []
    listener = lambda msg: "ERR_NETWORK_CHANGED" in msg.text and cut.append(msg.text)  # noqa: E731
    page.on("console", listener)
    try:
        page.goto(url)
        try:
            wait_ready(page, ready, timeout=20_000 if cut else 30_000)
        except Exception:
            if not cut:
                raise
            page.goto(url)
            wait_ready(page, ready)
    finally:
        page.remove_listener("console", listener)


def sign_in(page, demo: Demo, path: str = "/console/", token: str | None = None, ready: str = "home") -> None:
    """Open `path` through a sign-in link (the token in the URL fragment)."""
    visit(page, f"{demo.base}{path}#token={token or demo.token}", ready)
