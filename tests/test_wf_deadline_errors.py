"""Every field and call of SPEC §8 refuses bad input with a 400 envelope at its JSON path:
`invalid` for a value out of range or of the wrong type, `required` for a missing one.
(Step settings on workflows: tests/test_wf_deadlines.py.)"""
from __future__ import annotations

import pytest

from tests.wf_support import entity, flows, ids_of, start  # noqa: F401 (flows)

W = {"worker": "w1"}
CASES = [
    # wfstepclaim
    ("wfstepclaim", {}, "required", "worker"),
    ("wfstepclaim", {"worker": ""}, "invalid", "worker"),
    ("wfstepclaim", {"worker": "x" * 201}, "invalid", "worker"),
    ("wfstepclaim", {"worker": "bad\nname"}, "invalid", "worker"),
    ("wfstepclaim", {"worker": "tab\there"}, "invalid", "worker"),
    ("wfstepclaim", {"worker": 7}, "invalid", "worker"),
    ("wfstepclaim", {**W, "steps": "a"}, "invalid", "steps"),
    ("wfstepclaim", {**W, "steps": []}, "invalid", "steps"),
    ("wfstepclaim", {**W, "steps": ["a", 5]}, "invalid", "steps[1]"),
    ("wfstepclaim", {**W, "steps": ["x" * 65]}, "invalid", "steps[0]"),
    ("wfstepclaim", {**W, "app": "Not An App!"}, "invalid", "app"),
    ("wfstepclaim", {**W, "workflow": 3}, "invalid", "workflow"),
    ("wfstepclaim", {**W, "slice": 0}, "invalid", "slice"),
    ("wfstepclaim", {**W, "slice": "1"}, "invalid", "slice"),
    ("wfstepclaim", {**W, "max": 0}, "invalid", "max"),
    ("wfstepclaim", {**W, "max": 101}, "invalid", "max"),
    ("wfstepclaim", {**W, "max": 1.5}, "invalid", "max"),
    ("wfstepclaim", {**W, "max": True}, "invalid", "max"),
    ("wfstepclaim", {**W, "lease": 0}, "invalid", "lease"),
    ("wfstepclaim", {**W, "lease": 86_401}, "invalid", "lease"),
    ("wfstepclaim", {**W, "lease": "60"}, "invalid", "lease"),
    ("wfstepclaim", {**W, "wait": -1}, "invalid", "wait"),
    ("wfstepclaim", {**W, "wait": 31}, "invalid", "wait"),
    ("wfstepclaim", {**W, "wait": "5"}, "invalid", "wait"),
    # wfstepheartbeat
    ("wfstepheartbeat", {**W}, "required", "id"),
    ("wfstepheartbeat", {"id": 1}, "required", "worker"),
    ("wfstepheartbeat", {"id": 0, **W}, "invalid", "id"),
    ("wfstepheartbeat", {"id": "1", **W}, "invalid", "id"),
    ("wfstepheartbeat", {"id": 1, "worker": "\x7f"}, "invalid", "worker"),
    ("wfstepheartbeat", {"id": 1, **W, "lease": 0}, "invalid", "lease"),
    # wfstepfail
    ("wfstepfail", {"id": 1}, "required", "error"),
    ("wfstepfail", {"error": "x"}, "required", "id"),
    ("wfstepfail", {"id": -3, "error": "x"}, "invalid", "id"),
    ("wfstepfail", {"id": 1, "error": "x" * 4001}, "invalid", "error"),
    ("wfstepfail", {"id": 1, "error": 5}, "invalid", "error"),
    ("wfstepfail", {"id": 1, "error": "x", "worker": ""}, "invalid", "worker"),
    ("wfstepfail", {"id": 1, "error": "x", "retry": "yes"}, "invalid", "retry"),
    # wfinstanceretry
    ("wfinstanceretry", {}, "required", "id"),
    ("wfinstanceretry", {"id": 2**63}, "invalid", "id"),
    ("wfinstanceretry", {"id": True}, "invalid", "id"),
    # wfinstancemarkdone's worker and attempt
    ("wfinstancemarkdone", {"id": 1, "step": "a", "entity": {}, "worker": ""}, "invalid", "worker"),
    ("wfinstancemarkdone", {"id": 1, "step": "a", "entity": {}, "worker": "a\x00b"}, "invalid", "worker"),
    ("wfinstancemarkdone", {"id": 1, "step": "a", "entity": {}, "attempt": 0}, "invalid", "attempt"),
    ("wfinstancemarkdone", {"id": 1, "step": "a", "entity": {}, "attempt": "1"}, "invalid", "attempt"),
    ("wfinstancemarkdone", {"id": 1, "step": "a", "entity": {}, "attempt": True}, "invalid", "attempt"),
    # wfinstancelist's filters
    ("wfinstancelist", {"incident": "yes"}, "invalid", "incident"),
    ("wfinstancelist", {"overdue": 1}, "invalid", "overdue"),
]


@pytest.mark.parametrize("call, payload, errcode, field", CASES,
                         ids=[f"{c}-{f}-{i}" for i, (c, _, _, f) in enumerate(CASES)])
def test_bad_input_is_a_400_at_its_field(realm, call, payload, errcode, field):
    resp = realm.call(call, payload)
    assert resp.status_code == 400, resp.get_json()
    body = resp.get_json()
    assert body["status"] == "error" and body["data"] is None
    assert [(m["errcode"], m["field"]) for m in body["messages"]] == [(errcode, field)]
    assert body["messages"][0]["msgid"] == {"invalid": 1003, "required": 101}[errcode]


def test_every_problem_is_reported_at_once(realm):
    resp = realm.call("wfstepclaim", {"worker": "", "max": 0, "wait": 99, "steps": []})
    assert sorted(m["field"] for m in resp.get_json()["messages"]) == ["max", "steps", "wait", "worker"]


def test_good_input_at_the_edges_is_taken(flows):
    row_id = ids_of(start(flows, "seq", "e1"))["a"]
    [leased] = flows.ok("wfstepclaim", {"worker": "x" * 200, "max": 100, "lease": 86_400, "wait": 0,
                                        "steps": ["a"], "app": "FLOWS", "slice": 1})["steps"]
    assert leased["id"] == row_id
    assert flows.ok("wfstepheartbeat", {"id": row_id, "worker": "x" * 200, "lease": 1})["id"] == row_id
    assert flows.ok("wfstepfail", {"id": row_id, "worker": "x" * 200, "error": "e" * 4000, "retry": False})["tasks"]
    assert flows.ok("wfinstancelist", {"incident": False, "overdue": False})["wfinstances"]
    assert flows.ok("wfstepclaim", {"worker": "w", "wait": 0.2, "steps": ["b"]}) == {"steps": []}
