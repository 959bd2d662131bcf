"""Workflow instances through the HTTP API (SPEC §5): runs to done, failure routes, joins,
sub-workflows, abort, list, dry runs and history."""
from __future__ import annotations

import pytest

from tests.conftest import error_of
from tests.wf_support import APP, done, entity, flows, history, ids_of, rows, start  # noqa: F401 (flows)


def _counts(conn, realm) -> tuple[int, int]:
    return tuple(conn.execute(f"SELECT count(*) AS n FROM {t} WHERE realm = %s", (realm.name,)).fetchone()["n"]
                 for t in ("wfinstance", "wfhistory"))


def test_sequential_run_to_done(flows):
    first = start(flows, "seq", "e1")
    assert list(first) == ["tasks", "loggedat"] and first["loggedat"].endswith("Z")
    row_id = ids_of(first)["a"]
    assert isinstance(row_id, int)
    [row] = rows(flows, entityid="e1")
    assert row == {"id": row_id, "entityid": "e1", "slice": 1, "app": APP, "class": "case", "workflow": "seq",
                   "step": "a", "loggedat": first["loggedat"], "doneat": None, "nextstep": "a", "parent": None,
                   "attempt": 1, "dueat": None, "notbefore": None, "leasedby": None, "leaseuntil": None,
                   "incident": None}

    second = done(flows, row_id, "a")
    assert second["tasks"] == [{"b": row_id}]          # one task: the row is updated in place
    assert "nextstep" not in second and "subflows" not in second
    assert [(r["id"], r["step"], r["nextstep"]) for r in rows(flows, entityid="e1")] == [(row_id, "b", "b")]

    assert done(flows, row_id, "b") == {"done": True}
    assert rows(flows, entityid="e1") == []
    assert history(flows, entityid="e1") == [(row_id, "a", "done"), (row_id, "b", "done")]


def test_failed_step_goes_to_remedial_step(flows):
    row_id = ids_of(start(flows, "seq", "e1"))["a"]
    assert done(flows, row_id, "a", stepfailed=True)["tasks"] == [{"fix": row_id}]
    assert done(flows, row_id, "fix")["tasks"] == [{"a": row_id}]
    assert done(flows, row_id, "a")["tasks"] == [{"b": row_id}]
    assert done(flows, row_id, "b") == {"done": True}
    assert history(flows, entityid="e1") == [(row_id, "a", "failed"), (row_id, "fix", "done"),
                                             (row_id, "a", "done"), (row_id, "b", "done")]


def test_join_happens_only_after_the_last_sibling(flows):
    first = start(flows, "par", "e1")
    assert first["nextstep"] == "j1"
    ids = ids_of(first)
    assert list(ids) == ["p1", "p2", "p3"]
    assert [(r["step"], r["nextstep"]) for r in rows(flows, entityid="e1")] == [("p1", "j1"), ("p2", "j1"),
                                                                                ("p3", "j1")]

    r2 = done(flows, ids["p2"], "p2")
    assert r2 == {"id": ids["p2"], "doneat": r2["doneat"]} and r2["doneat"].endswith("Z")
    r1 = done(flows, ids["p1"], "p1")
    assert set(r1) == {"id", "doneat"}
    listed = {r["step"]: r["doneat"] for r in rows(flows, entityid="e1")}
    assert listed["p2"] == r2["doneat"] and listed["p1"] == r1["doneat"] and listed["p3"] is None

    joined = done(flows, ids["p3"], "p3")           # the last one: evaluated at j1
    assert joined["nextstep"] == "j2" and list(ids_of(joined)) == ["q1", "q2"]
    assert not set(ids_of(joined).values()) & set(ids.values())
    assert [(r["step"], r["nextstep"], r["doneat"]) for r in rows(flows, entityid="e1")] == [
        ("q1", "j2", None), ("q2", "j2", None)]
    # the siblings' history closed as each was reported
    assert [h[1:] for h in history(flows, entityid="e1")] == [
        ("p1", "done"), ("p2", "done"), ("p3", "done"), ("q1", None), ("q2", None)]


def test_concurrent_set_followed_by_another_then_a_single_step(flows):
    ids = ids_of(start(flows, "par", "e1"))
    for step in ("p1", "p2"):
        done(flows, ids[step], step)
    second = ids_of(done(flows, ids["p3"], "p3"))
    assert set(done(flows, second["q2"], "q2")) == {"id", "doneat"}
    last = done(flows, second["q1"], "q1")
    # one task after a join: the set's lowest id is updated in place, the others deleted
    assert last["tasks"] == [{"z": min(second.values())}] and "nextstep" not in last
    assert [(r["id"], r["step"], r["nextstep"]) for r in rows(flows, entityid="e1")] == [
        (min(second.values()), "z", "z")]
    assert done(flows, min(second.values()), "z") == {"done": True}
    assert [h[1:] for h in history(flows, entityid="e1")] == [
        ("p1", "done"), ("p2", "done"), ("p3", "done"), ("q1", "done"), ("q2", "done"), ("z", "done")]


def test_failed_sibling_replacement_stays_in_the_set(flows):
    ids = ids_of(start(flows, "par", "e1"))
    assert done(flows, ids["p1"], "p1", stepfailed=True)["tasks"] == [{"fix": ids["p1"]}]
    by_step = {r["step"]: r for r in rows(flows, entityid="e1")}
    assert by_step["fix"]["nextstep"] == "j1"       # still joined at j1
    done(flows, ids["p2"], "p2")
    assert set(done(flows, ids["p3"], "p3")) == {"id", "doneat"}   # fix is still open: no join
    joined = done(flows, ids["p1"], "fix")
    assert list(ids_of(joined)) == ["q1", "q2"] and joined["nextstep"] == "j2"
    assert [h[1:] for h in history(flows, entityid="e1")] == [
        ("p1", "failed"), ("p2", "done"), ("p3", "done"), ("fix", "done"), ("q1", None), ("q2", None)]


def test_sub_workflow_started_with_parent_then_parent_step_done(flows):
    first = start(flows, "main", "e1")
    assert first["subflows"] == {"sign": "signing"}
    sign_id = ids_of(first)["sign"]
    child = start(flows, "signing", "e1", parent=sign_id)
    send_id = ids_of(child)["send"]
    assert [(r["workflow"], r["parent"]) for r in rows(flows, parent=sign_id)] == [("signing", sign_id)]
    assert done(flows, send_id, "send") == {"done": True, "parent": sign_id}
    assert done(flows, sign_id, "sign")["tasks"] == [{"b": sign_id}]
    assert done(flows, sign_id, "b") == {"done": True}
    assert history(flows, entityid="e1") == [(sign_id, "sign", "done"), (send_id, "send", "done"),
                                             (sign_id, "b", "done")]
    assert [h["parent"] for h in flows.ok("wfinstancehistory", {"id": send_id})["history"]] == [sign_id]


@pytest.mark.parametrize("way", ["hinted", "locked"])
def test_a_step_ending_first_aborts_its_open_sub_workflows(flows, way):
    """A step's sub-workflows end with it: reporting the parent step while its sub-workflow (and
    that one's own) is still open aborts them, and nothing else."""
    sign_id = ids_of(start(flows, "main", "e1"))["sign"]
    send_id = ids_of(start(flows, "signing", "e1", parent=sign_id))["send"]
    deeper = ids_of(start(flows, "seq", "e1", parent=send_id))["a"]
    other_sign = ids_of(start(flows, "main", "e2"))["sign"]
    other_send = ids_of(start(flows, "signing", "e2", parent=other_sign))["send"]
    if way == "locked":
        flows.crux.instances.forget()
    assert done(flows, sign_id, "sign")["tasks"] == [{"b": sign_id}]
    assert [(r["id"], r["step"]) for r in rows(flows, entityid="e1")] == [(sign_id, "b")]
    assert history(flows, entityid="e1") == [(sign_id, "sign", "done"), (send_id, "send", "aborted"),
                                             (deeper, "a", "aborted"), (sign_id, "b", None)]
    assert [r["id"] for r in rows(flows, entityid="e2")] == [other_sign, other_send]
    assert flows.call("wfinstancemarkdone", {"id": send_id, "step": "send", "entity": entity()}).status_code == 404


def test_sub_workflows_end_with_a_sibling_step_and_with_the_instance(flows):
    ids = ids_of(start(flows, "par", "e1"))
    child = ids_of(start(flows, "signing", "e1", parent=ids["p2"]))["send"]
    assert set(done(flows, ids["p2"], "p2")) == {"id", "doneat"}      # siblings still open
    assert [r["id"] for r in rows(flows, entityid="e1")] == [ids["p1"], ids["p2"], ids["p3"]]
    assert history(flows, id=child) == [(child, "send", "aborted")]
    a = ids_of(start(flows, "seq", "e2"))["a"]
    b = ids_of(done(flows, a, "a"))["b"]
    child = ids_of(start(flows, "signing", "e2", parent=b))["send"]
    assert done(flows, b, "b") == {"done": True}
    assert rows(flows, entityid="e2") == []
    assert history(flows, id=child) == [(child, "send", "aborted")]


def _two_entities_with_sub_workflows(realm):
    out = {}
    for ent in ("e1", "e2"):
        sign_id = ids_of(start(realm, "main", ent))["sign"]
        child = ids_of(start(realm, "signing", ent, parent=sign_id))["send"]
        out[ent] = (sign_id, child)
    out["other"] = ids_of(start(realm, "seq", "e1"))["a"]
    return out


def test_abort_of_a_parent_removes_its_sub_workflows_and_nothing_else(flows):
    made = _two_entities_with_sub_workflows(flows)
    sign_id, send_id = made["e1"]
    assert flows.ok("wfinstanceabort", {"id": sign_id}) == {"aborted": [sign_id, send_id]}
    left = {(r["entityid"], r["workflow"]) for r in rows(flows)}
    assert left == {("e2", "main"), ("e2", "signing"), ("e1", "seq")}
    assert history(flows, entityid="e1") == [(sign_id, "sign", "aborted"), (send_id, "send", "aborted"),
                                             (made["other"], "a", None)]
    assert flows.call("wfinstanceabort", {"id": sign_id}).status_code == 404


def test_abort_by_entityid_removes_all_its_instances(flows):
    made = _two_entities_with_sub_workflows(flows)
    aborted = flows.ok("wfinstanceabort", {"entityid": "e1"})["aborted"]
    assert aborted == sorted([*made["e1"], made["other"]])
    assert {r["entityid"] for r in rows(flows)} == {"e2"}


def test_abort_from_a_sub_workflow_row_leaves_the_parent(flows):
    made = _two_entities_with_sub_workflows(flows)
    sign_id, send_id = made["e1"]
    assert flows.ok("wfinstanceabort", {"id": send_id}) == {"aborted": [send_id]}
    assert [r["id"] for r in rows(flows, entityid="e1", workflow="main")] == [sign_id]


def test_list_returns_descendants(flows):
    made = _two_entities_with_sub_workflows(flows)
    sign_id, send_id = made["e1"]
    listed = rows(flows, workflow="main", entityid="e1")
    assert [(r["id"], r["workflow"], r["parent"]) for r in listed] == [(sign_id, "main", None),
                                                                       (send_id, "signing", sign_id)]
    assert [r["id"] for r in rows(flows, parent=sign_id)] == [send_id]
    assert len(rows(flows, slice=1, app=APP)) == 5
    assert rows(flows, workflow="par") == [] and rows(flows, entityid="nobody") == []
    assert rows(flows, slice=9) == []


def test_list_in_pages(flows):
    _two_entities_with_sub_workflows(flows)
    ids_of(start(flows, "par", "e3"))
    everything = [r["id"] for r in rows(flows)]
    assert len(everything) == 8
    pages, after = [], None
    while True:
        got = flows.ok("wfinstancelist", {"limit": 3, **({"after": after} if after else {})})
        pages.append([r["id"] for r in got["wfinstances"]])
        after = got.get("next")
        if after is None:
            break
        assert after == pages[-1][-1]
    assert pages == [everything[0:3], everything[3:6], everything[6:8]]
    # an exact fit has no next page; the filters and descendants hold within pages
    assert "next" not in flows.ok("wfinstancelist", {"limit": 8})
    page = flows.ok("wfinstancelist", {"entityid": "e1", "workflow": "main", "limit": 1})
    assert [r["workflow"] for r in page["wfinstances"]] == ["main"]
    rest = flows.ok("wfinstancelist", {"entityid": "e1", "workflow": "main", "after": page["next"]})
    assert [r["workflow"] for r in rest["wfinstances"]] == ["signing"] and "next" not in rest
    for bad, code in (({"limit": 0}, "too_small"), ({"limit": 10_001}, "too_large"), ({"after": "x"}, "invalid")):
        resp = flows.call("wfinstancelist", bad)
        assert resp.status_code == 400 and error_of(resp)["errcode"] == code, resp.get_json()


def test_try_writes_nothing(flows, conn):
    ids_of(start(flows, "par", "e1"))
    before = _counts(conn, flows)
    key = {"slice": 1, "app": APP, "entity": entity()}
    assert flows.ok("wfinstancetry", {**key, "workflow": "par", "step": "START"}) == {
        "tasks": ["p1", "p2", "p3"], "nextstep": "j1"}
    assert flows.ok("wfinstancetry", {**key, "workflow": "seq", "step": "a", "stepfailed": True}) == {"tasks": ["fix"]}
    assert flows.ok("wfinstancetry", {**key, "workflow": "main", "step": "START"}) == {
        "tasks": ["sign"], "subflows": {"sign": "signing"}}
    assert flows.ok("wfinstancetry", {**key, "workflow": "seq", "step": "b"}) == {"done": True}
    traced = flows.ok("wfinstancetry", {**key, "workflow": "seq", "step": "a", "trace": 2})
    assert traced["tracedata"]["entryruleset"] == "seq" and traced["tracedata"]["visits"]
    assert _counts(conn, flows) == before


def test_try_works_on_an_inactive_slice(flows):
    new_slice = flows.ok("realmslicenew", {"copyof": 1, "descr": "next"})
    assert not [s for s in flows.ok("realmslicelist")["slices"] if s["id"] == new_slice][0]["active"]
    got = flows.ok("wfinstancetry", {"slice": new_slice, "app": APP, "entity": entity(), "workflow": "seq",
                                     "step": "START"})
    assert got == {"tasks": ["a"]}


def test_trace_levels_are_returned_as_tracedata(flows):
    plain = start(flows, "seq", "e1")
    assert "tracedata" not in plain
    traced = done(flows, ids_of(plain)["a"], "a", trace=1)
    data = traced["tracedata"]
    assert {"start", "end", "realm", "app", "slice", "class", "entryruleset", "visits"} <= set(data)
    assert data["realm"] == flows.name and data["class"] == "case" and data["entryruleset"] == "seq"
    assert "terms" not in data["visits"][0]["rules"][0]
    deep = start(flows, "par", "e2", trace=2)
    assert "terms" in deep["tracedata"]["visits"][0]["rules"][0]
    finished = done(flows, ids_of(plain)["a"], "b", trace=1)
    assert finished["done"] is True and "tracedata" in finished


def test_history_shows_every_step_with_outcomes_after_done(flows):
    ids = ids_of(start(flows, "par", "e1"))
    done(flows, ids["p1"], "p1", stepfailed=True)
    for step in ("p2", "p3"):
        done(flows, ids[step], step)
    q = ids_of(done(flows, ids["p1"], "fix"))
    done(flows, q["q1"], "q1")
    z = ids_of(done(flows, q["q2"], "q2"))["z"]
    assert done(flows, z, "z") == {"done": True}
    assert rows(flows, entityid="e1") == []
    full = flows.ok("wfinstancehistory", {"entityid": "e1"})["history"]
    assert [(h["step"], h["outcome"]) for h in full] == [
        ("p1", "failed"), ("p2", "done"), ("p3", "done"), ("fix", "done"), ("q1", "done"), ("q2", "done"),
        ("z", "done")]
    assert all(h["closedat"] >= h["loggedat"] and h["workflow"] == "par" for h in full)
    assert set(full[0]) == {"wfid", "entityid", "slice", "app", "class", "workflow", "step", "parent",
                            "loggedat", "closedat", "outcome", "attempt", "worker", "error"}
    # a second run of the same workflow is a new instance; its history follows the first
    again = ids_of(start(flows, "par", "e1"))
    assert len(flows.ok("wfinstancehistory", {"entityid": "e1", "workflow": "par"})["history"]) == 10
    assert flows.ok("wfinstancehistory", {"id": again["p1"]})["history"][0]["outcome"] is None
    assert flows.call("wfinstancehistory", {"entityid": "e1", "workflow": "seq"}).status_code == 404


def test_done_at_start_stores_nothing(flows, conn):
    flows.ok("workflownew", {"slice": 1, "app": APP, "class": "case", "name": "instant",
                             "flowrules": [{"rulepattern": [{"attr": "step", "op": "eq", "val": "START"}],
                                            "ruleactions": {"tasks": [], "properties": {"done": "true"}}}]})
    flows.ok("workflowactivate", {"slice": 1, "app": APP, "class": "case", "name": "instant"})
    before = _counts(conn, flows)
    assert start(flows, "instant", "e1") == {"done": True}
    assert _counts(conn, flows) == before


def test_mixed_case_call_and_client_step_values_ignored(flows):
    resp = flows.call("wFinstanceNew", {"slice": 1, "app": "FLOWS", "workflow": "seq", "entityid": "e9",
                                        "entity": {"class": "case", "amount": "12.5", "step": "b", "stepfailed": "x"}})
    assert resp.status_code == 200
    assert list(ids_of(resp.get_json()["data"])) == ["a"]   # evaluated at START whatever step was sent
    assert rows(flows, entityid="e9")[0]["app"] == APP
