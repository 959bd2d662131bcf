"""`crux rules check` and `crux rules eval` through click's CliRunner."""
from __future__ import annotations

import json
import shutil

import click
from click.testing import CliRunner

from crux.cli.rules import rules

from .helpers import EXAMPLES

RETAIL = EXAMPLES / "retail"
ONBOARDING = EXAMPLES / "onboarding"


def run(*args):
    return CliRunner().invoke(rules, [str(a) for a in args])


def test_rules_is_a_click_group():
    assert isinstance(rules, click.Group)
    assert {"check", "eval"} <= set(rules.commands)


def test_check_examples_ok():
    res = run("check", *sorted(RETAIL.glob("*.json")), ONBOARDING)
    assert res.exit_code == 0, res.output
    assert res.output.strip() == "ok"


def test_check_finds_schema_in_same_directory():
    res = run("check", RETAIL / "loyalty.json")
    assert res.exit_code == 0 and res.output.strip() == "ok"


def test_check_reports_every_problem_with_its_path(tmp_path):
    for f in RETAIL.glob("*.json"):
        shutil.copy(f, tmp_path / f.name)
    main = json.loads((tmp_path / "main.json").read_text())
    main["ruleset"][1]["ruleactions"]["thencall"] = "nosuch"
    main["ruleset"][2]["rulepattern"][0]["val"] = "phone"
    main["ruleset"][3]["rulepattern"][0]["op"] = "gt"
    (tmp_path / "main.json").write_text(json.dumps(main))
    schema = json.loads((tmp_path / "schema.json").read_text())
    schema["patternschema"][0]["valtype"] = "money"
    (tmp_path / "other.json").write_text(json.dumps({**schema, "class": "other"}))
    res = run("check", tmp_path / "main.json", tmp_path / "other.json")
    assert res.exit_code == 1
    lines = res.output.strip().splitlines()
    main_path, other_path = tmp_path / "main.json", tmp_path / "other.json"
    assert f"{main_path}: ruleset[1].ruleactions.thencall: ruleset nosuch does not exist" in lines
    assert any(line.startswith(f"{main_path}: ruleset[2].rulepattern[0].val: ") for line in lines)
    assert any(line.startswith(f"{main_path}: ruleset[3].rulepattern[0].op: ") for line in lines)
    assert any(line.startswith(f"{other_path}: patternschema[0].valtype: ") for line in lines)
    assert lines[-1] == "4 problems"


def test_check_ruleset_without_schema(tmp_path):
    shutil.copy(RETAIL / "welcome.json", tmp_path / "welcome.json")
    res = run("check", tmp_path / "welcome.json")
    assert res.exit_code == 1
    assert f"{tmp_path / 'welcome.json'}: class: no schema for class order" in res.output


def test_check_entity_expectations(tmp_path):
    for f in RETAIL.glob("*.json"):
        shutil.copy(f, tmp_path / f.name)
    cases = json.loads((tmp_path / "entities.json").read_text())
    cases[1]["expect"]["tasks"] = ["nothing"]
    cases[2]["entity"]["amount"] = "lots"
    (tmp_path / "entities.json").write_text(json.dumps(cases))
    res = run("check", tmp_path / "entities.json")
    assert res.exit_code == 1
    assert f"{tmp_path / 'entities.json'}: [1].expect: expected " in res.output
    assert f"{tmp_path / 'entities.json'}: [2].entity.amount: " in res.output


def test_check_broken_json_and_unknown_document(tmp_path):
    (tmp_path / "broken.json").write_text("{nope")
    (tmp_path / "odd.json").write_text('{"hello": 1}')
    res = run("check", tmp_path / "broken.json", tmp_path / "odd.json")
    assert res.exit_code == 1
    assert "broken.json: cannot read JSON" in res.output
    assert "odd.json: not a schema, ruleset" in res.output


def test_check_stepworkflows(tmp_path):
    for f in ONBOARDING.glob("*.json"):
        shutil.copy(f, tmp_path / f.name)
    (tmp_path / "stepworkflows.json").write_text(json.dumps(
        [{"step": "accountsetup", "workflow": "nosuch"}, {"step": "nostep", "workflow": "setupaccount"}]))
    res = run("check", tmp_path / "stepworkflows.json")
    assert res.exit_code == 1
    assert "[0].workflow: workflow nosuch is not defined here" in res.output
    assert "[1].step: nostep is not a step" in res.output


def test_malformed_ruleset_is_reported_not_a_crash(tmp_path):
    """Entity cases and eval compile the class's rulesets: a malformed one is a problem line."""
    for f in RETAIL.glob("*.json"):
        shutil.copy(f, tmp_path / f.name)
    loyalty = json.loads((tmp_path / "loyalty.json").read_text())
    loyalty["ruleset"][0]["rulepattern"] = [5]
    (tmp_path / "loyalty.json").write_text(json.dumps(loyalty))
    res = run("check", tmp_path / "entities.json")
    assert res.exit_code == 1 and isinstance(res.exception, SystemExit), res.output
    assert "the rulesets of class order cannot be evaluated (loyalty.ruleset[0].rulepattern[0]" in res.output
    res = run("eval", "--schema", tmp_path / "schema.json", "--rulesets", tmp_path, "--entry", "main",
              "--entity", json.dumps(ENTITY))
    assert res.exit_code == 1 and isinstance(res.exception, SystemExit), res.output
    assert "loyalty.ruleset[0].rulepattern[0]" in res.output


ENTITY = {"amount": 90, "items": 40, "channel": "app", "member": True, "tier": "silver",
          "country": "US", "placed": "2026-12-21T10:00:00Z"}


def eval_args(entity, *extra):
    return ["eval", "--schema", RETAIL / "schema.json", "--rulesets", RETAIL, "--entry", "main",
            "--entity", json.dumps(entity), *extra]


def test_eval_prints_action_set():
    res = run(*eval_args(ENTITY))
    assert res.exit_code == 0, res.output
    assert json.loads(res.output) == {
        "tasks": ["loyaltypoints", "manualreview", "giftwrap"],
        "properties": {"discount": "10", "pointsmult": "2", "reviewreason": "bulk order"}}


def test_eval_trace_level1_text():
    res = run(*eval_args(ENTITY, "--trace", "1"))
    assert res.exit_code == 0
    text = res.output.split("trace (level 1):\n", 1)[1].splitlines()
    assert text == [
        "  main",
        "    rule 0: -   not matched",
        "    rule 1: +c  matched, calls loyalty",
        "    loyalty",
        "      rule 0: -   not matched",
        "      rule 1: <   matched, returns",
        "  main (continued)",
        "    rule 2: -   not matched",
        "    rule 3: -   not matched",
        "    rule 4: +c  matched, calls fraud",
        "    fraud",
        "      rule 0: -   not matched",
        "      rule 1: +   matched",
        "  main (continued)",
        "    rule 5: +   matched",
    ]


def test_eval_trace_level2_shows_terms():
    res = run(*eval_args(ENTITY, "--trace", "2"))
    assert res.exit_code == 0
    assert "        member eq true: value true -> true" in res.output
    assert '        placed ge "2026-12-20T00:00:00+05:30": value "2026-12-21T10:00:00Z" -> true' \
        in res.output
    assert "action set: tasks [" in res.output


def test_eval_json_with_tracedata(tmp_path):
    path = tmp_path / "entity.json"
    path.write_text(json.dumps(ENTITY))
    res = run("eval", "--schema", RETAIL / "schema.json", "--rulesets", RETAIL, "--entry",
              "main", "--entity", f"@{path}", "--trace", "1", "--json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["tracedata"]["entryruleset"] == "main"
    assert out["tracedata"]["visits"][0] == {"ruleset": "main", "rules": [
        {"r": 0, "res": "-"}, {"r": 1, "res": "+c", "nextset": "loyalty"}]}


def test_eval_workflow_step():
    res = run("eval", "--schema", ONBOARDING / "schema.json", "--rulesets", ONBOARDING,
              "--entry", "onboarding", "--entity",
              json.dumps({"risk": 3, "country": "IN", "step": "collectdocs", "stepfailed": False}))
    assert res.exit_code == 0, res.output
    assert json.loads(res.output) == {"tasks": ["kyccheck", "creditcheck", "addresscheck"],
                                      "properties": {"nextstep": "review"}}


def test_eval_errors():
    res = run(*eval_args({**ENTITY, "amount": "lots", "colour": "red"}))
    assert res.exit_code == 1
    assert "error: entity.amount: " in res.output and "error: entity.colour: " in res.output
    res = run("eval", "--schema", RETAIL / "schema.json", "--rulesets", RETAIL,
              "--entry", "nosuch", "--entity", json.dumps(ENTITY))
    assert res.exit_code == 1 and "error: ruleset nosuch does not exist" in res.output
    res = run(*eval_args(ENTITY)[:-1], "{not json")
    assert res.exit_code == 2
