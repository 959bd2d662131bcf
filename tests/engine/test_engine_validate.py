"""Validation (SPEC §2): schemas B and W, rulesets B and W, entities — each problem with its
exact path, and every problem reported together."""
from __future__ import annotations

import copy
import datetime as dt

import pytest

from crux.engine import (
    ValidationFailed,
    compile_family,
    convert_entity,
    make_converter,
    normalize_rules,
    normalize_schema,
    validate_ruleset,
    validate_schema,
)
from crux.engine.entity import make_compiled_schema

SCHEMA = {
    "slice": 1, "app": "retail", "class": "order",
    "patternschema": [
        {"attr": "amount", "valtype": "float", "valmin": 0, "valmax": 10000},
        {"attr": "qty", "valtype": "int", "valmin": 1},
        {"attr": "channel", "valtype": "enum", "vals": ["web", "store"]},
        {"attr": "member", "valtype": "bool"},
        {"attr": "placed", "valtype": "timestamp"},
        {"attr": "coupon", "valtype": "str", "lenmin": 2, "lenmax": 8}],
    "actionschema": {"tasks": ["freeship", "review"], "properties": ["discount"]}}

WF_SCHEMA = {
    "class": "customer",
    "patternschema": [
        {"attr": "step", "valtype": "enum", "vals": ["START", "collect", "check", "setup"]},
        {"attr": "stepfailed", "valtype": "bool"},
        {"attr": "risk", "valtype": "int"}],
    "actionschema": {"tasks": ["collect", "check", "setup"], "properties": ["nextstep", "done"]}}


def fields(problems):
    return [(p.field, p.errcode) for p in problems]


def mutate(doc, fn):
    doc = copy.deepcopy(doc)
    fn(doc)
    return doc


# ---------------------------------------------------------------------------- schema, B --

def test_valid_schema_and_normal_form():
    assert validate_schema(SCHEMA, "B") == []
    norm = normalize_schema(SCHEMA)
    assert norm["patternschema"][4] == {"attr": "placed", "valtype": "ts"}
    assert set(norm) == {"class", "patternschema", "actionschema"}
    assert validate_schema(norm, "B") == []


SCHEMA_B_CASES = [
    ("class missing", lambda d: d.pop("class"), [("class", "required")]),
    ("class not identifier", lambda d: d.update({"class": "Order"}), [("class", "invalid")]),
    ("patternschema missing", lambda d: d.pop("patternschema"), [("patternschema", "required")]),
    ("patternschema empty", lambda d: d.update({"patternschema": []}),
     [("patternschema", "empty")]),
    ("patternschema not a list", lambda d: d.update({"patternschema": {}}),
     [("patternschema", "invalid")]),
    ("attr missing", lambda d: d["patternschema"][1].pop("attr"),
     [("patternschema[1].attr", "required")]),
    ("attr not identifier", lambda d: d["patternschema"][1].update({"attr": "Qty"}),
     [("patternschema[1].attr", "invalid")]),
    ("valtype unknown", lambda d: d["patternschema"][1].update({"valtype": "integer"}),
     [("patternschema[1].valtype", "invalid")]),
    ("valtype missing", lambda d: d["patternschema"][3].pop("valtype"),
     [("patternschema[3].valtype", "required")]),
    ("enum without vals", lambda d: d["patternschema"][2].pop("vals"),
     [("patternschema[2].vals", "required")]),
    ("enum with empty vals", lambda d: d["patternschema"][2].update({"vals": []}),
     [("patternschema[2].vals", "empty")]),
    ("enum value not identifier", lambda d: d["patternschema"][2].update({"vals": ["web", "In Store"]}),
     [("patternschema[2].vals[1]", "invalid")]),
    ("enum value START outside a workflow", lambda d: d["patternschema"][2].update({"vals": ["web", "START"]}),
     [("patternschema[2].vals[1]", "invalid")]),
    ("enum value twice", lambda d: d["patternschema"][2].update({"vals": ["web", "store", "web"]}),
     [("patternschema[2].vals[2]", "already_exist")]),
    ("enum value not a string", lambda d: d["patternschema"][2].update({"vals": ["web", 3]}),
     [("patternschema[2].vals[1]", "invalid")]),
    ("vals on a non-enum", lambda d: d["patternschema"][0].update({"vals": ["a"]}),
     [("patternschema[0].vals", "not_allowed")]),
    ("attribute twice", lambda d: d["patternschema"].append({"attr": "qty", "valtype": "str"}),
     [("patternschema[6].attr", "already_exist")]),
    ("attribute named class", lambda d: d["patternschema"].append({"attr": "class", "valtype": "str"}),
     [("patternschema[6].attr", "not_allowed")]),
    ("valmin on a string", lambda d: d["patternschema"][5].update({"valmin": 1}),
     [("patternschema[5].valmin", "not_allowed")]),
    ("lenmax on a number", lambda d: d["patternschema"][1].update({"lenmax": 3}),
     [("patternschema[1].lenmax", "not_allowed")]),
    ("valmin above valmax", lambda d: d["patternschema"][0].update({"valmin": 20000}),
     [("patternschema[0].valmax", "invalid")]),
    ("lenmin above lenmax", lambda d: d["patternschema"][5].update({"lenmin": 9}),
     [("patternschema[5].lenmax", "invalid")]),
    ("valmin not a number", lambda d: d["patternschema"][0].update({"valmin": "0"}),
     [("patternschema[0].valmin", "invalid")]),
    ("lenmin negative", lambda d: d["patternschema"][5].update({"lenmin": -1}),
     [("patternschema[5].lenmin", "invalid")]),
    ("tasks and properties both empty", lambda d: d.update({"actionschema": {"tasks": [], "properties": []}}),
     [("actionschema", "empty")]),
    ("actionschema missing", lambda d: d.pop("actionschema"), [("actionschema", "required")]),
    ("task not identifier", lambda d: d["actionschema"].update({"tasks": ["free-ship"]}),
     [("actionschema.tasks[0]", "invalid")]),
    ("property twice", lambda d: d["actionschema"].update({"properties": ["discount", "discount"]}),
     [("actionschema.properties[1]", "already_exist")]),
    ("task named like an attribute", lambda d: d["actionschema"].update({"tasks": ["review", "member"]}),
     [("actionschema.tasks[1]", "already_exist")]),
]


@pytest.mark.parametrize("label,change,want", SCHEMA_B_CASES, ids=[c[0] for c in SCHEMA_B_CASES])
def test_schema_b_problem(label, change, want):
    assert fields(validate_schema(mutate(SCHEMA, change), "B")) == want


def test_schema_all_problems_together_with_prefix():
    def change(d):
        d["class"] = "1order"
        d["patternschema"][1]["valtype"] = "number"
        d["patternschema"][2]["vals"] = []
        d["patternschema"].append({"attr": "amount", "valtype": "int"})
        d["actionschema"]["tasks"] = ["ok", "Bad"]
    got = fields(validate_schema(mutate(SCHEMA, change), "B", path="data"))
    assert sorted(got) == sorted([
        ("data.class", "invalid"), ("data.patternschema[1].valtype", "invalid"),
        ("data.patternschema[2].vals", "empty"), ("data.patternschema[6].attr", "already_exist"),
        ("data.actionschema.tasks[1]", "invalid")])


def test_schema_not_an_object():
    assert fields(validate_schema([], "B")) == [("", "invalid")]
    assert fields(validate_schema("x", "B", path="data")) == [("data", "invalid")]


def test_problems_carry_message_and_values():
    (p,) = validate_schema(mutate(SCHEMA, lambda d: d["patternschema"][1].update({"valtype": "integer"})), "B")
    assert p.vals == ("integer",) and "integer" in p.msg
    assert p.as_dict()["vals"] == ["integer"]


# ---------------------------------------------------------------------------- schema, W --

def test_valid_workflow_schema():
    assert validate_schema(WF_SCHEMA, "W") == []
    # a workflow schema is not a valid B schema only because of START
    assert fields(validate_schema(WF_SCHEMA, "B")) == [("patternschema[0].vals[0]", "invalid")]


SCHEMA_W_CASES = [
    ("no step", lambda d: d["patternschema"].pop(0), [("patternschema", "required")]),
    ("step not enum", lambda d: d["patternschema"][0].update({"valtype": "str"}) or d["patternschema"][0].pop("vals"),
     [("patternschema[0].valtype", "invalid")]),
    ("step values are not tasks plus START",
     lambda d: d["patternschema"][0].update({"vals": ["START", "collect", "check"]}),
     [("patternschema[0].vals", "invalid")]),
    ("step values without START", lambda d: d["patternschema"][0].update({"vals": ["collect", "check", "setup"]}),
     [("patternschema[0].vals", "invalid")]),
    ("no stepfailed", lambda d: d["patternschema"].pop(1), [("patternschema", "required")]),
    ("stepfailed not bool", lambda d: d["patternschema"][1].update({"valtype": "int"}),
     [("patternschema[1].valtype", "invalid")]),
    ("extra property", lambda d: d["actionschema"].update({"properties": ["nextstep", "done", "x"]}),
     [("actionschema.properties", "invalid")]),
    ("missing done", lambda d: d["actionschema"].update({"properties": ["nextstep"]}),
     [("actionschema.properties", "invalid")]),
    ("START outside step",
     lambda d: d["patternschema"].append({"attr": "phase", "valtype": "enum", "vals": ["START", "x"]}),
     [("patternschema[3].vals[0]", "invalid")]),
]


@pytest.mark.parametrize("label,change,want", SCHEMA_W_CASES, ids=[c[0] for c in SCHEMA_W_CASES])
def test_schema_w_problem(label, change, want):
    assert fields(validate_schema(mutate(WF_SCHEMA, change), "W")) == want


def test_workflow_schema_problem_names_the_step_values():
    doc = mutate(WF_SCHEMA, lambda d: d["patternschema"][0].update({"vals": ["START", "collect", "check", "extra"]}))
    (p,) = validate_schema(doc, "W")
    assert set(p.vals) == {"setup", "extra"}


def test_brwf_must_be_b_or_w():
    assert fields(validate_schema(SCHEMA, "X")) == [("brwf", "invalid")]


# --------------------------------------------------------------------------- ruleset, B --

def R(pattern=(), tasks=(), props=None, **acts):
    return {"rulepattern": [{"attr": a, "op": o, "val": v} for a, o, v in pattern],
            "ruleactions": {"tasks": list(tasks), "properties": props or {}, **acts}}


KNOWN = {"main": "order", "loyalty": "order", "sub": "order", "invoice_main": "invoice"}
CALLS = {"main": set(), "loyalty": {"sub"}, "sub": set(), "invoice_main": set()}
GOOD = [R([("amount", "gt", 100), ("channel", "eq", "web")], ["freeship"], {"discount": "10"},
          thencall="loyalty"),
        R([("placed", "ge", "2026-01-01T00:00:00+05:30"), ("member", "ne", True)], ["review"]),
        R([("freeship", "eq", True), ("coupon", "lt", "m"), ("qty", "le", 3)], [], {},
          elsecall="sub", willreturn=True)]


def vr(rules, brwf="B", name="main", schema=SCHEMA, known=KNOWN, calls=CALLS, **kw):
    return validate_ruleset(rules, normalize_schema(schema), brwf, name,
                            schema["class"], known, calls, **kw)


def test_valid_ruleset():
    assert vr(GOOD) == []


RULESET_B_CASES = [
    ("no rules", [], [("ruleset", "empty")]),
    ("not a list", {"rules": []}, [("ruleset", "invalid")]),
    ("rule not an object", [GOOD[0], "rule"], [("ruleset[1]", "invalid")]),
    ("rulepattern missing", [{"ruleactions": {"tasks": ["review"]}}], [("ruleset[0].rulepattern", "required")]),
    ("ruleactions missing", [{"rulepattern": []}], [("ruleset[0].ruleactions", "required")]),
    ("term without op", [{"rulepattern": [{"attr": "qty", "val": 1}], "ruleactions": {}}],
     [("ruleset[0].rulepattern[0].op", "required")]),
    ("unknown attribute", [R([("qty", "gt", 1), ("colour", "eq", "red")])],
     [("ruleset[0].rulepattern[1].attr", "not_found")]),
    ("unknown operator", [R([("qty", "between", 1)])], [("ruleset[0].rulepattern[0].op", "invalid")]),
    ("ordering on bool", [R([("member", "gt", True)])], [("ruleset[0].rulepattern[0].op", "not_allowed")]),
    ("ordering on enum", [R([("channel", "le", "web")])], [("ruleset[0].rulepattern[0].op", "not_allowed")]),
    ("ordering on a task tag", [R([("review", "lt", True)])], [("ruleset[0].rulepattern[0].op", "not_allowed")]),
    ("int literal is a float", [R([("qty", "gt", 1.5)])], [("ruleset[0].rulepattern[0].val", "invalid")]),
    ("int literal is a string", [R([("qty", "gt", "1")])], [("ruleset[0].rulepattern[0].val", "invalid")]),
    ("int literal is a bool", [R([("qty", "eq", True)])], [("ruleset[0].rulepattern[0].val", "invalid")]),
    ("float literal is a string", [R([("amount", "gt", "1.5")])], [("ruleset[0].rulepattern[0].val", "invalid")]),
    ("bool literal is a string", [R([("member", "eq", "true")])], [("ruleset[0].rulepattern[0].val", "invalid")]),
    ("str literal is a number", [R([("coupon", "eq", 5)])], [("ruleset[0].rulepattern[0].val", "invalid")]),
    ("enum literal not in vals", [R([("channel", "eq", "phone")])], [("ruleset[0].rulepattern[0].val", "invalid")]),
    ("ts literal not RFC 3339", [R([("placed", "lt", "31/01/2026")])], [("ruleset[0].rulepattern[0].val", "invalid")]),
    ("ts literal without offset", [R([("placed", "lt", "2026-01-31T10:00:00")])],
     [("ruleset[0].rulepattern[0].val", "invalid")]),
    ("task tag literal not a bool", [R([("review", "eq", "true")])], [("ruleset[0].rulepattern[0].val", "invalid")]),
    ("unknown task", [R([], ["review", "gift"])], [("ruleset[0].ruleactions.tasks[1]", "not_found")]),
    ("unknown property", [R([], [], {"discount": "1", "colour": "red"})],
     [("ruleset[0].ruleactions.properties.colour", "not_found")]),
    ("property value not a string", [R([], [], {"discount": 10})],
     [("ruleset[0].ruleactions.properties.discount", "invalid")]),
    ("return and exit", [R([], ["review"], willreturn=True, willexit=True)],
     [("ruleset[0].ruleactions.willexit", "invalid")]),
    ("willreturn not a bool", [R([], ["review"], willreturn="yes")],
     [("ruleset[0].ruleactions.willreturn", "invalid")]),
    ("unknown action key", [R([], ["review"], thencal="sub")],
     [("ruleset[0].ruleactions.thencal", "invalid")]),
    ("unknown rule key", [{**R([], ["review"]), "comment": "x"}], [("ruleset[0].comment", "invalid")]),
    ("thencall to a missing ruleset", [R([], ["review"]), R([], [], thencall="nosuch")],
     [("ruleset[1].ruleactions.thencall", "not_found")]),
    ("elsecall to another class", [R([("qty", "gt", 1)], elsecall="invoice_main")],
     [("ruleset[0].ruleactions.elsecall", "invalid")]),
    ("call cycle", [R([], thencall="loyalty")], None),
    ("self call", [R([("qty", "gt", 1)], thencall="main")], [("ruleset[0].ruleactions.thencall", "invalid")]),
]


@pytest.mark.parametrize("label,rules,want", RULESET_B_CASES, ids=[c[0] for c in RULESET_B_CASES])
def test_ruleset_b_problem(label, rules, want):
    if want is None:        # the cycle needs sub to call main
        calls = {**CALLS, "sub": {"main"}}
        got = vr(rules, calls=calls)
        assert fields(got) == [("ruleset[0].ruleactions.thencall", "invalid")]
        assert got[0].vals == ("main", "loyalty", "sub", "main")
        return
    assert fields(vr(rules)) == want


def test_cycle_uses_new_calls_of_the_ruleset_being_updated():
    # loyalty -> sub today; updating sub to call loyalty closes a cycle
    got = vr([R([], thencall="loyalty")], name="sub")
    assert fields(got) == [("ruleset[0].ruleactions.thencall", "invalid")]
    # while sub's old calls (none) would not matter: updating loyalty to stop calling sub is fine
    assert vr([R([], ["review"])], name="loyalty") == []


def test_ruleset_all_problems_together():
    rules = [R([("qty", "gt", "1"), ("colour", "eq", 1)], ["gift"]),
             R([("member", "lt", True)], [], {"discount": 5}, thencall="nosuch",
               willreturn=True, willexit=True),
             {"rulepattern": [], "ruleactions": {}, "extra": 1}]
    assert sorted(fields(vr(rules, path="data.ruleset"))) == sorted([
        ("data.ruleset[0].rulepattern[0].val", "invalid"),
        ("data.ruleset[0].rulepattern[1].attr", "not_found"),
        ("data.ruleset[0].ruleactions.tasks[0]", "not_found"),
        ("data.ruleset[1].rulepattern[0].op", "not_allowed"),
        ("data.ruleset[1].ruleactions.properties.discount", "invalid"),
        ("data.ruleset[1].ruleactions.willexit", "invalid"),
        ("data.ruleset[1].ruleactions.thencall", "not_found"),
        ("data.ruleset[2].extra", "invalid")])


def test_action_keys_case_insensitive_and_aliases():
    rules = [{"RulePattern": [{"Attr": "qty", "OP": "GT", "Val": 1}],
              "ruleActions": {"Tasks": ["review"], "ThenCall": "sub", "doReturn": True}},
             {"rulepattern": [], "ruleactions": {"EXIT": True, "properties": {"discount": "1"}}},
             {"rulepattern": [], "ruleactions": {"return": True}}]
    assert vr(rules) == []
    assert normalize_rules(rules) == [
        {"rulepattern": [{"attr": "qty", "op": "gt", "val": 1}],
         "ruleactions": {"tasks": ["review"], "properties": {}, "thencall": "sub",
                         "elsecall": "", "willreturn": True, "willexit": False}},
        {"rulepattern": [],
         "ruleactions": {"tasks": [], "properties": {"discount": "1"}, "thencall": "",
                         "elsecall": "", "willreturn": False, "willexit": True}},
        {"rulepattern": [],
         "ruleactions": {"tasks": [], "properties": {}, "thencall": "", "elsecall": "",
                         "willreturn": True, "willexit": False}}]


def test_same_key_in_two_spellings():
    rules = [{"rulepattern": [], "ruleactions": {"willreturn": True, "doreturn": False}}]
    assert fields(vr(rules)) == [("ruleset[0].ruleactions.willreturn", "invalid")]


# --------------------------------------------------------------------------- ruleset, W --

WF_KNOWN = {"onboard": "customer"}
WF_GOOD = [
    R([("step", "eq", "START")], ["collect"], {"nextstep": "collect"}),
    R([("step", "eq", "collect"), ("stepfailed", "eq", False)], ["check", "setup"],
      {"nextstep": "setup"}),
    R([("step", "eq", "collect"), ("stepfailed", "eq", True)], ["collect"],
      {"nextstep": "collect"}),
    R([("step", "eq", "setup"), ("risk", "gt", 5), ("check", "eq", True)], [], {"done": "true"}),
]


def vw(rules, **kw):
    return vr(rules, brwf="W", name="onboard", schema=WF_SCHEMA, known=WF_KNOWN,
              calls={"onboard": set()}, **kw)


def test_valid_workflow():
    assert vw(WF_GOOD) == []


RULESET_W_CASES = [
    ("rule without a step term", [R([("risk", "gt", 1)], ["check"], {"nextstep": "check"})],
     [("ruleset[0].rulepattern", "required")]),
    ("neither nextstep nor done", [R([("step", "eq", "check")], ["setup"])],
     [("ruleset[0].ruleactions.properties", "required")]),
    ("done is not true", [R([("step", "eq", "check")], ["setup"], {"done": "false"})],
     [("ruleset[0].ruleactions.properties.done", "invalid"),
      ("ruleset[0].ruleactions.properties", "required")]),
    ("nextstep and done", [R([("step", "eq", "check")], [], {"done": "true", "nextstep": "setup"})],
     [("ruleset[0].ruleactions.properties.nextstep", "invalid")]),
    ("no task without done", [R([("step", "eq", "check")], [], {"nextstep": "setup"})],
     [("ruleset[0].ruleactions.tasks", "required")]),
    ("unknown nextstep", [R([("step", "eq", "check")], ["setup"], {"nextstep": "finish"})],
     [("ruleset[0].ruleactions.properties.nextstep", "not_found")]),
    ("nextstep START", [R([("step", "eq", "check")], ["setup"], {"nextstep": "START"})],
     [("ruleset[0].ruleactions.properties.nextstep", "not_found")]),
    ("unknown step literal", [R([("step", "eq", "finish")], ["setup"], {"nextstep": "setup"})],
     [("ruleset[0].rulepattern[0].val", "invalid")]),
]


@pytest.mark.parametrize("label,rules,want", RULESET_W_CASES, ids=[c[0] for c in RULESET_W_CASES])
def test_ruleset_w_problem(label, rules, want):
    assert fields(vw(rules)) == want


def test_workflow_problems_together_under_flowrules():
    rules = [R([("risk", "gt", 1)], [], {}), R([("step", "eq", "check")], ["nope"], {"nextstep": "x"})]
    assert sorted(fields(vw(rules, path="flowrules"))) == sorted([
        ("flowrules[0].rulepattern", "required"),
        ("flowrules[0].ruleactions.properties", "required"),
        ("flowrules[0].ruleactions.tasks", "required"),
        ("flowrules[1].ruleactions.tasks[0]", "not_found"),
        ("flowrules[1].ruleactions.properties.nextstep", "not_found")])


# ----------------------------------------------------------------------------- entities --

ENTITY = {"class": "order", "amount": "120.5", "qty": 2, "channel": "web", "member": "TRUE",
          "placed": "2026-01-31T12:00:00.5+02:00", "coupon": "SPRING"}
UTC = dt.UTC


def both_ways(entity, workflow=False, schema=SCHEMA):
    """convert_entity through a plain schema and through a compiled one: same outcome."""
    outs = []
    for doc in (normalize_schema(schema), make_compiled_schema(schema)):
        try:
            outs.append(("ok", convert_entity(doc, entity, workflow)))
        except ValidationFailed as ex:
            outs.append(("problems", fields(ex.problems)))
    assert outs[0] == outs[1]
    return outs[0]


def test_entity_conversion():
    kind, out = both_ways(ENTITY)
    assert kind == "ok"
    assert out == {"amount": 120.5, "qty": 2, "channel": "web", "member": True,
                   "placed": dt.datetime(2026, 1, 31, 10, 0, 0, 500000, tzinfo=UTC),
                   "coupon": "SPRING"}
    assert type(out["amount"]) is float and out["placed"].tzinfo == UTC


@pytest.mark.parametrize("attr,value,want", [
    ("qty", "42", 42), ("qty", "-7", None), ("qty", "+3", 3), ("qty", 12, 12),
    ("amount", "1.5e3", 1500.0), ("amount", "12", 12.0), ("amount", 7, 7.0), ("amount", "-0", 0.0),
    ("member", "false", False), ("member", "True", True), ("member", True, True),
    ("placed", "2026-01-31T10:00:00Z", dt.datetime(2026, 1, 31, 10, tzinfo=UTC)),
    ("placed", "2026-01-31t05:00:00-05:00", dt.datetime(2026, 1, 31, 10, tzinfo=UTC)),
    ("placed", "2026-01-31 10:00:00.123456789z", dt.datetime(2026, 1, 31, 10, 0, 0, 123456, tzinfo=UTC)),
])
def test_entity_value_forms(attr, value, want):
    kind, out = both_ways({**ENTITY, attr: value})
    if want is None:        # -7 is below valmin 1
        assert (kind, out) == ("problems", [(f"entity.{attr}", "invalid")])
    else:
        assert kind == "ok" and out[attr] == want and type(out[attr]) is type(want)


@pytest.mark.parametrize("attr,value", [
    ("qty", "5.0"), ("qty", 5.0), ("qty", True), ("qty", "five"), ("qty", " 5"), ("qty", None),
    ("amount", "abc"), ("amount", "1.5 "), ("amount", " 1.5"), ("amount", "NaN"), ("amount", "1e999"),
    ("amount", ".5"), ("amount", False), ("amount", float("inf")), ("amount", [1]),
    ("member", "yes"), ("member", 1), ("coupon", 55), ("channel", "phone"), ("channel", 1),
    ("channel", ["web"]), ("placed", "2026-01-31T10:00:00"), ("placed", "2026-02-30T00:00:00Z"),
    ("placed", "2026-01-31T10:00:00+25:00"), ("placed", 1767225600),
    ("amount", "-1"), ("amount", 10000.01), ("qty", 0), ("coupon", "X"), ("coupon", "TOOLONGCODE"),
])
def test_entity_bad_value(attr, value):
    assert both_ways({**ENTITY, attr: value}) == ("problems", [(f"entity.{attr}", "invalid")])


def test_entity_all_problems_together():
    entity = {"amount": "lots", "qty": 0, "channel": "web", "member": True, "colour": "red",
              "coupon": 7, "class": "order"}
    kind, got = both_ways(entity)
    assert kind == "problems"
    assert sorted(got) == sorted([("entity.colour", "invalid"), ("entity.amount", "invalid"),
                                  ("entity.qty", "invalid"), ("entity.placed", "required"),
                                  ("entity.coupon", "invalid")])


def test_entity_messages_name_the_attribute():
    with pytest.raises(ValidationFailed) as info:
        convert_entity(SCHEMA, {**ENTITY, "amount": "lots"})
    (p,) = info.value.problems
    assert "amount" in p.msg and p.vals == ("lots",)


def test_entity_path_prefix_and_not_an_object():
    with pytest.raises(ValidationFailed) as info:
        convert_entity(SCHEMA, {**ENTITY, "qty": "x"}, path="data.entity")
    assert fields(info.value.problems) == [("data.entity.qty", "invalid")]
    with pytest.raises(ValidationFailed) as info:
        convert_entity(make_compiled_schema(SCHEMA), ["x"])
    assert fields(info.value.problems) == [("entity", "invalid")]


def test_a_family_converts_like_its_schema():
    family = compile_family(SCHEMA, {}, "order", "B")
    for convert in (family.convert_entity, lambda e: convert_entity(family, e),
                    lambda e: convert_entity(family.schema, e)):
        assert convert(ENTITY)["qty"] == 2
        with pytest.raises(ValidationFailed) as info:
            convert({**ENTITY, "qty": "x"})
        assert fields(info.value.problems) == [("entity.qty", "invalid")]


def test_workflow_entity_drops_step_and_stepfailed():
    kind, out = both_ways({"class": "customer", "risk": "3", "step": "bogus", "stepfailed": "x"},
                          workflow=True, schema=WF_SCHEMA)
    assert (kind, out) == ("ok", {"risk": 3})
    kind, out = both_ways({"risk": 3}, workflow=True, schema=WF_SCHEMA)
    assert (kind, out) == ("ok", {"risk": 3})
    # without workflow=True they are ordinary attributes
    assert both_ways({"risk": 3}, schema=WF_SCHEMA) == (
        "problems", [("entity.step", "required"), ("entity.stepfailed", "required")])


def test_make_converter():
    conv = make_converter(SCHEMA)
    assert conv(ENTITY)["qty"] == 2
    assert conv.problems({**ENTITY, "qty": "x"})[0].field == "entity.qty"
