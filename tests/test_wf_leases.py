"""Worker leases (SPEC §8.4): claims, heartbeats, reports under a lease, long polling, and the
workers wfenginelist shows. Expiries are swept in the test process (as an engine does)."""
from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.conftest import error_of
from tests.wf_support import (  # noqa: F401
    APP,
    attempts,
    claim,
    done,
    entity,
    expire_until,
    flows,
    ids_of,
    invariants,
    race,
    row,
    rows,
    set_steps,
    start,
)


def _starts(realm, n: int, workflow: str = "seq", prefix: str = "e") -> list[int]:
    return [ids_of(start(realm, workflow, f"{prefix}{i}"))["a" if workflow == "seq" else "x"] for i in range(n)]


def test_claims_lease_the_oldest_open_rows_with_their_entity(flows):
    ids = _starts(flows, 3)
    got = claim(flows, "w1", max=2)
    assert [s["id"] for s in got] == ids[:2]
    assert set(got[0]) == {"id", "entityid", "slice", "app", "class", "workflow", "step", "attempt", "entity", "dueat",
                           "leaseuntil", "parent", "loggedat"}
    assert got[0]["entity"] == entity() and got[0]["attempt"] == 1 and got[0]["leaseuntil"] is not None
    listed = row(flows, ids[0])
    assert listed["leasedby"] == "w1" and listed["leaseuntil"] == got[0]["leaseuntil"]
    assert [s["id"] for s in claim(flows, "w2", max=5)] == [ids[2]]
    assert claim(flows, "w3") == []


def test_claim_filters(flows):
    seq = _starts(flows, 2)
    odd = _starts(flows, 2, "odd", "o")
    assert [s["id"] for s in claim(flows, "w", workflow="odd", max=5)] == odd
    assert [s["id"] for s in claim(flows, "w", steps=["b", "a"], app=APP, slice=1, max=5)] == seq
    for nothing in ({"app": "nosuch"}, {"workflow": "nosuch"}, {"slice": 99}, {"steps": ["z"]}):
        assert claim(flows, "w", **nothing) == []


def test_four_workers_claiming_concurrently_never_share_a_row(flows):
    ids = set(_starts(flows, 200, "seq", "c"))
    token = flows.token()
    gate = threading.Barrier(4)

    def work(worker: str) -> list[int]:
        client, mine = flows.app.test_client(), []
        gate.wait()
        while True:
            resp = client.post("/api/v1/wfstepclaim", json={"data": {"worker": worker, "max": 3}},
                               headers={"Authorization": f"Bearer {token}"})
            assert resp.status_code == 200, resp.get_json()
            got = [s["id"] for s in resp.get_json()["data"]["steps"]]
            if not got:
                return mine
            mine.extend(got)

    with ThreadPoolExecutor(4) as pool:
        claimed = dict(zip(("w1", "w2", "w3", "w4"), pool.map(work, ("w1", "w2", "w3", "w4")), strict=True))
    every = [i for got in claimed.values() for i in got]
    assert len(every) == len(set(every)) == 200 and set(every) == ids
    holders = {r["id"]: r["leasedby"] for r in rows(flows)}
    assert all(holders[i] == worker for worker, got in claimed.items() for i in got)


def test_a_lease_not_renewed_expires_and_the_row_is_claimable_again(flows):
    set_steps(flows, "seq", {"a": {"attempts": 3}})
    [row_id] = _starts(flows, 1)
    [first] = claim(flows, "w1", lease=1)
    assert claim(flows, "w2") == []
    expire_until(flows, lambda: row(flows, row_id)["attempt"] == 2)
    [second] = claim(flows, "w2")
    assert (second["id"], second["attempt"]) == (row_id, 2)
    history = flows.ok("wfinstancehistory", {"id": row_id})["history"]
    assert [(h["attempt"], h["outcome"], h["worker"]) for h in history] == [(1, "timedout", "w1"), (2, None, None)]
    # the first worker's late report is refused: the row is under w2's live lease
    resp = flows.call("wfinstancemarkdone", {"id": row_id, "step": "a", "entity": entity(), "worker": "w1",
                                             "attempt": 1})
    assert (error_of(resp)["errcode"], error_of(resp)["field"]) == ("not_allowed", "worker")


def test_a_heartbeat_keeps_the_lease(flows):
    [row_id] = _starts(flows, 1)
    claim(flows, "w1", lease=2)
    stop = time.monotonic() + 4
    while time.monotonic() < stop:       # beats well inside the 2-second lease, past its first end
        beat = flows.ok("wfstepheartbeat", {"id": row_id, "worker": "w1", "lease": 2})
        assert beat["id"] == row_id and beat["leaseuntil"] is not None
        flows.crux.attempts.expire()
        time.sleep(0.2)
    kept = row(flows, row_id)
    assert (kept["attempt"], kept["leasedby"]) == (1, "w1")
    resp = flows.call("wfstepheartbeat", {"id": row_id, "worker": "w2"})
    assert (resp.status_code, error_of(resp)["errcode"], error_of(resp)["field"]) == (400, "not_allowed", "worker")
    resp = flows.call("wfstepheartbeat", {"id": 999_999_999, "worker": "w1"})
    assert (resp.status_code, error_of(resp)["field"]) == (404, "id")
    assert flows.ok("wfstepheartbeat", {"id": row_id, "worker": "w1"})["leaseuntil"] > beat["leaseuntil"]


def test_a_heartbeat_does_not_extend_the_deadline(flows):
    set_steps(flows, "seq", {"a": {"timeout": 1, "attempts": 2}})
    [row_id] = _starts(flows, 1)
    claim(flows, "w1", lease=60)
    flows.ok("wfstepheartbeat", {"id": row_id, "worker": "w1", "lease": 60})
    expire_until(flows, lambda: row(flows, row_id)["attempt"] == 2)     # the attempt's own deadline
    assert row(flows, row_id)["leasedby"] is None


@pytest.mark.parametrize("way", ["short", "locked"])
def test_reports_under_a_lease(flows, way):
    [row_id] = _starts(flows, 1)
    claim(flows, "w1")
    before = (rows(flows), attempts(flows, id=row_id))
    mark = {"id": row_id, "step": "a", "entity": entity()}
    for payload, field in (({**mark, "worker": "w2"}, "worker"), (mark, "worker"),
                           ({**mark, "worker": "w1", "attempt": 2}, "attempt")):
        if way == "locked":
            flows.crux.instances.forget()
        resp = flows.call("wfinstancemarkdone", payload)
        assert (resp.status_code, error_of(resp)["errcode"], error_of(resp)["field"]) == (400, "not_allowed", field)
        assert (rows(flows), attempts(flows, id=row_id)) == before          # nothing changed
    if way == "locked":
        flows.crux.instances.forget()
    assert done(flows, row_id, "a", worker="w1", attempt=1)["tasks"] == [{"b": row_id}]
    moved = row(flows, row_id)
    assert (moved["leasedby"], moved["leaseuntil"], moved["attempt"]) == (None, None, 1)
    history = flows.ok("wfinstancehistory", {"id": row_id})["history"]
    assert [(h["step"], h["outcome"], h["worker"]) for h in history] == [("a", "done", "w1"), ("b", None, None)]


def test_a_report_naming_a_worker_on_a_row_never_leased(flows):
    [row_id] = _starts(flows, 1)
    assert done(flows, row_id, "a", worker="robot")["tasks"] == [{"b": row_id}]
    assert flows.ok("wfinstancehistory", {"id": row_id})["history"][0]["worker"] == "robot"


def test_a_sibling_reported_done_ends_its_lease_and_deadline(flows):
    set_steps(flows, "par", {"p2": {"timeout": 600}})
    ids = ids_of(start(flows, "par", "e1"))
    claim(flows, "w1", steps=["p2"])
    done(flows, ids["p2"], "p2", worker="w1")
    p2 = row(flows, ids["p2"])
    assert (p2["dueat"], p2["leasedby"], p2["leaseuntil"]) == (None, None, None)


def test_wait_answers_as_soon_as_a_row_opens(flows):
    [row_id] = _starts(flows, 1)
    started = time.monotonic()
    with ThreadPoolExecutor(1) as pool:
        waiting = pool.submit(lambda: flows.app.test_client().post(
            "/api/v1/wfstepclaim", json={"data": {"worker": "w1", "steps": ["b"], "wait": 20}},
            headers={"Authorization": f"Bearer {flows.token()}"}).get_json()["data"]["steps"])
        time.sleep(0.3)
        assert not waiting.done()
        done(flows, row_id, "a")                 # b opens
        got = waiting.result(timeout=20)
    assert [(s["id"], s["step"]) for s in got] == [(row_id, "b")]
    assert time.monotonic() - started < 15       # it did not wait for the end of its 20 s
    assert claim(flows, "w1", steps=["b"], wait=0.3) == []    # nothing opens: [] when the wait is over


def test_engine_list_shows_the_workers_seen(flows):
    _starts(flows, 3)
    claim(flows, "w1", max=2)
    claim(flows, "w2", steps=["zz"])
    listed = flows.ok("wfenginelist", {})
    assert isinstance(listed["engines"], list)
    assert [(w["name"], w["leases"]) for w in listed["workers"]] == [("w1", 2), ("w2", 0)]
    flows.grant("ann", "report")
    assert flows.ok("wfenginelist", {}, user="ann")["workers"]
    assert flows.call("wfenginelist", {}, user="bob").status_code == 403


def test_claims_racing_reports_and_aborts(flows):
    """Claims, reports and aborts at the same moment: no call fails on the database (no deadlock,
    no lost update), a report is taken or refused as a whole, and the invariants hold."""
    for attempt in range(4):
        ids = _starts(flows, 4, "seq", f"r{attempt}-")
        results = race(flows, [("wfstepclaim", {"worker": "w", "max": 4}),
                               ("wfstepclaim", {"worker": "v", "max": 4}),
                               ("wfinstancemarkdone", {"id": ids[0], "step": "a", "entity": entity(), "worker": "w"}),
                               ("wfinstanceabort", {"id": ids[1]})])
        assert [status for status, _ in results] == [200, 200, results[2][0], 200], results
        assert results[2][0] in (200, 400), results[2]
        # a row moved on by the report may be leased again, at its next step
        claimed = [(s["id"], s["step"], s["attempt"]) for _, body in results[:2] for s in body["data"]["steps"]]
        assert len(claimed) == len(set(claimed))
        assert row(flows, ids[1]) is None
        invariants(flows)
