"""Wire compatibility with the original Crux service (issue 14, SPEC §2.2, §4.1, §4.3): the request
shapes its own clients and server-test fixtures send (remiges-tech/crux, server/*/test/data)."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from crux.cli import cli
from tests.conftest import TEST_SECRET, error_of

APP = "retailbank"
# An attribute as the original's Go client writes it: empty descriptions are sent, not left out.
STEP = {"attr": "step", "shortdesc": "", "longdesc": "", "valtype": "enum",
        "vals": ["START", "aof", "kycvalid", "nomauth"]}
FAILED = {"attr": "stepfailed", "shortdesc": "", "longdesc": "", "valtype": "bool"}
MODE = {"attr": "mode", "shortdesc": "Holding mode", "longdesc": "Demat or physical certificates.",
        "valtype": "enum", "vals": ["demat", "physical"]}
WF_ACTIONS = {"class": "", "tasks": ["aof", "kycvalid", "nomauth"], "properties": ["nextstep", "done"]}


def _headers(realm):
    return {"Authorization": f"Bearer {realm.token()}"}


# ---- 1. {"data": null} is a non-object payload ------------------------------------------------

@pytest.mark.parametrize("call", ["wfschemaList", "wfschemaNew", "workflowNew", "appnew", "brerulesetUpdate",
                                  "wFinstancemarkdone"])
def test_null_data_is_invalid_json(realm, call):
    resp = realm.call(call, raw=b'{"data": null}')
    assert resp.status_code == 400
    msg = error_of(resp)
    assert (msg["errcode"], msg["msgid"], msg["field"]) == ("invalid_json", 1006, "data")
    assert len(resp.get_json()["messages"]) == 1


# ---- 2. payload keys are matched without regard to case ---------------------------------------

def test_payload_keys_in_the_originals_spelling(realm):
    realm.app_new(APP, "Retail bank")
    made = realm.ok("breschemanew", {"slice": 1, "App": "retailBANK", "class": "members",
                                     "patternSchema": [MODE], "actionSchema": {"Tasks": ["aof"], "Properties": []}})
    assert made["app"] == APP and made["actionschema"] == {"tasks": ["aof"], "properties": []}
    got = realm.ok("breschemaget", {"Slice": 1, "APP": APP, "Class": "members"})
    assert got["patternschema"] == [MODE]
    # the wrapper too ("Data"), and on a hot call
    realm.ok("wfschemanew", {"slice": 1, "app": APP, "class": "custonboarding",
                             "patternschema": [STEP, FAILED, MODE], "actionschema": WF_ACTIONS})
    realm.ok("workflownew", {"slice": 1, "app": APP, "class": "custonboarding", "name": "onboard", "flowrules": [
        {"rulepattern": [{"attr": "step", "op": "eq", "val": "START"}],
         "ruleactions": {"tasks": ["aof"], "properties": {"nextstep": "aof"}}},
        {"rulepattern": [{"attr": "step", "op": "eq", "val": "aof"}],
         "ruleactions": {"properties": {"done": "true"}}}]})
    realm.ok("workflowactivate", {"slice": 1, "app": APP, "class": "custonboarding", "name": "onboard"})
    body = {"Data": {"Slice": 1, "App": APP, "EntityID": "c1", "Workflow": "onboard",
                     "Entity": {"class": "custonboarding", "mode": "demat"}}}
    resp = realm.client.post("/api/v1/wfinstancenew", json=body, headers=_headers(realm))
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["data"]["tasks"][0].keys() == {"aof"}


# ---- 3. the original's rule counters are accepted and ignored ---------------------------------

def _seed_rules():
    """Rules as the original's seed data and ruleset fixtures carry them."""
    return [{"NFailed": 0, "NMatched": 3,
             "rulepattern": [{"attr": "step", "op": "eq", "val": "START"}],
             "ruleactions": {"tasks": ["aof"], "properties": {"nextstep": "aof"}}},
            {"nfailed": 1, "nmatched": 0,
             "rulepattern": [{"attr": "step", "op": "eq", "val": "aof"}],
             "ruleactions": {"tasks": [], "properties": {"done": "true"}}}]


def test_rule_counters_are_accepted_and_ignored(realm):
    realm.app_new(APP, "Retail bank")
    key = {"slice": 1, "app": APP, "class": "custonboarding"}
    realm.ok("wfschemanew", {**key, "patternschema": [STEP, FAILED], "actionschema": WF_ACTIONS})
    made = realm.ok("workflownew", {**key, "name": "seeded", "flowrules": _seed_rules()})
    for rule in made["flowrules"]:
        assert set(rule) == {"rulepattern", "ruleactions"}
    # a counter is the only key let through: any other unknown key is still refused
    resp = realm.call("workflownew", {**key, "name": "other", "flowrules": [{**_seed_rules()[1], "nchecked": 1}]})
    assert resp.status_code == 400 and error_of(resp)["field"] == "flowrules[0].nchecked"


def test_rule_counters_load_through_crux_load(realm, database_url, settings, tmp_path):
    realm.app_new(APP, "Retail bank")
    folder = tmp_path / APP                  # a folder holds one app's files, named after it
    folder.mkdir()
    (folder / "schema.json").write_text(json.dumps({"class": "custonboarding", "brwf": "W",
                                                      "patternschema": [STEP, FAILED],
                                                      "actionschema": WF_ACTIONS}))
    (folder / "seeded.json").write_text(json.dumps({"class": "custonboarding", "name": "seeded",
                                                      "ruleset": _seed_rules()}))
    env = {"CRUX_DATABASE_URL": database_url, "CRUX_JWT_SECRET": TEST_SECRET, "CRUX_DATA_DIR": settings.data_dir,
           "CRUX_LOG_LEVEL": "warn"}
    result = CliRunner().invoke(cli, ["load", str(folder), "--realm", realm.name, "--slice", "1"], env=env)
    assert result.exit_code == 0, result.output
    got = realm.ok("workflowget", {"slice": 1, "app": APP, "class": "custonboarding", "name": "seeded"})
    assert [r["ruleactions"]["properties"] for r in got["flowrules"]] == [{"nextstep": "aof"}, {"done": "true"}]


# ---- 4. schema get answers the app's longname and descriptions as stored ----------------------

@pytest.mark.parametrize("prefix,attrs,actions", [("wfschema", [STEP, FAILED, MODE], WF_ACTIONS),
                                                   ("breschema", [MODE], {"tasks": ["aof"], "properties": []})])
def test_schema_get_answers_longname_and_descriptions(realm, prefix, attrs, actions):
    realm.app_new("RetailBank", "Retail banking")
    key = {"slice": 1, "app": "retailbank", "class": "members"}
    realm.ok(prefix + "new", {**key, "patternschema": attrs, "actionschema": actions})
    got = realm.ok(prefix + "get", key)
    assert got["longname"] == "Retail banking"
    assert list(got)[:4] == ["slice", "app", "longname", "class"]
    assert got["patternschema"] == attrs     # "" descriptions kept, texts as sent
    listed = realm.ok(prefix + "list", {})
    assert [(s["app"], s["longname"]) for s in listed] == [("retailbank", "Retail banking")]


# ---- 5. GET reaches list calls sent without a body; other methods are a 405 with Allow --------

@pytest.mark.parametrize("call", ["applist", "realmslicelist", "wfschemaList", "breschemalist", "workflowlist",
                                  "brerulesetlist", "stepworkflowlist", "caplist", "configget", "wfinstancelist"])
def test_get_reaches_list_calls_without_a_body(realm, call):
    resp = realm.client.get(f"/api/v1/{call}", headers=_headers(realm))
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["status"] == "success"
    assert realm.client.get(f"/api/v1/{call}", headers=_headers(realm)).get_json() == \
        realm.call(call, {}).get_json()


def test_get_of_realmsliceapps_by_path(realm):
    realm.app_new(APP, "Retail bank")
    realm.ok("breschemanew", {"slice": 1, "app": APP, "class": "members", "patternschema": [MODE],
                              "actionschema": {"tasks": ["aof"], "properties": []}})
    resp = realm.client.get("/api/v1/realmsliceapps/1", headers=_headers(realm))
    assert resp.status_code == 200 and resp.get_json()["data"] == [{"shortname": APP, "longname": "Retail bank"}]
    resp = realm.client.get("/api/v1/realmsliceapps/one", headers=_headers(realm))
    assert resp.status_code == 400 and error_of(resp)["field"] == "id"


@pytest.mark.parametrize("method,call,allow", [("GET", "appnew", "POST"), ("PUT", "applist", "POST, GET"),
                                               ("DELETE", "workflowupdate", "POST, PUT"),
                                               ("PATCH", "wfinstancemarkdone", "POST"),
                                               ("GET", "appdelete/shop", "POST, DELETE"),
                                               ("PUT", "realmsliceapps/1", "POST, GET")])
def test_a_method_a_call_does_not_take_is_a_405_with_allow(realm, method, call, allow):
    resp = realm.client.open(f"/api/v1/{call}", method=method, headers=_headers(realm), json={"data": {}})
    assert resp.status_code == 405 and resp.headers["Allow"] == allow
    msg = error_of(resp)
    assert (msg["errcode"], msg["field"], msg["vals"]) == ("method_not_allowed", "method", [method])


def test_a_405_changes_nothing(realm, conn):
    realm.app_new("shop", "Shop")
    resp = realm.client.get("/api/v1/appdelete/shop", headers=_headers(realm))
    assert resp.status_code == 405
    assert [a["name"] for a in realm.ok("applist")["apps"]] == ["shop"]
    assert conn.execute("SELECT count(*) AS n FROM changelog WHERE realm = %s AND entity = 'app' AND op = 'delete'",
                        (realm.name,)).fetchone()["n"] == 0
    resp = realm.client.delete("/api/v1/appdelete/shop", headers=_headers(realm))
    assert resp.status_code == 200 and realm.ok("applist")["apps"] == []


# ---- 6. rules are answered without empty thencall/elsecall ------------------------------------

def test_rules_answered_without_empty_calls(realm):
    realm.app_new(APP, "Retail bank")
    key = {"slice": 1, "app": APP, "class": "members"}
    realm.ok("breschemanew", {**key, "patternschema": [MODE], "actionschema": {"tasks": ["aof"], "properties": []}})
    realm.ok("brerulesetnew", {**key, "name": "callee", "ruleset": [
        {"rulepattern": [], "ruleactions": {"tasks": ["aof"], "thencall": "", "elsecall": None}}]})
    realm.ok("brerulesetnew", {**key, "name": "caller", "ruleset": [
        {"rulepattern": [{"attr": "mode", "op": "eq", "val": "demat"}],
         "ruleactions": {"tasks": [], "thencall": "callee", "doexit": True}}]})
    callee = realm.ok("brerulesetget", {**key, "name": "callee"})["ruleset"][0]["ruleactions"]
    assert "thencall" not in callee and "elsecall" not in callee
    caller = realm.ok("brerulesetget", {**key, "name": "caller"})["ruleset"][0]["ruleactions"]
    assert caller["thencall"] == "callee" and "elsecall" not in caller
    assert caller["willexit"] is True and caller["willreturn"] is False
