"""examples/worker/worker.py against a real server and its engine: it carries the demo's account
set-up through to done, its failures are retried and then routed by the rules, and a worker that
dies holding a lease loses the step to the next attempt."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from crux.cli.load import load_folder, loader_identity
from tests.conftest import ROOT
from tests.http_server import Server
from tests.wf_support import poll

WORKER = ROOT / "examples" / "worker" / "worker.py"
STEPS = "openaccount,creditlimit,issuecard,sendwelcome"


@pytest.fixture
def demo(realm, database_url, tmp_path):
    """The onboarding example in a realm, served (with an engine beating every second)."""
    realm.app_new("onboarding")
    report = load_folder(realm.crux.db, loader_identity(realm.name, "admin"), ROOT / "examples" / "onboarding",
                         1, "onboarding", activate=True)
    assert not report.problems, report.problems
    server = Server(database_url, tmp_path, engine=True, env={"CRUX_ENGINE_BEAT": "1"})
    poll(server.ready, timeout=60)
    yield realm, server
    server.stop()


def _worker(realm, server, *args: str, timeout: float = 60) -> str:
    env = {**os.environ, "TOKEN": realm.token(), "CRUX_URL": f"http://127.0.0.1:{server.port}"}
    done = subprocess.run([sys.executable, str(WORKER), "--steps", STEPS, "--work", "0.1", "--idle-exit", *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    return done.stdout + done.stderr


def _account(realm, entityid: str, product: str, card: bool) -> int:
    started = realm.ok("wfinstancenew", {"slice": 1, "app": "onboarding", "workflow": "setupaccount",
                                         "entityid": entityid,
                                         "entity": {"class": "account", "product": product, "wantscard": card}})
    return started["tasks"][0]["openaccount"]


def _path(realm, entityid: str) -> list[tuple]:
    return [(h["step"], h["attempt"], h["outcome"], h["worker"])
            for h in realm.ok("wfinstancehistory", {"entityid": entityid})["history"]]


def test_the_worker_carries_accounts_to_done(demo):
    realm, server = demo
    _account(realm, "acct-1", "savings", True)
    _account(realm, "acct-2", "current", False)
    out = _worker(realm, server, "--name", "robot", "--wait", "1")
    assert "claimed creditlimit" in out and '"done": true' in out, out
    assert realm.ok("wfinstancelist", {"app": "onboarding"})["wfinstances"] == []
    assert _path(realm, "acct-1") == [("openaccount", 1, "done", "robot"), ("issuecard", 1, "done", "robot"),
                                      ("sendwelcome", 1, "done", "robot")]
    assert [s for s, *_ in _path(realm, "acct-2")] == ["openaccount", "creditlimit", "sendwelcome"]


def test_failures_are_retried_then_routed_by_the_rules(demo):
    realm, server = demo
    row_id = _account(realm, "acct-3", "current", False)
    out = _worker(realm, server, "--name", "robot", "--wait", "4", "--fail", "creditlimit")
    assert out.count("failed creditlimit") == 2, out
    assert _path(realm, "acct-3") == [("openaccount", 1, "done", "robot"), ("creditlimit", 1, "failed", "robot"),
                                      ("creditlimit", 2, "failed", "robot"), ("manuallimit", 1, None, None)]
    [row] = realm.ok("wfinstancelist", {"entityid": "acct-3"})["wfinstances"]
    assert (row["id"], row["step"]) == (row_id, "manuallimit")


def test_a_worker_dying_with_a_lease_loses_the_step_to_the_next_attempt(demo):
    realm, server = demo
    _account(realm, "acct-4", "current", False)
    realm.ok("wfinstancemarkdone", {"id": realm.ok("wfinstancelist", {"entityid": "acct-4"})["wfinstances"][0]["id"],
                                    "step": "openaccount", "entity": {"class": "account", "product": "current",
                                                                      "wantscard": False}})
    out = _worker(realm, server, "--name", "doomed", "--lease", "1", "--crash-after", "1")
    assert "claimed creditlimit" in out and "crashing" in out, out
    # the engine ends the lapsed lease: attempt 2, open again after the retry delay
    poll(lambda: realm.ok("wfinstancelist", {"entityid": "acct-4"})["wfinstances"][0]["attempt"] == 2, timeout=30)
    out = _worker(realm, server, "--name", "robot", "--wait", "4")
    assert "done creditlimit" in out, out
    assert _path(realm, "acct-4") == [("openaccount", 1, "done", None), ("creditlimit", 1, "timedout", "doomed"),
                                      ("creditlimit", 2, "done", "robot"), ("sendwelcome", 1, "done", "robot")]
