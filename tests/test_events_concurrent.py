"""The stream under load (SPEC §9.1-§9.2): eight writers run instances to done (concurrent sets,
joins, failed steps) and change admin data while a reader follows `wfeventlist` cursors. Afterwards
the events read are, one for one, the transitions in wfhistory and the rows of the changelog —
none missing, none twice — and each instance's events came in the order of its transitions."""
from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from tests.wf_support import done, flows, ids_of, start  # noqa: F401 (flows)

WRITERS, INSTANCES = 8, 6
CLOSING = {"done": "stepdone", "failed": "stepfailed", "timedout": "steptimedout"}


def run_seq(realm, entityid: str) -> None:
    """START -> a, a fails -> fix -> a -> b -> done."""
    row_id = ids_of(start(realm, "seq", entityid))["a"]
    for step, failed in (("a", True), ("fix", False), ("a", False), ("b", False)):
        done(realm, row_id, step, stepfailed=failed)


def run_par(realm, entityid: str) -> None:
    """START -> {p1, p2, p3} join j1 -> {q1, q2} join j2 -> z -> done."""
    ids = ids_of(start(realm, "par", entityid))
    for step in ("p1", "p2", "p3"):
        result = done(realm, ids[step], step)
    ids = ids_of(result)
    for step in ("q1", "q2"):
        result = done(realm, ids[step], step)
    done(realm, ids_of(result)["z"], "z")


def writer(realm, n: int) -> None:
    for i in range(INSTANCES):
        (run_par if (n + i) % 2 else run_seq)(realm, f"w{n}-{i}")
        realm.ok("configset", {"slice": 1, "name": f"w{n}", "val": str(i)})


def test_eight_writers_and_a_reader(flows, conn):
    realm = flows
    read: list[dict] = []
    finished = threading.Event()

    def reader():
        after = None
        while True:
            payload = {"limit": 37, "wait": 0.2, **({"after": after} if after else {})}
            page = realm.ok("wfeventlist", payload)
            assert page["lost"] is False
            read.extend(page["events"])
            after = page["next"]
            if not page["events"] and finished.is_set():
                return

    follower = threading.Thread(target=reader)
    follower.start()
    with ThreadPoolExecutor(WRITERS) as pool:
        list(pool.map(lambda n: writer(realm, n), range(WRITERS)))
    finished.set()
    follower.join(120)
    assert not follower.is_alive()

    # none twice
    assert len({e["id"] for e in read}) == len(read)
    # every changelog row of the realm is one changed event
    changes = conn.execute("SELECT entity, key, op FROM changelog WHERE realm = %s ORDER BY id",
                           (realm.name,)).fetchall()
    assert Counter((e["table"], e["key"], e["op"]) for e in read if e["kind"] == "changed") == \
        Counter((c["entity"], c["key"], c["op"]) for c in changes)
    # every history row opened is one stepopened; every one closed done/failed/timedout one close
    history = conn.execute("SELECT id, wfid, step, attempt, outcome FROM wfhistory WHERE realm = %s ORDER BY id",
                           (realm.name,)).fetchall()
    expected = Counter(("stepopened", h["wfid"], h["step"], h["attempt"]) for h in history)
    expected.update((CLOSING[h["outcome"]], h["wfid"], h["step"], h["attempt"])
                    for h in history if h["outcome"] in CLOSING)
    got = Counter((e["kind"], e["wfid"], e["step"], e["attempt"]) for e in read
                  if e["kind"] in ("stepopened", *CLOSING.values()))
    assert got == expected
    instances = WRITERS * INSTANCES
    kinds = Counter(e["kind"] for e in read)
    assert (kinds["started"], kinds["done"], kinds["aborted"]) == (instances, instances, 0)
    # each instance's events in the order of its transitions: a row's steps open in history order,
    # and each step's close comes after its opening
    position = {e["id"]: i for i, e in enumerate(read)}
    for wfid in {h["wfid"] for h in history}:
        opened = [(e["step"], e["attempt"]) for e in read if e["wfid"] == wfid and e["kind"] == "stepopened"]
        assert opened == [(h["step"], h["attempt"]) for h in history if h["wfid"] == wfid]
        for e in read:
            if e["wfid"] == wfid and e["kind"] in CLOSING.values():
                opening = next(o for o in read if o["wfid"] == wfid and o["kind"] == "stepopened"
                               and (o["step"], o["attempt"]) == (e["step"], e["attempt"]))
                assert position[opening["id"]] < position[e["id"]]
    for entityid in {e["entityid"] for e in read if e["kind"] == "started"}:
        mine = [e["kind"] for e in read if e["entityid"] == entityid and e["kind"] in ("started", "done")]
        assert mine == ["started", "done"]
