"""What the benchmarks share: the shared workload generator, benchmark databases, a gunicorn
server, a small keep-alive HTTP client, CPU time of processes, and percentiles."""
from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from contextlib import nullcontext
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent


# ---- the shared workload generator -------------------------------------------------------------

def shared_bench_dir() -> Path:
    """The folder of the shared `gen_workloads.py`: $CRUX_SHARED_DIR (or its bench/), else
    ../shared/bench next to the repository."""
    env = os.environ.get("CRUX_SHARED_DIR")
    candidates = [Path(env) / "bench", Path(env)] if env else [REPO.parent / "shared" / "bench"]
    for folder in candidates:
        if (folder / "gen_workloads.py").exists():
            return folder
    raise SystemExit(f"gen_workloads.py not found in {', '.join(map(str, candidates))} (set CRUX_SHARED_DIR)")


def workload_generator():
    """The shared `gen_workloads` module."""
    folder = str(shared_bench_dir())
    if folder not in sys.path:
        sys.path.insert(0, folder)
    import gen_workloads
    return gen_workloads


# ---- benchmark databases -----------------------------------------------------------------------

def database_url(server_url: str, name: str) -> str:
    """`server_url` pointing at the database `name`."""
    import psycopg
    info = psycopg.conninfo.conninfo_to_dict(server_url)
    info["dbname"] = name
    return psycopg.conninfo.make_conninfo(**info)


def drop_database(server_url: str, name: str) -> None:
    import psycopg
    from psycopg import sql
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def create_database(server_url: str, name: str) -> str:
    """A fresh, empty database `name` on the server of `server_url` (dropped first if it exists);
    returns its URL."""
    import psycopg
    from psycopg import sql
    drop_database(server_url, name)
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return database_url(server_url, name)


def database_cpu_seconds(url: str) -> float:
    """CPU seconds used so far by the backends serving the database of `url` (other than the one
    asking). The server must run on this machine."""
    import psutil
    import psycopg
    with psycopg.connect(url, autocommit=True) as conn:
        pids = [r[0] for r in conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")]
    procs = []
    for pid in pids:
        try:
            procs.append(psutil.Process(pid))
        except psutil.Error:
            pass
    return cpu_seconds(procs)


# ---- processes ---------------------------------------------------------------------------------

def cpu_seconds(procs) -> float:
    """User and system CPU seconds of psutil processes (those gone meanwhile count nothing)."""
    import psutil
    total = 0.0
    for proc in procs:
        try:
            t = proc.cpu_times()
        except psutil.Error:
            continue
        total += t.user + t.system
    return total


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """gunicorn serving `target` with gthread workers on 127.0.0.1 (`port`, else a free one).

    The repository and bench/ come first on its PYTHONPATH (the caller's is kept after them).
    `options` are further gunicorn options; `log` a file for its output, else its warnings go to
    this process's stderr."""

    def __init__(self, target: str, *, workers: int, threads: int, env: dict | None = None,
                 port: int | None = None, options: tuple[str, ...] = (), log: Path | None = None):
        self.port = port or free_port()
        path = os.pathsep.join(p for p in (str(REPO), str(HERE), os.environ.get("PYTHONPATH")) if p)
        cmd = [sys.executable, "-m", "gunicorn", "--worker-class", "gthread", "--workers", str(workers),
               "--threads", str(threads), "--bind", f"127.0.0.1:{self.port}", "--log-level", "warning",
               *options, target]
        self.log = log
        with open(log, "wb") if log else nullcontext(subprocess.DEVNULL) as out:
            self.proc = subprocess.Popen(cmd, cwd=REPO, env={**os.environ, **(env or {}), "PYTHONPATH": path},
                                         stdout=out, stderr=subprocess.STDOUT if log else None)

    def wait_ready(self, path: str, timeout: float = 60.0) -> None:
        """Until GET `path` answers 200; SystemExit when the server exits or does not get there."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self._fail("exited")
            try:
                client = Client(self.port, timeout=2)
                try:
                    if client.request("GET", path)[0] == 200:
                        return
                finally:
                    client.close()
            except OSError:
                pass
            time.sleep(0.1)
        self._fail(f"did not answer GET {path} within {timeout:g} s")

    def _fail(self, what: str):
        tail = " (its output is above)" if not self.log else "; its log ends:\n" + "\n".join(
            self.log.read_text(errors="replace").splitlines()[-20:])
        raise SystemExit(f"gunicorn serving on port {self.port} {what}{tail}")

    def cpu_seconds(self) -> float:
        """CPU seconds used so far by the gunicorn master and its workers."""
        import psutil
        master = psutil.Process(self.proc.pid)
        return cpu_seconds([master, *master.children(recursive=True)])

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


# ---- HTTP --------------------------------------------------------------------------------------

class Client:
    """A minimal HTTP/1.1 keep-alive client for JSON calls to `host` (127.0.0.1 by default): a
    load generator built on it costs little CPU. Answers must carry a Content-Length (Flask's,
    Crux's and nginx's do)."""

    def __init__(self, port: int, token: str | None = None, timeout: float | None = None, host: str = "127.0.0.1"):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        auth = f"Authorization: Bearer {token}\r\n" if token else ""
        self.head = f"Host: {host}\r\nContent-Type: application/json\r\n{auth}".encode()
        self.buf = b""

    def request(self, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
        """(status, body) of one call."""
        self.sock.sendall(b"%s %s HTTP/1.1\r\n%sContent-Length: %d\r\n\r\n%s"
                          % (method.encode(), path.encode(), self.head, len(body), body))
        while (end := self.buf.find(b"\r\n\r\n")) < 0:
            self._more()
        length = re.search(rb"(?i)\r\ncontent-length: *(\d+)", self.buf[:end])
        if length is None:
            raise ConnectionError("an answer without Content-Length")
        start, stop = end + 4, end + 4 + int(length.group(1))
        while len(self.buf) < stop:
            self._more()
        status, answer, self.buf = int(self.buf[9:12]), self.buf[start:stop], self.buf[stop:]
        return status, answer

    def post(self, path: str, payload: dict) -> tuple[int, dict]:
        """(status, decoded JSON body) of a POST of `payload`."""
        status, answer = self.request("POST", path, json.dumps(payload).encode())
        return status, json.loads(answer)

    def close(self) -> None:
        self.sock.close()

    def _more(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        self.buf += chunk


# ---- figures -----------------------------------------------------------------------------------

def percentile_ms(sorted_seconds: list[float], p: float) -> float | None:
    """The `p`th percentile (nearest rank) of sorted durations in seconds, in milliseconds;
    None for no values."""
    if not sorted_seconds:
        return None
    k = min(len(sorted_seconds) - 1, round(p / 100 * (len(sorted_seconds) - 1)))
    return 1000 * sorted_seconds[k]
