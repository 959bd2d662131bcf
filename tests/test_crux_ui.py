"""crux-ui, the rule manager of the original service, against a served demo (issue 8 deliver 1).

The requests below are the ones crux-ui sends (remiges-tech/crux-ui, src/services/*.ts and the
workflow and realm-slice components): the same paths in its spelling, methods and bodies (with or
without the `data` wrapper, as it sends each). The checks are on what it reads from the answers.
It sends no token itself (a proxy in front adds one); the test adds the header.
"""
from __future__ import annotations

import copy

import pytest

from crux.common.config import Settings
from crux.services.tokens import TokenVerifier
from tests.conftest import TEST_SECRET, new_database
from tests.http_server import Server
from tests.rules_data import eventually

APP, CLASS = "onboarding", "customer"


class UI:
    """The demo as crux-ui sees it: POST (or GET) /api/v1/<its path>, an envelope back."""

    def __init__(self, server: Server):
        self.server = server
        self.token = TokenVerifier(Settings(jwt_secret=TEST_SECRET)).mint("demo", "admin")

    def send(self, path: str, body=None, method: str = "POST"):
        status, envelope = self.server.request(method, f"/api/v1{path}", body, self.token)
        assert status == 200 and envelope["status"] == "success", (path, body, status, envelope)
        return envelope["data"]

    def build_rtree(self, slice_id: int, name: str, seen: dict) -> list[dict]:
        """breschema.service.ts buildRtree: a workflow, then every workflow a rule calls
        (`thencall != null`, so an empty string would count as a call)."""
        got = self.send("/workflowget", {"data": {"app": APP, "class": CLASS, "slice": slice_id, "name": name}})
        seen.setdefault(got["name"], got)
        tree = []
        for rule in got["flowrules"]:
            node = {"setname": got["name"], "rulePattern": rule["rulepattern"], "ruleActions": rule["ruleactions"]}
            if rule["ruleactions"].get("thencall") is not None:
                node["thenRuleset"] = self.build_rtree(slice_id, rule["ruleactions"]["thencall"], seen)
            if rule["ruleactions"].get("elsecall") is not None:
                node["elseRuleset"] = self.build_rtree(slice_id, rule["ruleactions"]["elsecall"], seen)
            tree.append(node)
        return tree


@pytest.fixture(scope="module")
def ui(server_url, tmp_path_factory):
    with new_database(server_url, "crux_ui") as url:
        server = Server(url, tmp_path_factory.mktemp("crux-ui"), workers=1, command="demo")
        try:
            eventually(server.ready, timeout=90, interval=0.2)
            yield UI(server)
        finally:
            server.stop()


def _dialog_rule(pattern, tasks, properties, *, exit=False, ret=False, thencall=None) -> dict:
    """A rule as the rule dialog (rule-modal.component.ts saveHandler) builds it."""
    actions = {"tasks": tasks, "properties": properties}
    if thencall is not None:          # set only when a callee was picked (and its tree built)
        actions["thencall"] = thencall
    actions["return"], actions["exit"] = ret, exit
    return {"rulepattern": pattern, "ruleactions": actions}


def test_opening_the_demo_workflows(ui):
    schemas = ui.send("/wfschemaList", {})
    # the app, slice and class pickers (common.service.ts)
    mine = [s for s in schemas if s["app"] == APP and s["class"] == CLASS]
    assert mine and isinstance(mine[0]["longname"], str) and mine[0]["longname"]
    assert isinstance(mine[0]["slicedesc"], str) and mine[0]["slice"] == 1
    slices = ui.send("/realmslicelist", {})["slices"]
    assert [(s["id"], s["active"]) for s in slices][:1] == [(1, True)] and all("descr" in s for s in slices)
    schema = ui.send("/wfschemaget", {"data": {"app": APP, "class": CLASS, "slice": 1}})
    attrs = {a["attr"]: a for a in schema["patternschema"]}
    assert attrs["risk"]["shortdesc"] == "risk score" and attrs["risk"]["longdesc"]
    assert all(a["valtype"] and "shortdesc" in a and "longdesc" in a for a in schema["patternschema"])
    assert "nextstep" in schema["actionschema"]["properties"]
    workflows = ui.send("/workflowlist", {"data": {"app": APP, "class": CLASS, "slice": 1}})["workflows"]
    assert "onboarding" in [w["name"] for w in workflows]
    for flow in workflows:
        assert {"name", "is_active", "is_internal", "createdby", "createdat", "editedby", "editedat"} <= set(flow)
        seen: dict = {}
        tree = ui.build_rtree(1, flow["name"], seen)      # every call it follows exists
        assert tree and all(isinstance(n["ruleActions"]["properties"], dict) for n in tree)
        assert all(set(n["ruleActions"]) >= {"tasks", "properties", "return", "exit"} for n in tree)


def test_create_edit_and_save_keep_exit_and_change_nothing_else(ui):
    key = {"app": APP, "class": CLASS, "slice": 1}
    # a callee, then a new workflow from the dialog (rule actions as the form holds them)
    ui.send("/workflowNew", {"data": {**key, "name": "uisub", "is_internal": False, "flowrules": [
        {"rulepattern": [{"attr": "step", "op": "eq", "val": "review"}],
         "ruleactions": {"tasks": ["accountsetup"], "properties": {"nextstep": "accountsetup"},
                         "thencall": "", "elsecall": "", "exit": False, "return": False}}]}})
    ui.send("/workflowNew", {"data": {**key, "name": "uiflow", "is_internal": False, "flowrules": [
        {"rulepattern": [{"attr": "step", "op": "eq", "val": "START"}],
         "ruleactions": {"tasks": ["collectdocs"], "properties": {"nextstep": "collectdocs"},
                         "thencall": "", "elsecall": "", "exit": False, "return": False}}]}})
    # add a rule that exits and calls uisub: the whole ruleset goes back through workflowUpdate
    seen: dict = {}
    ui.build_rtree(1, "uiflow", seen)
    ruleset = copy.deepcopy(seen["uiflow"])
    ruleset["flowrules"].append(_dialog_rule([{"attr": "step", "op": "eq", "val": "collectdocs"}],
                                             ["kyccheck"], {"nextstep": "kyccheck"}, exit=True, thencall="uisub"))
    ui.send("/workflowUpdate", {"data": ruleset})
    seen = {}
    tree = ui.build_rtree(1, "uiflow", seen)
    assert tree[1]["ruleActions"]["exit"] is True and tree[1]["ruleActions"]["willexit"] is True
    assert [n["setname"] for n in tree[1]["thenRuleset"]] == ["uisub"]
    before = seen["uiflow"]

    # edit the first rule: the dialog rebuilds it; the exiting rule goes back as it was read
    edited = copy.deepcopy(before)
    first = before["flowrules"][0]
    edited["flowrules"][0] = _dialog_rule(first["rulepattern"], ["collectdocs", "kyccheck"], {"nextstep": "review"},
                                          exit=first["ruleactions"]["exit"], ret=first["ruleactions"]["return"])
    ui.send("/workflowUpdate", {"data": edited})
    seen = {}
    ui.build_rtree(1, "uiflow", seen)
    after = seen["uiflow"]
    assert after["flowrules"][0]["ruleactions"]["tasks"] == ["collectdocs", "kyccheck"]
    assert after["flowrules"][1] == before["flowrules"][1]          # willexit kept, nothing else moved
    assert {k: v for k, v in after.items() if k not in ("flowrules", "editedat")} == \
        {k: v for k, v in before.items() if k not in ("flowrules", "editedat")}

    # edit the exiting rule itself: the dialog sends back the exit it read
    second = after["flowrules"][1]
    again = copy.deepcopy(after)
    again["flowrules"][1] = _dialog_rule(second["rulepattern"], ["kyccheck", "creditcheck"], {"nextstep": "review"},
                                         exit=second["ruleactions"]["exit"], ret=second["ruleactions"]["return"],
                                         thencall=second["ruleactions"]["thencall"])
    ui.send("/workflowUpdate", {"data": again})
    seen = {}
    ui.build_rtree(1, "uiflow", seen)
    kept = seen["uiflow"]["flowrules"][1]["ruleactions"]
    assert (kept["willexit"], kept["exit"], kept["thencall"]) == (True, True, "uisub")
    assert kept["tasks"] == ["kyccheck", "creditcheck"]
    assert seen["uiflow"]["flowrules"][0] == after["flowrules"][0]


def test_copy_and_switch_a_slice(ui):
    new = ui.send("/realmslicenew", {"copyof": 1, "app": [APP], "descr": "ui copy"})   # no data wrapper
    assert isinstance(new, int) and new > 1
    apps = ui.send(f"/realmsliceapps/{new}", method="GET")
    assert [(a["shortname"], bool(a["longname"])) for a in apps] == [(APP, True)]
    ui.send("/realmsliceactivate", {"data": {"id": new}})
    assert {s["id"]: s["active"] for s in ui.send("/realmslicelist", {})["slices"]}[new] is True
    ui.send("/realmslicedeactivate", {"data": {"id": new}})
    listed = {s["id"]: s for s in ui.send("/realmslicelist", {})["slices"]}
    assert listed[new]["active"] is False and listed[new]["descr"] == "ui copy"
