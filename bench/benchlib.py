"""What the benchmarks share: the shared workload generator, benchmark databases, a gunicorn
server, a small keep-alive HTTP client, load generator processes (closed or open loop, started
together, their latencies and the CPU they cost), CPU time of processes, percentiles, and
alternating rounds of measurements."""
from __future__ import annotations

import json
import multiprocessing as mp
import os
import re
import socket
import statistics
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

def add_server_options(ap, *, port: int, threads: int, workers: int = 2, rounds: int = 3) -> None:
    """The options of a benchmark that serves Crux with gunicorn on a PostgreSQL server:
    --rounds, --workers, --threads, --port, --database-url."""
    ap.add_argument("--rounds", type=int, default=rounds,
                    help="alternating rounds of each measurement (medians reported)")
    ap.add_argument("--workers", type=int, default=workers, help="gunicorn worker processes")
    ap.add_argument("--threads", type=int, default=threads, help="threads per gunicorn worker")
    ap.add_argument("--port", type=int, default=port)
    ap.add_argument("--database-url", default=os.environ.get("CRUX_BENCH_DATABASE_URL"),
                    help="a PostgreSQL server (any database on it); default: the embedded one")


def database_url(server_url: str, name: str) -> str:
    """`server_url` pointing at the database `name`."""
    import psycopg
    info = psycopg.conninfo.conninfo_to_dict(server_url)
    info["dbname"] = name
    return psycopg.conninfo.make_conninfo(**info)


def postgres_server(given: str | None) -> str:
    """The PostgreSQL server to make benchmark databases on: `given`, else the embedded one (in
    the repository's .crux/bench)."""
    if given:
        return given
    from crux.common.config import Settings
    from crux.store.embedded import embedded_url
    return embedded_url(Settings(data_dir=str(REPO / ".crux" / "bench")), database="postgres")


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


def prepare_crux_database(url: str, settings, realm: str, admin: str) -> None:
    """Crux's migrations, and a realm with its admin, in the (fresh) database of `url`."""
    from crux.services.admin import create_realm
    from crux.store.db import Database
    from crux.store.migrate import upgrade
    upgrade(url, settings.schema_dir)
    db = Database(settings, url)
    db.pool.open(wait=True)
    try:
        create_realm(db, realm, "benchmark realm", admin)
    finally:
        db.close()


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


# ---- load generators ---------------------------------------------------------------------------

class Pacer:
    """Closed loop (rate None), or open loop at `rate` calls/s: `due()` is the time a call is
    scheduled for, and latency counts from it. Client `index` of `clients` starts `index/clients`
    of an interval late, so the clients' calls interleave evenly (the server is offered a steady
    stream at the total rate, not all clients' calls at the same instants)."""

    def __init__(self, rate: float | None, start: float, index: int = 0, clients: int = 1):
        self.interval = None if not rate else 1.0 / rate
        self.next = start if self.interval is None else start + self.interval * index / clients

    def due(self) -> float:
        now = time.perf_counter()
        if self.interval is None:
            return now
        if self.next > now:
            time.sleep(self.next - now)
        due, self.next = self.next, self.next + self.interval
        return due


def synchronised(client_fn):
    """Connect, report ready, wait for the common start; then run with (start, warm, stop)."""
    def run(index, port, token, clock, go, ready, out, *args):
        client = Client(port, token)
        ready.put(index)
        go.wait()
        client_fn(index, client, *clock, *args, out)
    run.__name__ = client_fn.__name__
    return run


class Tally:
    """Calls, failures and latencies (counted from each call's due time, after the warm-up)."""

    def __init__(self, client: Client, warm: float):
        self.client, self.warm = client, warm
        self.calls, self.errors, self.first_error = 0, 0, None
        self.latencies: list[float] = []

    def post(self, path: str, payload: dict, due: float) -> dict | None:
        status, body = self.client.post(path, payload)
        end = time.perf_counter()
        self.calls += 1
        if status != 200:
            self.errors += 1
            self.first_error = self.first_error or body
            return None
        if due >= self.warm:
            self.latencies.append(end - due)
        return body

    def report(self, new: list[float] | None = None) -> dict:
        return {"done": self.latencies, "new": new or [], "errors": self.errors, "calls": self.calls,
                "cpu": time.process_time(), "first_error": self.first_error}


def cpu_sample(server: Server, url: str) -> dict[str, float]:
    """CPU seconds used so far by the server's processes and by the database's backends serving it."""
    return {"server": server.cpu_seconds(), "database": database_cpu_seconds(url)}


def run_clients(specs: list, server: Server, url: str, token: str, seconds: float, warmup: float = 2.0) -> dict:
    """Run one load generator process per (fn, extra args) of `specs` on `server` (serving the
    database of `url`) for warmup + seconds, all starting together: each runs
    fn(index, client, start, warm, stop, *extra, out) and puts its Tally's report on `out`.
    Latencies count after the warmup; CPU per call (server, database, generator) counts every
    call of the run. -> calls, per_second, p50_ms, p99_ms, mean_ms, errors, cpu_ms_per_call..."""
    ctx = mp.get_context("fork")
    out, ready, go = ctx.Queue(), ctx.Queue(), ctx.Event()
    clock = ctx.Array("d", 3)
    procs = []
    for i, (fn, extra) in enumerate(specs):
        proc = ctx.Process(target=synchronised(fn), args=(i, server.port, token, clock, go, ready, out, *extra))
        proc.start()
        procs.append(proc)
    for _ in procs:
        ready.get()
    before = cpu_sample(server, url)
    start = time.perf_counter() + 0.05
    clock[0], clock[1], clock[2] = start, start + warmup, start + warmup + seconds
    go.set()
    parts = [out.get() for _ in procs]
    for proc in procs:
        proc.join()
    done = sorted(x for p in parts for x in p["done"])
    new = [x for p in parts for x in p["new"]]
    calls = sum(p["calls"] for p in parts)
    after = cpu_sample(server, url)
    cpu = {"generator": sum(p["cpu"] for p in parts), **{k: after[k] - before[k] for k in after}}
    return {"calls": len(done), "per_second": len(done) / seconds, "p50_ms": percentile_ms(done, 50),
            "p99_ms": percentile_ms(done, 99), "mean_ms": 1000 * statistics.fmean(done) if done else None,
            "new_calls": len(new), "errors": sum(p["errors"] for p in parts),
            "first_error": next((p["first_error"] for p in parts if p["first_error"]), None),
            "cpu_ms_per_call": {k: round(1000 * v / max(1, calls), 3) for k, v in cpu.items()}}


def row_text(label: str, res: dict) -> str:
    def f(v):
        return "-" if v is None else f"{v:8.2f}"
    cpu = " ".join(f"{k} {v:.2f}" for k, v in res["cpu_ms_per_call"].items())
    return (f"  {label:<40} {res['per_second']:7.0f}/s  p50 {f(res['p50_ms'])} ms  p99 {f(res['p99_ms'])} ms"
            f"  ({res['calls']} calls, {res['errors']} errors; cpu ms/call: {cpu})")


def median_run(runs: list[dict], key: str = "per_second") -> dict:
    """The run with the median `key` (throughput unless told), carrying every round's figures."""
    ordered = sorted(runs, key=lambda r: float("inf") if r[key] is None else r[key])
    mid = dict(ordered[(len(ordered) - 1) // 2])
    mid["rounds"] = [{k: r[k] for k in ("per_second", "p50_ms", "p99_ms")} for r in runs]
    return mid


def alternate(rounds: int, labels: tuple[str, ...], runs) -> dict[str, dict]:
    """Run the loads in turn `rounds` times (noise from elsewhere hits both alike);
    print every round and return each one's median round."""
    got: dict[str, list] = {label: [] for label in labels}
    for i in range(rounds):
        for label, fn in zip(labels, runs, strict=True):
            res = fn()
            got[label].append(res)
            print(row_text(f"{label} (round {i + 1})", res), flush=True)
    return {label: median_run(rs) for label, rs in got.items()}
