"""The examples/ documents validate, and their entity cases give the expected action sets."""
from __future__ import annotations

import pytest

from crux.engine import compile_family, convert_entity, normalize_schema, validate_ruleset, validate_schema

from .helpers import EXAMPLES, load_json


def _load(folder):
    schemas, rulesets = {}, {}
    for path in sorted((EXAMPLES / folder).glob("*.json")):
        doc = load_json(path)
        if isinstance(doc, dict) and "patternschema" in doc:
            schemas[doc["class"]] = doc
        elif isinstance(doc, dict) and "ruleset" in doc:
            rulesets[doc["name"]] = doc
    return schemas, rulesets


def _families(schemas, rulesets):
    out = {}
    for cls, schema in schemas.items():
        mine = {n: {"rules": d["ruleset"], "is_active": True,
                    "is_internal": d.get("is_internal", False)}
                for n, d in rulesets.items() if d["class"] == cls}
        foreign = {n: d["class"] for n, d in rulesets.items() if d["class"] != cls}
        out[cls] = compile_family(schema, mine, cls, schema["brwf"], foreign=foreign)
    return out


@pytest.mark.parametrize("folder", ["retail", "onboarding"])
def test_example_documents_validate(folder):
    schemas, rulesets = _load(folder)
    assert schemas and rulesets
    known = {n: d["class"] for n, d in rulesets.items()}
    calls = {n: {c for r in d["ruleset"] for c in (r["ruleactions"].get("thencall"),
                                                   r["ruleactions"].get("elsecall")) if c}
             for n, d in rulesets.items()}
    for cls, schema in schemas.items():
        assert validate_schema(schema, schema["brwf"]) == [], cls
    for name, doc in rulesets.items():
        schema = schemas[doc["class"]]
        assert validate_ruleset(doc["ruleset"], normalize_schema(schema), schema["brwf"], name,
                                doc["class"], known, calls) == [], name


@pytest.mark.parametrize("folder", ["retail", "onboarding"])
def test_example_entities(folder):
    schemas, rulesets = _load(folder)
    families = _families(schemas, rulesets)
    cases = load_json(EXAMPLES / folder / "entities.json")
    assert len(cases) >= 5
    for case in cases:
        family = families[rulesets[case["entry"]]["class"]]
        raw = case["entity"]
        if family.brwf == "W":
            entity = convert_entity(family.schema, raw, workflow=True)
            entity.update(step=raw["step"], stepfailed=raw["stepfailed"])
        else:
            entity = convert_entity(family.schema, raw)
        for trace in (0, 2):
            got = family.match(case["entry"], entity, trace)
            assert got.actionset() == case["expect"], case["name"]


def test_retail_uses_every_feature():
    _, rulesets = _load("retail")
    acts = [r["ruleactions"] for d in rulesets.values() for r in d["ruleset"]]
    keys = {k.lower() for a in acts for k, v in a.items() if v}
    assert {"thencall", "elsecall", "willexit", "exit", "willreturn", "doreturn"} & keys
    assert any(k in keys for k in ("willexit", "exit"))
    assert any(k in keys for k in ("willreturn", "doreturn", "return"))
    assert "elsecall" in keys and "thencall" in keys
    tasks = set(load_json(EXAMPLES / "retail" / "schema.json")["actionschema"]["tasks"])
    assert any(t["attr"] in tasks for d in rulesets.values() for r in d["ruleset"]
               for t in r["rulepattern"])


def test_onboarding_workflow_shape():
    schemas, rulesets = _load("onboarding")
    families = _families(schemas, rulesets)
    steps = families["customer"].steps_of("onboarding")
    concurrent = [s for s in steps if len(s["tasks"]) > 1]
    assert concurrent[0]["from"] == ["collectdocs"]
    assert concurrent[0]["tasks"] == ["kyccheck", "creditcheck", "addresscheck"]
    assert concurrent[0]["nextstep"] == "review"
    remedial = [s for s in steps if s["from"] == ["kyccheck"] and s["stepfailed"]]
    assert remedial[0]["tasks"] == ["manualkyc"] and remedial[0]["nextstep"] == "review"
    stepwf = load_json(EXAMPLES / "onboarding" / "stepworkflows.json")
    assert stepwf == [{"step": "accountsetup", "workflow": "setupaccount"}]
    assert rulesets["setupaccount"]["class"] == "account"
    assert "accountsetup" in schemas["customer"]["actionschema"]["tasks"]
