"""Workflow definitions and stepworkflows: workflow*, stepworkflow* (SPEC §2.2, §4.3)."""
from __future__ import annotations

import copy

import pytest

from crux.errors import CruxError
from tests.conftest import error_of
from tests.rules_data import FLOW, FLOW_SCHEMA, fields_of, key, onboarding, order_rules, rule


def wf(name="onboard", rules=None, **more):
    return key("bank", "customer", name=name, flowrules=rules if rules is not None else FLOW, **more)


def wkey(name="onboard"):
    return key("bank", "customer", name=name)


def step(step="kyc", workflow=None, app="bank"):
    out = {"slice": 1, "app": app, "step": step}
    if workflow:
        out["workflow"] = workflow
    return out


DONE = [rule([("step", "eq", "START")], [], {"done": "true"})]


def test_workflow_roundtrip(realm, conn):
    onboarding(realm, activate=False)
    got = realm.ok("workflowget", wkey())
    assert list(got) == ["id", "slice", "app", "class", "name", "is_active", "is_internal", "flowrules", "steps",
                         "createdat", "createdby", "editedat", "editedby"]
    assert got["steps"] == {}
    assert got["flowrules"][0]["ruleactions"]["properties"] == {"nextstep": "kyc"}
    for method in ("post", "put"):
        updated = realm.ok("workflowupdate", wf(rules=FLOW[:1] + FLOW[3:]), method=method)
        assert len(updated["flowrules"]) == 3
    assert realm.ok("workflowactivate", wkey()) == {"ntraversed": 1, "nactivated": 1}
    listed = realm.ok("workflowlist", {})["workflows"]
    assert [(w["name"], w["is_active"], w["class"]) for w in listed] == [("onboard", True, "customer")]
    assert "flowrules" not in listed[0]
    assert realm.ok("brerulesetlist", {}) == {"rulesets": []}
    resp = realm.call("workflowupdate", wf())
    assert fields_of(resp) == [("not_allowed", "name")]
    assert realm.call("workflowdelete", wkey()).status_code == 400
    assert realm.ok("workflowdeactivate", wkey())["is_active"] is False
    assert realm.ok("workflowdelete", wkey(), method="delete")["name"] == "onboard"
    assert realm.ok("workflowlist", {}) == {"workflows": []}
    ops = [r["op"] for r in conn.execute("SELECT op FROM changelog WHERE realm = %s AND entity = 'ruleset' ORDER BY id",
                                         (realm.name,))]
    assert ops == ["insert", "update", "update", "update", "update", "delete"]


FLOW_PROBLEMS = [
    ([rule([("risk", "gt", 3)], ["kyc"], {"nextstep": "kyc"})], [("required", "flowrules[0].rulepattern")]),
    ([rule([("step", "eq", "START")], ["kyc"])], [("required", "flowrules[0].ruleactions.properties")]),
    ([rule([("step", "eq", "START")], [], {"nextstep": "kyc"})], [("required", "flowrules[0].ruleactions.tasks")]),
    ([rule([("step", "eq", "START")], ["kyc"], {"nextstep": "audit"})],
     [("not_found", "flowrules[0].ruleactions.properties.nextstep")]),
    ([rule([("step", "eq", "START")], ["kyc"], {"done": "yes", "nextstep": "kyc"})],
     [("invalid", "flowrules[0].ruleactions.properties.done")]),
    ([rule([("step", "eq", "START")], ["kyc"], {"done": "true", "nextstep": "kyc"})],
     [("invalid", "flowrules[0].ruleactions.properties.nextstep")]),
    ([rule([("step", "eq", "audit")], [], {"done": "true"})], [("invalid", "flowrules[0].rulepattern[0].val")]),
    ([], [("empty", "flowrules")]),
]


@pytest.mark.parametrize("rules, expected", FLOW_PROBLEMS, ids=[str(e) for _, e in FLOW_PROBLEMS])
def test_workflow_validation_names_the_field(realm, rules, expected):
    onboarding(realm, activate=False)
    resp = realm.call("workflownew", wf("other", rules))
    assert resp.status_code == 400
    assert fields_of(resp) == expected


def test_workflow_names_are_unique_per_app(realm):
    onboarding(realm)
    other = copy.deepcopy(FLOW_SCHEMA)
    realm.ok("wfschemanew", key("bank", "account", **other))
    resp = realm.call("workflownew", key("bank", "account", name="onboard", flowrules=DONE))
    assert resp.status_code == 400 and fields_of(resp) == [("already_exist", "name")]
    realm.ok("workflownew", key("bank", "account", name="open", flowrules=DONE))


def test_kinds_do_not_mix(realm):
    onboarding(realm)
    order_rules(realm, app="bank", make_app=False)
    for call, payload, field in (("workflownew", key("bank", "order", name="x", flowrules=DONE), "class"),
                                 ("workflowget", key("bank", "order", name="main"), "class"),
                                 ("brerulesetget", wkey(), "class"),
                                 ("brerulesetnew", key("bank", "customer", name="x", ruleset=DONE), "class"),
                                 ("workflowactivate", key("bank", "customer", name="nope"), "name")):
        resp = realm.call(call, payload)
        assert resp.status_code == 404 and error_of(resp)["field"] == field, (call, resp.get_json())


def test_stepworkflows(realm, conn):
    onboarding(realm)
    realm.ok("workflownew", wf("kycflow", DONE))
    assert realm.ok("stepworkflownew", step(workflow="kycflow")) == {"slice": 1, "app": "bank", "step": "kyc",
                                                                      "workflow": "kycflow"}
    assert realm.ok("stepworkflowlist", {}) == {"stepworkflows": [{"slice": 1, "app": "bank", "step": "kyc",
                                                                   "workflow": "kycflow"}]}
    for payload, status, expected in ((step(workflow="kycflow"), 400, ("already_exist", "step")),
                                      (step("approve", "nothere"), 404, ("not_found", "workflow")),
                                      (step("audit", "kycflow"), 400, ("invalid", "step")),
                                      ({**step("approve", "kycflow"), "slice": 5}, 404, ("not_found", "slice")),
                                      (step("approve", "kycflow", app="nope"), 404, ("not_found", "app")),
                                      ({"slice": 1, "app": "bank", "step": "START", "workflow": "kycflow"}, 400,
                                       ("invalid", "step"))):
        resp = realm.call("stepworkflownew", payload)
        assert resp.status_code == status and fields_of(resp) == [expected], payload
    # a workflow that carries out a step cannot go
    realm.ok("workflowdeactivate", wf("kycflow"))
    resp = realm.call("workflowdelete", wkey("kycflow"))
    assert fields_of(resp) == [("not_allowed", "name")] and error_of(resp)["vals"] == ["kyc"]
    assert realm.ok("stepworkflowdelete", step(), method="delete")["workflow"] == "kycflow"
    resp = realm.call("stepworkflowdelete", step())
    assert resp.status_code == 404 and error_of(resp)["field"] == "step"
    realm.ok("workflowdelete", wkey("kycflow"))
    ops = [r["op"] for r in conn.execute("SELECT op FROM changelog WHERE realm = %s AND entity = 'stepworkflow' "
                                         "ORDER BY id", (realm.name,))]
    assert ops == ["insert", "delete"]


def test_capabilities_and_filtering(realm):
    onboarding(realm)
    onboarding(realm, app="shop")
    for app in ("bank", "shop"):
        realm.ok("stepworkflownew", step(workflow="onboard", app=app))
    realm.grant("designer", "schema", app="shop")
    realm.grant("writer", "ruleset", app="bank")
    realm.grant("rep", "report")
    for user in ("designer", "rep"):
        assert realm.call("workflownew", wf("x", DONE), user=user).status_code == 403
        assert realm.call("stepworkflownew", step("approve", "onboard"), user=user).status_code == 403
        assert realm.call("stepworkflowdelete", step(), user=user).status_code == 403
    realm.ok("workflownew", wf("x", DONE), user="writer")
    realm.ok("stepworkflownew", step("approve", "x"), user="writer")
    assert {w["app"] for w in realm.ok("workflowlist", {}, user="writer")["workflows"]} == {"bank"}
    assert {w["app"] for w in realm.ok("workflowlist", {}, user="rep")["workflows"]} == {"bank", "shop"}
    assert {w["app"] for w in realm.ok("stepworkflowlist", {}, user="designer")["stepworkflows"]} == {"shop"}
    assert {w["app"] for w in realm.ok("stepworkflowlist", {}, user="rep")["stepworkflows"]} == {"bank", "shop"}
    assert realm.ok("stepworkflowlist", {"app": "bank", "slice": 1}, user="writer")["stepworkflows"][0]["app"] == "bank"
    assert realm.call("stepworkflowlist", {"app": "shop"}, user="writer").status_code == 403
    assert realm.call("workflowlist", {"app": "shop"}, user="writer").status_code == 403
    assert realm.ok("workflowlist", {"name": "x"}, user="rep")["workflows"][0]["name"] == "x"
    assert realm.ok("stepworkflowlist", {"slice": 3}) == {"stepworkflows": []}


def test_other_realms_are_invisible(realm, other_realm):
    onboarding(other_realm)
    other_realm.ok("stepworkflownew", step(workflow="onboard"))
    realm.app_new("bank")
    assert realm.ok("workflowlist", {}) == {"workflows": []}
    assert realm.ok("stepworkflowlist", {}) == {"stepworkflows": []}
    assert realm.call("workflowget", wkey()).status_code == 404
    assert realm.call("stepworkflowdelete", step()).status_code == 404
    assert realm.call("stepworkflownew", step(workflow="onboard")).status_code == 404
    assert other_realm.ok("stepworkflowlist", {})["stepworkflows"][0]["workflow"] == "onboard"


def test_replacing_a_stepworkflow_is_one_change(realm, conn):
    """`crux load` replaces a step's workflow in one transaction: a refused replacement keeps the old one."""
    from crux.services.rules import RuleService
    onboarding(realm)
    realm.ok("workflownew", wf("kycflow", DONE))
    realm.ok("workflownew", wf("kycflow2", DONE))
    realm.ok("stepworkflownew", step(workflow="kycflow"))
    service, ident = RuleService(realm.crux.db), realm.crux.identities.authenticate(realm.token())
    with pytest.raises(CruxError):
        service.stepworkflow_new(ident, {**step(workflow="nothere"), "slice": 1}, replace=True)
    assert realm.ok("stepworkflowlist", {})["stepworkflows"][0]["workflow"] == "kycflow"
    service.stepworkflow_new(ident, {**step(workflow="kycflow2"), "slice": 1}, replace=True)
    assert realm.ok("stepworkflowlist", {})["stepworkflows"][0]["workflow"] == "kycflow2"
    ops = [r["op"] for r in conn.execute("SELECT op FROM changelog WHERE realm = %s AND entity = 'stepworkflow' "
                                         "ORDER BY id", (realm.name,))]
    assert ops == ["insert", "update"]


def _spare_schema(*tasks):
    return key("bank", "spare", patternschema=[{"attr": "step", "valtype": "enum", "vals": ["START", *tasks]},
                                               {"attr": "stepfailed", "valtype": "bool"}],
               actionschema={"tasks": list(tasks), "properties": ["nextstep", "done"]})


def test_a_mapped_step_keeps_its_schema(realm):
    """A workflow schema with no rulesets can change, or go, only if every step stepworkflow maps
    stays a step of some workflow schema of the app."""
    onboarding(realm)
    realm.ok("workflownew", wf("auditflow", DONE))
    realm.ok("wfschemanew", _spare_schema("audit", "kyc"))
    realm.ok("stepworkflownew", step("audit", "auditflow"))
    realm.ok("stepworkflownew", step("kyc", "auditflow"))
    for call, payload in (("wfschemaupdate", _spare_schema("kyc", "other")), ("wfschemadelete", key("bank", "spare"))):
        resp = realm.call(call, payload)
        assert fields_of(resp) == [("not_allowed", "actionschema.tasks")], resp.get_json()
        assert error_of(resp)["vals"] == ["audit"]       # kyc is still a step of class customer
    assert realm.ok("wfschemaget", key("bank", "spare"))["actionschema"]["tasks"] == ["audit", "kyc"]
    realm.ok("wfschemaupdate", _spare_schema("audit"))   # keeps the mapped step: fine
    realm.ok("stepworkflowdelete", step("audit"), method="delete")
    realm.ok("wfschemaupdate", _spare_schema("other"))
    realm.ok("wfschemadelete", key("bank", "spare"))
