"""Workers pulling steps (SPEC §8.4) and the engines and workers seen (§8.5 `wfenginelist`).

    wfstepclaim {worker, steps?, app?, workflow?, slice?, max?, lease?, wait?}
    wfstepheartbeat {id, worker, lease?}
    wfenginelist {}
    /metrics                    engines, overdue steps, incidents, expiries (EngineCollector)

A claim with `wait` polls the database every POLL_INTERVAL seconds from the waiting request
until a row is leased or the time is up. It never waits for a notification from the writers:
NOTIFY in the hot calls would serialise their commits. Between polls the request holds no
database connection; it does hold a server thread (gunicorn gthread), which is what bounds
how many workers may wait at once.
"""
from __future__ import annotations

import logging
import time

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from crux.errors import CruxError, not_found
from crux.services.principal import Identity
from crux.services.uow import unit_of_work
from crux.store import engines as engine_store
from crux.store import leases as lease_store

POLL_INTERVAL = 0.1
_logger = logging.getLogger("crux.metrics")


class WorkerService:
    def __init__(self, db, clock=time.monotonic, sleep=time.sleep):
        self.db = db
        self._clock, self._sleep = clock, sleep

    def claim(self, ident: Identity, data: dict) -> dict:
        filters = {k: data.get(k) for k in ("steps", "app", "workflow", "slice")}
        deadline = self._clock() + data.get("wait", 0)
        first = True
        while True:
            with unit_of_work(self.db, ident.realm, ident.user, "statement") as uow:
                rows = lease_store.claim(uow.conn, ident.realm, data["worker"], data.get("max", 1),
                                         data.get("lease"), filters, seen=first)
            first = False
            left = deadline - self._clock()
            if rows or left <= 0:
                return {"steps": rows}
            self._sleep(min(POLL_INTERVAL, left))

    def heartbeat(self, ident: Identity, data: dict) -> dict:
        with unit_of_work(self.db, ident.realm, ident.user, "statement") as uow:
            found, until = lease_store.heartbeat(uow.conn, ident.realm, data["id"], data["worker"], data.get("lease"))
        if not found:
            raise not_found("id", data["id"])
        if until is None:
            raise CruxError("not_allowed", "worker", [data["worker"]],
                            f"row {data['id']} is not under a live lease of worker {data['worker']}")
        return {"id": data["id"], "leaseuntil": until}

    def engine_list(self, ident: Identity, data: dict) -> dict:
        with self.db.connection() as conn:
            return {"engines": engine_store.engines(conn), "workers": lease_store.workers(conn, ident.realm)}


class EngineCollector:
    """Active engines, overdue steps and incidents now, and the expiries every engine that ever
    ran has handled, by outcome: engines are separate processes (perhaps on other hosts), so
    these come from the database, not from this process's counters."""

    def __init__(self, db):
        self.db = db

    def describe(self):
        return []       # registering must not query the database (the pool may not be open yet)

    def collect(self):
        try:
            with self.db.connection() as conn:
                found = engine_store.gauges(conn)
        except Exception as exc:  # noqa: BLE001 - a scrape without these beats a failed scrape
            _logger.warning("metrics from the database are unavailable: %s", exc)
            return
        yield GaugeMetricFamily("crux_engines_active", "Engine processes beating now", value=found["engines"])
        yield GaugeMetricFamily("crux_steps_overdue", "Open steps whose deadline has passed", value=found["overdue"])
        yield GaugeMetricFamily("crux_incidents", "Rows in an incident, waiting for someone to act",
                                value=found["incidents"])
        expiries = CounterMetricFamily("crux_expiries", "Expired attempts handled by engines, by outcome",
                                       labels=["outcome"])
        for outcome, key in (("retried", "retried"), ("failed", "failed"), ("incident", "incident_expiries")):
            expiries.add_metric([outcome], found[key])
        yield expiries
