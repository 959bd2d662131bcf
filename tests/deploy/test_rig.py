"""deploy/rig itself: `up` is idempotent and repairs what crashed; `down` (at the end of the
session, in the fixture) leaves nothing behind."""
from __future__ import annotations

import os
import signal
from pathlib import Path


def pid_of(rig, *parts) -> int:
    return int(Path(rig.status["dir"], *parts).read_text().split()[0])


def test_up_again_changes_nothing(rig):
    before = {h: pid_of(rig, h, "crux.pid") for h in rig.web_hosts}
    nginx = pid_of(rig, "nginx", "nginx.pid")
    rig.cmd("up")
    assert {h: pid_of(rig, h, "crux.pid") for h in rig.web_hosts} == before
    assert pid_of(rig, "nginx", "nginx.pid") == nginx
    assert rig.refresh()["up"]


def test_up_repairs_what_crashed(rig):
    standby = next(h for h, s in rig.status["hosts"].items() if s.get("role") == "standby")
    victims = {"web2": pid_of(rig, "web2", "crux.pid"), "nginx": pid_of(rig, "nginx", "nginx.pid"),
               "pgbouncer": pid_of(rig, standby, "pgbouncer.pid")}
    for pid in victims.values():
        os.kill(pid, signal.SIGKILL)
    status = rig.refresh()
    assert not status["up"] and not status["nginx"]["running"] and not status["hosts"][standby]["pgbouncer"]
    rig.cmd("up")
    status = rig.refresh()
    assert status["up"], status
    assert pid_of(rig, "web2", "crux.pid") != victims["web2"]
    http = rig.nginx()
    assert http.request("GET", "/readyz")[0] == 200
