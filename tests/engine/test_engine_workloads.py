"""The shared speed-anchor workloads (gen_workloads.py): every entity's action set equals
`expected`, through the compiled path and the traced path; the documents validate."""
from __future__ import annotations

import os

import pytest

from crux.engine import compile_family, convert_entity, validate_ruleset, validate_schema

from .helpers import gen_workloads

GW = gen_workloads()
# CI always has shared/ beside the checkout: there a missing generator is a failure, not a skip.
if GW is None and os.environ.get("CI"):
    raise RuntimeError("shared/bench/gen_workloads.py not found (set CRUX_SHARED_DIR)")
pytestmark = pytest.mark.skipif(GW is None, reason="shared/bench/gen_workloads.py not found")
NAMES = GW.WORKLOADS if GW else []


@pytest.mark.parametrize("name", NAMES)
def test_workload(name):
    wl = GW.build(name, 200)
    brwf = "W" if name.startswith("workflow") else "B"
    schema = wl["schema"]
    assert validate_schema(schema, brwf) == []
    known = {rs["name"]: rs["class"] for rs in wl["rulesets"]}
    calls = {rs["name"]: {c for r in rs["rules"] for c in
                          (r["ruleactions"]["thencall"], r["ruleactions"]["elsecall"]) if c}
             for rs in wl["rulesets"]}
    for rs in wl["rulesets"]:
        assert validate_ruleset(rs["rules"], schema, brwf, rs["name"], rs["class"], known,
                                calls) == []
    family = compile_family(schema, {rs["name"]: {"rules": rs["rules"], "is_active": True}
                                     for rs in wl["rulesets"]}, schema["class"], brwf)
    for k, (raw, want) in enumerate(zip(wl["entities"], wl["expected"], strict=True)):
        entity = convert_entity(family.schema, raw)
        r = family.match(wl["entry"], entity)
        assert {"tasks": r.tasks, "properties": r.properties} == want, f"entity {k}: {raw}"
        if k < 40:
            for trace in (1, 2):
                r = family.match(wl["entry"], entity, trace)
                assert {"tasks": r.tasks, "properties": r.properties} == want


def test_workflow_entities_converted_as_the_workflow_engine_does():
    wl = GW.build("workflow-100", 200)
    family = compile_family(wl["schema"], {rs["name"]: {"rules": rs["rules"]}
                                           for rs in wl["rulesets"]}, "case", "W")
    for raw, want in zip(wl["entities"], wl["expected"], strict=True):
        entity = convert_entity(family.schema, raw, workflow=True)
        assert "step" not in entity
        entity.update(step=raw["step"], stepfailed=raw["stepfailed"])
        r = family.match(wl["entry"], entity)
        assert {"tasks": r.tasks, "properties": r.properties} == want


def test_big_workflow_is_indexed_on_step():
    wl = GW.build("workflow-1000", 5)
    family = compile_family(wl["schema"], {rs["name"]: {"rules": rs["rules"]}
                                           for rs in wl["rulesets"]}, "case", "W")
    assert family.index_stats()["wf1000"].startswith("index(step:1001)")
