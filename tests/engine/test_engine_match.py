"""Table-driven engine tests: each SPEC §3 behaviour as a named case (cases/match_cases.json),
run through the compiled path (trace 0), the traced path (1 and 2) and the reference
interpreter (tests/engine/reference.py)."""
from __future__ import annotations

import pytest

from crux.engine import MatchError, ValidationFailed, compile_family, convert_entity, validate_ruleset

from . import reference
from .helpers import CASES, canonical_rulesets, family_of, load_json

DATA = load_json(CASES / "match_cases.json")
SCHEMAS = DATA["schemas"]
BY_NAME = {c["name"]: c for c in DATA["cases"]}


def _run_all(case):
    schema = SCHEMAS[case["schema"]]
    family = family_of(schema, case["rulesets"])
    entity = convert_entity(family.schema, case["entity"])
    outcomes = []
    for trace in (0, 1, 2):
        try:
            outcomes.append(("ok", family.match(case["entry"], entity, trace).actionset()))
        except MatchError as ex:
            outcomes.append(("error", ex))
    try:
        tasks, props, _ = reference.interpret(schema, canonical_rulesets(case["rulesets"]),
                                              case["entry"], entity)
        ref = ("ok", {"tasks": tasks, "properties": props})
    except reference.RefError as ex:
        ref = ("error", ex)
    return outcomes, ref


@pytest.mark.parametrize("name", list(BY_NAME))
def test_case(name):
    case = BY_NAME[name]
    outcomes, ref = _run_all(case)
    for trace, (kind, value) in enumerate(outcomes):
        if "error" in case:
            assert kind == "error", f"trace {trace}: expected an error, got {value}"
            assert value.errcode == case["error"]["errcode"], str(value)
            assert case["error"]["contains"] in str(value)
        else:
            assert kind == "ok", f"trace {trace}: {value}"
            assert value == case["expect"], f"trace {trace}"
    assert ref[0] == ("error" if "error" in case else "ok")
    if ref[0] == "ok":
        assert ref[1] == case["expect"]


def test_every_spec_behaviour_has_a_case():
    wanted = {"order_of_evaluation", "tasks_without_duplicates", "properties_last_writer_wins",
              "actions_collected_before_thencall", "elsecall_on_no_match",
              "elsecall_on_match_not_taken", "return_leaves_only_current_ruleset",
              "exit_stops_every_level", "return_in_entry_ruleset", "task_tag_true",
              "task_tag_emitted_in_called_ruleset", "cycle_detected",
              "called_twice_in_sequence_is_not_a_cycle", "unknown_callee",
              "callee_of_other_class", "timestamps_with_offsets", "empty_pattern_holds",
              "nothing_matched"}
    assert wanted <= set(BY_NAME)


@pytest.mark.parametrize("op_case", DATA["operator_cases"],
                         ids=lambda c: f"{c['attr']}-{c['op']}-{c['val']}-{c['entity_val']}")
def test_operator_on_type(op_case):
    schema = SCHEMAS["order"]
    rules = [{"rulepattern": [{"attr": op_case["attr"], "op": op_case["op"],
                               "val": op_case["val"]}],
              "ruleactions": {"tasks": ["a"]}}]
    assert validate_ruleset(rules, schema, "B", "main", "order", {}, {}) == []
    family = family_of(schema, {"main": {"rules": rules}})
    entity = convert_entity(family.schema, {**DATA["base_entity"],
                                            op_case["attr"]: op_case["entity_val"]})
    want = ["a"] if op_case["holds"] else []
    for trace in (0, 1, 2):
        assert family.match("main", entity, trace).tasks == want


def test_every_operator_on_every_ordered_type_is_covered():
    seen = {(c["attr"], c["op"]) for c in DATA["operator_cases"]}
    for attr in ("qty", "amount", "coupon", "placed"):
        for op in ("eq", "ne", "lt", "le", "gt", "ge"):
            assert (attr, op) in seen
    for attr in ("channel", "member"):
        for op in ("eq", "ne"):
            assert (attr, op) in seen


@pytest.mark.parametrize("refused", DATA["refused_operators"],
                         ids=lambda c: f"{c['attr']}-{c['op']}")
def test_ordering_refused_on_bool_enum_and_task_tags(refused):
    schema = SCHEMAS["order"]
    lit = {"member": True, "channel": "web", "a": True}[refused["attr"]]
    rules = [{"rulepattern": [{"attr": refused["attr"], "op": refused["op"], "val": lit}],
              "ruleactions": {"tasks": ["b"]}}]
    problems = validate_ruleset(rules, schema, "B", "main", "order", {}, {})
    assert [(p.field, p.errcode) for p in problems] == [("ruleset[0].rulepattern[0].op",
                                                         "not_allowed")]
    with pytest.raises(ValidationFailed) as info:
        compile_family(schema, {"main": {"rules": rules}}, "order", "B")
    assert info.value.problems[0].field == "rulesets.main[0].rulepattern[0].op"


@pytest.mark.parametrize("spoil,errcode,field", [
    pytest.param(lambda e: e.pop("qty"), "required", "entity.qty", id="missing_attribute"),
    # not converted: the caller broke the contract
    pytest.param(lambda e: e.update(qty="three"), "invalid", None, id="uncomparable_value"),
])
def test_entity_the_rules_cannot_read_is_a_match_error(spoil, errcode, field):
    family = family_of(SCHEMAS["order"], {"main": {"rules": [
        {"rulepattern": [{"attr": "qty", "op": "gt", "val": 1}], "ruleactions": {"tasks": ["a"]}}]}})
    entity = convert_entity(family.schema, DATA["base_entity"])
    spoil(entity)
    for trace in (0, 1, 2):
        with pytest.raises(MatchError) as info:
            family.match("main", entity, trace)
        assert (info.value.errcode, info.value.field) == (errcode, field)


def test_partial_action_set_is_discarded_on_error():
    case = BY_NAME["unknown_callee"]
    family = family_of(SCHEMAS["order"], case["rulesets"])
    entity = convert_entity(family.schema, case["entity"])
    with pytest.raises(MatchError):
        family.match("main", entity)
    # the family is unchanged and usable: a clean evaluation of another entry works
    family2 = family_of(SCHEMAS["order"], BY_NAME["order_of_evaluation"]["rulesets"])
    assert family2.match("main", entity).tasks == ["c", "a", "b"]


def test_family_is_reusable_and_results_are_independent():
    case = BY_NAME["properties_last_writer_wins"]
    family = family_of(SCHEMAS["order"], case["rulesets"])
    entity = convert_entity(family.schema, case["entity"])
    first = family.match("main", entity)
    first.properties["discount"] = "tampered"
    first.tasks.append("x")
    assert family.match("main", entity).actionset() == case["expect"]


def test_rulesets_info():
    schema = SCHEMAS["order"]
    family = compile_family(schema, {
        "main": {"rules": [{"rulepattern": [], "ruleactions": {"tasks": ["a"], "thenCall": "sub",
                                                                "doReturn": True}}],
                 "is_active": True, "is_internal": False},
        "sub": {"rules": [{"rulepattern": [], "ruleactions": {"tasks": ["b"]}}],
                "is_active": False, "is_internal": True}}, "order", "B")
    info = family.rulesets["main"]
    assert info.name == "main" and info.is_active and not info.is_internal
    assert info.rules[0]["ruleactions"] == {"tasks": ["a"], "properties": {}, "thencall": "sub",
                                            "elsecall": "", "willreturn": True,
                                            "willexit": False}
    assert info.calls == ("sub",)
    assert family.rulesets["sub"].is_internal and not family.rulesets["sub"].is_active
    with pytest.raises(TypeError):
        family.rulesets["x"] = info     # read-only mapping
    assert family.cls == "order" and family.brwf == "B"
    assert family.schema["patternschema"][0]["attr"] == "amount"


def test_index_is_used_for_many_equality_rules():
    schema = {"class": "ev", "patternschema": [
        {"attr": "step", "valtype": "enum", "vals": [f"s{i}" for i in range(40)]},
        {"attr": "n", "valtype": "int"}],
        "actionschema": {"tasks": [f"s{i}" for i in range(40)], "properties": ["p"]}}
    rules = [{"rulepattern": [{"attr": "step", "op": "eq", "val": f"s{i}"},
                              {"attr": "n", "op": "gt", "val": i}],
              "ruleactions": {"tasks": [f"s{i}"], "properties": {"p": str(i)}}}
             for i in range(40)]
    rules.insert(7, {"rulepattern": [{"attr": "n", "op": "ge", "val": 0}],
                     "ruleactions": {"tasks": ["s0"]}})
    family = family_of(schema, {"flow": {"rules": rules}})
    assert family.index_stats()["flow"].startswith("index(step:40)")
    for step in ("s3", "s20", "s39"):
        for n in (0, 10, 50):
            e = {"step": step, "n": n}
            fast = family.match("flow", e).actionset()
            slow = family.match("flow", e, 1).actionset()
            tasks, props, _ = reference.interpret(schema, canonical_rulesets(
                {"flow": {"rules": rules}}), "flow", e)
            assert fast == slow == {"tasks": tasks, "properties": props}
