"""The primary's host dies under load and the synchronous standby is promoted (deploy/rig
failover): calls answer 503 `trylater` for the switch, then succeed against the new primary
through the same libpq multi-host URLs, without restarting Crux; no acknowledged write is lost;
`deploy/rig up` then rebuilds the lost host as the new primary's standby (SPEC §11)."""
from __future__ import annotations

import threading
import time

from tests.wf_support import APP, entity, setup_flows


class Load:
    """Client threads through nginx, each walking instances of `seq` (START -> a -> b -> done):
    wfinstancenew, markdone a, markdone b; after a failed call it starts a new instance. Every
    answer is kept: (time, call, entityid, row id, status, errcode)."""

    def __init__(self, rig, realm, threads: int = 6):
        self.realm, self.answers, self.lock = realm, [], threading.Lock()
        self.stop = threading.Event()
        self.http = rig.nginx()
        self.threads = [threading.Thread(target=self._run, args=(i,)) for i in range(threads)]
        for t in self.threads:
            t.start()

    def _call(self, name, payload, entityid, row_id):
        try:
            status, body = self.http.call(name, payload, self.realm.token)
        except OSError as exc:
            status, body = None, {"messages": [{"errcode": type(exc).__name__}]}
        errcode = None if status == 200 else body["messages"][0]["errcode"]
        if status == 200 and name == "wfinstancenew":
            row_id = body["data"]["tasks"][0]["a"]
        with self.lock:
            self.answers.append((time.monotonic(), name, entityid, row_id, status, errcode))
        return body["data"] if status == 200 else None

    def _run(self, i):
        n = 0
        while not self.stop.is_set():
            n += 1
            entityid = f"t{i}-{n}"
            started = self._call("wfinstancenew", {"slice": 1, "app": APP, "workflow": "seq", "entityid": entityid,
                                                   "entity": entity()}, entityid, None)
            if started is None:
                continue
            row_id = started["tasks"][0]["a"]
            for step in ("a", "b"):
                if self._call("wfinstancemarkdone", {"id": row_id, "step": step, "entity": entity()},
                              entityid, row_id) is None:
                    break

    def successes_since(self, moment: float) -> int:
        with self.lock:
            return sum(1 for a in self.answers if a[0] > moment and a[4] == 200)

    def finish(self):
        self.stop.set()
        for t in self.threads:
            t.join()


def workflow_invariants(rig, realm: str) -> None:
    """Every open row has exactly one open history row at its step, and every open history row
    its row; an entity has at most one row of `seq` open."""
    orphans = rig.sql("""
        SELECT w.id, w.step, count(h.id) FROM wfinstance w
          LEFT JOIN wfhistory h ON h.realm = w.realm AND h.wfid = w.id AND h.closedat IS NULL AND h.step = w.step
         WHERE w.realm = %(r)s AND w.doneat IS NULL GROUP BY w.id, w.step HAVING count(h.id) <> 1
        UNION ALL
        SELECT h.wfid, h.step, 0 FROM wfhistory h
         WHERE h.realm = %(r)s AND h.closedat IS NULL AND NOT EXISTS (
               SELECT 1 FROM wfinstance w WHERE w.realm = h.realm AND w.id = h.wfid AND w.step = h.step)""",
                      {"r": realm})
    assert orphans == [], orphans
    doubles = rig.sql("SELECT entityid FROM wfinstance WHERE realm = %s GROUP BY entityid HAVING count(*) > 1",
                      (realm,))
    assert doubles == [], doubles


def answers_of(http, realm, tries: int = 20) -> list[int]:
    """Statuses of `tries` calls on fresh connections (so that every worker of the host answers some)."""
    return [http.call("wfinstancelist", {"entityid": "none"}, realm.token, fresh=True)[0] for _ in range(tries)]


def test_failover_under_load_loses_no_acknowledged_write(rig):
    realm = rig.new_realm()
    setup_flows(realm)
    old_primary = rig.status["primary"]
    # the load goes to web1 and web2; web3 serves a few calls first and then idles through the
    # switch, its pools holding connections that lead to the old primary
    rig.cmd("web", "--count", "2")
    idle = rig.host("web3")
    assert answers_of(idle, realm) == [200] * 20
    load = Load(rig, realm)
    try:
        time.sleep(2)
        before = load.successes_since(0)
        switch = time.monotonic()
        rig.cmd("failover")
        promoted = time.monotonic()
        deadline = promoted + 30
        while load.successes_since(promoted) < 100 and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        load.finish()
    answers = load.answers
    after = [a for a in answers if a[0] > promoted]
    assert before > 50 and load.successes_since(promoted) >= 100, (before, len(after))
    # the failures: 503 trylater, and only around the switch
    failures = [a for a in answers if a[4] != 200]
    assert {(a[4], a[5]) for a in failures} <= {(503, "trylater")}, failures
    assert all(switch - 1 < a[0] < promoted + 10 for a in failures), failures
    first_success = min(a[0] for a in after if a[4] == 200)
    assert first_success - promoted < 10

    rig.refresh()
    assert rig.status["primary"] != old_primary
    assert rig.status["hosts"][old_primary]["role"] == "failed"
    # Every answered success is in the (new primary's) database: a started instance has its
    # row's history at `a`; a reported `a` is closed done and `b` handed out; a reported `b` is
    # closed done and the instance gone.
    history = {(wfid, step): outcome for wfid, step, outcome in rig.sql(
        "SELECT wfid, step, outcome FROM wfhistory WHERE realm = %s", (realm.name,))}
    open_rows = {r[0] for r in rig.sql("SELECT id FROM wfinstance WHERE realm = %s", (realm.name,))}
    acknowledged: dict[int, list[str]] = {}
    for _, call, _, row_id, status, _ in answers:
        if status == 200:
            acknowledged.setdefault(row_id, []).append(call)
    assert len(acknowledged) > 100
    for row_id, calls in acknowledged.items():
        assert (row_id, "a") in history, row_id
        reports = calls.count("wfinstancemarkdone")
        if reports >= 1:
            assert history[(row_id, "a")] == "done" and (row_id, "b") in history, row_id
        if reports == 2:
            assert history[(row_id, "b")] == "done" and row_id not in open_rows, row_id
    workflow_invariants(rig, realm.name)

    # the idle host's listeners noticed the switch and its pools dropped their connections to the
    # old primary: its first calls after the switch succeed
    assert answers_of(idle, realm) == [200] * 20

    # the lost host comes back as the new primary's synchronous standby
    rig.cmd("web", "--count", "3")
    rig.cmd("up")
    rig.refresh()
    assert rig.status["up"], (rig.status["hosts"], rig.status["replication"], rig.status["nginx"])
    assert rig.status["hosts"][old_primary]["role"] == "standby"
    assert {r["name"]: r["sync_state"] for r in rig.status["replication"]} == {old_primary: "sync"}
    assert realm.ok("wfinstancelist", {"entityid": "t0-1"}) is not None
