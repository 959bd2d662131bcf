"""Property tests: the compiled matcher (fast and traced paths) against plain interpreters
of the SPEC §3 algorithm, on random schemas, rulesets (calls, return, exit, task tags, cycles,
dangling and foreign calls) and entities; and the fast entity converter against the plain one."""
from __future__ import annotations

import datetime as dt

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crux.engine import MatchError, ValidationFailed, compile_family, convert_entity
from crux.engine.entity import make_compiled_schema

from . import reference
from .helpers import canonical_rulesets, gen_workloads

UTC = dt.UTC
TASKS = ["t0", "t1", "t2", "t3", "t4"]
PROPS = ["p0", "p1", "p2"]
NAMES = ["r0", "r1", "r2", "r3"]
ENUM_VALS = ["x", "y", "z", "w"]
LITERALS = {
    "int": [-2, -1, 0, 1, 2],
    "float": [-1.5, 0, 1, 2.5, 0.1],
    "str": ["a", "b", "c", ""],
    "enum": ENUM_VALS,
    "bool": [True, False],
    "ts": ["2026-01-31T10:00:00Z", "2026-01-31T12:00:00+02:00", "2026-01-31T10:00:00.5Z",
           "2026-01-31T04:00:00-05:00"],
}
VALUES = {
    "int": [-2, 0, 1, 3],
    "float": [-1.5, 0.0, 1.0, 0.1, 2.5000001],
    "str": ["a", "b", "c", "", "ab"],
    "enum": ENUM_VALS,
    "bool": [True, False],
    "ts": [dt.datetime(2026, 1, 31, 9, tzinfo=UTC), dt.datetime(2026, 1, 31, 10, tzinfo=UTC),
           dt.datetime(2026, 1, 31, 10, 0, 0, 500000, tzinfo=UTC),
           dt.datetime(2026, 1, 31, 11, tzinfo=UTC)],
}
ORDERED = {"int", "float", "str", "ts"}
GW = gen_workloads()


@st.composite
def schemas(draw):
    extra = draw(st.lists(st.sampled_from(sorted(LITERALS)), min_size=0, max_size=4))
    pattern = [{"attr": "k", "valtype": "enum", "vals": ENUM_VALS}]
    for i, vt in enumerate(extra):
        entry = {"attr": f"v{i}", "valtype": vt}
        if vt == "enum":
            entry["vals"] = ENUM_VALS
        pattern.append(entry)
    return {"class": "thing", "patternschema": pattern,
            "actionschema": {"tasks": TASKS, "properties": PROPS}}


def term(draw, types):
    choice = draw(st.integers(0, 9))
    if choice < 4:      # equality on k: what the index uses
        return {"attr": "k", "op": draw(st.sampled_from(["eq", "eq", "eq", "ne"])),
                "val": draw(st.sampled_from(ENUM_VALS))}
    if choice < 6:      # a task tag
        return {"attr": draw(st.sampled_from(TASKS)), "op": draw(st.sampled_from(["eq", "ne"])),
                "val": draw(st.booleans())}
    attr = draw(st.sampled_from(sorted(types)))
    vt = types[attr]
    ops = ["eq", "ne", "lt", "le", "gt", "ge"] if vt in ORDERED else ["eq", "ne"]
    return {"attr": attr, "op": draw(st.sampled_from(ops)),
            "val": draw(st.sampled_from(LITERALS[vt]))}


CALLEES = st.one_of(st.just(""), st.just(""), st.just(""), st.just(""),
                    st.sampled_from(NAMES + ["zz", "nosuch"]))


@st.composite
def rules(draw, types):
    out = []
    for _ in range(draw(st.integers(1, 10))):
        flag = draw(st.sampled_from(["", "", "", "ret", "exit"]))
        out.append({
            "rulepattern": [term(draw, types) for _ in range(draw(st.integers(0, 3)))],
            "ruleactions": {
                "tasks": draw(st.lists(st.sampled_from(TASKS), max_size=2)),
                "properties": draw(st.dictionaries(st.sampled_from(PROPS),
                                                   st.sampled_from(["v0", "v1", "v2"]),
                                                   max_size=2)),
                "thencall": draw(CALLEES), "elsecall": draw(CALLEES),
                "willreturn": flag == "ret", "willexit": flag == "exit"}})
    return out


@st.composite
def scenarios(draw):
    schema = draw(schemas())
    types = {a["attr"]: a["valtype"] for a in schema["patternschema"]}
    n = draw(st.integers(1, len(NAMES)))
    rulesets = {name: {"rules": draw(rules(types))} for name in NAMES[:n]}
    rulesets["zz"] = {"class": "other", "rules": [{"rulepattern": [], "ruleactions": {}}]}
    entities = [{a: draw(st.sampled_from(VALUES[vt])) for a, vt in types.items()}
                for _ in range(draw(st.integers(1, 4)))]
    return schema, rulesets, entities


def kind_of(ex: MatchError) -> str:
    if ex.errcode == "not_found":
        return "unknown"
    if "cycle" in str(ex):
        return "cycle"
    assert "class" in str(ex), str(ex)
    return "foreign"


def compiled_outcome(family, entity, trace):
    try:
        r = family.match("r0", entity, trace)
        return ("ok", r.tasks, r.properties, r.visits)
    except MatchError as ex:
        return ("error", kind_of(ex))


def reference_outcome(schema, rulesets, entity, trace):
    try:
        tasks, props, visits = reference.interpret(schema, rulesets, "r0", entity, trace)
        return ("ok", tasks, props, visits)
    except reference.RefError as ex:
        return ("error", ex.kind)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_compiled_matches_reference(scenario):
    schema, rulesets, entities = scenario
    family = compile_family(schema, {n: {"rules": rs["rules"], **({"class": rs["class"]}
                                                                  if "class" in rs else {})}
                                     for n, rs in rulesets.items()}, "thing", "B")
    canon = canonical_rulesets(rulesets)
    for entity in entities:
        want2 = reference_outcome(schema, canon, entity, 2)
        want1 = reference_outcome(schema, canon, entity, 1)
        fast = compiled_outcome(family, entity, 0)
        if want2[0] == "ok":
            assert fast == ("ok", want2[1], want2[2], None)
        else:
            assert fast == want2
        assert compiled_outcome(family, entity, 1) == want1
        assert compiled_outcome(family, entity, 2) == want2
        if GW is not None:      # and the shared plain interpreter agrees on the action set
            shared = {n: {"name": n, "class": rs.get("class", "thing"), "rules": rs["rules"]}
                      for n, rs in canon.items()}
            try:
                got = GW.reference_match(schema, shared, "r0", entity)
                assert want2[0] == "ok" and got == {"tasks": want2[1], "properties": want2[2]}
            except GW.MatchError:
                assert want2[0] == "error"


RAW = st.one_of(
    st.none(), st.booleans(), st.integers(-10**20, 10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(alphabet="0123456789+-.eEZTt: xyzab", max_size=30),
    st.sampled_from(["2026-01-31T10:00:00Z", "2026-01-31T10:00:00.123+05:30", "true", "FALSE",
                     "12", "-3", "1.5e3", "x", "y", "web", "store"]),
    st.lists(st.integers(), max_size=2))

CONV_SCHEMA = {"class": "c", "patternschema": [
    {"attr": "i", "valtype": "int", "valmin": -5, "valmax": 10**6},
    {"attr": "f", "valtype": "float", "valmax": 1e9},
    {"attr": "s", "valtype": "str", "lenmin": 1, "lenmax": 5},
    {"attr": "e", "valtype": "enum", "vals": ["x", "y", "web"]},
    {"attr": "b", "valtype": "bool"},
    {"attr": "t", "valtype": "ts"}], "actionschema": {"tasks": ["a"], "properties": []}}
COMPILED = make_compiled_schema(CONV_SCHEMA)


@settings(max_examples=500, deadline=None)
@given(st.dictionaries(st.sampled_from(["i", "f", "s", "e", "b", "t", "class", "zz"]), RAW,
                       min_size=0, max_size=8))
def test_fast_converter_agrees_with_plain(entity):
    outs = []
    for doc in (CONV_SCHEMA, COMPILED):
        try:
            outs.append(("ok", convert_entity(doc, entity)))
        except ValidationFailed as ex:
            outs.append(("problems", [(p.field, p.errcode) for p in ex.problems]))
    assert outs[0] == outs[1]
    if outs[0][0] == "ok":
        out = outs[0][1]
        assert type(out["i"]) is int and type(out["f"]) is float and out["f"] == out["f"]
        assert type(out["b"]) is bool and out["t"].tzinfo is not None
