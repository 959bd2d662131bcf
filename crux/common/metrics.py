"""Prometheus metrics: request counts and latency per call (multi-process aware under gunicorn),
plus any collectors the process state adds (engines and deadlines, read from the database at
every scrape: crux/services/workers.py)."""
from __future__ import annotations

import os

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest

_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class Metrics:
    def __init__(self, collectors=()):
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter("crux_requests", "API calls served, by call and HTTP status",
                                ["call", "status"], registry=self.registry)
        self.latency = Histogram("crux_request_seconds", "API call latency in seconds, by call",
                                 ["call"], buckets=_BUCKETS, registry=self.registry)
        self.collectors = list(collectors)
        for collector in self.collectors:
            self.registry.register(collector)

    def observe(self, call: str, status: int, seconds: float) -> None:
        self.requests.labels(call, str(status)).inc()
        self.latency.labels(call).observe(seconds)

    def render(self) -> tuple[bytes, str]:
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            from prometheus_client import multiprocess
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
            for collector in self.collectors:
                registry.register(collector)
            return generate_latest(registry), CONTENT_TYPE_LATEST
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
