"""The embedded PostgreSQL's life (crux/store/embedded.py): started by the first Crux process
of a data directory, stopped by the last one, and never left behind by a process that was
killed. Real processes: `crux demo` serving, one-shot commands beside it, kill -9."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

import psutil
import pytest

from crux.store.embedded import is_running
from tests.conftest import TEST_SECRET
from tests.http_server import _free_port
from tests.rules_data import eventually

CRUX = [sys.executable, "-m", "crux.cli"]


@pytest.fixture
def data_dir():
    """A data directory outside pytest's own temporary folder, which pytest keeps closed to other
    users (run as root, the embedded server runs as a user of its own and must reach it)."""
    path = Path(tempfile.mkdtemp(prefix="crux-embedded-"))
    yield path / "data"
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def env(data_dir):
    values = {k: v for k, v in os.environ.items() if not k.startswith("CRUX_")}
    values.update(CRUX_DATA_DIR=str(data_dir), CRUX_JWT_SECRET=TEST_SECRET,
                  CRUX_HOST="127.0.0.1", CRUX_LOG_LEVEL="warn")
    return values


def one_shot(env, *args) -> subprocess.CompletedProcess:
    done = subprocess.run([*CRUX, *args], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


class Demo:
    """`crux demo` serving in its own process."""

    def __init__(self, env, tmp_path):
        self.port = _free_port()
        self.log = open(tmp_path / f"demo-{self.port}.log", "wb")
        self.proc = subprocess.Popen([*CRUX, "demo", "--port", str(self.port), "--workers", "1"],
                                     env=env, stdout=self.log, stderr=subprocess.STDOUT)
        eventually(self.ready, timeout=60, interval=0.2)

    def ready(self) -> bool:
        assert self.proc.poll() is None, "crux demo exited"
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/readyz", timeout=5) as resp:
                return resp.status == 200
        except OSError:
            return False

    def kill_9(self) -> None:
        """kill -9 of the demo (gunicorn's master); its workers notice and go."""
        workers = psutil.Process(self.proc.pid).children()
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        psutil.wait_procs(workers, timeout=30)
        self.log.close()

    def stop(self) -> None:
        """A clean stop (SIGTERM)."""
        self.proc.send_signal(signal.SIGTERM)
        assert self.proc.wait(timeout=60) == 0
        self.log.close()


def postmaster(pgdata) -> int | None:
    return int((pgdata / "postmaster.pid").read_text().split()[0]) if is_running(pgdata) else None


def test_one_shot_commands_and_a_clean_stop_leave_no_server(env, data_dir, tmp_path):
    pgdata = data_dir / "pgdata"
    assert one_shot(env, "db", "upgrade").stdout.startswith("applied: 0001_base.sql")
    assert not is_running(pgdata)
    demo = Demo(env, tmp_path)
    try:
        serving = postmaster(pgdata)
        token = one_shot(env, "token", "--realm", "demo", "--user", "admin").stdout.strip()
        assert token.count(".") == 2
        assert demo.ready() and postmaster(pgdata) == serving      # the demo still holds it
    finally:
        demo.stop()
    assert not is_running(pgdata)
    assert (data_dir / "pgdata.holders.json").read_text() == "{}"


def test_after_kill_9_the_next_process_adopts_the_server_and_stops_it(env, data_dir, tmp_path):
    pgdata = data_dir / "pgdata"
    Demo(env, tmp_path).kill_9()
    left = postmaster(pgdata)
    assert left is not None                                     # left running by the killed demo
    demo = Demo(env, tmp_path)
    assert postmaster(pgdata) == left                           # the next demo serves on it
    demo.kill_9()
    graph = one_shot(env, "workflow", "graph", "--realm", "demo", "--slice", "1", "--app", "onboarding",
                     "--workflow", "onboarding")
    assert graph.stdout.startswith("flowchart TD")
    assert not is_running(pgdata)                               # adopted, then stopped at its exit
    assert (data_dir / "pgdata.holders.json").read_text() == "{}"
