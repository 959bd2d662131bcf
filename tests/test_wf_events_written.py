"""The instance events every transition appends (SPEC §9.1), checked against the history they
go with: after a mixed scenario the `wfevent` rows of the realm match `wfhistory` one for one —
every history row opened gives one `stepopened`, every row closed done/failed/timedout one
`stepdone`/`stepfailed`/`steptimedout` (with its worker and error), rows closed `aborted` none;
`started` once per wfinstancenew that stored rows, `done` once per instance that finished,
`aborted` once per instance removed, `incident` once per row that became one."""
from __future__ import annotations

from collections import Counter

from tests.wf_support import claim, done, entity, expire_until, flows, ids_of, row, set_steps, start  # noqa: F401


def _scenario(realm) -> Counter:
    """Runs every kind of transition; returns how many instance-level events each should give."""
    want = Counter()

    def new(workflow, entityid, **extra):
        want["started"] += 1
        return ids_of(start(realm, workflow, entityid, **extra))

    # a run to done, with a failure route, on the short way and (forgetting) the locked way
    a = new("seq", "e1")["a"]
    done(realm, a, "a", stepfailed=True)
    realm.crux.instances.forget()
    done(realm, a, "fix")
    done(realm, a, "a", worker="robot")
    done(realm, a, "b")
    want["done"] += 1
    # a concurrent set: a failed member replaced in the set, members marked, two joins, an abort
    par = new("par", "e2")
    done(realm, par["p1"], "p1", stepfailed=True)
    done(realm, par["p2"], "p2")
    done(realm, par["p3"], "p3")
    q = ids_of(done(realm, par["p1"], "fix"))
    done(realm, q["q1"], "q1")
    z = ids_of(done(realm, q["q2"], "q2"))["z"]
    assert row(realm, z)["step"] == "z"
    realm.ok("wfinstanceabort", {"entityid": "e2"})
    want["aborted"] += 1
    # sub-workflows: one ended by its parent step, then a parent instance aborted with its child
    sign = new("main", "e3")["sign"]
    new("signing", "e3", parent=sign)
    done(realm, sign, "sign")
    want["aborted"] += 1
    sign = new("main", "e4")["sign"]
    new("signing", "e4", parent=sign)
    realm.ok("wfinstanceabort", {"id": sign})
    want["aborted"] += 2
    # a start that is done at once stores nothing and gives no event
    assert realm.ok("wfinstancenew", {"slice": 1, "app": "flows", "workflow": "odd", "entityid": "e5",
                                      "entity": entity()})["tasks"]
    want["started"] += 1
    # expiries: a retry, then the step failing into its remedial step
    set_steps(realm, "seq", {"a": {"timeout": 1, "attempts": 2}})
    timed = new("seq", "e6")["a"]
    expire_until(realm, lambda: row(realm, timed)["step"] == "fix")
    # claims, a worker's failure with a retry, a forced retry, reports under a lease
    set_steps(realm, "seq", {"a": {"attempts": 3}})
    leased = new("seq", "e7")["a"]
    claim(realm, "w1", steps=["a"])
    realm.ok("wfstepfail", {"id": leased, "worker": "w1", "error": "flaky"})
    realm.ok("wfinstanceretry", {"id": leased})
    claim(realm, "w2", steps=["a"])
    done(realm, leased, "a", worker="w2", attempt=3)
    # an incident (no rule for a failed p2), retried, expiring again, then reported
    set_steps(realm, "par", {"p2": {"timeout": 1}})
    inc = new("par", "e8")
    expire_until(realm, lambda: row(realm, inc["p2"])["incident"])
    want["incident"] += 1
    realm.ok("wfinstanceretry", {"id": inc["p2"]})
    expire_until(realm, lambda: row(realm, inc["p2"])["attempt"] == 3)
    want["incident"] += 1
    done(realm, inc["p2"], "p2")
    # a worker's failure with no attempts left and no rule: an incident too
    realm.ok("wfstepfail", {"id": inc["p3"], "error": "broken"})
    want["incident"] += 1
    return want


def test_instance_events_match_the_history(flows, conn):
    want = _scenario(flows)
    key = {"realm": flows.name}
    history = conn.execute("SELECT * FROM wfhistory WHERE realm = %(realm)s ORDER BY id", key).fetchall()
    events = conn.execute("SELECT * FROM wfevent WHERE realm = %(realm)s AND kind <> 'changed' ORDER BY id",
                          key).fetchall()
    kinds = Counter(e["kind"] for e in events)

    def of(kind, *fields):
        return Counter(tuple(e[f] for f in fields) for e in events if e["kind"] == kind)

    step = ("wfid", "step", "attempt")
    assert of("stepopened", *step) == Counter(tuple(h[f] for f in step) for h in history)
    closing = step + ("worker", "error")
    for outcome in ("done", "failed", "timedout"):
        assert of(f"step{outcome}", *closing) == Counter(
            tuple(h[f] for f in closing) for h in history if h["outcome"] == outcome), outcome
    assert {k: kinds[k] for k in ("started", "done", "aborted", "incident")} == {
        k: want[k] for k in ("started", "done", "aborted", "incident")}
    assert sum(1 for h in history if h["outcome"] == "timedout") == kinds["steptimedout"] >= 4
    assert kinds["stepfailed"] >= 4 and kinds["stepdone"] >= 10

    # what the events carry
    by_wfid: dict[int, dict] = {}
    for h in history:
        by_wfid.setdefault(h["wfid"], h)          # the step each row was handed out with
    for e in events:
        assert (e["realm"], e["slice"], e["app"]) == (flows.name, 1, "flows")
        if e["kind"] == "started":
            tasks = [(task, wfid) for item in e["tasks"] for task, wfid in item.items()]
            assert tasks and all(by_wfid[wfid]["step"] == task and by_wfid[wfid]["entityid"] == e["entityid"]
                                 for task, wfid in tasks)
            assert e["wfid"] is None and e["step"] is None
        elif e["kind"] in ("done", "aborted"):
            assert e["entityid"] and e["workflow"] and e["wfid"] is None and e["tasks"] is None
        elif e["kind"] == "incident":
            assert "neither done nor nextstep" in e["error"] and e["step"] in ("p2", "p3")
        else:
            assert e["wfid"] is not None and e["class"] == "case" and e["entityid"] == by_wfid[e["wfid"]]["entityid"]
    assert {e["workflow"] for e in events if e["kind"] == "aborted"} == {"par", "signing", "main"}
    assert [e["parent"] is not None for e in events if e["kind"] == "aborted" and e["workflow"] == "signing"] == [
        True, True]
