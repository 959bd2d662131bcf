"""breapplyrules (SPEC §2.3, §3, §4.3, §4.4)."""
from __future__ import annotations

import datetime as dt

import pytest

from crux.services.rulecache import SliceState
from tests.conftest import error_of
from tests.rules_data import ORDER, apply, eventually, fields_of, key, onboarding, order_rules, order_schema, rule


def test_apply(realm):
    order_rules(realm)
    assert realm.ok("breapplyrules", {"slice": 1, "app": "Retail", "ruleset": "main", "entity": ORDER}) == \
        {"tasks": ["freeship"], "properties": {"discount": "15"}}
    native = {"class": "order", "amount": 20, "channel": "store", "member": "FALSE",
              "placed": "2026-01-31T11:00:00+01:00"}
    assert realm.ok("breapplyrules", {"slice": 1, "app": "retail", "class": "order", "ruleset": "main",
                                      "entity": native}) == {"tasks": ["review"], "properties": {}}


def test_any_user_of_the_realm_may_apply(realm):
    order_rules(realm)
    assert apply(realm, user="nobody").status_code == 200


def test_trace_levels(realm):
    order_rules(realm)
    out = realm.ok("breapplyrules", {"slice": 1, "app": "retail", "ruleset": "main", "entity": ORDER, "trace": 1})
    trace = out["tracedata"]
    assert {k: trace[k] for k in ("realm", "app", "slice", "class", "entryruleset")} == \
        {"realm": realm.name, "app": "retail", "slice": 1, "class": "order", "entryruleset": "main"}
    assert trace["start"] <= trace["end"] and trace["start"].endswith("Z")
    assert trace["visits"] == [{"ruleset": "main", "rules": [{"r": 0, "res": "+c", "nextset": "loyalty"}]},
                               {"ruleset": "loyalty", "rules": [{"r": 0, "res": "+"}]},
                               {"ruleset": "main", "rules": [{"r": 1, "res": "-"}]}]
    out = realm.ok("breapplyrules", {"slice": 1, "app": "retail", "ruleset": "main", "entity": ORDER, "trace": 2})
    first = out["tracedata"]["visits"][0]["rules"][0]
    assert first["terms"] == [{"attr": "amount", "val": 120.5, "op": "gt", "ruleval": 100, "ok": True}]
    assert first["actionset"] == {"tasks": ["freeship"], "properties": {"discount": "15"}}
    assert "tracedata" not in realm.ok("breapplyrules", {"slice": 1, "app": "retail", "ruleset": "main",
                                                         "entity": ORDER})
    resp = apply(realm, trace=3)
    assert resp.status_code == 400 and fields_of(resp) == [("invalid", "trace")]


def test_entity_problems_all_at_once(realm):
    order_rules(realm)
    resp = apply(realm, {"amount": "-5", "channel": "phone", "placed": "noon", "colour": "red"})
    assert resp.status_code == 400
    assert sorted(fields_of(resp)) == [("invalid", "entity.amount"), ("invalid", "entity.channel"),
                                       ("invalid", "entity.colour"), ("invalid", "entity.placed"),
                                       ("required", "entity.member")]
    resp = apply(realm, {**ORDER, "amount": "5.0.1"})
    assert fields_of(resp) == [("invalid", "entity.amount")] and error_of(resp)["vals"] == ["5.0.1"]
    resp = apply(realm, {**ORDER, "class": "refund"})
    assert fields_of(resp) == [("not_found", "class")]
    resp = apply(realm, {**ORDER, "class": "refund"}, **{"class": "order"})
    assert fields_of(resp) == [("invalid", "entity.class")]
    resp = realm.call("breapplyrules", {"slice": 1, "app": "retail", "ruleset": "main", "entity": "x"})
    assert fields_of(resp) == [("invalid", "entity")]
    resp = realm.call("breapplyrules", {"app": "retail"})
    assert sorted(fields_of(resp)) == [("required", "entity"), ("required", "ruleset"), ("required", "slice")]


def test_refusals(realm):
    order_rules(realm)
    realm.ok("brerulesetnew", key(name="draft", ruleset=[rule([], ["review"])]))
    realm.ok("brerulesetnew", key(name="helper", is_internal=True, ruleset=[rule([], ["review"])]))
    realm.ok("brerulesetactivate", key(name="helper"))
    onboarding(realm, app="retail", make_app=False)
    cases = [({"slice": 9}, 404, "not_found", "slice"), ({"app": "nope"}, 404, "not_found", "app"),
             ({"ruleset": "nope"}, 404, "not_found", "ruleset"), ({"class": "nope"}, 404, "not_found", "class"),
             ({"class": "customer"}, 404, "not_found", "class"),             # a workflow schema
             ({"ruleset": "onboard"}, 404, "not_found", "ruleset"),          # a workflow
             ({"ruleset": "draft"}, 400, "not_allowed", "ruleset"),
             ({"ruleset": "helper"}, 400, "not_allowed", "ruleset")]
    for payload, status, errcode, field in cases:
        resp = apply(realm, **payload)
        got = (resp.status_code, error_of(resp)["errcode"], error_of(resp)["field"])
        assert got == (status, errcode, field), payload


def test_class_must_be_named_when_ambiguous(realm):
    order_rules(realm)
    realm.ok("breschemanew", key(cls="refund", patternschema=[{"attr": "amount", "valtype": "float"}],
                                 actionschema={"tasks": ["approve"]}))
    realm.ok("brerulesetnew", key(cls="refund", name="main", ruleset=[rule([("amount", "lt", 50)], ["approve"])]))
    realm.ok("brerulesetactivate", key(cls="refund", name="main"))
    resp = apply(realm)
    assert resp.status_code == 400 and fields_of(resp) == [("required", "class")]
    assert realm.ok("breapplyrules", {"slice": 1, "app": "retail", "ruleset": "main",
                                      "entity": {"class": "refund", "amount": 10}}) == \
        {"tasks": ["approve"], "properties": {}}


def test_inactive_slice_is_refused(realm):
    order_rules(realm)
    copy = realm.ok("realmslicenew", {"copyof": 1})           # a copy starts inactive
    resp = apply(realm, slice=copy)
    assert resp.status_code == 400 and fields_of(resp) == [("not_allowed", "slice")]
    realm.ok("realmsliceactivate", {"id": copy})
    assert apply(realm, slice=copy).status_code == 200
    realm.ok("realmslicedeactivate", {"id": 1})
    resp = apply(realm)
    assert resp.status_code == 400 and fields_of(resp) == [("not_allowed", "slice")]
    realm.ok("realmsliceactivate", {"id": 1})
    assert apply(realm).status_code == 200


def test_scheduled_slice_changes_count_at_call_time(realm, conn):
    now = dt.datetime(2026, 1, 31, 10, tzinfo=dt.UTC)
    hour = dt.timedelta(hours=1)
    assert SliceState(False, now - hour, None).active_at(now) is True
    assert SliceState(True, None, now + hour).active_at(now) is True
    assert SliceState(True, None, now + hour).active_at(now + 2 * hour) is False
    assert SliceState(False, now - 2 * hour, now - hour).active_at(now) is False
    assert SliceState(True, now - hour, now - 2 * hour).active_at(now) is True
    # through the API: a deactivation scheduled in the past (written in SQL) already counts
    order_rules(realm)
    assert apply(realm).status_code == 200
    conn.execute("UPDATE realmslice SET deactivateat = now() - interval '1 second' WHERE realm = %s AND id = 1",
                 (realm.name,))
    conn.execute("SELECT pg_notify('crux_cache', %s)", (f'{{"kind": "slice", "realm": "{realm.name}", "slice": 1}}',))
    eventually(lambda: apply(realm).status_code == 400)


def test_evaluation_errors_are_eval_failed(realm, conn):
    order_schema(realm)
    realm.ok("brerulesetnew", key(name="b", ruleset=[rule([], ["review"])]))
    realm.ok("brerulesetnew", key(name="a", ruleset=[rule([], ["freeship"], thencall="b")]))
    # a cycle written around the API; the cache has not loaded the class yet
    conn.execute("""UPDATE ruleset SET ruleset = jsonb_set(ruleset, '{0,ruleactions,thencall}', '"a"'), is_active = true
                    WHERE realm = %s AND setname = 'b'""", (realm.name,))
    conn.execute("UPDATE ruleset SET is_active = true WHERE realm = %s AND setname = 'a'", (realm.name,))
    resp = apply(realm, ruleset="a")
    assert resp.status_code == 400
    err = error_of(resp)
    assert err["errcode"] == "eval_failed" and err["field"] == "ruleset" and "cycle" in err["msg"]
    resp = apply(realm, ruleset="a", trace=2)
    assert error_of(resp)["errcode"] == "eval_failed"


def test_other_realms_rules_are_out_of_reach(realm, other_realm):
    order_rules(other_realm)
    resp = apply(realm)
    assert resp.status_code == 404 and error_of(resp)["field"] == "app"
    order_schema(realm)
    resp = apply(realm)
    assert resp.status_code == 404 and error_of(resp)["field"] == "ruleset"


@pytest.mark.parametrize("entity, expected", [
    ({**ORDER, "amount": 5000, "member": "true"}, {"tasks": ["freeship"], "properties": {"discount": "15"}}),
    ({**ORDER, "amount": "100", "channel": "store", "member": False}, {"tasks": ["review"], "properties": {}}),
    ({**ORDER, "amount": 1e3, "member": "False"}, {"tasks": ["freeship"], "properties": {"discount": "10"}}),
])
def test_values_as_strings_or_native(realm, entity, expected):
    order_rules(realm)
    resp = apply(realm, entity)
    assert resp.status_code == 200 and resp.get_json()["data"] == expected


@pytest.mark.parametrize("payload", [
    {"slice": 1, "app": "Retail", "ruleset": "main", "entity": {}},
    {"slice": 1, "app": "retail", "class": "order", "ruleset": "main", "entity": {"a": 1}, "trace": 2, "extra": 1},
    {"slice": 0, "app": "retail", "ruleset": "main", "entity": {}},
    {"slice": True, "app": "retail", "ruleset": "main", "entity": {}},
    {"slice": 1.0, "app": "retail", "ruleset": "main", "entity": {}},
    {"slice": 1, "app": "re tail", "ruleset": "main", "entity": {}},
    {"slice": 1, "app": "retail", "ruleset": "Main", "entity": {}},
    {"slice": 1, "app": "retail", "ruleset": "main", "entity": []},
    {"slice": 1, "app": "retail", "ruleset": "main", "entity": {}, "class": None},
    {"slice": 1, "app": "retail", "ruleset": "main", "entity": {}, "class": "Order"},
    {"slice": 1, "app": "retail", "ruleset": "main", "entity": {}, "trace": None},
    {"slice": 1, "app": "retail", "ruleset": "main", "entity": {}, "trace": True},
    {"slice": 1, "app": "x" * 65, "ruleset": "main", "entity": {}},
    {"app": "retail", "ruleset": "main"},
])
def test_the_fast_payload_check_agrees_with_marshmallow(payload):
    """breapplyrules accepts well-formed payloads without marshmallow: same result, same problems."""
    from marshmallow import EXCLUDE, Schema, ValidationError

    from crux.api.rules import ApplyRules
    schema = ApplyRules()

    def outcome(load):
        try:
            return load(dict(payload), unknown=EXCLUDE)
        except ValidationError as exc:
            return exc.messages

    assert outcome(schema.load) == outcome(lambda data, **kw: Schema.load(schema, data, **kw))


def test_well_formed_payloads_take_the_fast_path():
    from crux.api.rules import _apply_fast
    assert _apply_fast({"slice": 2, "app": "Retail", "ruleset": "main", "entity": {"a": 1}, "trace": 1}) == \
        {"slice": 2, "app": "retail", "ruleset": "main", "entity": {"a": 1}, "trace": 1}
