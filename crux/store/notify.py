"""Cache coherence across server processes through PostgreSQL LISTEN/NOTIFY.

Writers send a notice inside their transaction (the unit of work's `notify`, crux/services/uow.py),
so the message is delivered only if and when the write commits. Each process runs one `Listener`
thread on a dedicated connection (not from the pool: behind PgBouncer it must bypass the bouncer).
Caches subscribe a handler per `kind`, plus a reset handler called whenever the listener
(re)connects: messages may have been missed while it was away, so caches drop everything. While
the listener is not connected, `listener.generation` is None and caches must not keep what they
load.
"""
from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
import uuid
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import psycopg

CHANNEL = "crux_cache"
_logger = logging.getLogger("crux.notify")


_origin: tuple[int, str] | None = None


def process_origin() -> str:
    """This process's name on the channel (new after a fork), to skip its own echoes."""
    global _origin
    if _origin is None or _origin[0] != os.getpid():
        _origin = (os.getpid(), f"{os.getpid()}-{uuid.uuid4().hex[:12]}")
    return _origin[1]


def notice_payload(kind: str, **key: object) -> str:
    """The message telling caches that data of `kind` (and `key`) changed, signed by this process."""
    return json.dumps({"kind": kind, "origin": process_origin(), **key}, default=str)


def send_notice(conn: psycopg.Connection[Any], payload: str) -> None:
    """NOTIFY every listening process; PostgreSQL sends it when (and if) the transaction commits."""
    conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, payload))


class Listener:
    def __init__(self, url: str, retry_seconds: float = 1.0):
        self.url = url
        self.retry_seconds = retry_seconds
        self._handlers: dict[str, list[Callable[[dict], None]]] = defaultdict(list)
        self._reset_handlers: list[Callable[[], None]] = []
        self._generation = 0
        self._connected = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid: int | None = None
        self._start_lock = threading.Lock()
        self._conn: psycopg.Connection | None = None

    @property
    def generation(self) -> int | None:
        """A number that changes at every reconnect; None while disconnected."""
        self.ensure_started()
        return self._generation if self._connected.is_set() else None

    def subscribe(self, kind: str, handler: Callable[[dict], None]) -> None:
        self._handlers[kind].append(handler)

    def on_reset(self, handler: Callable[[], None]) -> None:
        self._reset_handlers.append(handler)

    def ensure_started(self) -> None:
        # Started lazily in the process that serves (after gunicorn forks its workers).
        if self._pid == os.getpid() and self._thread and self._thread.is_alive():
            return
        with self._start_lock:
            if self._pid == os.getpid() and self._thread and self._thread.is_alive():
                return
            self._pid = os.getpid()
            self._connected.clear()
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="crux-listener", daemon=True)
            self._thread.start()

    def wait_connected(self, timeout: float = 5.0) -> bool:
        self.ensure_started()
        return self._connected.wait(timeout)

    def stop(self) -> None:
        self._stop.set()
        conn = self._conn
        if conn is not None:
            # the listener thread may be closing the connection at the same moment: then there
            # is nothing left to cancel
            with contextlib.suppress(psycopg.Error, OSError):
                conn.cancel_safe()

    def _reset(self) -> None:
        self._generation += 1
        for handler in self._reset_handlers:
            handler()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                with psycopg.connect(self.url, autocommit=True, connect_timeout=5) as conn:
                    self._conn = conn
                    conn.execute(f"LISTEN {CHANNEL}")
                    self._reset()
                    self._connected.set()
                    while not self._stop.is_set():
                        for note in conn.notifies(timeout=1.0):
                            self._dispatch(note.payload, skip_own=True)
                        # A periodic query notices a dead server even when nothing is sent.
                        conn.execute("SELECT 1")
            except Exception as exc:  # noqa: BLE001 -- any failure: the server, the network, a reset handler
                # drop the caches and reconnect after a pause: the thread must outlive any failure,
                # or this process's caches would not hear of a change again
                if self._stop.is_set():
                    break
                _logger.warning("cache listener lost its connection: %s", exc.__class__.__name__)
            finally:
                self._conn = None
                was_connected = self._connected.is_set()
                self._connected.clear()
                if was_connected:
                    self._reset()
            self._stop.wait(self.retry_seconds)

    def dispatch(self, payload: str) -> None:
        """Deliver a message in this process now (the writer's own process need not wait for
        the round trip through the server, so a write is visible to its next request)."""
        self._dispatch(payload)

    def _dispatch(self, payload: str, skip_own: bool = False) -> None:
        try:
            message = json.loads(payload)
        except ValueError:
            return
        if skip_own and message.get("origin") == process_origin():
            return  # delivered in this process already, when its transaction committed
        for handler in self._handlers.get(message.get("kind"), ()):
            try:
                handler(message)
            except Exception:  # a faulty handler must not kill the listener
                _logger.exception("cache handler failed")
