"""BRE ruleset calls: breruleset* (SPEC §2.2, §4.3)."""
from __future__ import annotations

import copy

import pytest

from crux.cli.load import loader_identity
from crux.services.rules import BRE, RuleService
from tests.conftest import error_of
from tests.rules_data import (
    FLOW,
    FLOW_SCHEMA,
    LOYALTY,
    MAIN,
    fields_of,
    key,
    onboarding,
    order_rules,
    order_schema,
    record_statements,
    rule,
)


def rs(name, rules=None, **more):
    return key(name=name, ruleset=rules if rules is not None else LOYALTY, **more)


def test_ruleset_roundtrip(realm, conn):
    order_schema(realm)
    made = realm.ok("brerulesetnew", rs("loyalty", [{"RulePattern": [{"attr": "member", "op": "EQ", "val": True}],
                                                      "ruleActions": {"tasks": ["review"], "doReturn": True}}]))
    assert made["is_active"] is False and made["is_internal"] is False and made["name"] == "loyalty"
    # canonical keys, no empty thencall/elsecall, willreturn/willexit also as crux-ui's return/exit
    assert made["ruleset"] == [{"rulepattern": [{"attr": "member", "op": "eq", "val": True}],
                                "ruleactions": {"tasks": ["review"], "properties": {}, "willreturn": True,
                                                "willexit": False, "return": True, "exit": False}}]
    got = realm.ok("brerulesetget", key(name="loyalty"))
    assert got == made
    assert list(got) == ["id", "slice", "app", "class", "name", "is_active", "is_internal", "ruleset", "createdat",
                         "createdby", "editedat", "editedby"]
    updated = realm.ok("brerulesetupdate", rs("loyalty", is_internal=True), method="put")
    assert updated["is_internal"] is True and updated["ruleset"][0]["ruleactions"]["properties"] == {"discount": "15"}
    listed = realm.ok("brerulesetlist", {})["rulesets"]
    assert listed == [{k: v for k, v in updated.items() if k != "ruleset"}]
    deleted = realm.ok("brerulesetdelete", key(name="loyalty"), method="delete")
    assert deleted == {"id": made["id"], "slice": 1, "app": "retail", "class": "order", "name": "loyalty"}
    assert realm.ok("brerulesetlist", {}) == {"rulesets": []}
    ops = [r["op"] for r in conn.execute("SELECT op FROM changelog WHERE realm = %s AND entity = 'ruleset' ORDER BY id",
                                         (realm.name,))]
    assert ops == ["insert", "update", "delete"]


RULE_PROBLEMS = [
    ([rule([("colour", "eq", "x")])], [("not_found", "ruleset[0].rulepattern[0].attr")]),
    ([rule([("amount", "eq", "x")])], [("invalid", "ruleset[0].rulepattern[0].val")]),
    ([rule([("channel", "eq", "phone")])], [("invalid", "ruleset[0].rulepattern[0].val")]),
    ([rule([("member", "gt", True)])], [("not_allowed", "ruleset[0].rulepattern[0].op")]),
    ([rule([("amount", "like", 1)])], [("invalid", "ruleset[0].rulepattern[0].op")]),
    ([rule([("placed", "lt", "yesterday")])], [("invalid", "ruleset[0].rulepattern[0].val")]),
    ([rule([], ["ship"])], [("not_found", "ruleset[0].ruleactions.tasks[0]")]),
    ([rule([], [], {"rebate": "1"})], [("not_found", "ruleset[0].ruleactions.properties.rebate")]),
    ([rule([], [], {"discount": 5})], [("invalid", "ruleset[0].ruleactions.properties.discount")]),
    ([rule([], ["review"], willreturn=True, willexit=True)], [("invalid", "ruleset[0].ruleactions.willexit")]),
    ([rule([], ["review"]), rule([], ["review"], thencall="nothere")],
     [("not_found", "ruleset[1].ruleactions.thencall")]),
    ([rule([], ["review"], elsecall="loyalty")], [("invalid", "ruleset[0].ruleactions.elsecall")]),   # its own name
    ([], [("empty", "ruleset")]),
    ("rules", [("invalid", "ruleset")]),
    ([{"rulepattern": []}], [("required", "ruleset[0].ruleactions")]),
]


@pytest.mark.parametrize("rules, expected", RULE_PROBLEMS, ids=[str(e) for _, e in RULE_PROBLEMS])
def test_rule_validation_names_the_field(realm, rules, expected):
    order_schema(realm)
    resp = realm.call("brerulesetnew", rs("loyalty", rules))
    assert resp.status_code == 400, resp.get_json()
    assert fields_of(resp) == expected


def test_every_rule_problem_at_once(realm):
    order_schema(realm)
    resp = realm.call("brerulesetnew", rs("x", [rule([("colour", "eq", 1), ("member", "lt", 3)], ["ship"]),
                                                rule([], [], {"rebate": "1"}, thencall="nothere")]))
    assert resp.status_code == 400
    assert sorted(fields_of(resp)) == [
        ("invalid", "ruleset[0].rulepattern[1].val"), ("not_allowed", "ruleset[0].rulepattern[1].op"),
        ("not_found", "ruleset[0].ruleactions.tasks[0]"), ("not_found", "ruleset[0].rulepattern[0].attr"),
        ("not_found", "ruleset[1].ruleactions.properties.rebate"), ("not_found", "ruleset[1].ruleactions.thencall")]


def test_call_cycles_are_refused(realm):
    order_rules(realm, activate=False)
    # loyalty is called by main: making loyalty call main would close a cycle
    resp = realm.call("brerulesetupdate", rs("loyalty", [rule([], [], thencall="main")]))
    assert fields_of(resp) == [("invalid", "ruleset[0].ruleactions.thencall")]
    assert error_of(resp)["vals"] == ["loyalty", "main", "loyalty"]


def test_callee_of_another_class_is_refused(realm):
    order_rules(realm, activate=False)
    realm.ok("breschemanew", key(cls="refund", patternschema=[{"attr": "amount", "valtype": "float"}],
                                 actionschema={"tasks": ["approve"]}))
    resp = realm.call("brerulesetnew", key(cls="refund", name="r", ruleset=[rule([], ["approve"], thencall="main")]))
    assert fields_of(resp) == [("invalid", "ruleset[0].ruleactions.thencall")]
    # the same name may exist in two classes
    realm.ok("brerulesetnew", key(cls="refund", name="main", ruleset=[rule([], ["approve"])]))


def test_not_found_and_kinds(realm):
    order_rules(realm, activate=False)
    for call, payload, field in (("brerulesetnew", rs("x", slice=9), "slice"),
                                 ("brerulesetnew", rs("x", app="nope"), "app"),
                                 ("brerulesetnew", rs("x", cls="nope"), "class"),
                                 ("brerulesetget", key(name="nope"), "name"),
                                 ("brerulesetget", key(cls="nope", name="x"), "class"),
                                 ("brerulesetupdate", rs("nope"), "name"),
                                 ("brerulesetdelete", key(name="nope"), "name"),
                                 ("brerulesetactivate", key(name="nope"), "name"),
                                 ("brerulesetdeactivate", key(name="nope"), "name"),
                                 ("workflowget", key(name="main"), "class")):
        resp = realm.call(call, payload)
        assert resp.status_code == 404 and error_of(resp)["field"] == field, (call, resp.get_json())
    resp = realm.call("brerulesetnew", rs("main"))
    assert resp.status_code == 400 and fields_of(resp) == [("already_exist", "name")]
    assert realm.ok("brerulesetlist", {"slice": 7, "app": "nope", "name": "zzz"}) == {"rulesets": []}


def test_activation_reaches_callees(realm, conn):
    order_rules(realm, activate=False)
    realm.ok("brerulesetnew", rs("spare"))
    assert realm.ok("brerulesetactivate", key(name="main")) == {"ntraversed": 2, "nactivated": 2}
    assert realm.ok("brerulesetactivate", key(name="main")) == {"ntraversed": 2, "nactivated": 0}
    state = {r["name"]: r["is_active"] for r in realm.ok("brerulesetlist", {})["rulesets"]}
    assert state == {"loyalty": True, "main": True, "spare": False}
    assert [r["name"] for r in realm.ok("brerulesetlist", {"is_active": False})["rulesets"]] == ["spare"]
    # active rulesets cannot change or go; a callee of an active ruleset stays active
    for call, payload in (("brerulesetupdate", rs("main", MAIN)), ("brerulesetdelete", key(name="main")),
                          ("brerulesetdeactivate", key(name="loyalty"))):
        resp = realm.call(call, payload)
        assert resp.status_code == 400 and fields_of(resp) == [("not_allowed", "name")], call
    assert realm.ok("brerulesetdeactivate", key(name="main"))["is_active"] is False
    assert realm.ok("brerulesetdeactivate", key(name="loyalty"))["is_active"] is False
    # an inactive callee still cannot go while another ruleset calls it
    resp = realm.call("brerulesetdelete", key(name="loyalty"))
    assert fields_of(resp) == [("not_allowed", "name")] and error_of(resp)["vals"] == ["main"]
    realm.ok("brerulesetdelete", key(name="main"))
    realm.ok("brerulesetdelete", key(name="loyalty"))
    changes = conn.execute("""SELECT count(*) AS n FROM changelog
                              WHERE realm = %s AND entity = 'ruleset' AND op = 'update'""",
                           (realm.name,)).fetchone()["n"]
    assert changes == 4     # two activations, two deactivations


def test_activation_refuses_a_missing_callee(realm, conn):
    order_rules(realm, activate=False)
    # rules written around the API (e.g. by hand in SQL) may call something that does not exist
    conn.execute("""UPDATE ruleset SET ruleset = jsonb_set(ruleset, '{0,ruleactions,elsecall}', '"gone"')
                    WHERE realm = %s AND setname = 'loyalty'""", (realm.name,))
    resp = realm.call("brerulesetactivate", key(name="main"))
    assert resp.status_code == 400
    err = error_of(resp)
    assert err["errcode"] == "missing" and err["field"] == "name" and err["vals"] == ["loyalty", "gone"]
    assert not any(r["is_active"] for r in realm.ok("brerulesetlist", {})["rulesets"])


def test_capabilities_and_filtering(realm):
    order_rules(realm, activate=False)
    order_rules(realm, app="shop", activate=False)
    realm.grant("designer", "schema", app="shop")
    realm.grant("writer", "ruleset", app="retail")
    realm.grant("rep", "report")
    for user in ("designer", "rep"):
        assert realm.call("brerulesetnew", rs("x"), user=user).status_code == 403
        assert realm.call("brerulesetactivate", key(name="main"), user=user).status_code == 403
    assert realm.call("brerulesetnew", rs("x", app="shop"), user="writer").status_code == 403
    realm.ok("brerulesetnew", rs("x"), user="writer")
    realm.ok("brerulesetactivate", key(name="x"), user="writer")
    assert {r["app"] for r in realm.ok("brerulesetlist", {}, user="writer")["rulesets"]} == {"retail"}
    assert {r["app"] for r in realm.ok("brerulesetlist", {}, user="designer")["rulesets"]} == {"shop"}
    assert {r["app"] for r in realm.ok("brerulesetlist", {}, user="rep")["rulesets"]} == {"retail", "shop"}
    assert realm.call("brerulesetlist", {"app": "shop"}, user="writer").status_code == 403
    assert realm.call("brerulesetget", key(app="shop", name="main"), user="writer").status_code == 403


def test_other_realms_are_invisible(realm, other_realm):
    order_rules(other_realm)
    order_schema(realm)
    assert realm.ok("brerulesetlist", {}) == {"rulesets": []}
    for call in ("brerulesetget", "brerulesetactivate", "brerulesetdeactivate", "brerulesetdelete"):
        assert realm.call(call, key(name="main")).status_code == 404, call
    assert other_realm.ok("brerulesetget", key(name="main"))["is_active"] is True


def test_new_and_deactivate_round_trips(realm, monkeypatch):
    order_rules(realm)
    service, ident = RuleService(realm.crux.db), loader_identity(realm.name, "admin")
    sent = record_statements(monkeypatch)
    # lock, slice and app, schema, call graph, insert, changelog, notify
    service.ruleset_new(ident, BRE, rs("spare"))
    assert len(sent) == 7, sent
    sent.clear()
    # lock, slice and app, the ruleset, its callers, update, changelog, notify
    out = service.ruleset_deactivate(ident, BRE, key(name="main"))
    assert len(sent) == 7, sent
    assert out["is_active"] is False and out["editedby"] == "admin"
    sent.clear()
    # an inactive ruleset: nothing written, the row read under the lock is the answer
    assert service.ruleset_deactivate(ident, BRE, key(name="main")) == out
    assert len(sent) == 4, sent


def test_deactivate_answers_the_changed_row(realm):
    order_rules(realm)
    before = realm.ok("brerulesetget", key(name="main"))
    out = realm.ok("brerulesetdeactivate", key(name="main"))
    after = realm.ok("brerulesetget", key(name="main"))
    assert out == {k: v for k, v in after.items() if k != "ruleset"}
    assert out["is_active"] is False and out["editedat"] != before["editedat"]
    assert realm.ok("brerulesetdeactivate", key(name="main")) == out


def test_name_clashes_are_named(realm):
    order_rules(realm)
    resp = realm.call("brerulesetnew", rs("main"))
    assert error_of(resp)["msg"] == "class order already has a ruleset main"
    onboarding(realm)
    realm.ok("wfschemanew", key("bank", "account", **copy.deepcopy(FLOW_SCHEMA)))
    resp = realm.call("workflownew", key("bank", "account", name="onboard", flowrules=FLOW))
    assert error_of(resp)["msg"] == "app bank already has a workflow onboard (of class customer)"
    resp = realm.call("workflownew", key("bank", "customer", name="onboard", flowrules=FLOW))
    assert error_of(resp)["msg"] == "class customer already has a ruleset onboard"
