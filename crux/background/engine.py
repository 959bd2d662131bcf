"""An engine process (SPEC §8.5): `crux engine [--name NAME]`.

It registers in `wfengine`, runs each job in a thread of its own (a slow webhook delivery never
holds up expiries), and beats every CRUX_ENGINE_BEAT seconds from the main thread: the beat
records the expiries handled since the last one and marks engines silent for three of their
beats `dead`. SIGTERM or SIGINT stop it cleanly: the jobs finish their current run, and the
engine marks itself `stopped`. A killed engine holds nothing: its transactions roll back with
its connections, and the other engines take over its work at their next sweep.

It uses the same state as a web worker (crux/services/state.py: pool, ruleset cache and its listener,
services), so the expiries it evaluates see the rules exactly as calls do.
"""
from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
from importlib import metadata

from crux.background.expiry import ExpiryCounter, ExpiryJob
from crux.background.webhooks import WebhookDelivery
from crux.common import log
from crux.services.attempts import ENGINE_USER
from crux.services.uow import unit_of_work
from crux.services.webhooks import allowed_targets
from crux.store import engines as engine_store

_logger = logging.getLogger("crux.engine")
RETRY_AFTER_ERROR = 1.0
DEFAULT_IDLE = 0.2


def _version() -> str:
    try:
        return metadata.version("crux")
    except metadata.PackageNotFoundError:
        return "unknown"


class Engine:
    def __init__(self, crux, name: str | None = None, watch_parent: int | None = None):
        self.crux = crux
        self.name = name or f"{socket.gethostname()}:{os.getpid()}"
        self.beat = crux.settings.engine_beat
        self._next_beat = 0.0                       # monotonic time of the next beat
        self.watch_parent = watch_parent            # stop when this process is no longer our parent
        self.counter = ExpiryCounter()
        self.jobs = [ExpiryJob(crux.attempts, self.counter),
                     WebhookDelivery(crux.db, crux.events, allowed_targets(crux.settings.webhook_allow))]
        self.id: int | None = None
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    # ---- lifecycle --------------------------------------------------------------------------

    def start(self) -> None:
        """Register, then start a thread per job."""
        while self.id is None and not self._stopping.is_set():
            try:
                with unit_of_work(self.crux.db, None, ENGINE_USER) as uow:
                    row = engine_store.register(uow.conn, self.name, socket.gethostname(), os.getpid(), _version(),
                                                self.beat)
                self.id = row["id"]
            except Exception as exc:  # noqa: BLE001 - the database may not be up yet
                _logger.warning("engine %s cannot register yet: %s", self.name, exc)
                self._stopping.wait(RETRY_AFTER_ERROR)
        log.activity("engine", "start", msg=f"engine {self.name} (id {self.id}) started",
                     data={"id": self.id, "beat": self.beat, "jobs": [_name(j) for j in self.jobs]})
        for job in self.jobs:
            thread = threading.Thread(target=self._run_job, args=(job,), name=f"crux-{_name(job)}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def run(self) -> None:
        """Start, beat until stopped, then stop cleanly."""
        self.start()
        try:
            while not self._stopping.wait(self._until_next_beat()):
                if self.watch_parent is not None and os.getppid() != self.watch_parent:
                    break
                self._beat()
        finally:
            self.stop()

    def request_stop(self, *_args) -> None:
        self._stopping.set()

    def stop(self) -> None:
        """Let the jobs finish their current run, then mark this engine stopped."""
        self._stopping.set()
        for thread in self._threads:
            thread.join(timeout=30)
        if self.id is not None:
            counts = self.counter.take()
            try:
                with unit_of_work(self.crux.db, None, ENGINE_USER) as uow:
                    engine_store.stop(uow.conn, self.id, *counts)
            except Exception as exc:  # noqa: BLE001 - nothing more to do: it will be marked dead
                _logger.warning("engine %s could not record its stop: %s", self.name, exc)
            log.activity("engine", "stop", msg=f"engine {self.name} (id {self.id}) stopped")
            self.id = None

    # ---- the loops --------------------------------------------------------------------------

    def _until_next_beat(self) -> float:
        # short waits when watching a parent, so an orphaned engine stops soon
        return min(self.beat, 1.0) if self.watch_parent is not None else self.beat

    def _beat(self) -> None:
        now = time.monotonic()
        if now < self._next_beat:
            return
        self._next_beat = now + self.beat - 0.05
        assert self.id is not None          # registered by start()
        counts = self.counter.take()
        try:
            with unit_of_work(self.crux.db, None, ENGINE_USER) as uow:
                dead = engine_store.beat(uow.conn, self.id, *counts)
        except Exception as exc:  # noqa: BLE001 - the next beat tries again
            self.counter.give_back(counts)
            _logger.warning("engine %s could not beat: %s", self.name, exc)
            return
        if dead:
            log.activity("engine", "dead", msg=f"engine {self.name} marked {dead} silent engine(s) dead")

    def _run_job(self, job) -> None:
        idle = getattr(job, "idle", DEFAULT_IDLE)
        while not self._stopping.is_set():
            try:
                busy = job.run_once()
            except Exception:  # noqa: BLE001 - logged; the job runs again after a pause
                _logger.exception("engine job %s failed", _name(job))
                busy = False
                self._stopping.wait(RETRY_AFTER_ERROR)
            if not busy:
                self._stopping.wait(idle)


def _name(job) -> str:
    return getattr(job, "name", type(job).__name__)


def run_engine(settings, url: str, name: str | None = None, watch_parent: int | None = None) -> None:
    """`crux engine`: an engine on the database of `url` until SIGTERM or SIGINT."""
    from crux.services.state import Crux
    crux = Crux(settings, url)
    crux.open()
    engine = Engine(crux, name, watch_parent=watch_parent)
    signal.signal(signal.SIGTERM, engine.request_stop)
    signal.signal(signal.SIGINT, engine.request_stop)
    try:
        engine.run()
    finally:
        crux.close()
