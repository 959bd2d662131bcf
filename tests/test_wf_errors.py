"""Refusals of the instance calls (SPEC §5, §4.4): each names the field and leaves nothing behind."""
from __future__ import annotations

import pytest

from tests.conftest import error_of
from tests.wf_support import APP, entity, flows, ids_of, rows, setup_flows, start  # noqa: F401 (flows)


def _error(realm, call, payload, status):
    resp = realm.call(call, payload)
    assert resp.status_code == status, resp.get_json()
    return error_of(resp)


def _new(workflow="seq", entityid="e1", **extra):
    return {"slice": 1, "app": APP, "workflow": workflow, "entityid": entityid, "entity": entity(), **extra}


def test_unknown_id(flows, other_realm):
    msg = _error(flows, "wfinstancemarkdone", {"id": 999999, "step": "a", "entity": entity()}, 404)
    assert (msg["errcode"], msg["field"], msg["vals"]) == ("not_found", "id", [999999])
    # a row of another realm is not found either
    setup_flows(other_realm)
    foreign = ids_of(start(other_realm, "seq", "e1"))["a"]
    assert _error(flows, "wfinstancemarkdone", {"id": foreign, "step": "a", "entity": entity()}, 404)["field"] == "id"
    assert _error(flows, "wfinstanceabort", {"id": foreign}, 404)["field"] == "id"
    assert _error(flows, "wfinstancehistory", {"id": foreign}, 404)["field"] == "id"
    assert _error(flows, "wfinstanceabort", {"entityid": "nobody"}, 404)["field"] == "entityid"
    assert _error(flows, "wfinstancehistory", {"entityid": "nobody"}, 404)["field"] == "entityid"


def test_step_mismatch(flows):
    row_id = ids_of(start(flows, "seq", "e1"))["a"]
    msg = _error(flows, "wfinstancemarkdone", {"id": row_id, "step": "b", "entity": entity()}, 400)
    assert (msg["msgid"], msg["errcode"], msg["field"], msg["vals"]) == (1011, "step_not_found", "step", ["b", "a"])
    assert rows(flows, entityid="e1")[0]["step"] == "a"


def test_sibling_reported_twice(flows):
    ids = ids_of(start(flows, "par", "e1"))
    flows.ok("wfinstancemarkdone", {"id": ids["p1"], "step": "p1", "entity": entity()})
    msg = _error(flows, "wfinstancemarkdone", {"id": ids["p1"], "step": "p1", "entity": entity()}, 400)
    assert (msg["errcode"], msg["field"]) == ("not_allowed", "id")


@pytest.mark.parametrize("workflow, status, errcode", [
    ("hidden", 400, "not_allowed"), ("dormant", 400, "not_allowed"), ("nosuch", 404, "not_found")])
def test_internal_inactive_or_unknown_workflow(flows, workflow, status, errcode):
    msg = _error(flows, "wfinstancenew", _new(workflow), status)
    assert (msg["errcode"], msg["field"], msg["vals"]) == (errcode, "workflow", [workflow])


def test_workflow_deactivated_under_a_running_instance(flows):
    row_id = ids_of(start(flows, "signing", "e1"))["send"]
    flows.ok("workflowdeactivate", {"slice": 1, "app": APP, "class": "case", "name": "signing"})
    msg = _error(flows, "wfinstancemarkdone", {"id": row_id, "step": "send", "entity": entity()}, 400)
    assert (msg["errcode"], msg["field"]) == ("not_allowed", "workflow")


def test_inactive_slice(flows):
    row_id = ids_of(start(flows, "seq", "e1"))["a"]
    copy = flows.ok("realmslicenew", {"copyof": 1})
    msg = _error(flows, "wfinstancenew", {**_new(), "slice": copy}, 400)
    assert (msg["errcode"], msg["field"], msg["vals"]) == ("not_allowed", "slice", [copy])
    flows.ok("realmslicedeactivate", {"id": 1})
    msg = _error(flows, "wfinstancemarkdone", {"id": row_id, "step": "a", "entity": entity()}, 400)
    assert (msg["errcode"], msg["field"], msg["vals"]) == ("not_allowed", "slice", [1])
    assert _error(flows, "wfinstancenew", _new(entityid="e2"), 400)["field"] == "slice"
    assert rows(flows, entityid="e1")[0]["step"] == "a"
    assert _error(flows, "wfinstancenew", {**_new(), "slice": 77}, 404)["field"] == "slice"


def test_entity_not_matching_the_schema(flows):
    resp = flows.call("wfinstancenew", {**_new(), "entity": {"class": "case", "amount": "lots", "colour": "red"}})
    assert resp.status_code == 400
    found = {(m["errcode"], m["field"]) for m in resp.get_json()["messages"]}
    assert found == {("invalid", "entity.amount"), ("invalid", "entity.colour")}
    msg = _error(flows, "wfinstancenew", {**_new(), "entity": {"class": "case"}}, 400)
    assert (msg["errcode"], msg["field"]) == ("required", "entity.amount")
    msg = _error(flows, "wfinstancenew", {**_new(), "entity": {"class": "case", "amount": -1}}, 400)
    assert (msg["errcode"], msg["field"]) == ("invalid", "entity.amount")
    msg = _error(flows, "wfinstancenew", {**_new(), "entity": {"class": "order", "amount": 1}}, 400)
    assert (msg["errcode"], msg["field"]) == ("invalid", "entity.class")
    row_id = ids_of(start(flows, "seq", "e1"))["a"]
    msg = _error(flows, "wfinstancemarkdone", {"id": row_id, "step": "a", "entity": {"amount": True}}, 400)
    assert (msg["errcode"], msg["field"]) == ("invalid", "entity.amount")
    assert rows(flows, entityid="e1")[0]["step"] == "a"


def test_action_set_with_both_done_and_nextstep(flows):
    row_id = ids_of(start(flows, "odd", "e1"))["x"]
    payload = {"id": row_id, "step": "x", "entity": entity(amount=500)}
    msg = _error(flows, "wfinstancemarkdone", payload, 400)
    assert (msg["msgid"], msg["errcode"]) == (1003, "invalid_property_attributes")
    assert sorted(msg["vals"]) == ["done", "nextstep"]
    assert rows(flows, entityid="e1")[0]["step"] == "x"


def test_action_set_with_neither_done_nor_nextstep(flows):
    row_id = ids_of(start(flows, "odd", "e1"))["x"]
    assert flows.ok("wfinstancemarkdone", {"id": row_id, "step": "x", "entity": entity()})["tasks"] == [{"y": row_id}]
    msg = _error(flows, "wfinstancemarkdone", {"id": row_id, "step": "y", "entity": entity()}, 400)
    assert (msg["errcode"], msg["vals"]) == ("invalid_property_attributes", [])
    assert _error(flows, "wfinstancetry", {"slice": 1, "app": APP, "workflow": "odd", "step": "y",
                                          "entity": entity()}, 400)["errcode"] == "invalid_property_attributes"
    assert [h["outcome"] for h in flows.ok("wfinstancehistory", {"entityid": "e1"})["history"]] == ["done", None]


def test_second_start_of_an_open_instance(flows):
    start(flows, "seq", "e1")
    msg = _error(flows, "wfinstancenew", _new(), 400)
    assert (msg["msgid"], msg["errcode"], msg["field"], msg["vals"]) == (1008, "already_exist", "entityid", ["e1"])
    start(flows, "par", "e1")                                  # another workflow: fine
    assert len(rows(flows, entityid="e1")) == 4


def test_unknown_parent(flows):
    msg = _error(flows, "wfinstancenew", _new("signing", parent=987654), 404)
    assert (msg["errcode"], msg["field"]) == ("not_found", "parent")
    assert rows(flows, entityid="e1") == []


def test_payload_problems(flows):
    resp = flows.call("wfinstancenew", {"slice": "one", "app": APP, "entity": [], "trace": 3})
    fields = {m["field"] for m in resp.get_json()["messages"]}
    assert resp.status_code == 400 and {"slice", "entity", "trace", "workflow", "entityid"} <= fields
    for payload in ({}, {"id": 1, "entityid": "e1"}):
        for call in ("wfinstanceabort", "wfinstancehistory"):
            assert _error(flows, call, payload, 400)["errcode"] == "one_of_required"
    assert _error(flows, "wfinstancemarkdone", {"id": 1, "step": "a", "entity": entity(), "stepfailed": "yes"},
                  400)["field"] == "stepfailed"
    msg = _error(flows, "wfinstancetry", {"slice": 1, "app": APP, "workflow": "seq", "step": "nosuch",
                                         "entity": entity()}, 400)
    assert (msg["errcode"], msg["field"]) == ("invalid", "step")


def test_calls_need_a_token(flows):
    resp = flows.client.post("/api/v1/wfinstancelist", json={"data": {}})
    assert resp.status_code == 401


_MARK = {"id": 5, "step": "a", "entity": {"amount": 1}}
_NEW = {"slice": 1, "app": "Flows", "workflow": "seq", "entityid": "e1", "entity": {"amount": 1}}


@pytest.mark.parametrize("schema_name, payload", [
    ("MarkDone", _MARK), ("MarkDone", {**_MARK, "stepfailed": True, "trace": 2, "extra": "x"}),
    ("MarkDone", {**_MARK, "id": True}), ("MarkDone", {**_MARK, "id": 0}), ("MarkDone", {**_MARK, "id": "5"}),
    ("MarkDone", {**_MARK, "step": ""}), ("MarkDone", {**_MARK, "step": "s" * 65}), ("MarkDone", {**_MARK, "step": 3}),
    ("MarkDone", {**_MARK, "stepfailed": "true"}), ("MarkDone", {**_MARK, "trace": True}),
    ("MarkDone", {**_MARK, "trace": 3}), ("MarkDone", {**_MARK, "entity": []}), ("MarkDone", {"id": 5}),
    ("InstanceNew", _NEW), ("InstanceNew", {**_NEW, "parent": 7, "trace": 1}),
    ("InstanceNew", {**_NEW, "parent": None}), ("InstanceNew", {**_NEW, "parent": 0}),
    ("InstanceNew", {**_NEW, "app": "9x"}), ("InstanceNew", {**_NEW, "workflow": "Seq"}),
    ("InstanceNew", {**_NEW, "workflow": "seq\n"}), ("InstanceNew", {**_NEW, "entityid": ""}),
    ("InstanceNew", {**_NEW, "entityid": "e" * 257}), ("InstanceNew", {**_NEW, "entityid": 42}),
    ("InstanceNew", {**_NEW, "slice": 1.0}), ("InstanceNew", {k: v for k, v in _NEW.items() if k != "entity"}),
])
def test_hot_payload_check_agrees_with_marshmallow(schema_name, payload):
    """The hot calls' quick check of well-formed payloads gives marshmallow's result exactly."""
    from marshmallow import EXCLUDE, Schema, ValidationError

    from crux.api import instances
    schema = getattr(instances, schema_name)()

    def outcome(load):
        try:
            return load(payload, unknown=EXCLUDE)
        except ValidationError as exc:
            return ("error", exc.messages)
    assert outcome(schema.load) == outcome(lambda p, **kw: Schema.load(schema, p, **kw))
