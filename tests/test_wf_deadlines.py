"""Deadlines, attempts and incidents (SPEC §8.1-§8.3): step settings on workflows, expiry as an
engine sweeps it (run here in the test process; tests/test_wf_engines.py runs real engines),
wfstepfail and wfinstanceretry. Timers are seconds."""
from __future__ import annotations

import datetime as dt

from tests.conftest import error_of
from tests.wf_support import (  # noqa: F401
    APP,
    CLS,
    WORKFLOWS,
    attempts,
    claim,
    done,
    entity,
    expire_until,
    flows,
    ids_of,
    row,
    rows,
    set_steps,
    start,
)


def _at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


# ---- step settings ------------------------------------------------------------------------------

def test_step_settings_are_kept_answered_and_replaced(flows):
    key = {"slice": 1, "app": APP, "class": CLS, "name": "seq"}
    assert flows.ok("workflowget", key)["steps"] == {}
    steps = {"a": {"timeout": 30, "attempts": 3, "retrydelay": 5}, "b": {"attempts": 2}}
    set_steps(flows, "seq", steps)
    assert flows.ok("workflowget", key)["steps"] == steps
    flows.ok("workflowdeactivate", key)
    flows.ok("workflowupdate", {**key, "flowrules": WORKFLOWS["seq"]})      # absent: none
    assert flows.ok("workflowget", key)["steps"] == {}
    flows.ok("workflowupdate", {**key, "flowrules": WORKFLOWS["seq"], "steps": steps})
    copy = flows.ok("realmslicenew", {"copyof": 1})
    assert flows.ok("workflowget", {**key, "slice": copy})["steps"] == steps
    created = flows.ok("workflownew", {**key, "name": "seq2", "flowrules": WORKFLOWS["seq"], "steps": {"fix": {}}})
    assert created["steps"] == {"fix": {}}


BAD_STEPS = [
    ({"nosuch": {"timeout": 5}}, ["steps.nosuch"]),
    ({"START": {"timeout": 5}}, ["steps.START"]),
    ({"a": 5}, ["steps.a"]),
    ({"a": {"timeout": 0}}, ["steps.a.timeout"]),
    ({"a": {"timeout": 31_536_001}}, ["steps.a.timeout"]),
    ({"a": {"timeout": "5"}}, ["steps.a.timeout"]),
    ({"a": {"timeout": 5.5}}, ["steps.a.timeout"]),
    ({"a": {"attempts": 0}}, ["steps.a.attempts"]),
    ({"a": {"attempts": 101}}, ["steps.a.attempts"]),
    ({"a": {"attempts": True}}, ["steps.a.attempts"]),
    ({"a": {"retrydelay": -1}}, ["steps.a.retrydelay"]),
    ({"a": {"retrydelay": 86_401}}, ["steps.a.retrydelay"]),
    ({"a": {"timout": 5}}, ["steps.a.timout"]),
    ([{"a": {}}], ["steps"]),
    ("a", ["steps"]),
    ({"a": {"timeout": 0, "attempts": 0}, "zz": {}}, ["steps.a.timeout", "steps.a.attempts", "steps.zz"]),
]


def test_bad_step_settings_are_refused_at_their_path(flows):
    key = {"slice": 1, "app": APP, "class": CLS}
    for steps, fields in BAD_STEPS:
        for call, name in (("workflownew", "other"), ("workflowupdate", "dormant")):
            resp = flows.call(call, {**key, "name": name, "flowrules": WORKFLOWS["seq"], "steps": steps})
            assert resp.status_code == 400, (steps, resp.get_json())
            messages = resp.get_json()["messages"]
            assert [(m["errcode"], m["field"]) for m in messages] == [("invalid", f) for f in fields], steps


def test_rules_and_step_problems_are_reported_together(flows):
    bad_rules = [{"rulepattern": [{"attr": "step", "op": "eq", "val": "nosuch"}],
                  "ruleactions": {"tasks": [], "properties": {"done": "true"}}}]
    resp = flows.call("workflownew", {"slice": 1, "app": APP, "class": CLS, "name": "other", "flowrules": bad_rules,
                                      "steps": {"a": {"attempts": 0}}})
    assert [m["field"] for m in resp.get_json()["messages"]] == ["flowrules[0].rulepattern[0].val", "steps.a.attempts"]


def test_a_step_handed_out_gets_its_deadline(flows):
    set_steps(flows, "seq", {"b": {"timeout": 600, "attempts": 2}})
    first = start(flows, "seq", "e1")
    a = row(flows, ids_of(first)["a"])
    assert (a["attempt"], a["dueat"], a["notbefore"], a["incident"]) == (1, None, None, None)
    moved = done(flows, a["id"], "a")
    b = row(flows, a["id"])
    assert b["step"] == "b" and b["attempt"] == 1
    assert _at(b["dueat"]) - _at(moved["loggedat"]) == dt.timedelta(seconds=600)
    assert rows(flows, overdue=True) == [] and [r["id"] for r in rows(flows, overdue=False)] == [a["id"]]


# ---- expiry -------------------------------------------------------------------------------------

def test_timeout_with_two_attempts_then_the_remedial_step(flows):
    set_steps(flows, "seq", {"a": {"timeout": 1, "attempts": 2}})
    row_id = ids_of(start(flows, "seq", "e1"))["a"]
    expire_until(flows, lambda: row(flows, row_id)["attempt"] == 2)
    # attempt 2 on the same row: the first closed timedout, the second open
    assert attempts(flows, id=row_id) == [("a", 1, "timedout"), ("a", 2, None)]
    second = row(flows, row_id)
    assert second["step"] == "a" and second["dueat"] is not None and second["notbefore"] is None
    # the last attempt expires: the step fails through the rules (a failed -> fix), same row
    expire_until(flows, lambda: row(flows, row_id)["step"] == "fix")
    assert attempts(flows, id=row_id) == [("a", 1, "timedout"), ("a", 2, "timedout"), ("fix", 1, None)]
    fixed = row(flows, row_id)
    assert (fixed["attempt"], fixed["dueat"], fixed["incident"]) == (1, None, None)


def test_retrydelay_holds_a_retried_attempt_back_from_claims(flows):
    set_steps(flows, "seq", {"a": {"timeout": 1, "attempts": 3, "retrydelay": 2}})
    row_id = ids_of(start(flows, "seq", "e1"))["a"]
    [leased] = claim(flows, "w1")
    assert (leased["id"], leased["attempt"]) == (row_id, 1)
    expire_until(flows, lambda: row(flows, row_id)["attempt"] == 2)
    waiting = row(flows, row_id)
    assert waiting["leasedby"] is None and waiting["notbefore"] is not None
    assert _at(waiting["dueat"]) - _at(waiting["notbefore"]) == dt.timedelta(seconds=1)
    assert claim(flows, "w2") == []                         # not before notbefore
    [again] = claim(flows, "w2", wait=10)                  # answered once notbefore has passed
    assert (again["id"], again["attempt"]) == (row_id, 2)
    assert dt.datetime.now(dt.UTC) >= _at(waiting["notbefore"])
    history = flows.ok("wfinstancehistory", {"id": row_id})["history"]
    assert [(h["attempt"], h["outcome"], h["worker"]) for h in history] == [(1, "timedout", "w1"), (2, None, None)]


def test_failed_sibling_after_expiry_stays_in_its_set(flows):
    set_steps(flows, "par", {"p1": {"timeout": 1}})
    ids = ids_of(start(flows, "par", "e1"))
    expire_until(flows, lambda: row(flows, ids["p1"])["step"] == "fix")
    assert row(flows, ids["p1"])["nextstep"] == "j1"        # still joined at j1
    done(flows, ids["p2"], "p2")
    done(flows, ids["p3"], "p3")
    assert list(ids_of(done(flows, ids["p1"], "fix"))) == ["q1", "q2"]


def _incident(realm, entityid: str) -> dict:
    """A par instance whose p2 expired with no rule for a failed p2: an incident."""
    set_steps(realm, "par", {"p2": {"timeout": 1}})
    ids = ids_of(start(realm, "par", entityid))
    return {**ids, "row": expire_until(realm, lambda: (r := row(realm, ids["p2"]))["incident"] and r)}


def test_incident_when_the_rules_have_no_route_then_retry(flows):
    inc = _incident(flows, "e1")
    p2 = inc["row"]
    assert "neither done nor nextstep" in p2["incident"]
    assert (p2["attempt"], p2["dueat"], p2["leasedby"]) == (2, None, None)
    assert attempts(flows, id=p2["id"]) == [("p2", 1, "timedout"), ("p2", 2, None)]
    assert [r["id"] for r in rows(flows, incident=True)] == [p2["id"]]
    assert p2["id"] not in [r["id"] for r in rows(flows, incident=False)]
    assert claim(flows, "w1", steps=["p2"]) == []           # an incident waits for someone to act
    retried = flows.ok("wfinstanceretry", {"id": p2["id"]})
    assert (retried["incident"], retried["attempt"]) == (None, 2) and retried["dueat"] is not None
    [leased] = claim(flows, "w1", steps=["p2"])
    assert (leased["id"], leased["attempt"]) == (p2["id"], 2)
    assert attempts(flows, id=p2["id"]) == [("p2", 1, "timedout"), ("p2", 2, None)]


def test_markdone_and_abort_work_on_an_incident(flows):
    first = _incident(flows, "e1")["row"]
    assert set(done(flows, first["id"], "p2")) == {"id", "doneat"}
    assert attempts(flows, id=first["id"]) == [("p2", 1, "timedout"), ("p2", 2, "done")]
    assert row(flows, first["id"])["incident"] is None
    second = _incident(flows, "e2")
    assert sorted(flows.ok("wfinstanceabort", {"id": second["row"]["id"]})["aborted"]) == sorted(
        [second["p1"], second["p2"], second["p3"]])
    assert attempts(flows, id=second["p2"]) == [("p2", 1, "timedout"), ("p2", 2, "aborted")]


def test_expiry_of_a_lone_row_ending_its_instance(flows):
    set_steps(flows, "seq", {"b": {"timeout": 1}})
    row_id = ids_of(start(flows, "seq", "e1"))["a"]
    done(flows, row_id, "a")
    expire_until(flows, lambda: row(flows, row_id) is None)     # b failed -> the rule for b: done
    assert attempts(flows, entityid="e1") == [("a", 1, "done"), ("b", 1, "timedout")]


def test_expiry_uses_the_entity_of_the_last_report(flows):
    set_steps(flows, "odd", {"y": {"timeout": 1}})
    row_id = ids_of(start(flows, "odd", "e1"))["x"]
    flows.ok("wfinstancemarkdone", {"id": row_id, "step": "x", "entity": entity(amount=50)})
    # y failed matches no rule whatever the amount: an incident, evaluated on the stored entity
    incident = expire_until(flows, lambda: row(flows, row_id)["incident"])
    assert "neither done nor nextstep" in incident


# ---- wfstepfail and wfinstanceretry -------------------------------------------------------------

def test_stepfail_starts_the_next_attempt_while_attempts_are_left(flows):
    set_steps(flows, "seq", {"a": {"attempts": 2, "retrydelay": 1}})
    row_id = ids_of(start(flows, "seq", "e1"))["a"]
    [leased] = claim(flows, "w1")
    answer = flows.ok("wfstepfail", {"id": row_id, "worker": "w1", "error": "no answer from the bureau"})
    assert (answer["id"], answer["attempt"]) == (row_id, 2) and answer["notbefore"] is not None
    history = flows.ok("wfinstancehistory", {"id": row_id})["history"]
    assert [(h["attempt"], h["outcome"], h["worker"], h["error"]) for h in history] == [
        (1, "failed", "w1", "no answer from the bureau"), (2, None, None, None)]
    # the last attempt fails: the step fails through the rules (a failed -> fix), answered as markdone
    failed = flows.ok("wfstepfail", {"id": row_id, "error": "again"})
    assert failed["tasks"] == [{"fix": row_id}]
    assert attempts(flows, id=row_id) == [("a", 1, "failed"), ("a", 2, "failed"), ("fix", 1, None)]


def test_stepfail_without_retry_and_into_an_incident(flows):
    set_steps(flows, "seq", {"a": {"attempts": 5}})
    row_id = ids_of(start(flows, "seq", "e1"))["a"]
    assert flows.ok("wfstepfail", {"id": row_id, "error": "fatal", "retry": False})["tasks"] == [{"fix": row_id}]
    ids = ids_of(start(flows, "par", "e2"))
    as_listed = flows.ok("wfstepfail", {"id": ids["p2"], "error": "broken"})       # no rule for p2 failed
    assert as_listed["id"] == ids["p2"] and as_listed["attempt"] == 2 and "neither" in as_listed["incident"]
    history = flows.ok("wfinstancehistory", {"id": ids["p2"]})["history"]
    assert [(h["attempt"], h["outcome"], h["error"]) for h in history] == [(1, "failed", "broken"), (2, None, None)]


def test_stepfail_and_retry_refusals(flows):
    ids = ids_of(start(flows, "par", "e1"))
    claim(flows, "w1", steps=["p1"])
    resp = flows.call("wfstepfail", {"id": ids["p1"], "worker": "w2", "error": "x"})
    assert (resp.status_code, error_of(resp)["errcode"], error_of(resp)["field"]) == (400, "not_allowed", "worker")
    resp = flows.call("wfstepfail", {"id": ids["p1"], "error": "x"})
    assert error_of(resp)["field"] == "worker"
    done(flows, ids["p2"], "p2")
    for call, payload in (("wfstepfail", {"id": ids["p2"], "error": "x"}), ("wfinstanceretry", {"id": ids["p2"]})):
        resp = flows.call(call, payload)
        assert (error_of(resp)["errcode"], error_of(resp)["field"]) == ("not_allowed", "id")
        resp = flows.call(call, {**payload, "id": 999_999_999})
        assert (resp.status_code, error_of(resp)["field"]) == (404, "id")
    assert attempts(flows, id=ids["p1"]) == [("p1", 1, None)]


def test_retry_of_an_open_step_starts_the_next_attempt_whatever_attempts_says(flows):
    row_id = ids_of(start(flows, "seq", "e1"))["a"]
    claim(flows, "w1")
    retried = flows.ok("wfinstanceretry", {"id": row_id})
    assert (retried["attempt"], retried["leasedby"], retried["incident"]) == (2, None, None)
    history = flows.ok("wfinstancehistory", {"id": row_id})["history"]
    assert [(h["attempt"], h["outcome"], h["error"]) for h in history] == [(1, "failed", "retried"), (2, None, None)]
    # a report without an attempt completes the current one
    assert done(flows, row_id, "a")["tasks"] == [{"b": row_id}]
    assert attempts(flows, id=row_id) == [("a", 1, "failed"), ("a", 2, "done"), ("b", 1, None)]
