"""Schema calls: breschema* and wfschema* (SPEC §2.1, §4.3)."""
from __future__ import annotations

import copy

import pytest

from tests.conftest import error_of
from tests.rules_data import FLOW_SCHEMA, ORDER_SCHEMA, fields_of, key, order_rules, order_schema


def doc(**changes):
    out = copy.deepcopy(ORDER_SCHEMA)
    out.update(changes)
    return out


def test_schema_roundtrip(realm, conn):
    realm.app_new("Retail")
    made = realm.ok("breschemanew", key(**doc(patternschema=[{"attr": "placed", "valtype": "timestamp"}])))
    assert made["patternschema"] == [{"attr": "placed", "valtype": "ts"}]       # canonical valtype
    assert made["createdby"] == "admin" and made["editedat"] is None
    got = realm.ok("breschemaget", key(app="RETAIL"))
    assert got == made
    assert list(got) == ["slice", "app", "longname", "class", "patternschema", "actionschema", "createdat",
                         "createdby", "editedat", "editedby"] and got["longname"] == "Retail"
    updated = realm.ok("breschemaupdate", key(**doc()), method="put")
    assert updated["patternschema"] == ORDER_SCHEMA["patternschema"] and updated["editedby"] == "admin"
    listed = realm.ok("breschemalist", {})
    assert listed == [{"slice": 1, "slicedesc": "first slice", "app": "retail", "longname": "Retail", "class": "order",
                       "createdat": made["createdat"], "createdby": "admin", "editedat": updated["editedat"],
                       "editedby": "admin"}]
    assert realm.ok("breschemadelete", key(), method="delete") == {"slice": 1, "app": "retail", "class": "order"}
    assert realm.ok("breschemalist", {}) == []
    log = conn.execute("SELECT op, key FROM changelog WHERE realm = %s AND entity = 'schema' ORDER BY id",
                       (realm.name,)).fetchall()
    key_text = f"{realm.name}/1/retail/order"
    assert log == [{"op": "insert", "key": key_text}, {"op": "update", "key": key_text},
                   {"op": "delete", "key": key_text}]


def test_workflow_schema_and_kinds_are_separate(realm):
    realm.app_new("bank")
    realm.ok("wfschemanew", key("bank", "customer", **copy.deepcopy(FLOW_SCHEMA)))
    assert realm.ok("wfschemalist", {})[0]["class"] == "customer"
    assert realm.ok("breschemalist", {}) == []
    # the BRE calls do not see a workflow schema, and a class has one schema of either kind
    resp = realm.call("breschemaget", key("bank", "customer"))
    assert resp.status_code == 404 and error_of(resp)["field"] == "class"
    resp = realm.call("breschemanew", key("bank", "customer", **doc()))
    assert resp.status_code == 400 and error_of(resp)["errcode"] == "already_exist"
    assert realm.call("breschemadelete", key("bank", "customer")).status_code == 404
    assert realm.ok("wfschemadelete", key("bank", "customer"))["class"] == "customer"


def test_mixed_case_call_names(realm):
    realm.app_new("retail")
    resp = realm.client.post("/api/v1/breSchemaNew", json={"data": key(**doc())},
                             headers={"Authorization": f"Bearer {realm.token()}"})
    assert resp.status_code == 200
    assert realm.ok("wfschemaList", {}) == []


@pytest.mark.parametrize("payload, expected", [
    ({"patternschema": [{"attr": "a", "valtype": "float2"}]}, [("invalid", "patternschema[0].valtype")]),
    ({"patternschema": [{"attr": "a", "valtype": "enum"}]}, [("required", "patternschema[0].vals")]),
    ({"patternschema": [{"attr": "a", "valtype": "enum", "vals": []}]}, [("empty", "patternschema[0].vals")]),
    ({"patternschema": [{"attr": "a", "valtype": "enum", "vals": ["START"]}]},
     [("invalid", "patternschema[0].vals[0]")]),
    ({"patternschema": [{"attr": "a", "valtype": "int"}, {"attr": "a", "valtype": "str"}]},
     [("already_exist", "patternschema[1].attr")]),
    ({"patternschema": [{"attr": "class", "valtype": "str"}]}, [("not_allowed", "patternschema[0].attr")]),
    ({"patternschema": [{"attr": "Amount", "valtype": "int"}]}, [("invalid", "patternschema[0].attr")]),
    ({"patternschema": [{"attr": "a", "valtype": "int", "valmin": 5, "valmax": 1}]},
     [("invalid", "patternschema[0].valmax")]),
    ({"patternschema": [{"attr": "a", "valtype": "bool", "lenmax": 3}]}, [("not_allowed", "patternschema[0].lenmax")]),
    ({"patternschema": []}, [("empty", "patternschema")]),
    ({"patternschema": "x"}, [("invalid", "patternschema")]),
    ({"actionschema": {"tasks": [], "properties": []}}, [("empty", "actionschema")]),
    ({"actionschema": {"tasks": ["Bad"], "properties": []}}, [("invalid", "actionschema.tasks[0]")]),
    ({"actionschema": {"tasks": ["a", "a"]}}, [("already_exist", "actionschema.tasks[1]")]),
])
def test_schema_validation_names_the_field(realm, payload, expected):
    realm.app_new("retail")
    resp = realm.call("breschemanew", key(**doc(**payload)))
    assert resp.status_code == 400
    assert fields_of(resp) == expected


def test_every_schema_problem_at_once(realm):
    realm.app_new("retail")
    resp = realm.call("breschemanew", key(patternschema=[{"attr": "a", "valtype": "x"},
                                                         {"attr": "class", "valtype": "int"}],
                                          actionschema={"tasks": [], "properties": []}))
    assert sorted(fields_of(resp)) == [("empty", "actionschema"), ("invalid", "patternschema[0].valtype"),
                                       ("not_allowed", "patternschema[1].attr")]


def test_payload_problems_at_once(realm):
    resp = realm.call("breschemanew", {"slice": "one", "app": "Bad App", "class": 5})
    assert resp.status_code == 400
    assert sorted(fields_of(resp)) == [("invalid", "app"), ("invalid", "class"), ("invalid", "slice"),
                                       ("required", "actionschema"), ("required", "patternschema")]


def test_workflow_schema_rules(realm):
    realm.app_new("bank")
    bad = copy.deepcopy(FLOW_SCHEMA)
    bad["patternschema"] = [a for a in bad["patternschema"] if a["attr"] != "stepfailed"]
    bad["patternschema"][0]["vals"] = ["START", "kyc"]
    bad["actionschema"]["properties"] = ["nextstep"]
    resp = realm.call("wfschemanew", key("bank", "customer", **bad))
    assert sorted(fields_of(resp)) == [("invalid", "actionschema.properties"), ("invalid", "patternschema[0].vals"),
                                       ("required", "patternschema")]
    # the same document is a fine BRE schema... except START outside a workflow's step
    resp = realm.call("breschemanew", key("bank", "customer", **copy.deepcopy(FLOW_SCHEMA)))
    assert fields_of(resp) == [("invalid", "patternschema[0].vals[0]")]


def test_not_found_names_the_record(realm):
    realm.app_new("retail")
    for call, payload, field in (("breschemanew", key(slice=9, **doc()), "slice"),
                                 ("breschemanew", key(app="nope", **doc()), "app"),
                                 ("breschemaget", key(), "class"), ("breschemaget", key(slice=9), "slice"),
                                 ("breschemaget", key(app="nope"), "app"),
                                 ("breschemaupdate", key(**doc()), "class"), ("breschemadelete", key(), "class"),
                                 ("wfschemaget", key(), "class")):
        resp = realm.call(call, payload)
        assert resp.status_code == 404, (call, resp.get_json())
        assert error_of(resp)["errcode"] == "not_found" and error_of(resp)["field"] == field, call
    assert realm.ok("breschemalist", {"slice": 9, "app": "nope"}) == []        # lists never 404


def test_already_exists(realm):
    order_schema(realm)
    resp = realm.call("breschemanew", key(**doc()))
    assert resp.status_code == 400
    assert (error_of(resp)["errcode"], error_of(resp)["field"]) == ("already_exist", "class")


def test_schema_in_use_cannot_change(realm):
    order_rules(realm, activate=False)
    for call in ("breschemaupdate", "breschemadelete"):
        resp = realm.call(call, key(**doc()))
        assert resp.status_code == 400
        err = error_of(resp)
        assert (err["errcode"], err["field"], sorted(err["vals"])) == ("not_allowed", "class", ["loyalty", "main"])


def test_list_filters(realm):
    order_schema(realm)
    order_schema(realm, app="shop")
    realm.ok("realmslicenew", {})
    order_schema(realm, app="shop", slice=2, make_app=False)
    rows = realm.ok("breschemalist", {})
    assert [(r["slice"], r["app"]) for r in rows] == [(1, "retail"), (1, "shop"), (2, "shop")]
    assert [(r["slice"], r["app"]) for r in realm.ok("breschemalist", {"slice": 2})] == [(2, "shop")]
    assert [(r["slice"], r["app"]) for r in realm.ok("breschemalist", {"app": "SHOP"})] == [(1, "shop"), (2, "shop")]
    assert realm.ok("breschemalist", {"class": "other"}) == []


def test_capabilities(realm):
    order_schema(realm)
    order_schema(realm, app="shop")
    realm.grant("rep", "report")
    realm.grant("designer", "schema", app="shop")
    realm.grant("writer", "ruleset", app="retail")
    # writes need schema on the app
    for user in ("rep", "writer"):
        resp = realm.call("breschemanew", key("shop", "other", **doc()), user=user)
        assert resp.status_code == 403 and error_of(resp)["errcode"] == "unauthorized"
    assert realm.call("breschemadelete", key("retail"), user="designer").status_code == 403
    realm.ok("breschemanew", key("shop", "other", **doc()), user="designer")
    # reads: report sees all; schema/ruleset holders see their apps only
    assert {r["app"] for r in realm.ok("breschemalist", {}, user="rep")} == {"retail", "shop"}
    assert {r["app"] for r in realm.ok("breschemalist", {}, user="designer")} == {"shop"}
    assert {r["app"] for r in realm.ok("breschemalist", {}, user="writer")} == {"retail"}
    assert realm.call("breschemalist", {"app": "retail"}, user="designer").status_code == 403
    assert realm.call("breschemaget", key("retail"), user="designer").status_code == 403
    realm.ok("breschemaget", key("retail"), user="writer")
    assert realm.call("breschemalist", {}, user="nobody").status_code == 403


def test_other_realms_are_invisible(realm, other_realm):
    order_schema(other_realm)
    realm.app_new("retail")
    assert realm.ok("breschemalist", {}) == []
    assert realm.call("breschemaget", key()).status_code == 404
    assert realm.call("breschemadelete", key()).status_code == 404
    # a token of realm A cannot reach realm B's data even naming it: the realm comes from the token
    assert other_realm.ok("breschemaget", key())["class"] == "order"
    other_realm.grant("someone", "root")
    resp = realm.call("breschemaget", key(), token=realm.token("someone", realm=realm.name))
    assert resp.status_code == 403
