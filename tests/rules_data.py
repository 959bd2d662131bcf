"""Sample schemas, rulesets and workflows for the rules and workflow-definition tests."""
from __future__ import annotations

import copy
import json
import threading
import time
import uuid

import psycopg

from crux.store.notify import CHANNEL

ORDER_SCHEMA = {
    "patternschema": [
        {"attr": "amount", "valtype": "float", "valmin": 0},
        {"attr": "channel", "valtype": "enum", "vals": ["web", "store"]},
        {"attr": "member", "valtype": "bool"},
        {"attr": "placed", "valtype": "ts"}],
    "actionschema": {"tasks": ["freeship", "review"], "properties": ["discount"]},
}

ORDER = {"amount": "120.5", "channel": "web", "member": True, "placed": "2026-01-31T10:00:00Z"}


def rule(pattern, tasks=(), properties=None, **actions) -> dict:
    return {"rulepattern": [{"attr": a, "op": o, "val": v} for a, o, v in pattern],
            "ruleactions": {"tasks": list(tasks), "properties": dict(properties or {}), **actions}}


MAIN = [rule([("amount", "gt", 100)], ["freeship"], {"discount": "10"}, thencall="loyalty"),
        rule([("channel", "eq", "store")], ["review"])]
LOYALTY = [rule([("member", "eq", True)], [], {"discount": "15"})]

FLOW_SCHEMA = {
    "patternschema": [
        {"attr": "step", "valtype": "enum", "vals": ["START", "kyc", "approve", "welcome"]},
        {"attr": "stepfailed", "valtype": "bool"},
        {"attr": "risk", "valtype": "int"}],
    "actionschema": {"tasks": ["kyc", "approve", "welcome"], "properties": ["nextstep", "done"]},
}

FLOW = [rule([("step", "eq", "START")], ["kyc"], {"nextstep": "kyc"}),
        rule([("step", "eq", "kyc"), ("stepfailed", "eq", False)], ["approve"], {"nextstep": "approve"}),
        rule([("step", "eq", "kyc"), ("stepfailed", "eq", True)], ["kyc"], {"nextstep": "kyc"}),
        rule([("step", "eq", "approve")], ["welcome"], {"nextstep": "welcome"}),
        rule([("step", "eq", "welcome")], [], {"done": "true"})]


def key(app="retail", cls="order", slice=1, **more) -> dict:
    return {"slice": slice, "app": app, "class": cls, **more}


def order_schema(realm, app="retail", slice=1, make_app=True) -> None:
    if make_app:
        realm.app_new(app)
    realm.ok("breschemanew", key(app, "order", slice, **copy.deepcopy(ORDER_SCHEMA)))


def order_rules(realm, app="retail", slice=1, activate=True, make_app=True) -> None:
    """App, order schema, rulesets loyalty and main (main calls loyalty), activated."""
    order_schema(realm, app, slice, make_app)
    realm.ok("brerulesetnew", key(app, "order", slice, name="loyalty", ruleset=LOYALTY))
    realm.ok("brerulesetnew", key(app, "order", slice, name="main", ruleset=MAIN))
    if activate:
        realm.ok("brerulesetactivate", key(app, "order", slice, name="main"))


def onboarding(realm, app="bank", slice=1, activate=True, make_app=True) -> None:
    """App, workflow schema of class customer, workflow onboard."""
    if make_app:
        realm.app_new(app)
    realm.ok("wfschemanew", key(app, "customer", slice, **copy.deepcopy(FLOW_SCHEMA)))
    realm.ok("workflownew", key(app, "customer", slice, name="onboard", flowrules=FLOW))
    if activate:
        realm.ok("workflowactivate", key(app, "customer", slice, name="onboard"))


def apply(realm, entity=None, **payload):
    body = {"slice": 1, "app": "retail", "ruleset": "main", "entity": entity or dict(ORDER), **payload}
    return realm.call("breapplyrules", body)


def eventually(check, timeout: float = 10.0, interval: float = 0.02):
    """Poll `check` until it returns a true value (bounded); return that value."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(interval)


def fields_of(resp) -> list[tuple[str, str]]:
    """(errcode, field) of every message of an error envelope."""
    body = resp.get_json()
    assert body["status"] == "error", body
    return [(m["errcode"], m["field"]) for m in body["messages"]]


def settle(crux, timeout: float = 10.0) -> None:
    """Wait until this process's listener has delivered every notification sent so far.

    A write is seen by its own process at commit (the listener skips the echo of its NOTIFY);
    tests that check what stays cached wait here so that nothing still in flight lands during
    the check. NOTIFYs arrive in commit order, so a marker sent now arrives after them all.
    """
    marker = uuid.uuid4().hex
    seen = threading.Event()
    crux.listener.subscribe("test-barrier", lambda msg: msg.get("marker") == marker and seen.set())
    with crux.db.connection() as conn:
        conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, json.dumps({"kind": "test-barrier", "marker": marker})))
    assert seen.wait(timeout), "the listener did not deliver a notification"


def record_statements(monkeypatch) -> list[str]:
    """From now on, record every statement the calling thread sends (the listener's are its own)."""
    sent: list[str] = []
    me = threading.get_ident()
    execute = psycopg.Connection.execute

    def recording(conn, query, params=None, **kw):
        if threading.get_ident() == me:
            sent.append(str(query))
        return execute(conn, query, params, **kw)

    monkeypatch.setattr(psycopg.Connection, "execute", recording)
    return sent
