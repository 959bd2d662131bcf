"""`crux engine` processes for tests (SPEC §8.5): started on the test database, stopped cleanly or
killed, each with its log file."""
from __future__ import annotations

import os
import signal
import subprocess
import sys

from tests.conftest import ROOT, TEST_SECRET


class Engines:
    """`crux engine` processes on the test database, stopped (or killed) at the end."""

    def __init__(self, database_url: str, tmp_path):
        self.url, self.tmp = database_url, tmp_path
        self.procs: dict[str, subprocess.Popen] = {}
        self.logs: list = []

    def start(self, *names: str, beat: int = 1) -> None:
        env = {**os.environ, "CRUX_DATABASE_URL": self.url, "CRUX_JWT_SECRET": TEST_SECRET,
               "CRUX_ENGINE_BEAT": str(beat), "CRUX_LOG_LEVEL": "warn", "CRUX_DATA_DIR": str(self.tmp)}
        for name in names:
            log = open(self.tmp / f"engine-{name}.log", "wb")
            self.logs.append(log)
            self.procs[name] = subprocess.Popen([sys.executable, "-m", "crux.cli", "engine", "--name", name],
                                                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)

    def stop(self, name: str) -> int:
        proc = self.procs.pop(name)
        proc.send_signal(signal.SIGTERM)
        try:
            return proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            return proc.wait()

    def kill(self, name: str) -> None:
        proc = self.procs.pop(name)
        proc.kill()
        proc.wait(timeout=10)

    def close(self) -> None:
        for name in list(self.procs):
            if self.stop(name) != 0:
                raise AssertionError(f"engine {name} did not stop cleanly")
        for log in self.logs:
            log.close()
