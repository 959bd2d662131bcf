"""`crux load` and the demo content: folders of schema/ruleset/workflow files, loaded through the
same checks as the API, idempotently."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest
from click.testing import CliRunner

from crux.cli import cli
from crux.cli.load import load_demo, load_folder, loader_identity
from tests.conftest import ROOT, TEST_SECRET
from tests.rules_data import eventually, record_statements

EXAMPLES = ROOT / "examples"


@pytest.fixture
def cli_env(database_url, settings):
    return {"CRUX_DATABASE_URL": database_url, "CRUX_JWT_SECRET": TEST_SECRET, "CRUX_DATA_DIR": settings.data_dir,
            "CRUX_LOG_LEVEL": "warn"}


def load(cli_env, folder, realm, *more):
    return CliRunner().invoke(cli, ["load", str(folder), "--realm", realm.name, "--slice", "1", *more], env=cli_env)


def test_load_the_retail_example_and_evaluate_its_entities(cli_env, realm):
    result = load(cli_env, EXAMPLES / "retail", realm, "--create-app", "--activate")
    assert result.exit_code == 0, result.output
    assert "schema order: created" in result.output and "activate main: 4 traversed, 4 activated" in result.output
    for case in json.loads((EXAMPLES / "retail" / "entities.json").read_text()):
        got = realm.ok("breapplyrules",
                       {"slice": 1, "app": "retail", "ruleset": case["entry"], "entity": case["entity"]})
        assert got == case["expect"], case["name"]
    again = load(cli_env, EXAMPLES / "retail", realm, "--activate")
    assert again.exit_code == 0 and "5 unchanged; 0 problem(s)" in again.output


def test_load_reports_every_problem_with_file_and_path(cli_env, realm, tmp_path):
    realm.app_new("bank")
    shutil.copy(EXAMPLES / "onboarding" / "schema.json", tmp_path / "schema.json")
    (tmp_path / "flow.json").write_text(json.dumps({"class": "customer", "name": "flow", "ruleset": [
        {"rulepattern": [{"attr": "risk", "op": "gt", "val": "x"}], "ruleactions": {"tasks": ["nope"]}}]}))
    (tmp_path / "junk.json").write_text("{oops")
    (tmp_path / "other.json").write_text('{"hello": 1}')
    (tmp_path / "steps.json").write_text('[{"step": "review", "workflow": "nothere"}]')
    (tmp_path / "order.json").write_text(json.dumps({"class": "order", "name": "x", "ruleset": []}))
    result = load(cli_env, tmp_path, realm, "--app", "bank")
    assert result.exit_code == 1
    lines = result.output.splitlines()
    for expected in (f"{tmp_path}/junk.json: not valid JSON",
                     f"{tmp_path}/other.json: not a schema, ruleset, workflow or stepworkflows file",
                     f"{tmp_path}/flow.json: ruleset[0].rulepattern[0].val: invalid:",
                     f"{tmp_path}/flow.json: ruleset[0].ruleactions.tasks[0]: not_found:",
                     f"{tmp_path}/flow.json: ruleset[0].rulepattern: required:",
                     f"{tmp_path}/order.json: class: not_found:",
                     f"{tmp_path}/steps.json: workflow: not_found:"):
        assert any(line.startswith(expected) for line in lines), (expected, result.output)
    assert "schema customer: created" in result.output


def test_load_updates_what_changed_and_refuses_active_rulesets(cli_env, realm, tmp_path):
    folder = tmp_path / "retail"
    shutil.copytree(EXAMPLES / "retail", folder)
    assert load(cli_env, folder, realm, "--create-app").exit_code == 0
    welcome = json.loads((folder / "welcome.json").read_text())
    welcome["ruleset"][0]["ruleactions"]["properties"]["discount"] = "7"
    (folder / "welcome.json").write_text(json.dumps(welcome))
    result = load(cli_env, folder, realm, "--activate")
    assert result.exit_code == 0 and "ruleset welcome: updated" in result.output
    welcome["ruleset"][0]["ruleactions"]["properties"]["discount"] = "8"
    (folder / "welcome.json").write_text(json.dumps(welcome))
    result = load(cli_env, folder, realm)
    assert result.exit_code == 1 and f"{folder}/welcome.json: name: not_allowed:" in result.output
    entity = {"amount": 150, "items": 1, "channel": "store", "member": False, "tier": "none", "country": "IN",
              "placed": "2026-03-01T10:00:00Z"}

    def discount():
        resp = realm.call("breapplyrules", {"slice": 1, "app": "retail", "ruleset": "main", "entity": entity})
        return resp.status_code == 200 and resp.get_json()["data"]["properties"].get("discount")

    assert eventually(discount) == "7"


def test_load_needs_an_existing_realm_and_app(cli_env, realm):
    result = CliRunner().invoke(cli, ["load", str(EXAMPLES / "retail"), "--realm", "norealm", "--slice", "1"],
                                env=cli_env)
    assert result.exit_code != 0 and "realm norealm does not exist" in result.output
    result = load(cli_env, EXAMPLES / "retail", realm)
    assert result.exit_code == 1 and "schema.json: app: not_found" in result.output


def test_demo_content_is_loaded_once(settings, database_url, realm):
    first = load_demo(settings, database_url, realm.name, "admin")
    assert "Problems" not in first and "(10 loaded now)" in first
    second = load_demo(settings, database_url, realm.name, "admin")
    assert "Problems" not in second and "(0 loaded now)" in second
    workflows = realm.ok("workflowlist", {"app": "onboarding"})["workflows"]
    assert {(w["name"], w["is_active"]) for w in workflows} == {("onboarding", True), ("setupaccount", True)}
    assert all(r["is_active"] for r in realm.ok("brerulesetlist", {"app": "retail"})["rulesets"])
    assert realm.ok("stepworkflowlist", {})["stepworkflows"] == [
        {"slice": 1, "app": "onboarding", "step": "accountsetup", "workflow": "setupaccount"}]
    family, cls = realm.crux.rules.workflow(realm.name, 1, "onboarding", "onboarding")
    case = json.loads((EXAMPLES / "onboarding" / "entities.json").read_text())[0]
    typed = family.convert_entity({**case["entity"], "step": "START", "stepfailed": False})
    result = family.match(case["entry"], typed)
    assert {"tasks": result.tasks, "properties": result.properties} == case["expect"] and cls == "customer"


def test_a_reload_reads_each_record_once(db, realm, monkeypatch):
    realm.app_new("retail")
    ident = loader_identity(realm.name, "admin")
    assert load_folder(db, ident, EXAMPLES / "retail", 1).counts == {"created": 5}
    sent = record_statements(monkeypatch)
    assert load_folder(db, ident, EXAMPLES / "retail", 1).counts == {"unchanged": 5}
    assert len(sent) == 1 + 4 * 2, sent       # the schema; each ruleset with its schema


def test_the_command_line_does_not_import_the_web_modules():
    code = "import sys, crux.cli; print(sorted(m for m in sys.modules if m.startswith('crux.api')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"
