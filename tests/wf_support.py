"""Workflows for the instance tests, created through the HTTP calls (SPEC §4.3).

App `flows`, class `case` (steps below, plus `amount`), slice 1:
    seq      START -> a -> b -> done; a failed -> fix -> a
    par      START -> {p1, p2, p3} join j1 -> {q1, q2} join j2 -> z -> done; p1 failed -> fix
    wide     START -> {w1 .. w6} join j1 -> {q1, q2} join j2 ...   (a wide set for the races)
    main     START -> sign -> b -> done; step `sign` is carried out by workflow `signing`
    signing  START -> send -> done
    odd      START -> x; x gives nextstep and (amount > 100) also done; y matches nothing
    hidden   internal;  dormant: never activated
"""
from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

APP, CLS = "flows", "case"
STEPS = ["a", "b", "fix", "p1", "p2", "p3", "j1", "q1", "q2", "j2", "z", "sign", "send", "x", "y",
         "w1", "w2", "w3", "w4", "w5", "w6"]
WIDE = ["w1", "w2", "w3", "w4", "w5", "w6"]


def rule(step, tasks=(), nextstep=None, done=False, failed=None, more=()):
    pattern = [{"attr": "step", "op": "eq", "val": step}]
    if failed is not None:
        pattern.append({"attr": "stepfailed", "op": "eq", "val": failed})
    pattern.extend(more)
    props = {"done": "true"} if done else {"nextstep": nextstep or tasks[0]}
    return {"rulepattern": pattern, "ruleactions": {"tasks": list(tasks), "properties": props}}


WORKFLOWS = {
    "seq": [rule("START", ["a"]), rule("a", ["b"], failed=False), rule("a", ["fix"], failed=True),
            rule("fix", ["a"]), rule("b", done=True)],
    "par": [rule("START", ["p1", "p2", "p3"], "j1"), rule("p1", ["fix"], failed=True),
            rule("j1", ["q1", "q2"], "j2"), rule("j2", ["z"]), rule("z", done=True)],
    "wide": [rule("START", WIDE, "j1"), rule("j1", ["q1", "q2"], "j2"), rule("j2", ["z"]), rule("z", done=True)],
    "main": [rule("START", ["sign"]), rule("sign", ["b"]), rule("b", done=True)],
    "signing": [rule("START", ["send"]), rule("send", done=True)],
    "odd": [rule("START", ["x"]), rule("x", ["y"]),
            rule("x", done=True, more=[{"attr": "amount", "op": "gt", "val": 100}])],
    "hidden": [rule("START", ["a"]), rule("a", done=True)],
    "dormant": [rule("START", ["a"]), rule("a", done=True)],
}
INTERNAL = {"hidden"}
INACTIVE = {"dormant"}


def setup_flows(realm, slice_id: int = 1, app: str = APP, new_app: bool = True) -> None:
    """Create the app, the schema, every workflow (activated unless dormant) and the stepworkflow."""
    if new_app:
        realm.app_new(app)
    key = {"slice": slice_id, "app": app, "class": CLS}
    realm.ok("wfschemanew", {**key, "patternschema": [
        {"attr": "step", "valtype": "enum", "vals": ["START"] + STEPS},
        {"attr": "stepfailed", "valtype": "bool"},
        {"attr": "amount", "valtype": "float", "valmin": 0}],
        "actionschema": {"tasks": STEPS, "properties": ["nextstep", "done"]}})
    for name, rules in WORKFLOWS.items():
        realm.ok("workflownew", {**key, "name": name, "is_internal": name in INTERNAL, "flowrules": rules})
        if name not in INACTIVE:
            realm.ok("workflowactivate", {**key, "name": name})
    realm.ok("stepworkflownew", {"slice": slice_id, "app": app, "step": "sign", "workflow": "signing"})


@pytest.fixture
def flows(realm):
    """A realm with the workflows above (import this fixture into a test module to use it)."""
    setup_flows(realm)
    return realm


def race(realm, calls: list[tuple[str, dict]]) -> list[tuple[int, dict]]:
    """Make the calls (name, payload) at the same moment, each from its own thread and client;
    return (status, body) of each, in order."""
    gate = threading.Barrier(len(calls))
    token = realm.token()

    def one(call):
        name, payload = call
        client = realm.app.test_client()
        gate.wait()
        resp = client.post(f"/api/v1/{name}", json={"data": payload}, headers={"Authorization": f"Bearer {token}"})
        return resp.status_code, resp.get_json()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(one, calls))


def entity(amount=10) -> dict:
    return {"class": CLS, "amount": amount}


def start(realm, workflow: str, entityid: str, **extra) -> dict:
    return realm.ok("wfinstancenew", {"slice": 1, "app": APP, "workflow": workflow, "entityid": entityid,
                                      "entity": entity(), **extra})


def done(realm, row_id: int, step: str, **extra) -> dict:
    return realm.ok("wfinstancemarkdone", {"id": row_id, "step": step, "entity": entity(), **extra})


def ids_of(result: dict) -> dict[str, int]:
    """{task: id} from a result's `tasks` list."""
    return {k: v for item in result["tasks"] for k, v in item.items()}


def rows(realm, **filters) -> list[dict]:
    return realm.ok("wfinstancelist", filters)["wfinstances"]


def history(realm, **key) -> list[tuple]:
    """(wfid, step, outcome) of every history row, oldest first."""
    return [(h["wfid"], h["step"], h["outcome"]) for h in realm.ok("wfinstancehistory", key)["history"]]


def set_steps(realm, workflow: str, steps: dict, slice_id: int = 1, app: str = APP) -> None:
    """Give a workflow of the flows app step settings (SPEC §8.1): deactivate, update, activate."""
    key = {"slice": slice_id, "app": app, "class": CLS, "name": workflow}
    realm.ok("workflowdeactivate", key)
    realm.ok("workflowupdate", {**key, "flowrules": WORKFLOWS[workflow], "steps": steps})
    realm.ok("workflowactivate", key)


def attempts(realm, **key) -> list[tuple]:
    """(step, attempt, outcome) of every history row, oldest first."""
    return [(h["step"], h["attempt"], h["outcome"]) for h in realm.ok("wfinstancehistory", key)["history"]]


def row(realm, row_id: int) -> dict | None:
    """A row as wfinstancelist shows it (None once it is gone)."""
    return next((r for r in realm.ok("wfinstancelist", {})["wfinstances"] if r["id"] == row_id), None)


def poll(check, timeout: float = 15.0, every: float = 0.05, step=None):
    """Wait until check() gives something true (running step() before each look); return it."""
    deadline = time.monotonic() + timeout
    while True:
        if step is not None:
            step()
        found = check()
        if found:
            return found
        assert time.monotonic() < deadline, "the state did not come within the time"
        time.sleep(every)


def expire_until(realm, check, timeout: float = 15.0):
    """Sweep expiries in this process (as an engine does) until check() gives something true."""
    return poll(check, timeout, step=realm.crux.attempts.expire)


def claim(realm, worker: str, **more) -> list[dict]:
    return realm.ok("wfstepclaim", {"worker": worker, **more})["steps"]


def invariants(realm) -> None:
    """Every open row of the realm has exactly one open history row, at its step and attempt, and
    no history row is open without its row."""
    with realm.crux.db.connection() as conn:
        bad = conn.execute(
            """SELECT w.id, w.step, w.attempt, h.opened
               FROM wfinstance w
               LEFT JOIN LATERAL (SELECT array_agg(h.step || '/' || h.attempt) AS opened FROM wfhistory h
                                  WHERE h.realm = w.realm AND h.wfid = w.id AND h.closedat IS NULL) h ON true
               WHERE w.realm = %(realm)s
                 AND (w.doneat IS NULL AND coalesce(h.opened, '{}') <> ARRAY[w.step || '/' || w.attempt]
                      OR w.doneat IS NOT NULL AND h.opened IS NOT NULL)
               UNION ALL
               SELECT h.wfid, h.step, h.attempt, NULL FROM wfhistory h
               WHERE h.realm = %(realm)s AND h.closedat IS NULL
                 AND NOT EXISTS (SELECT 1 FROM wfinstance w WHERE w.realm = h.realm AND w.id = h.wfid)""",
            {"realm": realm.name}).fetchall()
    assert bad == [], bad
