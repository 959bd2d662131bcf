"""The deployment rig (deploy/rig) for the tests: bring it up, read its status, talk to its hosts.

The tests run the rig with an id of their own (1-9, claimed with a lock held for the whole
session), so several test sessions on one machine never share one; id 0 is left for people.
"""
from __future__ import annotations

import fcntl
import http.client
import json
import os
import shutil
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

from crux.common.config import Settings

ROOT = Path(__file__).resolve().parents[2]
RIG = ROOT / "deploy" / "rig"


def missing_prerequisites() -> list[str]:
    """What this machine lacks to run the rig (empty when nothing)."""
    missing = []
    if os.geteuid() != 0:
        missing.append("root")
    for tool in ("ip", "nginx", "pgbouncer", "runuser"):
        if not shutil.which(tool) and not Path(f"/usr/sbin/{tool}").exists():
            missing.append(tool)
    if not os.environ.get("CRUX_RIG_PGBIN") and not list(Path("/usr/lib/postgresql").glob("*/bin/postgres")):
        missing.append("PostgreSQL server binaries (/usr/lib/postgresql/*/bin)")
    return missing


class Rig:
    """A rig brought up for this test session."""

    def __init__(self, rid: int, lock):
        self.id, self._lock = rid, lock
        self.status: dict = {}
        self.clients: list[Http] = []

    def cmd(self, *args, check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess:
        proc = subprocess.run([sys.executable, str(RIG), "--id", str(self.id), *args], capture_output=True,
                              text=True, timeout=timeout)
        if check and proc.returncode != 0:
            raise AssertionError(f"deploy/rig {' '.join(args)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
        return proc

    def refresh(self) -> dict:
        """The rig's status; a status command that fails (a host going down as it looks) is asked
        again for up to 10 s, then reported with what it printed."""
        deadline = time.monotonic() + 10
        while True:
            proc = self.cmd("status", "--json", check=False)
            try:
                self.status = json.loads(proc.stdout)
                return self.status
            except json.JSONDecodeError:
                if time.monotonic() > deadline:
                    raise AssertionError(f"deploy/rig status --json exited {proc.returncode}:\n"
                                         f"{proc.stdout}\n{proc.stderr}") from None
                time.sleep(0.5)

    # ---- addresses ----

    @property
    def nginx_port(self) -> int:
        return urlsplit(self.status["nginx"]["url"]).port

    def web(self, host: str) -> tuple[str, int]:
        url = urlsplit(self.status["hosts"][host]["url"])
        return url.hostname, url.port

    @property
    def web_hosts(self) -> list[str]:
        return [h for h in self.status["hosts"] if h.startswith("web")]

    def nginx(self) -> Http:
        return self.client("127.0.0.1", self.nginx_port)

    def host(self, name: str) -> Http:
        return self.client(*self.web(name))

    def client(self, host: str, port: int) -> Http:
        """An HTTP client, closed at the end of the test (the `_close_clients` fixture)."""
        http = Http(host, port)
        self.clients.append(http)
        return http

    def close_clients(self) -> None:
        while self.clients:
            self.clients.pop().close_all()

    # ---- data ----

    def new_realm(self, prefix: str = "d") -> RigRealm:
        """A realm of its own (created straight in the database, as `crux realm add` does)."""
        from crux.services.admin import create_realm
        from crux.store.db import opened
        name = f"{prefix}{uuid.uuid4().hex[:10]}"
        with opened(Settings(pool_min=1, pool_max=1), self.status["direct_url"]) as db:
            create_realm(db, name, "deployment test realm", "admin")
        return RigRealm(self, name)

    def token(self, realm: str, user: str = "admin") -> str:
        from crux.services.tokens import TokenVerifier
        return TokenVerifier(Settings(jwt_secret=self.status["jwt_secret"])).mint(realm, user, 3600)

    def sql(self, query: str, params=None) -> list[tuple]:
        """Rows of a query on the primary (a direct connection, as the crux role)."""
        import psycopg
        with psycopg.connect(self.status["direct_url"], autocommit=True) as conn:
            return conn.execute(query, params).fetchall()

    def bouncer(self, host: str, command: str) -> list[dict]:
        """Rows of a command on the admin console of a database host's PgBouncer."""
        import psycopg
        with psycopg.connect(self.status["pgbouncer_admin"][host], autocommit=True) as conn:
            cur = conn.execute(command, prepare=False)
            names = [c.name for c in cur.description]
            return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


class Http:
    """Keep-alive JSON calls to one address, one connection per thread."""

    def __init__(self, host: str, port: int, timeout: float = 30.0):
        self.host, self.port, self.timeout = host, port, timeout
        self._local = threading.local()
        self._all: list[http.client.HTTPConnection] = []
        self._all_lock = threading.Lock()

    def _conn(self) -> http.client.HTTPConnection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            with self._all_lock:
                self._all.append(conn)
        return conn

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None,
                fresh: bool = False) -> tuple[int, dict | None]:
        """(status, decoded JSON body or None); `fresh`: on a new connection (so any worker may take it)."""
        if fresh:
            self.close()
        reused = getattr(self._local, "conn", None) is not None and self._local.conn.sock is not None
        conn = self._conn()
        try:
            conn.request(method, path, body=body, headers={"Content-Type": "application/json", **(headers or {})})
            resp = conn.getresponse()
            raw = resp.read()
        except (BrokenPipeError, ConnectionResetError, http.client.RemoteDisconnected):
            self.close()
            if not reused:
                raise
            # the server closed the idle keep-alive connection (nginx after keepalive_timeout)
            # before it read this request: send it again on a new one
            return self.request(method, path, body, headers)
        except (OSError, http.client.HTTPException):
            self.close()
            raise
        if resp.getheader("Connection", "").lower() == "close":
            self.close()
        try:
            return resp.status, json.loads(raw) if raw else None
        except ValueError:
            return resp.status, {"raw": raw.decode(errors="replace")}

    def call(self, name: str, payload: dict, token: str, fresh: bool = False) -> tuple[int, dict]:
        return self.request("POST", f"/api/v1/{name}", json.dumps({"data": payload}).encode(),
                            {"Authorization": f"Bearer {token}"}, fresh=fresh)

    def close(self) -> None:
        """Close this thread's connection."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    def close_all(self) -> None:
        """Close the connections of every thread."""
        with self._all_lock:
            for conn in self._all:
                conn.close()
            self._all.clear()


class RigRealm:
    """A realm on the rig, called through nginx (like tests.conftest.RealmHandle: `ok`, `app_new`)."""

    def __init__(self, rig: Rig, name: str):
        self.rig, self.name = rig, name
        self.token = rig.token(name)
        self.http = rig.nginx()

    def call(self, name: str, payload=None, via: Http | None = None) -> tuple[int, dict]:
        return (via or self.http).call(name, payload or {}, self.token)

    def ok(self, name: str, payload=None, via: Http | None = None):
        status, body = self.call(name, payload, via)
        assert status == 200 and body["status"] == "success", (name, status, body)
        return body["data"]

    def app_new(self, name: str, descr: str = "") -> None:
        self.ok("appnew", {"name": name, "descr": descr or name})


def claim_rig_id():
    """(id, open lock file) of the first rig id 1-9 no other test session holds."""
    Path("/run/lock").mkdir(parents=True, exist_ok=True)
    for rid in range(1, 10):
        lock = open(f"/run/lock/crux-rig-{rid}.owner", "w")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            continue
        return rid, lock
    raise RuntimeError("every rig id 1-9 is held by another test session")


def leftovers(rid: int) -> list[str]:
    """What of rig `rid` still exists on the machine (namespaces, links, its folder)."""
    prefix = f"cxr{rid}"
    found = [line.split()[0] for line in subprocess.run(["ip", "netns", "list"], capture_output=True,
                                                         text=True).stdout.splitlines()
             if line.startswith(prefix + "-")]
    found += [p.name for p in Path("/sys/class/net").iterdir() if p.name.startswith(prefix)]
    if Path(f"/tmp/crux-rig-{rid}").exists():
        found.append(f"/tmp/crux-rig-{rid}")
    return found
