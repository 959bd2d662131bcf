"""`crux serve`: gunicorn serving `create_app()` in worker processes."""
from __future__ import annotations

import os
import shutil
import tempfile

from gunicorn.app.base import BaseApplication

from crux.config import Settings


class _Gunicorn(BaseApplication):
    def __init__(self, settings: Settings, url: str, options: dict):
        self.settings, self.url, self.options = settings, url, options
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        from crux import create_app
        return create_app(self.settings, database_url=self.url)


def _child_exit(server, worker):
    from prometheus_client import multiprocess
    multiprocess.mark_process_dead(worker.pid)


def run(settings: Settings, url: str, port: int, workers: int) -> None:
    # Each worker keeps its metrics in a shared folder so /metrics adds up every process.
    metrics_dir = tempfile.mkdtemp(prefix="crux-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    os.environ["CRUX_DATABASE_URL"] = url
    options = {
        "bind": f"{settings.host}:{port}",
        "workers": workers,
        "worker_class": "gthread",
        "threads": settings.threads,
        "accesslog": None,
        "loglevel": "warning",
        "child_exit": _child_exit,
        "timeout": 60,
        "graceful_timeout": 10,
    }
    try:
        _Gunicorn(settings, url, options).run()
    finally:
        shutil.rmtree(metrics_dir, ignore_errors=True)
